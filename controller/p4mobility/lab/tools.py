"""Finding the external programs the lab and the tests run.

Rule: a program is looked up on PATH, then in each directory of
P4MOB_TOOL_DIRS (':'-separated; default /opt/p4/bin, where the reference
p4c/bmv2 toolchain is installed; empty means PATH only, as `make test-bare`
sets it). A program that is absent is a reason string naming it and what
provides it, never an exception: callers skip (tests) or refuse (lab) with it.
"""
from __future__ import annotations

import os
import shutil

DEFAULT_TOOL_DIRS = "/opt/p4/bin"

# what provides each program, for the reason string
PROVIDERS = {
    "simple_switch_grpc": "bmv2; see the README's reference toolchain",
    "p4c-bm2-ss": "p4c; see the README's reference toolchain",
    "ovs-vsctl": "Open vSwitch; apt-get install openvswitch-switch",
    "tshark": "apt-get install tshark",
    "tcpdump": "apt-get install tcpdump",
    "mnexec": "apt-get install mininet",
    "brctl": "apt-get install bridge-utils",
    "ip": "apt-get install iproute2",
    "ping": "apt-get install iputils-ping",
    "nft": "apt-get install nftables",
    "etcd": "apt-get install etcd-server",
}


def tool_dirs() -> list[str]:
    return [d for d in os.environ.get("P4MOB_TOOL_DIRS", DEFAULT_TOOL_DIRS).split(":") if d]


def find_tool(name: str, extra_dirs: tuple[str, ...] = ()) -> str | None:
    """The path of program ``name`` (PATH, then ``extra_dirs``, then tool_dirs()), or None."""
    found = shutil.which(name)
    if found:
        return found
    for d in (*extra_dirs, *tool_dirs()):
        path = os.path.join(d, name)
        if os.path.isfile(path) and os.access(path, os.X_OK):
            return path
    return None


def tool_missing(*names: str, extra_dirs: tuple[str, ...] = ()) -> str | None:
    """None when every program of ``names`` is found, else why not (the first one missing)."""
    for name in names:
        if find_tool(name, extra_dirs) is None:
            dirs = [*extra_dirs, *tool_dirs()]
            hint = PROVIDERS.get(name)
            return (f"{name} not found on PATH" + (f" or in {':'.join(dirs)}" if dirs else "")
                    + (f" ({hint})" if hint else ""))
    return None


__all__ = ["DEFAULT_TOOL_DIRS", "find_tool", "tool_dirs", "tool_missing"]
