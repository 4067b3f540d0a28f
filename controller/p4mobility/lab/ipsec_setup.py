"""The lab's IPsec between MAGs and LMA (RFC 5213 §4), as data.

Rule: pure functions. Per MAG two manually keyed ESP transport-mode SAs with
AES-GCM-16 (RFC 4106): the MAG's PBUs to the LMA and the LMA's PBAs back.
SPD entries select on the two addresses, protocol MH and the MH type, as in
the RFC 5213 §4 / RFC 3776 §5 examples; inbound PROTECT entries make a node
refuse the same signaling in the clear. The same file feeds the node (switch
tables) and its crypto path (`p4mob ipsec run`); keys are files beside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from p4mobility.lab.topology import LMA_ADDRESS, MAG_COA
from p4mobility.mh.constants import MhType

AEAD = "rfc4106(gcm(aes))"
KEY_BYTES = 20  # 128-bit AES key + 32-bit salt (RFC 4106 §8.1)


@dataclass(frozen=True)
class LabSa:
    name: str  # also the key file's stem
    src: str
    dst: str
    spi: int
    reqid: int
    mh_type: MhType  # what it carries


def lab_sas(mags: tuple[str, ...] = ("mag1", "mag2")) -> list[LabSa]:
    out = []
    for k, m in enumerate(mags, start=1):
        coa, lma = str(MAG_COA[m]), str(LMA_ADDRESS)
        out.append(LabSa(f"pbu-{m}", coa, lma, 0x5000 + 16 * k + 1, 10 * k + 1, MhType.BU))
        out.append(LabSa(f"pba-{m}", lma, coa, 0x5000 + 16 * k + 2, 10 * k + 2, MhType.BA))
    return out


def _state(sa: LabSa, direction: str, keydir: str) -> dict[str, Any]:
    return {"src": sa.src, "dst": sa.dst, "proto": "esp", "spi": sa.spi, "reqid": sa.reqid,
            "mode": "transport", "dir": direction, "replay-window": 64,
            "aead": {"name": AEAD, "key-file": f"{keydir}/{sa.name}.key", "icv-len": 128}}


def _policy(sa: LabSa, direction: str) -> dict[str, Any]:
    local, remote = (sa.src, sa.dst) if direction == "out" else (sa.dst, sa.src)
    mh_key = "local-mh-type" if direction == "out" else "remote-mh-type"
    return {"name": f"{sa.name}-{direction}", "dir": direction, "local": f"{local}/128",
            "remote": f"{remote}/128", "proto": "mh", mh_key: int(sa.mh_type), "action": "protect",
            "tmpl": {"reqid": sa.reqid, "mode": "transport"}}


def ipsec_config(node: str, keydir: str = "keys") -> dict[str, Any]:
    """The ip-xfrm style TOML document (as a dict) for ``node`` ("lma", "mag1", "mag2")."""
    states, policies = [], []
    for sa in lab_sas():
        if node == "lma":
            direction = "in" if sa.dst == str(LMA_ADDRESS) else "out"
        elif str(MAG_COA[node]) in (sa.src, sa.dst):
            direction = "out" if sa.src == str(MAG_COA[node]) else "in"
        else:
            continue
        states.append(_state(sa, direction, keydir))
        policies.append(_policy(sa, direction))
    return {"state": states, "policy": policies}


__all__ = ["LabSa", "lab_sas", "ipsec_config", "KEY_BYTES", "AEAD"]
