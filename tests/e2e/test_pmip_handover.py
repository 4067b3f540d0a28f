"""PMIPv6 end to end (RFC 5213 §5, §6) on real namespaces, veths, switches and
controllers: attach + SLAAC + ping, handover with the loss bounded by the
handover window, controller kill -9, switch restart, de-registration, pcaps
in tshark. The tests share one lab per target but not its history: each
starts from the state it names (tests/e2e/states.py), so any runs alone."""
from __future__ import annotations

import signal
import subprocess
import sys
import time
from ipaddress import IPv6Address, IPv6Network

import pytest

from p4mobility.lab import topology as T
from p4mobility.lab.pcapcheck import answers, malformed, mh_rows
from tests.tooling import needs_tools, tool_missing

from .conftest import assert_registrations_accepted, make_lab, targets
from .states import bul_rows, detached, lma_rows, registered_at, wait_replies

MIN_DELAY = 4.0  # MinDelayBeforeBCEDelete here: long enough to read the switch meanwhile
LMA_TABLES = ("bindings", "tunnel_peers", "tunnel_terminations", "uplink_sources", "local_addresses", "routes",
              "esp_sas", "outbound_policies", "binding_profile")
pytestmark = [pytest.mark.root, pytest.mark.timeout(600)]


@pytest.fixture(scope="module", params=targets())
def lab(request, tmp_path_factory):
    opts = T.LabOptions(lma={"min_delay_before_bce_delete": MIN_DELAY})
    lab = make_lab(request, tmp_path_factory, opts)
    yield lab
    lab.close()


def binding_entries(lab) -> list[dict]:
    return [e for e in lab.read_switch("lma", "bindings")]


def binding_tunnel_dst(lab, entry: dict) -> str:
    """The CoA of the member a `bindings` entry points to; its `uplink_sources` entry points to the same."""
    members = {m["member_id"]: m for m in lab.read_switch("lma", "binding_profile")}
    home = entry["match"]["dst_addr"]
    [uplink] = [u for u in lab.read_switch("lma", "uplink_sources") if u["match"]["home_addr"] == home]
    assert uplink["member_id"] == entry["member_id"]
    return members[entry["member_id"]]["args"]["dst_addr"]


def test_rfc5213_6_9_attach_slaac_address_from_hnp_and_ping(lab):
    detached(lab)
    lab.attach("mag1")
    addr = IPv6Address(lab.mn_address(timeout=30))
    # the address is the HNP the LMA assigned, with the EUI-64 IID of the MN's MAC (RFC 4862)
    rows = lma_rows(lab)
    assert len(rows) == 1
    hnp = IPv6Network(rows[0][2])
    assert hnp.subnet_of(T.HNP_POOL) and addr in hnp
    assert addr == T.slaac_address(hnp, T.MN_MAC)
    assert rows[0][3] == str(T.MAG_COA["mag1"])
    assert lab.ping_once(count=3)
    # the LMA switch holds exactly this binding: both directions point at its member, a tunnel to MAG1
    entries = binding_entries(lab)
    assert [e["match"]["dst_addr"] for e in entries] == [str(hnp)]
    assert binding_tunnel_dst(lab, entries[0]) == str(T.MAG_COA["mag1"])


def test_rfc5213_6_8_mag_answers_ns_for_the_shared_router_link_local(lab):
    from p4mobility.lab.supervisor import sh
    registered_at(lab)
    mn = lab.ns("mn")
    sh("ip", "-6", "neigh", "flush", "dev", "mn0", ns=mn)  # forget the router's MAC learnt from the RA
    assert lab.ping_once(count=2)  # needs an NS for fe80::1 answered by the MAG (no RA meanwhile)
    neigh = sh("ip", "-6", "neigh", "show", str(T.ROUTER_LL), "dev", "mn0", ns=mn).stdout
    assert T.ROUTER_MAC in neigh and "router" in neigh


PING_INTERVAL = 0.01  # s between echo requests (ping -i)
STEADY = 50  # echo replies in a row that show traffic flowing (0.5 s of requests)
SLACK = 1.0  # s: scheduling and queueing on this shared machine, around both ends of the handover


def lost_seqs(res) -> list[int]:
    """Echo requests without a reply, between the first and the last reply (the
    requests still in flight when ping was stopped are not losses)."""
    seqs = {seq for _, seq, _ in res.replies}
    return [s for s in range(min(seqs), max(seqs) + 1) if s not in seqs]


