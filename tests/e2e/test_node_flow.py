"""The node adapters exchange real frames without a switch: an RS frame built
by scapy enters the MAG node as a punted packet, the PBU packet-out it makes
enters the LMA node as a punted packet, the PBA comes back, and the MAG's RA
is checked with scapy. Only the switch is absent (frames are handed over
directly); cores, codecs, frame builders and entry translation are real."""
from __future__ import annotations

import asyncio
import tomllib
from pathlib import Path

import pytest
from scapy.layers.inet6 import ICMPv6ND_RA, ICMPv6ND_RS, ICMPv6NDOptPrefixInfo, ICMPv6NDOptSrcLLAddr, IPv6
from scapy.layers.l2 import Ether

from p4mobility.lab import topology as T
from p4mobility.p4rt.names import PuntReason
from p4mobility.pmip.actions import SendMh
from p4mobility.runtime.items import LinkChanged, PacketIn
from p4mobility.runtime.lma_node import LmaNode
from p4mobility.runtime.logs import EventLog, read_events
from p4mobility.runtime.mag_node import MagNode
from p4mobility.runtime.node_control import handle_control
from p4mobility.runtime.nodeconfig import lma_from_dict, mag_from_dict


class Punted:
    """What finsy hands the node for a PacketIn: payload + metadata by name."""

    def __init__(self, payload: bytes, **meta):
        self.payload = payload
        self.meta = meta

    def __getitem__(self, key):
        return self.meta[key]


@pytest.fixture
def nodes(tmp_path: Path):
    (tmp_path / "p.txtpb").write_text("")
    (tmp_path / "p.json").write_text("{}")

    def settings(name):
        return {"name": name, "switch_address": "127.0.0.1:1", "p4info": str(tmp_path / "p.txtpb"),
                "p4blob": str(tmp_path / "p.json"), "control_socket": str(tmp_path / f"{name}.sock"),
                "state_db": str(tmp_path / f"{name}.db")}

    opts = T.LabOptions()
    log = open(tmp_path / "events.log", "w")
    lma = LmaNode(lma_from_dict(tomllib.loads(T.to_toml(T.lma_config(settings("lma"), opts)))), EventLog("lma", log))
    mag = MagNode(mag_from_dict(tomllib.loads(T.to_toml(T.mag_config("mag1", settings("mag1"), opts)))),
                  EventLog("mag1", log))
    lma.entries.load(lma.restore())  # as NodeRuntime.run
    mag.entries.load(mag.restore())
    return lma, mag


def deliver(actions, node, *, now):
    """Packet-outs of SendMh actions, punted into ``node`` as the switch would."""
    out = []
    for a in actions:
        if isinstance(a, SendMh):
            pkt = Punted(_frame(a), punt_reason=PuntReason.MOBILITY_HEADER, ingress_port=2)
            out += node.on_item(PacketIn(pkt), now)
    return out


def apply_outs(node, actions):
    """Packet-outs of ``actions`` as the node's apply() makes them (held frames included)."""
    return [p for a in actions for p in node.packet_outs(a)]


def _frame(a: SendMh) -> bytes:
    from p4mobility.runtime.frames import mh_frame
    return mh_frame(a.message, a.src, a.dst)


