"""The MAG controller with its SQLite state on a small tmpfs filled to the last byte (issue 14:
disk full), on the lab's real processes, veths and switches. The MN attaching while the disk
is full gets no binding (the BUL is persisted before the PBU, docs/soak.md): no PBU reaches
the LMA, no entry is written, the controller keeps running, logs `store_write_failed` and
counts `p4mob_store_errors`. Once space returns the MAG handles the MN's RS again: the PBA
comes, the entries are in the MAG switch and the MN configures its address from the HNP."""
from __future__ import annotations

import tomllib
from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

import pytest

from p4mobility.lab import statedisk, topology as T
from p4mobility.lab.lab import Lab
from tests.e2e.states import bul_rows, lma_rows, wait_for
from tests.tooling import require_lab

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]
STATE_MB = 2


class MagStateDiskLab(Lab):
    """The pmip-handover lab with MAG1's state file on its own tmpfs."""

    def __init__(self, out: Path) -> None:
        super().__init__(out, "embedded", T.LabOptions(), tag="dfm", pcap=False)
        self.state_dir = self.out / "mag1-state"
        self._mounted = False

    def write_configs(self, new_keys: bool = True) -> None:
        if not self._mounted:
            statedisk.mount(self.state_dir, STATE_MB)
            self._mounted = True
        super().write_configs(new_keys)
        path = self.out / "mag1.toml"
        cfg = tomllib.loads(path.read_text())
        cfg["node"]["state_db"] = str(self.state_dir / "mag1.db")
        path.write_text(T.to_toml(cfg))

    def close(self) -> None:
        try:
            super().close()
        finally:
            if self._mounted:
                statedisk.unmount(self.state_dir)
                self._mounted = False


@pytest.fixture(scope="module")
def lab(tmp_path_factory):
    require_lab("ping", "mount")
    lab = MagStateDiskLab(Path(tmp_path_factory.mktemp("diskfull-mag")))
    try:
        lab.start()
        yield lab
    finally:
        lab.close()


def _store_errors(lab) -> float:
    for line in lab.metrics("mag1").splitlines():
        if line.startswith("p4mob_store_errors_total"):
            return float(line.split()[-1])
    raise AssertionError("no p4mob_store_errors_total in mag1's metrics")


def test_mag_on_a_full_disk_serves_no_one_then_registers_the_mn_once_space_returns(lab):
    entries_before = lab.read_switch("mag1", "mag_uplinks", "mag_downlinks")
    statedisk.fill(lab.state_dir)
    t0 = lab.attach("mag1")
    failed = lab.wait_event("mag1", "store_write_failed", since=t0, timeout=60)
    assert "full" in failed["error"] or "disk" in failed["error"], failed
    wait_for(lambda: _store_errors(lab) >= 2, "the MAG retried the refused RS", timeout=60)
    lab.wait_event("mag1", "rs_rx", since=t0)
    # nothing acknowledged: no PBU went, the LMA has no binding, no entry in the MAG switch
    assert lab.events("mag1", "pbu_tx", since=t0) == [] and lab.events("lma", "pbu_rx", since=t0) == []
    assert lma_rows(lab) == [] and bul_rows(lab, "mag1") == []
    assert lab.read_switch("mag1", "mag_uplinks", "mag_downlinks") == entries_before
    assert lab.sup.procs["ctl-mag1"].alive()

    t1 = lab.mark("space returns")
    statedisk.free(lab.state_dir)
    lab.wait_event("mag1", "store_recovered", since=t1, timeout=60)
    pba = lab.wait_event("mag1", "pba_rx", since=t1, timeout=60)
    assert pba["status"] == 0, pba
    addr = IPv6Address(lab.mn_address(timeout=60))
    (row,) = lma_rows(lab)
    hnp = IPv6Network(row[2])
    assert addr in hnp and row[3] == str(T.MAG_COA["mag1"])
    uplinks = lab.read_switch("mag1", "mag_uplinks")
    assert len(uplinks) == 1 + len([e for e in entries_before if e["table"] == "mag_uplinks"]), uplinks
    assert lab.ping_once(), "the MN reaches the CN through the tunnel"
    assert lab.sup.procs["ctl-mag1"].alive()
