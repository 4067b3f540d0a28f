"""The lab's independent check of its captures: tshark reads the signaling.

Rule: tshark (Wireshark's dissectors, not our codec) decodes every Mobility
Header (and, for the home agent, every Mobile Prefix Solicitation and
Advertisement) in the lab's pcaps; with the lab's `esp_sa` file it also decrypts the
ESP and verifies each ICV (RFC 4303 §3.4.4). Returns plain rows and counts;
None when tshark is not installed.
"""
from __future__ import annotations

import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

FIELDS = ("esp.spi", "esp.icv_good", "mip6.mhtype", "mip6.ba.status", "mip6.ba.lifetime", "mip6.bu.seqnr",
          "mip6.ba.seqnr", "mip6.bu.lifetime")


@dataclass(frozen=True)
class MhRow:
    """One Mobility Header as tshark saw it."""

    spi: int | None  # None: the MH was sent in the clear
    icv_good: bool
    mh_type: int
    ba_status: int | None
    ba_lifetime: int | None
    seq: int | None = None  # the BU's or BA's Sequence Number
    bu_lifetime: int | None = None


def esp_options(esp_sa: Path | None) -> list[str]:
    """tshark options that decrypt with every record of an `esp_sa` UAT file."""
    if esp_sa is None:
        return []
    opts = ["-o", "esp.enable_encryption_decode:TRUE", "-o", "esp.enable_authentication_check:TRUE"]
    for rec in esp_sa.read_text().splitlines():
        if rec.strip():
            opts += ["-o", f"uat:esp_sa:{rec}"]
    return opts


def _int(v: str) -> int | None:
    v = v.split(",")[0].strip()
    return int(v, 0) if v else None


DSMIPV6_DECODE = ("-d", "udp.port==4191,ipv6")  # RFC 5555 §4.1: IPv6 in UDP 4191 (not decoded by default)


def mh_rows(pcap: Path, esp_sa: Path | None = None, extra: tuple[str, ...] = ()) -> list[MhRow]:
    args = ["tshark", "-n", "-r", str(pcap), *esp_options(esp_sa), *extra, "-Y", "mipv6", "-T", "fields",
            "-E", "separator=|", *[a for f in FIELDS for a in ("-e", f)]]
    res = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"tshark failed on {pcap.name}: {res.stderr.strip()[:300]}")
    rows = []
    for line in res.stdout.splitlines():
        spi, good, mh, status, lifetime, bu_seq, ba_seq, bu_lifetime = (line.split("|") + [""] * 8)[:8]
        seq = _int(bu_seq) if _int(bu_seq) is not None else _int(ba_seq)
        rows.append(MhRow(_int(spi), good.strip() in ("1", "True"), _int(mh) or 0, _int(status), _int(lifetime),
                          seq, _int(bu_lifetime)))
    return rows


@dataclass(frozen=True)
class PrefixRow:
    """One Mobile Prefix Solicitation / Advertisement (ICMPv6 146 / 147) as tshark saw it."""

    spi: int | None  # None: sent in the clear
    icv_good: bool
    icmp_type: int
    identifier: int | None
    prefixes: tuple[str, ...]  # "prefix/length" of each Prefix Information option


def prefix_rows(pcap: Path, esp_sa: Path | None = None, extra: tuple[str, ...] = ()) -> list[PrefixRow]:
    """RFC 6275 §6.7 / §6.8 messages in ``pcap``, decrypted with ``esp_sa`` when given."""
    fields = ("esp.spi", "esp.icv_good", "icmpv6.type", "icmpv6.mip6.identifier", "icmpv6.opt.prefix",
              "icmpv6.opt.prefix.length")
    args = ["tshark", "-n", "-r", str(pcap), *esp_options(esp_sa), *extra, "-Y", "icmpv6.type == 146 || "
            "icmpv6.type == 147", "-T", "fields", "-E", "separator=|", *[a for f in fields for a in ("-e", f)]]
    res = subprocess.run(args, capture_output=True, text=True, timeout=120)
    if res.returncode != 0:
        raise RuntimeError(f"tshark failed on {pcap.name}: {res.stderr.strip()[:300]}")
    rows = []
    for line in res.stdout.splitlines():
        spi, good, kind, ident, prefixes, lengths = (line.split("|") + [""] * 6)[:6]
        pairs = zip(filter(None, prefixes.split(",")), filter(None, lengths.split(",")))
        rows.append(PrefixRow(_int(spi), good.strip() in ("1", "True"), _int(kind) or 0, _int(ident),
                              tuple(f"{a}/{n}" for a, n in pairs)))
    return rows


def answers(rows: list[MhRow]) -> list[tuple[int | None, int | None]]:
    """(lifetime the BU asked for, status of the BA) for each BA of one link's rows, the BA
    paired with the latest BU of its Sequence Number before it (RFC 6275 §6.1.8: the BA
    echoes it); the lifetime is None for a BA that answers no BU seen on the link."""
    asked: dict[int | None, int | None] = {}
    out = []
    for r in rows:
        if r.mh_type == 5:
            asked[r.seq] = r.bu_lifetime
        elif r.mh_type == 6:
            out.append((asked.get(r.seq), r.ba_status))
    return out


def malformed(pcap: Path, esp_sa: Path | None = None, extra: tuple[str, ...] = (), scope: str | None = None) -> str:
    """tshark's summary lines of malformed or error-level frames ('' when none), among the
    frames of the display filter ``scope`` when given (e.g. only the signalling: with
    `-d udp.port==4191,ipv6` an IPv4 packet in UDP 4191, RFC 5555 §4.1, reads as bogus IPv6)."""
    bad = "_ws.malformed || _ws.expert.severity == error"
    res = subprocess.run(["tshark", "-n", "-r", str(pcap), *esp_options(esp_sa), *extra, "-Y",
                          f"({scope}) && ({bad})" if scope else bad],
                         capture_output=True, text=True, timeout=120)
    return res.stdout.strip() if res.returncode == 0 else f"tshark failed: {res.stderr.strip()[:300]}"


def signaling_summary(pcaps: list[Path], esp_sa: Path | None, extra: tuple[str, ...] = (),
                      scope: str | None = None) -> dict[str, Any] | None:
    """Counts for summary.json: MH messages, how many in ESP with a good ICV, malformed frames."""
    if shutil.which("tshark") is None:
        return None
    total = in_esp = good = bad = 0
    for pcap in pcaps:
        try:
            rows = mh_rows(pcap, esp_sa, extra)
        except (RuntimeError, subprocess.TimeoutExpired):
            return None
        total += len(rows)
        in_esp += sum(r.spi is not None for r in rows)
        good += sum(r.spi is not None and r.icv_good for r in rows)
        bad += bool(malformed(pcap, esp_sa, extra, scope))
    return {"mh_messages": total, "in_esp": in_esp, "esp_icv_good": good, "pcaps_with_malformed": bad}


__all__ = ["MhRow", "PrefixRow", "mh_rows", "prefix_rows", "answers", "malformed", "esp_options",
           "signaling_summary", "DSMIPV6_DECODE"]
