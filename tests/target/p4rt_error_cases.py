"""Malformed P4Runtime requests and the status each must get (features.p4).

Rule: ``CASES`` maps a case name to a ``Case``: the request (``run(ctx)``, which
leaves no entries behind), the answer expected (rpc status, per-update codes of
§12.3), the spec section, and bmv2's own answer where bmv2 breaks a "must" of the
spec (v1.3) - the embedded target gives bmv2's answer everywhere else, and
docs/embedded-target.md lists the differences.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Callable

from finsy.proto import p4r

from .p4rt_client import A, Client, Outcome
from .p4rt_entities import (DELETE, INSERT, MAC, MAC2, MAC3, MODIFY, Ctx, acl, action, counter, direct_counter,
                            exact, group, l2, lpm, mcast, member, member_ref, range_, register, table_entry, upd)


def with_inserted(ctx: Ctx, ents: list, then: Callable[[], Outcome]) -> Outcome:
    """Insert ``ents``, run ``then``, delete them again (the case leaves nothing behind)."""
    for e in ents:
        got = ctx.client.write(upd(INSERT, e))
        assert got.code == "OK", f"setup insert failed: {got}"
    try:
        return then()
    finally:
        for e in reversed(ents):
            ctx.client.write(upd(DELETE, e))


def undo_if_ok(ctx: Ctx, ent: "p4r.Entity") -> Outcome:
    """INSERT ``ent``; if the switch takes it, delete it again."""
    got = ctx.client.write(upd(INSERT, ent))
    if got.code == "OK":
        ctx.client.write(upd(DELETE, ent))
    return got


def second_client(ctx: Ctx, election_id: int) -> Client:
    c = Client(ctx.addr)
    c.arbitrate(election_id)
    return c


def as_backup(ctx: Ctx, fn: Callable[[Client], Outcome]) -> Outcome:
    c = second_client(ctx, 5)  # lower than the primary's 10: a backup
    try:
        return fn(c)
    finally:
        c.close()


def setfwd_then_restore(ctx: Ctx, fn: Callable[[], Outcome]) -> Outcome:
    try:
        return fn()
    finally:
        assert ctx.client.set_pipeline(ctx.p4info_msg, ctx.device_config).code == "OK"


def wrong_shape(ctx: Ctx) -> bytes:
    """The program's JSON with its first header type's fields a number instead of a list."""
    data = json.loads(ctx.device_config)
    data["header_types"][0]["fields"] = 5
    return json.dumps(data).encode()


def broken_p4info(ctx: Ctx):
    info = type(ctx.p4info_msg)()
    info.CopyFrom(ctx.p4info_msg)
    info.tables[0].preamble.name = "FeatIngress.no_such_table"
    return info


def w(*updates) -> Callable[[Ctx], Outcome]:
    """A case that writes ``updates`` (each a function of ctx) as one batch."""
    return lambda ctx: ctx.client.write(*(u(ctx) for u in updates))


def per_update(*codes: str) -> tuple:
    return ("UNKNOWN", codes)


ONE = per_update  # a batch of one update: its code is in the details


def rpc(code: str) -> tuple:
    return (code, ())


@dataclass(frozen=True)
class Case:
    run: Callable[[Ctx], Outcome]
    expect: tuple  # (rpc code, per-update codes): the spec's answer, which bmv2 gives too
    why: str  # spec section (v1.3)
    bmv2: tuple | str | None = None  # bmv2's own answer where it breaks a spec "must"; str: not run


WEDGES = "not run on bmv2: it answers UNKNOWN and then refuses every later pipeline (bmv2 bug)"

CASES: dict[str, Case] = {
    # The spec names no code for an unknown id: §12.2 "malformed: INVALID_ARGUMENT", as bmv2.
    "unknown_table_id": Case(
        w(lambda c: upd(INSERT, table_entry(c, 0x02FFFFFF, [exact(1, MAC)], action(c, "drop")))),
        ONE("INVALID_ARGUMENT"), "§12.2 malformed"),
    "unknown_action_id": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [exact(1, MAC)], action(c, 0x01FFFFFF)))),
        ONE("INVALID_ARGUMENT"), "§9.1.2 action_id"),
    "action_not_of_table": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [exact(1, MAC)], action(c, "to_cpu")))),
        ONE("INVALID_ARGUMENT"), "§9.1.2 action_id"),
    "action_param_missing": Case(
        w(lambda c: upd(INSERT, table_entry(c, "ipv4_lpm", [lpm(1, b"\x0a\x00\x00\x00", 8)],
                                            action(c, "ipv4_forward", b"\x02")))),
        ONE("INVALID_ARGUMENT"), "§9.1.2 params"),
    "action_param_unknown_id": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [exact(1, MAC)],
                                            action(c, "set_port_counted", b"\x04", b"\x01")))),
        ONE("INVALID_ARGUMENT"), "§9.1.2 params"),
    # §8.3 says OUT_OF_RANGE for a bytestring that does not fit, §9.1.2 INVALID_ARGUMENT
    # for a param that does not conform to §8.3; bmv2 answers INVALID_ARGUMENT for both.
    "action_param_too_wide": Case(
        w(lambda c: upd(INSERT, l2(c, port=b"\x02\x00"))),  # 512 in a bit<9>
        ONE("INVALID_ARGUMENT"), "§9.1.2 params (bmv2)"),
    "match_value_too_wide": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [exact(1, b"\x01" + MAC)], action(c, "drop")))),
        ONE("INVALID_ARGUMENT"), "§8.3/§9.1.1 (bmv2)"),
    "match_value_empty": Case(  # bmv2 inserts it (as 0): §8.3 "always rejects" an empty string
        lambda c: undo_if_ok(c, table_entry(c, "l2", [exact(1, b"")], action(c, "drop"))),
        ONE("INVALID_ARGUMENT"), "§8.3/§9.1.1 (bmv2)", bmv2=rpc("OK")),
    "exact_field_missing": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [], action(c, "drop")))),
        ONE("INVALID_ARGUMENT"), "§9.1.1"),
    "unknown_match_field_id": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [exact(1, MAC), exact(9, b"\x01")], action(c, "drop")))),
        ONE("INVALID_ARGUMENT"), "§9.1.1"),
    "match_kind_mismatch": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [lpm(1, MAC, 48)], action(c, "drop")))),
        ONE("INVALID_ARGUMENT"), "§9.1.1"),
    "ternary_value_outside_mask": Case(
        w(lambda c: upd(INSERT, acl(c, src=b"\xc0\x00\x02\x01", mask=b"\xff\xff\xff\x00"))),
        ONE("INVALID_ARGUMENT"), "§9.1.1 ternary"),
    "lpm_bits_beyond_prefix": Case(
        w(lambda c: upd(INSERT, table_entry(c, "ipv4_lpm", [lpm(1, b"\x0a\x01\x00\x00", 8)],
                                            action(c, "drop")))),
        ONE("INVALID_ARGUMENT"), "§9.1.1 lpm"),
    "lpm_prefix_too_long": Case(
        w(lambda c: upd(INSERT, table_entry(c, "ipv4_lpm", [lpm(1, b"\x0a\x00\x00\x00", 33)],
                                            action(c, "drop")))),
        ONE("INVALID_ARGUMENT"), "§9.1.1 lpm"),
    "range_low_above_high": Case(
        w(lambda c: upd(INSERT, table_entry(c, "acl", [range_(2, b"\x10", b"\x01")], action(c, "drop"),
                                            priority=5))),
        ONE("INVALID_ARGUMENT"), "§9.1.1 range"),
    "priority_missing_on_ternary_table": Case(
        w(lambda c: upd(INSERT, acl(c, priority=0))), ONE("INVALID_ARGUMENT"), "§9.1 priority"),
    "priority_on_exact_table": Case(
        w(lambda c: upd(INSERT, l2(c, priority=7))), ONE("INVALID_ARGUMENT"), "§9.1 priority"),
    "insert_existing_entry": Case(
        lambda c: with_inserted(c, [l2(c)], lambda: c.client.write(upd(INSERT, l2(c, port=b"\x05")))),
        ONE("ALREADY_EXISTS"), "§12.2 INSERT"),
    "modify_absent_entry": Case(w(lambda c: upd(MODIFY, l2(c))), ONE("NOT_FOUND"), "§12.2 MODIFY"),
    "delete_absent_entry": Case(w(lambda c: upd(DELETE, l2(c))), ONE("NOT_FOUND"), "§12.2 DELETE"),
    "delete_other_priority": Case(
        lambda c: with_inserted(c, [acl(c, priority=10)], lambda: c.client.write(upd(DELETE, acl(c, priority=11)))),
        ONE("NOT_FOUND"), "§9.1 the priority is part of the key"),
    "write_const_table": Case(
        w(lambda c: upd(INSERT, table_entry(c, "tos_map", [exact(1, b"\x01")], action(c, "set_tos_class", b"\x01")))),
        ONE("PERMISSION_DENIED"), "§9.1.4 constant tables", bmv2=ONE("UNKNOWN")),
    "insert_default_entry": Case(
        w(lambda c: upd(INSERT, table_entry(c, "l2", [], action(c, "drop"), is_default_action=True))),
        ONE("INVALID_ARGUMENT"), "§9.1.3 default entry: MODIFY only"),
    "modify_const_default_action": Case(
        w(lambda c: upd(MODIFY, table_entry(c, "tos_map", [], action(c, "set_tos_class", b"\x01"),
                                            is_default_action=True))),
        ONE("PERMISSION_DENIED"), "§9.1.3"),
    "direct_action_on_indirect_table": Case(
        w(lambda c: upd(INSERT, table_entry(c, "ecmp", [exact(1, b"\x01")], action(c, "set_port", b"\x01")))),
        ONE("INVALID_ARGUMENT"), "§9.1.2"),
    "indirect_table_absent_member": Case(
        lambda c: c.client.write(upd(INSERT, member_ref(c, 77))),
        ONE("NOT_FOUND"), "§9.1.2 indirect tables", bmv2=ONE("INVALID_ARGUMENT")),
    "member_unknown_profile_id": Case(
        w(lambda c: upd(INSERT, member(c, 1, profile=0x11FFFFFF))), ONE("INVALID_ARGUMENT"), "§12.2 malformed"),
    "update_type_unspecified": Case(
        w(lambda c: upd(p4r.Update.UNSPECIFIED, l2(c))), ONE("INVALID_ARGUMENT"), "§12.2"),
    "counter_insert": Case(
        w(lambda c: upd(INSERT, counter(c, "port_rx", 1))), ONE("INVALID_ARGUMENT"), "§9.3 INSERT"),
    "counter_index_out_of_range": Case(
        w(lambda c: upd(MODIFY, counter(c, "port_rx", 8))), ONE("OUT_OF_RANGE"), "§9.3 MODIFY",
        bmv2=ONE("UNKNOWN")),
    "counter_negative_index": Case(
        w(lambda c: upd(MODIFY, counter(c, "port_rx", -1))), ONE("INVALID_ARGUMENT"), "§9.3 MODIFY"),
    "counter_unknown_id": Case(
        w(lambda c: upd(MODIFY, counter(c, 0x12FFFFFF, 1))), ONE("INVALID_ARGUMENT"), "§12.2 malformed"),
    "register_index_out_of_range": Case(
        w(lambda c: upd(MODIFY, register(c, 16))), ONE("OUT_OF_RANGE"), "§9.6",
        bmv2=ONE("UNIMPLEMENTED")),  # bmv2 has no register writes over P4Runtime
    "batch_per_update_codes": Case(
        lambda c: with_inserted(c, [l2(c)], lambda: c.client.write(
            upd(INSERT, l2(c, mac=MAC2)), upd(INSERT, l2(c)), upd(DELETE, l2(c, mac=MAC3)), upd(DELETE, l2(c, mac=MAC2)))),
        per_update("OK", "ALREADY_EXISTS", "NOT_FOUND", "OK"), "§12.3"),
    "empty_entity": Case(w(lambda c: upd(INSERT, p4r.Entity())), ONE("INVALID_ARGUMENT"), "§12.2 malformed",
                         bmv2=ONE("UNKNOWN")),
    "multicast_group_id_zero": Case(
        w(lambda c: upd(INSERT, mcast(0, 1))), ONE("INVALID_ARGUMENT"), "§9.5.1"),
    "multicast_group_insert_existing": Case(
        lambda c: with_inserted(c, [mcast(7, 1)], lambda: c.client.write(upd(INSERT, mcast(7, 2)))),
        ONE("ALREADY_EXISTS"), "§12.2 INSERT"),
    "multicast_group_modify_absent": Case(
        w(lambda c: upd(MODIFY, mcast(8, 1))), ONE("NOT_FOUND"), "§12.2 MODIFY"),
    "member_insert_existing": Case(
        lambda c: with_inserted(c, [member(c, 5)], lambda: c.client.write(upd(INSERT, member(c, 5)))),
        ONE("ALREADY_EXISTS"), "§9.2.1"),
    "member_delete_absent": Case(w(lambda c: upd(DELETE, member(c, 6))), ONE("NOT_FOUND"), "§9.2.1"),
    "member_delete_in_use": Case(
        lambda c: with_inserted(c, [member(c, 9), member_ref(c, 9)],
                                lambda: c.client.write(upd(DELETE, member(c, 9)))),
        ONE("FAILED_PRECONDITION"), "§9.2.1 DELETE", bmv2=ONE("UNKNOWN")),
    "group_with_absent_member": Case(
        w(lambda c: upd(INSERT, group(c, 3, [99]))), ONE("NOT_FOUND"), "§9.2.2"),
    "direct_counter_of_absent_entry": Case(
        w(lambda c: upd(MODIFY, direct_counter(c))), ONE("NOT_FOUND"), "§9.4", bmv2=ONE("INVALID_ARGUMENT")),
    "read_empty_entity": Case(lambda c: c.client.read(p4r.Entity()), rpc("INVALID_ARGUMENT"), "§11.1",
                              bmv2=rpc("UNKNOWN")),
    "write_from_backup": Case(
        lambda c: as_backup(c, lambda b: b.write(upd(INSERT, l2(c)))), rpc("PERMISSION_DENIED"), "§12.1 check 2"),
    "write_with_unarbitrated_election_id": Case(
        lambda c: c.client.write(upd(INSERT, l2(c)), election_id=99), rpc("PERMISSION_DENIED"), "§12.1 check 2"),
    "write_without_election_id": Case(
        lambda c: without_stream(c, lambda o: o.write(upd(INSERT, l2(c)), election_id=None)),
        rpc("PERMISSION_DENIED"), "§12.1 check 2"),
    "write_unknown_device": Case(
        lambda c: c.client.write(upd(INSERT, l2(c)), device_id=99), rpc("NOT_FOUND"), "§12.1 check 1",
        bmv2=rpc("PERMISSION_DENIED")),
    "write_rollback_on_error": Case(
        lambda c: c.client.write(upd(INSERT, l2(c)), atomicity=p4r.WriteRequest.ROLLBACK_ON_ERROR),
        rpc("UNIMPLEMENTED"), "§12.4"),
    "read_unknown_table": Case(
        lambda c: c.client.read(table_entry(c, 0x02FFFFFF)), rpc("INVALID_ARGUMENT"), "§12.2 malformed"),
    "read_unknown_counter": Case(
        lambda c: c.client.read(counter(c, 0x12FFFFFF, None)), rpc("INVALID_ARGUMENT"), "§12.2 malformed"),
    "read_counter_index_out_of_range": Case(
        lambda c: c.client.read(counter(c, "port_rx", 8)), rpc("OUT_OF_RANGE"), "§9.3", bmv2=rpc("UNKNOWN")),
    "read_unknown_device": Case(
        lambda c: c.client.read(table_entry(c, 0), device_id=99), rpc("NOT_FOUND"), "§11.1",
        bmv2=rpc("FAILED_PRECONDITION")),
    "arbitration_unknown_device": Case(
        lambda c: arbitration(c, dict(election_id=3, device_id=99)), rpc("NOT_FOUND"), "§5.3",
        bmv2=rpc("OK")),  # PI makes any device id a device of its own
    "arbitration_election_id_in_use": Case(
        lambda c: arbitration(c, dict(election_id=10)), rpc("INVALID_ARGUMENT"), "§5.3"),
    "arbitration_device_change_on_live_stream": Case(
        lambda c: arbitration(c, dict(election_id=3), dict(election_id=3, device_id=99)),
        rpc("FAILED_PRECONDITION"), "§5.3"),
    "arbitration_role_change_on_live_stream": Case(
        lambda c: arbitration(c, dict(election_id=3), dict(election_id=3, role="other")),
        rpc("FAILED_PRECONDITION"), "§5.3", bmv2="not run on bmv2: it neither answers nor ends the stream"),
    "setfwd_garbage_json": Case(
        lambda c: setfwd_then_restore(c, lambda: c.client.set_pipeline(c.p4info_msg, b"{ not json")),
        rpc("INVALID_ARGUMENT"), "§13.2 VERIFY_AND_COMMIT", bmv2=WEDGES),
    "setfwd_json_of_wrong_shape": Case(
        lambda c: setfwd_then_restore(c, lambda: c.client.set_pipeline(c.p4info_msg, wrong_shape(c))),
        rpc("INVALID_ARGUMENT"), "§13.2 cannot be realized", bmv2=rpc("OK")),  # bmv2 takes it
    "setfwd_verify_garbage_json": Case(
        lambda c: c.client.set_pipeline(c.p4info_msg, b"{ not json", action=A.VERIFY),
        rpc("INVALID_ARGUMENT"), "§13.2 VERIFY", bmv2=rpc("OK")),
    "setfwd_p4info_names_unknown_table": Case(
        lambda c: setfwd_then_restore(c, lambda: c.client.set_pipeline(broken_p4info(c), c.device_config)),
        rpc("INVALID_ARGUMENT"), "§13.2 cannot be realized", bmv2=rpc("OK")),
    "setfwd_mismatched_program": Case(
        lambda c: setfwd_then_restore(c, lambda: c.client.set_pipeline(c.p4info_msg, c.other_config)),
        rpc("INVALID_ARGUMENT"), "§13.2 cannot be realized", bmv2=rpc("OK")),
    "setfwd_no_config": Case(
        lambda c: setfwd_then_restore(c, lambda: c.client.set_pipeline(None, b"")),
        rpc("INVALID_ARGUMENT"), "§13.2 config not provided", bmv2=rpc("OK")),
    "setfwd_from_backup": Case(
        lambda c: as_backup(c, lambda b: b.set_pipeline(c.p4info_msg, c.device_config)),
        rpc("PERMISSION_DENIED"), "§13.2 check 2"),
    "setfwd_commit_without_save": Case(
        lambda c: c.client.set_pipeline(None, b"", action=A.COMMIT), rpc("NOT_FOUND"), "§13.2 COMMIT",
        bmv2=rpc("UNKNOWN")),
}


def arbitration(ctx: Ctx, *steps: dict) -> Outcome:
    """A new stream sends one arbitration update per step; OK while answered, else the
    status the stream ended with (§5.3: arbitration errors end the stream)."""
    c = Client(ctx.addr)
    try:
        for step in steps:
            got = c.arbitrate(timeout=30, **step)
            if isinstance(got, Outcome):
                return got
        return Outcome("OK")
    finally:
        c.close()


def without_stream(ctx: Ctx, fn: Callable[[Client], Outcome]) -> Outcome:
    c = Client(ctx.addr)
    try:
        return fn(c)
    finally:
        c.close()


# Requests sent before any pipeline is set: §12.1 check 3, §11.1.
NO_PIPELINE: dict[str, Case] = {
    "write_before_pipeline": Case(w(lambda c: upd(INSERT, l2(c))), rpc("FAILED_PRECONDITION"), "§12.1 check 3"),
    "read_before_pipeline": Case(lambda c: c.client.read(table_entry(c, 0)), rpc("FAILED_PRECONDITION"), "§11.1"),
    "get_config_before_pipeline": Case(
        lambda c: c.client.call("GetForwardingPipelineConfig",
                                p4r.GetForwardingPipelineConfigRequest(device_id=1)),
        rpc("FAILED_PRECONDITION"), "§13.3"),
}
