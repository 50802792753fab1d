"""The surveillance engine inside the venue: a sequencer subscriber that only queues, and a task
that feeds the queue to the engine when the loop has time, writing alerts to the alerts file.

Invariants:
- Off the order path: `on_committed` (called by the sequencer after each commit) appends one
  tuple to a list and returns; the detectors run in `run()`'s task, woken every `interval`,
  for at most `slice_ns` each time (a share of the loop's time, not of its orders: under a
  burst surveillance lags and catches up when the burst is over), unless more than `max_lag`
  rows wait.
- Every committed row is fed exactly once, in seq order: rows up to `boundary` (the journal's
  last seq when the subscriber was attached) come from the journal file, later ones from the
  queue.
- Restart: the alerts file records the last seq processed; the next start feeds the journal
  again from the first row within `warmup_ns` (the longest pattern window) before it, so the
  windows are full again; an alert found again keeps its id and is updated, never duplicated.
  A new alerts file starts with the rows committed from then on (`venue surveil --db ...
  --alerts ...` covers an older journal).
- A failure in a detector or in the alerts file is logged and stops surveillance only; the
  venue goes on trading (DESIGN.md rule 7: a subscriber that fails is isolated).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from typing import Any

import msgspec

from venue.config_surveillance import SurveillanceConfig
from venue.core import Command, Event
from venue.journal import Journal
from venue.log import get_logger
from venue.surveillance.engine import Surveillance
from venue.surveillance.store import AlertStore

__all__ = ["LiveSurveillance"]

_log = get_logger("venue.surveillance")
_CHUNK = 64  # rows judged between two looks at the clock
_decode_cmd = msgspec.msgpack.Decoder(Command).decode
_decode_events = msgspec.msgpack.Decoder(list[Event]).decode


def warmup_ns(cfg: SurveillanceConfig) -> int:
    """The longest window of any pattern: how far back a restart feeds the journal again."""
    return max(
        cfg.wash.window_seconds * 10**9,
        cfg.spoofing.window_seconds * 10**9,
        cfg.stuffing.otr_window_seconds * 10**9,
        cfg.marking.window_seconds * 10**9,
    )


class LiveSurveillance:
    """See the module docstring. `attach` before the sequencer's first submit."""

    def __init__(self, cfg: SurveillanceConfig, store: AlertStore) -> None:
        self.engine = Surveillance(cfg)
        self._cfg = cfg
        self._store = store
        self._queue: list[tuple[int, int, Command, list[Event]]] = []
        self.boundary = 0
        self.processed_seq = 0
        self._fed_seq = 0
        self.failed: BaseException | None = None
        self._progress = asyncio.Event()

    def on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        self._queue.append((seq, ts, cmd, events))

    async def wait_processed(self, seq: int) -> None:
        """Return once every row up to `seq` was fed and its alerts saved (tests, tools)."""
        while self.processed_seq < seq:
            if self.failed is not None:
                raise RuntimeError(f"surveillance failed: {self.failed}")
            self._progress.clear()
            await self._progress.wait()

    async def run(
        self,
        journal: Journal,
        boundary: int,
        mono_ns: Callable[[], int],
        *,
        interval: float = 0.025,
        slice_ns: int = 1_000_000,
        max_lag: int = 200_000,
    ) -> None:
        """Catch up from the journal up to `boundary`, then follow the queue forever: every
        `interval` seconds, judge queued rows for at most `slice_ns` of `mono_ns` time (so
        surveillance takes at most slice/interval of the loop while it lags: 4 % by default);
        past `max_lag` queued rows, until back under half of it, without that limit (memory
        stays bounded)."""
        self.boundary = boundary
        queue = self._queue
        try:
            await self._catch_up(journal, boundary)
            behind = False
            while True:
                await asyncio.sleep(interval)
                if not queue:
                    continue
                behind = behind or len(queue) > max_lag
                deadline = mono_ns() + slice_ns
                while queue and (behind or mono_ns() < deadline):
                    self._feed_rows(_CHUNK)
                    if behind and len(queue) <= max_lag // 2:
                        behind = False
                        break
                self._save(self._fed_seq)
        except asyncio.CancelledError:
            if self.failed is None:
                while queue:  # stopping: what committed is still judged
                    self._feed_rows(len(queue))
                self._save(self._fed_seq)
            raise
        except Exception as exc:  # isolated: the venue trades on (module docstring)
            self.failed = exc
            self._progress.set()
            _log.exception("surveillance_failed", processed_seq=self.processed_seq)

    def _feed_rows(self, n: int) -> None:
        rows = self._queue[:n]
        del self._queue[:n]
        feed = self.engine.feed
        for seq, ts, cmd, events in rows:
            feed(seq, ts, cmd, events)
        self._fed_seq = rows[-1][0]

    def _save(self, seq: int) -> None:
        self._fed_seq = seq
        self._store.save(self.engine.take(), seq)
        self.processed_seq = seq
        self._progress.set()

    async def _catch_up(self, journal: Journal, boundary: int) -> None:
        done = self._store.last_seq()
        if done <= 0 or boundary <= 0:  # a new alerts file: from the next command on
            self._save(boundary)
            return
        start = await first_seq_after(journal, min(done, boundary), warmup_ns(self._cfg))
        feed = self.engine.feed

        def on_chunk(rows: list[Any]) -> None:
            for seq, ts, cmd, events in rows:
                if seq > boundary:
                    return
                feed(seq, ts, _decode_cmd(cmd), _decode_events(events))

        await journal.scan(start - 1, on_chunk, with_events=True, chunk=512)
        self._save(boundary)


async def first_seq_after(journal: Journal, seq: int, back_ns: int) -> int:
    """The first seq whose ts is at least `back_ns` before row `seq`'s (binary search: ts
    never decreases with seq)."""
    rows = await journal.read_rows([seq])
    if not rows:
        return seq + 1
    target = rows[0][1] - back_ns
    lo, hi = 1, seq
    while lo < hi:
        mid = (lo + hi) // 2
        found = await journal.read_rows([mid])
        if found and found[0][1] >= target:
            hi = mid
        else:
            lo = mid + 1
    return lo
