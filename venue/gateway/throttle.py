"""Per-session message throttling: a token bucket and an abuse tracker.

Invariants:
- Pure: nothing here reads a clock; every call takes `now_ns` (int nanoseconds).
- A message costs one token, a MassQuote one per quote entry (capped at the burst).
- Integer state only. A token is worth `10**9` units; the bucket gains `rate` units per elapsed
  nanosecond (so `rate` tokens per second, exactly) and holds at most `burst` tokens.
- Time that goes backwards adds nothing (elapsed time is clamped at zero); a bucket starts full.
- `AbuseTracker` reports abuse once throttled messages have kept coming for `abuse_seconds`
  in a row, "in a row" meaning no gap longer than `gap_ns` (default 1 s) between two throttled
  messages. Messages let through in between do not break the run: a client flooding at twice
  its rate gets half its messages through and is still abusing.
- `SessionThrottle` answers at most one throttled message per `REJECT_INTERVAL_NS` (1 s) with a
  reject (THROTTLE); the others of that interval are dropped unanswered (DROP), so a flood
  costs the venue one journaled reject per second, not one per excess message.
"""

from __future__ import annotations

import enum

from venue.config import ThrottleConfig

__all__ = [
    "REJECT_INTERVAL_NS",
    "AbuseTracker",
    "SessionThrottle",
    "ThrottleVerdict",
    "TokenBucket",
]

_UNIT = 1_000_000_000  # units per token
REJECT_INTERVAL_NS = 1_000_000_000  # at most one reject per session per interval (RoE 4)


class TokenBucket:
    """`rate` tokens per second, up to `burst` tokens; `allow` spends one token if there is one."""

    __slots__ = ("_capacity", "_level", "_rate", "_ts_last")

    def __init__(self, rate: int, burst: int) -> None:
        if rate < 1 or burst < 1:
            raise ValueError("rate and burst must be at least 1")
        self._rate = rate
        self._capacity = burst * _UNIT
        self._level = self._capacity
        self._ts_last: int | None = None

    def _refill(self, now_ns: int) -> None:
        last = self._ts_last
        if last is None or now_ns > last:
            if last is not None:
                level = self._level + (now_ns - last) * self._rate
                capacity = self._capacity
                self._level = level if level < capacity else capacity
            self._ts_last = now_ns

    def allow(self, now_ns: int, cost: int = 1) -> bool:
        """Spend `cost` tokens (at most the burst: a message never costs more than a full
        bucket) if there are that many."""
        self._refill(now_ns)
        level = self._level
        need = cost * _UNIT
        need = min(need, self._capacity)
        if level >= need:
            self._level = level - need
            return True
        return False

    def tokens(self, now_ns: int) -> int:
        """Whole tokens available at `now_ns` (refills, spends nothing)."""
        self._refill(now_ns)
        return self._level // _UNIT

    def ns_until_token(self, now_ns: int) -> int:
        """Nanoseconds from `now_ns` until `allow` would succeed (0 if it would now).

        Lets a reader pause a connection whose bucket is empty instead of reading (and
        answering) messages it would only throttle: TCP then pushes back on that sender alone.
        """
        self._refill(now_ns)
        missing = _UNIT - self._level
        return 0 if missing <= 0 else -(-missing // self._rate)  # ceiling division


class AbuseTracker:
    """Call `record_throttled(now_ns)` for each throttled message; True once it is abuse."""

    __slots__ = ("_abuse_ns", "_gap_ns", "_ts_last", "_ts_start")

    def __init__(self, abuse_seconds: int, *, gap_ns: int = 1_000_000_000) -> None:
        if abuse_seconds < 1 or gap_ns < 1:
            raise ValueError("abuse_seconds and gap_ns must be at least 1")
        self._abuse_ns = abuse_seconds * 1_000_000_000
        self._gap_ns = gap_ns
        self._ts_start: int | None = None
        self._ts_last: int | None = None

    def record_throttled(self, now_ns: int) -> bool:
        if self._ts_start is None or self._ts_last is None or now_ns - self._ts_last > self._gap_ns:
            self._ts_start = self._ts_last = now_ns
        elif now_ns > self._ts_last:
            self._ts_last = now_ns
        return self._ts_last - self._ts_start >= self._abuse_ns

    def reset(self) -> None:
        self._ts_start = self._ts_last = None


class ThrottleVerdict(enum.Enum):
    ALLOW = "allow"  # process the message
    THROTTLE = "throttle"  # refuse this message (BusinessMessageReject / Reject), keep session
    DROP = "drop"  # refuse it unanswered: a reject was sent within REJECT_INTERVAL_NS
    ABUSE = "abuse"  # over the limit for abuse_seconds in a row: Logout and disconnect


# Enum members bound once: reading one off its class costs ~130 ns in Python 3.11.
_ALLOW = ThrottleVerdict.ALLOW
_THROTTLE = ThrottleVerdict.THROTTLE
_DROP = ThrottleVerdict.DROP
_ABUSE = ThrottleVerdict.ABUSE


class SessionThrottle:
    """A session's `TokenBucket` and `AbuseTracker`, built from its `[throttle]` settings, and
    the time of its last reject."""

    __slots__ = ("_abuse", "_bucket", "_ts_last_reject")

    def __init__(self, config: ThrottleConfig) -> None:
        self._bucket = TokenBucket(config.messages_per_second, config.burst)
        self._abuse = AbuseTracker(config.abuse_seconds)
        self._ts_last_reject: int | None = None

    def ns_until_allowed(self, now_ns: int) -> int:
        """Nanoseconds until the bucket has a token again (0: now); see `TokenBucket`."""
        return self._bucket.ns_until_token(now_ns)

    def check(self, now_ns: int, cost: int = 1) -> ThrottleVerdict:
        """`cost`: tokens the message takes (a MassQuote: one per quote entry)."""
        if self._bucket.allow(now_ns, cost):
            return _ALLOW
        if self._abuse.record_throttled(now_ns):
            return _ABUSE
        last = self._ts_last_reject
        # abs(): a clock that went back starts a new interval rather than a long silence
        if last is not None and abs(now_ns - last) < REJECT_INTERVAL_NS:
            return _DROP
        self._ts_last_reject = now_ns
        return _THROTTLE
