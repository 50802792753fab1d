"""TokenBucket, AbuseTracker and SessionThrottle: integer, clock-free throttling."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venue.config import ThrottleConfig
from venue.gateway.throttle import AbuseTracker, SessionThrottle, ThrottleVerdict, TokenBucket

S = 1_000_000_000


def test_a_new_bucket_is_full_then_empty() -> None:
    bucket = TokenBucket(rate=10, burst=20)
    assert [bucket.allow(0) for _ in range(21)] == [True] * 20 + [False]


def test_refill_is_exact_in_integers() -> None:
    bucket = TokenBucket(rate=3, burst=3)
    for _ in range(3):
        assert bucket.allow(0)
    assert not bucket.allow(0)
    # one token every 333_333_333.33 ns: not yet at 333_333_333, yes at 333_333_334
    assert not bucket.allow(333_333_333)
    assert bucket.allow(333_333_334)
    assert not bucket.allow(333_333_334)
    assert bucket.tokens(S) == 2  # 3 tokens/s: by t=1 s, exactly 3 more were earned, 1 spent


def test_refill_never_exceeds_burst() -> None:
    bucket = TokenBucket(rate=100, burst=5)
    bucket.allow(0)
    assert bucket.tokens(3600 * S) == 5


def test_time_going_backwards_adds_nothing() -> None:
    bucket = TokenBucket(rate=1, burst=1)
    assert bucket.allow(10 * S)
    assert not bucket.allow(5 * S)
    assert not bucket.allow(10 * S)  # the clock came back: still no time has passed
    assert bucket.allow(11 * S)


def test_state_is_integers() -> None:
    bucket = TokenBucket(rate=7, burst=9)
    bucket.allow(123)
    bucket.allow(10**9 + 17)
    for name in TokenBucket.__slots__:
        value = getattr(bucket, name)
        assert value is None or type(value) is int


@given(
    rate=st.integers(1, 10_000),
    burst_extra=st.integers(0, 10_000),
    gaps=st.lists(st.integers(0, 2 * S), max_size=200),
)
def test_never_more_than_burst_plus_rate_times_elapsed(
    rate: int, burst_extra: int, gaps: list[int]
) -> None:
    burst = rate + burst_extra
    bucket = TokenBucket(rate, burst)
    now = allowed = 0
    for gap in gaps:
        now += gap
        allowed += bucket.allow(now)
    assert allowed <= burst + rate * now // S


@pytest.mark.parametrize(("rate", "burst"), [(0, 1), (1, 0), (-5, 10)])
def test_bad_parameters_are_refused(rate: int, burst: int) -> None:
    with pytest.raises(ValueError):
        TokenBucket(rate, burst)


def test_abuse_after_abuse_seconds_in_a_row() -> None:
    tracker = AbuseTracker(abuse_seconds=5)
    results = [tracker.record_throttled(t * S // 10) for t in range(51)]  # every 100 ms
    assert not any(results[:50])
    assert results[50]  # 5.0 s after the first throttled message


def test_a_pause_longer_than_the_gap_restarts_the_run() -> None:
    tracker = AbuseTracker(abuse_seconds=2)
    assert not tracker.record_throttled(0)
    assert not tracker.record_throttled(S)
    assert not tracker.record_throttled(2 * S + 1)  # gap of 1 s + 1 ns: new run starts here
    assert not tracker.record_throttled(3 * S)
    assert not tracker.record_throttled(4 * S)  # 2 s - 1 ns into the run
    assert tracker.record_throttled(4 * S + 1)  # 2 s into the run
    tracker.reset()
    assert not tracker.record_throttled(10 * S)


def test_abuse_tracker_ignores_time_going_backwards() -> None:
    tracker = AbuseTracker(abuse_seconds=1)
    assert not tracker.record_throttled(5 * S)
    assert not tracker.record_throttled(4 * S)
    assert tracker.record_throttled(6 * S)


def test_session_throttle_verdicts() -> None:
    throttle = SessionThrottle(ThrottleConfig(messages_per_second=10, burst=10, abuse_seconds=2))
    verdicts = [throttle.check(0) for _ in range(11)]
    assert verdicts == [ThrottleVerdict.ALLOW] * 10 + [ThrottleVerdict.THROTTLE]
    # flood at 100/s: 10/s still get through, the rest are throttled, abuse after 2 s
    seen: list[ThrottleVerdict] = []
    for i in range(1, 400):
        seen.append(throttle.check(i * S // 100))
        if seen[-1] is ThrottleVerdict.ABUSE:
            break
    assert seen[-1] is ThrottleVerdict.ABUSE
    assert 195 <= len(seen) <= 201  # ~2 s at 100 messages/s
    assert ThrottleVerdict.ALLOW in seen


def test_ns_until_token_is_exact() -> None:
    bucket = TokenBucket(rate=3, burst=1)
    assert bucket.ns_until_token(0) == 0
    assert bucket.allow(0)
    wait = bucket.ns_until_token(0)
    assert wait == 333_333_334  # ceil(10**9 / 3)
    assert not bucket.allow(wait - 1)
    assert bucket.ns_until_token(wait - 1) == 1
    assert bucket.allow(wait)
    throttle = SessionThrottle(ThrottleConfig(messages_per_second=2, burst=2, abuse_seconds=1))
    assert throttle.check(0) is throttle.check(0) is ThrottleVerdict.ALLOW
    assert throttle.ns_until_allowed(0) == 500_000_000


def test_at_most_one_reject_per_second_the_rest_are_dropped() -> None:
    """RoE section 4: a flood gets one reject per second, not one per excess message."""
    throttle = SessionThrottle(ThrottleConfig(messages_per_second=10, burst=10, abuse_seconds=60))
    verdicts = [throttle.check(i * S // 1000) for i in range(3000)]  # 1000/s for 3 s
    rejects = [i for i, v in enumerate(verdicts) if v is ThrottleVerdict.THROTTLE]
    assert rejects == [10, 1010, 2010]  # the first excess message of each second
    assert verdicts.count(ThrottleVerdict.ALLOW) == 10 + 29  # burst, then 10/s for 2.999 s
    assert verdicts.count(ThrottleVerdict.DROP) == 3000 - 39 - 3


def test_a_clock_that_went_back_does_not_silence_rejects_for_long() -> None:
    throttle = SessionThrottle(ThrottleConfig(messages_per_second=1, burst=1, abuse_seconds=60))
    assert throttle.check(100 * S) is ThrottleVerdict.ALLOW
    assert throttle.check(100 * S) is ThrottleVerdict.THROTTLE
    assert throttle.check(100 * S + 1) is ThrottleVerdict.DROP
    assert throttle.check(10 * S) is ThrottleVerdict.THROTTLE  # 90 s back: a new interval
