"""Per-interface pcap dumps are valid libpcap files (read back by scapy)."""

from __future__ import annotations

from scapy.layers.l2 import Ether
from scapy.utils import rdpcap

from p4mob_switch.pcap import PcapDumper


def test_pcap_dump_round_trips_through_scapy(tmp_path) -> None:
    frames = [bytes(Ether(dst="02:00:00:00:00:01", type=0x1234) / (bytes([i]) * 10)) for i in range(3)]
    d = PcapDumper(str(tmp_path))
    for f in frames:
        d.dump("veth0", "in", f)
    d.dump("veth0", "out", frames[0])
    d.close()
    assert [bytes(p) for p in rdpcap(str(tmp_path / "veth0_in.pcap"))] == frames
    assert [bytes(p) for p in rdpcap(str(tmp_path / "veth0_out.pcap"))] == frames[:1]
