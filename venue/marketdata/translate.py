"""From committed core events to feed messages: the publisher's pure half.

`FeedTranslator.on_command(ts, events)` turns the events of one sequenced command into feed
message bodies and applies each to the translator's own `FeedBook` before handing it out, so the
book is always exactly "every message produced so far" (`translate(out, ts, events)` does the
same, appending to the caller's list: the publisher's commit batch).

Invariants:
- The book shows resting orders only. An incoming order appears (`A`) only at the end of its
  command and only if it rests; its executions are published as `E` on the resting orders it
  hit (one `E` per trade, with the aggressor's side), never on itself.
- A replace that keeps priority is one `U` (priority kept). A replace that loses priority and
  does not trade is one `U` (priority lost: the order moves to the tail of its new level). A
  replace that loses priority and trades is a `D` before its first execution, then an `A` at
  the end of the command if a remainder rests.
- Every cancel of a resting order (requested, mass, expiry, self-trade) is one `D`.
- Index price, mark price, funding and statistics events are one `I`, `M`, `F`, `S` each, for
  instruments of this session; a new session's preamble carries each instrument's index and
  mark price if the engine has them. Funding and statistics are events only: the next `F` or
  `S` (the risk monitor publishes statistics right after start), or a snapshot, gives them.
- Locates are assigned 1, 2, ... in the order instruments first appear (engine order on a new
  session's preamble, then `InstrumentAdded` order), and never reused within a session.
- The translator never raises on a well-formed event stream; an event that contradicts its
  book is skipped (`inconsistencies` counts them), never published.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venue.core import (
    CancelRejected,
    CommandRejected,
    FundingApplied,
    IndexPriceSet,
    InstrumentAdded,
    InstrumentStateChanged,
    MarkPriceSet,
    MassCancelRejected,
    OptionMarksSet,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    ReferencePriceChanged,
    Side,
    StatisticsPublished,
)
from venue.core.types import option_cfi
from venue.marketdata.book import BookError, FeedBook
from venue.marketdata.messages import (
    ADD_ORDER,
    DELETE_ORDER,
    EXECUTED,
    MODIFY_ORDER,
    SIDE_BUY,
    SIDE_SELL,
    DefinitionMsg,
    ExecutedMsg,
    FundingMsg,
    IndexPriceMsg,
    MarkPriceMsg,
    OptionMarksMsg,
    OptionTermsMsg,
    PriceMsg,
    StatisticsMsg,
    encode_add,
    encode_definition_msg,
    encode_delete,
    encode_modify,
    encode_price_msg,
    encode_status,
    pack_add,
    pack_delete,
    pack_executed,
    pack_modify,
)

if TYPE_CHECKING:
    from collections.abc import Sequence

    from venue.core import Engine, Event, Instrument

__all__ = ["FeedTranslator"]

_FEED_SIDE = {Side.BUY: SIDE_BUY, Side.SELL: SIDE_SELL}
_SILENT = frozenset(
    {OrderRejected, CancelRejected, MassCancelRejected, CommandRejected, ReferencePriceChanged}
)
_BUY = Side.BUY
_new_tuple = tuple.__new__  # a NamedTuple built without its Python-level __new__ (same value)


class _Incoming:
    """An order that is matching during this command (new, or replaced without priority)."""

    __slots__ = ("in_book", "leaves", "locate", "order_id", "price", "side")

    def __init__(  # noqa: PLR0917 -- built positionally on the hot path
        self, locate: int, order_id: int, side: int, price: int, leaves: int, in_book: bool
    ) -> None:
        self.locate = locate
        self.order_id = order_id
        self.side = side
        self.price = price
        self.leaves = leaves
        self.in_book = in_book  # still shown at its old price/qty (replace, before any trade)


def _figures(sp: StatisticsPublished) -> tuple[int, int, int, int, int, int, int]:
    return (
        sp.mark,
        sp.index,
        sp.funding_rate_ppb,
        sp.funding_ts,
        sp.predicted_rate_ppb,
        sp.next_funding_ts,
        sp.open_interest,
    )


class FeedTranslator:
    def __init__(self) -> None:
        self.book = FeedBook()
        self.locates: dict[str, int] = {}
        self.inconsistencies = 0

    # -- session preamble ---------------------------------------------------------------------

    def preamble(self, engine: Engine, ts: int) -> list[bytes]:
        """Definitions and resting orders of the engine's current state (a new session's
        first messages, so that sequence 1 onwards describes the whole book)."""
        out: list[bytes] = []
        for mkt in engine.markets.values():
            inst = mkt.instrument
            out += self._define(inst, ts, ref_price=mkt.ref_price, state=str(mkt.state))
            loc = self.locates[inst.symbol]
            index_ts = getattr(mkt, "index_ts", -1)
            if index_ts >= 0:
                self._price(out, IndexPriceMsg(loc, index_ts, mkt.index_price))
            if getattr(mkt, "mark_price", 0):
                self._price(out, MarkPriceMsg(loc, ts, mkt.mark_price))
            figures = getattr(mkt, "option_marks", ())
            if figures:
                self._price(out, OptionMarksMsg(loc, ts, mkt.mark_price, *figures))
            for book_side in (mkt.bids, mkt.asks):
                levels, sign = book_side.levels, book_side.sign
                for key in reversed(book_side.keys):
                    for o in levels[sign * key].orders:
                        body = self._add(
                            loc, ts, o.order_id, _FEED_SIDE[o.side], o.price, o.qty - o.cum_qty
                        )
                        if body is not None:
                            out.append(body)
        return out

    # -- committed commands ---------------------------------------------------------------------

    def on_command(self, ts: int, events: Sequence[Event]) -> list[bytes]:
        """The feed message bodies of one sequenced command's events."""
        out: list[bytes] = []
        self.translate(out, ts, events)
        return out

    def translate(self, out: list[bytes], ts: int, events: Sequence[Event]) -> None:
        """`on_command`, appending the bodies to `out` (the publisher's batch list)."""
        book = self.book
        if len(events) == 1:  # fast paths: an order that rests untouched, a plain cancel or
            # replace; book operation and encoding inlined (`_add`, `_emit_delete`, ...)
            ev = events[0]
            t = type(ev)
            if t is OrderAccepted:
                acc: OrderAccepted = ev  # type: ignore[assignment]
                # alone, an accepted order neither traded nor was canceled: it rests whole
                loc = self.locates.get(acc.symbol, 0)
                side = SIDE_BUY if acc.side == _BUY else SIDE_SELL
                try:
                    book.add(loc, acc.order_id, side, acc.price, acc.qty)
                except BookError:
                    self.inconsistencies += 1
                    return
                out.append(pack_add(ADD_ORDER, loc, ts, acc.order_id, side, acc.price, acc.qty))
                return
            if t is OrderCanceled:
                can: OrderCanceled = ev  # type: ignore[assignment]
                loc = self.locates.get(can.symbol, 0)
                try:
                    book.delete(loc, can.order_id)
                except BookError:
                    self.inconsistencies += 1
                    return
                out.append(pack_delete(DELETE_ORDER, loc, ts, can.order_id))
                return
            if t is OrderReplaced:  # alone: it did not trade, one U (priority kept or lost)
                rep: OrderReplaced = ev  # type: ignore[assignment]
                kept = rep.priority_kept
                qty = rep.leaves_qty
                if kept or qty > 0:
                    loc = self.locates.get(rep.symbol, 0)
                    try:
                        book.modify(loc, rep.order_id, rep.price, qty, kept)
                    except BookError:
                        self.inconsistencies += 1
                        return
                    out.append(
                        pack_modify(
                            MODIFY_ORDER, loc, ts, rep.order_id, rep.price, qty, 1 if kept else 0
                        )
                    )
                return
            if t in _SILENT:
                return
        incoming: dict[int, _Incoming] | None = None
        locates = self.locates
        for ev in events:
            t = type(ev)
            if t is OrderFilled:
                f: OrderFilled = ev  # type: ignore[assignment]
                if f.aggressor:
                    inc = incoming.get(f.order_id) if incoming else None
                    if inc is not None:
                        if inc.in_book:
                            self._emit_delete(out, inc.locate, ts, inc.order_id)
                            inc.in_book = False
                        inc.leaves = f.leaves_qty
                    continue
                loc = locates.get(f.symbol, 0)
                aggressor_side = SIDE_SELL if f.side == _BUY else SIDE_BUY
                fields = (loc, ts, f.order_id, f.trade_id, f.last_px, f.last_qty, aggressor_side)
                try:
                    book.execute(_new_tuple(ExecutedMsg, fields))
                except BookError:
                    self.inconsistencies += 1
                    continue
                out.append(pack_executed(EXECUTED, *fields))
            elif t is OrderAccepted:
                a: OrderAccepted = ev  # type: ignore[assignment]
                if incoming is None:
                    incoming = {}
                incoming[a.order_id] = _Incoming(
                    locates.get(a.symbol, 0),
                    a.order_id,
                    SIDE_BUY if a.side == _BUY else SIDE_SELL,
                    a.price,
                    a.qty,
                    False,
                )
            elif t is OrderCanceled:
                c: OrderCanceled = ev  # type: ignore[assignment]
                inc = incoming.pop(c.order_id, None) if incoming else None
                if inc is None or inc.in_book:
                    self._emit_delete(out, locates.get(c.symbol, 0), ts, c.order_id)
            elif t is OrderReplaced:
                r: OrderReplaced = ev  # type: ignore[assignment]
                loc = locates.get(r.symbol, 0)
                if r.priority_kept:
                    self._emit_modify(out, loc, ts, r.order_id, r.price, r.leaves_qty, True)
                else:
                    if incoming is None:
                        incoming = {}
                    side = SIDE_BUY if r.side == _BUY else SIDE_SELL
                    incoming[r.order_id] = _Incoming(
                        loc, r.order_id, side, r.price, r.leaves_qty, True
                    )
            elif t is InstrumentAdded:
                ia: InstrumentAdded = ev  # type: ignore[assignment]
                inst = ia.instrument
                if inst.symbol not in locates:
                    out += self._define(inst, ts, ref_price=inst.ref_price, state=str(inst.state))
            elif t is InstrumentStateChanged:
                s: InstrumentStateChanged = ev  # type: ignore[assignment]
                loc = locates.get(s.symbol, 0)
                try:
                    book.set_state(loc, str(s.state))
                except BookError:
                    self.inconsistencies += 1
                    continue
                out.append(encode_status(loc, ts, str(s.state)))
            elif t is IndexPriceSet:
                ip: IndexPriceSet = ev  # type: ignore[assignment]
                self._price(out, IndexPriceMsg(locates.get(ip.symbol, 0), ts, ip.price))
            elif t is MarkPriceSet:
                mp: MarkPriceSet = ev  # type: ignore[assignment]
                self._price(out, MarkPriceMsg(locates.get(mp.symbol, 0), ts, mp.price))
            elif t is OptionMarksSet:
                om: OptionMarksSet = ev  # type: ignore[assignment]
                loc = locates.get(om.symbol, 0)
                self._price(out, MarkPriceMsg(loc, ts, om.price))
                self._price(out, OptionMarksMsg(loc, ts, *_option_figures(om)))
            elif t is FundingApplied:
                fa: FundingApplied = ev  # type: ignore[assignment]
                self._price(out, FundingMsg(locates.get(fa.symbol, 0), ts, fa.rate_ppb, fa.mark))
            elif t is StatisticsPublished:
                sp: StatisticsPublished = ev  # type: ignore[assignment]
                loc = locates.get(sp.symbol, 0)
                self._price(out, StatisticsMsg(loc, ts, *_figures(sp)))
        if incoming:
            for inc in incoming.values():
                if inc.leaves <= 0:
                    continue
                if inc.in_book:
                    self._emit_modify(
                        out, inc.locate, ts, inc.order_id, inc.price, inc.leaves, False
                    )
                else:
                    body = self._add(inc.locate, ts, inc.order_id, inc.side, inc.price, inc.leaves)
                    if body is not None:
                        out.append(body)

    # -- helpers: apply to the own book first, publish only what applied ----------------------

    def _define(self, inst: Instrument, ts: int, *, ref_price: int, state: str) -> list[bytes]:
        """The definition `R` (and an option's terms `O`) of a new instrument."""
        loc = len(self.locates) + 1
        self.locates[inst.symbol] = loc
        msg = DefinitionMsg(
            loc,
            ts,
            inst.symbol,
            str(inst.kind),
            inst.tick_size,
            inst.lot_size,
            inst.multiplier,
            ref_price,
            inst.band_ppb,
            inst.max_order_qty,
            inst.expiry_ts,
            state,
        )
        self.book.define(msg)
        out = [encode_definition_msg(msg)]
        if inst.put_call is not None:
            right = inst.put_call
            terms = OptionTermsMsg(
                loc, ts, inst.underlying, option_cfi(right), str(right), inst.strike
            )
            self._price(out, terms)
        return out

    def _add(  # noqa: PLR0917 -- hot path, positional
        self, loc: int, ts: int, order_id: int, side: int, price: int, qty: int
    ) -> bytes | None:
        try:
            self.book.add(loc, order_id, side, price, qty)
        except BookError:
            self.inconsistencies += 1
            return None
        return encode_add(loc, ts, order_id, side, price, qty)

    def _price(self, out: list[bytes], msg: PriceMsg) -> None:
        try:
            self.book.set_price(msg)
        except BookError:
            self.inconsistencies += 1
            return
        out.append(encode_price_msg(msg))

    def _emit_delete(self, out: list[bytes], loc: int, ts: int, order_id: int) -> None:
        try:
            self.book.delete(loc, order_id)
        except BookError:
            self.inconsistencies += 1
            return
        out.append(encode_delete(loc, ts, order_id))

    def _emit_modify(  # noqa: PLR0917 -- hot path, positional
        self,
        out: list[bytes],
        loc: int,
        ts: int,
        order_id: int,
        price: int,
        qty: int,
        kept: bool,
    ) -> None:
        try:
            self.book.modify(loc, order_id, price, qty, kept)
        except BookError:
            self.inconsistencies += 1
            return
        out.append(encode_modify(loc, ts, order_id, price, qty, kept))


def _option_figures(e: OptionMarksSet) -> tuple[int, ...]:
    """mark, iv, bid iv, ask iv, delta, gamma, vega, theta of an `OptionMarksSet`."""
    return (e.price, e.iv_ppb, e.bid_iv_ppb, e.ask_iv_ppb, e.delta, e.gamma, e.vega, e.theta)
