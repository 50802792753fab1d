"""Order expiry: submits `ExpireOrders` when GTD orders fall due and at each UTC day boundary.

The core expires orders only through the sequenced `ExpireOrders` command (DESIGN.md rule 2);
this component decides *when* to submit one. It reads committed events and never touches state.

Invariants:
- `due(now_ns)` is pure given what the scheduler has seen: it answers the command to submit (or
  None) and never reads a clock. `run()` is the only part that reads time or submits.
- Every GTD `expire_ts` the scheduler has seen stays in a min-heap until a command covering it
  is submitted, so an order never outlives its ExpireTime by more than one tick interval.
  Entries of orders that ended earlier are harmless: the command then expires nothing.
- Day orders expire at 00:00 UTC. At start-up, if the last journaled command is from an earlier
  UTC day than now, every resting Day order is from a previous day and expires at once.
- The heap is seeded from the recovered engine at start-up, so a restart misses no GTD order.
"""

from __future__ import annotations

import asyncio
import heapq
from typing import TYPE_CHECKING

from venue.core import Engine, ExpireOrders, OrderAccepted, TimeInForce
from venue.log import get_logger

if TYPE_CHECKING:
    from venue.clock import Clock
    from venue.core import Command, Event
    from venue.sequencer import Sequencer

DAY_NS = 86_400 * 1_000_000_000
_log = get_logger("venue.risk.expiry")


def utc_day(ts_ns: int) -> int:
    return ts_ns // DAY_NS


class OrderExpiry:
    """Decides when GTD and Day orders expire. See the module docstring."""

    def __init__(self, engine: Engine, *, last_ts: int, now_ns: int) -> None:
        self._heap: list[int] = []
        for order in engine.orders.values():
            if order.tif == TimeInForce.GTD:
                self._heap.append(order.expire_ts)
        heapq.heapify(self._heap)
        self._has_day_orders = any(o.tif == TimeInForce.DAY for o in engine.orders.values())
        # A journal last written on an earlier day than today: its Day orders are stale now.
        self._day = utc_day(last_ts) if last_ts else utc_day(now_ns)

    def on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        for ev in events:
            if type(ev) is OrderAccepted:
                if ev.tif == TimeInForce.GTD:
                    heapq.heappush(self._heap, ev.expire_ts)
                elif ev.tif == TimeInForce.DAY:
                    self._has_day_orders = True

    def due(self, now_ns: int) -> ExpireOrders | None:
        """The command to submit at `now_ns`, or None. Consumes what it covers."""
        heap = self._heap
        gtd_due = bool(heap) and heap[0] <= now_ns
        while heap and heap[0] <= now_ns:
            heapq.heappop(heap)
        day = utc_day(now_ns)
        day_due = day > self._day and self._has_day_orders
        self._day = max(self._day, day)
        if day_due:
            self._has_day_orders = False
        if gtd_due or day_due:
            return ExpireOrders(include_day=day_due)
        return None

    @property
    def pending(self) -> int:
        return len(self._heap)


async def run_expiry(
    scheduler: OrderExpiry, sequencer: Sequencer, clock: Clock, *, interval_s: float = 0.1
) -> None:
    """Check every `interval_s`; submit what is due. Runs until cancelled."""
    while True:
        cmd = scheduler.due(clock.now_ns())
        if cmd is not None:
            try:
                seq, events = sequencer.submit(cmd)
            except Exception as exc:  # a failed journal stops the venue; do not spin on it
                _log.error("expiry_submit_failed", error=str(exc))
                return
            _log.info("orders_expired", seq=seq, expired=len(events), day=cmd.include_day)
        await asyncio.sleep(interval_s)
