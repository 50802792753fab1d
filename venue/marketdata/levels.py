"""Aggregated price levels of the committed book, for market data over FIX (35=W/X).

`LevelFeed` reuses the feed's own translation (`FeedTranslator`, order by order) and its book
(`FeedBook`), through a `FeedBook` subclass that notes which price levels each message touched
and every trade. A FIX market-data application reads levels from it and takes the changes once
per commit batch (`take_changes`), so it never builds a book of its own.

Invariants:
- The book is exactly the committed state: the preamble is taken at construction, when the
  engine holds only committed commands (the caller checks; see `FixMarketData`), and
  `on_command` is fed committed commands only, in sequence order (the caller's
  `Sequencer.subscribe` callback).
- A level is noted as changed whenever an order is added to, modified in, removed from or
  executed at it; a modify that moves an order notes both prices. Changes are kept per symbol
  in first-touched order (dicts, never sets) until `take_changes`.
- Trades are noted once each (the resting order's execution), in the order they happened.
- An instrument whose statistics (`S`) arrived is noted once per `take_changes` (its symbol,
  in first-noted order); `statistics(symbol)` answers the latest.
- While `track(False)`, nothing is noted (the book itself is kept all the same: the translator
  works on a plain `FeedBook` that shares the noting book's attribute dict, so both are one
  state); a reader turns it on before it needs changes (`FixMarketData`: while it has
  subscriptions).
- With a `shared` translator (the feed publisher's), there is one translation and one book for
  both: the publisher feeds it, committed commands only, in sequence order, and this feed
  never translates.
- Nothing here knows FIX; prices are ticks, quantities lots, sides `Side.BUY` / `Side.SELL`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple

from venue.core import Side
from venue.marketdata.book import FeedBook, InstrumentBook
from venue.marketdata.messages import (
    SIDE_BUY,
    ExecutedMsg,
    OptionMarksMsg,
    PriceMsg,
    StatisticsMsg,
)
from venue.marketdata.translate import FeedTranslator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from venue.core import Engine, Event

__all__ = ["LevelChanges", "LevelFeed", "Trade"]


class Trade(NamedTuple):
    symbol: str
    ts: int
    trade_id: int
    price: int  # ticks
    qty: int  # lots
    aggressor: Side


Changed = dict[tuple[Side, int], None]
"""(side, price) of the levels touched, in first-touched order."""


class LevelChanges(NamedTuple):
    levels: dict[str, Changed]  # symbol -> changed levels
    trades: list[Trade]
    statistics: dict[str, None]  # symbols with new statistics, in first-noted order


def _side(feed_side: int) -> Side:
    return Side.BUY if feed_side == SIDE_BUY else Side.SELL


class _NotingBook(FeedBook):
    """A `FeedBook` that notes the levels each operation touched and the trades (while
    `noting`; otherwise it is a plain `FeedBook`)."""

    def __init__(self) -> None:
        super().__init__()
        self.changed: dict[str, Changed] = {}
        self.trades: list[Trade] = []
        self.stats: dict[str, None] = {}
        self.noting = True

    def _note(self, book: InstrumentBook, feed_side: int, price: int) -> None:
        changed = self.changed.get(book.symbol)
        if changed is None:
            changed = self.changed[book.symbol] = {}
        changed[(_side(feed_side), price)] = None

    def add(self, locate: int, order_id: int, side: int, price: int, qty: int) -> None:
        FeedBook.add(self, locate, order_id, side, price, qty)
        if self.noting:
            self._note(self.instruments[locate], side, price)

    def modify(self, locate: int, order_id: int, price: int, qty: int, priority_kept: bool) -> None:
        if not self.noting:
            FeedBook.modify(self, locate, order_id, price, qty, priority_kept)
            return
        book = self.get(locate)
        o = book.orders.get(order_id)
        old = o.price if o is not None else price
        FeedBook.modify(self, locate, order_id, price, qty, priority_kept)
        assert o is not None  # FeedBook.modify raised otherwise
        self._note(book, o.side, old)
        self._note(book, o.side, price)

    def delete(self, locate: int, order_id: int) -> None:
        if not self.noting:
            FeedBook.delete(self, locate, order_id)
            return
        book = self.get(locate)
        o = book.orders.get(order_id)
        FeedBook.delete(self, locate, order_id)
        assert o is not None
        self._note(book, o.side, o.price)

    def set_price(self, msg: PriceMsg) -> None:
        FeedBook.set_price(self, msg)
        if self.noting and (type(msg) is StatisticsMsg or type(msg) is OptionMarksMsg):
            self.stats[self.instruments[msg.locate].symbol] = None

    def execute(self, msg: ExecutedMsg) -> None:
        if not self.noting:
            FeedBook.execute(self, msg)
            return
        book = self.get(msg.locate)
        o = book.orders.get(msg.order_id)
        FeedBook.execute(self, msg)
        assert o is not None
        self._note(book, o.side, o.price)
        self.trades.append(
            Trade(book.symbol, msg.ts, msg.trade_id, msg.price, msg.qty, _side(msg.aggressor_side))
        )


class LevelFeed:
    """Committed book of every instrument as price levels, and what changed since last taken."""

    def __init__(self, engine: Engine, ts: int, *, shared: FeedTranslator | None = None) -> None:
        """`engine` must hold committed commands only (the caller checks).

        `shared`: the translator of a feed publisher that translates every committed command
        in sequence order, and nothing before its commit (`MarketDataPublisher.committed_
        translator`). Its book becomes this feed's (a noting book with the same contents, put
        in its place) and `on_command` does nothing: the publisher's translation is the only
        one, instead of two of the same commands. Without it, this feed translates itself."""
        book = _NotingBook()
        if shared is not None:
            book.__dict__.update(shared.book.__dict__)  # same contents, noting from now on
            book.changed, book.trades, book.stats, book.noting = {}, [], {}, True
            shared.book = book
            self._translator = shared
        else:
            self._translator = FeedTranslator()
            self._translator.book = book
            self._translator.preamble(engine, ts)
        self._book = book
        # The same book without the noting (one state: the very same attribute dict), for the
        # translator while nobody reads changes: then a book operation costs what it costs in
        # a plain `FeedBook`.
        plain = FeedBook.__new__(FeedBook)
        plain.__dict__ = book.__dict__
        self._plain = plain
        self.shared = shared is not None  # fed by its owner: `on_command` does nothing
        self.take_changes()  # the preamble is the starting state, not a change

    # -- input: committed commands ------------------------------------------------------------

    def on_command(self, ts: int, events: Sequence[Event]) -> None:
        if not self.shared:
            self._translator.on_command(ts, events)

    def take_changes(self) -> LevelChanges:
        """The levels changed and the trades since the last call."""
        book = self._book
        out = LevelChanges(book.changed, book.trades, book.stats)
        book.changed = {}
        book.trades = []
        book.stats = {}
        return out

    def track(self, on: bool) -> None:
        """Note changes (on: the default) or not (nobody reads them: `take_changes` is then
        empty). Turning it on starts from no change."""
        book = self._book
        if on and not book.noting:
            book.changed, book.trades, book.stats = {}, [], {}
        book.noting = on
        self._translator.book = book if on else self._plain

    # -- reads ----------------------------------------------------------------------------------

    def has(self, symbol: str) -> bool:
        return symbol in self._book.by_symbol

    def symbols(self) -> list[str]:
        return list(self._book.by_symbol)

    def levels(self, symbol: str, side: Side, depth: int = 0) -> list[tuple[int, int, int]]:
        """Up to `depth` levels (0: all), best first: (price, qty, number of orders)."""
        book = self._book.by_symbol.get(symbol)
        if book is None:
            return []
        out: list[tuple[int, int, int]] = []
        for lvl in (book.bids if side == Side.BUY else book.asks).iter_levels():
            if len(out) == depth and depth:
                break
            out.append((lvl.price, lvl.qty, len(lvl.orders)))
        return out

    def level(self, symbol: str, side: Side, price: int) -> tuple[int, int] | None:
        """(qty, number of orders) at `price`, or None for an empty level."""
        book = self._book.by_symbol.get(symbol)
        if book is None:
            return None
        lvl = (book.bids if side == Side.BUY else book.asks).levels.get(price)
        return (lvl.qty, len(lvl.orders)) if lvl is not None else None

    def last_trade(self, symbol: str) -> Trade | None:
        book = self._book.by_symbol.get(symbol)
        t = book.last_trade if book is not None else None
        if book is None or t is None:
            return None
        return Trade(symbol, t.ts, t.trade_id, t.price, t.qty, _side(t.aggressor_side))

    def option_marks(self, symbol: str) -> OptionMarksMsg | None:
        """The latest option figures of `symbol` (`K`), None before the first (or not an
        option)."""
        book = self._book.by_symbol.get(symbol)
        return book.option_marks if book is not None else None

    def statistics(self, symbol: str) -> StatisticsMsg | None:
        """The latest statistics of `symbol` (`S`), None before the first."""
        book = self._book.by_symbol.get(symbol)
        return book.statistics if book is not None else None

    @property
    def inconsistencies(self) -> int:
        return self._translator.inconsistencies
