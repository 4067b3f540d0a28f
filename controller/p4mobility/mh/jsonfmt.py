"""JSON form of Mobility Header messages (field list: docs/mh-json.md).

Rule: one flat, readable object per message and per option; names are
snake_case words, addresses are strings, prefixes "addr/len", bytes are hex
(an NAI is text when it is printable UTF-8), 4-second lifetimes are given in
seconds (``lifetime_seconds``, ``refresh_interval_seconds``). Enumerated
values are numbers with a ``*_name`` companion on output; input takes either.
``message_from_json(message_to_json(m)) == m`` for every message; unknown or
badly typed fields raise MhJsonError (a ValueError), never anything else.
"""
from __future__ import annotations

from dataclasses import MISSING, fields
from datetime import datetime, timezone
from enum import IntEnum
from ipaddress import IPv4Address, IPv6Address
from typing import Any, Callable

from . import options as o
from .constants import AccessTechnologyType, BaStatus, BeStatus, HandoffIndicator, Ipv4AckStatus, MnIdSubtype
from .messages import (
    BindingAck,
    BindingError,
    BindingRefreshRequest,
    BindingUpdate,
    CareofTest,
    CareofTestInit,
    HomeTest,
    HomeTestInit,
)


class MhJsonError(ValueError):
    """JSON that does not describe a Mobility Header message."""


MESSAGE_NAMES = {
    BindingRefreshRequest: "binding_refresh_request", HomeTestInit: "home_test_init",
    CareofTestInit: "careof_test_init", HomeTest: "home_test", CareofTest: "careof_test",
    BindingUpdate: "binding_update", BindingAck: "binding_ack", BindingError: "binding_error",
}
OPTION_NAMES = {
    o.PadN: "padn", o.Pad1: "pad1",
    o.BindingRefreshAdvice: "binding_refresh_advice", o.AlternateCareofAddress: "alternate_careof_address",
    o.NonceIndices: "nonce_indices", o.BindingAuthorizationData: "binding_authorization_data",
    o.MobileNetworkPrefix: "mobile_network_prefix", o.MnIdentifier: "mn_identifier",
    o.HomeNetworkPrefix: "home_network_prefix", o.HandoffIndicatorOption: "handoff_indicator",
    o.AccessTechnologyTypeOption: "access_technology_type",
    o.MnLinkLayerIdentifier: "mn_link_layer_identifier", o.LinkLocalAddress: "link_local_address",
    o.Timestamp: "timestamp", o.Ipv4HomeAddress: "ipv4_home_address",
    o.Ipv4AddressAcknowledgement: "ipv4_address_acknowledgement", o.NatDetection: "nat_detection",
    o.Ipv4CareofAddress: "ipv4_careof_address", o.GreKey: "gre_key", o.BindingIdentifier: "binding_identifier",
    o.Ipv4HomeAddressRequest: "ipv4_home_address_request", o.Ipv4HomeAddressReply: "ipv4_home_address_reply",
    o.Ipv4DefaultRouterAddress: "ipv4_default_router_address", o.UnknownOption: "unknown",
}
_MSG_BY_NAME = {v: k for k, v in MESSAGE_NAMES.items()}
_OPT_BY_NAME = {v: k for k, v in OPTION_NAMES.items()}
BU_FLAGS = ("ack", "home_registration", "link_local_compat", "key_mgmt_compat", "map_registration",
            "mobile_router", "proxy", "force_udp", "tlv_header", "bulk")
BA_FLAGS = ("key_mgmt_compat", "mobile_router", "proxy", "tlv_header", "bulk")
# Enumerated fields: (class, field) -> enum, for the *_name companions.
_ENUMS: dict[tuple[type, str], type[IntEnum]] = {
    (BindingAck, "status"): BaStatus, (BindingError, "status"): BeStatus,
    (o.HandoffIndicatorOption, "value"): HandoffIndicator,
    (o.AccessTechnologyTypeOption, "value"): AccessTechnologyType,
    (o.MnIdentifier, "subtype"): MnIdSubtype, (o.Ipv4AddressAcknowledgement, "status"): Ipv4AckStatus,
    (o.BindingIdentifier, "status"): BaStatus,
}


def _enum_out(out: dict, cls: type, field: str, value: int) -> None:
    out[field] = value
    enum = _ENUMS.get((cls, field))
    if enum is not None and value in enum._value2member_map_:
        out[field + "_name"] = enum(value).name


def _printable_text(b: bytes) -> str | None:
    try:
        s = b.decode("utf-8")
    except UnicodeDecodeError:
        return None
    return s if s.isprintable() and s.strip() == s and s else None


