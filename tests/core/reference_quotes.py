"""The reference book's mass quotes: naive on purpose (a quote side is found by scanning the
resting list), written from RoE section 18, not from `venue.core.quotes`."""

from __future__ import annotations

from typing import TYPE_CHECKING

from venue.core import (
    MAX_PRICE,
    CancelReason,
    Event,
    InstrumentState,
    OrderAccepted,
    OrderReplaced,
    OrdType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
)
from venue.core.quote_types import (
    MassQuote,
    MassQuoteAcked,
    QuoteCancel,
    QuoteEntry,
    QuoteEntryResult,
    QuotesCanceled,
    quote_key,
    underlying,
)

if TYPE_CHECKING:
    from tests.core.reference_book import ReferenceBook, ROrder

R = RejectReason


def is_quote(o: ROrder) -> bool:
    return o.cl_ord_id.startswith("\x01")


def quote_side(ref: ReferenceBook, session: str, symbol: str, side: Side) -> ROrder | None:
    for o in ref.resting:
        if is_quote(o) and o.session == session and o.symbol == symbol and o.side == side:
            return o
    return None


def _refusal(ref: ReferenceBook, c: MassQuote, e: QuoteEntry) -> RejectReason | None:
    inst = ref.instruments.get(e.symbol)
    if inst is None:
        return R.UNKNOWN_INSTRUMENT
    if not e.entry_id:
        return R.INVALID_QUOTE
    wants = [(Side.BUY, e.bid_px, e.bid_size), (Side.SELL, e.offer_px, e.offer_size)]
    if any(size < 0 for _, _, size in wants):
        return R.INVALID_QUANTITY
    if not any(size for _, _, size in wants):
        return None
    for _, px, size in wants:  # each side placed: the order-entry checks
        if not size:
            continue
        if inst.state == InstrumentState.EXPIRED or (inst.expiry_ts and c.ts >= inst.expiry_ts):
            return R.INSTRUMENT_EXPIRED
        if inst.state == InstrumentState.HALTED:
            return R.INSTRUMENT_HALTED
        if size > inst.max_order_qty:
            return R.QTY_ABOVE_MAXIMUM
        if px <= 0 or px > MAX_PRICE:
            return R.INVALID_PRICE
        if not ref.in_band(inst, px):
            return R.PRICE_OUTSIDE_BAND
    if e.bid_size and e.offer_size and e.bid_px >= e.offer_px:
        return R.INVALID_QUOTE
    mine = [o for o in ref.resting if is_quote(o) and o.session == c.session]
    quoted = {o.symbol for o in mine}
    if c.max_quotes and e.symbol not in quoted and len(quoted) >= c.max_quotes:
        return R.QUOTE_LIMIT_EXCEEDED
    for side, px, size in wants:
        if not size:
            continue
        opp = Side.SELL if side == Side.BUY else Side.BUY
        own = quote_side(ref, c.session, e.symbol, opp)
        for r in ref.book(e.symbol, opp):
            if r is not own and ref.acceptable(side, px, r.price):
                return R.QUOTE_WOULD_CROSS
    return None


def _apply(ref: ReferenceBook, c: MassQuote, e: QuoteEntry, ev: list[Event]) -> None:
    for side, px, size in ((Side.BUY, e.bid_px, e.bid_size), (Side.SELL, e.offer_px, e.offer_size)):
        o = quote_side(ref, c.session, e.symbol, side)
        if o is not None and (not size or o.account != c.account):
            ref.resting.remove(o)
            ev.append(ref.canceled(o, c.ts, CancelReason.REQUESTED, o.cl_ord_id, "", c.session))
            o = None
        if not size:
            continue
        key = quote_key(c.quote_id, e.entry_id, side, e.symbol)
        if o is None:
            from tests.core.reference_book import ROrder

            o = ROrder(
                ref.next_order_id, c.session, c.firm, c.account, key, e.symbol, side,
                OrdType.LIMIT, TimeInForce.GTC, px, size, 0, True, False, 0,
                StpMode.CANCEL_AGGRESSOR,
            )  # fmt: skip
            ref.next_order_id += 1
            o.prio = ref.next_prio
            ref.next_prio += 1
            ref.resting.append(o)
            ev.append(
                OrderAccepted(
                    ts=c.ts, order_id=o.order_id, exec_id=ref.exec_id(), session=o.session,
                    firm=o.firm, account=o.account, cl_ord_id=key, symbol=o.symbol, side=side,
                    ord_type=o.ord_type, tif=o.tif, price=px, qty=size, expire_ts=0,
                    post_only=True, reduce_only=False,
                )
            )  # fmt: skip
            continue
        qty = o.cum_qty + size
        kept = px == o.price and qty <= o.qty
        old = o.cl_ord_id
        o.cl_ord_id, o.price, o.qty = key, px, qty
        if not kept:
            o.prio = ref.next_prio
            ref.next_prio += 1
        ev.append(
            OrderReplaced(
                ts=c.ts, order_id=o.order_id, exec_id=ref.exec_id(), session=o.session,
                firm=o.firm, account=o.account, cl_ord_id=key, orig_cl_ord_id=old,
                request_session=c.session, symbol=o.symbol, side=side, ord_type=o.ord_type,
                tif=o.tif, price=px, qty=qty, cum_qty=o.cum_qty, leaves_qty=size,
                cum_notional=o.cum_notional, priority_kept=kept,
            )
        )  # fmt: skip


def mass_quote(ref: ReferenceBook, c: MassQuote) -> list[Event]:
    ev: list[Event] = []
    results = []
    for e in c.entries:
        reason = e.reason
        if reason is None:
            reason = _refusal(ref, c, e)
            if reason is None:
                _apply(ref, c, e, ev)
        results.append(
            QuoteEntryResult(set_id=e.set_id, entry_id=e.entry_id, symbol=e.symbol, reason=reason)
        )
    ev.append(
        MassQuoteAcked(
            ts=c.ts, session=c.session, firm=c.firm, account=c.account, quote_id=c.quote_id,
            response_level=c.response_level, entries=results,
        )
    )  # fmt: skip
    return ev


def quote_cancel(ref: ReferenceBook, c: QuoteCancel) -> list[Event]:
    victims = [
        o
        for o in ref.resting
        if is_quote(o)
        and o.session == c.session
        and (c.cancel_type != 1 or o.symbol in c.symbols)
        and (c.cancel_type != 3 or underlying(o.symbol) in c.underlyings)
        and (not c.account or o.account == c.account)
    ]
    ev = ref.cancel_all(victims, c.ts, CancelReason.REQUESTED, c.session)
    ev.append(
        QuotesCanceled(
            ts=c.ts, session=c.session, firm=c.firm, account=c.account, quote_id=c.quote_id,
            cancel_type=c.cancel_type, response_level=c.response_level,
            canceled_count=len(victims),
        )
    )  # fmt: skip
    return ev
