"""Malformed P4Runtime requests over real gRPC to both targets (bmv2 simple_switch_grpc
and the p4mob-switch process): each must get the status p4rt_error_cases.CASES names,
which is bmv2's answer. The bmv2 column skips when simple_switch_grpc is not installed.
After the malformed requests the switch still takes a good write and reads it back."""

from __future__ import annotations

import pytest
from finsy.proto import p4r

from tests.dataplane.targets import ALL_TARGETS, SwitchProcess, find_binary

from . import p4rt_entities as cases
from .p4rt_client import Client
from .p4rt_client import P4Info
from .p4rt_entities import Ctx
from .p4rt_error_cases import CASES, NO_PIPELINE, Case
from .tlib import BUILD, FEATURES_JSON, FEATURES_P4INFO, require_features


class Session:
    def __init__(self, target: str) -> None:
        binary, reason = find_binary(target)
        if binary is None:
            pytest.skip(reason)
        self.switch = SwitchProcess.start(target, binary, {})
        self.client = Client(self.switch.grpc_addr)
        arb = self.client.arbitrate(10)
        assert arb.arbitration.status.code == 0, arb
        info = P4Info(FEATURES_P4INFO)
        self.ctx = Ctx(self.client, info, self.switch.grpc_addr, info.msg, FEATURES_JSON.read_bytes(),
                       (BUILD / "stacks.json").read_bytes())
        self.no_pipeline = {name: case.run(self.ctx) for name, case in NO_PIPELINE.items()}
        got = self.client.set_pipeline(info.msg, self.ctx.device_config)
        assert got.code == "OK", got

    def close(self) -> None:
        self.client.close()
        self.switch.stop()


@pytest.fixture(scope="module", params=ALL_TARGETS)
def session(request):
    require_features()
    s = Session(request.param)
    yield s
    s.close()


def _check(got, case: Case, target: str) -> None:
    """The spec's answer from the embedded target; bmv2's own answer (recorded) from bmv2."""
    expected = case.bmv2 if target == "bmv2" and isinstance(case.bmv2, tuple) else case.expect
    assert got.key() == expected, f"{target}: got {got.key()} ({got.message!r}), expected {expected} ({case.why})"


def _runs_on(case: Case, target: str) -> bool:
    if target == "bmv2" and isinstance(case.bmv2, str):
        pytest.skip(case.bmv2)
    return True


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_request_gets_the_spec_status(session: Session, name: str) -> None:
    case = CASES[name]
    if _runs_on(case, session.switch.target):
        _check(case.run(session.ctx), case, session.switch.target)


@pytest.mark.parametrize("name", sorted(NO_PIPELINE))
def test_request_before_pipeline_gets_failed_precondition(session: Session, name: str) -> None:
    _check(session.no_pipeline[name], NO_PIPELINE[name], session.switch.target)


def test_switch_still_serves_after_malformed_requests(session: Session) -> None:
    for case in CASES.values():
        if not (session.switch.target == "bmv2" and isinstance(case.bmv2, str)):
            case.run(session.ctx)
    c = session.ctx
    ent = cases.l2(c)
    assert c.client.write(cases.upd(cases.INSERT, ent)).code == "OK"
    try:
        q = p4r.Entity()
        q.table_entry.table_id = c.info["l2"]
        got = c.client.read_entities(q)
        assert [e.table_entry.match[0].exact.value for e in got] == [cases.MAC]
    finally:
        c.client.write(cases.upd(cases.DELETE, ent))
