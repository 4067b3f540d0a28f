"""MAG state export/restore (RFC 5213 §6.1 Binding Update List): a restored
core behaves exactly like the one that exported it (twin runs), and a corrupt
document is refused with MagStateError naming the field, never another error."""
from __future__ import annotations

import copy
import json
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from p4mobility.mh import HandoffIndicator, HandoffIndicatorOption, MnIdentifier
from p4mobility.pmip import (
    BulState,
    MagBindingInstalled,
    MagConfig,
    MobileAccessGateway,
    SendMh,
    TunnelPeerAdded,
    mag_persist,
)
from p4mobility.pmip.mag_persist import MagStateError
from p4mobility.runtime.store import BindingStore

from tests.pmip.pmip_helpers import LMAA, MAG1, T0, of, the
from tests.pmip.test_mag import HNP, answer, attach, make_mag, sent

LIFETIME = 100  # 4 s units the LMA grants: 400 s, refresh at 0.8 -> T0 + 320



def export(mag):
    return mag_persist.export_state(mag.state())


def restore(config, profiles, doc):
    return MobileAccessGateway.from_state(config, profiles, mag_persist.load_state(doc))

def populated():
    """mn1 bound on port 1, mn2 registering on port 2 (PBU in flight), static
    bound then detached on port 3 (de-registration in flight). Returns the core
    and every install action it emitted."""
    mag = make_mag()
    acts = attach(mag, b"mn1", 1, T0, mn_ll_id=b"\x02\x00\x00\x00\x00\xaa")
    acts += answer(mag, sent(acts), T0 + 0.01, lifetime=LIFETIME)
    pbu2 = sent(attach(mag, b"mn2", 2, T0 + 0.02))
    a3 = attach(mag, b"static", 3, T0 + 0.03)
    acts += a3 + answer(mag, sent(a3), T0 + 0.04, hnps=None, lifetime=LIFETIME)
    installs = [a for a in acts if isinstance(a, (TunnelPeerAdded, MagBindingInstalled))]
    return mag, pbu2, installs


def through_store(state, tmp_path):
    store = BindingStore(str(tmp_path / "mag.db"))  # the runtime's store, JSON on disk
    store.put("mag", "state", state)
    loaded = store.load("mag")["state"]
    store.close()
    return loaded


def restored(mag, tmp_path=None):
    state = export(mag)
    loaded = through_store(state, tmp_path) if tmp_path else json.loads(json.dumps(state))
    return restore(mag.config, mag.profiles, loaded)


def test_rfc5213_6_1_bul_round_trip_through_the_store(tmp_path):
    mag, _, installs = populated()
    state = export(mag)
    back = restored(mag, tmp_path)
    assert export(back) == state
    assert back.binding_update_list() == mag.binding_update_list()
    assert back.next_deadline() == mag.next_deadline()
    # the data plane rebuilt from the restored core = what the live core installed
    assert back.snapshot_actions() == installs
    assert [v.state for v in back.binding_update_list()] == [BulState.BOUND, BulState.REGISTERING, BulState.BOUND]


def test_restored_core_behaves_as_the_original():
    """Twin run: the same inputs give the same outputs on the original and the restored core."""
    mag, pbu2, _ = populated()
    back = restored(mag)
    steps = [
        lambda m, now: answer(m, pbu2, now, lifetime=LIFETIME),  # the PBA for the PBU in flight at the restart
        lambda m, now: m.handle_timer(now),
        lambda m, now: m.handle_timer(now),
    ]
    for step, now in zip(steps, (T0 + 0.5, T0 + 319.0, T0 + 320.02)):
        assert step(back, now) == step(mag, now)
        assert export(back) == export(mag)


def test_rfc5213_6_9_1_3_no_pbu_before_refresh_then_refresh_with_hi_5():
    mag, _, _ = populated()
    back = restored(mag)
    def for_mn1(acts):
        return [a.message for a in acts if isinstance(a, SendMh) and a.message.option(MnIdentifier).identifier
                == b"mn1"]

    assert [m.option(MnIdentifier).identifier for m in (a.message for a in of(back.handle_timer(T0 + 5), SendMh))
            ] == [b"mn2"]  # only the PBU in flight is retransmitted
    seq = export(back)["seq"]
    assert not for_mn1(back.handle_timer(T0 + 300.0))  # a bound MN: nothing until the refresh is due
    pbus = for_mn1(back.handle_timer(T0 + 320.01))
    assert len(pbus) == 1 and pbus[0].lifetime > 0
    assert pbus[0].option(HandoffIndicatorOption).value == HandoffIndicator.HANDOFF_STATE_NOT_CHANGED
    assert pbus[0].sequence > seq  # the Sequence Number continues from the exported one


def test_restored_peer_refcount_and_ids():
    mag, pbu2, _ = populated()
    back = restored(mag)
    inst = the(answer(back, pbu2, T0 + 1, lifetime=LIFETIME), MagBindingInstalled)
    peer = [a for a in mag.snapshot_actions() if isinstance(a, TunnelPeerAdded)][0]
    assert inst.tunnel_peer_id == peer.tunnel_peer_id and inst.hnps == (HNP,)
    # the peer stays while one of its three bindings remains
    from p4mobility.pmip import MnDetached, TunnelPeerRemoved
    acts = back.handle(MnDetached(b"mn1", 1), T0 + 2) + back.handle(MnDetached(b"mn2", 2), T0 + 2)
    assert not of(acts, TunnelPeerRemoved)


