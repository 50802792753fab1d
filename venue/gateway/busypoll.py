"""Busy polling: keep the event loop polling its sockets for a while after input arrives.

An event loop that blocks in epoll as soon as it runs out of work pays, for the next message,
the wake-up of a sleeping thread and the cache misses of code that ran a millisecond ago: on
this project's 2-core benchmark machine an order arriving alone costs about 2.5 times the
CPU of one in a busy stream. With `gateway.busy_poll_us` set, each arrival of input (`touch`)
keeps the loop spinning (one `call_soon` per pass, so uvloop polls with a zero timeout) until
that many microseconds pass with no new input; then the loop blocks as usual. It trades one
core's idle time for latency, as market makers' own engines do; it is off (0) by default.

Invariants:
- At most one spin callback is scheduled at a time; `touch` never schedules a second one.
- The spin stops once `window_ns` of monotonic time has passed since the last `touch` (or the
  spin's own start): an idle venue never spins for longer than the window.
- `touch` costs one attribute write while spinning; time is read only by the spin callback.
- No spinning while `hold_off()` is true (the journal waits for its database thread: a
  spinning loop would keep the GIL, and on a shared core the CPU, from the thread it waits
  for); the next `touch` after it turns false spins again.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

__all__ = ["BusyPoll"]


class BusyPoll:
    """Spins `loop` for `window_ns` after each `touch`. `monotonic_ns` is the clock's."""

    __slots__ = (
        "_deadline",
        "_hold_off",
        "_loop",
        "_monotonic_ns",
        "_touched",
        "passes",
        "spinning",
        "window_ns",
    )

    def __init__(
        self,
        loop: asyncio.AbstractEventLoop,
        monotonic_ns: Callable[[], int],
        window_ns: int,
        hold_off: Callable[[], bool] = lambda: False,
    ) -> None:
        if window_ns <= 0:
            raise ValueError("busy poll window must be positive")
        self._loop = loop
        self._hold_off = hold_off
        self._monotonic_ns = monotonic_ns
        self.window_ns = window_ns
        self._deadline = 0
        self._touched = False
        self.spinning = False
        self.passes = 0  # loop passes spun (tests, diagnostics)

    def touch(self) -> None:
        """Input arrived: spin (again) for the window from now."""
        self._touched = True
        if not self.spinning:
            self.spinning = True
            self._loop.call_soon(self._spin)

    def _spin(self) -> None:
        now = self._monotonic_ns()
        if self._touched:
            self._touched = False
            self._deadline = now + self.window_ns
        if now >= self._deadline or self._hold_off():
            self.spinning = False
            return
        self.passes += 1
        self._loop.call_soon(self._spin)
