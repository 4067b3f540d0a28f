"""PTF-style helpers: program entries by name, send frames, verify frames.

Rule (fabric-tna `fabric_test.py`): one helper writes one table, helpers
compose into set-ups (`setup_downlink`, ...), every written entity is deleted
again after the test (autocleanup). Verification compares exact bytes of
frames built independently with scapy; `verify_no_other_packets` listens for
a short window, and drops are confirmed by their drop counter.
"""

from __future__ import annotations

import time
from ipaddress import IPv4Network, ip_address
from typing import Any, Iterable

from finsy import (
    P4ActionProfileGroup,
    P4ActionProfileMember,
    P4CounterEntry,
    P4IndirectAction,
    P4Member,
    P4TableAction,
    P4TableEntry,
    P4TableMatch,
)

from .netns import Namespace
from .p4consts import CPU_PORT, DropReason, EncapKind
from .p4rt import P4RuntimeClient

SWITCH_MAC = "00:00:5e:00:53:01"
NEXT_HOP_MAC = {1: "02:00:00:00:01:01", 2: "02:00:00:00:02:02",
                3: "02:00:00:00:03:03", 4: "02:00:00:00:04:04"}
HOST_MAC = "02:00:00:00:99:99"

RECV_TIMEOUT = 5.0        # waiting for a frame that must come
NO_OTHER_WINDOW = 0.25    # listening for frames that must not come


def v4m(addr: str) -> str:
    """IPv4 address as the program's 128-bit key: ::ffff:a.b.c.d."""
    return f"::ffff:{ip_address(addr)}"


def v4m_prefix(prefix: str) -> str:
    net = IPv4Network(prefix)
    return f"::ffff:{net.network_address}/{96 + net.prefixlen}"


def key_addr(addr: str) -> str:
    """Address (or prefix) in the program's key form, whatever its family."""
    if "/" in addr:
        net, _ = addr.split("/")
        return v4m_prefix(addr) if "." in net else addr
    return v4m(addr) if "." in addr else addr


