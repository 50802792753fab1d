"""Mass quotes: each session's one bid and one ask per instrument, resting as orders.

A quote side is an ordinary resting limit `Order` (so matching, settlement, market data, drop
copy, mass cancel, liquidation and cancel-on-disconnect treat it like any order) whose
`cl_ord_id` is a key no FIX client can send, `quote_key(quote_id, entry_id, side, symbol)`:
it starts with SOH, which a FIX field value cannot contain. The key is unique in the
session's cl_ord_id index because it ends with the side and the symbol, and each session has
at most one live quote side per (instrument, side). The FIX edge shows a quote side's
ClOrdID as its QuoteEntryID (`parse_quote_key`).

Invariants kept here (checked by `check_quotes`):
- `state.quotes[session][symbol]` is `[bid, ask]`: the session's quote sides on that
  instrument, each an `Order` or None. An entry whose order no longer rests (filled, or
  canceled by another path: mass cancel, liquidation, expiry) is stale and read as None
  (`live`); every live quote order is in this index.
- The index is derived: `EngineState.index` adds a resting quote order to it, so `restore`
  rebuilds it from the orders; it is not part of the snapshot.
- Quotes are passive: a side at or through the best opposite price (the session's own quote
  on the same instrument aside, which the same entry replaces) is refused; a quote never
  trades on entry, so R1 is the only step of the order pipeline it runs (R1 → match → R2 in
  `venue.core.engine`; its fills, as a resting order, go through match and R2 there).
- An entry is atomic: every check of both sides (the order-entry ladder
  `venue.core.orders.entry_refusal` for each side placed, then the freeze of market-maker
  protection, bid below offer, the session's quote limit, the crossing check, R1) runs before
  the first change; a refused entry leaves the instrument's previous quote as it was.
- R1 checks each side against the account as it is before the entry. That is exact: the
  worst-case margin of an instrument is the larger of its buy and sell terms, each side
  changes only its own term, so both sides together never need more than the larger of
  their two separate checks.
- A side update keeps its order_id. Size down (or equal) at the same price keeps time
  priority; any other change moves the side to the back of its (new) level. The new size is
  the side's open quantity: the order's quantity becomes cum_qty + size.
- Iteration for cancels is in ascending order_id (deterministic after a restore too).
"""

from __future__ import annotations

from venue.core.accounts import Account, reexpose
from venue.core.book import BookSide, Market, Order
from venue.core.events import Event, OrderAccepted, OrderReplaced
from venue.core.mmp import Mmp
from venue.core.orders import entry_refusal
from venue.core.quote_types import (
    QUOTE_MARK,
    MassQuote,
    MassQuoteAcked,
    QuoteCancel,
    QuoteEntry,
    QuoteEntryResult,
    QuotesCanceled,
    is_quote,
    parse_quote_key,
    quote_key,
    underlying,
)
from venue.core.risk import Margin
from venue.core.state import EngineState
from venue.core.types import CancelReason, OrdType, RejectReason, Side, StpMode, TimeInForce

__all__ = [
    "QUOTE_MARK",
    "Quotes",
    "check_quotes",
    "is_quote",
    "parse_quote_key",
    "quote_key",
    "underlying",
]

_BUY = Side.BUY
_LIMIT = OrdType.LIMIT
_SIDES = (Side.BUY, Side.SELL)
_NO_LIVE: dict[str, Order] = {}  # quote keys never collide with client ids: no duplicate check


def _crosses(opp: BookSide, price: int, own: Order | None) -> bool:
    """Would a passive order at `price` meet `opp` (leaving `own`, which is being replaced,
    out of the count)?"""
    sign = opp.sign
    bound = sign * price
    levels = opp.levels
    for k in reversed(opp.keys):
        if k < bound:
            return False
        level = levels[sign * k]
        if own is None or own.price != level.price or level.qty > own.qty - own.cum_qty:
            return True
    return False


