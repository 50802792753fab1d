"""Order-by-order books built from feed messages: the publisher's own book and the client's.

The publisher applies every message it sequences to a `FeedBook`, and the feed handler applies
the same messages to its own: both sides run this code, so a snapshot taken from the publisher's
book replays exactly what a client that saw every message holds.

Invariants:
- Per instrument and side, `keys` is the ascending list of `sign * price` of the non-empty
  levels (bids sign +1, asks -1): the best level is `keys[-1]`. No empty level is kept.
- A level's `qty` is the sum of its orders' `qty` (leaves); its `orders` dict is in time
  priority (insertion order): a modify that keeps priority updates in place, one that loses it
  moves the order to the tail of its (new) level.
- Every order is in exactly one level of its instrument and in that instrument's `orders`.
- A message that does not fit the book (unknown locate or order, duplicate order id, a
  non-positive quantity or an execution larger than the order) raises `BookError` and changes
  nothing.
- Each instrument keeps the latest index price `I`, mark price `M`, funding `F` and statistics
  `S` message it saw (None before the first); a snapshot re-sends them after the instrument's
  definition.
"""

from __future__ import annotations

from bisect import bisect_left, insort
from collections.abc import Iterable

from venue.marketdata.messages import (
    SIDE_BUY,
    SIDE_SELL,
    AddOrderMsg,
    DefinitionMsg,
    DeleteOrderMsg,
    ExecutedMsg,
    FeedMessage,
    FundingMsg,
    IndexPriceMsg,
    MarkPriceMsg,
    ModifyOrderMsg,
    OptionMarksMsg,
    OptionTermsMsg,
    PriceMsg,
    SnapshotCompleteMsg,
    StatisticsMsg,
    StatusMsg,
    encode_add,
    encode_definition_msg,
    encode_price_msg,
)

__all__ = ["BookError", "FeedBook", "FeedLevel", "FeedOrder", "FeedSide", "InstrumentBook"]

LevelView = tuple[int, list[tuple[int, int]]]
"""(price, [(order_id, leaves qty), ...] in time priority)."""


class BookError(ValueError):
    """A message that contradicts the book (the stream is broken or out of order)."""


class FeedOrder:
    __slots__ = ("order_id", "price", "qty", "side")

    def __init__(self, order_id: int, side: int, price: int, qty: int) -> None:
        self.order_id = order_id
        self.side = side
        self.price = price
        self.qty = qty


class FeedLevel:
    __slots__ = ("orders", "price", "qty")

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0
        self.orders: dict[int, FeedOrder] = {}


class FeedSide:
    __slots__ = ("keys", "levels", "sign")

    def __init__(self, sign: int) -> None:
        self.sign = sign
        self.keys: list[int] = []
        self.levels: dict[int, FeedLevel] = {}

    def add(self, o: FeedOrder) -> None:
        level = self.levels.get(o.price)
        if level is None:
            level = self.levels[o.price] = FeedLevel(o.price)
            insort(self.keys, self.sign * o.price)
        level.orders[o.order_id] = o
        level.qty += o.qty

    def remove(self, o: FeedOrder) -> None:
        level = self.levels[o.price]
        del level.orders[o.order_id]
        level.qty -= o.qty
        if not level.orders:
            del self.levels[o.price]
            key = self.sign * o.price
            if self.keys[-1] == key:
                self.keys.pop()
            else:
                del self.keys[bisect_left(self.keys, key)]

    def best(self) -> FeedLevel | None:
        return self.levels[self.sign * self.keys[-1]] if self.keys else None

    def iter_levels(self) -> Iterable[FeedLevel]:
        """Best level first."""
        levels, sign = self.levels, self.sign
        return (levels[sign * k] for k in reversed(self.keys))


_KEPT = (IndexPriceMsg, MarkPriceMsg, FundingMsg, StatisticsMsg, OptionTermsMsg, OptionMarksMsg)
"""The message types a book keeps the latest of (`set_price`)."""


