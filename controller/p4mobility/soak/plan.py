"""The soak's addresses and names (plain values): the generator's two MAGs, its port, its MNs."""
from __future__ import annotations

from ipaddress import IPv6Address, IPv6Network

GEN_MAGS = (IPv6Address("2001:db8:d::1"), IPv6Address("2001:db8:e::1"))
GEN_NETS = (IPv6Network("2001:db8:d::/64"), IPv6Network("2001:db8:e::/64"))
GEN_PORT = 4  # the LMA switch's port towards the generator (through the lossy link)
GEN_MAC = "02:00:00:0d:00:01"
LMA_GEN_MAC = "02:00:00:0f:00:04"


def mn_id(i: int) -> bytes:
    return f"soak{i}@p4mob.example".encode()


def mn_index(identifier: bytes) -> int:
    """mn_id's inverse; -1 for an identifier that is not the soak's."""
    name = identifier.split(b"@")[0]
    return int(name[4:]) if name.startswith(b"soak") and name[4:].isdigit() else -1


__all__ = ["GEN_MAGS", "GEN_NETS", "GEN_PORT", "GEN_MAC", "LMA_GEN_MAC", "mn_id", "mn_index"]
