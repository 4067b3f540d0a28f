"""PMIPv6 end to end (RFC 5213 §5, §6) on real namespaces, veths, switches and
controllers: attach + SLAAC + ping, handover with the loss counted,
controller kill -9, switch restart, de-registration, pcaps in tshark.
Tests run in file order on one lab; each leaves the MN attached somewhere."""
from __future__ import annotations

import shutil
import signal
import subprocess
import time
from ipaddress import IPv6Address, IPv6Network

import pytest

from p4mobility.lab import topology as T
from p4mobility.lab.pcapcheck import malformed, mh_rows
from p4mobility.lab.report import parse_ping

from .conftest import make_lab, targets

MIN_DELAY = 4.0  # MinDelayBeforeBCEDelete here: long enough to read the switch meanwhile
LMA_TABLES = ("bindings", "tunnel_peers", "tunnel_terminations", "uplink_sources", "local_addresses", "routes",
              "esp_sas", "outbound_policies")
pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    opts = T.LabOptions(lma={"min_delay_before_bce_delete": MIN_DELAY})
    lab = make_lab(request, tmp_path_factory, opts)
    yield lab
    lab.close()


def lma_bindings(lab) -> list[list]:
    ans = lab.control("lma", {"cmd": "show", "what": "bindings"})
    assert ans["ok"]
    return ans["rows"]


def binding_entries(lab) -> list[dict]:
    return [e for e in lab.read_switch("lma", "bindings")]


def test_rfc5213_6_9_attach_slaac_address_from_hnp_and_ping(lab):
    lab.attach("mag1")
    addr = IPv6Address(lab.mn_address(timeout=30))
    # the address is the HNP the LMA assigned, with the EUI-64 IID of the MN's MAC (RFC 4862)
    rows = lma_bindings(lab)
    assert len(rows) == 1
    hnp = IPv6Network(rows[0][2])
    assert hnp.subnet_of(T.HNP_POOL) and addr in hnp
    assert addr == T.slaac_address(hnp, T.MN_MAC)
    assert rows[0][3] == str(T.MAG_COA["mag1"])
    assert lab.ping_once(count=3)
    # the LMA switch holds exactly this binding, pointing at MAG1's tunnel peer
    entries = binding_entries(lab)
    assert [e["match"]["dst_addr"] for e in entries] == [str(hnp)]
    peers = {e["match"]["tunnel_peer_id"]: e["args"]["dst_addr"] for e in lab.read_switch("lma", "tunnel_peers")}
    assert peers[entries[0]["args"]["tunnel_peer_id"]] == str(T.MAG_COA["mag1"])


def test_rfc5213_6_8_mag_answers_ns_for_the_shared_router_link_local(lab):
    from p4mobility.lab.supervisor import sh
    mn = lab.ns("mn")
    sh("ip", "-6", "neigh", "flush", "dev", "mn0", ns=mn)  # forget the router's MAC learnt from the RA
    assert lab.ping_once(count=2)  # needs an NS for fe80::1 answered by the MAG (no RA meanwhile)
    neigh = sh("ip", "-6", "neigh", "show", str(T.ROUTER_LL), "dev", "mn0", ns=mn).stdout
    assert T.ROUTER_MAC in neigh and "router" in neigh


def test_rfc5213_5_3_4_handover_with_continuous_ping_loss_counted(lab):
    log = lab.start_ping("ping-handover")
    time.sleep(1.0)
    t_move = lab.move("mag2")
    lab.wait_event("mag2", "ra_tx", since=t_move, timeout=30)
    lab.wait_event("lma", "BindingMoved", since=t_move, timeout=30)
    time.sleep(1.0)
    lab.stop_ping("ping-handover")
    res = parse_ping(log.read_text())
    after = [r for r in res.replies if r[0] > t_move]
    assert after, "no echo reply after the handover"
    assert [r for r in res.replies if r[0] < t_move], "no echo reply before the handover"
    assert res.lost == res.transmitted - res.received and res.received > 0
    print(f"\nhandover: sent {res.transmitted} lost {res.lost} max gap {res.max_gap()[1]:.1f} ms")
    rows = lma_bindings(lab)
    assert len(rows) == 1 and rows[0][3] == str(T.MAG_COA["mag2"])
    entries = binding_entries(lab)
    peers = {e["match"]["tunnel_peer_id"]: e["args"]["dst_addr"] for e in lab.read_switch("lma", "tunnel_peers")}
    assert peers[entries[0]["args"]["tunnel_peer_id"]] == str(T.MAG_COA["mag2"])


