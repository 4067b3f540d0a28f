"""`p4mob mh decode|encode` through the installed console script.

The pcap is written with scapy (not our writer) and read by both our CLI and
tshark; the two must agree on which frames hold which message. Bad input must
give exit status 2 (or 1 for undecodable messages) and never a traceback."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import xml.etree.ElementTree as ET
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from p4mobility.mh import (
    BindingAck,
    BindingUpdate,
    HomeAddressOption,
    Type2RoutingHeader,
    decode_mh,
    encode_destination_options_header,
    encode_mh,
    message_to_json,
)
from tests.mh.mh_testlib import COA, HA, HOA, LMA, MAG, TSHARK, ether, ipv4, ipv6, pba, pbu, udp
from tests.tooling import needs_tools

P4MOB = Path(sys.executable).with_name("p4mob")


def run(*args: str, stdin: str | None = None) -> subprocess.CompletedProcess:
    if not P4MOB.exists():
        pytest.skip(f"console script {P4MOB} not installed (pip install -e .)")
    proc = subprocess.run([str(P4MOB), "mh", *args], input=stdin, capture_output=True, text=True, timeout=60)
    assert "Traceback" not in proc.stderr, proc.stderr
    return proc


def lines(proc) -> list[dict]:
    return [json.loads(x) for x in proc.stdout.splitlines() if x.strip()]


def test_decode_hex_argument_prints_json():
    wire = encode_mh(pbu(), MAG, LMA)
    proc = run("decode", wire.hex())
    assert proc.returncode == 0
    assert lines(proc) == [json.loads(json.dumps(message_to_json(pbu())))]


def test_decode_tolerates_colons_and_whitespace_and_verifies_checksum_when_told():
    wire = encode_mh(pba(), LMA, MAG)
    spaced = ":".join(f"{x:02x}" for x in wire[:10]) + " " + wire[10:].hex()
    assert run("decode", spaced, "--src", str(LMA), "--dst", str(MAG)).returncode == 0
    bad = run("decode", spaced, "--src", str(HA), "--dst", str(MAG))  # (swapping would sum the same)
    assert bad.returncode == 1
    [err] = lines(bad)
    assert err["error"] == "MhChecksumError" and err["action"] == "silent_discard"


def test_rfc6275_9_2_decode_stdin_one_per_line_reports_actions():
    good = encode_mh(BindingUpdate(1, 2)).hex()
    unknown_type = "3b00630000000000"
    bad_proto = "0600000000000000"
    proc = run("decode", stdin=f"{good}\n\n{unknown_type}\nzz-not-hex\n{bad_proto}\n")
    assert proc.returncode == 1
    out = lines(proc)
    assert out[0]["type"] == "binding_update"
    assert out[1]["action"] == "binding_error" and out[1]["be_status"] == 2 and out[1]["line"] == 3
    assert out[2] == {"error": "bad hex", "line": 4}
    assert out[3]["action"] == "icmp_parameter_problem" and out[3]["icmp_pointer"] == 0


def test_encode_round_trips_through_decode():
    doc = message_to_json(pbu())
    proc = run("encode", json.dumps(doc), "--src", str(MAG), "--dst", str(LMA))
    assert proc.returncode == 0 and proc.stderr == ""
    wire = bytes.fromhex(proc.stdout.strip())
    assert decode_mh(wire, MAG, LMA) == pbu()
    # default addresses are :: and say so
    proc2 = run("encode", stdin=json.dumps(doc, indent=2))
    assert "::" in proc2.stderr
    assert decode_mh(bytes.fromhex(proc2.stdout.strip()), IPv6Address("::"), IPv6Address("::")) == pbu()


def test_encode_several_lines_from_stdin():
    docs = [message_to_json(BindingUpdate(i, 1)) for i in range(3)]
    proc = run("encode", stdin="\n".join(json.dumps(d) for d in docs) + "\n")
    assert [decode_mh(bytes.fromhex(h)).sequence for h in proc.stdout.split()] == [0, 1, 2]


@pytest.mark.parametrize("args,stdin", [
    (("decode", "xyz"), None),
    (("decode", "--pcap", "/nonexistent/file.pcap"), None),
    (("decode", "--pcap", "/etc/hostname"), None),
    (("decode", "00", "--src", "::1"), None),
    (("encode", "not json"), None),
    (("encode",), ""),
    (("encode", '{"type": "binding_update"}'), None),
    (("encode", '{"type": "binding_update", "sequence": 1, "lifetime_seconds": 4, "bogus": 1}'), None),
    (("encode", '{"type": "binding_update", "sequence": 1, "lifetime_seconds": 5}'), None),
    (("encode", '{"type": "binding_update", "sequence": 99999, "lifetime_seconds": 4}'), None),
    (("encode", '{"type": "binding_ack", "status": "NO_SUCH", "sequence": 1, "lifetime_seconds": 4}'), None),
    (("encode", '[1, 2]'), None),
    (("encode", '{"type":"binding_update","sequence":1,"lifetime_seconds":4,"options":[{"type":"hnp"}]}'), None),
    (("encode", '{}', "--src", "nope"), None),
])
def test_bad_input_exit_2_clean_message(args, stdin):
    proc = run(*args, stdin=stdin)
    assert proc.returncode == 2
    assert "p4mob: error:" in proc.stderr or "usage:" in proc.stderr
    assert proc.stdout == ""


def _frames() -> list[tuple[bytes, str | None]]:
    """(ethernet frame, expected message type name or None) for the capture test."""
    out = []
    out.append((ether(ipv6(MAG, LMA, 135, encode_mh(pbu(), MAG, LMA))), "binding_update"))
    # MN away from home: IPv6{CoA->HA} | DestOpt{HAO=HoA} | MH BU, checksum over the HoA
    bu = BindingUpdate(11, 15, ack=True, home_registration=True)
    hao = encode_destination_options_header(135, [HomeAddressOption(HOA)])
    out.append((ether(ipv6(COA, HA, 60, hao + encode_mh(bu, HOA, HA))), "binding_update"))
    # BA back: IPv6{HA->CoA} | RH2{HoA} | MH BA, checksum over the HoA as destination
    rh2 = Type2RoutingHeader(135, HOA).encode()
    out.append((ether(ipv6(HA, COA, 43, rh2 + encode_mh(BindingAck(0, 11, 15), HA, HOA))), "binding_ack"))
    # DSMIPv6 (RFC 5555): IPv4/UDP 4191 carrying IPv6 with the MH
    inner = ipv6(HOA, HA, 135, encode_mh(BindingUpdate(12, 15, ack=True, home_registration=True), HOA, HA))
    out.append((ether(ipv4("192.0.2.10", "203.0.113.1", 17, udp(4191, 4191, inner)), 0x0800), "binding_update"))
    # IPv6-in-IPv4 (protocol 41)
    out.append((ether(ipv4("192.0.2.10", "203.0.113.1", 41, inner), 0x0800), "binding_update"))
    # wrong checksum: addresses swapped in the pseudo-header... silently discarded
    out.append((ether(ipv6(MAG, LMA, 135, encode_mh(pbu(8), MAG, HA))), "error"))
    # unrelated UDP: nothing
    out.append((ether(ipv4("192.0.2.10", "192.0.2.53", 17, udp(5353, 53, b"\0" * 12)), 0x0800), None))
    return out


def _write_pcap(path: Path, frames: list[bytes]) -> None:
    from scapy.utils import RawPcapWriter

    w = RawPcapWriter(str(path), linktype=1)
    for f in frames:
        w.write(f)
    w.close()


def test_decode_pcap_finds_mh_in_every_encapsulation(tmp_path):
    frames = _frames()
    path = tmp_path / "mh.pcap"
    _write_pcap(path, [f for f, _ in frames])
    proc = run("decode", "--pcap", str(path))
    assert proc.returncode == 1  # the bad-checksum frame
    out = {o["frame"]: o for o in lines(proc)}
    expected = {i: kind for i, (_, kind) in enumerate(frames, 1) if kind}
    assert set(out) == set(expected)
    for i, kind in expected.items():
        if kind == "error":
            assert out[i]["error"] == "MhChecksumError" and out[i]["action"] == "silent_discard"
        else:
            assert out[i]["message"]["type"] == kind
    assert out[2]["home_address"] == str(HOA) and out[2]["ip_src"] == str(COA)
    assert out[3]["message"]["sequence"] == 11
    assert out[4]["encapsulation"] == "ipv6-in-udp4191"
    assert out[5]["encapsulation"] == "ipv6-in-ipv4"


@pytest.mark.tshark
@needs_tools("tshark")
def test_decode_pcap_agrees_with_tshark(tmp_path):
    frames = [f for f, kind in _frames() if kind not in ("error",)]
    path = tmp_path / "mh.pcap"
    _write_pcap(path, frames)
    ours = {o["frame"]: o["message"] for o in lines(run("decode", "--pcap", str(path)))}
    pdml = subprocess.run([TSHARK, "-r", str(path), "-T", "pdml", "-d", "udp.port==4191,ipv6"],
                          capture_output=True, text=True, check=True, timeout=120).stdout
    theirs = {}
    for n, pkt in enumerate(ET.fromstring(pdml).findall("packet"), 1):
        for proto in pkt.iter("proto"):
            if proto.get("name") == "mipv6":
                f = {x.get("name"): x.get("show") for x in proto.iter("field") if x.get("name")}
                theirs[n] = f
    assert set(ours) == set(theirs)
    names = {"5": "binding_update", "6": "binding_ack"}
    for n, f in theirs.items():
        assert ours[n]["type"] == names[f["mip6.mhtype"]]
        seq = f.get("mip6.bu.seqnr") or f.get("mip6.ba.seqnr")
        assert ours[n]["sequence"] == int(seq)
        life = f.get("mip6.bu.lifetime") or f.get("mip6.ba.lifetime")
        assert ours[n]["lifetime_seconds"] == 4 * int(life)


def test_decode_pcapng_and_linux_cooked(tmp_path):
    from scapy.layers.l2 import CookedLinux
    from scapy.utils import PcapNgWriter, RawPcapWriter

    wire = ipv6(MAG, LMA, 135, encode_mh(pbu(), MAG, LMA))
    ng = tmp_path / "mh.pcapng"
    w = PcapNgWriter(str(ng))
    from scapy.layers.l2 import Ether
    w.write(Ether(ether(wire)))
    w.close()
    out = lines(run("decode", "--pcap", str(ng)))
    assert [o["message"]["type"] for o in out] == ["binding_update"]
    sll = tmp_path / "sll.pcap"
    w = RawPcapWriter(str(sll), linktype=113)
    w.write(bytes(CookedLinux(proto=0x86DD)) + wire)
    w.close()
    assert lines(run("decode", "--pcap", str(sll)))[0]["message"]["sequence"] == 7
    # big-endian classic pcap, raw IPv6 link type, written by hand
    be = tmp_path / "be.pcap"
    be.write_bytes(struct.pack(">IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, 101)
                   + struct.pack(">IIII", 1, 0, len(wire), len(wire)) + wire)
    assert lines(run("decode", "--pcap", str(be)))[0]["message"]["type"] == "binding_update"


def test_truncated_pcap_reports_cleanly(tmp_path):
    path = tmp_path / "cut.pcap"
    _write_pcap(path, [f for f, _ in _frames()[:2]])
    data = path.read_bytes()
    path.write_bytes(data[:-10])
    proc = run("decode", "--pcap", str(path))
    assert proc.returncode == 2
    assert "truncated" in proc.stderr
    assert [o["frame"] for o in lines(proc)] == [1]  # what was whole is still printed
    os.chmod(path, 0o644)
