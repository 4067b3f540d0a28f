"""RFC 5213 §5.3.1 authorization and §5.3 lifetime expiry, end to end:
an MN the LMA does not serve gets PBA status 153 and nothing is written to
the LMA switch; a binding nobody refreshes expires and its entries go."""
from __future__ import annotations

import signal
import time

import pytest

from p4mobility.lab import topology as T
from p4mobility.lab.supervisor import sh

from .conftest import make_lab, targets

pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]
LMA_TABLES = ("bindings", "tunnel_peers", "tunnel_terminations", "uplink_sources")


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    lab = make_lab(request, tmp_path_factory, T.LabOptions(mn_profile_at_lma=False))
    yield lab
    lab.close()


def test_rfc5213_5_3_1_unknown_mn_gets_153_and_no_entry_is_written(lab):
    t = lab.attach("mag1")
    pba = lab.wait_event("mag1", "pba_rx", since=t, timeout=30)
    assert pba["status"] == 153  # NOT_LMA_FOR_THIS_MOBILE_NODE
    assert lab.wait_event("lma", "pba_tx", since=t, timeout=5)["status"] == 153
    time.sleep(0.5)
    assert lab.read_switch("lma", *LMA_TABLES) == []
    assert lab.read_switch("mag1", "mag_uplinks", "mag_downlinks") == []
    assert not lab.mn_has_global_address()
    assert lab.control("lma", {"cmd": "show", "what": "bindings"})["rows"] == []


def test_rfc5213_5_3_lifetime_expiry_removes_the_entries(lab):
    lab.detach()
    lab.opts = T.LabOptions(mn_lifetime=8.0)  # 2 lifetime units of 4 s
    lab.write_configs()
    for node in ("lma", "mag1"):
        lab.kill_controller(node, signal.SIGTERM)
        t = time.time()
        lab.start_controller(node)
        lab.wait_event(node, "reconciled", since=t, timeout=60)
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
    assert lab.read_switch("lma", *LMA_TABLES) == []


def test_rfc5213_6_9_1_4_configured_detach_timeout_deregisters_an_idle_mn(lab):
    lab.opts = T.LabOptions(mn_lifetime=8.0, detach_timeout=1.5)
    lab.write_configs()
    t = time.time()
    lab.start_controller("mag1")  # killed above; the binding it restores has expired meanwhile
    lab.wait_event("mag1", "reconciled", since=t, timeout=60)
    lab.detach()
    time.sleep(0.5)
    t = lab.attach("mag1")  # a fresh attachment under the new configuration: the MN's link
    sh("ip", "link", "set", "mn0", "down", ns=lab.ns("mn"))  # flaps, so Linux sends an RS
    sh("ip", "link", "set", "mn0", "up", ns=lab.ns("mn"))
    lab.wait_event("mag1", "MagBindingInstalled", since=t, timeout=30)
    idle = lab.wait_event("mag1", "idle_detach", since=t, timeout=30)  # the MN sends nothing
    lab.wait_event("lma", "BindingDeregistered", since=idle["ts"], timeout=30)
    pba = lab.wait_event("mag1", "pba_rx", since=idle["ts"], timeout=30)
    assert pba["lifetime"] == 0 and pba["status"] == 0
