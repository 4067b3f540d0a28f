"""What several benchmarks share: CPU time from /proc, the raw P4Runtime write baseline, spreads.

Rule: helpers only, no benchmark of its own (the name does not match run_all's
`bench_*.py`); benchmarks import it from their own directory.
"""
from __future__ import annotations

import asyncio
import os
import socket
import statistics
import time
from pathlib import Path

RESULTS = Path(__file__).resolve().parent / "results"


def cpu_seconds(pid: int) -> float:
    """user + system CPU seconds of a process so far (0.0 when it is gone)."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


async def raw_write_rate(count: int, batch: int, address: str = "127.0.0.1:9559") -> float:
    """Entries/s of raw P4Runtime INSERTs into `tunnel_peers` (a table with direct actions),
    written by finsy in batches of ``batch`` to the switch at ``address``; all deleted after."""
    import finsy
    from finsy import P4TableAction, P4TableEntry, P4TableMatch

    from p4mobility.runtime.nodeconfig import DEFAULT_P4BLOB, DEFAULT_P4INFO

    opts = finsy.SwitchOptions(p4info=DEFAULT_P4INFO, p4blob=DEFAULT_P4BLOB, device_id=1, p4force=True)
    host, port = address.rsplit(":", 1)
    for _ in range(100):  # the switch may still be starting
        try:
            with socket.create_connection((host, int(port)), timeout=0.5):
                break
        except OSError:
            await asyncio.sleep(0.2)
    async with finsy.Switch("baseline", address, opts) as sw:
        entries = [P4TableEntry("tunnel_peers", match=P4TableMatch(tunnel_peer_id=i + 1),
                                action=P4TableAction("load_tunnel_peer_ipv6", src_addr="2001:db8:ffff::1",
                                                     dst_addr=f"2001:db8:{0x8000 + i // 65536:x}:{i % 65536:x}::1"))
                   for i in range(count)]
        t = time.perf_counter()
        for i in range(0, count, batch):
            await sw.write([+e for e in entries[i:i + batch]])
        dt = time.perf_counter() - t
        await sw.delete_all()
    return count / dt


def percentiles(ms: list[float]) -> dict:
    """p50 / p99 (nearest rank) of latencies in ms, None when there are none."""
    s = sorted(ms)
    if not s:
        return {"p50_ms": None, "p99_ms": None}
    return {"p50_ms": round(statistics.median(s), 3), "p99_ms": round(s[min(len(s) - 1, int(len(s) * 0.99))], 3)}


def spread(values: list[float], digits: int = 1) -> dict:
    """min / median / max and every value (None ones left out of the three)."""
    got = [v for v in values if v is not None]
    return {"min": round(min(got), digits) if got else None,
            "median": round(statistics.median(got), digits) if got else None,
            "max": round(max(got), digits) if got else None,
            "values": [None if v is None else round(v, digits) for v in values]}


__all__ = ["RESULTS", "cpu_seconds", "raw_write_rate", "percentiles", "spread"]
