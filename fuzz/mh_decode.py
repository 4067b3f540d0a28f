"""Target mh_decode: the Mobility Header codec (mh/codec.py, optlist.py, options*.py, jsonfmt.py).

Oracle: ``decode_mh`` raises only MhDecodeError subclasses; whatever it accepts
re-encodes (``encode_mh``) to a message that decodes to the same value, and its
JSON form reads back (``message_from_json``) to the same value (docs/mh-json.md);
no accepted HNP/MNP has a prefix length over 128.
The checksum is verified on half of the inputs (first byte odd) over fixed
addresses, so both the verify path and the rest are reached.
"""
from __future__ import annotations

MAX_LEN = 2048  # the MH holds at most MH_MAX_LEN (2048) bytes
INSTRUMENT = ("p4mobility.mh",)

SRC, DST = "2001:db8:aaaa::1", "2001:db8:ffff::1"


class RoundTripError(AssertionError):
    """decode accepted something that does not survive encode -> decode."""


def setup():
    from p4mobility.mh import MhDecodeError, decode_mh, encode_mh, message_from_json, message_to_json
    from p4mobility.mh.options import _PrefixOption

    def check(data: bytes) -> None:
        verify = bool(data) and data[0] & 1
        mh = data[1:]
        try:
            msg = decode_mh(mh, SRC, DST, verify_checksum=verify)
        except MhDecodeError:
            return
        for opt in msg.options:  # RFC 5213 §8.3 / RFC 3963 §4.3, RFC 4283 §3 (docs/mh-json.md Value limits)
            if isinstance(opt, _PrefixOption) and opt.prefix_length > 128:
                raise RoundTripError(f"accepted {opt!r}: an IPv6 prefix length is at most 128")
        wire = encode_mh(msg, SRC, DST)
        again = decode_mh(wire, SRC, DST)
        if again != msg:
            raise RoundTripError(f"decode(encode(m)) != m: {msg!r} -> {again!r}")
        if message_from_json(message_to_json(msg)) != msg:
            raise RoundTripError(f"JSON round trip changed {msg!r}")

    return check