def test_rfc5213_6_9_rs_to_pbu_to_pba_to_ra_through_both_adapters(nodes):
    lma, mag = nodes
    mn_mac = T.MN_MAC
    rs = Ether(src=mn_mac, dst="33:33:00:00:00:02") / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::2", hlim=255) \
        / ICMPv6ND_RS()
    acts = mag.on_item(PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 100.0)
    pbus = [a for a in acts if isinstance(a, SendMh)]
    assert len(pbus) == 1 and pbus[0].dst == T.LMA_ADDRESS and pbus[0].src == T.MAG_COA["mag1"]
    lma_acts = deliver(pbus, lma, now=100.01)
    names = [type(a).__name__ for a in lma_acts]
    assert names[:2] == ["TunnelPeerAdded", "BindingCreated"] and names[-1] == "SendMh"
    top = lma.entries.pool.top
    requests = lma.entries.plan_requests([c for a in lma_acts for c in lma.changes_for(a)])
    # one WriteRequest (member_pool.py): the binding's member modified, the entries naming it
    # inserted, and the members that keep the pool's headroom (nothing names them) inserted
    raised = lma.entries.pool.top - top
    assert len(requests) == 1 and sorted((u._update_type.name, getattr(u, "table_id", None) or u.action_profile_id)
                                         for u in requests[0]) == sorted(
        [("MODIFY", "binding_profile"), ("INSERT", "tunnel_peers"), ("INSERT", "tunnel_terminations"),
         ("INSERT", "bindings"), ("INSERT", "uplink_sources")] + [("INSERT", "binding_profile")] * raised)
    lma.persist(lma_acts)
    assert list(lma.store.load("bce")) == ["1"]
    # the binding's member and entries are made from the core (entry_set.py), listed by `entries`
    listed = asyncio.run(handle_control(lma, {"cmd": "entries"}))["entries"]
    assert len(listed) == len(lma.entries)
    assert sum(e.startswith(("bindings ", "uplink_sources ")) for e in listed) == 2
    assert sum("set_binding_tunnel_ipv6" in e for e in listed) == 1
    mag_acts = deliver([a for a in lma_acts if isinstance(a, SendMh)], mag, now=100.02)
    ra = [mag.packet_out(a) for a in mag_acts if type(a).__name__ == "SendRouterAdvertisement"]
    assert len(ra) == 1
    pkt = Ether(ra[0].payload)
    assert pkt.dst == mn_mac and pkt[IPv6].src == str(T.ROUTER_LL)
    assert pkt[ICMPv6NDOptSrcLLAddr].lladdr == T.ROUTER_MAC
    hnp = lma.core.bindings()[0].home_prefixes[0]
    assert pkt[ICMPv6NDOptPrefixInfo].prefix == str(hnp.network_address) and pkt[ICMPv6ND_RA].routerlifetime > 0
    assert ra[0]["egress_port"] == 1 and ra[0]["through_pipeline"] == 0
    # MAG entries: uplink/downlink for the HNP, the attach catch-all gone
    ups = mag.entries.plan([c for a in mag_acts for c in mag.changes_for(a)])
    assert sorted((u._update_type.name, u.table_id) for u in ups) == [
        ("DELETE", "punts"), ("INSERT", "mag_downlinks"), ("INSERT", "mag_uplinks"), ("INSERT", "tunnel_peers"),
        ("INSERT", "tunnel_terminations")]


def test_rfc5213_5_3_1_restarted_lma_restores_the_same_desired_entries(nodes, tmp_path):
    lma, mag = nodes
    rs = Ether(src=T.MN_MAC) / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    acts = mag.on_item(PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 100.0)
    lma_acts = deliver([a for a in acts if isinstance(a, SendMh)], lma, now=100.01)
    lma.entries.plan([c for a in lma_acts for c in lma.changes_for(a)])
    lma.persist(lma_acts)
    again = LmaNode(lma.cfg, EventLog("lma2", open(tmp_path / "e2.log", "w")))
    again.entries.plan(again.restore())
    assert again.entries.desired == lma.entries.desired
    assert again.core.bindings() == lma.core.bindings()


def _attached_mag(lma, mag):
    """RS -> PBU -> PBA through both adapters, each batch persisted as NodeRuntime.apply does."""
    rs = Ether(src=T.MN_MAC) / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    acts = mag.on_item(PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 100.0)
    mag.persist(acts)
    mag.entries.plan([c for a in acts for c in mag.changes_for(a)])
    lma_acts = deliver([a for a in acts if isinstance(a, SendMh)], lma, now=100.01)
    mag_acts = deliver([a for a in lma_acts if isinstance(a, SendMh)], mag, now=100.02)
    mag.persist(mag_acts)
    mag.entries.plan([c for a in mag_acts for c in mag.changes_for(a)])


