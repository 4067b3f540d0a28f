"""Constants of the P4 program, read from p4src/include/define.p4.

Rule: tests take enum values (punt/drop reasons, encap kinds, crypto
directions) and ports from the P4 source itself, not from controller code;
tests/test_p4_build.py checks docs/dataplane.md lists the same values.
"""

from __future__ import annotations

import enum
import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
DEFINE_P4 = REPO / "p4src" / "include" / "define.p4"
P4INFO = REPO / "p4src" / "build" / "mobility.p4info.txtpb"
P4JSON = REPO / "p4src" / "build" / "mobility.json"

_ENUM_RE = re.compile(r"enum\s+bit<\d+>\s+(\w+)\s*\{(.*?)\}", re.S)
_MEMBER_RE = re.compile(r"(\w+)\s*=\s*(\d+)")
_CONST_RE = re.compile(r"const\s+[\w<>]+\s+(\w+)\s*=\s*(?:\d+w)?(0x[0-9a-fA-F]+|\d+)\s*;")


def p4_enums(text: str) -> dict[str, dict[str, int]]:
    out: dict[str, dict[str, int]] = {}
    for name, body in _ENUM_RE.findall(text):
        body = re.sub(r"//[^\n]*", "", body)
        out[name] = {m: int(v) for m, v in _MEMBER_RE.findall(body)}
    return out


def p4_consts(text: str) -> dict[str, int]:
    return {n: int(v, 0) for n, v in _CONST_RE.findall(text)}


_TEXT = DEFINE_P4.read_text()
_ENUMS = p4_enums(_TEXT)
_CONSTS = p4_consts(_TEXT)

PuntReason = enum.IntEnum("PuntReason", _ENUMS["PuntReason"])
DropReason = enum.IntEnum("DropReason", _ENUMS["DropReason"])
EncapKind = enum.IntEnum("EncapKind", _ENUMS["EncapKind"])
CryptoDirection = enum.IntEnum("CryptoDirection", _ENUMS["CryptoDirection"])

CPU_PORT = _CONSTS["CPU_PORT"]
CRYPTO_PORT = _CONSTS["CRYPTO_PORT"]
ETHERTYPE_CRYPTO_META = _CONSTS["ETHERTYPE_CRYPTO_META"]
