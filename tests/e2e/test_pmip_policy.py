"""RFC 5213 §5.3.1 authorization and §5.3 lifetime expiry, end to end:
an MN the LMA does not serve gets PBA status 153 and nothing is written to
the LMA switch; a binding nobody refreshes expires and its entries go.
The tests share one lab per target; each sets the options it needs and
starts with the MN detached (states.py), so any runs alone."""
from __future__ import annotations

import signal

import pytest

from p4mobility.lab import topology as T

from .conftest import make_lab, targets
from .states import configured, detached

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]
LMA_TABLES = ("bindings", "tunnel_peers", "tunnel_terminations", "uplink_sources", "binding_profile")


def in_use(rows: list[dict]) -> list[dict]:
    """Rows read from the LMA other than the free binding ids' placeholder members
    (p4rt/member_pool.py: a member for every id up to the highest used + headroom)."""
    return [r for r in rows if not (r.get("profile") == "binding_profile"
                                    and r["action"] == "set_binding_without_tunnel")]
UNKNOWN_MN = T.LabOptions(mn_profile_at_lma=False)
SHORT_LIFETIME = T.LabOptions(mn_lifetime=8.0)  # 2 lifetime units of 4 s
IDLE_DETACH = T.LabOptions(mn_lifetime=8.0, detach_timeout=1.5)


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    lab = make_lab(request, tmp_path_factory, UNKNOWN_MN)
    yield lab
    lab.close()


def test_rfc5213_5_3_1_unknown_mn_gets_153_and_no_entry_is_written(lab):
    detached(lab)
    configured(lab, UNKNOWN_MN)
    t = lab.attach("mag1")
    pba = lab.wait_event("mag1", "pba_rx", since=t, timeout=30)
    assert pba["status"] == 153  # NOT_LMA_FOR_THIS_MOBILE_NODE
    # the LMA's handling of that PBU ends with the PBA it sends: nothing written before it
    assert lab.wait_event("lma", "pba_tx", since=t, timeout=5)["status"] == 153
    assert lab.events("lma", "entries_written", since=t) == []
    assert in_use(lab.read_switch("lma", *LMA_TABLES)) == []
    assert lab.read_switch("mag1", "mag_uplinks", "mag_downlinks") == []
    assert not lab.mn_has_global_address()
    assert lab.control("lma", {"cmd": "show", "what": "bindings"})["rows"] == []


def test_rfc5213_5_3_lifetime_expiry_removes_the_entries(lab):
    detached(lab)
    configured(lab, SHORT_LIFETIME)
    t = lab.attach("mag1")
    lab.mn_address(timeout=30)
    created = lab.wait_event("lma", "BindingCreated", since=t, timeout=5)
    assert created["lifetime"] == 8.0
    assert len(lab.read_switch("lma", "bindings")) == 1
    lab.kill_controller("mag1", signal.SIGKILL)  # nobody refreshes or de-registers
    gone = lab.wait_event("lma", "BindingDeleted", since=t, timeout=30)
    assert gone["reason"] == "expired"
    # granted lifetime 8 s (log stamps are taken after each write: allow 50 ms)
    assert 7.95 <= gone["ts"] - created["ts"] < 15.0
    assert in_use(lab.read_switch("lma", *LMA_TABLES)) == []


def test_rfc5213_6_9_1_4_configured_detach_timeout_deregisters_an_idle_mn(lab):
    detached(lab)
    configured(lab, IDLE_DETACH)
    t = lab.attach("mag1")  # a first attachment under this configuration (the MN's link comes up: RS)
    lab.wait_event("mag1", "MagBindingInstalled", since=t, timeout=30)
    idle = lab.wait_event("mag1", "idle_detach", since=t, timeout=30)  # the MN sends nothing
    lab.wait_event("lma", "BindingDeregistered", since=idle["ts"], timeout=30)
    pba = lab.wait_event("mag1", "pba_rx", since=idle["ts"], timeout=30)
    assert pba["lifetime"] == 0 and pba["status"] == 0
