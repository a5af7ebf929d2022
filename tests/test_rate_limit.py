"""Token buckets (bot/rate_limit.py): bursts, steady refill, separate keys, bounded memory."""

from __future__ import annotations

import pytest

from bot.rate_limit import RateLimiter


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_burst_then_a_steady_rate():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=3, clock=clock)
    assert [limiter.allow("a") for _ in range(4)] == [True, True, True, False]
    assert limiter.wait_for("a") == pytest.approx(1.0)
    clock.now += 1.0
    assert limiter.allow("a")
    assert not limiter.allow("a")


def test_keys_do_not_share_a_bucket():
    limiter = RateLimiter(per_minute=60, burst=1, clock=Clock())
    assert limiter.allow("a")
    assert not limiter.allow("a")
    assert limiter.allow("b")


def test_a_quiet_key_fills_up_only_to_the_burst():
    clock = Clock()
    limiter = RateLimiter(per_minute=60, burst=2, clock=clock)
    limiter.allow("a")
    clock.now += 3600
    assert [limiter.allow("a") for _ in range(3)] == [True, True, False]


def test_the_default_burst_is_a_quarter_of_a_minute():
    limiter = RateLimiter(per_minute=40, clock=Clock())
    assert sum(limiter.allow("a") for _ in range(20)) == 10


def test_memory_is_bounded_and_the_oldest_keys_go_first():
    limiter = RateLimiter(per_minute=60, burst=1, max_keys=100, clock=Clock())
    for i in range(1000):
        limiter.allow(f"sender-{i}")
    assert len(limiter) == 100
    assert limiter.allow("sender-0")  # forgotten, so full again: the safe side
    assert not limiter.allow("sender-999")


@pytest.mark.parametrize("bad", [0, -5])
def test_a_rate_below_one_is_refused(bad: int):
    with pytest.raises(ValueError, match="at least 1"):
        RateLimiter(per_minute=bad)
