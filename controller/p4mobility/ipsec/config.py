"""Manual keying from a TOML file (RFC 3776 §5.2, RFC 5213 §4.2 examples).

Rule: the vocabulary is `ip xfrm`'s (state: src, dst, proto, spi, reqid, mode,
dir, replay-window, esn, aead/enc/auth, limit, sel; policy: dir, selector,
action, tmpl) with RFC 4301 actions and swanctl-style local/remote selectors.
Keys are never inline: each algorithm names a ``key-file`` holding hex; a key
file that group or others may access, or that another user owns, is refused.
Unknown words are errors (a typo must not weaken a policy). Every problem is
an ``IpsecConfigError(key, problem)``; nothing else escapes.
"""
from __future__ import annotations

import os
import stat
import tomllib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from p4mobility.binding import confread as cr
from p4mobility.binding.confread import FILE_KEY

from .errors import IpsecConfigError
from .ipframe import Proto
from .sa import Lifetime, Sa
from .sad import Sad
from .spd import Action, Dir, Mode, Selector, Spd, SpdEntry, Template
from .transforms import Algo

_STATE_KEYS = {"src", "dst", "proto", "spi", "reqid", "mode", "dir", "replay-window", "esn",
               "aead", "enc", "auth", "limit", "sel", "replay-oseq"}
_ALGO_KEYS = {"name", "key-file", "icv-len", "trunc-len"}
_LIMIT_KEYS = {"byte-soft", "byte-hard", "packet-soft", "packet-hard", "time-soft", "time-hard"}
_SEL_KEYS = {"local", "remote", "proto", "local-port", "remote-port", "icmp-type", "icmp-code",
             "local-mh-type", "remote-mh-type"}
_POLICY_KEYS = _SEL_KEYS | {"dir", "action", "tmpl", "name"}
_TMPL_KEYS = {"reqid", "mode", "proto"}
_PROTO_NAMES = {"any": None, "mh": Proto.MH, "ipv6-mh": Proto.MH, "icmpv6": Proto.ICMPV6,
                "ipv6-icmp": Proto.ICMPV6, "icmp": Proto.ICMP, "tcp": Proto.TCP, "udp": Proto.UDP}


@dataclass
class IpsecConfig:
    """The SAs and the ordered SPD of one configuration file."""

    sas: list[Sa]
    spd: Spd

    def build_sad(self, now: float) -> Sad:
        sad = Sad()
        for sa in self.sas:
            try:
                sad.add(sa, now)
            except ValueError as exc:
                raise IpsecConfigError("state", str(exc)) from None
        return sad


