"""Table-entry updates -> P4Runtime protobuf, the common cases without finsy's generic path.

Rule: `UpdateEncoder(p4info).encode(update)` returns exactly the `p4r.Update`
(or packet-out `StreamMessageRequest`) finsy's `update.encode_update(p4info)`
returns (tests compare the bytes for every entry p4rt/entries.py makes). It
handles what a registration writes: table entries with EXACT and LPM fields
whose values are ints or the IPv6/IPv4 address strings entries.py produces, a direct
action with int/address parameters, a priority, nothing else set; packet-outs
with every packet_out metadata field given as an int. Anything else (ternary
fields, MAC or decimal strings, indirect actions, counters, metadata, bad
values) goes to finsy, which also produces its errors. Values are encoded as P4Runtime §8.4 says:
the shortest big-endian string, at least one byte; an LPM value is masked to
its prefix and a /0 field is omitted (a "don't care" match).
finsy's path costs ~50-90 us an entry here, most of it parsing, schema
lookups and nested message copies; this one about a third of that.
"""
from __future__ import annotations

import socket
from typing import Any

from finsy import P4PacketOut, P4TableAction, P4TableEntry
from finsy.proto import p4r

_AF6 = socket.AF_INET6
_AF4 = socket.AF_INET
_EXACT, _LPM = 1, 2
_DEFAULTS = (("is_default_action", False), ("metadata", b""), ("controller_metadata", 0),
             ("meter_config", None), ("counter_data", None), ("meter_counter_data", None),
             ("idle_timeout_ns", 0), ("time_since_last_hit", None), ("is_const", False))


class _Fallback(Exception):
    """This update is not one of the fast cases: finsy encodes it."""


def _int(value: Any, bitwidth: int) -> int:
    if type(value) is str:
        family = _AF6 if bitwidth == 128 and ":" in value else _AF4 if bitwidth == 32 and "." in value else None
        if family is None:
            raise _Fallback
        try:
            return int.from_bytes(socket.inet_pton(family, value), "big")
        except OSError:
            raise _Fallback from None
    if not isinstance(value, int) or isinstance(value, bool):
        raise _Fallback
    ival = int(value)
    if not 0 <= ival < 1 << bitwidth:
        raise _Fallback  # finsy reports the error
    return ival


def _bytes(ival: int, bitwidth: int) -> bytes:
    return ival.to_bytes((bitwidth + 7) // 8, "big").lstrip(b"\x00") or b"\x00"


class _Table:
    __slots__ = ("id", "fields", "actions")

    def __init__(self, table: Any) -> None:
        if table.action_profile is not None:
            raise _Fallback
        self.id = table.id
        self.fields: dict[str, tuple[int, int, int]] = {}
        for f in table.match_fields:
            kind = {"EXACT": _EXACT, "LPM": _LPM}.get(f.match_type.name)
            if kind is not None:
                for name in {f.name, getattr(f, "alias", f.name)}:
                    self.fields[name] = (f.id, kind, f.bitwidth)
        self.actions: dict[str, tuple[int, dict[str, tuple[int, int]], int]] = {}
        for ref in table.actions:
            params = {}
            for p in ref.params:
                for name in {p.name, getattr(p, "alias", p.name)}:
                    params[name] = (p.id, p.bitwidth)
            entry = (ref.id, params, len(ref.params))
            for name in {ref.name, getattr(ref, "alias", ref.name)}:
                self.actions[name] = entry


class UpdateEncoder:
    def __init__(self, schema: Any) -> None:
        self.schema = schema
        self._tables: dict[str, _Table | None] = {}
        self.fast = self.slow = 0  # updates encoded here / by finsy
        try:
            cpm = schema.controller_packet_metadata["packet_out"]
            self._out_meta = [(m.name, m.id, m.bitwidth) for m in cpm.metadata]
        except (KeyError, ValueError):
            self._out_meta = None

    def encode(self, update: Any) -> Any:
        """p4r.Update (or StreamMessageRequest) for a finsy entity with +/-/~ applied."""
        t = type(update)
        if t is P4TableEntry or t is P4PacketOut:
            try:
                msg = self._entry(update) if t is P4TableEntry else self._packet_out(update)
                self.fast += 1
                return msg
            except _Fallback:
                pass
        self.slow += 1
        return update.encode_update(self.schema)

    def _packet_out(self, p: P4PacketOut) -> Any:
        meta = p.metadata
        spec = self._out_meta
        if spec is None or len(meta) != len(spec) or type(p.payload) is not bytes:
            raise _Fallback
        msg = p4r.StreamMessageRequest()
        pkt = msg.packet
        pkt.payload = p.payload
        for name, mid, bw in spec:  # P4Info order, as finsy
            if name not in meta:
                raise _Fallback
            m = pkt.metadata.add()
            m.metadata_id = mid
            m.value = _bytes(_int(meta[name], bw), bw)
        return msg

    def _table(self, name: str) -> _Table:
        t = self._tables.get(name, False)
        if t is False:
            try:
                t = _Table(self.schema.tables[name])
            except (_Fallback, KeyError, ValueError):
                t = None
            self._tables[name] = t
        if t is None:
            raise _Fallback
        return t

    def _entry(self, e: P4TableEntry) -> Any:
        utype = e._update_type.vt()
        if not utype or not e.table_id:
            raise _Fallback
        for attr, default in _DEFAULTS:
            if getattr(e, attr) != default:
                raise _Fallback
        t = self._table(e.table_id)
        msg = p4r.Update(type=utype)  # filled in place: nested constructors copy
        te = msg.entity.table_entry
        te.table_id = t.id
        fields = t.fields
        for name, value in (e.match or {}).items():
            spec = fields.get(name)
            if spec is None:
                raise _Fallback
            fid, kind, bw = spec
            if kind == _EXACT:
                fm = te.match.add()
                fm.field_id = fid
                fm.exact.value = _bytes(_int(value, bw), bw)
                continue
            prefix = bw
            if type(value) is str and "/" in value:
                value, plen = value.split("/", 1)
                if not plen.isdigit():
                    raise _Fallback
                prefix = int(plen)
                if prefix > bw:
                    raise _Fallback
            ival = _int(value, bw) & ~((1 << (bw - prefix)) - 1)
            if prefix == 0:
                continue  # finsy omits a /0 LPM field
            fm = te.match.add()
            fm.field_id = fid
            fm.lpm.value = _bytes(ival, bw)
            fm.lpm.prefix_len = prefix
        a = e.action
        if a is not None:
            if type(a) is not P4TableAction:
                raise _Fallback
            spec = t.actions.get(a.name)
            if spec is None:
                raise _Fallback
            aid, pspec, nparams = spec
            if a.args and len(a.args) != nparams:
                raise _Fallback  # finsy names the missing parameters
            act = te.action.action
            act.action_id = aid
            for name, value in a.args.items():
                p = pspec.get(name)
                if p is None:
                    raise _Fallback
                par = act.params.add()
                par.param_id = p[0]
                par.value = _bytes(_int(value, p[1]), p[1])
        if e.priority:
            te.priority = e.priority
        return msg


__all__ = ["UpdateEncoder"]
