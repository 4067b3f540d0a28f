"""Typed reading of configuration values (as read from TOML), shared by every loader.

Rule: each reader takes the value's dotted key and the value, returns it as the
type asked for, or raises ``error(key, "expected <what>, got <TOML type> <value>")``
(``error`` is the loader's ConfigError class, default binding.errors.ConfigError),
so a wrong type is named with the key and what the key expects, never iterated,
converted by accident or reported as a Python TypeError. A problem with the
file itself uses the key ``FILE_KEY``; ``located`` formats any error once with
the file name.
"""
from __future__ import annotations

from datetime import date, datetime, time
from ipaddress import IPv6Address, IPv6Network, ip_address
from typing import Any, Callable, Mapping, TypeVar

from .errors import ConfigError

FILE_KEY = "<file>"
T = TypeVar("T")


def kind_of(value: Any) -> str:
    """The TOML type of ``value`` in words ("a string", "an array", ...)."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (datetime, date, time)):
        return "a date/time"
    return type(value).__name__


def fail(key: str, what: str, value: Any, error: type = ConfigError) -> Exception:
    """The error for ``key`` holding ``value`` where ``what`` is expected (raise it)."""
    shown = repr(value)
    if len(shown) > 60:
        shown = shown[:57] + "..."
    return error(key, f"expected {what}, got {kind_of(value)} {shown}")


def table(key: str, value: Any, what: str = "a table", error: type = ConfigError) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise fail(key, what, value, error)
    return value


def array(key: str, value: Any, item: Callable[[str, Any], T], what: str,
          error: type = ConfigError) -> list[T]:
    """A TOML array whose elements ``item(f"{key}[i]", v)`` reads; ``what`` names them."""
    if not isinstance(value, list):
        raise fail(key, f"an array of {what}", value, error)
    return [item(f"{key}[{i}]", v) for i, v in enumerate(value)]


def string(key: str, value: Any, error: type = ConfigError) -> str:
    if not isinstance(value, str) or not value:
        raise fail(key, "a non-empty string", value, error)
    return value


def boolean(key: str, value: Any, error: type = ConfigError) -> bool:
    if not isinstance(value, bool):
        raise fail(key, "true or false", value, error)
    return value


def integer(key: str, value: Any, lo: int, hi: int, error: type = ConfigError) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not lo <= value <= hi:
        raise fail(key, f"an integer in {lo}..{hi}", value, error)
    return value


def number(key: str, value: Any, lo: float, hi: float, error: type = ConfigError) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not lo <= value <= hi:
        raise fail(key, f"a number in {lo}..{hi}", value, error)
    return float(value)


def ipv6_address(key: str, value: Any, error: type = ConfigError) -> IPv6Address:
    try:
        if isinstance(value, str):
            return IPv6Address(value)
    except ValueError:
        pass
    raise fail(key, "an IPv6 address", value, error)


def ipv6_network(key: str, value: Any, error: type = ConfigError) -> IPv6Network:
    try:
        if isinstance(value, str):
            return IPv6Network(value)
    except ValueError:
        pass
    raise fail(key, "an IPv6 prefix (host bits clear)", value, error)


def host_port(key: str, value: Any, error: type = ConfigError) -> str:
    """``host:port`` as gRPC takes it: a name or IPv4 address, or ``[IPv6]``, then a port 1..65535."""
    what = "host:port (a name, an IPv4 address or [IPv6 address], then a port 1..65535)"
    if not isinstance(value, str):
        raise fail(key, what, value, error)
    host, sep, port = value.rpartition(":")
    ok = bool(sep and host) and port.isdigit() and 1 <= int(port) <= 65535
    if ok and host.startswith("["):
        ok = host.endswith("]") and _is_ip(host[1:-1], 6)
    elif ok:
        ok = ":" not in host and not any(c.isspace() or c in "/[]" for c in host)
    if not ok:
        raise fail(key, what, value, error)
    return value


def _is_ip(text: str, version: int) -> bool:
    try:
        return ip_address(text).version == version
    except ValueError:
        return False


def located(path: Any, exc: Exception) -> str:
    """One line naming the file once: ``path: key: problem`` (``path: problem`` for the file)."""
    key, problem = getattr(exc, "key", FILE_KEY), getattr(exc, "problem", str(exc))
    return f"{path}: {problem}" if key == FILE_KEY else f"{path}: {key}: {problem}"


__all__ = ["FILE_KEY", "array", "boolean", "fail", "host_port", "integer", "ipv6_address", "ipv6_network",
           "kind_of", "located", "number", "string", "table"]
