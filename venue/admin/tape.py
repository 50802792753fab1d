"""The admin's record of recent trades and funding, kept from committed events.

`Tape.on_committed` is a sequencer subscriber: it sees every committed command's events and
keeps the last `max_fills` fills (both sides of each trade) and each instrument's last applied
funding rate, for `venue-admin trades` and `instrument list`.

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
from venue.core.events import FundingApplied, OrderFilled

__all__ = ["Fill", "Funding", "Tape"]


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


class Funding(NamedTuple):
    ts: int
    rate_ppb: int
    mark: int  # ticks


class Tape:
    def __init__(self, max_fills: int = 10_000) -> None:
        self.fills: deque[Fill] = deque(maxlen=max_fills)
        self.funding: dict[str, Funding] = {}

    def on_committed(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        for ev in events:
            t = type(ev)
            if t is OrderFilled:
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
            elif t is FundingApplied:
                assert isinstance(ev, FundingApplied)
                self.funding[ev.symbol] = Funding(ev.ts, ev.rate_ppb, ev.mark)
