"""Export SAs as Wireshark/tshark `esp_sa` UAT records.

Rule: one record per SA, eight quoted fields: protocol, src, dst, SPI,
encryption, encryption key, authentication, authentication key (the format
of ``~/.config/wireshark/esp_sa`` and of ``-o 'uat:esp_sa:<record>'``).
The GCM key is the AES key followed by the 4-byte salt (RFC 4106 §8.1);
GCM takes "NULL" authentication. Addresses are the SA's own for transport
mode (the home address for RFC 3776 transport SAs, as tshark matches after
the HAO swap) and "*" for tunnel mode: a tunnel-mode SA names the home
address and the HA, while the outer header on the wire carries the current
care-of address (RFC 3776 §3.4), so tshark must find it by its SPI alone.
Keys are secrets: callers write the result to a file only they can read.
"""
from __future__ import annotations

import ipaddress
from collections.abc import Iterable

from .sa import Mode, Sa


def esp_sa_record(sa: Sa) -> str:
    """The UAT record (no newline) for one SA."""
    version = ipaddress.ip_address(sa.src).version
    tr = sa.transform
    enc_key, auth_key = tr.wireshark_keys()
    src, dst = ("*", "*") if sa.mode is Mode.TUNNEL else (sa.src, sa.dst)
    fields = (f"IPv{version}", src, dst, f"0x{sa.spi:08x}", tr.wireshark_enc, enc_key,
              tr.wireshark_auth, auth_key)
    return ",".join(f'"{f}"' for f in fields)


def export_wireshark_esp_sa(sas: Iterable[Sa]) -> str:
    """All records, one per line, ready for the `esp_sa` UAT file."""
    return "".join(esp_sa_record(sa) + "\n" for sa in sas)