def test_take_changes_reports_touched_entries_and_drops():
    mag = make_mag()
    mag.take_changes()
    a = attach(mag, b"mn1", 1, T0)
    core, entries = mag.take_changes()
    assert core.seq == sent(a).sequence and list(entries) == [1] and entries[1].state is BulState.REGISTERING
    assert mag.take_changes()[1] == {}
    answer(mag, sent(a), T0 + 0.1, status=129)  # rejected: the entry is gone
    assert mag.take_changes()[1] == {1: None}


def _bad(mutate):
    mag, _, _ = populated()
    state = json.loads(json.dumps(export(mag)))
    mutate(state)
    return mag, state


def _big_bul(s):
    s["bul"] = {str(p): dict(s["bul"]["1"], access_port=p) for p in range(600)}


CORRUPT = {
    "version": (lambda s: s.update(version=2), "version"),
    "seq": (lambda s: s.update(seq=70000), "state.seq"),
    "no bul": (lambda s: s.pop("bul"), "bul"),
    "too many": (_big_bul, "bul"),
    "key/port": (lambda s: s["bul"].update({"9": s["bul"]["1"]}), "bul[9]"),
    "state": (lambda s: s["bul"]["1"].update(state="flying"), "bul[1].state"),
    "mn_id": (lambda s: s["bul"]["1"].update(mn_id="zz"), "bul[1].mn_id"),
    "mn_id long": (lambda s: s["bul"]["1"].update(mn_id="ab" * 300), "bul[1].mn_id"),
    "hnps": (lambda s: s["bul"]["1"].update(hnps=["2001:db8::/64"] * 17), "bul[1].hnps"),
    "lma": (lambda s: s["bul"]["1"].update(lma_address="10.0.0.1"), "bul[1].lma_address"),
    "nan": (lambda s: s["bul"]["1"].update(expires_at=math.nan), "bul[1].expires_at"),
    "bool port": (lambda s: s["bul"]["1"].update(access_port=True), "bul[1].access_port"),
    "timer kind": (lambda s: s["bul"]["1"]["timers"].update(explode=1.0), "bul[1].timers"),
    "timer inf": (lambda s: s["bul"]["1"]["timers"].update(refresh=math.inf), "bul[1].timers.refresh"),
    "installed early": (lambda s: s["bul"]["2"].update(installed=True), "bul[2]"),
    "peer ids": (lambda s: s["bul"]["3"].update(tunnel_peer_id=7), "bul[3].tunnel_peer_id"),
    "same seq": (lambda s: s["bul"]["3"].update(awaiting_pba=True, last_sequence=s["bul"]["2"]["last_sequence"]),
                 "bul[3].last_sequence"),
    "entry type": (lambda s: s["bul"].update({"1": [1, 2]}), "bul[1]"),
}


@pytest.mark.parametrize("case", sorted(CORRUPT))
def test_corrupt_state_is_refused_naming_the_field(case):
    mutate, where = CORRUPT[case]
    mag, state = _bad(mutate)
    with pytest.raises(MagStateError) as err:
        restore(mag.config, mag.profiles, state)
    assert err.value.where == where and where in str(err.value)


JSON = st.recursive(st.none() | st.booleans() | st.integers(-2**70, 2**70) | st.floats() | st.text(max_size=8),
                    lambda kids: st.lists(kids, max_size=3) | st.dictionaries(st.text(max_size=6), kids, max_size=3),
                    max_leaves=8)


@settings(max_examples=200, deadline=None)
@given(port=st.sampled_from(["1", "2", "3"]), field=st.sampled_from(sorted(
    ["access_port", "mn_id", "mn_ll_id", "att", "lma_address", "requested_hnps", "requested_lifetime",
     "handoff_indicator", "state", "hnps", "mag_link_local", "tunnel_peer_id", "installed", "granted_lifetime",
     "bound_at", "expires_at", "last_sequence", "last_timestamp", "last_sent_at", "sending_lifetime",
     "retransmissions", "timeout", "awaiting_pba", "timers"])), value=JSON)
def test_any_field_value_restores_or_is_refused_never_raises_otherwise(port, field, value):
    mag, _, _ = populated()
    state = copy.deepcopy(export(mag))
    state["bul"][port][field] = value
    try:
        back = restore(mag.config, mag.profiles, state)
    except MagStateError:
        return
    export(back)  # a restored core is consistent enough to export again
    back.handle_timer(T0 + 10_000)


def test_refused_state_leaves_a_usable_empty_core():
    mag, state = _bad(lambda s: s["bul"]["2"].update(state="flying"))
    fresh = MobileAccessGateway(MagConfig(MAG1, LMAA), mag.profiles)
    with pytest.raises(MagStateError):
        fresh = restore(fresh.config, fresh.profiles, state)
    assert fresh.binding_update_list() == [] and export(fresh)["seq"] == 0


def test_rfc5213_6_9_1_3_restored_after_its_lifetime_the_binding_expires_without_a_refresh():
    """Restored once both the refresh and the expiry are past (the MAG was down longer than
    the lifetime): the binding is gone, no refresh PBU is sent for it."""
    mag, _, _ = populated()
    back = restored(mag)
    late = T0 + LIFETIME * 4 + 1.0
    acts = back.handle_timer(late)
    mn1 = [a for a in of(acts, SendMh) if a.message.option(MnIdentifier).identifier == b"mn1"]
    assert mn1 == []
    assert 1 not in {v.access_port for v in back.binding_update_list()}
