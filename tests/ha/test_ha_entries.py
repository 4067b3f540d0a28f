"""What the home agent core's actions become in the switch (p4rt/entries.py ``lma_changes``,
applied to an EntrySet): the HA emits only generic binding actions, so its NAT'd UDP paths,
IPv4 home addresses, several CoAs and de-registrations program the same tables as the LMA.
Expected entries are written from the P4 table layout (p4src), not from the code under test."""
from __future__ import annotations

import pytest

pytest.importorskip("finsy")

from p4mobility.p4rt.apply import EntrySet  # noqa: E402
from p4mobility.p4rt.entries import lma_changes  # noqa: E402

from tests.ha.ha_helpers import COA, COA2, HA, HA4, HOA, NAT4, bid, bu, from_coa, make_ha, over_udp, v4req  # noqa: E402


H128 = f"{HOA}/128"  # a home address is a /128 home prefix (binding/cache.py)


def entry(es: EntrySet, table: str, **match):
    for (t, m), e in es.desired.items():
        if t == table and dict(m) == {k: str(v) for k, v in match.items()}:
            return e
    return None


def program(es: EntrySet, actions: list) -> None:
    for a in actions:
        es.plan(lma_changes(a))


def test_rfc5555_nat_path_and_ipv4_home_address_program_udp_peer_and_mapped_binding():
    es, ha = EntrySet(), make_ha()
    program(es, ha.handle(over_udp(bu(1, 100, v4req()), outer=(NAT4, 40000)), 0.0))
    peer = entry(es, "tunnel_peers", tunnel_peer_id=1)
    assert peer.action.name == "load_tunnel_peer_udp"
    assert peer.action.args == {"src_addr": str(HA4), "dst_addr": str(NAT4), "src_port": 4191, "dst_port": 40000}
    # IPv6 and IPv4 inside UDP from the NAT terminate here (p4src EncapKind 4 and 5)
    for kind in (4, 5):
        assert entry(es, "tunnel_terminations", outer_src_addr=f"::ffff:{NAT4}", outer_dst_addr=f"::ffff:{HA4}",
                     encap_kind=kind) is not None
    assert entry(es, "bindings", dst_addr=H128).action.args == {"binding_id": 1, "tunnel_peer_id": 1}
    assert entry(es, "bindings", dst_addr="::ffff:10.9.0.1/128").action.args == {"binding_id": 1, "tunnel_peer_id": 1}
    assert entry(es, "uplink_sources", coa=f"::ffff:{NAT4}", home_addr="::ffff:10.9.0.1/128") is not None


def test_rfc5648_two_coas_select_the_multi_coa_action_and_a_deregistered_one_goes():
    es, ha = EntrySet(), make_ha()
    program(es, ha.handle(from_coa(bu(1, 100, bid(1), bid(2, COA2)), COA), 0.0))
    assert entry(es, "bindings", dst_addr=H128).action.name == "set_multi_coa_binding"
    assert entry(es, "uplink_sources", coa=COA, home_addr=H128)
    assert entry(es, "uplink_sources", coa=COA2, home_addr=H128)
    program(es, ha.handle(from_coa(bu(2, 0, bid(1)), COA2, alt=False), 1.0))
    assert entry(es, "uplink_sources", coa=COA, home_addr=H128) is None
    assert entry(es, "tunnel_peers", tunnel_peer_id=1) is None
    assert entry(es, "bindings", dst_addr=H128).action.args == {"binding_id": 1, "tunnel_peer_id": 2}


def test_rfc6275_10_3_2_deregistration_and_expiry_leave_no_entries():
    es, ha = EntrySet(), make_ha()
    program(es, ha.handle(from_coa(bu(1, 100, v4req())), 0.0))
    assert entry(es, "tunnel_peers", tunnel_peer_id=1).action.args == {"src_addr": str(HA), "dst_addr": str(COA)}
    program(es, ha.handle(from_coa(bu(2, 0), alt=False), 1.0))
    assert es.desired == {}
    program(es, ha.handle(over_udp(bu(3, 10)), 2.0))
    program(es, ha.handle_timer(100.0))
    assert es.desired == {}


def _terminations(es: EntrySet) -> set:
    return {dict(m)["encap_kind"] for (t, m) in es.desired if t == "tunnel_terminations"
            and dict(m)["outer_src_addr"] == f"::ffff:{NAT4}"}


NAT_KEY_BUG = ("p4rt/entries.py: tunnel_terminations are keyed by (outer src, outer dst, encap kind) without the "
               "UDP port, so removing one UDP tunnel peer deletes the termination another peer from the same NAT "
               "address still uses (left for the owner of p4rt/)")


@pytest.mark.xfail(strict=True, reason=NAT_KEY_BUG)
def test_rfc5555_4_2_nat_rebinding_to_a_new_port_keeps_the_uplink_termination():
    es, ha = EntrySet(), make_ha()
    program(es, ha.handle(over_udp(bu(1), outer=(NAT4, 40000)), 0.0))
    assert _terminations(es) == {"4", "5"}
    program(es, ha.handle(over_udp(bu(2), outer=(NAT4, 40001)), 1.0))  # the NAT picked a new port
    assert _terminations(es) == {"4", "5"}


@pytest.mark.xfail(strict=True, reason=NAT_KEY_BUG)
def test_rfc5555_two_mns_behind_one_nat_one_leaves_the_other_keeps_its_uplink_termination():
    from tests.ha.ha_helpers import HOA2
    es, ha = EntrySet(), make_ha()
    program(es, ha.handle(over_udp(bu(1), outer=(NAT4, 40000)), 0.0))
    program(es, ha.handle(over_udp(bu(1), outer=(NAT4, 40001), hoa=HOA2), 0.0))
    program(es, ha.handle(over_udp(bu(2, 0)), 1.0))  # the first MN de-registers
    assert ha.binding_for(HOA2) is not None and _terminations(es) == {"4", "5"}
