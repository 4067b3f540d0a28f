"""addr_text is str() for IPv6 addresses and prefixes (RFC 5952 §4 text), only faster."""
from ipaddress import IPv6Address, IPv6Network

from hypothesis import given, settings
from hypothesis import strategies as st

from p4mobility.addrtext import addr_text

# 16-bit groups biased towards zero so that runs of zeros (the §4.2 cases) are common
groups = st.lists(st.one_of(st.just(0), st.just(0), st.integers(0, 0xFFFF)), min_size=8, max_size=8)


def _addr(gs: list[int]) -> IPv6Address:
    return IPv6Address(int.from_bytes(b"".join(g.to_bytes(2, "big") for g in gs), "big"))


@settings(max_examples=1500, deadline=None)
@given(groups)
def test_rfc5952_4_address_text_equals_ipaddress(gs):
    a = _addr(gs)
    assert addr_text(a) == str(a)


@settings(max_examples=500, deadline=None)
@given(groups, st.integers(0, 128))
def test_prefix_text_equals_ipaddress(gs, plen):
    n = IPv6Network((_addr(gs), plen), strict=False)
    assert addr_text(n) == str(n)


def test_rfc5952_4_2_2_one_zero_group_not_compressed_and_first_longest_run():
    for text in ("2001:db8:0:1:1:1:1:1", "2001:0:0:1::1", "1:0:0:2:0:0:3:4", "::", "::1",
                 "::ffff:1.2.3.4", "::1.2.3.4", "64:ff9b::1.2.3.4", "fe80::1%eth0", "2001:db8::/32"):
        v = IPv6Network(text) if "/" in text else IPv6Address(text)
        assert addr_text(v) == str(v)


def test_other_values_are_str():
    assert addr_text(5) == "5" and addr_text("x") == "x"
