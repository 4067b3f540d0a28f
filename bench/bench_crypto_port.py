"""Crypto-port round trips/s through `p4mob ipsec run` vs raw `cryptography` calls.

The bench plays the switch on the CRYPTO_PORT veth (cry0) of a namespace it
makes; the real CLI process serves cry1. One round trip = an ENCRYPT frame
(IPv6/UDP, `size` bytes of ESP payload, transport mode) answered ENCRYPTED,
then a DECRYPT frame of what came back answered DECRYPTED. At most
`--window` requests are in flight (bounded: no queue drops distort the rate).
Baseline, measured in the same run and interleaved: one seal + one open of the
same size with raw `cryptography` calls (bench_esp's raw_gcm / raw_cbc). Also
timed: the same two frames through ``CryptoPortNode.handle_frame`` in this
process (codec + CryptoPath, no socket), which separates the Python cost from
the kernel's (two AF_PACKET syscalls per frame on each side of the veth).
The crypto process's own CPU time (/proc) gives its capacity on a core of its
own, apart from the bench's share of the machine. Prints round trips/s and the ratios; writes bench/results/crypto_port.json.
Goal: ratio >= 0.4 for AES-GCM at 64 bytes. Needs root.

    sudo .venv/bin/python bench/bench_crypto_port.py [--count 20000]
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import os
import platform
import select
import struct
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from p4mobility.runtime.control import request  # noqa: E402
from tests.dataplane.netns import netns_available  # noqa: E402
from tests.ipsec.crypto_port_lab import CryptoLab  # noqa: E402

GCM_KEYMAT = bytes(range(20))  # as bench_esp
CBC_KEY, AUTH_KEY = bytes(range(16)), bytes(range(32, 64))
SRC = "2001:db8:1::100"
DST = {"gcm": "2001:db8:1::1", "cbc": "2001:db8:1::2"}
SA = {"gcm": (1, 2), "cbc": (3, 4)}  # (outbound, inbound) sa_index, in file order
ETH = bytes.fromhex("00005e005301" "020000009999" "88b5")
META = struct.Struct("!IBBHH")
ENCRYPT, DECRYPT, DECRYPTED, ENCRYPTED = 2, 1, 3, 4
RECV_IDLE = 2.0  # seconds without an answer: the rest counts as lost


def _bench_esp():
    spec = importlib.util.spec_from_file_location("bench_esp", REPO / "bench" / "bench_esp.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def config_text() -> str:
    out = []
    for algo, (o, i) in SA.items():
        keys = ('aead = { name = "rfc4106(gcm(aes))", key-file = "gcm.key", icv-len = 128 }' if algo == "gcm"
                else 'enc = { name = "cbc(aes)", key-file = "cbc.key" }\n'
                     'auth = { name = "hmac(sha256)", key-file = "auth.key", trunc-len = 128 }')
        spi = 0x1000 if algo == "gcm" else 0x2000
        for d, reqid in (("out", o), ("in", i)):
            out.append(f'[[state]]\nsrc = "{SRC}"\ndst = "{DST[algo]}"\nspi = "0x{spi:x}"\nreqid = {reqid}\n'
                       f'dir = "{d}"\nreplay-window = 1024\n{keys}\n')
        out.append(f'[[policy]]\ndir = "in"\nlocal = "{DST[algo]}/128"\nremote = "{SRC}/128"\n'
                   f'tmpl = {{ reqid = {i} }}\n')
    return "\n".join(out)


def write_config(d: Path) -> Path:
    for name, key in (("gcm.key", GCM_KEYMAT), ("cbc.key", CBC_KEY), ("auth.key", AUTH_KEY)):
        fd = os.open(d / name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(key.hex())
    (d / "ipsec.toml").write_text(config_text())
    return d / "ipsec.toml"


def udp_packet(algo: str, size: int) -> bytes:
    """IPv6/UDP whose transport payload (what ESP protects) is ``size`` bytes."""
    src = bytes.fromhex("20010db8000100000000000000000100")
    dst = bytes.fromhex("20010db800010000000000000000000" + ("1" if algo == "gcm" else "2"))
    udp = struct.pack("!HHHH", 5000, 6000, size, 0) + bytes(size - 8)
    return struct.pack("!IHBB", 6 << 28, len(udp), 17, 64) + src + dst + udp


def round_trips(sock, algo: str, size: int, count: int, window: int) -> tuple[float, int, bool]:
    """(round trips/s, lost, last plaintext correct) for ``count`` ENCRYPT+DECRYPT pairs."""
    out_i, in_i = SA[algo]
    packet = udp_packet(algo, size)
    enc_frame = ETH + META.pack(out_i, ENCRYPT, 0, 1, 0x86DD) + packet
    dec_head = ETH + META.pack(in_i, DECRYPT, 0, 1, 0x86DD)
    send, recv = sock.send, sock.recv
    sent = done = 0
    in_flight = 0
    ok = True
    t0 = time.perf_counter()
    while done < count:
        while in_flight < window and sent < count:
            send(enc_frame)
            sent += 1
            in_flight += 1
        try:
            data = recv(65535)
        except BlockingIOError:
            if not select.select([sock], [], [], RECV_IDLE)[0]:
                break  # lost frames: stop, report them
            continue
        if data[12:14] != b"\x88\xb5":
            continue  # our own requests (old kernels) carry directions 1/2 and fall through below
        direction = data[18]
        if direction == ENCRYPTED:
            send(dec_head + data[24:])
        elif direction == DECRYPTED:
            done += 1
            in_flight -= 1
            if done == count:
                ok = data[24:] == packet
    elapsed = time.perf_counter() - t0
    return done / elapsed, count - done, ok


def cpu_seconds(pid: int) -> float:
    """user + system CPU time of ``pid`` (/proc/PID/stat fields 14 and 15)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def in_process(node, algo: str, size: int):
    """The adapter's per-frame work for one round trip, no socket: frame in -> frame out."""
    out_i, in_i = SA[algo]
    packet = udp_packet(algo, size)
    enc_frame = ETH + META.pack(out_i, ENCRYPT, 0, 1, 0x86DD) + packet
    dec_head = ETH + META.pack(in_i, DECRYPT, 0, 1, 0x86DD)

    def run(n: int) -> None:
        handle = node.handle_frame
        for _ in range(n):
            reply = handle(dec_head + handle(enc_frame, 0.0)[24:], 0.0)
        assert reply[24:] == packet
    return run


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=20000, help="round trips per timing")
    ap.add_argument("--repeats", type=int, default=3)
    ap.add_argument("--window", type=int, default=32, help="requests in flight")
    ap.add_argument("--out", default=str(REPO / "bench" / "results" / "crypto_port.json"))
    args = ap.parse_args(argv)
    reason = netns_available()
    if reason:
        print(f"skipped: {reason}")
        return 0
    be = _bench_esp()
    from p4mobility.runtime.crypto_port import CryptoPortNode
    from p4mobility.runtime.logs import EventLog
    results = []
    with tempfile.TemporaryDirectory(prefix="p4mob-crypto-bench-") as tmp:
        lab = CryptoLab(Path(tmp))
        try:
            cfg = write_config(Path(tmp))
            lab.start(cfg)
            local = CryptoPortNode(str(cfg), "unused", None, EventLog("bench", open(os.devnull, "w")))
            for algo, raw in (("aes-gcm-16", be.raw_gcm), ("aes-cbc+hmac-sha256-128", be.raw_cbc)):
                key = "gcm" if algo.startswith("aes-gcm") else "cbc"
                for size in (64, 1400):
                    raw_fn, local_fn = raw(size), in_process(local, key, size)
                    base = port = inproc = cpu_rate = 0.0
                    lost, ok = 0, True
                    for _ in range(args.repeats):  # interleaved, best of: load hits both alike
                        t0 = time.perf_counter()
                        raw_fn(args.count)
                        base = max(base, args.count / (time.perf_counter() - t0))
                        t0 = time.perf_counter()
                        local_fn(args.count)
                        inproc = max(inproc, args.count / (time.perf_counter() - t0))
                        cpu0 = cpu_seconds(lab.proc.pid)
                        rate, n_lost, good = round_trips(lab.sock, key, size, args.count, args.window)
                        cpu = cpu_seconds(lab.proc.pid) - cpu0
                        cpu_rate = max(cpu_rate, args.count / cpu if cpu > 0 else 0.0)
                        port, lost, ok = max(port, rate), lost + n_lost, ok and good
                    row = dict(algorithm=algo, payload_bytes=size, raw_pps=round(base), port_pps=round(port),
                               ratio=round(port / base, 3), in_process_pps=round(inproc),
                               in_process_ratio=round(inproc / base, 3), process_cpu_pps=round(cpu_rate),
                               process_cpu_ratio=round(cpu_rate / base, 3), lost=lost, plaintext_ok=ok)
                    results.append(row)
                    print(f"{algo:24s} {size:5d} B  raw {base:8.0f}/s  crypto port {port:7.0f}/s "
                          f"(ratio {port / base:.3f})  per process CPU {cpu_rate:7.0f}/s (ratio {cpu_rate / base:.3f})"
                          f"  in-process {inproc:7.0f}/s (ratio {inproc / base:.3f})  "
                          f"lost {lost}  plaintext {'ok' if ok else 'BAD'}")
            st = request(lab.control, {"cmd": "status"})
            st.update(request(lab.control, {"cmd": "show", "what": "drops"}))
        finally:
            lab.close()
    gcm64 = next(r for r in results if r["algorithm"] == "aes-gcm-16" and r["payload_bytes"] == 64)
    goal_met = gcm64["ratio"] >= 0.4
    print(f"goal crypto port/raw >= 0.4 for AES-GCM at 64 B: {'met' if goal_met else 'NOT met'} "
          f"({gcm64['ratio']:.2f}); process counted frames_in {st.get('frames_in')} "
          f"frames_out {st.get('frames_out')} bad_frames {st.get('bad_frames')}, "
          f"{st['frames_in'] / max(st.get('wakeups', 0), 1):.1f} frames per wakeup")
    doc = dict(benchmark="crypto_port", count=args.count, repeats=args.repeats, window=args.window,
               python=platform.python_version(), cpu_count=os.cpu_count(), goal_gcm64_ratio=0.4,
               goal_met=goal_met, results=results,
               note="one round trip = ENCRYPT + DECRYPT through the veth and the process; "
                    "baseline = raw seal + open of the same size in the bench process; in_process = "
                    "CryptoPortNode.handle_frame for both frames, no socket; process_cpu = round trips per "
                    "CPU second of the crypto process (its capacity on a core of its own)")
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"wrote {out}")
    return 0 if all(r["plaintext_ok"] and not r["lost"] for r in results) else 1


if __name__ == "__main__":
    sys.exit(main())
