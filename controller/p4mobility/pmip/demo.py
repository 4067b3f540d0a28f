"""A PMIPv6 call flow (RFC 5213 Fig. 2 and Fig. 3) in memory, as data.

Rule: one LMA and two MAG cores on a simulated clock; every PBU/PBA is really
encoded and decoded (sim.py). The script: MN attaches at MAG1, PBU/PBA, RA
with its HNP; the MN moves to MAG2 (p-MAG de-registers, n-MAG registers with
HI=3 and keeps the HNP); lifetime refresh; detach and de-registration; BCE
deleted after MinDelayBeforeBCEDelete. ``play()`` returns the simulation (its
timeline of records) and a summary whose ``ok`` says whether the flow ended
as RFC 5213 says it should; nothing here prints (``p4mob demo`` is
cli/demo.py).
"""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network
from typing import Any

from .actions import (
    BindingCreated,
    BindingDeleted,
    BindingDeregistered,
    BindingMoved,
    BindingUpdated,
    MagBindingInstalled,
    MagBindingRemoved,
    TunnelPeerAdded,
    TunnelPeerRemoved,
)
from .config import LmaConfig, MagConfig
from .lma import LocalMobilityAnchor
from .mag import MobileAccessGateway
from .policy import HnpPool, MagMnProfile, MnPolicy, PolicyStore
from .sim import Simulation

LMAA = IPv6Address("2001:db8:0:1::1")
MAG1 = IPv6Address("2001:db8:0:11::1")
MAG2 = IPv6Address("2001:db8:0:12::1")
MN = b"mn1@example"
EPOCH = 1_800_000_000.0  # simulated POSIX time (Timestamp options are real)


def describe_action(a: Any) -> str:
    hn = lambda nets: ",".join(str(n) for n in nets)  # noqa: E731
    if isinstance(a, BindingCreated):
        return (f"BindingCreated id={a.binding_id} HNP={hn(a.home_prefixes)} Proxy-CoA={a.paths[0].coa} "
                f"peer={a.paths[0].tunnel_peer_id} lifetime={a.lifetime:g}s")
    if isinstance(a, BindingUpdated):
        return f"BindingUpdated id={a.binding_id} lifetime={a.lifetime:g}s reactivated={a.reactivated}"
    if isinstance(a, BindingMoved):
        return (f"BindingMoved id={a.binding_id} peer {a.old_paths[0].tunnel_peer_id}->{a.paths[0].tunnel_peer_id} "
                f"({a.old_paths[0].coa} -> {a.paths[0].coa})")
    if isinstance(a, BindingDeregistered):
        return f"BindingDeregistered id={a.binding_id} (traffic dropped, delete in MinDelayBeforeBCEDelete)"
    if isinstance(a, BindingDeleted):
        return f"BindingDeleted id={a.binding_id} HNP={hn(a.home_prefixes)} reason={a.reason}"
    if isinstance(a, (TunnelPeerAdded, TunnelPeerRemoved)):
        return f"{type(a).__name__} id={a.tunnel_peer_id} {a.local} <-> {a.remote}"
    if isinstance(a, MagBindingInstalled):
        return f"MagBindingInstalled port={a.access_port} HNP={hn(a.hnps)} tunnel peer={a.tunnel_peer_id} LMA={a.lma_address}"
    if isinstance(a, MagBindingRemoved):
        return f"MagBindingRemoved port={a.access_port} HNP={hn(a.hnps)} reason={a.reason}"
    return type(a).__name__


def build() -> Simulation:
    policy = PolicyStore(trusted_mags=[MAG1, MAG2],
                         pools=[HnpPool("home", IPv6Network("2001:db8:100::/48"), 64)],
                         profiles=[MnPolicy(MN, pool="home")])
    lma = LocalMobilityAnchor(LmaConfig(LMAA), policy)
    profile = [MagMnProfile(MN)]
    mags = {
        name: MobileAccessGateway(MagConfig(addr, LMAA, requested_lifetime=40.0), profile)
        for name, addr in (("MAG1", MAG1), ("MAG2", MAG2))
    }
    return Simulation(lma, mags, start=EPOCH)


def play() -> tuple[Simulation, dict[str, Any]]:
    sim = build()
    at = lambda t: sim.advance(EPOCH + t)  # noqa: E731
    sim.attach("MAG1", MN, port=1, att=4, mn_ll_id=b"\x02\x00\x00\x00\x00\x01")  # Fig. 2
    hnp_at_mag1 = [r.obj for r in sim.timeline if r.kind == "RA"][-1].prefixes[0].prefix
    at(0.5)
    sim.solicit("MAG1", port=1)
    at(20.0)
    sim.detach("MAG1", MN, port=1)  # Fig. 3: p-MAG de-registers first
    at(20.2)
    sim.attach("MAG2", MN, port=7, att=4, mn_ll_id=b"\x02\x00\x00\x00\x00\x01", handoff_hint=3)
    hnp_at_mag2 = [r.obj for r in sim.timeline if r.kind == "RA"][-1].prefixes[0].prefix
    at(60.0)  # MAG2 refreshes at 80% of the 40 s lifetime
    sim.detach("MAG2", MN, port=7)
    at(75.0)  # MinDelayBeforeBCEDelete (10 s) runs out
    refreshes = [m for m in sim.messages("PBU", "MAG2") if m.lifetime and any(
        o.value == 5 for o in m.options if type(o).__name__ == "HandoffIndicatorOption")]
    summary = {
        "pbu": len(sim.messages("PBU")), "pba": len(sim.messages("PBA")),
        "ra": sum(1 for r in sim.timeline if r.kind == "RA"),
        "hnp": str(hnp_at_mag1), "hnp_kept_across_handoff": hnp_at_mag1 == hnp_at_mag2,
        "refreshes": len(refreshes), "bindings_left": len(sim.lma.bindings()),
        "moved": len(sim.actions_of("LMA", BindingMoved)),
        "deleted": len(sim.actions_of("LMA", BindingDeleted)),
    }
    summary["ok"] = (summary["hnp_kept_across_handoff"] and summary["refreshes"] >= 1
                     and summary["bindings_left"] == 0 and summary["moved"] == 1 and summary["deleted"] == 1)
    return sim, summary


__all__ = ["build", "describe_action", "play"]