def test_rfc5213_5_3_4_handover_loses_only_the_window_until_the_new_binding(lab):
    addr = registered_at(lab, "mag1")
    log = lab.start_ping("ping-handover", interval=PING_INTERVAL)
    wait_replies(log, STEADY)  # steady state at MAG1
    t_move = lab.move("mag2")
    moved = lab.wait_event("lma", "BindingMoved", since=t_move, timeout=30)
    installed = lab.wait_event("mag2", "MagBindingInstalled", since=t_move, timeout=30)
    t_done = max(moved["ts"], installed["ts"])  # both ends of the new tunnel written
    res = wait_replies(log, STEADY, after=t_done + SLACK)  # steady state at MAG2
    lab.stop_ping("ping-handover")
    lost = lost_seqs(res)
    print(f"\nhandover: {len(res.replies)} replies, lost {len(lost)}, binding moved "
          f"{(t_done - t_move) * 1000:.0f} ms after the link, max gap {res.max_gap()[1]:.1f} ms")
    # RFC 5213 §5.3.4: one binding, now at MAG2's Proxy-CoA, and the same address
    assert IPv6Address(lab.mn_address()) == addr
    rows = lma_rows(lab)
    assert len(rows) == 1 and rows[0][3] == str(T.MAG_COA["mag2"])
    entries = binding_entries(lab)
    assert binding_tunnel_dst(lab, entries[0]) == str(T.MAG_COA["mag2"])  # the member moved (one MODIFY)
    if not lost:
        return
    # no loss in steady state: the requests lost are one run of consecutive ones ...
    assert lost == list(range(lost[0], lost[-1] + 1)), f"loss outside the handover: {lost}"
    by_seq = {seq: t for t, seq, _ in res.replies}
    before, after = by_seq[lost[0] - 1], by_seq[lost[-1] + 1]
    # ... that starts at the move and ends once both ends of the new tunnel are written
    assert before >= t_move - SLACK, f"replies stopped {t_move - before:.3f} s before the move"
    assert after <= t_done + SLACK, f"replies came back {after - t_done:.3f} s after the new binding"
    # so at most the requests sent from the move until then (ping sends one per interval)
    assert len(lost) <= (t_done + SLACK - t_move) / PING_INTERVAL


def _rx_frames(lab, node: str, ifname: str) -> int:
    from p4mobility.lab.supervisor import sh
    return int(sh("cat", f"/sys/class/net/{ifname}/statistics/rx_packets", ns=lab.ns(node)).stdout)


def test_rfc5213_6_9_1_1_link_up_moves_the_binding_before_the_mn_sends_anything(lab):
    """The access port names its MN (lab topology): MAG2's PBU leaves when its port's link
    comes up. The MN is cut off the radio (its bridge port out of the AIR's bridge), so no
    frame of it can reach MAG2, and yet the binding moves there; then the MN speaks again."""
    from p4mobility.lab.supervisor import sh
    registered_at(lab, "mag1")
    air = lab.ns("air")
    sh("ip", "link", "set", "mnair", "nomaster", ns=air)  # the MN's frames go nowhere now
    try:
        before = _rx_frames(lab, "mag2", "acc")
        t_move = lab.move("mag2")
        installed = lab.wait_event("mag2", "MagBindingInstalled", since=t_move, timeout=30)
        lab.wait_event("lma", "BindingMoved", since=t_move, timeout=30)
        # on the wire: nothing came in on MAG2's access port, so nothing of the MN's started it
        assert _rx_frames(lab, "mag2", "acc") == before
        assert lab.events("mag2", "attach_by_traffic", since=t_move) == []
        [link_up] = lab.events("mag2", "link_up", since=t_move)
        pbu = lab.wait_event("mag2", "pbu_tx", since=t_move, where=lambda e: e.get("lifetime", 0) > 0)
        assert link_up["ts"] <= pbu["ts"] <= installed["ts"]
        rows = lma_rows(lab)
        assert len(rows) == 1 and rows[0][3] == str(T.MAG_COA["mag2"])
        assert [r[2] for r in bul_rows(lab, "mag2")] == ["bound"]
    finally:
        sh("ip", "link", "set", "mnair", "master", "br0", ns=air)
    assert lab.ping_once(count=3, timeout=10)  # the MN is served at MAG2 as soon as it is back


