"""Errors every mobility core shares.

Rule: a configuration problem is a ``ConfigError(key, problem)`` whose key is
the dotted path of the offending value ("mag.proxy_coa", "routes[1].port");
callers print it, never a traceback.
"""
from __future__ import annotations


class ConfigError(ValueError):
    """A configuration value is missing, unknown or out of range."""

    def __init__(self, key: str, problem: str) -> None:
        super().__init__(f"{key}: {problem}")
        self.key = key
        self.problem = problem


__all__ = ["ConfigError"]
