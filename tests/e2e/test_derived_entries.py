"""entry_set.EntrySet with ``derived``: the bindings' members and entries are not stored
but made from the core's state; it must plan exactly what an EntrySet storing every
entry plans, and hold the same desired set. Differential: random valid sequences of
anchor actions, in random batches, through both; the derived one's source is the
bindings those actions leave (as LmaNode.binding_entries makes them from the core)."""
from __future__ import annotations

import random
from ipaddress import IPv6Address as A
from ipaddress import IPv6Network as N

from p4mobility.binding import Path, TunnelEndpoints
from p4mobility.p4rt.entries import lma_base_entries, lma_before, lma_changes
from p4mobility.p4rt.entry_set import EntrySet
from p4mobility.p4rt.member_pool import MemberPool
from p4mobility.pmip.actions import (BindingCreated, BindingDeleted, BindingDeregistered, BindingMoved,
                                     BindingUpdated, TunnelPeerAdded)

LMA = A("2001:db8:ffff::1")
MAGS = [A(f"2001:db8:{i}::1") for i in range(1, 4)]
SIZE, HEADROOM = 30, 4


def path(mag: int) -> Path:
    return Path(0, TunnelEndpoints(LMA, MAGS[mag]), mag + 1)


class Model:
    """The bindings the actions leave: binding id -> [mn, hnps, mag, de-registered]."""

    def __init__(self) -> None:
        self.b: dict[int, list] = {}

    def source(self):
        for bid, (mn, hnps, mag, dereg) in sorted(self.b.items()):
            yield from lma_changes(BindingCreated(bid, mn, hnps, (path(mag),), 40.0, 1e9))
            if dereg:
                yield from lma_changes(BindingDeregistered(bid, mn, hnps, (path(mag),), 1e9))

    def step(self, rng: random.Random, free_hnps: list[int]):
        """One valid action on the model (and the HNPs it frees or takes)."""
        kind = rng.choice(["create", "create", "move", "dereg", "revive", "delete"])
        if kind == "create" or not self.b:
            free = [i for i in range(1, SIZE) if i not in self.b]
            if not free or not free_hnps:
                return None
            bid = free[0]  # the core's smallest free id (binding/ids.py)
            hnps = (N(f"2001:db8:{free_hnps.pop(rng.randrange(len(free_hnps))):x}::/64"),)
            self.b[bid] = [b"mn%d" % bid, hnps, rng.randrange(3), False]
            return BindingCreated(bid, b"mn%d" % bid, hnps, (path(self.b[bid][2]),), 40.0, 1e9)
        bid = rng.choice(sorted(self.b))
        mn, hnps, mag, dereg = self.b[bid]
        if kind == "move":  # (a de-registered one is enabled again)
            new = (mag + 1 + rng.randrange(2)) % 3
            self.b[bid][2:] = [new, False]
            return BindingMoved(bid, mn, hnps, (path(mag),), (path(new),), 40.0, 1e9)
        if kind == "dereg" and not dereg:
            self.b[bid][3] = True
            return BindingDeregistered(bid, mn, hnps, (path(mag),), 1e9)
        if kind == "revive" and dereg:
            self.b[bid][3] = False
            return BindingUpdated(bid, mn, hnps, (path(mag),), 40.0, 1e9, reactivated=True)
        if kind == "delete":
            del self.b[bid]
            free_hnps.extend(int(str(h.network_address).split(":")[2], 16) for h in hnps)
            return BindingDeleted(bid, mn, hnps, (path(mag),), "deregistered" if dereg else "expired")
        return None


def canon(requests) -> list:
    return [sorted((u._update_type.name, repr(u)) for u in req) for req in requests]


def test_derived_entry_set_plans_and_holds_what_a_stored_one_does():
    for seed in range(150):
        rng = random.Random(seed)
        model = Model()
        stored = EntrySet(MemberPool(SIZE, HEADROOM))
        derived = EntrySet(MemberPool(SIZE, HEADROOM), derived=model.source)
        base = lma_base_entries(LMA, []) + [c for i, m in enumerate(MAGS)
                                            for c in lma_changes(TunnelPeerAdded(i + 1, TunnelEndpoints(LMA, m)))]
        stored.load(base)
        derived.load(base)
        free_hnps = list(range(1, 40))
        for _ in range(rng.randrange(1, 12)):  # batches
            actions = [a for a in (model.step(rng, free_hnps) for _ in range(rng.randrange(1, 6))) if a]
            want = stored.plan_requests([c for a in actions for c in lma_changes(a)])
            got = derived.plan_requests([c for a in actions for c in lma_before(a) + lma_changes(a)])
            assert canon(got) == canon(want), (seed, actions)
            assert dict(derived.items()) == stored.desired, seed
            assert len(derived) == len(stored), seed


def test_a_restart_loads_the_same_desired_set():
    rng = random.Random(7)
    model = Model()
    live = EntrySet(MemberPool(SIZE, HEADROOM), derived=model.source)
    live.load(lma_base_entries(LMA, []))
    free_hnps = list(range(1, 40))
    for _ in range(40):
        a = model.step(rng, free_hnps)
        if a:
            live.plan(lma_before(a) + lma_changes(a))
    restarted = EntrySet(MemberPool(SIZE, HEADROOM), derived=model.source)
    restarted.load(list(lma_base_entries(LMA, [])) + list(model.source()))
    plain = EntrySet(MemberPool(SIZE, HEADROOM))
    plain.load(list(lma_base_entries(LMA, [])) + list(model.source()))
    assert dict(restarted.items()) == plain.desired and len(restarted) == len(plain)
    # (the live one's top may be higher: it only grows while the node runs)
    assert {k: v for k, v in live.items() if k in plain.desired} == plain.desired