class InstrumentBook:
    """One instrument: its definition, trading state, book and last trade."""

    __slots__ = (
        "asks",
        "bids",
        "definition",
        "funding",
        "index_price",
        "last_trade",
        "locate",
        "mark_price",
        "option_marks",
        "option_terms",
        "orders",
        "state",
        "statistics",
        "symbol",
        "trades",
        "volume",
    )

    def __init__(self, definition: DefinitionMsg) -> None:
        self.definition = definition
        self.locate = definition.locate
        self.symbol = definition.symbol
        self.state = definition.state
        self.bids = FeedSide(1)
        self.asks = FeedSide(-1)
        self.orders: dict[int, FeedOrder] = {}
        self.last_trade: ExecutedMsg | None = None
        self.index_price: IndexPriceMsg | None = None
        self.mark_price: MarkPriceMsg | None = None
        self.funding: FundingMsg | None = None
        self.statistics: StatisticsMsg | None = None
        self.option_terms: OptionTermsMsg | None = None
        self.option_marks: OptionMarksMsg | None = None
        self.trades = 0
        self.volume = 0

    def side(self, side: int) -> FeedSide:
        return self.bids if side == SIDE_BUY else self.asks

    def view(self, side: int) -> list[LevelView]:
        """Levels best first, each with its orders in time priority (for comparisons)."""
        return [
            (lvl.price, [(o.order_id, o.qty) for o in lvl.orders.values()])
            for lvl in self.side(side).iter_levels()
        ]

    def depth(self, side: int, n: int = 5) -> list[tuple[int, int, int]]:
        """Up to `n` levels best first: (price, qty, order count)."""
        out: list[tuple[int, int, int]] = []
        for lvl in self.side(side).iter_levels():
            if len(out) == n:
                break
            out.append((lvl.price, lvl.qty, len(lvl.orders)))
        return out


