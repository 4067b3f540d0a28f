"""The pmip-handover topology for Mininet, as data (same as p4mobility.lab.topology).

Rule: no Mininet import here, so the shape can be checked anywhere:
MN - AIR (Linux bridge, the radio) - MAG1/MAG2 access ports; MAG uplinks - LMA; LMA - CN.
"""
from __future__ import annotations

from p4mobility.lab import topology as T

# (node, kind): "p4" nodes run a switch and a controller in their namespace
NODES = {"mn": "host", "cn": "host", "air": "bridge", "mag1": "p4", "mag2": "p4", "lma": "p4"}
# (a, a_ifname, b, b_ifname)
LINKS = [(l.a[0], l.a[1], l.b[0], l.b[1]) for l in T.LINKS]
PORTS = T.SWITCHES
MACS = T.MACS
