"""Target mh_packet: finding the MH in a frame (mh/extract.py) and the extension
headers around it (mh/exthdr.py): IPv6 + Hop-by-Hop / Destination Options (Home
Address option) / Type 2 Routing Header / AH, IPv6-in-IPv4, IPv6-in-IPv6 and
IPv4-in-UDP 4191 (DSMIPv6, RFC 5555 §4.1) / 5436 (RFC 5844).

Oracle: ``find_in_frame`` raises only PacketError; the MH it finds decodes or
raises MhDecodeError; a Destination Options header or Type 2 Routing Header that
decodes re-encodes to one that decodes to the same value (padding aside).
The first input byte picks the link type (Ethernet, raw IP, Linux cooked).
"""
from __future__ import annotations

MAX_LEN = 4096
INSTRUMENT = ("p4mobility.mh",)


class RoundTripError(AssertionError):
    """An extension header that decodes does not survive encode -> decode."""


def setup():
    from p4mobility.mh import (MhDecodeError, decode_destination_options_header, decode_mh,
                               decode_type2_routing_header)
    from p4mobility.mh.extract import PacketError, find_in_frame
    from p4mobility.mh.pcap import LINKTYPE_ETHERNET, LINKTYPE_LINUX_SLL, LINKTYPE_RAW

    linktypes = (LINKTYPE_ETHERNET, LINKTYPE_RAW, LINKTYPE_LINUX_SLL, LINKTYPE_ETHERNET)

    def exthdrs(data: bytes) -> None:
        try:
            hdr, n = decode_destination_options_header(data)
        except MhDecodeError:
            pass
        else:
            again, n2 = decode_destination_options_header(hdr.encode())
            if again != hdr:
                raise RoundTripError(f"Destination Options {hdr!r} -> {again!r}")
        try:
            rh2 = decode_type2_routing_header(data)
        except MhDecodeError:
            return
        if decode_type2_routing_header(rh2.encode()) != rh2:
            raise RoundTripError(f"Type 2 Routing Header {rh2!r}")

    def check(data: bytes) -> None:
        if not data:
            return
        sel, frame = data[0], data[1:]
        if sel >= 0xF0:  # a few inputs go straight to the extension-header codecs
            exthdrs(frame)
            return
        try:
            found = find_in_frame(frame, linktypes[sel & 3])
        except PacketError:
            return
        if found is None:
            return
        try:
            decode_mh(found.mh, found.checksum_src, found.checksum_dst, verify_checksum=bool(sel & 4))
        except MhDecodeError:
            pass

    return check
