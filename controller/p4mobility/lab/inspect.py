"""`python -m p4mobility.lab.inspect ADDR TABLE|PROFILE...`: dump a switch's entries as JSON.

Rule: an independent reader for tests and operators: a second P4Runtime
client (election id 1, so it never becomes primary over a node controller)
Reads the named tables (an entry that points to an action profile member
or group shows its `member_id` / `group_id`) and action profiles (one object
per member, and per group of a selector with its member ids) and
prints one JSON object per entry, sorted; it shares no code with the node's
writer.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys

from ipaddress import IPv6Address, IPv6Network

import finsy
from finsy import P4ActionProfileGroup, P4ActionProfileMember, P4TableEntry

from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO


def fmt(value: object, width: int) -> str:
    """An integer as text: 128 bits as an IPv6 address, 48 bits as a MAC, else decimal."""
    if not isinstance(value, int):
        return str(value)
    if width == 128:
        return str(IPv6Address(value))
    if width == 48:
        return ":".join(f"{b:02x}" for b in value.to_bytes(6, "big"))
    return str(value)


def fmt_match(value: object, field: object) -> str:
    """LPM as a prefix (2001:db8::/64), ternary as value&&&mask, exact as fmt()."""
    width, kind = field.bitwidth, getattr(field.match_type, "name", str(field.match_type))
    if isinstance(value, tuple) and kind == "LPM":
        v, plen = value
        return str(IPv6Network((v, plen), strict=False)) if width == 128 else f"{fmt(v, width)}/{plen}"
    if isinstance(value, tuple):
        v, mask = value
        return f"{fmt(v, width)}&&&{fmt(mask, width)}"
    return fmt(value, width)


async def dump(addr: str, tables: list[str]) -> list[dict]:
    opts = finsy.SwitchOptions(p4info=DEFAULT_P4INFO, initial_election_id=1, device_id=1)
    out = []
    async with finsy.Switch("inspect", addr, opts) as sw:
        profiles = {p.alias for p in sw.p4info.action_profiles}
        for t in tables:
            if t in profiles:
                async for m in sw.read(P4ActionProfileMember(t)):
                    out.append({"profile": t, "member_id": m.member_id, **action_fields(sw.p4info, m.action)})
                if sw.p4info.action_profiles[t].with_selector:  # its groups, with their member ids
                    async for g in sw.read(P4ActionProfileGroup(t)):
                        out.append({"profile": t, "group_id": g.group_id,
                                    "members": sorted(m.member_id for m in g.members or ())})
                continue
            table = sw.p4info.tables[t]
            async for e in sw.read(P4TableEntry(t)):
                match = {k: fmt_match(v, table.match_fields[k]) for k, v in (e.match or {}).items()}
                row = {"table": t, "match": match, "priority": e.priority, **action_fields(sw.p4info, e.action)}
                for ref in ("member_id", "group_id"):
                    if getattr(e.action, ref, None) is not None:
                        row[ref] = getattr(e.action, ref)
                out.append(row)
    return sorted(out, key=lambda d: json.dumps(d, sort_keys=True))


def action_fields(p4info: object, action: object) -> dict:
    name = getattr(action, "name", None)
    widths = {p.name: p.bitwidth for p in p4info.actions[name].params} if name else {}
    return {"action": name, "args": {k: fmt(v, widths.get(k, 0))
                                     for k, v in (getattr(action, "args", None) or {}).items()}}


def main(argv: list[str]) -> int:
    logging.getLogger("finsy").setLevel(logging.CRITICAL)
    if len(argv) < 2:
        print("usage: python -m p4mobility.lab.inspect HOST:PORT TABLE|PROFILE...", file=sys.stderr)
        return 2
    for row in asyncio.run(dump(argv[0], argv[1:])):
        print(json.dumps(row, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
