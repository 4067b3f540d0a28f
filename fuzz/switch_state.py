"""The embedded target as the switch targets fuzz it: mobility.json loaded, and the
entries an LMA with one binding writes (p4rt/entries.py), so packets reach the
tables and Writes meet existing entries. Shared by the targets and seeds.py.
"""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
P4INFO = REPO / "p4src" / "build" / "mobility.p4info.txtpb"
P4BLOB = REPO / "p4src" / "build" / "mobility.json"
CPU_PORT = 255
LMA = IPv6Address("2001:db8:ffff::1")
MAG1 = IPv6Address("2001:db8:a::1")
HNP = IPv6Network("2001:db8:100::/64")
MN = b"mn1@example"


def lma_updates() -> list:
    """p4.v1.Update messages of an LMA with one route, one MAG and one binding."""
    import finsy as fy
    from p4mobility.binding import Path as BPath, TunnelEndpoints
    from p4mobility.p4rt.apply import EntrySet
    from p4mobility.p4rt.entries import Route, lma_base_entries, lma_changes
    from p4mobility.pmip.actions import BindingCreated, TunnelPeerAdded

    schema = fy.P4Schema(P4INFO, P4BLOB)
    route = Route(IPv6Network("2001:db8:9::/48"), 2, "02:00:00:00:00:01", "02:00:00:00:00:02")
    peer = TunnelPeerAdded(1, TunnelEndpoints(LMA, MAG1))
    created = BindingCreated(1, MN, (HNP,), (BPath(0, TunnelEndpoints(LMA, MAG1), 1),), 40.0, 140.0)
    es = EntrySet()
    ups = es.plan(lma_base_entries(LMA, [route]) + lma_changes(peer) + lma_changes(created))
    return [u.encode_update(schema) for u in ups]


def make_device():
    """A Device with the pipeline and the LMA's entries, ports 1..4 discarding frames."""
    from p4mob_switch.device import Device, load_p4info
    dev = Device(1, CPU_PORT)
    dev.load(P4BLOB.read_bytes(), load_p4info(P4INFO.read_bytes()))
    for u in lma_updates():
        dev.write(u)
    for port in (1, 2, 3, 4):
        dev.ports[port] = lambda frame: None
    dev.packet_in = lambda payload, meta: None
    return dev
