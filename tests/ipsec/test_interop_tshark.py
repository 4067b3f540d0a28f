"""Interop with tshark (Wireshark's ESP dissector, spec digest §9).

Our ESP packets are written to a pcap; tshark decrypts them with the records
from ``export_wireshark_esp_sa``, checks the ICV and dissects the Mobility
Header inside: a BU in transport mode (HAO, SA named by the HoA) and a
tunnelled HoTI (RFC 3776 §5: HoTI/HoT through tunnel-mode ESP), for AES-GCM,
AES-CBC+HMAC-SHA-256-128 and NULL+HMAC. The expected field values come from
the MH codec's input and scapy, never from our ESP code.
"""
from __future__ import annotations

import subprocess

import pytest
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import wrpcap

from p4mobility.ipsec import export_wireshark_esp_sa
from p4mobility.lab.tools import find_tool
from p4mobility.mh import HomeTestInit, encode_mh
from tests.tooling import needs_tools

from .conftest import COA, HA, HOA, bu_packet, path_pair

TSHARK = find_tool("tshark")
pytestmark = [pytest.mark.tshark, needs_tools("tshark")]

ETH = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
COOKIE = bytes.fromhex("0102030405060708")


def _tshark(pcap, records: str, fields: list[str]) -> list[list[str]]:
    args = [TSHARK, "-n", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE",
            "-o", "esp.enable_authentication_check:TRUE"]
    for rec in records.splitlines():
        args += ["-o", f"uat:esp_sa:{rec}"]
    args += ["-T", "fields", "-E", "separator=|"] + [a for f in fields for a in ("-e", f)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=120, check=True).stdout
    return [line.split("|") for line in out.splitlines()]


def test_rfc3776_bu_transport_decrypted_by_tshark(algo, tmp_path):
    path, out, _ = path_pair(algo)
    seqs = [11, 12, 13]
    wires = [path.process_outbound(bu_packet(s), out, 0.0).packet for s in seqs]
    pcap = tmp_path / "bu.pcap"
    wrpcap(str(pcap), [ETH / IPv6(w) for w in wires])
    rows = _tshark(pcap, export_wireshark_esp_sa([path.sad.get(out)]),
                   ["esp.spi", "esp.sequence", "esp.icv_good", "esp.protocol", "mip6.mhtype",
                    "mip6.bu.seqnr"])
    assert len(rows) == 3
    for (spi, seq, good, nh, mhtype, bu_seq), want_seq, n in zip(rows, seqs, (1, 2, 3)):
        assert int(spi, 0) == 0x1000 and int(seq, 0) == n
        assert good in ("1", "True")  # ICV verified by Wireshark
        assert int(nh, 0) == 135 and int(mhtype, 0) == 5 and int(bu_seq, 0) == want_seq


def test_rfc3776_5_tunnelled_hoti_decrypted_by_tshark(algo, tmp_path):
    path, out, _ = path_pair(algo, src=COA, dst=HA, mode="tunnel")
    inner = bytes(IPv6(src=HOA, dst="2001:db8:9::9", nh=135)
                  / Raw(encode_mh(HomeTestInit(COOKIE), HOA, "2001:db8:9::9")))
    wire = path.process_outbound(inner, out, 0.0).packet
    pcap = tmp_path / "hoti.pcap"
    wrpcap(str(pcap), [ETH / IPv6(wire)])
    rows = _tshark(pcap, export_wireshark_esp_sa([path.sad.get(out)]),
                   ["esp.icv_good", "esp.protocol", "ipv6.src", "mip6.mhtype", "mip6.hoti.cookie"])
    (good, nh, srcs, mhtype, cookie), = rows
    assert good in ("1", "True") and int(nh, 0) == 41
    assert srcs.split(",") == [COA, HOA]  # outer CoA, inner HoA
    assert int(mhtype, 0) == 1 and int(cookie.replace(":", ""), 16) == int.from_bytes(COOKIE, "big")