def option_to_json(opt: o.MobilityOption) -> dict:
    cls = type(opt)
    out: dict[str, Any] = {"type": OPTION_NAMES.get(cls, "unknown")}
    if isinstance(opt, o.UnknownOption):
        out.update(type_code=opt.type_code, data=opt.data.hex())
    elif isinstance(opt, (o.HomeNetworkPrefix, o.MobileNetworkPrefix)):
        out["prefix"] = f"{opt.prefix}/{opt.prefix_length}"
    elif isinstance(opt, o.MnIdentifier):
        _enum_out(out, cls, "subtype", opt.subtype)
        text = _printable_text(opt.identifier) if opt.subtype == MnIdSubtype.NAI else None
        if text is not None:
            out["identifier"] = text
        else:
            out["identifier_hex"] = opt.identifier.hex()
    elif isinstance(opt, o.Timestamp):
        out["value"] = opt.value
        out["seconds"] = opt.seconds
        try:
            out["utc"] = datetime.fromtimestamp(opt.value >> 16, timezone.utc).isoformat()
        except (OverflowError, ValueError, OSError):
            pass
    elif isinstance(opt, o.BindingRefreshAdvice):
        out["refresh_interval_seconds"] = opt.refresh_interval * 4
    else:
        for fld in fields(opt):
            name = fld.name
            v = getattr(opt, name)
            if isinstance(v, bool) or v is None:
                out[name] = v
            elif isinstance(v, int):
                _enum_out(out, cls, name, v)
            elif isinstance(v, bytes):
                out[name] = v.hex()
            else:
                out[name] = str(v)
    return out


def message_to_json(msg) -> dict:
    """The JSON object (a dict) for ``msg``."""
    cls = type(msg)
    out: dict[str, Any] = {"type": MESSAGE_NAMES[cls]}
    if cls in (BindingUpdate, BindingAck):
        if cls is BindingAck:
            _enum_out(out, cls, "status", msg.status)
        out["sequence"] = msg.sequence
        out["lifetime_seconds"] = msg.lifetime * 4
        out["flags"] = [f for f in (BU_FLAGS if cls is BindingUpdate else BA_FLAGS) if getattr(msg, f)]
        if msg.other_flags:
            out["other_flags"] = msg.other_flags
    elif cls is BindingError:
        _enum_out(out, cls, "status", msg.status)
        out["home_address"] = str(msg.home_address)
    elif cls in (HomeTest, CareofTest):
        out.update(nonce_index=msg.nonce_index, init_cookie=msg.init_cookie.hex(),
                   keygen_token=msg.keygen_token.hex())
    elif cls in (HomeTestInit, CareofTestInit):
        out["init_cookie"] = msg.init_cookie.hex()
    out["options"] = [option_to_json(opt) for opt in msg.options]
    return out


# --- input -------------------------------------------------------------------

def _int(v: Any, what: str, enum: type[IntEnum] | None = None) -> int:
    if isinstance(v, str) and enum is not None and v in enum.__members__:
        return int(enum[v])
    if isinstance(v, bool) or not isinstance(v, int):
        raise MhJsonError(f"{what}: expected an integer{' or a name' if enum else ''}, got {v!r}")
    return v


def _bool(v: Any, what: str) -> bool:
    if not isinstance(v, bool):
        raise MhJsonError(f"{what}: expected true/false, got {v!r}")
    return v


def _hex(v: Any, what: str) -> bytes:
    if not isinstance(v, str):
        raise MhJsonError(f"{what}: expected a hex string, got {v!r}")
    try:
        return bytes.fromhex(v.replace(":", "").replace(" ", ""))
    except ValueError:
        raise MhJsonError(f"{what}: not hex: {v!r}") from None


def _addr(v: Any, what: str, kind: Callable = IPv6Address):
    try:
        return kind(v) if isinstance(v, str) else kind("!")
    except ValueError:
        raise MhJsonError(f"{what}: not an {kind.__name__[:4]} address: {v!r}") from None


def _any_addr(v: Any, what: str):
    if v is None:
        return None
    return _addr(v, what, IPv4Address) if isinstance(v, str) and ":" not in v else _addr(v, what)


def _prefix(v: Any, what: str) -> tuple[int, IPv6Address]:
    if not isinstance(v, str) or v.count("/") != 1:
        raise MhJsonError(f"{what}: expected 'address/length', got {v!r}")
    a, plen = v.split("/")
    if not (plen.isascii() and plen.isdigit()) or int(plen) > 128:  # an IPv6 prefix length: 0..128
        raise MhJsonError(f"{what}: bad prefix length in {v!r} (0..128)")
    return int(plen), _addr(a, what)


class _Fields:
    """Pops fields from a JSON object; leftover keys are an error."""

    def __init__(self, d: Any, what: str) -> None:
        if not isinstance(d, dict):
            raise MhJsonError(f"{what}: expected an object, got {type(d).__name__}")
        self.d, self.what = dict(d), what
        self.d.pop("type", None)

    def get(self, key: str, default: Any = ...) -> Any:
        if key in self.d:
            return self.d.pop(key)
        if default is ...:
            raise MhJsonError(f"{self.what}: missing field {key!r}")
        return default

    def done(self) -> None:
        for k in ("status_name", "value_name", "subtype_name"):  # output-only companions
            self.d.pop(k, None)
        if self.what == "timestamp":
            self.d.pop("seconds", None)
            self.d.pop("utc", None)
        if self.d:
            raise MhJsonError(f"{self.what}: unknown field(s) {sorted(self.d)}")