def test_show_bindings_cli_and_prometheus_metrics(lab):
    import sys
    out = subprocess.run([sys.executable, "-m", "p4mobility.cli", "show", "bindings", "--socket",
                          str(lab.sock("lma"))], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert T.MN_ID in out.stdout and str(T.MAG_COA["mag2"]) in out.stdout
    peers = subprocess.run([sys.executable, "-m", "p4mobility.cli", "show", "peers", "--json", "--socket",
                            str(lab.sock("lma"))], capture_output=True, text=True, timeout=30)
    assert peers.returncode == 0 and str(T.MAG_COA["mag2"]) in peers.stdout
    text = lab.metrics("lma")
    assert "p4mob_bindings 1.0" in text
    pbus = [line for line in text.splitlines() if line.startswith("p4mob_pbu_received_total")]
    assert pbus and float(pbus[0].split()[-1]) >= 2
    assert 'p4mob_pba_sent_total{status="0"}' in text
    counters = lab.control("lma", {"cmd": "show", "what": "counters"})
    assert counters["ok"]
    per_binding = {(r[0], r[1]): r[2] for r in counters["rows"]}
    bid = lma_bindings(lab)[0][0]
    assert per_binding[("binding_uplink_counter", bid)] > 0  # the pings went through this binding
    assert per_binding[("binding_downlink_counter", bid)] > 0


def test_controller_kill9_restart_keeps_bindings_entries_and_traffic(lab):
    before_rows = lma_bindings(lab)
    before = lab.read_switch("lma", *LMA_TABLES)
    log = lab.start_ping("ping-kill9", interval=0.05)
    time.sleep(0.5)
    lab.kill_controller("lma", signal.SIGKILL)
    t_dead = time.time()
    time.sleep(1.5)  # traffic keeps flowing on the switch's entries
    t_restart = time.time()
    lab.start_controller("lma")
    ev = lab.wait_event("lma", "reconciled", since=t_restart, timeout=60)
    time.sleep(0.5)
    lab.stop_ping("ping-kill9")
    res = parse_ping(log.read_text())
    during = [r for r in res.replies if t_dead < r[0] < t_restart]
    assert len(during) >= 10, "pings stopped while the controller was down"
    assert (ev["inserted"], ev["modified"], ev["deleted"]) == (0, 0, 0)
    assert lab.read_switch("lma", *LMA_TABLES) == before
    after_rows = lma_bindings(lab)
    assert [r[:6] for r in after_rows] == [r[:6] for r in before_rows]


def mag_bul(lab, node) -> list[list]:
    ans = lab.control(node, {"cmd": "show", "what": "bindings"})
    assert ans["ok"]
    return [r[:6] for r in ans["rows"]]  # port, mn_id, state, hnp, lma, last_seq (not expires_in)


def test_rfc5213_6_1_mag_controller_kill9_restart_keeps_its_bul_without_a_new_pbu(lab):
    tables = ("mag_uplinks", "mag_downlinks", "tunnel_peers", "tunnel_terminations", "punts")
    before = lab.read_switch("mag2", *tables)
    bul = mag_bul(lab, "mag2")
    assert len(bul) == 1 and bul[0][2] == "bound"
    log = lab.start_ping("ping-mag-kill9", interval=0.05)
    time.sleep(0.3)
    lab.kill_controller("mag2", signal.SIGKILL)
    t_dead = time.time()
    time.sleep(1.0)
    t_restart = time.time()
    lab.start_controller("mag2")
    ev = lab.wait_event("mag2", "reconciled", since=t_restart, timeout=60)
    restored = lab.wait_event("mag2", "state_restored", since=t_restart, timeout=5)
    t_up = time.time()
    time.sleep(1.0)  # the MN keeps pinging through the restarted MAG
    lab.stop_ping("ping-mag-kill9")
    assert restored["entries"] == 1
    assert (ev["inserted"], ev["modified"], ev["deleted"]) == (0, 0, 0)
    assert lab.read_switch("mag2", *tables) == before
    res = parse_ping(log.read_text())
    assert len([r for r in res.replies if t_dead < r[0] < t_restart]) >= 5
    assert len([r for r in res.replies if r[0] > t_up]) >= 5
    # no new PBU: not sent by the MAG, not seen by the LMA; same BUL entry (same last Sequence Number)
    assert lab.events("mag2", "pbu_tx", since=t_restart) == []
    # (MAG1 may still retransmit its own late de-registration meanwhile: not this MAG's doing)
    assert [e for e in lab.events("lma", "pbu_rx", since=t_dead) if e.get("src") == str(T.MAG_COA["mag2"])] == []
    assert mag_bul(lab, "mag2") == bul
    rows = lma_bindings(lab)
    assert len(rows) == 1 and rows[0][3] == str(T.MAG_COA["mag2"])


def test_switch_restart_detected_pipeline_and_entries_pushed_again(lab):
    before = lab.read_switch("lma", *LMA_TABLES)
    t = time.time()
    lab.restart_switch("lma")
    ev = lab.wait_event("lma", "reconciled", since=t, timeout=120)
    assert ev["read"] == 0 and ev["inserted"] == len(before)
    assert lab.read_switch("lma", *LMA_TABLES) == before
    assert lab.ping_once(count=3, timeout=10)


def test_rfc5213_5_3_5_deregistration_then_bce_removed_after_min_delay(lab):
    t = lab.detach()
    dereg = lab.wait_event("lma", "BindingDeregistered", since=t, timeout=30)
    # while de-registering the binding entry drops traffic (tunnel peer 0)
    entries = binding_entries(lab)
    assert len(entries) == 1 and entries[0]["args"]["tunnel_peer_id"] == "0"
    deleted = lab.wait_event("lma", "BindingDeleted", since=t, timeout=30)
    # MinDelayBeforeBCEDelete (log stamps are taken after each write: allow 50 ms)
    assert MIN_DELAY - 0.05 <= deleted["ts"] - dereg["ts"] < MIN_DELAY + 5.0
    assert binding_entries(lab) == []
    assert lab.read_switch("lma", "uplink_sources", "tunnel_peers") == []
    assert lma_bindings(lab) == []


@pytest.mark.skipif(shutil.which("tshark") is None, reason="tshark not installed")
def test_signaling_in_pcaps_decodes_in_tshark_without_malformed(lab):
    for name in ("pcap-mag1", "pcap-mag2"):
        lab.sup.stop(name, sig=signal.SIGINT)
    esp_sa = lab.out / "esp_sa" if lab.opts.ipsec else None  # RFC 5213 §4: the lab's signaling is in ESP
    seen = 0
    for pcap in sorted(lab.out.glob("lma-*.pcap")):
        rows = mh_rows(pcap, esp_sa)
        seen += len(rows)
        assert {5, 6} <= {r.mh_type for r in rows}, f"no PBU/PBA in {pcap.name}"
        if esp_sa is not None:
            assert all(r.spi is not None and r.icv_good for r in rows)
        # every registration accepted; only a late de-registration from the old MAG may be
        # refused (157: the new MAG's PBU carried a newer timestamp, RFC 5213 §5.5)
        assert all(r.ba_status == 0 for r in rows if r.mh_type == 6 and r.ba_lifetime)
        assert all(r.ba_status in (0, 157) for r in rows if r.mh_type == 6)
        bad = malformed(pcap, esp_sa)
        assert bad == "", f"malformed in {pcap.name}: {bad[:500]}"
    assert seen >= 4
