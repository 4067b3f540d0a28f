"""bmv2 packets/s of mobility.p4 (downlink encap, uplink decap) vs a minimal
IPv6 router (bench/p4/router.p4), on the same veths, in the same run.

Rule: each case keeps a bounded window of frames in flight (no queue drops),
counts frames out of the switch and reports frames/s; ratios are against the
router baseline measured here. Goal: ratio >= 0.8. Writes
bench/results/bench_bmv2.json. Needs root and bmv2 (+ p4c to build the
baseline when bench/p4/build is absent); otherwise prints why and exits 0.

    python bench/bench_bmv2.py [--count N]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from scapy.layers.inet import UDP  # noqa: E402
from scapy.layers.inet6 import IPv6  # noqa: E402
from scapy.layers.l2 import Ether  # noqa: E402
from scapy.packet import Raw  # noqa: E402

from p4mobility.lab.tools import find_tool  # noqa: E402
from tests.dataplane.netns import Namespace, netns_available  # noqa: E402
from tests.dataplane.p4consts import CRYPTO_PORT, EncapKind  # noqa: E402
from tests.dataplane.targets import SwitchProcess, find_binary  # noqa: E402

RESULTS = REPO / "bench" / "results" / "bench_bmv2.json"
ROUTER_P4 = REPO / "bench" / "p4" / "router.p4"
MOBILITY_JSON = REPO / "p4src" / "build" / "mobility.json"
MOBILITY_P4INFO = REPO / "p4src" / "build" / "mobility.p4info.txtpb"
WINDOW = 32
SWITCH_MAC, NH_MAC, HOST_MAC = "00:00:5e:00:53:01", "02:00:00:00:01:01", "02:00:00:00:99:99"
LMA, COA, CN, MN, HNP = "2001:db8:ffff::1", "2001:db8:a::1", "2001:db8:c0::10", \
    "2001:db8:100::5", "2001:db8:100::/64"


def build_router(workdir: Path) -> tuple[Path, Path]:
    compiler = find_tool("p4c-bm2-ss")
    if compiler is None:
        raise RuntimeError("p4c-bm2-ss not found: cannot build the router baseline")
    out_json, out_info = workdir / "router.json", workdir / "router.p4info.txtpb"
    subprocess.run([compiler, "--arch", "v1model", "--std", "p4-16",
                    "--p4runtime-files", str(out_info), "-o", str(out_json), str(ROUTER_P4)],
                   check=True, capture_output=True, text=True)
    return out_json, out_info


def measure(ns: Namespace, in_port: int, out_port: int, frame: bytes, count: int) -> float:
    """Frames/s out of `out_port` while at most WINDOW frames are in flight."""
    ns.drain()
    sent = received = 0
    started = time.perf_counter()
    deadline = started + 60 + count / 100
    while received < count:
        while sent < count and sent - received < WINDOW:
            ns.send(in_port, frame)
            sent += 1
        got = ns.recv(out_port, 1.0)
        if got is not None:
            received += 1
        elif time.perf_counter() > deadline:
            break
        elif sent - received >= WINDOW:
            sent = received  # frames lost: refill the window
    elapsed = time.perf_counter() - started
    return received / elapsed


def run_case(binary: str, ns: Namespace, p4json: Path, p4info: Path, program, cases, count):
    from tests.dataplane.p4rt import P4RuntimeClient

    sw = SwitchProcess.start("bmv2", binary, {n: p.switch_ifname for n, p in ns.ports.items()})
    try:
        client = P4RuntimeClient(sw.grpc_addr, p4info, p4json)
        try:
            program(client)
            return {name: measure(ns, i, o, bytes(frame), count)
                    for name, (i, o, frame) in cases.items()}
        finally:
            client.close()
    finally:
        sw.stop()


def program_router(client) -> None:
    from finsy import P4TableAction, P4TableEntry, P4TableMatch

    client.insert([P4TableEntry("routes", match=P4TableMatch(dst_addr="2001:db8:c0::/48"),
                                action=P4TableAction("set_next_hop", port=1, src_mac=SWITCH_MAC,
                                                     dst_mac=NH_MAC))])


def program_mobility(client) -> None:
    from finsy import P4ActionProfileMember, P4IndirectAction, P4TableAction, P4TableEntry, P4TableMatch

    def entry(table, match, action, **params):
        return P4TableEntry(table, match=P4TableMatch(match),
                            action=P4TableAction(action, **params))

    client.insert([P4ActionProfileMember("binding_profile", member_id=1, action=P4TableAction(
        "set_binding_tunnel_ipv6", binding_id=1, src_addr=LMA, dst_addr=COA))])
    client.insert([
        entry("local_addresses", {"dst_addr": LMA}, "set_local"),
        entry("routes", {"dst_addr": "2001:db8:c0::/48"}, "set_next_hop", port=1,
              src_mac=SWITCH_MAC, dst_mac=NH_MAC),
        entry("routes", {"dst_addr": "2001:db8:a::/48"}, "set_next_hop", port=1,
              src_mac=SWITCH_MAC, dst_mac=NH_MAC),
        entry("tunnel_peers", {"tunnel_peer_id": 1}, "load_tunnel_peer_ipv6",
              src_addr=LMA, dst_addr=COA),
        P4TableEntry("bindings", match=P4TableMatch(dst_addr=HNP), action=P4IndirectAction(member_id=1)),
        entry("tunnel_terminations", {"outer_src_addr": COA, "outer_dst_addr": LMA,
                                      "encap_kind": int(EncapKind.IPV6_IN_IPV6), "outer_src_port": 0},
              "decap_from_coa"),
        P4TableEntry("uplink_sources", match=P4TableMatch(home_addr=HNP), action=P4IndirectAction(member_id=1)),
    ])


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=3000, help="frames per case")
    ap.add_argument("--out", type=Path, default=RESULTS, help="result JSON path")
    args = ap.parse_args()

    reason = netns_available()
    binary, why = find_binary("bmv2")
    if reason or binary is None:
        print(f"skipped: {reason or why}")
        return 0

    payload = Raw(b"\x00" * 64)
    eth = Ether(dst=SWITCH_MAC, src=HOST_MAC)
    routed = eth / IPv6(src=MN, dst=CN) / UDP(sport=1, dport=2) / payload
    downlink = eth / IPv6(src=CN, dst=MN) / UDP(sport=1, dport=2) / payload
    uplink = eth / IPv6(src=COA, dst=LMA) / IPv6(src=MN, dst=CN) / UDP(sport=1, dport=2) / payload

    ns = Namespace.create([1, 2, CRYPTO_PORT])
    try:
        with tempfile.TemporaryDirectory() as tmp:
            router_json, router_info = build_router(Path(tmp))
            base = run_case(binary, ns, router_json, router_info, program_router,
                            {"router": (2, 1, routed)}, args.count)
        mob = run_case(binary, ns, MOBILITY_JSON, MOBILITY_P4INFO, program_mobility,
                       {"mobility_route": (2, 1, routed),
                        "downlink_encap": (2, 1, downlink),
                        "uplink_decap": (2, 1, uplink)}, args.count)
    finally:
        ns.close()

    router_pps = base["router"]
    result = {"count": args.count, "window": WINDOW, "router_pps": round(router_pps, 1)}
    print(f"bmv2 baseline router.p4 IPv6 routing: {router_pps:10.1f} pkt/s")
    for name, pps in mob.items():
        ratio = pps / router_pps if router_pps else 0.0
        result[f"{name}_pps"] = round(pps, 1)
        result[f"{name}_ratio"] = round(ratio, 3)
        print(f"mobility.p4 {name:15s}:          {pps:10.1f} pkt/s  ratio {ratio:.3f}"
              f" (goal >= 0.8)")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=2) + "\n")
    print(f"wrote {args.out}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
