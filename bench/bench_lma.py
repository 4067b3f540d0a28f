"""LMA core benchmark: PBU -> PBA decisions per second with many registered MNs,
and memory per binding, each against a baseline measured in the same run.

Baselines: a bare ``dict`` keyed by the same MN-IDs (insert for memory, lookup
for time). The core is called exactly as the runtime would call it
(``handle(PbuReceived, now)``); PBUs are built before the clock starts.
Writes bench/results/lma.json. Not run by the test suite (a smoke test runs
it with a tiny --count).
"""
from __future__ import annotations

import argparse
import gc
import json
import pathlib
import sys
import time
import tracemalloc
from ipaddress import IPv6Address, IPv6Network

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    MnIdentifier,
    Timestamp,
)
from p4mobility.pmip import (
    HnpPool,
    LmaConfig,
    LocalMobilityAnchor,
    MnPolicy,
    PbuReceived,
    PolicyStore,
    SendMh,
)

LMAA = IPv6Address("2001:db8::1")
N_MAGS = 100
ALL_ZERO = HomeNetworkPrefix(0, IPv6Address("::"))


def mag(i: int) -> IPv6Address:
    return IPv6Address(f"2001:db8:1:{i:x}::1")


def build(count: int) -> tuple[LocalMobilityAnchor, list[bytes]]:
    ids = [f"mn{i}@bench.example".encode() for i in range(count)]
    policy = PolicyStore([mag(i) for i in range(N_MAGS)], [HnpPool("home", IPv6Network("2001:db8::/32"), 64)],
                         [MnPolicy(m, pool="home") for m in ids])
    cfg = LmaConfig(LMAA, max_bindings=count + 2, max_tunnel_peers=N_MAGS + 2, timestamp_validity_window=1e9)
    return LocalMobilityAnchor(cfg, policy), ids


def pbu(mn: bytes, seq: int, hnp: HomeNetworkPrefix, hi: int, now: float) -> BindingUpdate:
    return BindingUpdate(seq, 900, ack=True, proxy=True, options=(
        MnIdentifier(mn), hnp, HandoffIndicatorOption(hi), AccessTechnologyTypeOption(4),
        Timestamp.from_seconds(now)))


def register_all(lma: LocalMobilityAnchor, ids: list[bytes], now: float) -> float:
    events = [PbuReceived(pbu(m, 1, ALL_ZERO, 1, now), mag(i % N_MAGS), LMAA) for i, m in enumerate(ids)]
    t = time.perf_counter()
    for ev in events:
        lma.handle(ev, now)
    return time.perf_counter() - t


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=100_000, help="registered MNs (default 100000)")
    ap.add_argument("--out", default=str(pathlib.Path(__file__).resolve().parent / "results" / "lma.json"))
    args = ap.parse_args(argv)
    n = args.count
    now = 1_700_000_000.0

    # --- time: registrations, then one refresh PBU per MN (lifetime extension, §5.3.3)
    lma, ids = build(n)
    gc.collect()
    t_register = register_all(lma, ids, now)
    refresh = []
    for i, m in enumerate(ids):
        (view,) = lma.bindings_for_mn(m)
        net = view.home_prefixes[0]
        refresh.append(PbuReceived(pbu(m, 2, HomeNetworkPrefix(64, net.network_address), 5, now + 1),
                                   mag(i % N_MAGS), LMAA))
    t = time.perf_counter()
    accepted = 0
    for ev in refresh:
        out = lma.handle(ev, now + 1)
        accepted += out[-1].message.status == 0 if isinstance(out[-1], SendMh) else 0
    t_refresh = time.perf_counter() - t
    assert accepted == n, f"only {accepted}/{n} refreshes accepted"

    baseline = {m: i for i, m in enumerate(ids)}
    t = time.perf_counter()
    for ev in refresh:
        baseline[ev.message.options[0].identifier]  # the same key a PBU is looked up by
    t_dict = time.perf_counter() - t
    del lma, refresh
    gc.collect()

    # --- memory: what the LMA keeps per binding vs a dict of the same keys
    lma, ids = build(n)
    gc.collect()
    tracemalloc.start()
    base0 = tracemalloc.get_traced_memory()[0]
    register_all(lma, ids, now)
    gc.collect()
    lma_bytes = tracemalloc.get_traced_memory()[0] - base0
    d0 = tracemalloc.get_traced_memory()[0]
    bare = {m: i for i, m in enumerate(ids)}
    dict_bytes = tracemalloc.get_traced_memory()[0] - d0
    tracemalloc.stop()
    assert len(lma.bindings_for_mn(ids[-1])) == 1 and len(bare) == n

    result = {
        "count": n,
        "register_per_s": n / t_register,
        "refresh_decisions_per_s": n / t_refresh,
        "dict_lookups_per_s": n / t_dict,
        "refresh_cost_vs_dict_lookup": t_refresh / t_dict,
        "bytes_per_binding": lma_bytes / n,
        "dict_bytes_per_key": dict_bytes / n,
        "memory_vs_dict": lma_bytes / dict_bytes,
        "python": sys.version.split()[0],
    }
    print(f"LMA with {n} MNs: {result['register_per_s']:,.0f} registrations/s, "
          f"{result['refresh_decisions_per_s']:,.0f} PBU->PBA decisions/s "
          f"(baseline dict lookups {result['dict_lookups_per_s']:,.0f}/s: "
          f"ratio {result['refresh_cost_vs_dict_lookup']:.0f}x slower)")
    print(f"memory: {result['bytes_per_binding']:,.0f} B/binding vs {result['dict_bytes_per_key']:,.0f} B/key "
          f"for a bare dict of the same keys (ratio {result['memory_vs_dict']:.1f}x)")
    out = pathlib.Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
