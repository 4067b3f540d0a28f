"""ESP for the generator's PBUs and PBAs (RFC 5213 §4), as the lab's MAGs have.

Rule: the same manual keying as lab.ipsec_setup: per generator MAG address one
AES-GCM SA for its PBUs to the LMA and one for the LMA's PBAs back. `add_to_lma`
appends them to the LMA's ipsec file (so the LMA's switch and crypto path carry
the load); `GenEsp` is the generator's side, with p4mobility.ipsec's CryptoPath.
"""
from __future__ import annotations

import os
import time
import tomllib
from pathlib import Path

from p4mobility.ipsec import CryptoPath
from p4mobility.ipsec.config import parse_config
from p4mobility.ipsec.events import Accepted, Protected
from p4mobility.lab import topology as T
from p4mobility.lab.ipsec_setup import KEY_BYTES, LabSa, _policy, _state
from p4mobility.mh.constants import MhType
from p4mobility.soak.plan import GEN_MAGS

ETH = 14


def gen_sas() -> list[LabSa]:
    out = []
    for k, addr in enumerate(GEN_MAGS, start=3):  # 1, 2: the lab's MAG1, MAG2
        name = "gen-a" if k == 3 else "gen-b"
        out.append(LabSa(f"pbu-{name}", str(addr), str(T.LMA_ADDRESS), 0x5000 + 16 * k + 1, 10 * k + 1, MhType.BU))
        out.append(LabSa(f"pba-{name}", str(T.LMA_ADDRESS), str(addr), 0x5000 + 16 * k + 2, 10 * k + 2, MhType.BA))
    return out


def _side(sa: LabSa, lma: bool) -> str:
    to_lma = sa.dst == str(T.LMA_ADDRESS)
    return ("in" if to_lma else "out") if lma else ("out" if to_lma else "in")


def add_to_lma(out: Path) -> None:
    """Key files for the generator's SAs, and their states and policies in ipsec-lma.toml."""
    keys = out / "keys"
    for sa in gen_sas():
        fd = os.open(keys / f"{sa.name}.key", os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(os.urandom(KEY_BYTES).hex() + "\n")
    path = out / "ipsec-lma.toml"
    doc = tomllib.loads(path.read_text())
    doc["state"] += [_state(sa, _side(sa, True), "keys") for sa in gen_sas()]
    doc["policy"] += [_policy(sa, _side(sa, True)) for sa in gen_sas()]
    path.write_text(T.to_toml(doc))


class GenEsp:
    """The generator's crypto: `seal` a PBU frame, `open` an ESP frame (None: not ours / dropped)."""

    def __init__(self, out: Path) -> None:
        doc = {"state": [_state(sa, _side(sa, False), "keys") for sa in gen_sas()],
               "policy": [_policy(sa, _side(sa, False)) for sa in gen_sas()]}
        cfg = parse_config(doc, out)
        now = time.time()
        self._out = CryptoPath(cfg.build_sad(now), cfg.spd)  # main thread
        self._in = CryptoPath(cfg.build_sad(now), cfg.spd)  # the receiver thread
        self.dropped = 0

    def seal(self, frame: bytes) -> bytes | None:
        r = self._out.protect(frame[ETH:], time.time())
        if not isinstance(r, Protected):
            self.dropped += 1
            return None
        return frame[:ETH] + r.packet

    def open(self, frame: bytes) -> bytes | None:
        if len(frame) < ETH + 40 or frame[ETH + 6] != 50:  # IPv6 Next Header ESP
            return frame
        r = self._in.process_inbound(frame[ETH:], None, time.time())
        if not isinstance(r, Accepted):
            self.dropped += 1
            return None
        return frame[:ETH] + r.packet


__all__ = ["gen_sas", "add_to_lma", "GenEsp"]
