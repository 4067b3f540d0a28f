"""The home agent with its SQLite state on a small tmpfs filled to the last byte (issue 14:
disk full), on the host-mobility lab's real processes (tests/e2e/mip_states.py). A BU in
genuine ESP (MN2, played by the test with its own keys) arriving while the disk is full is not
acknowledged: no BA, no binding, no entry; the node keeps running, logs `store_write_failed`
and counts `p4mob_store_errors`. Once space returns the MN's retransmission (RFC 6275 §11.8)
is accepted: BA status 0, the binding in `show bindings` and in the switch."""
from __future__ import annotations

import time
import tomllib
from ipaddress import IPv6Address

import pytest

from p4mobility.lab import mip_topology as M, statedisk
from p4mobility.lab.topology import to_toml
from p4mobility.mh import AlternateCareofAddress, BindingUpdate
from tests.e2e.mip_states import ForeignMn, binding, bu_packet, make_mip_lab, to_switch
from tests.tooling import tool_missing

pytestmark = [pytest.mark.root, pytest.mark.timeout(900)]
SPI = {sa.name: sa.spi for mn in M.HOME_ADDRESSES for sa in M.mip_sas(mn)}
MN2 = M.MN2_HOME_ADDRESS
MN2_COA = IPv6Address("2001:db8:a::206")  # on access router A's link
STATE_MB = 2


@pytest.fixture(scope="module", params=["embedded"])
def lab(request, tmp_path_factory):
    if tool_missing("mount"):
        pytest.skip(tool_missing("mount"))
    lab = make_mip_lab(request, tmp_path_factory)
    state_dir = lab.out / "ha-state"
    mounted = False
    try:  # the HA again, its state file on its own tmpfs
        statedisk.mount(state_dir, STATE_MB)
        mounted = True
        path = lab.out / "ha.toml"
        cfg = tomllib.loads(path.read_text())
        cfg["node"]["state_db"] = str(state_dir / "ha.db")
        path.write_text(to_toml(cfg))
        t = lab.restart_ha()
        lab.wait_event("ha", "reconciled", since=t, timeout=180)
        lab.state_dir = state_dir
        yield lab
    finally:
        lab.close()
        if mounted:
            statedisk.unmount(state_dir)


def _bu(mn2: ForeignMn, seq: int) -> bytes:
    bu = BindingUpdate(seq & 0xFFFF, 200, ack=True, home_registration=True, options=(AlternateCareofAddress(MN2_COA),))
    return to_switch("nat", mn2.seal(bu_packet(bu, MN2_COA, MN2), SPI["mn2-bu"]))


def _store_errors(lab) -> float:
    from tests.e2e.test_ha_hostile import metrics
    return metrics(lab).get("p4mob_store_errors_total", 0.0)


def test_ha_on_a_full_disk_sends_no_ba_then_accepts_the_retransmitted_bu(lab):
    mn2 = ForeignMn(lab)
    seq = int(time.time()) & 0x7FFF
    before = lab.read_switch("bindings")
    statedisk.fill(lab.state_dir)
    t0 = time.time()
    lab.inject("nat", "wan", _bu(mn2, seq))
    failed = lab.wait_event("ha", "store_write_failed", since=t0, timeout=60)
    assert "full" in failed["error"] or "disk" in failed["error"], failed
    lab.wait_event("ha", "bu_rx", since=t0)
    assert lab.events("ha", "ba_tx", since=t0) == []
    assert binding(lab, MN2) is None and lab.read_switch("bindings") == before
    seq += 1
    lab.inject("nat", "wan", _bu(mn2, seq))  # the MN retransmits (RFC 6275 §11.8): still full
    lab.wait_for(lambda: _store_errors(lab) >= 2, "a second refused batch", poll=0.2)
    assert lab.events("ha", "ba_tx", since=t0) == [] and binding(lab, MN2) is None
    assert lab.sup.procs["ha"].alive()

    statedisk.free(lab.state_dir)
    t1 = time.time()
    seq += 1
    lab.inject("nat", "wan", _bu(mn2, seq))
    lab.wait_event("ha", "store_recovered", since=t1, timeout=60)
    ba = lab.wait_event("ha", "ba_tx", since=t1, timeout=60)
    assert ba["status"] == 0 and ba["seq"] == seq, ba
    row = lab.wait_for(lambda: binding(lab, MN2), "MN2's binding")
    assert row["home_address"] == str(MN2)
    after = lab.read_switch("bindings")
    assert len(after) == len(before) + 1, after
    assert lab.sup.procs["ha"].alive()
