"""Mobile-node configuration: RFC 6275 §12/§13, RFC 5555 and RFC 5648 knobs.

Rule: field names follow the RFC constant/variable names in snake_case
(``initial_bindack_timeout``, ``max_bindack_timeout``, ``max_update_rate``,
``initial_bindack_timeout_first_reg``), times are seconds, defaults are the
RFC defaults. ``MnConfig.from_dict`` validates a plain dict (as read from
TOML) and raises ``ConfigError(key, problem)`` naming the offending key;
nothing is half-built on error.

IPv4 home address (RFC 5555 §3.1.1): None = do not ask for one; 0.0.0.0 =
ask the HA to assign one; any other value = this static address.
"""
from __future__ import annotations

import dataclasses
import types
import typing
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address, IPv6Network
from typing import Any, Mapping

from p4mobility.binding import confread
from p4mobility.binding.errors import ConfigError
from p4mobility.binding.lifetime import MAX_LIFETIME_SECONDS

UNSPECIFIED_V4 = IPv4Address(0)


@dataclass(frozen=True, slots=True)
class MnConfig:
    """One mobile node, one home agent."""

    home_address: IPv6Address  # RFC 6275 §11.7.1: carried in the Home Address option
    home_agent: IPv6Address  # BU destination
    home_agent_ipv4: IPv4Address | None = None  # RFC 5555 §4.1: needed to register IPv4 CoAs
    home_prefix_length: int = 64  # RFC 6275 §11.5.4: home subnet prefix on-link = at home
    ipv4_home_address: IPv4Address | None = None  # RFC 5555 §3.1.1 (see module docstring)
    ipv4_home_prefix_length: int = 32  # RFC 5555 §3.1.1: Prefix-len, 32 = one address
    requested_lifetime: float = 3600.0  # BU lifetime asked for (capped by the CoA's lifetime)
    refresh_fraction: float = 0.8  # re-register at this fraction of the granted lifetime
    initial_bindack_timeout_first_reg: float = 1.5  # RFC 6275 §13 InitialBindackTimeoutFirstReg
    initial_bindack_timeout: float = 1.0  # RFC 6275 §12 INITIAL_BINDACK_TIMEOUT
    max_bindack_timeout: float = 32.0  # RFC 6275 §12 MAX_BINDACK_TIMEOUT
    max_update_rate: int = 3  # RFC 6275 §12 MAX_UPDATE_RATE: BUs per second to the HA
    max_bu_retransmissions: int | None = None  # RFC 6275 §11.8: None = keep trying at the max timeout
    max_dereg_retransmissions: int = 3  # de-registrations give up (the HA's binding expires anyway)
    max_sequence_resyncs: int = 3  # status 135 answers taken per BU before giving up
    force_udp_encapsulation: bool = False  # RFC 5555 §3.1.3: F flag on BUs sent over IPv4
    nat_keepalive_interval: float = 110.0  # RFC 5555 §5 NATKATIMEOUT (refresh time 0 in the BA)
    mn_udp_port: int = 4191  # UDP source port of BUs/data over IPv4 (RFC 5555 §4.1)
    multiple_coa: bool = False  # RFC 5648: one binding (BID) per access interface
    bulk_registration: bool = False  # RFC 5648 §5.3: several BID options in one BU
    interfaces: tuple[str, ...] = ()  # access interfaces in order of preference; () = any
    initial_solicit_timer: float = 3.0  # RFC 6275 §12 INITIAL_SOLICIT_TIMER (Mobile Prefix Solicitation)
    solicit_prefixes_after_registration: bool = True  # one MPS once the first registration is accepted

    @property
    def home_prefix(self) -> IPv6Network:
        return IPv6Network((self.home_address, self.home_prefix_length), strict=False)

    def bid_of(self, interface: str, seen: list[str]) -> int | None:
        """RFC 5648 §5.1: the BID of an interface: its position in ``interfaces``
        (1-based), or, with no list, in the order interfaces were first seen."""
        order = self.interfaces or tuple(seen)
        return order.index(interface) + 1 if interface in order else None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> "MnConfig":
        if not isinstance(data, Mapping):
            raise ConfigError("<root>", f"expected a table, got {type(data).__name__}")
        hints = typing.get_type_hints(cls)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        for key in data:
            if key not in fields:
                raise ConfigError(str(key), "unknown key")
        kwargs: dict[str, Any] = {}
        for name, f in fields.items():
            if name in data:
                kwargs[name] = _convert(name, hints[name], data[name])
            elif f.default is dataclasses.MISSING:
                raise ConfigError(name, "required")
        cfg = cls(**kwargs)
        cfg.check()
        return cfg

    def check(self) -> None:
        """Range checks; raises ConfigError."""
        for key in ("requested_lifetime", "initial_bindack_timeout_first_reg", "initial_bindack_timeout",
                    "max_bindack_timeout", "nat_keepalive_interval", "initial_solicit_timer"):
            if not getattr(self, key) > 0:
                raise ConfigError(key, "must be > 0")
        if self.requested_lifetime > MAX_LIFETIME_SECONDS:
            raise ConfigError("requested_lifetime", f"must be <= {MAX_LIFETIME_SECONDS} (16 bits of 4 s)")
        if not 0.0 < self.refresh_fraction < 1.0:
            raise ConfigError("refresh_fraction", "must be between 0 and 1")
        if self.max_bindack_timeout < max(self.initial_bindack_timeout, self.initial_bindack_timeout_first_reg):
            raise ConfigError("max_bindack_timeout", "must be >= the initial timeouts")
        if self.max_update_rate < 1:
            raise ConfigError("max_update_rate", "must be >= 1")
        for key in ("max_dereg_retransmissions", "max_sequence_resyncs"):
            if getattr(self, key) < 0:
                raise ConfigError(key, "must be >= 0")
        if self.max_bu_retransmissions is not None and self.max_bu_retransmissions < 0:
            raise ConfigError("max_bu_retransmissions", "must be >= 0")
        if not 0 < self.home_prefix_length <= 128:
            raise ConfigError("home_prefix_length", "must be 1..128")
        if not 1 <= self.ipv4_home_prefix_length <= 32:
            raise ConfigError("ipv4_home_prefix_length", "must be 1..32 (RFC 5555 §3.1.1: 0 is invalid)")
        if not 0 < self.mn_udp_port < 65536:
            raise ConfigError("mn_udp_port", "must be 1..65535")
        if len(set(self.interfaces)) != len(self.interfaces) or len(self.interfaces) > 0xFFFF:
            raise ConfigError("interfaces", "names must be unique (each gets a BID)")
        if self.bulk_registration and not self.multiple_coa:
            raise ConfigError("bulk_registration", "needs multiple_coa (RFC 5648)")

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for f in dataclasses.fields(self):
            v = getattr(self, f.name)
            if v is None:
                continue
            out[f.name] = (str(v) if isinstance(v, (IPv4Address, IPv6Address))
                           else list(v) if isinstance(v, tuple) else v)
        return out


def _convert(key: str, hint: Any, value: Any) -> Any:
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        if value is None:
            return None
        hint = next(a for a in args if a is not type(None))
    if hint in (IPv4Address, IPv6Address):
        try:
            if isinstance(value, str):  # IPv6Address(5) would be ::5
                return hint(value)
        except ValueError:
            pass
        raise confread.fail(key, f"an {hint.__name__[:4]} address", value)
    if hint is bool:
        if not isinstance(value, bool):
            raise ConfigError(key, f"expected true/false, got {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ConfigError(key, f"expected an integer, got {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise ConfigError(key, f"expected a number of seconds, got {value!r}")
        return float(value)
    if typing.get_origin(hint) is tuple:
        if not isinstance(value, (list, tuple)) or not all(isinstance(v, str) and v for v in value):
            raise ConfigError(key, f"expected a list of names, got {value!r}")
        return tuple(value)
    raise ConfigError(key, f"unsupported type {hint}")  # pragma: no cover


__all__ = ["MnConfig", "ConfigError", "UNSPECIFIED_V4"]
