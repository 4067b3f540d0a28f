"""The pmip-handover topology for Mininet, as data (taken from p4mobility.lab.topology).

Rule: no Mininet import and no values of its own: everything comes from
p4mobility.lab.topology, so `p4mob lab` and the Mininet script build the same
network. MN - AIR (the radio: a Linux bridge, or OVS) - MAG1/MAG2 access
ports; MAG uplinks - LMA; LMA - CN. In Mininet the AIR is a switch in the
root namespace and its ports keep the lab's names (mnair, air1, air2).
"""
from __future__ import annotations

from p4mobility.lab import topology as T

AIR = "air"
P4_NODES = tuple(T.SWITCHES)  # each runs a P4 switch and its controller in its namespace
HOSTS = tuple(n for n in T.NODES if n != AIR and n not in T.SWITCHES)  # stock Linux hosts: mn, cn
# (a, a_ifname, b, b_ifname)
LINKS = [(link.a[0], link.a[1], link.b[0], link.b[1]) for link in T.LINKS]
MACS = T.MACS
# the AIR port that is the radio of each MAG (the AIR end of the link to its access port)
AIR_PORTS = {b if a == AIR else a: ai if a == AIR else bi
             for a, ai, b, bi in LINKS if AIR in (a, b) and "acc" in (ai, bi)}
AIR_IFNAMES = tuple(ai if a == AIR else bi for a, ai, b, bi in LINKS if AIR in (a, b))
# the MN's interface
MN_IFNAME = next(ai if a == "mn" else bi for a, ai, b, bi in LINKS if "mn" in (a, b))