class Quotes:
    """The MassQuote and QuoteCancel commands (see the module docstring)."""

    def __init__(self, state: EngineState, margin: Margin, mmp: Mmp) -> None:
        self.state = state
        self.margin = margin
        self.mmp = mmp

    # ------------------------------------------------------------------ reads

    def live(self, session: str, symbol: str) -> tuple[Order | None, Order | None]:
        """The session's live (bid, ask) on `symbol`."""
        per = self.state.quotes.get(session)
        if per is None:
            return None, None
        sides = per.get(symbol)
        if sides is None:
            return None, None
        orders = self.state.orders
        bid, ask = sides
        if bid is not None and orders.get(bid.order_id) is not bid:
            bid = sides[0] = None
        if ask is not None and orders.get(ask.order_id) is not ask:
            ask = sides[1] = None
        if bid is None and ask is None:
            del per[symbol]
        return bid, ask

    def session_quotes(self, session: str) -> list[Order]:
        """The session's live quote sides, in ascending order_id."""
        per = self.state.quotes.get(session)
        if not per:
            return []
        out: list[Order] = []
        for symbol in list(per):
            bid, ask = self.live(session, symbol)
            if bid is not None:
                out.append(bid)
            if ask is not None:
                out.append(ask)
        out.sort(key=_order_id)
        return out

    def quoted_instruments(self, session: str) -> int:
        per = self.state.quotes.get(session)
        if not per:
            return 0
        return sum(1 for symbol in list(per) if self.live(session, symbol) != (None, None))

    # ------------------------------------------------------------------ MassQuote

    def mass_quote(self, cmd: MassQuote) -> list[Event]:
        events: list[Event] = []
        acct = self.state.accounts.get(cmd.account)
        results = [
            QuoteEntryResult(
                set_id=e.set_id,
                entry_id=e.entry_id,
                symbol=e.symbol,
                reason=e.reason or self._entry(cmd, e, acct, events),
            )
            for e in cmd.entries
        ]
        events.append(
            MassQuoteAcked(
                ts=cmd.ts,
                session=cmd.session,
                firm=cmd.firm,
                account=cmd.account,
                quote_id=cmd.quote_id,
                response_level=cmd.response_level,
                entries=results,
            )
        )
        return events

    def _entry(
        self, cmd: MassQuote, e: QuoteEntry, acct: Account | None, events: list[Event]
    ) -> RejectReason | None:
        """Check, then apply, one entry; the reason it was refused, or None."""
        mkt = self.state.markets.get(e.symbol)
        if mkt is None:
            return RejectReason.UNKNOWN_INSTRUMENT
        if acct is None:
            return RejectReason.UNKNOWN_ACCOUNT
        if not e.entry_id:
            return RejectReason.INVALID_QUOTE
        old = self.live(cmd.session, e.symbol)
        wants = ((e.bid_px, e.bid_size), (e.offer_px, e.offer_size))
        reason = self._check(cmd, e, mkt, acct, old, wants)
        if reason is not None:
            return reason
        for side, o, (price, size) in zip(_SIDES, old, wants, strict=True):
            self._apply(cmd, e, mkt, acct, side, o, price, size, events)
        return None

    def _check(  # noqa: PLR0917 -- one call site
        self,
        cmd: MassQuote,
        e: QuoteEntry,
        mkt: Market,
        acct: Account,
        old: tuple[Order | None, Order | None],
        wants: tuple[tuple[int, int], tuple[int, int]],
    ) -> RejectReason | None:
        (bid_px, bid_size), (ask_px, ask_size) = wants
        if bid_size < 0 or ask_size < 0:
            return RejectReason.INVALID_QUANTITY
        if not bid_size and not ask_size:
            return None  # withdraws the quote: always allowed
        ts = cmd.ts
        for price, size in wants:  # each side: the order-entry ladder (venue.core.orders)
            if size:
                reason = entry_refusal(mkt, ts, e.entry_id, _NO_LIVE, _LIMIT, price, size)
                if reason is not None:
                    return reason
        if self.mmp.frozen(acct.account, e.symbol, ts):
            return RejectReason.MMP_FROZEN
        if bid_size and ask_size and bid_px >= ask_px:
            return RejectReason.INVALID_QUOTE
        limit = cmd.max_quotes
        if limit and old == (None, None) and self.quoted_instruments(cmd.session) >= limit:
            return RejectReason.QUOTE_LIMIT_EXCEEDED
        for side, o, (price, size) in zip(_SIDES, old, wants, strict=True):
            if not size:
                continue
            is_buy = side == _BUY
            opp = mkt.asks if is_buy else mkt.bids
            if _crosses(opp, price, old[1] if is_buy else old[0]):
                return RejectReason.QUOTE_WOULD_CROSS
            margin = self.margin
            if o is not None and o.account == acct.account:
                reason = margin.pre_trade(mkt, o, ts, acct, True, price, o.cum_qty + size)
            else:
                reason = margin.pre_trade(mkt, self._order(cmd, e, side, price, size), ts, acct)
            if reason is not None:
                return reason
        return None

    def _order(self, cmd: MassQuote, e: QuoteEntry, side: Side, price: int, size: int) -> Order:
        """A new quote side (order_id 0 until it is accepted)."""
        return Order(
            0,
            cmd.session,
            cmd.firm,
            cmd.account,
            quote_key(cmd.quote_id, e.entry_id, side, e.symbol),
            e.symbol,
            side,
            OrdType.LIMIT,
            TimeInForce.GTC,
            price,
            size,
            0,
            0,
            0,
            True,  # post-only: quotes are passive
            False,
            0,
            StpMode.CANCEL_AGGRESSOR,
        )

    def _apply(  # noqa: PLR0917 -- one call site
        self,
        cmd: MassQuote,
        e: QuoteEntry,
        mkt: Market,
        acct: Account,
        side: Side,
        o: Order | None,
        price: int,
        size: int,
        events: list[Event],
    ) -> None:
        state = self.state
        ts = cmd.ts
        if o is not None and (not size or o.account != acct.account):
            state.cancel_resting(o, ts, CancelReason.REQUESTED, cmd.session, events)
            o = None
        if not size:
            return
        if o is None:
            o = self._order(cmd, e, side, price, size)
            o.order_id = order_id = state.next_order_id
            state.next_order_id = order_id + 1
            (mkt.bids if side == _BUY else mkt.asks).add(o)
            state.index(o)
            exec_id = state.next_exec_id
            state.next_exec_id = exec_id + 1
            events.append(
                OrderAccepted(
                    ts,
                    order_id,
                    exec_id,
                    o.session,
                    o.firm,
                    o.account,
                    o.cl_ord_id,
                    o.symbol,
                    side,
                    o.ord_type,
                    o.tif,
                    o.price,
                    o.qty,
                    0,
                    True,
                    False,
                )
            )
            return
        # An update: re-keyed under the new QuoteID/QuoteEntryID, same order_id.
        per = state.by_session[o.session]
        old_key = o.cl_ord_id
        del per[old_key]
        o.cl_ord_id = key = quote_key(cmd.quote_id, e.entry_id, side, e.symbol)
        per[key] = o
        qty = o.cum_qty + size
        own = mkt.bids if side == _BUY else mkt.asks
        kept = price == o.price and qty <= o.qty
        reexpose(acct, o, price, qty)
        if kept:
            own.levels[o.price].qty -= o.qty - qty
            o.qty = qty
        else:
            own.move(o, price, qty)
        exec_id = state.next_exec_id
        state.next_exec_id = exec_id + 1
        events.append(
            OrderReplaced(
                ts,
                o.order_id,
                exec_id,
                o.session,
                o.firm,
                o.account,
                key,
                old_key,
                cmd.session,
                o.symbol,
                side,
                o.ord_type,
                o.tif,
                price,
                qty,
                o.cum_qty,
                size,
                o.cum_notional,
                kept,
            )
        )

    # ------------------------------------------------------------------ QuoteCancel

    def quote_cancel(self, cmd: QuoteCancel) -> list[Event]:
        events: list[Event] = []
        symbols = cmd.symbols
        underlyings = cmd.underlyings
        count = 0
        for o in self.session_quotes(cmd.session):
            if cmd.cancel_type == 1 and o.symbol not in symbols:
                continue
            if cmd.cancel_type == 3 and underlying(o.symbol) not in underlyings:
                continue
            if cmd.account and o.account != cmd.account:
                continue
            self.state.cancel_resting(o, cmd.ts, CancelReason.REQUESTED, cmd.session, events)
            count += 1
        events.append(
            QuotesCanceled(
                ts=cmd.ts,
                session=cmd.session,
                firm=cmd.firm,
                account=cmd.account,
                quote_id=cmd.quote_id,
                cancel_type=cmd.cancel_type,
                response_level=cmd.response_level,
                canceled_count=count,
            )
        )
        return events


def _order_id(o: Order) -> int:
    return o.order_id


def check_quotes(state: EngineState) -> None:
    """Raise AssertionError unless every live quote order is in the quote index, on its
    session, instrument and side."""
    for o in state.orders.values():
        if not is_quote(o.cl_ord_id):
            continue
        sides = state.quotes.get(o.session, {}).get(o.symbol)
        slot = 0 if o.side == _BUY else 1
        if sides is None or sides[slot] is not o:
            raise AssertionError(f"quote order {o.order_id} not in the quote index")
