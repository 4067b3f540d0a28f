"""The crypto path through the embedded switch: ESP in on a data port, decrypted MH out to the controller.

`p4mob-switch -i 1@<veth> -i 254@<veth>` runs the committed pipeline; the crypto
process (`p4mob ipsec run`) sits on the other end of the CRYPTO_PORT veth. With
`local_addresses` and `esp_sas` (dst, SPI) -> to_crypto_port(sa_index) written
over P4Runtime (finsy), an ESP-protected PBU sent on port 1 must reach the
controller as a PacketIn with punt_reason MOBILITY_HEADER_DECRYPTED, that
sa_index and ingress port 1, carrying the plaintext scapy built (RFC 5213 §4.2,
draft-laganier-mext-dsmipv6-ipsec: the switch classifies, the host does ESP).
"""
from __future__ import annotations

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.ipsec import ESP, SecurityAssociation
from scapy.layers.l2 import Ether
from scapy.packet import Raw

from p4mobility.mh import BindingUpdate, encode_mh
from p4mobility.runtime.control import request
from tests.dataplane.lib import HOST_MAC, SWITCH_MAC, Dataplane
from tests.dataplane.netns import Namespace, netns_available
from tests.dataplane.p4consts import CRYPTO_PORT, P4INFO, P4JSON, PuntReason
from tests.dataplane.p4rt import P4RuntimeClient
from tests.dataplane.targets import SwitchProcess, find_binary

from .conftest import GCM_KEYMAT
from .crypto_port_lab import CryptoLab
from .test_crypto_port import write_config

MAG, LMA = "2001:db8:20::1", "2001:db8:10::1"
SA_INDEX = 1

CONFIG = f"""
[[state]]   # PBU in, MAG -> LMA (RFC 5213 §4.2), transport, AES-GCM
src = "{MAG}"
dst = "{LMA}"
spi = "0x5000"
reqid = 1
dir = "in"
aead = {{ name = "rfc4106(gcm(aes))", key-file = "gcm.key", icv-len = 128 }}

[[policy]]
dir = "in"
local = "{LMA}/128"
remote = "{MAG}/128"
proto = "mh"
remote-mh-type = 5
tmpl = {{ reqid = 1 }}
"""


@pytest.fixture(scope="module")
def switch(tmp_path_factory):
    reason = netns_available()
    if reason:
        pytest.skip(reason)
    binary, reason = find_binary("embedded")
    if binary is None:
        pytest.skip(reason)
    tmp = tmp_path_factory.mktemp("crypto-switch")
    ns = Namespace.create([1, CRYPTO_PORT])
    crypto = CryptoLab(tmp, netns=ns.name)
    try:
        crypto.start(write_config(tmp, CONFIG), ifname=ns.ports[CRYPTO_PORT].test_ifname)
        sw = SwitchProcess.start("embedded", binary, {n: p.switch_ifname for n, p in ns.ports.items()})
        try:
            p4rt = P4RuntimeClient(sw.grpc_addr, P4INFO, P4JSON)
            try:
                yield Dataplane("embedded", ns, p4rt), crypto
            finally:
                p4rt.close()
        finally:
            sw.stop()
    finally:
        crypto.close()
        ns.close()


def test_rfc5213_4_2_esp_pbu_through_switch_punted_decrypted_with_sa_index(switch):
    dp, crypto = switch
    dp.add_local_address(LMA)
    dp.add_esp_sa(LMA, 0x5000, sa_index=SA_INDEX)
    pbu = encode_mh(BindingUpdate(sequence=9, lifetime=100, ack=True, home_registration=True, proxy=True),
                    MAG, LMA)
    plain = bytes(IPv6(src=MAG, dst=LMA, nh=135, hlim=64) / Raw(pbu))
    ssa = SecurityAssociation(ESP, spi=0x5000, crypt_algo="AES-GCM", crypt_key=GCM_KEYMAT, auth_algo="NULL")
    wire = ssa.encrypt(IPv6(plain), seq_num=1)
    dp.send(1, Ether(dst=SWITCH_MAC, src=HOST_MAC) / wire)
    pin = dp.verify_packet_in()
    assert pin["punt_reason"] == PuntReason.MOBILITY_HEADER_DECRYPTED
    assert (pin["sa_index"], pin["ingress_port"]) == (SA_INDEX, 1)
    assert pin.payload[12:14] == b"\x86\xdd" and pin.payload[14:] == plain
    st = request(crypto.control, {"cmd": "status"})
    assert (st["frames_in"], st["frames_out"], st["unknown_sa"]) == (1, 1, 0)
