"""`python -m p4mobility.lab.inspect ADDR TABLE...`: dump a switch's entries as JSON.

Rule: an independent reader for tests and operators: a second P4Runtime
client (election id 1, so it never becomes primary over a node controller)
Reads the named tables and prints one JSON object per entry, sorted; it
shares no code with the node's writer.
"""
from __future__ import annotations

import asyncio
import json
import logging
import sys

import finsy
from finsy import P4TableEntry

from p4mobility.runtime.nodeconfig import DEFAULT_P4INFO


async def dump(addr: str, tables: list[str]) -> list[dict]:
    opts = finsy.SwitchOptions(p4info=DEFAULT_P4INFO, initial_election_id=1, device_id=1)
    out = []
    async with finsy.Switch("inspect", addr, opts) as sw:
        for t in tables:
            async for e in sw.read(P4TableEntry(t)):
                action = e.action
                out.append({"table": t, "match": {k: str(v) for k, v in (e.match or {}).items()},
                            "priority": e.priority,
                            "action": getattr(action, "name", None),
                            "args": {k: str(v) for k, v in (getattr(action, "args", None) or {}).items()}})
    return sorted(out, key=lambda d: json.dumps(d, sort_keys=True))


def main(argv: list[str]) -> int:
    logging.getLogger("finsy").setLevel(logging.CRITICAL)
    if len(argv) < 2:
        print("usage: python -m p4mobility.lab.inspect HOST:PORT TABLE...", file=sys.stderr)
        return 2
    for row in asyncio.run(dump(argv[0], argv[1:])):
        print(json.dumps(row, sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
