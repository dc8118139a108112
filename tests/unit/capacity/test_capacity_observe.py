"""Steal: the share of CPU time the hypervisor gave to other guests, from two cpu_times readings."""

from __future__ import annotations

from collections import namedtuple

from harness.capacity.cpu_account import CpuAccount

Times = namedtuple("Times", "user nice system idle iowait irq softirq steal guest guest_nice")


def steal_percent(before: tuple, after: tuple) -> float | None:
    return CpuAccount(1.0, after, 0.0).steal_percent_since(CpuAccount(0.0, before, 0.0))


def test_steal_is_a_share_of_all_cpu_time_without_counting_guest_twice() -> None:
    before = Times(100, 0, 10, 500, 0, 0, 0, 5, 0, 0)
    # 50 user (5 of them guest, already inside user), 40 idle, 10 stolen: 10 of 100.
    after = Times(150, 0, 10, 540, 0, 0, 0, 15, 5, 0)
    assert steal_percent(before, after) == 10.0


def test_no_steal_figure_where_the_platform_has_none() -> None:
    plain = namedtuple("Plain", "user system idle")
    assert steal_percent(plain(1, 1, 1), plain(2, 2, 2)) is None
    assert steal_percent(Times(*[0] * 10), Times(*[0] * 10)) is None  # no time passed
