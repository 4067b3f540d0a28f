"""The access port's kernel filter (runtime/bpf.py via runtime/mn_wire.py) on a
real veth: only packets for this host from the home agent's addresses reach
the daemon; everything else (other sources, other EtherTypes, frames for
another MAC) is dropped in the kernel."""
from __future__ import annotations

from scapy.layers.inet import IP, UDP
from scapy.layers.inet6 import IPv6
from scapy.layers.l2 import ARP, Ether

from p4mobility.runtime.mn_wire import AccessPort
from tests.mn.mnlab import COA4, COA_A, HA, HA4, MAC, in_netns, wait_for


def test_access_port_sees_only_the_home_agent(make_lab):
    lab, peer = make_lab()
    with in_netns(lab.mn_ns):
        import socket
        port = AccessPort("acc1", socket.if_nametoindex("acc1"), HA, HA4)
    try:
        send = lambda pkt, dst=MAC["acc1"]: peer.socks["p1"].send(bytes(Ether(src=MAC["p1"], dst=dst) / pkt))  # noqa: E731
        wanted = [IPv6(src=str(HA), dst=str(COA_A), nh=59), IP(src=str(HA4), dst=str(COA4)) / UDP(sport=4191)]
        send(IPv6(src="2001:db8:a::1", dst=str(COA_A), nh=59))  # another source
        send(IP(src="10.1.0.1", dst=str(COA4)) / UDP(sport=4191))
        send(ARP(psrc=str(HA4)))  # not IP
        send(wanted[0], dst="02:00:00:00:99:99")  # for another host (PACKET_OTHERHOST)
        for pkt in wanted:
            send(pkt)
        got: list[bytes] = []
        wait_for("the home agent's two packets", lambda: got.extend(port.receive(16)) or len(got) >= 2, 5)
        assert got == [bytes(p) for p in wanted]  # in order, nothing else, no link header
        assert port.receive(16) == []
    finally:
        port.close()
