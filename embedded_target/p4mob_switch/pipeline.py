"""v1model packet processing over a compiled Program (simple_switch semantics).

Rule: parser -> verify checksums -> ingress -> (drop if egress_spec == 511,
replicate if mcast_grp != 0) -> egress with egress_spec preset to 512 -> drop
if egress_spec == 511 -> update checksums -> deparser, as
targets/simple_switch/simple_switch.cpp does. `exit` ends the current control
only. A packet never raises out of `process`: a parser error is counted and the
packet continues with standard_metadata.parser_error set; an internal fault is
counted and the packet dropped.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

from .actions import DROP_PORT
from .program import Control, Program, TableNode

log = logging.getLogger(__name__)

MAX_PACKET = 16384  # bytes; longer frames are dropped and counted


class Ctx:
    """Per-packet state that is not a header field."""

    __slots__ = ("exit", "plen", "ilen", "payload", "trunc", "assert_failed")

    def __init__(self, ilen: int) -> None:
        self.exit = False
        self.plen = ilen
        self.ilen = ilen
        self.payload = b""
        self.trunc = 0
        self.assert_failed = False


@dataclass
class Stats:
    rx: int = 0
    tx: int = 0
    dropped: int = 0
    parser_errors: int = 0
    checksum_errors: int = 0
    oversize: int = 0
    faults: int = 0
    to_cpu: int = 0
    parser_error_kinds: dict[int, int] = field(default_factory=dict)


class Pipeline:
    def __init__(self, program: Program, cpu_port: int | None = None, reference: bool = False) -> None:
        self.program = program
        self.reference = reference  # interpret control graphs (run_control) instead of compiled code
        self.cpu_port = cpu_port
        self.stats = Stats()
        self.mcast_groups: dict[int, list[tuple[int, int]]] = {}  # gid -> [(port, rid)]
        lay = program.layout
        self.F0 = [0] * lay.nfields
        self.V0 = [1 if h.metadata else 0 for h in lay.headers]
        f = lambda name: lay.field(["standard_metadata", name], "standard_metadata")  # noqa: E731
        opt = lambda name: f(name) if lay.has_field("standard_metadata", name) else None  # noqa: E731
        self.i_ingress_port = f("ingress_port")
        self.i_egress_spec = f("egress_spec")
        self.i_egress_port = f("egress_port")
        self.i_packet_length = f("packet_length")
        self.i_instance_type = opt("instance_type")
        self.i_parser_error = opt("parser_error")
        self.i_checksum_error = opt("checksum_error")
        self.i_mcast_grp = opt("mcast_grp")
        self.i_egress_rid = opt("egress_rid")
        self._ingress = program.controls["ingress"].run
        self._egress_run = program.controls["egress"].run

    # -- control flow -----------------------------------------------------------
    # The reference interpreter of a control graph; controlflow.py compiles the
    # same semantics and tests hold the two against each other.
    @staticmethod
    def run_control(ctl: Control, F: list, V: list, X: Ctx) -> None:
        node = ctl.init
        while node is not None:
            if node.__class__ is TableNode:
                t = node.table
                e = t.lookup(t.key_fn(F, V))
                if e is None:
                    act, data = t.default_action, t.default_data
                    t.default_packets += 1
                    t.default_bytes += X.ilen
                    hit = False
                else:
                    hit = True
                    act = e.action
                    if act is not None:
                        data = e.data
                    elif e.member_id is not None:
                        act, data, _ = t.profile.members[e.member_id]
                    else:
                        r = t.profile.resolve_group(e.group_id, F, V, X.payload)
                        act, data = r if r is not None else (t.default_action, t.default_data)
                    e.packets += 1
                    e.bytes += X.ilen
                if act is not None:
                    act.fn(F, V, data, X)
                if node.hitmiss:
                    node = node.hit_next if hit else node.miss_next
                else:
                    node = node.by_action.get(id(act), node.miss_next) if act is not None else node.miss_next
            else:
                node = node.true_next if node.cond(F, V) else node.false_next
            if X.exit:
                return

    # -- v1model ----------------------------------------------------------------
    def process(self, data: bytes, in_port: int) -> list[tuple[int, bytes]]:
        """Run one packet; returns [(egress_port, frame)] (CPU port included)."""
        st = self.stats
        st.rx += 1
        if len(data) > MAX_PACKET:
            st.oversize += 1
            st.dropped += 1
            return []
        try:
            return self._process(data, in_port)
        except Exception:  # a bug must not kill the switch; count and drop
            st.faults += 1
            st.dropped += 1
            log.exception("internal fault processing a packet on port %d", in_port)
            return []

    def _process(self, data: bytes, in_port: int) -> list[tuple[int, bytes]]:
        prog = self.program
        st = self.stats
        F = self.F0[:]
        V = self.V0[:]
        X = Ctx(len(data))
        F[self.i_ingress_port] = in_port
        F[self.i_packet_length] = len(data)
        pos, err = prog.parse(data, F, V, X)
        X.payload = P = data[pos:]
        if err:
            st.parser_errors += 1
            st.parser_error_kinds[err] = st.parser_error_kinds.get(err, 0) + 1
            if self.i_parser_error is not None:
                F[self.i_parser_error] = err
        for cond_fn, calc, target in prog.verify_checksums:
            if (cond_fn is None or cond_fn(F, V)) and calc(F, V, P) != F[target]:
                st.checksum_errors += 1
                if self.i_checksum_error is not None:
                    F[self.i_checksum_error] = 1
                break
        if self.reference:
            self.run_control(prog.controls["ingress"], F, V, X)
        else:
            self._ingress(F, V, X)
        X.exit = False
        mgid = F[self.i_mcast_grp] if self.i_mcast_grp is not None else 0
        if mgid:
            out = []
            group = self.mcast_groups.get(mgid, ())
            if self.i_instance_type is not None:
                F[self.i_instance_type] = 5  # PKT_INSTANCE_TYPE_REPLICATION
            for port, rid in group:
                F2, V2 = F[:], V[:]
                if self.i_egress_rid is not None:
                    F2[self.i_egress_rid] = rid
                X2 = Ctx(X.ilen)
                X2.plen, X2.payload = X.plen, X.payload
                out += self._egress(F2, V2, X2, port)
            if not out:
                st.dropped += 1
            return out
        port = F[self.i_egress_spec]
        if port == DROP_PORT:
            st.dropped += 1
            return []
        return self._egress(F, V, X, port)

    def _egress(self, F: list, V: list, X: Ctx, port: int) -> list[tuple[int, bytes]]:
        prog = self.program
        F[self.i_egress_port] = port
        F[self.i_egress_spec] = DROP_PORT + 1
        F[self.i_packet_length] = X.plen
        if self.reference:
            self.run_control(prog.controls["egress"], F, V, X)
        else:
            self._egress_run(F, V, X)
        if F[self.i_egress_spec] == DROP_PORT:
            self.stats.dropped += 1
            return []
        frame = prog.deparse(F, V, X.payload)
        if X.trunc:
            frame = frame[:X.trunc]
        if port == self.cpu_port:
            self.stats.to_cpu += 1
        else:
            self.stats.tx += 1
        return [(port, frame)]
