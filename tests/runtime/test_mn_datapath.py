"""The daemon's packet path without sockets (runtime/mn_datapath.py): the MN's
and the HA's IPsec files (the same generator as tests/mn), real ESP both ways,
the SA chosen by the SPI deciding signalling or data (draft-laganier req. 3),
and every refusal counted under its reason."""
from __future__ import annotations

from ipaddress import IPv6Address

import pytest
from scapy.layers.inet6 import ICMPv6EchoRequest, IPv6
from scapy.packet import Raw

from p4mobility.ipsec import CryptoPath, Protected
from p4mobility.ipsec.config import load_config
from p4mobility.mh import BindingAck, BindingUpdate, encode_mh
from p4mobility.mh.exthdr import encode_type2_routing_header
from p4mobility.mip import BaReceived, Encapsulation, MnConfig, Path, SendMh, TunnelChanged
from p4mobility.mip.data_tunnels import DataTunnels
from p4mobility.runtime.mn_datapath import MnDatapath
from p4mobility.runtime.seqstore import SequenceStore
from tests.mn.mnlab import CN, COA_A, HA, HOA, SPI, _ipsec_toml

PATH = Path("acc1", Encapsulation.IPV6, COA_A, HA)


@pytest.fixture
def sides(tmp_path):
    (tmp_path / "keys").mkdir()
    for key in SPI:
        p = tmp_path / "keys" / f"{key}.key"
        p.write_text(bytes(range(SPI[key] & 0xFF, (SPI[key] & 0xFF) + 20)).hex())
        p.chmod(0o600)

    def make(payload: bool = True):
        out = []
        for side in ("mn", "ha"):
            (tmp_path / f"{side}.toml").write_text(_ipsec_toml(side, payload))
            cfg = load_config(tmp_path / f"{side}.toml")
            out.append(CryptoPath(cfg.build_sad(0.0), cfg.spd))
        tunnels = DataTunnels()
        store = SequenceStore(tmp_path / "esp")
        store.attach(out[0].sad)
        dp = MnDatapath(MnConfig(HOA, HA), out[0], tunnels, store)
        return dp, out[1], tunnels
    return make


def echo(src=HOA, dst=CN) -> bytes:
    return bytes(IPv6(src=str(src), dst=str(dst)) / ICMPv6EchoRequest(id=1, seq=1))


def test_data_needs_a_home_address_source_and_a_tunnel(sides):
    dp, _, tunnels = sides()
    assert dp.from_tunnel_interface(echo(), 1.0) is None and dp.counters["drop_no_tunnel"] == 1
    tunnels.apply(TunnelChanged(0, PATH, None, "registered"))
    assert dp.from_tunnel_interface(echo(src=COA_A), 1.0) is None
    assert dp.counters["drop_not_from_home_address"] == 1
    iface, wire = dp.from_tunnel_interface(echo(), 1.0)
    assert iface == "acc1" and IPv6(wire).src == str(COA_A)  # RFC 3776 §3.4


def test_rfc3776_4_1_a_bu_never_leaves_in_clear(sides):
    dp, _, _ = sides()
    bu = BindingUpdate(sequence=5, lifetime=100, ack=True, home_registration=True)
    send = SendMh(bu, PATH, COA_A, HA, HOA, True, (0,))
    iface, wire = dp.signalling(send, 1.0)
    assert iface == "acc1" and IPv6(wire).src == str(COA_A)
    dp.crypto.spd.entries.clear()  # nothing selects the BU any more: the SPD discards it
    assert dp.signalling(send, 1.0) is None and dp.counters["drop_bu_not_protected"] == 1


def test_draft_laganier_req3_the_sa_decides_signalling_or_data(sides):
    dp, ha, tunnels = sides()
    tunnels.apply(TunnelChanged(0, PATH, None, "registered"))
    local = {COA_A}
    ba = BindingAck(0, 5, 25)
    clear = bytes(IPv6(src=str(HA), dst=str(COA_A), nh=43)
                  / Raw(encode_type2_routing_header(135, HOA) + encode_mh(ba, HA, HOA)))
    sealed = ha.protect(clear, 1.0)
    assert isinstance(sealed, Protected)
    got = dp.from_access(sealed.packet, local, 1.0)
    assert isinstance(got, BaReceived) and got.message == ba and got.dst == HOA
    reply = bytes(IPv6(src=str(CN), dst=str(HOA)) / ICMPv6EchoRequest(id=2))
    esp = ha.protect(reply, 1.0).packet
    got = dp.from_access(esp[:24] + COA_A.packed + esp[40:], local, 1.0)  # requirement 1 at the HA
    assert got == reply
    assert dp.from_access(sealed.packet, {IPv6Address("2001:db8:b::2")}, 1.0) is None
    assert dp.counters["drop_not_to_a_coa"] == 1
    assert dp.from_access(sealed.packet, local, 1.0) is None  # the same BA again
    assert dp.counters["drop_ipsec_in"] == 1  # RFC 4303 §3.4.3: replayed


def test_clear_data_only_with_an_inbound_bypass(sides):
    for payload, accepted in ((False, True), (True, False)):
        dp, _, _ = sides(payload)
        inner = bytes(IPv6(src=str(CN), dst=str(HOA)) / ICMPv6EchoRequest())
        wire = bytes(IPv6(src=str(HA), dst=str(COA_A), nh=41) / Raw(inner))
        assert (dp.from_access(wire, {COA_A}, 1.0) == inner) is accepted
        assert dp.counters["drop_clear_refused"] == (0 if accepted else 1)  # RFC 4301 §5.2


def test_rfc3776_5_2_3_a_solicitation_leaves_only_in_a_transport_mode_sa(sides):
    """This file has no ICMPv6 146 entry: the host-wide payload entry (tunnel mode) would take the
    solicitation, which §5.2.3 puts in transport mode, so it does not leave."""
    from p4mobility.mip import SendPrefixSolicitation
    from p4mobility.nd.mobile_prefix import MobilePrefixSolicitation

    from p4mobility.ipsec.spd import Mode
    from p4mobility.mip.frames import solicitation_packet

    dp, _, _ = sides()
    send = SendPrefixSolicitation(MobilePrefixSolicitation(7), PATH, COA_A, HA, HOA, True)
    by_payload = dp.crypto.protect(solicitation_packet(send), 1.0)
    assert isinstance(by_payload, Protected) and dp.crypto.sad.get(by_payload.sa_index).mode is Mode.TUNNEL
    assert dp.signalling(send, 1.0) is None
    assert dp.counters["drop_mps_not_protected"] == 1 and dp.counters["mps_sent"] == 0