def test_rfc5213_6_1_restarted_mag_restores_its_bul_and_sends_no_pbu(nodes, tmp_path):
    lma, mag = nodes
    _attached_mag(lma, mag)
    assert [v.state.value for v in mag.core.binding_update_list()] == ["bound"]
    again = MagNode(mag.cfg, EventLog("mag1b", open(tmp_path / "m2.log", "w")))
    again.entries.plan(again.restore())
    assert again.entries.desired == mag.entries.desired
    assert again.core.binding_update_list() == mag.core.binding_update_list()
    assert again.core.state() == mag.core.state()
    assert again.next_deadline() == mag.next_deadline() > 100.02 + 60  # the refresh, not a new PBU
    # an RS after the restart is answered with an RA from the restored binding, no PBU
    rs = Ether(src=T.MN_MAC) / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    acts = again.on_item(PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 101.0)
    assert [type(a).__name__ for a in acts] == ["SendRouterAdvertisement"]
    assert Ether(again.packet_out(acts[0]).payload).dst == T.MN_MAC


def test_mag_corrupt_state_is_refused_and_the_node_starts_empty(nodes, tmp_path):
    lma, mag = nodes
    _attached_mag(lma, mag)
    doc = mag.store.load("mag_bul")["1"]
    mag.store.put("mag_bul", "1", dict(doc, hnps=["not a prefix"]))
    log = tmp_path / "m3.log"
    again = MagNode(mag.cfg, EventLog("mag1c", open(log, "w")))
    base = MagNode(mag.cfg, EventLog("mag1d", open(tmp_path / "m4.log", "w")))
    base.store = None
    again.entries.plan(again.restore())
    base.entries.plan(base.restore())
    assert again.entries.desired == base.entries.desired  # base entries only
    assert again.core.binding_update_list() == []
    refused = [e for e in read_events(str(log)) if e["event"] == "state_refused"]
    assert len(refused) == 1 and "bul[1].hnps" in refused[0]["error"]
    assert refused[0]["kept_as"] == "mag_core.refused, mag_bul.refused"
    assert again.store.load("mag_bul") == {} and again.store.load("mag_core") == {}
    assert again.store.load("mag_bul.refused")["1"]["hnps"] == ["not a prefix"]  # nothing lost
    assert again.store.load("mag_core.refused") != {}


def test_lma_corrupt_state_is_set_aside_and_the_node_starts_empty(nodes, tmp_path):
    lma, mag = nodes
    rs = Ether(src=T.MN_MAC) / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    acts = mag.on_item(PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 100.0)
    lma.persist(deliver([a for a in acts if isinstance(a, SendMh)], lma, now=100.01))
    docs = lma.store.load("bce")
    assert len(docs) == 1
    key, doc = next(iter(docs.items()))
    bad = dict(doc, hnps=["2001:db8::/200"])
    lma.store.put("bce", key, bad)
    log = tmp_path / "l3.log"
    again = LmaNode(lma.cfg, EventLog("lma3", open(log, "w")))
    again.entries.plan(again.restore())
    assert again.core.bindings() == []
    (refused,) = [e for e in read_events(str(log)) if e["event"] == "state_refused"]
    assert refused["kept_as"] == "bce.refused" and "hnps" in refused["error"]
    assert again.store.load("bce") == {} and again.store.load("bce.refused") == {key: bad}


