"""Shared helpers for the embedded-target tests.

Rule: entities are encoded by finsy from the P4Info (an encoder independent of
the target's own codec); expected packets are built with scapy.
"""

from __future__ import annotations

from pathlib import Path

import finsy as fy
import pytest
from finsy.proto import p4r

from p4mob_switch.device import Device, load_p4info
from p4mob_switch.ports import MemoryPort

HERE = Path(__file__).parent
P4_DIR = HERE / "p4"
BUILD = P4_DIR / "build"
FEATURES_JSON = BUILD / "features.json"
FEATURES_P4INFO = BUILD / "features.p4info.txtpb"
CPU_PORT = 255


def require_features() -> None:
    if not FEATURES_JSON.exists() or not FEATURES_P4INFO.exists():
        pytest.skip("tests/target/p4/build/features.{json,p4info.txtpb} not built (needs p4c-bm2-ss)")


class Rig:
    """A device with in-process ports 1..n and a finsy schema for encoding."""

    def __init__(self, nports: int = 4, json_path: Path = FEATURES_JSON,
                 p4info_path: Path = FEATURES_P4INFO) -> None:
        self.device = Device(1, CPU_PORT)
        self.device.load(json_path.read_bytes(), load_p4info(p4info_path.read_bytes()))
        self.schema = fy.P4Schema(p4info_path, json_path)
        self.ports = {n: MemoryPort(n, self.device.receive) for n in range(1, nports + 1)}
        for n, p in self.ports.items():
            self.device.ports[n] = p.send
        self.packet_ins: list[tuple[bytes, list]] = []
        self.device.packet_in = lambda payload, meta: self.packet_ins.append((payload, meta))

    @property
    def stats(self):
        return self.device.pipeline.stats

    def write(self, *entities) -> None:
        for ent in entities:
            self.device.write(ent.encode_update(self.schema))

    def update(self, ent) -> "p4r.Update":
        return ent.encode_update(self.schema)

    def read(self, ent) -> list:
        out = []
        for e in self.device.read(ent.encode(self.schema)):
            out.append(fy.p4entity.decode_entity(e, self.schema))
        return out

    def send(self, port: int, frame: bytes) -> dict[int, list[bytes]]:
        self.ports[port].inject(frame)
        return {n: p.take() for n, p in self.ports.items() if p.sent}
