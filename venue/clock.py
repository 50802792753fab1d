"""Clocks: the only place the venue reads time.

Invariants:
- Time is integer nanoseconds since the Unix epoch (UTC) for wall time (`now_ns`) and integer
  nanoseconds from an arbitrary origin for intervals (`monotonic_ns`). No floats.
- Nothing in `venue.core` or in the pure FIX session machine reads a clock; they receive times.
- `ManualClock` only moves when told to, so tests drive time explicitly and never sleep.
"""

from __future__ import annotations

import time
from typing import Protocol


class Clock(Protocol):
    """What the sequencer, gateway and risk monitor need to know about time."""

    def now_ns(self) -> int:
        """Wall-clock time, UTC nanoseconds since the epoch."""
        ...

    def monotonic_ns(self) -> int:
        """A clock that never goes backwards, for timeouts and latency."""
        ...


class LiveClock:
    """The real clocks of the machine."""

    __slots__ = ()

    def now_ns(self) -> int:
        return time.time_ns()

    def monotonic_ns(self) -> int:
        return time.monotonic_ns()


class ManualClock:
    """A clock for tests: starts at `start_ns` and moves only through `advance` / `set`."""

    __slots__ = ("_mono", "_now")

    def __init__(self, start_ns: int = 1_767_225_600_000_000_000) -> None:  # 2026-01-01T00:00Z
        self._now = start_ns
        self._mono = 0

    def now_ns(self) -> int:
        return self._now

    def monotonic_ns(self) -> int:
        return self._mono

    def advance(self, ns: int) -> None:
        if ns < 0:
            raise ValueError("a manual clock does not go backwards")
        self._now += ns
        self._mono += ns

    def set(self, now_ns: int) -> None:
        if now_ns < self._now:
            raise ValueError("a manual clock does not go backwards")
        self._mono += now_ns - self._now
        self._now = now_ns