def test_rfc6275_9_2_garbage_punt_is_discarded_not_raised(nodes):
    lma, mag = nodes
    for payload in (b"", b"\x00" * 13, bytes(60)):
        assert lma.on_item(PacketIn(Punted(payload, punt_reason=PuntReason.MOBILITY_HEADER, ingress_port=1)),
                           1.0) == []
        assert mag.on_item(PacketIn(Punted(payload, punt_reason=PuntReason.MOBILITY_HEADER, ingress_port=1)),
                           1.0) == []
        assert mag.on_item(PacketIn(Punted(payload, punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 1.0) == []


def test_uplink_packets_of_the_attach_window_go_into_the_new_tunnel(nodes):
    from scapy.layers.inet6 import ICMPv6EchoRequest
    from p4mobility.pmip.actions import MagBindingInstalled

    lma, mag = nodes
    hnp_guess = "2001:db8:100::"  # the pool's first /64: what this fresh LMA assigns
    src = str(T.slaac_address(__import__("ipaddress").IPv6Network(hnp_guess + "/64"), T.MN_MAC))
    echo = Ether(src=T.MN_MAC, dst=T.ROUTER_MAC) / IPv6(src=src, dst=str(T.CN_ADDRESS), hlim=64) \
        / ICMPv6EchoRequest(id=1, seq=9)
    mld = Ether(src=T.MN_MAC, dst="33:33:00:00:00:16") / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::16") \
        / ICMPv6EchoRequest()
    acts = mag.on_item(PacketIn(Punted(bytes(echo), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 100.0)
    assert [type(a).__name__ for a in acts] == ["HoldUplink", "SendMh"]  # the first frame is the attach
    assert [o for o in apply_outs(mag, acts) if o["through_pipeline"] == 0] == []  # held, not sent
    for frame, t in ((mld, 100.001), (echo, 100.002)):
        more = mag.on_item(PacketIn(Punted(bytes(frame), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), t)
        assert apply_outs(mag, more) == []
    lma_acts = deliver(acts, lma, now=100.01)
    mag_acts = deliver([a for a in lma_acts if isinstance(a, SendMh)], mag, now=100.02)
    assert any(isinstance(a, MagBindingInstalled) for a in mag_acts)
    release = next(a for a in mag_acts if type(a).__name__ == "ReleaseUplink")
    outs = mag.packet_outs(release)
    assert len(outs) == 2  # both echo requests, not the link-local multicast one
    for out in outs:
        assert out["egress_port"] == 2 and out["through_pipeline"] == 0
        pkt = Ether(out.payload)
        assert pkt.dst == T.MACS[("lma", "mag1")] and pkt.src == T.MACS[("mag1", "uplink")]
        outer, inner = pkt[IPv6], pkt[IPv6].payload
        assert (outer.src, outer.dst, outer.nh) == (str(T.MAG_COA["mag1"]), str(T.LMA_ADDRESS), 41)
        assert outer.plen == len(bytes(inner))
        assert inner.src == src and inner.hlim == 63 and inner[ICMPv6EchoRequest].seq == 9
    assert mag.packet_outs(release) == []  # released once


def test_lma_holds_downlink_of_a_deregistering_binding_until_it_forwards_again(nodes):
    from scapy.layers.inet6 import ICMPv6EchoReply
    from p4mobility.pmip.actions import BindingDeregistered, BindingUpdated
    from p4mobility.pmip.events import MnDetached

    lma, mag = nodes
    rs = Ether(src=T.MN_MAC) / IPv6(src="fe80::ff:fe00:aa01", dst="ff02::2", hlim=255) / ICMPv6ND_RS()
    acts = mag.on_item(PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 100.0)
    deliver(deliver(acts, lma, now=100.01), mag, now=100.02)
    hnp = lma.core.bindings()[0].home_prefixes[0]
    # the MN leaves: de-registration, the LMA drops... and holds the downlink
    acts = mag.core.handle(MnDetached(T.MN_ID.encode(), 1), 101.0)
    lma_acts = deliver(acts, lma, now=101.01)
    assert any(isinstance(a, BindingDeregistered) for a in lma_acts)
    deliver(lma_acts, mag, now=101.02)  # the PBA ends the MAG's binding
    reply = Ether(dst=T.MACS[("lma", "cn")], src=T.MACS[("cn", "eth0")]) \
        / IPv6(src=str(T.CN_ADDRESS), dst=str(T.slaac_address(hnp, T.MN_MAC)), hlim=63) / ICMPv6EchoReply(seq=5)
    held = lma.on_item(PacketIn(Punted(bytes(reply), punt_reason=PuntReason.PUNT_RULE, ingress_port=3)), 101.1)
    assert [type(a).__name__ for a in held] == ["HoldDownlink"] and apply_outs(lma, held) == []
    # the MN comes back before MinDelayBeforeBCEDelete: the held reply goes out through the pipeline
    rs2 = mag.on_item(PacketIn(Punted(bytes(rs), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)), 101.2)
    lma_acts = deliver(rs2, lma, now=101.21)
    revived = next(a for a in lma_acts if isinstance(a, BindingUpdated))
    assert revived.reactivated
    outs = [o for o in apply_outs(lma, lma_acts) if ICMPv6EchoReply in Ether(o.payload)]
    assert len(outs) == 1 and outs[0]["through_pipeline"] == 1
    assert Ether(outs[0].payload)[ICMPv6EchoReply].seq == 5
    assert [o for o in apply_outs(lma, lma_acts) if ICMPv6EchoReply in Ether(o.payload)] == []  # released once


from hypothesis import HealthCheck, given, settings, strategies as st  # noqa: E402


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=st.binary(max_size=200), reason=st.sampled_from(list(PuntReason)), port=st.integers(0, 511),
       prefix=st.sampled_from([b"", bytes.fromhex("020000000001" + T.MN_MAC.replace(":", "") + "86dd")]))
def test_hostile_punted_frames_never_raise(nodes, payload, reason, port, prefix):
    lma, mag = nodes
    frame = prefix + payload
    for node in (lma, mag):
        out = node.on_item(PacketIn(Punted(frame, punt_reason=int(reason), ingress_port=port)), 200.0)
        assert isinstance(out, list)


def test_rfc5213_6_9_1_1_mn_back_while_its_deregistration_is_pending_is_attached_again(nodes):
    """The old MAG's de-registration can go unanswered (RFC 5213 §5.3.5: the LMA ignores a
    de-registration from a MAG the binding left). If the MN comes back meanwhile, its first
    frame starts a new registration instead of waiting for the retransmissions to give up."""
    from scapy.layers.inet6 import ICMPv6EchoRequest
    from p4mobility.mh import BindingUpdate

    lma, mag = nodes
    echo = Ether(src=T.MN_MAC, dst=T.ROUTER_MAC) / IPv6(src="2001:db8:100::ff:fe00:aa01",
                                                        dst=str(T.CN_ADDRESS)) / ICMPv6EchoRequest(seq=1)
    frame = Punted(bytes(echo), punt_reason=PuntReason.PUNT_RULE, ingress_port=1)
    acts = mag.on_item(PacketIn(frame), 100.0)
    deliver([a for a in deliver(acts, lma, now=100.01) if isinstance(a, SendMh)], mag, now=100.02)
    assert [v.state.value for v in mag.core.binding_update_list()] == ["bound"]
    dereg = mag.on_item(LinkChanged(1, False), 101.0)  # the MN leaves: de-registration, unanswered here
    assert [a.message.lifetime for a in dereg if isinstance(a, SendMh)] == [0]
    assert [v.state.value for v in mag.core.binding_update_list()] == ["deregistering"]
    again = mag.on_item(PacketIn(frame), 101.5)  # the MN is back before the retransmissions end
    pbus = [a.message for a in again if isinstance(a, SendMh)]
    assert len(pbus) == 1 and isinstance(pbus[0], BindingUpdate) and pbus[0].lifetime > 0
    assert [v.state.value for v in mag.core.binding_update_list()] == ["registering"]