def option_from_json(d: Any) -> o.MobilityOption:
    name = d.get("type") if isinstance(d, dict) else None
    cls = _OPT_BY_NAME.get(name) if isinstance(name, str) else None
    if cls is None:
        raise MhJsonError(f"unknown option type {name!r}; known: {sorted(_OPT_BY_NAME)}")
    f = _Fields(d, name)
    if cls is o.UnknownOption:
        opt = cls(_int(f.get("type_code"), "type_code"), _hex(f.get("data"), "data"))
    elif cls in (o.HomeNetworkPrefix, o.MobileNetworkPrefix):
        opt = cls(*_prefix(f.get("prefix"), name))
    elif cls is o.MnIdentifier:
        sub = _int(f.get("subtype", 1), "subtype", MnIdSubtype)
        if "identifier" in f.d:
            ident = f.get("identifier")
            if not isinstance(ident, str):
                raise MhJsonError(f"identifier: expected text, got {ident!r}")
            opt = cls(ident.encode("utf-8"), sub)
        else:
            opt = cls(_hex(f.get("identifier_hex"), "identifier_hex"), sub)
    elif cls is o.Timestamp:
        if "value" in f.d:
            opt = cls(_int(f.get("value"), "value"))
        else:
            s = f.get("seconds")
            if isinstance(s, bool) or not isinstance(s, (int, float)):
                raise MhJsonError(f"seconds: expected a number, got {s!r}")
            opt = cls.from_seconds(s)
    elif cls is o.BindingRefreshAdvice:
        opt = cls(_seconds4(f.get("refresh_interval_seconds"), "refresh_interval_seconds"))
    else:
        kwargs = {}
        for fld in fields(cls):
            fname = fld.name
            has_default = fld.default is not MISSING
            if fname not in f.d and has_default:
                continue
            v = f.get(fname)
            ann = str(fld.type)
            what = f"{name}.{fname}"
            if ann == "bool":
                kwargs[fname] = _bool(v, what)
            elif ann == "bytes":
                kwargs[fname] = _hex(v, what)
            elif ann == "IPv6Address":
                kwargs[fname] = _addr(v, what)
            elif ann == "IPv4Address":
                kwargs[fname] = _addr(v, what, IPv4Address)
            elif "Address" in ann:
                kwargs[fname] = _any_addr(v, what)
            elif ann == "int | None":
                kwargs[fname] = None if v is None else _int(v, what)
            else:
                kwargs[fname] = _int(v, what, _ENUMS.get((cls, fname)))
        opt = cls(**kwargs)
    f.done()
    return opt


def _seconds4(v: Any, what: str) -> int:
    s = _int(v, what)
    if s % 4:
        raise MhJsonError(f"{what}: {s} is not a multiple of 4 (the wire unit is 4 s)")
    return s // 4


def message_from_json(d: Any):
    """The message for a JSON object made by message_to_json (or by hand)."""
    name = d.get("type") if isinstance(d, dict) else None
    cls = _MSG_BY_NAME.get(name) if isinstance(name, str) else None
    if cls is None:
        raise MhJsonError(f"unknown message type {name!r}; known: {sorted(_MSG_BY_NAME)}")
    f = _Fields(d, name)
    opts_raw = f.get("options", [])
    if not isinstance(opts_raw, list):
        raise MhJsonError("options: expected a list")
    options = tuple(option_from_json(x) for x in opts_raw)
    kw: dict[str, Any] = {"options": options}
    if cls in (BindingUpdate, BindingAck):
        if cls is BindingAck:
            kw["status"] = _int(f.get("status"), "status", BaStatus)
        kw["sequence"] = _int(f.get("sequence"), "sequence")
        if "lifetime" in f.d:  # wire units, accepted as an alternative
            kw["lifetime"] = _int(f.get("lifetime"), "lifetime")
        else:
            kw["lifetime"] = _seconds4(f.get("lifetime_seconds"), "lifetime_seconds")
        flags = f.get("flags", [])
        allowed = BU_FLAGS if cls is BindingUpdate else BA_FLAGS
        if not isinstance(flags, list) or any(x not in allowed for x in flags):
            raise MhJsonError(f"flags: expected a list of {list(allowed)}, got {flags!r}")
        kw.update({x: True for x in flags})
        kw["other_flags"] = _int(f.get("other_flags", 0), "other_flags")
    elif cls is BindingError:
        kw["status"] = _int(f.get("status"), "status", BeStatus)
        kw["home_address"] = _addr(f.get("home_address"), "home_address")
    elif cls in (HomeTest, CareofTest):
        kw["nonce_index"] = _int(f.get("nonce_index"), "nonce_index")
        kw["init_cookie"] = _hex(f.get("init_cookie"), "init_cookie")
        kw["keygen_token"] = _hex(f.get("keygen_token"), "keygen_token")
    elif cls in (HomeTestInit, CareofTestInit):
        kw["init_cookie"] = _hex(f.get("init_cookie"), "init_cookie")
    f.done()
    return cls(**kw)
