"""FailureLimiter: exponential back-off per address after failed Logons, bounded memory."""

from __future__ import annotations

import pytest

from venue.gateway.auth import FailureLimiter

S = 1_000_000_000


def limiter(**kw: int) -> FailureLimiter:
    return FailureLimiter(
        base_delay_ns=kw.get("base", S // 2),
        max_delay_ns=kw.get("cap", 8 * S),
        decay_ns=kw.get("decay", 60 * S),
        max_addresses=kw.get("max_addresses", 100),
    )


def test_no_failures_no_delay() -> None:
    assert limiter().delay_for("10.0.0.1", 0) == 0.0


def test_delay_doubles_per_failure_and_is_capped() -> None:
    lim = limiter()
    delays = []
    for i in range(8):
        lim.record_failure("10.0.0.1", i)
        delays.append(lim.delay_for("10.0.0.1", i))
    assert delays == [0.5, 1.0, 2.0, 4.0, 8.0, 8.0, 8.0, 8.0]
    assert lim.delay_ns("10.0.0.1", 8) == 8 * S


def test_addresses_are_independent() -> None:
    lim = limiter()
    for _ in range(3):
        lim.record_failure("10.0.0.1", 0)
    assert lim.delay_for("10.0.0.1", 0) == 2.0
    assert lim.delay_for("10.0.0.2", 0) == 0.0


def test_failures_decay_one_per_period() -> None:
    lim = limiter(decay=60 * S)
    for _ in range(4):
        lim.record_failure("10.0.0.1", 0)
    assert lim.delay_for("10.0.0.1", 59 * S) == 4.0
    assert lim.delay_for("10.0.0.1", 60 * S) == 2.0
    assert lim.delay_for("10.0.0.1", 150 * S) == 1.0
    assert lim.delay_for("10.0.0.1", 240 * S) == 0.0
    assert len(lim) == 0  # fully decayed addresses are forgotten
    # a failure after partial decay continues from what is left
    lim.record_failure("10.0.0.2", 0)
    lim.record_failure("10.0.0.2", 0)
    lim.record_failure("10.0.0.2", 60 * S)  # 2 - 1 decayed + 1 = 2
    assert lim.delay_for("10.0.0.2", 60 * S) == 1.0


def test_success_clears_the_address() -> None:
    lim = limiter()
    lim.record_failure("10.0.0.1", 0)
    lim.record_success("10.0.0.1")
    assert lim.delay_for("10.0.0.1", 0) == 0.0
    lim.record_success("10.9.9.9")  # unknown: no error


def test_memory_is_bounded_and_the_least_recently_failed_is_evicted() -> None:
    lim = limiter(max_addresses=100)
    for i in range(10_000):
        lim.record_failure(f"10.{i // 65536}.{i // 256 % 256}.{i % 256}", i)
    assert len(lim) == 100
    assert lim.delay_for("10.0.0.0", 10_000) == 0.0  # evicted long ago
    assert lim.delay_for("10.0.39.15", 10_000) == 0.5  # i = 9999, the newest


def test_many_failures_do_not_overflow() -> None:
    lim = limiter(cap=30 * S)
    for _ in range(1000):
        lim.record_failure("10.0.0.1", 0)
    assert lim.delay_for("10.0.0.1", 0) == 30.0


def test_time_going_backwards_does_not_break_it() -> None:
    lim = limiter()
    lim.record_failure("10.0.0.1", 100 * S)
    assert lim.delay_for("10.0.0.1", 50 * S) == 0.5


@pytest.mark.parametrize(
    "kw",
    [{"base": -1}, {"base": 10 * S, "cap": S}, {"decay": 0}, {"max_addresses": 0}],
)
def test_bad_parameters_are_refused(kw: dict[str, int]) -> None:
    with pytest.raises(ValueError):
        limiter(**kw)
