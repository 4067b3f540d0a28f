"""Build the seed corpus of every target at run time (nothing binary is committed).

Sources: the Mobility Header catalogue of the tests (tests/mh/mh_testlib.py), the
IPsec SA pairs of esp_frame.py, ND and Mobile Prefix messages built with the
project's encoders, the LMA's table entries (switch_state.py), the bmv2 JSON
programs and small programs cut from them (pipeline_seeds.py), examples/*.toml,
and the frames of any pcap/pcapng found under the given directories (e.g.
lab-out/ from `p4mob lab`): each frame seeds the packet targets, and the MH
inside it, if any, seeds mh_decode.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import struct
from collections import defaultdict
from ipaddress import IPv6Address
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
MAX_PCAP_FRAMES = 300  # per capture file


def _testlib():
    spec = importlib.util.spec_from_file_location("mh_testlib", REPO / "tests/mh/mh_testlib.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def mh_seeds(out: dict[str, list[bytes]]) -> None:
    from p4mobility.mh import (DestinationOptionsHeader, HomeAddressOption, encode_mh,
                               encode_type2_routing_header)
    from fuzz import mh_decode
    t = _testlib()
    for msg in t.catalogue():
        wire = encode_mh(msg, mh_decode.SRC, mh_decode.DST)
        out["mh_decode"] += [b"\x01" + wire, b"\x00" + wire]
        # the same message in each encapsulation find_in_frame knows (RFC 6275 §6.3/§6.4, RFC 5555 §4.1)
        hao = DestinationOptionsHeader(135, (HomeAddressOption(t.HOA),)).encode()
        rh2 = encode_type2_routing_header(135, t.HOA)
        v6 = t.ipv6(t.MAG, t.LMA, 135, encode_mh(msg, t.MAG, t.LMA))
        v6_hao = t.ipv6(t.COA, t.HA, 60, hao + encode_mh(msg, t.HOA, t.HA))
        v6_rh2 = t.ipv6(t.HA, t.COA, 43, rh2 + encode_mh(msg, t.HA, t.HOA))
        in_udp = t.ipv4("192.0.2.1", "198.51.100.1", 17, t.udp(4191, 4191, v6_hao))
        in_41 = t.ipv4("192.0.2.1", "198.51.100.1", 41, v6)
        for sel, frame in ((0x00, t.ether(v6)), (0x04, t.ether(v6_hao)), (0x04, t.ether(v6_rh2)),
                           (0x00, t.ether(in_udp, 0x0800)), (0x01, in_41), (0x05, v6_hao)):
            out["mh_packet"].append(bytes([sel]) + frame)
            if sel & 3 == 0:
                out["switch_packet"].append(b"\x00" + frame)
        out["mh_packet"] += [b"\xf0" + hao + bytes(8), b"\xf0" + rh2]


def esp_seeds(out: dict[str, list[bytes]]) -> None:
    from p4mobility.ipsec import Protected
    from p4mobility.ipsec.portframe import CryptoDirection, encode
    from fuzz import esp_frame
    t = _testlib()
    from p4mobility.mh import BindingUpdate, DestinationOptionsHeader, HomeAddressOption, encode_mh
    bu = encode_mh(BindingUpdate(sequence=7, lifetime=100, ack=True, home_registration=True), t.HOA, t.HA)
    hao = DestinationOptionsHeader(135, (HomeAddressOption(IPv6Address(esp_frame.HOA)),)).encode()
    transport = t.ipv6(esp_frame.HOA, esp_frame.HA, 60, hao + bu)
    data = t.ipv6(esp_frame.HOA, "2001:db8:9::9", 17, t.udp(5000, 6000, bytes(32)))
    path, pairs = esp_frame.make_path()
    macs = (bytes.fromhex("020000000001"), bytes.fromhex("020000000002"))
    for k, (o, i) in enumerate(pairs):
        packet = data if k == 3 else transport  # pair 3 is the tunnel-mode SA
        out["esp_frame"].append(b"\xff" + bytes([k]) + packet)
        out["esp_frame"].append(encode(*macs, o, CryptoDirection.ENCRYPT, 1, packet))
        r = path.process_outbound(packet, o, 0.0)
        if isinstance(r, Protected):
            frame = encode(*macs, i, CryptoDirection.DECRYPT, 2, r.packet)
            out["esp_frame"].append(frame)
            out["switch_packet"].append(b"\x01" + macs[0] + macs[1] + b"\x86\xdd" + r.packet)
            wrapped = t.ipv4("192.0.2.1", "198.51.100.1", 17, t.udp(4191, 4191, r.packet))
            out["esp_frame"].append(encode(*macs, i, CryptoDirection.DECRYPT, 2, wrapped))


def nd_seeds(out: dict[str, list[bytes]]) -> None:
    from ipaddress import IPv6Network
    from p4mobility.nd.mobile_prefix import (MobilePrefixAdvertisement, MobilePrefixSolicitation, PrefixOption,
                                             encode_mobile_prefix)
    from fuzz import nd_decode
    mac = bytes.fromhex("020000000009")
    ll = IPv6Address("fe80::9")
    for src, dst, icmp in (
        (ll, IPv6Address("ff02::2"), struct.pack("!BBHI", 133, 0, 0, 0) + b"\x01\x01" + mac),
        (IPv6Address("::"), IPv6Address("ff02::2"), struct.pack("!BBHI", 133, 0, 0, 0)),
        (ll, IPv6Address("ff02::1:ff00:1"), struct.pack("!BBHI", 135, 0, 0, 0)
         + IPv6Address("2001:db8:100::1").packed + b"\x01\x01" + mac),
        (IPv6Address("::"), IPv6Address("ff02::1:ff00:1"), struct.pack("!BBHI", 135, 0, 0, 0)
         + IPv6Address("2001:db8:100::1").packed),
    ):
        ip = struct.pack("!IHBB", 0x60000000, len(icmp), 58, 255) + src.packed + dst.packed + icmp
        frame = bytes.fromhex("333300000002") + mac + b"\x86\xdd" + ip
        out["nd_decode"].append(b"\x00" + nd_decode.fix_frame_checksum(frame))
        out["switch_packet"].append(b"\x00" + nd_decode.fix_frame_checksum(frame))
    s, d = nd_decode.SRC, nd_decode.DST
    out["nd_decode"].append(b"\x01" + encode_mobile_prefix(MobilePrefixSolicitation(7), s, d))
    out["nd_decode"].append(b"\x01" + encode_mobile_prefix(MobilePrefixAdvertisement(7, (
        PrefixOption(IPv6Network("2001:db8:1::/64"), 3600, 1800, True, True, False),
        PrefixOption(IPv6Network("2001:db8:1::1/128"), 3600, 1800, False, False, True))), s, d))


def switch_seeds(out: dict[str, list[bytes]]) -> None:
    from finsy.proto import p4r
    from fuzz import pipeline_seeds, switch_pipeline
    from fuzz.switch_state import lma_updates
    ups = lma_updates()
    req = p4r.WriteRequest(device_id=1, updates=ups)
    out["switch_p4rt"].append(b"\x00" + req.SerializeToString())
    req.election_id.low = 1
    out["switch_p4rt"].append(b"\x04" + req.SerializeToString())
    for u in ups:
        out["switch_p4rt"].append(b"\x02" + u.SerializeToString())
        for ty in (p4r.Update.MODIFY, p4r.Update.DELETE):
            v = p4r.Update()
            v.CopyFrom(u)
            v.type = ty
            out["switch_p4rt"].append(b"\x02" + v.SerializeToString())
        read = p4r.ReadRequest(device_id=1)
        ent = read.entities.add()
        ent.CopyFrom(u.entity)
        out["switch_p4rt"].append(b"\x01" + read.SerializeToString())
        which = u.entity.WhichOneof("entity")
        wild = p4r.ReadRequest(device_id=1)
        getattr(wild.entities.add(), which).SetInParent()
        out["switch_p4rt"].append(b"\x01" + wild.SerializeToString())
        out["switch_p4rt"].append(b"\x05" + wild.SerializeToString())
    cfg = p4r.SetForwardingPipelineConfigRequest(device_id=1, action=1)
    cfg.config.p4_device_config = b'{"header_types": []}'
    cfg.config.p4info.pkg_info.arch = "v1model"
    out["switch_p4rt"].append(b"\x03" + cfg.SerializeToString())
    for i, path in enumerate(switch_pipeline.json_paths()):
        blob = json.dumps(json.loads(path.read_bytes()), separators=(",", ":")).encode()
        out["switch_pipeline"].append(bytes([i + 1]) + blob)
        for j, small in enumerate(pipeline_seeds.small_programs(json.loads(blob))):
            # the stripped whole program keeps its P4Info; a slice has fewer tables than it names
            out["switch_pipeline"].append(bytes([i + 1 if j == 0 else 0]) + json.dumps(small, separators=(",", ":")).encode())


def config_seeds(out: dict[str, list[bytes]]) -> None:
    from fuzz import config_toml
    for f in sorted(config_toml.EXAMPLES.glob("*.toml")):
        out["config_toml"].append(bytes([config_toml.loader_of(f.name)]) + f.read_bytes())


def control_seeds(out: dict[str, list[bytes]]) -> None:
    for req in ({"cmd": "status"}, {"cmd": "show", "what": "bindings"}, {"cmd": "show", "what": "counters"},
                {"cmd": "show", "what": "sas"}, {"cmd": "entries"}, {"cmd": "nope", "x": [1, {"y": None}]}):
        out["control_request"].append(json.dumps(req).encode() + b"\n")


def pcap_seeds(out: dict[str, list[bytes]], dirs: list[Path]) -> int:
    """Frames of every capture under ``dirs``; returns how many were used."""
    from p4mobility.mh.extract import PacketError, find_in_frame
    from p4mobility.mh.pcap import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW, PcapError, read_frames
    sel = {LINKTYPE_ETHERNET: 0, LINKTYPE_RAW: 1, LINKTYPE_LINUX_SLL: 2}
    used = 0
    for d in dirs:
        for f in sorted(Path(d).rglob("*.pcap*")) if Path(d).is_dir() else []:
            try:
                with open(f, "rb") as fh:
                    for n, fr in enumerate(read_frames(fh)):
                        if n >= MAX_PCAP_FRAMES:
                            break
                        if fr.linktype not in sel:
                            continue
                        used += 1
                        out["mh_packet"].append(bytes([sel[fr.linktype] | 4]) + fr.data)
                        if fr.linktype == LINKTYPE_ETHERNET:
                            out["switch_packet"].append(b"\x00" + fr.data)
                            out["nd_decode"].append(b"\x00" + fr.data)
                        try:
                            found = find_in_frame(fr.data, fr.linktype)
                        except PacketError:
                            continue
                        if found is not None:
                            out["mh_decode"].append(b"\x00" + found.mh)
            except (OSError, PcapError):
                continue
    return used


def build(corpus_root: Path, pcap_dirs: list[Path]) -> dict[str, int]:
    """Write every target's seeds under ``corpus_root/<target>/``; returns counts."""
    out: dict[str, list[bytes]] = defaultdict(list)
    for make in (mh_seeds, esp_seeds, nd_seeds, switch_seeds, config_seeds, control_seeds):
        make(out)
    out["pcap_frames"] = [b""] * pcap_seeds(out, pcap_dirs)
    counts = {}
    for target, seeds in out.items():
        if target == "pcap_frames":
            counts[target] = len(seeds)
            continue
        d = corpus_root / target
        d.mkdir(parents=True, exist_ok=True)
        for s in seeds:
            (d / f"seed-{hashlib.sha1(s).hexdigest()[:16]}").write_bytes(s)
        counts[target] = len(set(seeds))
    return counts