def load_config(path: str | os.PathLike[str]) -> IpsecConfig:
    """Read and validate a TOML configuration; key files resolve relative to it."""
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except OSError as exc:
        raise IpsecConfigError(FILE_KEY, f"cannot read: {exc.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise IpsecConfigError(FILE_KEY, f"not valid TOML: {exc}") from None
    return parse_config(data, p.parent)


def parse_config(data: dict[str, Any], base: Path) -> IpsecConfig:
    _only(data, {"state", "policy"}, "")
    states = _list(data.get("state", []), "state")
    policies = _list(data.get("policy", []), "policy")
    sas = [_state(s, f"state[{i}]", base) for i, s in enumerate(states)]
    spd = Spd([_policy(p, f"policy[{i}]") for i, p in enumerate(policies)])
    return IpsecConfig(sas, spd)


def read_key_file(path: Path, where: str) -> bytes:
    """Hex key material from a file that only its owner may access."""
    try:
        st = path.stat()
    except OSError as exc:
        raise IpsecConfigError(where, f"cannot stat key file {path}: {exc.strerror}") from None
    if not stat.S_ISREG(st.st_mode):
        raise IpsecConfigError(where, f"key file {path} is not a regular file")
    if st.st_mode & 0o077:
        raise IpsecConfigError(where, f"key file {path} is accessible by group/others "
                                      f"(mode {stat.S_IMODE(st.st_mode):04o}); chmod 600")
    if st.st_uid not in (os.getuid(), 0):
        raise IpsecConfigError(where, f"key file {path} is owned by another user")
    text = path.read_text(encoding="ascii", errors="replace")
    hexstr = "".join(text.split()).removeprefix("0x")
    try:
        key = bytes.fromhex(hexstr)
    except ValueError:
        raise IpsecConfigError(where, f"key file {path} must hold hex digits") from None
    if not key:
        raise IpsecConfigError(where, f"key file {path} is empty")
    return key


def _only(table: Any, allowed: set[str], where: str) -> None:
    if not isinstance(table, dict):
        raise cr.fail(where or "config", "a table", table, IpsecConfigError)
    for key in table:
        if key not in allowed:
            raise IpsecConfigError(f"{where}.{key}".lstrip("."), "unknown setting")


def _list(value: Any, where: str) -> list[Any]:
    if not isinstance(value, list):
        raise cr.fail(where, f"an array of tables ([[{where}]])", value, IpsecConfigError)
    return value


def _int(value: Any, where: str, lo: int = 0, hi: int = (1 << 64) - 1) -> int:
    if isinstance(value, str):
        try:
            value = int(value, 0)
        except ValueError:
            raise cr.fail(where, f"an integer in {lo}..{hi}", value, IpsecConfigError) from None
    if not isinstance(value, int) or isinstance(value, bool) or not lo <= value <= hi:
        raise cr.fail(where, f"an integer in {lo}..{hi}", value, IpsecConfigError)
    return value


def _algo(table: Any, where: str, base: Path) -> Algo:
    _only(table, _ALGO_KEYS, where)
    if "name" not in table:
        raise IpsecConfigError(f"{where}.name", "missing")
    key = b""
    if "key-file" in table:
        key = read_key_file(base / _str(table["key-file"], f"{where}.key-file"), f"{where}.key-file")
    bits = _int(table.get("icv-len", table.get("trunc-len", 128)), f"{where}.icv-len", 32, 512)
    return Algo(_str(table["name"], f"{where}.name"), key, bits)


def _state(t: Any, where: str, base: Path) -> Sa:
    _only(t, _STATE_KEYS, where)
    for need in ("src", "dst", "spi"):
        if need not in t:
            raise IpsecConfigError(f"{where}.{need}", "missing")
    limit = t.get("limit", {})
    _only(limit, _LIMIT_KEYS, f"{where}.limit")
    lt = Lifetime(**{k.replace("-", "_"): _int(v, f"{where}.limit.{k}") for k, v in limit.items()})
    algos = {k: _algo(t[k], f"{where}.{k}", base) for k in ("aead", "enc", "auth") if k in t}
    try:
        return Sa(
            spi=_int(t["spi"], f"{where}.spi", 0, 0xFFFFFFFF), src=_str(t["src"], f"{where}.src"),
            dst=_str(t["dst"], f"{where}.dst"),
            dir=_enum(Dir, t.get("dir", "in"), f"{where}.dir"),
            mode=_enum(Mode, t.get("mode", "transport"), f"{where}.mode"),
            proto=_str(t.get("proto", "esp"), f"{where}.proto"), reqid=_int(t.get("reqid", 0), f"{where}.reqid"),
            esn=_bool(t.get("esn", False), f"{where}.esn"),
            replay_window=_int(t.get("replay-window", 64), f"{where}.replay-window"),
            lifetime=lt, sel=_selector(t["sel"], f"{where}.sel", _SEL_KEYS) if "sel" in t else None,
            oseq=_int(t.get("replay-oseq", 0), f"{where}.replay-oseq"), **algos)
    except IpsecConfigError as exc:
        if exc.key.startswith(where):
            raise
        raise IpsecConfigError(f"{where}.{exc.key}", exc.problem) from None


def _policy(t: Any, where: str) -> SpdEntry:
    _only(t, _POLICY_KEYS, where)
    action = _enum(Action, t.get("action", "protect"), f"{where}.action")
    tmpl = None
    if "tmpl" in t:
        tt = t["tmpl"]
        _only(tt, _TMPL_KEYS, f"{where}.tmpl")
        if tt.get("proto", "esp") != "esp":
            raise IpsecConfigError(f"{where}.tmpl.proto", "only esp is supported")
        tmpl = Template(_int(tt.get("reqid", 0), f"{where}.tmpl.reqid"),
                        _enum(Mode, tt.get("mode", "transport"), f"{where}.tmpl.mode"))
    if (action == Action.PROTECT) != (tmpl is not None):
        raise IpsecConfigError(f"{where}.tmpl", "required with action protect, refused otherwise")
    sel = _selector(t, where, _POLICY_KEYS)
    name = _str(t["name"], f"{where}.name") if "name" in t else ""
    return SpdEntry(_enum(Dir, t.get("dir", ""), f"{where}.dir"), sel, action, tmpl, name)


def _selector(t: Any, where: str, allowed: set[str]) -> Selector:
    _only(t, allowed, where)
    proto = t.get("proto", "any")
    if isinstance(proto, str) and proto.lower() in _PROTO_NAMES:
        proto = _PROTO_NAMES[proto.lower()]
    elif proto is not None:
        proto = _int(proto, f"{where}.proto", 0, 255)

    def opt_int(k: str, hi: int) -> int | None:
        return None if k not in t else _int(t[k], f"{where}.{k}", 0, hi)

    try:
        local, remote = (None if t.get(k) is None else _str(t[k], f"{where}.{k}") for k in ("local", "remote"))
        return Selector(local=local, remote=remote, proto=proto,
                        local_ports=_ports(t.get("local-port"), f"{where}.local-port"),
                        remote_ports=_ports(t.get("remote-port"), f"{where}.remote-port"),
                        icmp_type=opt_int("icmp-type", 255), icmp_code=opt_int("icmp-code", 255),
                        local_mh_type=opt_int("local-mh-type", 255),
                        remote_mh_type=opt_int("remote-mh-type", 255))
    except IpsecConfigError:
        raise
    except ValueError as exc:
        raise IpsecConfigError(where, str(exc)) from None


def _ports(v: Any, where: str) -> tuple[int, int] | None:
    if v is None:
        return None
    if isinstance(v, str) and "-" in v:
        lo, hi = (_int(x.strip(), where, 0, 65535) for x in v.split("-", 1))
    else:
        lo = hi = _int(v, where, 0, 65535)
    if lo > hi:
        raise IpsecConfigError(where, "empty port range")
    return lo, hi


def _str(value: Any, where: str) -> str:
    return cr.string(where, value, error=IpsecConfigError)


def _enum(cls: Any, value: Any, where: str) -> Any:
    if not isinstance(value, str):
        raise cr.fail(where, f"one of {', '.join(m.value for m in cls)}", value, IpsecConfigError)
    try:
        return cls(value.lower())
    except ValueError:
        raise IpsecConfigError(where, f"must be one of {', '.join(m.value for m in cls)}") from None


def _bool(v: Any, where: str) -> bool:
    return cr.boolean(where, v, error=IpsecConfigError)
