"""A node's side of IPsec: the same file as its crypto path, seen from the controller.

Rule: adapter glue around the sans-I/O IPsec core. The SAD is numbered exactly
as the crypto path numbers it (`IpsecConfig.build_sad`), so `esp_sas` /
`outbound_policies` (p4rt/ipsec_entries.py) name the crypto path's SAs;
only the SPD is consulted here (RFC 4301 §5.2: a clear packet needs an inbound
BYPASS, `CryptoPath.process_clear_inbound` decides). `show sas` joins the
file's SAs with the crypto path's counters over its control socket and says
when the two processes run different versions of the file (sha256).
"""
from __future__ import annotations

import asyncio
import hashlib
from typing import Any

from p4mobility.ipsec.events import Dropped
from p4mobility.ipsec.path import CryptoPath
from p4mobility.ipsec.spd import selector_from_packet
from p4mobility.p4rt.entries import Change
from p4mobility.p4rt.ipsec_entries import ipsec_entries
from p4mobility.p4rt.names import PuntReason
from p4mobility.runtime.control import ControlError, request
from p4mobility.runtime.crypto_port import SA_COLUMNS, sa_row
from p4mobility.runtime.nodeconfig import IpsecSettings

CLEAR_MH_PUNTS = (PuntReason.MOBILITY_HEADER, PuntReason.MOBILITY_HEADER_UDP)
ETHERNET_HEADER = 14
COUNTER_COLUMNS = SA_COLUMNS[7:]  # what only the crypto path knows


class NodeIpsec:
    def __init__(self, settings: IpsecSettings) -> None:
        self.settings = settings
        self.sad = settings.config.build_sad(0.0)
        self.policy = CryptoPath(self.sad, settings.config.spd)
        self.digest = hashlib.sha256(settings.config_path.read_bytes()).hexdigest()

    def changes(self) -> list[Change]:
        return ipsec_entries(self.sad, self.settings.config.spd)

    def refuses_clear(self, frame: bytes, reason: Any) -> bool:
        """RFC 4301 §5.2 / RFC 5213 §4: True for a clear MH the inbound SPD does not BYPASS."""
        if reason not in CLEAR_MH_PUNTS:
            return False
        return isinstance(self.policy.process_clear_inbound(frame[ETHERNET_HEADER:]), Dropped)

    @staticmethod
    def source(frame: bytes) -> str | None:
        """The (HoA-swapped) source address, for the log line."""
        try:
            return str(selector_from_packet(frame[ETHERNET_HEADER:]).src)
        except Exception:  # noqa: BLE001 - logging only; the packet is dropped anyway
            return None

    async def show_sas(self) -> dict:
        rows = [sa_row(sa)[:7] + [None] * len(COUNTER_COLUMNS) for sa in self.sad]
        out: dict = {"ok": True, "columns": SA_COLUMNS, "rows": rows}
        sock = self.settings.crypto_socket
        if not sock:
            out["note"] = "no crypto_socket configured: counters unknown"
            return out
        loop = asyncio.get_running_loop()
        try:
            live = await loop.run_in_executor(None, request, sock, {"cmd": "show", "what": "sas"}, 2.0)
            status = await loop.run_in_executor(None, request, sock, {"cmd": "status"}, 2.0)
        except ControlError as exc:
            out["note"] = f"crypto path not reachable: {exc}"
            return out
        if status.get("config_digest") != self.digest:
            out["note"] = ("the crypto path loaded another version of the IPsec file than this node "
                           "(sha256 differs): restart one of them")
        cols = live.get("columns") or []
        by_index = {r[0]: dict(zip(cols, r)) for r in live.get("rows") or [] if r}
        for row in rows:
            got = by_index.get(row[0])
            if got is None or got.get("spi") != row[1]:
                out["note"] = "the crypto path's SAs differ from this node's [ipsec] file"
                continue
            row[7:] = [got.get(c) for c in COUNTER_COLUMNS]
        return out


__all__ = ["NodeIpsec", "CLEAR_MH_PUNTS"]
