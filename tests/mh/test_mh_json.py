"""JSON form: the documented example works, names and numbers are both
accepted, strictness on unknown fields."""
from __future__ import annotations

import json
import re
from ipaddress import IPv6Address
from pathlib import Path

import pytest

from p4mobility.mh import (
    AccessTechnologyTypeOption,
    BaStatus,
    BindingAck,
    BindingUpdate,
    HandoffIndicatorOption,
    HomeNetworkPrefix,
    LinkLocalAddress,
    MhJsonError,
    MnIdentifier,
    Timestamp,
    message_from_json,
    message_to_json,
)
from p4mobility.mh.jsonfmt import MESSAGE_NAMES, OPTION_NAMES
from tests.mh.mh_testlib import catalogue

DOC = Path(__file__).resolve().parents[2] / "docs" / "mh-json.md"


def test_documented_pbu_example_decodes_to_rfc5213_pbu():
    text = DOC.read_text()
    block = re.search(r"```json\n(.*?)```", text, re.S).group(1)
    msg = message_from_json(json.loads(block))
    assert msg == BindingUpdate(7, 900, ack=True, proxy=True, options=(
        MnIdentifier(b"mn1@example.com"), HomeNetworkPrefix(0, IPv6Address("::")), HandoffIndicatorOption(1),
        AccessTechnologyTypeOption(4), Timestamp((1_700_000_000 << 16) | 0x8000), LinkLocalAddress(IPv6Address("fe80::1"))))


def test_every_type_name_is_documented():
    text = DOC.read_text()
    for name in list(MESSAGE_NAMES.values()) + [n for n in OPTION_NAMES.values() if n not in ("pad1", "padn")]:
        assert f"`{name}`" in text, name


def test_status_by_name_or_number_and_name_companion():
    a = message_from_json({"type": "binding_ack", "status": "MISSING_MN_IDENTIFIER_OPTION", "sequence": 1,
                           "lifetime_seconds": 0})
    b = message_from_json({"type": "binding_ack", "status": 160, "sequence": 1, "lifetime": 0})
    assert a == b == BindingAck(BaStatus.MISSING_MN_IDENTIFIER_OPTION, 1, 0)
    assert message_to_json(a)["status_name"] == "MISSING_MN_IDENTIFIER_OPTION"


def test_non_printable_nai_goes_as_hex():
    m = BindingUpdate(1, 1, options=(MnIdentifier(b"\x00\xff"),))
    j = message_to_json(m)
    assert j["options"][0]["identifier_hex"] == "00ff" and "identifier" not in j["options"][0]
    assert message_from_json(j) == m


@pytest.mark.parametrize("doc", [
    {"type": "binding_update", "sequence": 1, "lifetime_seconds": 4, "flags": ["proxy", "nope"]},
    {"type": "binding_update", "sequence": "1", "lifetime_seconds": 4},
    {"type": "binding_update", "sequence": 1, "lifetime_seconds": 6},
    {"type": "binding_update", "sequence": 1, "lifetime_seconds": 4, "status_name": "x", "extra": 1},
    {"type": "binding_error", "status": 1, "home_address": "10.0.0.1"},
    {"type": "binding_update", "sequence": 1, "lifetime_seconds": 4,
     "options": [{"type": "home_network_prefix", "prefix": "2001:db8::/²"}]},
    {"type": "binding_update", "sequence": 1, "lifetime_seconds": 4, "options": [{"type": ["x"]}]},
    {"type": "binding_update", "sequence": 1, "lifetime_seconds": 4, "options": {"type": "gre_key"}},
    {"type": "home_test_init", "init_cookie": "zz"},
    "binding_update",
])
def test_bad_json_is_mh_json_error(doc):
    with pytest.raises(MhJsonError):
        message_from_json(doc)


def test_catalogue_json_round_trip():
    for m in catalogue():
        assert message_from_json(json.loads(json.dumps(message_to_json(m)))) == m
