"""What slows and stops Logon attempts: back-off, lock-out, cool-down, bounded password checks.

`LogonLimits` is pure (every call takes `now_ns`, nothing reads a clock); `PasswordChecks` is the
small thread pool that keeps scrypt off the event loop.

Invariants:
- Back-off is keyed by session and by (session, address), never by address alone: a Logon of
  one session (failed or not) never changes another session's back-off. The delay owed before
  an attempt is the larger of the two keys' (`FailureLimiter`: base * 2**(failures-1), capped,
  one failure forgotten per decay period). Every failure counts for its (session, address);
  only failed credentials (`credentials=True`: a wrong password or signature, not a refused
  address) count for the session, so nobody outside `allowed_addresses` can slow or lock a
  session. A success clears only its (session, address) key; the session key decays, so
  guesses spread over many addresses stay slowed.
- The caller waits out `delay_ns` before it looks at an attempt at all (credentials, lock,
  cool-down), so a correct password is delayed exactly like a wrong one while a back-off runs.
- Lock-out: `lockout_failures` failed credentials of one session within
  `lockout_window_seconds` lock it for `lockout_seconds` (0 failures: never). While locked
  every Logon is refused before its credentials are checked. `unlock` (the operator) or
  `expired` (the time has passed) lift it; the caller journals both (and the lock) as admin
  actions. A lock lives in memory: a restart lifts it (an attacker cannot cause a restart).
- Cool-down: after a Logout for throttle abuse, Logons of that session are refused until
  `cooldown_until_ns` (set by the caller from `throttle.cooldown_seconds`).
- Memory: one entry per configured session, plus at most `max_addresses` (session, address)
  keys (least recently failed evicted first); failure times kept per session are at most
  `lockout_failures`.
- `PasswordChecks` runs at most `limit` checks at once on its own threads; `submit` refuses
  (returns None) when that many are running, so excess attempts are answered at once and
  never queue up behind each other.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import TypeVar

from venue.config import AuthConfig
from venue.gateway.auth import FailureLimiter

__all__ = ["LogonLimits", "PasswordChecks"]

_NS = 1_000_000_000
T = TypeVar("T")


class LogonLimits:
    """Back-off, lock-out and cool-down state of every session's Logon attempts."""

    __slots__ = ("_by_address", "_by_session", "_cooldown_until", "_failures", "_locked_until")

    def __init__(
        self,
        *,
        base_delay_ns: int = 500_000_000,
        max_delay_ns: int = 30 * _NS,
        decay_ns: int = 60 * _NS,
        max_addresses: int = 10_000,
    ) -> None:
        def limiter(size: int) -> FailureLimiter:
            return FailureLimiter(
                base_delay_ns=base_delay_ns,
                max_delay_ns=max_delay_ns,
                decay_ns=decay_ns,
                max_addresses=size,
            )

        self._by_session = limiter(max_addresses)
        self._by_address = limiter(max_addresses)
        self._failures: dict[str, deque[int]] = {}  # session -> recent failure times
        self._locked_until: dict[str, int] = {}
        self._cooldown_until: dict[str, int] = {}

    @staticmethod
    def _key(session: str, ip: str) -> str:
        return f"{session} {ip}"  # session names have no spaces (config.py)

    # -- back-off -----------------------------------------------------------------------------

    def delay_ns(self, session: str, ip: str, now_ns: int) -> int:
        """How long to wait before looking at a Logon of `session` from `ip` (0: at once)."""
        return max(
            self._by_session.delay_ns(session, now_ns),
            self._by_address.delay_ns(self._key(session, ip), now_ns),
        )

    def record_failure(
        self, session: str, ip: str, now_ns: int, auth: AuthConfig, *, credentials: bool = True
    ) -> bool:
        """Count a failed Logon (`credentials`: the credentials were checked and failed);
        True when this failure locks the session."""
        self._by_address.record_failure(self._key(session, ip), now_ns)
        if not credentials:
            return False
        self._by_session.record_failure(session, now_ns)
        if auth.lockout_failures < 1 or session in self._locked_until:
            return False
        times = self._failures.get(session)
        if times is None or times.maxlen != auth.lockout_failures:  # new, or the file changed
            times = self._failures[session] = deque(times or (), maxlen=auth.lockout_failures)
        times.append(now_ns)
        window_ns = auth.lockout_window_seconds * _NS
        if len(times) == times.maxlen and now_ns - times[0] <= window_ns:
            self._locked_until[session] = now_ns + auth.lockout_seconds * _NS
            times.clear()
            return True
        return False

    def record_success(self, session: str, ip: str) -> None:
        self._by_address.record_success(self._key(session, ip))

    # -- lock-out and cool-down ---------------------------------------------------------------

    def refusal(self, session: str, now_ns: int) -> str | None:
        """Why a Logon of `session` is refused before any check now, or None."""
        if self._locked_until.get(session, 0) > now_ns:
            return "session locked after too many failed Logons: ask the venue's operations"
        if self._cooldown_until.get(session, 0) > now_ns:
            return "session in cool-down after a Logout for throttle abuse: try again later"
        return None

    def unlock(self, session: str) -> bool:
        """Lift a lock and forget the session's failures (the operator); True if it was locked."""
        was_locked = self._locked_until.pop(session, None) is not None
        self._failures.pop(session, None)
        self._by_session.record_success(session)
        return was_locked

    def expired(self, now_ns: int) -> list[str]:
        """Sessions whose lock ran out by `now_ns` (lifted here); ends finished cool-downs."""
        done = [name for name, until in self._locked_until.items() if until <= now_ns]
        for name in done:
            del self._locked_until[name]
        for name in [n for n, until in self._cooldown_until.items() if until <= now_ns]:
            del self._cooldown_until[name]
        return done

    def start_cooldown(self, session: str, until_ns: int) -> None:
        self._cooldown_until[session] = max(until_ns, self._cooldown_until.get(session, 0))

    def locked_until_ns(self, session: str) -> int:
        return self._locked_until.get(session, 0)

    def cooldown_until_ns(self, session: str) -> int:
        return self._cooldown_until.get(session, 0)


class PasswordChecks:
    """At most `limit` password checks at once, on threads of their own."""

    def __init__(self, limit: int) -> None:
        if limit < 1:
            raise ValueError("limit must be at least 1")
        self.limit = limit
        self.running = 0
        self.refused = 0  # attempts answered at once because `limit` checks were running
        self._pool = ThreadPoolExecutor(max_workers=limit, thread_name_prefix="venue-password")

    def submit(self, fn: Callable[[], T]) -> asyncio.Future[T] | None:
        """Run `fn` on the pool (call on the event loop); None when `limit` already run."""
        if self.running >= self.limit:
            self.refused += 1
            return None
        self.running += 1
        future = asyncio.get_running_loop().run_in_executor(self._pool, fn)
        future.add_done_callback(self._done)
        return future

    def _done(self, _future: asyncio.Future[T]) -> None:
        self.running -= 1

    def close(self) -> None:
        self._pool.shutdown(wait=False, cancel_futures=True)
