"""draft-laganier-mext-dsmipv6-ipsec requirement 3 with the project's real
IPsec core: after a move the BU leaves from the new CoA, protected by the
transport-mode BU SA (its own SPI), while data, protected by the tunnel-mode
payload SA (another SPI), keeps the old tunnel until the BA accepts the new
CoA. The SPD is host-wide (requirement 2): MH type 5 first, the home-address
payload entry last, no tunnel-interface selector. The HA end of the BU SA
decrypts the BU (HAO swapped before the SA check, RFC 3776 §4.3)."""
from __future__ import annotations

import struct

from scapy.layers.inet6 import UDP, IPv6

from p4mobility.ipsec import (AEAD_GCM, Accepted, Action, Algo, CryptoPath, Dir, Mode, Protected, Sa, Sad,
                              Selector, Spd, SpdEntry, Template)
from p4mobility.mh import AlternateCareofAddress, BindingUpdate, decode_mh
from p4mobility.mip import AddressAdded, AddressRemoved, TunnelChanged
from p4mobility.mip.frames import bu_packet, wrap_signalling
from tests.mip.mip_helpers import COA_A, COA_A2, HA, HOA, T0, ba, bu_of, make_mn, registered, the

BU_SPI, DATA_SPI = 0x1000, 0x2000
KEY_BU = bytes(range(20))
KEY_DATA = bytes(range(100, 120))


def mn_crypto() -> CryptoPath:
    sad = Sad()
    sad.add(Sa(BU_SPI, str(HOA), str(HA), dir="out", reqid=1, aead=Algo(AEAD_GCM, KEY_BU)), 0.0)
    sad.add(Sa(DATA_SPI, str(COA_A), str(HA), dir="out", mode="tunnel", reqid=3,
               aead=Algo(AEAD_GCM, KEY_DATA)), 0.0)
    spd = Spd([
        SpdEntry(Dir.OUT, Selector(local=f"{HOA}/128", remote=f"{HA}/128", proto=135, local_mh_type=5),
                 Action.PROTECT, Template(1, Mode.TRANSPORT)),
        SpdEntry(Dir.OUT, Selector(local=f"{HOA}/128"), Action.PROTECT, Template(3, Mode.TUNNEL)),  # last
    ])
    return CryptoPath(sad, spd)


def ha_crypto() -> CryptoPath:
    sad = Sad()
    sad.add(Sa(BU_SPI, str(HOA), str(HA), dir="in", reqid=1, aead=Algo(AEAD_GCM, KEY_BU)), 0.0)
    return CryptoPath(sad)


def esp_spi(packet: bytes) -> int:
    """SPI of the ESP header after the IPv6 header and any Destination Options header."""
    nh, off = packet[6], 40
    while nh == 60:
        nh, off = packet[off], off + (packet[off + 1] + 1) * 8
    assert nh == 50
    return struct.unpack_from("!I", packet, off)[0]


def test_draft_laganier_req3_bu_and_data_leave_by_different_sas_and_paths():
    mn = make_mn()
    registered(mn, "eth0", COA_A)
    crypto = mn_crypto()
    mn.handle(AddressAdded("eth0", COA_A2), T0 + 10)
    send = bu_of(mn.handle(AddressRemoved("eth0", COA_A), T0 + 10))

    bu = crypto.protect(bu_packet(send), T0 + 10)
    assert isinstance(bu, Protected)
    on_wire = wrap_signalling(send.path, bu.packet)
    assert esp_spi(on_wire) == BU_SPI  # the BU SA (transport, MH type 5)
    assert IPv6(on_wire).src == str(COA_A2)  # from the new CoA, HAO outside ESP

    data = bytes(IPv6(src=str(HOA), dst="2001:db8:c::1") / UDP(sport=5000, dport=6000) / b"payload")
    sealed = crypto.protect(data, T0 + 10)
    assert isinstance(sealed, Protected) and esp_spi(sealed.packet) == DATA_SPI
    tunnel = mn.bindings()[0].tunnel
    assert tunnel.coa == COA_A  # data still on the old tunnel: no BA yet

    # the HA's end of the BU SA opens it: the home address selected the SA, the CoA rides inside
    opened = ha_crypto().process_inbound(on_wire, None, T0 + 10)
    assert isinstance(opened, Accepted)
    inner = IPv6(opened.packet)
    mh = decode_mh(bytes(inner["IPv6ExtHdrDestOpt"].payload), HOA, HA)
    assert isinstance(mh, BindingUpdate) and mh.option(AlternateCareofAddress).address == COA_A2

    moved = the(mn.handle(ba(send), T0 + 10.2), TunnelChanged)
    assert (moved.previous.coa, moved.tunnel.coa) == (COA_A, COA_A2)  # data switches only now