class FeedBook:
    """All instruments of one feed session, addressed by locate (and symbol)."""

    def __init__(self) -> None:
        self.instruments: dict[int, InstrumentBook] = {}
        self.by_symbol: dict[str, InstrumentBook] = {}

    def clear(self) -> None:
        self.instruments.clear()
        self.by_symbol.clear()

    def get(self, locate: int) -> InstrumentBook:
        book = self.instruments.get(locate)
        if book is None:
            raise BookError(f"unknown locate {locate}")
        return book

    # -- operations (publisher and client both call these) ----------------------------------

    def define(self, msg: DefinitionMsg) -> InstrumentBook:
        """A definition for a new locate creates its book; for a known one it updates the
        definition and state (the orders stay)."""
        if msg.locate == 0:
            raise BookError("locate 0 is not an instrument")
        book = self.instruments.get(msg.locate)
        if book is None:
            other = self.by_symbol.get(msg.symbol)
            if other is not None:
                raise BookError(f"symbol {msg.symbol} already has locate {other.locate}")
            book = InstrumentBook(msg)
            self.instruments[msg.locate] = book
            self.by_symbol[msg.symbol] = book
        else:
            if book.symbol != msg.symbol:
                raise BookError(f"locate {msg.locate} is {book.symbol}, not {msg.symbol}")
            book.definition = msg
            book.state = msg.state
        return book

    def set_state(self, locate: int, state: str) -> None:
        book = self.get(locate)
        book.state = state
        book.definition = book.definition._replace(state=state)

    def set_price(self, msg: PriceMsg) -> None:
        """Keep the latest index price, mark price, funding or statistics of the message's
        instrument."""
        book = self.get(msg.locate)
        t = type(msg)
        if t is IndexPriceMsg:
            book.index_price = msg  # type: ignore[assignment]
        elif t is MarkPriceMsg:
            book.mark_price = msg  # type: ignore[assignment]
        elif t is StatisticsMsg:
            book.statistics = msg  # type: ignore[assignment]
        elif t is OptionTermsMsg:
            book.option_terms = msg  # type: ignore[assignment]
        elif t is OptionMarksMsg:
            book.option_marks = msg  # type: ignore[assignment]
        else:
            book.funding = msg  # type: ignore[assignment]

    def add(self, locate: int, order_id: int, side: int, price: int, qty: int) -> None:
        book = self.instruments.get(locate)
        if book is None:
            raise BookError(f"unknown locate {locate}")
        orders = book.orders
        if order_id in orders:
            raise BookError(f"order {order_id} already in the book")
        if qty <= 0:
            raise BookError(f"order {order_id}: quantity {qty}")
        o = FeedOrder(order_id, side, price, qty)
        orders[order_id] = o
        (book.bids if side == SIDE_BUY else book.asks).add(o)

    def modify(self, locate: int, order_id: int, price: int, qty: int, priority_kept: bool) -> None:
        book = self.get(locate)
        o = book.orders.get(order_id)
        if o is None:
            raise BookError(f"modify of unknown order {order_id}")
        if qty <= 0:
            raise BookError(f"order {order_id}: quantity {qty}")
        side = book.side(o.side)
        if priority_kept and price == o.price:
            side.levels[price].qty += qty - o.qty
            o.qty = qty
            return
        side.remove(o)
        o.price = price
        o.qty = qty
        side.add(o)

    def delete(self, locate: int, order_id: int) -> None:
        book = self.instruments.get(locate)
        if book is None:
            raise BookError(f"unknown locate {locate}")
        o = book.orders.pop(order_id, None)
        if o is None:
            raise BookError(f"delete of unknown order {order_id}")
        (book.bids if o.side == SIDE_BUY else book.asks).remove(o)

    def execute(self, msg: ExecutedMsg) -> None:
        book = self.get(msg.locate)
        o = book.orders.get(msg.order_id)
        if o is None:
            raise BookError(f"execution of unknown order {msg.order_id}")
        if not 0 < msg.qty <= o.qty:
            raise BookError(f"execution of {msg.qty} against order {o.order_id} of {o.qty}")
        side = book.side(o.side)
        if msg.qty == o.qty:
            del book.orders[o.order_id]
            side.remove(o)
        else:
            o.qty -= msg.qty
            side.levels[o.price].qty -= msg.qty
        book.last_trade = msg
        book.trades += 1
        book.volume += msg.qty

    def apply(self, msg: FeedMessage) -> None:
        """Apply one decoded feed message."""
        t = type(msg)
        if t is AddOrderMsg:
            m: AddOrderMsg = msg  # type: ignore[assignment]
            self.add(m.locate, m.order_id, m.side, m.price, m.qty)
        elif t is ExecutedMsg:
            self.execute(msg)  # type: ignore[arg-type]
        elif t is DeleteOrderMsg:
            self.delete(msg.locate, msg.order_id)  # type: ignore[union-attr]
        elif t is ModifyOrderMsg:
            u: ModifyOrderMsg = msg  # type: ignore[assignment]
            self.modify(u.locate, u.order_id, u.price, u.qty, u.priority_kept)
        elif t is StatusMsg:
            self.set_state(msg.locate, msg.state)  # type: ignore[union-attr]
        elif t is DefinitionMsg:
            self.define(msg)  # type: ignore[arg-type]
        elif t in _KEPT:
            self.set_price(msg)  # type: ignore[arg-type]
        elif t is SnapshotCompleteMsg:
            raise BookError("a snapshot-complete message is not a book update")

    # -- snapshots and views -----------------------------------------------------------------

    def snapshot_messages(self, ts: int, symbols: Iterable[str] | None = None) -> list[bytes]:
        """Definitions, the latest index price, mark price, funding and statistics (with their
        own ts), then
        resting orders (each side best level first, time priority within a level) of every
        instrument, or only of `symbols` (unknown ones are skipped)."""
        if symbols is None:
            books = list(self.instruments.values())
        else:
            books = [b for s in symbols if (b := self.by_symbol.get(s)) is not None]
        out: list[bytes] = []
        for book in books:
            out.append(encode_definition_msg(book.definition._replace(ts=ts)))
            kept = (
                book.option_terms,
                book.index_price,
                book.mark_price,
                book.funding,
                book.statistics,
                book.option_marks,
            )
            for price_msg in kept:
                if price_msg is not None:
                    out.append(encode_price_msg(price_msg))
            loc = book.locate
            for side in (book.bids, book.asks):
                for lvl in side.iter_levels():
                    for o in lvl.orders.values():
                        out.append(encode_add(loc, ts, o.order_id, o.side, o.price, o.qty))
        return out

    def view(self) -> dict[str, tuple[list[LevelView], list[LevelView]]]:
        """{symbol: (bids, asks)}, each side best level first with orders in time priority."""
        return {b.symbol: (b.view(SIDE_BUY), b.view(SIDE_SELL)) for b in self.instruments.values()}

    def validate(self) -> None:
        """Raise AssertionError naming the first broken invariant (tests call it)."""
        for book in self.instruments.values():
            seen = 0
            for side in (book.bids, book.asks):
                assert side.keys == sorted(set(side.keys)), f"{book.symbol}: keys unsorted"
                assert sorted(side.sign * k for k in side.keys) == sorted(side.levels)
                for price, lvl in side.levels.items():
                    assert lvl.orders, f"{book.symbol} {price}: empty level"
                    assert lvl.qty == sum(o.qty for o in lvl.orders.values())
                    for o in lvl.orders.values():
                        assert o.price == price and o.qty > 0
                        assert book.orders.get(o.order_id) is o
                        seen += 1
            assert seen == len(book.orders), f"{book.symbol}: orders outside the levels"
