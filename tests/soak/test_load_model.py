"""The soak's load model (sans-I/O): the mix, the answers, RFC 5213 §6.9.4 retransmissions."""
from ipaddress import IPv6Network

from p4mobility.soak.load import INITIAL_BINDACK_TIMEOUT, MAX_BINDACK_TIMEOUT, LoadModel, Mix, OpKind

HNP = IPv6Network("2001:db8:100:1::/64")


def test_first_pass_registers_every_mn_then_the_mix_follows():
    m = LoadModel(5, seed=3)
    ops = [m.next_op(0.0) for _ in range(5)]
    assert [o.kind for o in ops] == [OpKind.REGISTER] * 5 and [o.mn for o in ops] == list(range(5))
    assert m.next_op(0.0) is None  # every MN has a PBU in flight
    for o in ops:
        assert m.on_pba(o.mn, o.seq, 0, HNP) is o
    later = [m.next_op(1.0) for _ in range(3)]
    assert all(o is not None and o.kind in (OpKind.REFRESH, OpKind.HANDOVER, OpKind.DEREGISTER) for o in later)
    assert m.stats.offered == 8 and m.stats.acked == 5


def test_handover_comes_from_the_other_mag_and_deregister_forgets():
    m = LoadModel(1, mix=Mix(refresh=0, handover=1, deregister=0))
    reg = m.next_op(0.0)
    m.on_pba(0, reg.seq, 0, HNP)
    ho = m.next_op(1.0)
    assert ho.kind is OpKind.HANDOVER and ho.mag == 1 - reg.mag and ho.hnp == HNP
    m.on_pba(0, ho.seq, 0, HNP)
    assert m.expected() == {0: (ho.mag, HNP)}
    m.mix = Mix(refresh=0, handover=0, deregister=1)
    de = m.next_op(2.0)
    assert de.kind is OpKind.DEREGISTER and de.lifetime_zero
    assert m.expected() == {} and m.in_doubt() == 1  # in flight: either way at the LMA
    m.on_pba(0, de.seq, 0, None)
    assert m.expected() == {} and m.in_doubt() == 0


def test_retransmission_new_sequence_number_and_doubling_backoff():
    m = LoadModel(1)
    op = m.next_op(0.0)
    seqs, times, t = [op.seq], [], 0.0
    while t < 200:
        t += 0.5
        for again in m.due(t):
            seqs.append(again.seq)
            times.append(t)
    gaps = [b - a for a, b in zip([0.0] + times, times)]
    assert gaps[0] == INITIAL_BINDACK_TIMEOUT
    assert gaps[:6] == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0] and max(gaps) == MAX_BINDACK_TIMEOUT
    assert len(set(seqs)) == len(seqs)
    assert m.on_pba(0, seqs[0], 0, HNP) is None and m.stats.unmatched == 1  # a late answer to an old one
    assert m.on_pba(0, seqs[-1], 0, HNP) is op and m.expected() == {0: (op.mag, HNP)}
    assert m.due(1000.0) == []  # answered: no more


def test_rejected_pba_puts_the_mn_in_doubt():
    m = LoadModel(2)
    a, b = m.next_op(0.0), m.next_op(0.0)
    m.on_pba(a.mn, a.seq, 130, None)  # RFC 5213 §5.3: insufficient resources
    m.on_pba(b.mn, b.seq, 0, HNP)
    assert m.stats.rejected == {130: 1} and m.expected() == {b.mn: (b.mag, HNP)} and m.in_doubt() == 1


def test_rejected_deregistration_means_the_binding_is_gone():
    # seen in the soak: a de-registration's PBA lost, its retransmission reaches the LMA after
    # MinDelayBeforeBCEDelete: 133 (no binding), or 155 when the prefix already went to another MN
    m = LoadModel(1, mix=Mix(refresh=0, handover=0, deregister=1))
    reg = m.next_op(0.0)
    m.on_pba(0, reg.seq, 0, HNP)
    de = m.next_op(1.0)
    (again,) = m.due(2.0)
    assert m.on_pba(0, again.seq, 155, None) is de
    assert m.expected() == {} and m.in_doubt() == 0 and m.next_op(3.0).kind is OpKind.REGISTER


def test_timestamp_mismatch_goes_again_with_backoff_and_a_156_deregistration_is_not_gone():
    # seen in the soak at 1,000 PBU/s: PBUs queued longer than TimestampValidityWindow get 156;
    # a de-registration answered 156 did nothing at the LMA (it was counted as gone: a binding
    # the load no longer expected, and then a second session for the MN). Sent again at once,
    # 156s kept the LMA's queue long (all stale): now at the retransmission time.
    m = LoadModel(1, mix=Mix(refresh=0, handover=0, deregister=1))
    reg = m.next_op(0.0)
    m.on_pba(0, reg.seq, 0, HNP)
    de = m.next_op(1.0)
    first = de.seq
    assert m.on_pba(0, de.seq, 156, None) is de
    assert m.expected() == {} and m.in_doubt() == 1 and m.next_op(1.1) is None  # still in flight
    assert m.due(1.5) == []
    (again,) = m.due(1.0 + INITIAL_BINDACK_TIMEOUT)
    assert again is de and de.seq != first and m.stats.answered_156 == 1
    m.on_pba(0, de.seq, 0, None)
    assert m.in_doubt() == 0 and m.expected() == {}


def test_snapshot_keeps_only_mns_left_alone_since():
    m = LoadModel(3, mix=Mix(refresh=1, handover=0, deregister=0))
    for _ in range(3):
        op = m.next_op(0.0)
        m.on_pba(op.mn, op.seq, 0, HNP)
    snap = m.snapshot()
    assert sorted(snap) == [0, 1, 2] and m.unchanged(snap) == [0, 1, 2]
    moved = m.next_op(1.0)
    assert sorted(m.unchanged(snap)) == sorted({0, 1, 2} - {moved.mn})