def _since_start(lab, node: str, name: str) -> list[dict]:
    """``name`` events of ``node``'s controller since it last started (its metrics count from there)."""
    start = max(e["ts"] for e in lab.events(node, "node_start"))
    return lab.events(node, name, since=start)


def _metric(text: str, name: str) -> float:
    values = [float(line.split()[-1]) for line in text.splitlines() if line.startswith(name + " ")]
    assert len(values) == 1, f"{name} not in the exposition"
    return values[0]


def test_show_bindings_cli_and_prometheus_metrics(lab):
    registered_at(lab)
    mag = "mag2" if lab.attached == "mag1" else "mag1"
    registered_at(lab, mag)  # a handover: PBUs and PBAs since the LMA's controller started
    coa = str(T.MAG_COA[mag])
    out = subprocess.run([sys.executable, "-m", "p4mobility.cli", "show", "bindings", "--socket",
                          str(lab.sock("lma"))], capture_output=True, text=True, timeout=30)
    assert out.returncode == 0, out.stderr
    assert T.MN_ID in out.stdout and coa in out.stdout
    peers = subprocess.run([sys.executable, "-m", "p4mobility.cli", "show", "peers", "--json", "--socket",
                            str(lab.sock("lma"))], capture_output=True, text=True, timeout=30)
    assert peers.returncode == 0 and coa in peers.stdout
    # the counters count at least what the controller logged before they were read
    pbus = len(_since_start(lab, "lma", "pbu_rx"))
    pbas = len([e for e in _since_start(lab, "lma", "pba_tx") if e["status"] == 0])
    text = lab.metrics("lma")
    assert _metric(text, "p4mob_bindings") == 1.0
    assert _metric(text, "p4mob_pbu_received_total") >= pbus >= 1
    assert _metric(text, 'p4mob_pba_sent_total{status="0"}') >= pbas >= 1
    counters = lab.control("lma", {"cmd": "show", "what": "counters"})
    assert counters["ok"]
    per_binding = {(r[0], r[1]): r[2] for r in counters["rows"]}
    bid = lma_rows(lab)[0][0]
    assert per_binding[("binding_uplink_counter", bid)] > 0  # the pings went through this binding
    assert per_binding[("binding_downlink_counter", bid)] > 0


def test_controller_kill9_restart_keeps_bindings_entries_and_traffic(lab):
    registered_at(lab)
    before_rows = lma_rows(lab)
    before = lab.read_switch("lma", *LMA_TABLES)
    log = lab.start_ping("ping-kill9", interval=0.05)
    wait_replies(log, 5)
    lab.kill_controller("lma", signal.SIGKILL)
    t_dead = time.time()
    wait_replies(log, 10, after=t_dead)  # traffic keeps flowing on the switch's entries
    t_restart = time.time()
    lab.start_controller("lma")
    ev = lab.wait_event("lma", "reconciled", since=t_restart, timeout=60)
    wait_replies(log, 5, after=ev["ts"])
    lab.stop_ping("ping-kill9")
    assert (ev["inserted"], ev["modified"], ev["deleted"]) == (0, 0, 0)
    assert lab.read_switch("lma", *LMA_TABLES) == before
    after_rows = lma_rows(lab)
    assert [r[:6] for r in after_rows] == [r[:6] for r in before_rows]


def mag_bul(lab, node) -> list[list]:
    return [r[:6] for r in bul_rows(lab, node)]  # port, mn_id, state, hnp, lma, last_seq (not expires_in)


