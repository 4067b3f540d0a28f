"""Bind a P4Info to a compiled Program (P4Runtime spec §6, p4info.proto).

Rule: P4Info objects are matched to bmv2 JSON objects by fully qualified name
(p4c emits the same names in both); match fields map to JSON key fields in
order, action parameters to runtime_data in order. Anything that does not line
up is a PipelineLoadError naming the P4Info object, so a bad config is refused
at SetForwardingPipelineConfig instead of failing per packet.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from finsy.proto import p4i

from .actions import Action, CounterArray, RegisterArray
from .errors import PipelineLoadError
from .loader import MAX_BITWIDTH
from .parser import ParseValueSet
from .program import Program
from .tables import ActionProfile, Table

MATCH_KIND = {
    p4i.MatchField.EXACT: "exact",
    p4i.MatchField.LPM: "lpm",
    p4i.MatchField.TERNARY: "ternary",
    p4i.MatchField.RANGE: "range",
    p4i.MatchField.OPTIONAL: "optional",
}


@dataclass(slots=True)
class MatchFieldInfo:
    fid: int
    name: str
    bitwidth: int
    kind: str


@dataclass(slots=True)
class ActionInfo:
    aid: int
    name: str
    action: Action
    params: dict[int, tuple[int, int]]  # param id -> (position, bitwidth)
    param_ids: list[int]


@dataclass(slots=True)
class TableInfo:
    tid: int
    name: str
    table: Table
    fields: dict[int, tuple[int, MatchFieldInfo]]  # field id -> (position, info)
    field_ids: list[int]
    actions: dict[int, int]  # action id -> scope
    const_default_action_id: int
    profile_id: int
    direct_counter_id: int


@dataclass(slots=True)
class PacketMeta:
    fields: list[tuple[int, str, int]] = field(default_factory=list)  # (id, name, bitwidth)

    @property
    def nbytes(self) -> int:
        return (sum(f[2] for f in self.fields) + 7) // 8


class P4InfoMap:
    def __init__(self, info: "p4i.P4Info", program: Program) -> None:
        self.info = info
        self.program = program
        self.actions: dict[int, ActionInfo] = {}
        self.tables: dict[int, TableInfo] = {}
        self.profiles: dict[int, tuple[str, ActionProfile, bool]] = {}
        self.counters: dict[int, CounterArray] = {}
        self.direct_counters: dict[int, int] = {}  # counter id -> table id
        self.registers: dict[int, RegisterArray] = {}
        self.meters: dict[int, object] = {}  # meter id -> MeterArray (indexed)
        self.direct_meters: dict[int, int] = {}  # direct meter id -> table id
        self.vsets: dict[int, tuple[ParseValueSet, int]] = {}
        self.packet_in = PacketMeta()
        self.packet_out = PacketMeta()
        self._ai_cache: dict[int, ActionInfo] = {}
        self._bind()

    def _bind(self) -> None:
        prog = self.program
        for a in self.info.actions:
            w = f"p4info action {a.preamble.name!r} (id {a.preamble.id})"
            act = prog.actions.get(a.preamble.name)
            if act is None:
                raise PipelineLoadError(f"{w}: no action of that name in the bmv2 JSON")
            if len(a.params) != len(act.params):
                raise PipelineLoadError(f"{w}: {len(a.params)} params, bmv2 JSON has {len(act.params)}")
            params = {}
            for pos, (p, (_, bw)) in enumerate(zip(a.params, act.params)):
                if p.bitwidth != bw:
                    raise PipelineLoadError(f"{w}: param {p.name!r} is {p.bitwidth} bits, JSON says {bw}")
                params[p.id] = (pos, p.bitwidth)
            self.actions[a.preamble.id] = ActionInfo(a.preamble.id, a.preamble.name, act, params,
                                                     [p.id for p in a.params])
        for ap in self.info.action_profiles:
            w = f"p4info action_profile {ap.preamble.name!r}"
            prof = prog.profiles.get(ap.preamble.name)
            if prof is None:
                raise PipelineLoadError(f"{w}: no action profile of that name in the bmv2 JSON")
            self.profiles[ap.preamble.id] = (ap.preamble.name, prof, ap.with_selector)
        for c in self.info.counters:
            ca = prog.counters.get(c.preamble.name)
            if ca is None or ca.direct:
                raise PipelineLoadError(f"p4info counter {c.preamble.name!r}: no indexed counter array of that name")
            self.counters[c.preamble.id] = ca
        for m in self.info.meters:
            ma = prog.meters.get(m.preamble.name)
            if ma is None or ma.direct:
                raise PipelineLoadError(f"p4info meter {m.preamble.name!r}: no indexed meter array of that name")
            self.meters[m.preamble.id] = ma
        for r in self.info.registers:
            reg = prog.registers.get(r.preamble.name)
            if reg is None:
                raise PipelineLoadError(f"p4info register {r.preamble.name!r}: no register array of that name")
            self.registers[r.preamble.id] = reg
        for v in self.info.value_sets:
            vs = prog.vsets.get(v.preamble.name)
            if vs is None:
                raise PipelineLoadError(f"p4info value_set {v.preamble.name!r}: no parse_vset of that name")
            self.vsets[v.preamble.id] = (vs, v.size)
        for t in self.info.tables:
            w = f"p4info table {t.preamble.name!r} (id {t.preamble.id})"
            tab = prog.tables.get(t.preamble.name)
            if tab is None:
                raise PipelineLoadError(f"{w}: no table of that name in the bmv2 JSON")
            if len(t.match_fields) != len(tab.keys):
                raise PipelineLoadError(f"{w}: {len(t.match_fields)} match fields, JSON key has {len(tab.keys)}")
            fields = {}
            for pos, (mf, kf) in enumerate(zip(t.match_fields, tab.keys)):
                kind = MATCH_KIND.get(mf.match_type)
                if kind is None:
                    raise PipelineLoadError(f"{w}: match field {mf.name!r} has unsupported match type")
                jkind = "exact" if kf.match_type == "valid" else kf.match_type
                if kind != jkind and not (kind == "optional" and jkind == "ternary"):  # p4c: optional -> ternary
                    raise PipelineLoadError(f"{w}: match field {mf.name!r} is {kind}, JSON says {kf.match_type}")
                if mf.bitwidth != kf.width:
                    raise PipelineLoadError(f"{w}: match field {mf.name!r} is {mf.bitwidth} bits, JSON says {kf.width}")
                fields[mf.id] = (pos, MatchFieldInfo(mf.id, mf.name, mf.bitwidth, kind))
            acts = {}
            for ref in t.action_refs:
                if ref.id not in self.actions:
                    raise PipelineLoadError(f"{w}: action ref {ref.id} is not a p4info action")
                acts[ref.id] = ref.scope
            dc = 0
            for rid in t.direct_resource_ids:
                if any(dm.preamble.id == rid for dm in self.info.direct_meters):
                    self.direct_meters[rid] = t.preamble.id
                if any(c.preamble.id == rid for c in self.info.direct_counters):
                    dc = rid
                    self.direct_counters[rid] = t.preamble.id
            self.tables[t.preamble.id] = TableInfo(t.preamble.id, t.preamble.name, tab, fields,
                                                   [mf.id for mf in t.match_fields], acts,
                                                   t.const_default_action_id, t.implementation_id, dc)
        for cpm in self.info.controller_packet_metadata:
            for m in cpm.metadata:  # packed into every packet-in / packet-out header
                if not 0 < m.bitwidth <= MAX_BITWIDTH:
                    raise PipelineLoadError(f"P4Info {cpm.preamble.name}.{m.name}: bad bitwidth {m.bitwidth} "
                                            f"(1..{MAX_BITWIDTH})")
            meta = PacketMeta([(m.id, m.name, m.bitwidth) for m in cpm.metadata])
            if cpm.preamble.name == "packet_in":
                self.packet_in = meta
            elif cpm.preamble.name == "packet_out":
                self.packet_out = meta

    def action_info_for(self, act: Action) -> ActionInfo | None:
        """P4Info action of a JSON action (same object, same name, or p4c's `name_N` duplicate)."""
        cache = self._ai_cache
        hit = cache.get(id(act))
        if hit is not None:
            return hit
        found = next((ai for ai in self.actions.values() if ai.action is act), None) or \
            next((ai for ai in self.actions.values() if ai.name == act.name), None) or \
            next((ai for ai in self.actions.values()
                  if act.name.startswith(ai.name + "_") and act.name[len(ai.name) + 1:].isdigit()), None)
        if found is not None:
            cache[id(act)] = found
        return found
