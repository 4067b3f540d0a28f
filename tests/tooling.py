"""External programs in tests: found one way, skipped with the reason when absent.

Rule: every test that runs an external program (p4c-bm2-ss, simple_switch_grpc,
ovs-vsctl, tshark, tcpdump, mnexec, brctl, ip, etcd, ...) finds it with
p4mobility.lab.tools (PATH, then P4MOB_TOOL_DIRS, default /opt/p4/bin) and
skips, never fails, when it is absent; the skip reason names the program and
what provides it. `make test-bare` runs the suite with those programs hidden.
"""
from __future__ import annotations

import pytest

from p4mobility.lab.tools import find_tool, tool_missing


def require_tool(name: str, extra_dirs: tuple[str, ...] = ()) -> str:
    """The path of ``name``, or skip the calling test with the reason."""
    __tracebackhide__ = True  # the skip is reported at the caller's line
    path = find_tool(name, extra_dirs)
    if path is None:
        pytest.skip(tool_missing(name, extra_dirs=extra_dirs))
    return path


def needs_tools(*names: str) -> pytest.MarkDecorator:
    """A skipif mark for a test or module that runs ``names``."""
    reason = tool_missing(*names)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def require_lab(*tools: str) -> None:
    """Skip the calling test unless a lab on the embedded target can run here (root, ip,
    the p4c outputs, the switch program) with ``tools`` too (ping, mount, ...)."""
    __tracebackhide__ = True
    from p4mobility.lab.lab import LabError, find_switch, lab_unavailable

    reason = lab_unavailable() or (tool_missing(*tools) if tools else None)
    if reason:
        pytest.skip(reason)
    try:
        find_switch("embedded")
    except LabError as exc:
        pytest.skip(str(exc))


__all__ = ["find_tool", "needs_tools", "require_lab", "require_tool", "tool_missing"]
