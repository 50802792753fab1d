"""The admin's record of recent trades, kept from committed events.

`Tape.on_committed` is a sequencer subscriber: it sees every committed command's events and
keeps the last `max_fills` fills (both sides of each trade), for `venue-admin trades`.

Invariants:
- Only committed events are recorded (a subscriber runs after commit), so nothing shown can be
  taken back by a restart; the record starts empty at each start (trades from before a
  restart are in the journal, and in trade capture 35=AD, not here).
- Bounded memory: a deque of at most `max_fills` small tuples.
- Reads nothing of the engine and changes nothing.
"""

from __future__ import annotations

from collections import deque
from typing import NamedTuple

from venue.core import Command, Event
from venue.core.events import OrderFilled

__all__ = ["Fill", "Tape"]


class Fill(NamedTuple):
    seq: int
    ts: int
    trade_id: int
    symbol: str
    account: str
    firm: str
    side: str
    price: int  # ticks
    qty: int  # lots
    aggressor: bool
    order_id: int
    cl_ord_id: str


class Tape:
    def __init__(self, max_fills: int = 10_000) -> None:
        self.fills: deque[Fill] = deque(maxlen=max_fills)

    def on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        for ev in events:
            if type(ev) is OrderFilled:
                assert isinstance(ev, OrderFilled)
                self.fills.append(
                    Fill(
                        seq,
                        ev.ts,
                        ev.trade_id,
                        ev.symbol,
                        ev.account,
                        ev.firm,
                        ev.side.name,
                        ev.last_px,
                        ev.last_qty,
                        ev.aggressor,
                        ev.order_id,
                        ev.cl_ord_id,
                    )
                )