def test_rfc5213_6_1_mag_controller_kill9_restart_keeps_its_bul_without_a_new_pbu(lab):
    registered_at(lab)
    mag = lab.attached
    tables = ("mag_uplinks", "mag_downlinks", "tunnel_peers", "tunnel_terminations", "punts")
    before = lab.read_switch(mag, *tables)
    bul = mag_bul(lab, mag)
    assert len(bul) == 1 and bul[0][2] == "bound"
    log = lab.start_ping("ping-mag-kill9", interval=0.05)
    wait_replies(log, 5)
    lab.kill_controller(mag, signal.SIGKILL)
    t_dead = time.time()
    wait_replies(log, 5, after=t_dead)  # the MN keeps reaching the CN through the MAG's switch
    t_restart = time.time()
    lab.start_controller(mag)
    ev = lab.wait_event(mag, "reconciled", since=t_restart, timeout=60)
    restored = lab.wait_event(mag, "state_restored", since=t_restart, timeout=5)
    wait_replies(log, 5, after=max(ev["ts"], restored["ts"]))  # and through the restarted MAG
    lab.stop_ping("ping-mag-kill9")
    assert restored["entries"] == 1
    assert (ev["inserted"], ev["modified"], ev["deleted"]) == (0, 0, 0)
    assert lab.read_switch(mag, *tables) == before
    # no new PBU: not sent by the MAG, not seen by the LMA; same BUL entry (same last Sequence Number)
    assert lab.events(mag, "pbu_tx", since=t_restart) == []
    # (the other MAG may still retransmit its own late de-registration meanwhile: not this MAG's doing)
    assert [e for e in lab.events("lma", "pbu_rx", since=t_dead) if e.get("src") == str(T.MAG_COA[mag])] == []
    assert mag_bul(lab, mag) == bul
    rows = lma_rows(lab)
    assert len(rows) == 1 and rows[0][3] == str(T.MAG_COA[mag])


def test_switch_restart_detected_pipeline_and_entries_pushed_again(lab):
    registered_at(lab)
    before = lab.read_switch("lma", *LMA_TABLES)
    t = time.time()
    lab.restart_switch("lma")
    ev = lab.wait_event("lma", "reconciled", since=t, timeout=120)
    assert ev["read"] == 0 and ev["inserted"] == len(before)
    assert lab.read_switch("lma", *LMA_TABLES) == before
    assert lab.ping_once(count=3, timeout=10)


def test_rfc5213_5_3_5_deregistration_then_bce_removed_after_min_delay(lab):
    registered_at(lab)
    t = lab.detach()
    dereg = lab.wait_event("lma", "BindingDeregistered", since=t, timeout=30)
    # while de-registering the binding's member has no tunnel: traffic dropped both ways
    entries = binding_entries(lab)
    members = lab.read_switch("lma", "binding_profile")
    assert len(entries) == 1
    # every member (the binding's, and the free ids' placeholders, p4rt/member_pool.py) has no tunnel
    assert entries[0]["member_id"] in [m["member_id"] for m in members]
    assert {m["action"] for m in members} == {"set_binding_without_tunnel"}
    deleted = lab.wait_event("lma", "BindingDeleted", since=t, timeout=30)
    # MinDelayBeforeBCEDelete (log stamps are taken after each write: allow 50 ms)
    assert MIN_DELAY - 0.05 <= deleted["ts"] - dereg["ts"] < MIN_DELAY + 5.0
    assert binding_entries(lab) == []
    assert lab.read_switch("lma", "uplink_sources", "tunnel_peers") == []
    # the binding's member went back to the placeholder of a free id (p4rt/member_pool.py)
    assert {m["action"] for m in lab.read_switch("lma", "binding_profile")} == {"set_binding_without_tunnel"}
    assert lma_rows(lab) == []


@needs_tools("tshark")
def test_signaling_in_pcaps_decodes_in_tshark_without_malformed(lab):
    if not lab.pcap:
        pytest.skip(tool_missing("tcpdump") or "the lab captured nothing")
    registered_at(lab, "mag1")
    registered_at(lab, "mag2")  # signaling on both of the LMA's MAG links
    for name in ("pcap-mag1", "pcap-mag2"):  # the capture ends here (no other test reads it)
        lab.sup.stop(name, sig=signal.SIGINT)
    esp_sa = lab.out / "esp_sa" if lab.opts.ipsec else None  # RFC 5213 §4: the lab's signaling is in ESP
    pcaps = sorted(lab.out.glob("lma-*.pcap"))
    assert [p.name for p in pcaps] == ["lma-mag1.pcap", "lma-mag2.pcap"]
    for pcap in pcaps:
        rows = mh_rows(pcap, esp_sa)
        assert {5, 6} <= {r.mh_type for r in rows}, f"no PBU/PBA in {pcap.name}"
        if esp_sa is not None:
            assert all(r.spi is not None and r.icv_good for r in rows)
        assert_registrations_accepted(answers(rows))
        bad = malformed(pcap, esp_sa)
        assert bad == "", f"malformed in {pcap.name}: {bad[:500]}"
