"""`[node] log_level` / `--log-level`: per-registration success lines are debug lines, off by
default (the soak's LMA wrote ~4 lines per PBU, 245 MB in 10 minutes); rejections stay on."""
from __future__ import annotations

import io
import json
import tomllib

import pytest

from p4mobility.lab import topology as T
from p4mobility.pmip.config import ConfigError
from p4mobility.runtime.lma_node import LmaNode
from p4mobility.runtime.logs import EventLog
from p4mobility.runtime.nodeconfig import lma_from_dict
from p4mobility.p4rt.names import PuntReason
from p4mobility.runtime.items import PacketIn
from p4mobility.soak.wire import pbu, pbu_frame
from tests.soak.test_lma_store_full import T0, Punted, _pbu_in


def _lma(tmp_path, level: str | None) -> tuple[LmaNode, io.StringIO]:
    (tmp_path / "p.txtpb").write_text("")
    (tmp_path / "p.json").write_text("{}")
    node = {"name": "lma", "switch_address": "127.0.0.1:1", "p4info": str(tmp_path / "p.txtpb"),
            "p4blob": str(tmp_path / "p.json"), "control_socket": str(tmp_path / "lma.sock")}
    if level is not None:
        node["log_level"] = level
    cfg = lma_from_dict(tomllib.loads(T.to_toml(T.lma_config(node, T.LabOptions(ipsec=False)))))
    out = io.StringIO()
    lma = LmaNode(cfg, EventLog("lma", out, level=cfg.node.log_level))
    lma.entries.plan(lma.restore())
    return lma, out


def _events(out: io.StringIO) -> list[str]:
    return [json.loads(line)["event"] for line in out.getvalue().splitlines()]


def _register(lma: LmaNode, seq: int, now: float) -> None:
    import asyncio
    asyncio.run(lma.apply(lma.on_item(_pbu_in(seq, now), now)))


@pytest.mark.parametrize("level, shown", [(None, False), ("info", False), ("debug", True)])
def test_accepted_pbu_lines_only_at_debug(tmp_path, level, shown):
    lma, out = _lma(tmp_path, level)
    _register(lma, 1, T0)
    events = _events(out)
    assert lma.core.binding_ids() and lma.metrics.pba_tx.labels("0")._value.get() == 1
    for name in ("pbu_rx", "BindingCreated", "pba_tx"):
        assert (name in events) is shown, events


def test_a_rejected_pbu_is_logged_at_info(tmp_path):
    import asyncio
    lma, out = _lma(tmp_path, "info")
    frame = pbu_frame(pbu(b"stranger@p4mob.example", 1, 1, 100, now=T0), T.MAG_COA["mag1"], T.LMA_ADDRESS,
                      "02:00:00:0f:00:01", "02:00:00:01:00:02")
    item = PacketIn(Punted(frame, punt_reason=PuntReason.MOBILITY_HEADER, ingress_port=1))
    asyncio.run(lma.apply(lma.on_item(item, T0), [item]))  # RFC 5213 §5.3.2: no profile, a reject
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    statuses = [e["status"] for e in events if e["event"] == "pba_tx"]
    assert statuses and all(statuses), events


def test_unknown_level_is_refused_naming_the_key(tmp_path):
    with pytest.raises(ConfigError, match="node.log_level"):
        _lma(tmp_path, "loud")
    with pytest.raises(ValueError):
        EventLog("x", io.StringIO(), level="loud")
