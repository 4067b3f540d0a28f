"""RFC 2698 two-rate three-color marking of the target's meters (clock injected)."""

from __future__ import annotations

from p4mob_switch.meters import GREEN, RED, YELLOW, MeterArray, MeterConfig


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def test_rfc2698_3_unconfigured_meter_is_green() -> None:
    m = MeterArray("m", 4, packets=True, clock=Clock())
    assert [m.execute(0, 100) for _ in range(10)] == [GREEN] * 10


def test_rfc2698_3_packets_marking_and_refill() -> None:
    clk = Clock()
    m = MeterArray("m", 4, packets=True, clock=clk)
    m.configure(1, MeterConfig(cir=10, cburst=2, pir=20, pburst=4))
    # buckets start full: 2 green, then 2 yellow (peak still has tokens), then red
    assert [m.execute(1, 1500) for _ in range(5)] == [GREEN, GREEN, YELLOW, YELLOW, RED]
    clk.now += 0.1  # +1 committed token, +2 peak tokens
    assert [m.execute(1, 1500) for _ in range(3)] == [GREEN, YELLOW, RED]
    assert m.execute(2, 1500) == GREEN  # other index unconfigured


def test_rfc2698_3_bytes_meter_counts_length() -> None:
    clk = Clock()
    m = MeterArray("m", 1, packets=False, clock=clk)
    m.configure(0, MeterConfig(cir=1000, cburst=1500, pir=2000, pburst=3000))
    # peak 3000 / committed 1500 bytes: the committed bucket runs out first
    assert [m.execute(0, 1000) for _ in range(4)] == [GREEN, YELLOW, YELLOW, RED]