def test_rfc3776_3_4_tunnel_sa_found_by_spi_after_the_coa_changed(tmp_path):
    """A tunnel-mode SA outlives a move: on the wire the outer source is the new CoA, not the one
    the SA was made with, and tshark still decrypts it with the exported record (any address)."""
    path, out, _ = path_pair("gcm", src=COA, dst=HA, mode="tunnel")
    inner = bytes(IPv6(src=HOA, dst="2001:db8:9::9", nh=135)
                  / Raw(encode_mh(HomeTestInit(COOKIE), HOA, "2001:db8:9::9")))
    wire = bytearray(path.process_outbound(inner, out, 0.0).packet)
    moved = "2001:db8:77::100"
    wire[8:24] = bytes(IPv6(src=moved))[8:24]  # the outer source after the move
    pcap = tmp_path / "moved.pcap"
    wrpcap(str(pcap), [ETH / IPv6(bytes(wire))])
    (good, srcs, mhtype), = _tshark(pcap, export_wireshark_esp_sa([path.sad.get(out)]),
                                    ["esp.icv_good", "ipv6.src", "mip6.mhtype"])
    assert good in ("1", "True") and srcs.split(",") == [moved, HOA] and int(mhtype, 0) == 1


def test_tshark_rejects_tampered_icv(tmp_path):
    """Sanity of the oracle: a flipped ICV byte is reported bad by tshark."""
    path, out, _ = path_pair("cbc")
    wire = bytearray(path.process_outbound(bu_packet(), out, 0.0).packet)
    wire[-1] ^= 1
    pcap = tmp_path / "bad.pcap"
    wrpcap(str(pcap), [ETH / IPv6(bytes(wire))])
    (row,) = _tshark(pcap, export_wireshark_esp_sa([path.sad.get(out)]), ["esp.icv_good", "esp.icv_bad"])
    assert row[0] in ("0", "False") and row[1] in ("1", "True")


def test_p4mob_export_wireshark_uat_file_used_by_tshark(tmp_path):
    """End to end: TOML + key file -> `p4mob ipsec export-wireshark -o <profile>/esp_sa` -> tshark."""
    import os
    import sys

    from p4mobility.ipsec.config import load_config

    keys = tmp_path / "k.gcm"
    keys.write_text(bytes(range(20)).hex())
    keys.chmod(0o600)
    conf = tmp_path / "ipsec.toml"
    conf.write_text(f'[[state]]\nsrc = "{HOA}"\ndst = "{HA}"\nspi = 0x4242\ndir = "out"\n'
                    'aead = { name = "rfc4106(gcm(aes))", key-file = "k.gcm" }\n')
    profile = tmp_path / "cfg" / "wireshark"
    profile.mkdir(parents=True)
    subprocess.run([sys.executable, "-m", "p4mobility.cli", "ipsec", "export-wireshark", str(conf),
                    "-o", str(profile / "esp_sa")], check=True, timeout=60)
    (sa,) = load_config(conf).sas
    from p4mobility.ipsec import CryptoPath, Sad

    sad = Sad()
    idx = sad.add(sa, 0.0)
    wire = CryptoPath(sad).process_outbound(bu_packet(21), idx, 0.0).packet
    pcap = tmp_path / "bu.pcap"
    wrpcap(str(pcap), [ETH / IPv6(wire)])
    env = dict(os.environ, XDG_CONFIG_HOME=str(tmp_path / "cfg"), HOME=str(tmp_path))
    out = subprocess.run([TSHARK, "-n", "-r", str(pcap), "-o", "esp.enable_encryption_decode:TRUE",
                          "-o", "esp.enable_authentication_check:TRUE", "-T", "fields", "-E", "separator=|",
                          "-e", "esp.icv_good", "-e", "mip6.bu.seqnr"],
                         capture_output=True, text=True, timeout=120, check=True, env=env).stdout
    good, seqnr = out.strip().split("|")
    assert good in ("1", "True") and int(seqnr, 0) == 21
