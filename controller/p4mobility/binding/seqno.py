"""Binding Update sequence numbers (RFC 6275 §9.5.1, §11.7.1).

Rule: 16-bit numbers compared modulo 2^16: ``new`` is newer than ``last``
when it lies in the 2^15 numbers after it. Every role uses these two
functions; none compares sequence numbers with ``>``.
"""
from __future__ import annotations

SEQ_MASK = 0xFFFF


def seq_newer(new: int, last: int) -> bool:
    """RFC 6275 §9.5.1: ``new`` > ``last`` modulo 2^16."""
    return 0 < ((new - last) & SEQ_MASK) < 0x8000


def seq_next(seq: int) -> int:
    """The number after ``seq`` (RFC 6275 §11.7.1: increase by one, wrapping)."""
    return (seq + 1) & SEQ_MASK


__all__ = ["seq_newer", "seq_next", "SEQ_MASK"]