class Dataplane:
    """One switch (target process + P4Runtime client + namespace) per module."""

    def __init__(self, target: str, ns: Namespace, p4rt: P4RuntimeClient):
        self.target = target
        self.ns = ns
        self.p4rt = p4rt
        self._written: list[Any] = []
        self._next_member = 1
        self._next_group = 1

    # ------------------------------------------------------------ plumbing
    def insert(self, *entities: Any) -> None:
        self.p4rt.insert(entities)
        self._written.extend(entities)

    def modify(self, *entities: Any) -> None:
        self.p4rt.modify(entities)

    def cleanup(self) -> None:
        """Delete everything this test wrote, newest first; drain queues."""
        for entity in reversed(self._written):
            self.p4rt.delete([entity])
        self._written.clear()
        self.ns.drain()
        while not self.p4rt.packet_ins.empty():
            self.p4rt.packet_ins.get_nowait()

    # ------------------------------------------------------------ tables
    def add_local_address(self, addr: str) -> None:
        self.insert(P4TableEntry("local_addresses", match=P4TableMatch({"dst_addr": key_addr(addr)}),
                                 action=P4TableAction("set_local")))

    def add_route(self, prefix: str, port: int, dst_mac: str | None = None) -> None:
        self.insert(P4TableEntry(
            "routes", match=P4TableMatch({"dst_addr": key_addr(prefix)}),
            action=P4TableAction("set_next_hop", port=port, src_mac=SWITCH_MAC,
                                 dst_mac=dst_mac or NEXT_HOP_MAC[port])))

    def add_punt_rule(self, priority: int = 10, **match: Any) -> None:
        self.insert(P4TableEntry("punts", match=P4TableMatch(match), priority=priority,
                                 action=P4TableAction("punt_to_controller")))

    def add_tunnel_peer(self, peer_id: int, src: str, dst: str,
                        udp: tuple[int, int] | None = None) -> None:
        if udp is not None:
            action = P4TableAction("load_tunnel_peer_udp", src_addr=src, dst_addr=dst,
                                   src_port=udp[0], dst_port=udp[1])
        elif ":" in dst:
            action = P4TableAction("load_tunnel_peer_ipv6", src_addr=src, dst_addr=dst)
        else:
            action = P4TableAction("load_tunnel_peer_ipv4", src_addr=src, dst_addr=dst)
        self.insert(P4TableEntry("tunnel_peers", match=P4TableMatch({"tunnel_peer_id": peer_id}),
                                 action=action))

    # ---- LMA / HA bindings: one binding_profile member per binding ----
    @staticmethod
    def binding_tunnel(binding_id: int, src: str, dst: str,
                       udp: tuple[int, int] | None = None) -> P4TableAction:
        """The member action that gives a binding its tunnel (binding_profile.p4)."""
        if udp is not None:
            return P4TableAction("set_binding_tunnel_udp", binding_id=binding_id, src_addr=src,
                                 dst_addr=dst, src_port=udp[0], dst_port=udp[1])
        if ":" in dst:
            return P4TableAction("set_binding_tunnel_ipv6", binding_id=binding_id, src_addr=src,
                                 dst_addr=dst)
        return P4TableAction("set_binding_tunnel_ipv4", binding_id=binding_id, src_addr=src, dst_addr=dst)

    def add_binding_member(self, binding_id: int, action: P4TableAction,
                           prefixes: Iterable[str]) -> None:
        """Member ``binding_id`` of binding_profile, and for each prefix a
        `bindings` (downlink) and an `uplink_sources` (uplink) entry to it."""
        self.insert(P4ActionProfileMember("binding_profile", member_id=binding_id, action=action))
        for prefix in prefixes:
            ref = P4IndirectAction(member_id=binding_id)
            self.insert(P4TableEntry("bindings", match=P4TableMatch({"dst_addr": key_addr(prefix)}),
                                     action=ref),
                        P4TableEntry("uplink_sources",
                                     match=P4TableMatch({"home_addr": key_addr(prefix)}), action=ref))

    def add_binding(self, prefix: str, binding_id: int, src: str, dst: str,
                    udp: tuple[int, int] | None = None) -> None:
        self.add_binding_member(binding_id, self.binding_tunnel(binding_id, src, dst, udp), [prefix])

    def move_binding(self, binding_id: int, src: str, dst: str,
                     udp: tuple[int, int] | None = None) -> None:
        """A handover: one MODIFY of the binding's member, one update."""
        self.modify(P4ActionProfileMember("binding_profile", member_id=binding_id,
                                          action=self.binding_tunnel(binding_id, src, dst, udp)))

    def detach_binding(self, binding_id: int) -> None:
        """RFC 5213 §5.3.5: the binding stays, without a CoA (one MODIFY)."""
        self.modify(P4ActionProfileMember("binding_profile", member_id=binding_id, action=P4TableAction(
            "set_binding_without_tunnel", binding_id=binding_id)))

    def add_multi_coa_binding(self, prefix: str, binding_id: int,
                              peer_ids: list[int], coas: Iterable[str] = ()) -> None:
        """RFC 5648: one selector member per CoA, one group per binding; the
        binding's member says multi-CoA; `binding_coas` lists the CoAs that
        may send uplink."""
        members = []
        for peer_id in peer_ids:
            member_id = self._next_member
            self._next_member += 1
            self.insert(P4ActionProfileMember(
                "binding_peer_selector", member_id=member_id,
                action=P4TableAction("set_tunnel_peer", tunnel_peer_id=peer_id)))
            members.append(P4Member(member_id, weight=1))
        group_id = self._next_group
        self._next_group += 1
        self.insert(P4ActionProfileGroup("binding_peer_selector", group_id=group_id,
                                         max_size=len(members), members=members))
        self.insert(P4TableEntry("binding_peers", match=P4TableMatch({"binding_id": binding_id}),
                                 action=P4IndirectAction(group_id=group_id)))
        self.add_binding_member(binding_id, P4TableAction("set_multi_coa_binding", binding_id=binding_id),
                                [prefix])
        for coa in coas:
            self.insert(P4TableEntry("binding_coas",
                                     match=P4TableMatch({"binding_id": binding_id, "coa": key_addr(coa)}),
                                     action=P4TableAction("accept_coa")))

    def add_tunnel_termination(self, outer_src: str, outer_dst: str, kind: EncapKind,
                               from_lma: bool = False, sport: int = 0) -> None:
        """``sport``: the outer UDP source port of a UDP tunnel (RFC 5555 §4.1), else 0."""
        self.insert(P4TableEntry(
            "tunnel_terminations",
            match=P4TableMatch({"outer_src_addr": key_addr(outer_src), "outer_dst_addr": key_addr(outer_dst),
                                "encap_kind": int(kind), "outer_src_port": sport}),
            action=P4TableAction("decap_from_lma" if from_lma else "decap_from_coa")))

    def add_esp_sa(self, dst: str, spi: int, sa_index: int | None = None) -> None:
        """sa_index None: a signaling SA punted to the controller as is."""
        action = (P4TableAction("punt_signaling_esp") if sa_index is None
                  else P4TableAction("to_crypto_port", sa_index=sa_index))
        self.insert(P4TableEntry("esp_sas", match=P4TableMatch({"dst_addr": key_addr(dst), "spi": spi}),
                                 action=action))

    def add_esp_sa_from_coa(self, dst: str, spi: int, sa_index: int, home_addr: str) -> None:
        """An SA whose packets must come from a CoA of ``home_addr``'s binding (RFC 3776 §5.2.2)."""
        self.insert(P4TableEntry("esp_sas", match=P4TableMatch({"dst_addr": key_addr(dst), "spi": spi}),
                                 action=P4TableAction("to_crypto_port_from_coa", sa_index=sa_index,
                                                      home_addr=home_addr)))

    def add_spd_entry(self, priority: int, action: str, sa_index: int | None = None,
                      **match: Any) -> None:
        """RFC 4301 SPD entry: action is to_crypto_port / bypass / discard."""
        params = {"sa_index": sa_index} if action == "to_crypto_port" else {}
        m = {k: (key_addr(v) if k in ("src_addr", "dst_addr") else v)
             for k, v in match.items()}
        self.insert(P4TableEntry("outbound_policies", match=P4TableMatch(m), priority=priority,
                                 action=P4TableAction(action, **params)))

    def add_mag_uplink(self, port: int, src_prefix: str, binding_id: int,
                       peer_id: int) -> None:
        self.insert(P4TableEntry(
            "mag_uplinks", match=P4TableMatch({"ingress_port": port, "src_addr": key_addr(src_prefix)}),
            action=P4TableAction("tunnel_to_lma", binding_id=binding_id,
                                 tunnel_peer_id=peer_id)))

    def add_mag_downlink(self, prefix: str, binding_id: int, port: int,
                         mn_mac: str) -> None:
        self.insert(P4TableEntry(
            "mag_downlinks", match=P4TableMatch({"dst_addr": key_addr(prefix)}),
            action=P4TableAction("forward_to_mn", binding_id=binding_id, port=port,
                                 src_mac=SWITCH_MAC, dst_mac=mn_mac)))

    # ------------------------------------------------------------ counters
    def counter(self, name: str, index: int) -> tuple[int, int]:
        """(packets, bytes) of an indexed counter."""
        entries = self.p4rt.read(P4CounterEntry(name, index=index))
        if not entries:
            return 0, 0
        return entries[0].packet_count, entries[0].byte_count

    def drops(self, reason: DropReason) -> int:
        return self.counter("drop_counter", int(reason))[0]

    def wait_drop(self, reason: DropReason, before: int, timeout: float = RECV_TIMEOUT) -> int:
        """Wait until drop_counter[reason] exceeds `before`; returns the new count."""
        deadline = time.monotonic() + timeout
        while True:
            now = self.drops(reason)
            if now > before or time.monotonic() > deadline:
                return now
            time.sleep(0.05)

    # ------------------------------------------------------------ packets
    def send(self, port: int, pkt: Any) -> None:
        self.ns.send(port, bytes(pkt))

    def packet_out(self, pkt: Any, egress_port: int = 0, through_pipeline: bool = False) -> None:
        meta = {"egress_port": egress_port, "through_pipeline": int(through_pipeline)}
        names = {m.name for m in self.p4rt.p4info.controller_packet_metadata["packet_out"].metadata}
        meta.update({n: 0 for n in names if n not in meta})
        self.p4rt.packet_out(bytes(pkt), **meta)

    def verify_packet(self, expected: Any, port: int) -> bytes:
        want = bytes(expected)
        got = self.ns.recv(port, RECV_TIMEOUT)
        assert got is not None, f"no frame on port {port}; expected {expected!r}"
        assert got == want, _diff(want, got)
        return got

    def verify_any_packet(self, choices: Iterable[tuple[Any, int]]) -> int:
        """One frame equal to one of (packet, port); returns the index matched."""
        options = [(bytes(p), port) for p, port in choices]
        got = self.ns.recv_any(RECV_TIMEOUT)
        assert got is not None, "no frame on any port"
        port, data = got
        for i, (want, want_port) in enumerate(options):
            if port == want_port and data == want:
                return i
        raise AssertionError(f"frame on port {port} matches none of {len(options)} "
                             f"choices: {data.hex()}")

    def verify_no_other_packets(self, window: float = NO_OTHER_WINDOW) -> None:
        got = self.ns.recv_any(window)
        assert got is None, f"unexpected frame on port {got[0]}: {got[1].hex()}"

    def verify_packet_in(self, timeout: float = RECV_TIMEOUT):
        import queue
        try:
            return self.p4rt.packet_ins.get(timeout=timeout)
        except queue.Empty:
            raise AssertionError("no PacketIn") from None

    def verify_no_packet_in(self) -> None:
        assert self.p4rt.packet_ins.empty(), f"unexpected PacketIn {self.p4rt.packet_ins.get()}"


def _diff(want: bytes, got: bytes) -> str:
    from scapy.layers.l2 import Ether

    first = next((i for i, (a, b) in enumerate(zip(want, got)) if a != b),
                 min(len(want), len(got)))
    return (f"frame differs at byte {first} (len want {len(want)}, got {len(got)})\n"
            f"want: {want.hex()}\ngot:  {got.hex()}\n"
            f"want: {Ether(want)!r}\ngot:  {Ether(got)!r}")


__all__ = ["Dataplane", "v4m", "v4m_prefix", "key_addr", "SWITCH_MAC", "NEXT_HOP_MAC",
           "HOST_MAC", "CPU_PORT"]
