"""Target switch_packet: the embedded target running the bmv2 JSON pipeline
(embedded_target/p4mob_switch: parser, controls, deparser) on a mutated frame, with
the LMA's entries installed (switch_state.py).

Oracle: a frame never faults the pipeline (``Pipeline.process`` would count a fault
and drop it: here ``_process`` runs directly so the fault raises); frames sent to
the CPU port go through the packet-in path. The first input byte picks the ingress
port: 1..4, or the CPU port (then the frame starts with the packet-out header).
"""
from __future__ import annotations

MAX_LEN = 2048
INSTRUMENT = ("p4mob_switch",)
PORTS = (1, 2, 3, 4, 255)


def setup():
    from fuzz.switch_state import make_device

    dev = make_device()
    pl = dev.pipeline

    def check(data: bytes) -> None:
        if not data:
            return
        port = PORTS[data[0] % len(PORTS)]
        frame = data[1:]
        if len(frame) > 16384:
            return
        for out_port, out in pl._process(frame, port):
            if out_port == dev.cpu_port:
                dev._to_controller(out)

    return check
