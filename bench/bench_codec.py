"""Mobility Header codec throughput: PMIPv6 PBU and PBA encode+decode per second.

Baseline, measured in the same run: scapy building and dissecting the same
messages (IPv6 + MIP6MH_BU/BA with the same options; scapy has no RFC 5213
option classes, so HNP/HI/ATT/Timestamp/LLA are MIP6OptUnknown with the same
bytes). Both sides compute/verify the MH checksum over the IPv6 pseudo-header.
Prints ratios ours/scapy and writes bench/results/codec.json.
"""
from __future__ import annotations

import argparse
import json
import pathlib
import platform
import sys
import time
from ipaddress import IPv6Address

from p4mobility.mh import (
    AccessTechnologyType,
    AccessTechnologyTypeOption,
    BaStatus,
    BindingAck,
    BindingUpdate,
    HandoffIndicator,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MnIdentifier,
    Timestamp,
    decode_mh,
    encode_mh,
)

MAG = IPv6Address("2001:db8:aaaa::1")
LMA = IPv6Address("2001:db8:ffff::1")
OPTIONS = (
    MnIdentifier(b"mn1@example.com"),
    HomeNetworkPrefix(64, IPv6Address("2001:db8:1:2::")),
    HandoffIndicatorOption(HandoffIndicator.ATTACHMENT_OVER_NEW_INTERFACE),
    AccessTechnologyTypeOption(AccessTechnologyType.IEEE_802_11_ABG),
    Timestamp.from_seconds(1_700_000_000.5),
    LinkLocalAddress(IPv6Address("fe80::1")),
)
PBU = BindingUpdate(sequence=7, lifetime=900, ack=True, proxy=True, options=OPTIONS)
PBA = BindingAck(status=BaStatus.ACCEPTED, sequence=7, lifetime=900, proxy=True, options=OPTIONS)


def _rate(fn, count: int) -> float:
    fn()  # warm up
    t0 = time.perf_counter()
    for _ in range(count):
        fn()
    return count / (time.perf_counter() - t0)


def ours(msg, src, dst):
    def run():
        wire = encode_mh(msg, src, dst)
        assert decode_mh(wire, src, dst) == msg

    return run


def scapy_pair(kind: str):
    from scapy.layers.inet6 import IPv6, MIP6MH_BA, MIP6MH_BU, MIP6OptMNID, MIP6OptUnknown

    def opts():
        out = [MIP6OptMNID(subtype=1, id=b"mn1@example.com")]
        for o in OPTIONS[1:]:
            out.append(MIP6OptUnknown(otype=o.type_code, olen=len(o.encode_data()), odata=o.encode_data()))
        return out

    layer = MIP6MH_BU if kind == "pbu" else MIP6MH_BA

    def run():
        if kind == "pbu":
            mh = MIP6MH_BU(seq=7, flags="AP", mhtime=900, options=opts())
        else:
            mh = MIP6MH_BA(status=0, flags="P", seq=7, mhtime=900, options=opts())
        raw = bytes(IPv6(src=str(MAG), dst=str(LMA)) / mh)
        parsed = IPv6(raw)[layer]
        assert parsed.seq == 7 and len(parsed.options) >= 6

    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--count", type=int, default=20000, help="iterations for our codec (scapy gets count/10)")
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent / "results" / "codec.json"))
    args = ap.parse_args(argv)
    n_ours, n_scapy = max(1, args.count), max(1, args.count // 10)
    result = {"bench": "codec", "python": platform.python_version(), "count": n_ours, "scapy_count": n_scapy,
              "messages": {}}
    for name, msg in (("pbu", PBU), ("pba", PBA)):
        r_ours = _rate(ours(msg, MAG, LMA), n_ours)
        r_scapy = _rate(scapy_pair(name), n_scapy)
        ratio = r_ours / r_scapy
        result["messages"][name] = {"bytes": len(encode_mh(msg, MAG, LMA)), "ours_per_s": round(r_ours),
                                    "scapy_per_s": round(r_scapy), "ratio_vs_scapy": round(ratio, 2)}
        print(f"{name.upper()} encode+decode: ours {r_ours:,.0f}/s  scapy {r_scapy:,.0f}/s  ratio x{ratio:.1f}")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
