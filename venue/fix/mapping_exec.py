"""Core order events → ExecutionReport bodies (lists of (tag, bytes), or the same as an
immutable `encoder.Fields` for the frame encoder); the reason tables. Re-exported by
`venue.fix.mapping_out` (and `venue.fix.mapping`).

Invariants:
- Every body is built from the event (and the instrument's scales) alone: no engine state, no
  clock; TransactTime (60) is the event's `ts`. `execution_report` returns a new list (drop
  copy extends it); `report` the same fields as an immutable `Fields` (what `replies` sends).
- ExecID (17) is stable across restarts and resends because it is derived from journaled
  numbers only: `b"%d" % exec_id` for events that carry the core's `exec_id`, `b"R%d" % seq`
  for a reject produced by the command journaled at `seq` (a command yields at most one), and
  for answers made without a command (edge refusals, order status) a token the caller
  supplies, spelled `E…` or `I…`. The four spellings never collide.
- Prices and quantities are exact decimal strings (ticks × tick_size, lots × lot_size)
  formatted with integers only.
- The hot reports (new, fill, cancel, replace) are one tuple of values each on a constant
  `Layout`, byte for byte the fields the general path writes (tests pin the frames).
- The memos (TransactTime of the last millisecond, an instrument's texts per spec, reject
  texts per reason) only save work: each answer is the one the full computation gives.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, Protocol

from venue.core.events import (
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from venue.core.types import CancelReason, OrdType, RejectReason, Side, TimeInForce
from venue.fix.codec import format_utc_timestamp
from venue.fix.encoder import Fields, Layout
from venue.fix.mapping_num import InstrumentSpec

__all__ = [
    "CANCEL_REASON_TEXT",
    "ORD_REJ_REASON",
    "REJECT_TEXT",
    "REJECT_TEXT_BYTES",
    "Body",
    "Fields",
    "LiveOrder",
    "execution_report",
    "order_status_report",
    "report",
]

Body = list[tuple[int, bytes]]

_NONE = b"NONE"
_ZERO = b"0"
_SIDE = {Side.BUY: b"1", Side.SELL: b"2"}
_ORD_TYPE = {OrdType.MARKET: b"1", OrdType.LIMIT: b"2"}
# Enum members read once: `OrdType.LIMIT` is a class attribute lookup costing ~0.2 us each time
# (Python 3.11), more than the rest of the comparison.
_LIMIT = OrdType.LIMIT
_EXPIRED = CancelReason.EXPIRED
_TIF = {t: b"%d" % t.value for t in TimeInForce}

ORD_REJ_REASON: dict[RejectReason, int] = {
    RejectReason.UNKNOWN_INSTRUMENT: 1,
    RejectReason.UNKNOWN_ORDER: 5,
    RejectReason.INVALID_QUANTITY: 13,
    RejectReason.PRICE_OFF_TICK: 99,
    RejectReason.QTY_OFF_LOT: 13,
    RejectReason.PRICE_OUTSIDE_BAND: 99,
    RejectReason.QTY_ABOVE_MAXIMUM: 3,
    RejectReason.DUPLICATE_CL_ORD_ID: 6,
    RejectReason.INSTRUMENT_HALTED: 2,
    RejectReason.INSTRUMENT_EXPIRED: 2,
    RejectReason.POST_ONLY_WOULD_TAKE: 99,
    RejectReason.FOK_NOT_FILLABLE: 99,
    RejectReason.MARKET_NO_LIQUIDITY: 99,
    RejectReason.TOO_LATE_TO_CANCEL: 4,
    RejectReason.INVALID_PRICE: 99,
    RejectReason.INVALID_TIF: 11,
    RejectReason.RISK_REJECTED: 0,
    RejectReason.REPLACE_QTY_NOT_ABOVE_CUM_QTY: 13,
    RejectReason.INVALID_ORDER: 11,
    RejectReason.MALFORMED_COMMAND: 99,
    RejectReason.UNKNOWN_ACCOUNT: 15,
    RejectReason.INSUFFICIENT_MARGIN: 0,
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: 99,
    RejectReason.INDEX_STALE: 0,
}
"""RejectReason → OrdRejReason (103); anything not listed is 99 (Other)."""

REJECT_TEXT: dict[RejectReason, str] = {
    RejectReason.UNKNOWN_INSTRUMENT: "unknown symbol",
    RejectReason.UNKNOWN_ORDER: "unknown order",
    RejectReason.INVALID_QUANTITY: "quantity must be positive",
    RejectReason.PRICE_OFF_TICK: "price is not a multiple of the tick size",
    RejectReason.QTY_OFF_LOT: "quantity is not a multiple of the lot size",
    RejectReason.PRICE_OUTSIDE_BAND: "price outside the price band",
    RejectReason.QTY_ABOVE_MAXIMUM: "quantity above the maximum order quantity",
    RejectReason.DUPLICATE_CL_ORD_ID: "duplicate ClOrdID",
    RejectReason.INSTRUMENT_HALTED: "instrument halted",
    RejectReason.INSTRUMENT_EXPIRED: "instrument expired",
    RejectReason.POST_ONLY_WOULD_TAKE: "post-only order would take liquidity",
    RejectReason.FOK_NOT_FILLABLE: "fill-or-kill order cannot be filled in full",
    RejectReason.MARKET_NO_LIQUIDITY: "no liquidity for a market order within the band",
    RejectReason.TOO_LATE_TO_CANCEL: "too late to cancel: the order is done",
    RejectReason.INVALID_PRICE: "invalid price",
    RejectReason.INVALID_TIF: "invalid TimeInForce/ExpireTime",
    RejectReason.RISK_REJECTED: "rejected by pre-trade risk",
    RejectReason.REPLACE_QTY_NOT_ABOVE_CUM_QTY: "new quantity not above the filled quantity",
    RejectReason.INVALID_ORDER: "invalid order",
    RejectReason.MALFORMED_COMMAND: "malformed request",
    RejectReason.UNKNOWN_ACCOUNT: "unknown account",
    RejectReason.INSUFFICIENT_MARGIN: "insufficient margin: initial margin above available equity",
    RejectReason.REDUCE_ONLY_WOULD_INCREASE: "reduce-only order would increase the position",
    RejectReason.INDEX_STALE: "index price stale: only risk-reducing orders accepted",
    RejectReason.DUPLICATE_ACCOUNT: "duplicate account",
    RejectReason.INVALID_ACCOUNT: "invalid account",
    RejectReason.INVALID_AMOUNT: "invalid amount",
    RejectReason.WITHDRAWAL_EXCEEDS_AVAILABLE: "withdrawal above available balance",
    RejectReason.NOT_LIQUIDATABLE: "account not below maintenance margin",
    RejectReason.INSTRUMENT_NOT_EXPIRED: "instrument not expired",
    RejectReason.NOT_A_PERPETUAL: "funding applies to perpetuals only",
    RejectReason.ALREADY_SETTLED: "instrument already settled",
    RejectReason.QUOTE_WOULD_CROSS: "quote would cross the book: quotes are passive",
    RejectReason.QUOTE_LIMIT_EXCEEDED: "too many instruments quoted by this session",
    RejectReason.INVALID_QUOTE: "invalid quote: no QuoteEntryID, or bid not below offer",
    RejectReason.MMP_FROZEN: "quoting frozen by market-maker protection until reset",
    RejectReason.NOT_AN_OPTION: "not an option",
    RejectReason.OPTIONS_CROSS_ONLY: "options are margined cross only",
}

CANCEL_REASON_TEXT: dict[CancelReason, bytes] = {
    CancelReason.REQUESTED: b"canceled on request",
    CancelReason.IOC_REMAINDER: b"IOC remainder canceled",
    CancelReason.FOK_NOT_FILLED: b"FOK not filled",
    CancelReason.MARKET_REMAINDER: b"market order remainder canceled",
    CancelReason.SELF_TRADE: b"canceled by self-trade prevention",
    CancelReason.EXPIRED: b"expired",
    CancelReason.MASS_CANCEL: b"canceled by mass cancel",
    CancelReason.HALTED: b"canceled: instrument halted",
    CancelReason.LIQUIDATION: b"canceled: account liquidated",
    CancelReason.VENUE_RESTART: b"canceled on disconnect: no Logon after the venue restarted",
    CancelReason.MMP: b"canceled by market-maker protection",
}


def _text(s: str) -> bytes:
    return s.encode("latin-1", "replace")


REJECT_TEXT_BYTES: dict[RejectReason, bytes] = {
    r: _text(REJECT_TEXT.get(r, r.name.lower())) for r in RejectReason
}
"""Text (58) of each RejectReason as sent (`REJECT_TEXT`, else the reason's name), made once."""


def _b(s: str) -> bytes:
    return s.encode("latin-1")


def _ord_status(cum_qty: int, leaves_qty: int) -> bytes:
    if leaves_qty == 0 and cum_qty > 0:
        return b"2"
    return b"1" if cum_qty > 0 else b"0"


def _exec_inst(post_only: bool, reduce_only: bool) -> bytes:
    if post_only and reduce_only:
        return b"6 E"
    return b"6" if post_only else b"E"


# ---------------------------------------------------------------------------------------------
# ExecutionReport (35=8)


def execution_report(
    ev: OrderAccepted | OrderFilled | OrderCanceled | OrderReplaced | OrderRejected,
    spec: InstrumentSpec | None,
    *,
    seq: int = 0,
) -> Body:
    """The ExecutionReport body for one order event (a new list: callers may extend it). `seq`
    (the journal sequence of the command) is needed only for `OrderRejected`, whose ExecID is
    `R<seq>`."""
    return list(report(ev, spec, seq=seq))


def report(
    ev: OrderAccepted | OrderFilled | OrderCanceled | OrderReplaced | OrderRejected,
    spec: InstrumentSpec | None,
    *,
    seq: int = 0,
) -> Fields:
    """`execution_report` as an immutable `Fields` (what `replies` sends: the frame encoder
    writes it with one format of its values)."""
    build = REPORTS.get(type(ev))
    if build is not None:
        return build(ev, spec)
    return Fields.of(_rejected(ev, spec, b"R%d" % seq))  # type: ignore[arg-type]


# The hot reports (new, fill, cancel, replace) are one tuple of values each, in the order of
# a constant `Layout` (one per variant: a market order has no Price, a cancel by request has an
# OrigClOrdID); the instrument's scales are read once (`_texts`), and TransactTime is
# formatted once per millisecond.

_last_ms: list[tuple[int, bytes]] = [(-(2**63), b"")]


def _transact_time(ts: int) -> bytes:
    """`format_utc_timestamp(ts)`, formatted once per millisecond (the text's resolution: the
    events of one command share their ts, and commands come many to a millisecond)."""
    ms = ts // 1_000_000
    last = _last_ms[0]
    if last[0] == ms:
        return last[1]
    text = format_utc_timestamp(ts)
    _last_ms[0] = (ms, text)
    return text


def _price(spec: InstrumentSpec | None, ticks: int) -> bytes:
    return spec.tick.units_to_text(ticks) if spec is not None else b"%d" % ticks


def _qty(spec: InstrumentSpec | None, lots: int) -> bytes:
    return spec.lot.units_to_text(lots) if spec is not None else b"%d" % lots


def _avg(spec: InstrumentSpec | None, cum_notional: int, cum_qty: int) -> bytes:
    if spec is None or cum_qty == 0:
        return _ZERO
    return spec.avg_px_text(cum_notional, cum_qty)


_Texts = tuple[Callable[[int], bytes], Callable[[int], bytes], bytes]


def _texts(spec: InstrumentSpec | None, symbol: str) -> _Texts:
    """(quantity text, price text, Symbol bytes) of an instrument, made once per spec (a
    bounded memo: the bound methods and the tuple cost more than a lookup); an instrument
    without a spec shows its integers as they are."""
    texts = _TEXTS.get(spec)  # type: ignore[arg-type]
    if texts is not None:
        return texts
    if spec is None:
        return _INT_TEXT, _INT_TEXT, _b(symbol)
    if len(_TEXTS) >= 256:  # specs are rebuilt when instruments are added: forget old ones
        _TEXTS.clear()
    texts = _TEXTS[spec] = (spec.lot.units_to_text, spec.tick.units_to_text, spec.symbol_bytes)
    return texts


_TEXTS: dict[InstrumentSpec, _Texts] = {}
_INT_TEXT: Callable[[int], bytes] = b"%d".__mod__


def _without(tags: tuple[int, ...], *drop: int) -> Layout:
    return Layout(tuple(t for t in tags if t not in drop))


_FILL_TAGS = (37, 11, 17, 150, 39, 1, 55, 54, 38, 40, 44, 59, 31, 32, 880, 1057, 151, 14, 6, 60)
_FILL = Layout(_FILL_TAGS)
_FILL_MARKET = _without(_FILL_TAGS, 44)


def _fill(ev: OrderFilled, spec: InstrumentSpec | None) -> Fields:
    qty, px, symbol = _texts(spec, ev.symbol)
    cum_qty, last_px = ev.cum_qty, ev.last_px
    price = px(ev.price)
    last_px_text = price if last_px == ev.price else px(last_px)  # a maker fills at its price
    if cum_qty and ev.cum_notional == last_px * cum_qty and spec is not None:
        avg_px = last_px_text  # every fill at one price: AvgPx is that price
    else:
        avg_px = _avg(spec, ev.cum_notional, cum_qty)
    values = (
        b"%d" % ev.order_id,
        ev.cl_ord_id.encode("latin-1"),
        b"%d" % ev.exec_id,
        b"F",
        b"1" if ev.leaves_qty else b"2",
        ev.account.encode("latin-1"),
        symbol,
        _SIDE[ev.side],
        qty(ev.qty),
        _ORD_TYPE[ev.ord_type],
        price,
        _TIF[ev.tif],
        last_px_text,
        qty(ev.last_qty),
        b"%d" % ev.trade_id,
        b"Y" if ev.aggressor else b"N",
        qty(ev.leaves_qty),
        qty(cum_qty),
        avg_px,
        _transact_time(ev.ts),
    )
    if ev.ord_type != _LIMIT:  # no Price (44) for a market order
        return Fields(_FILL_MARKET, values[:10] + values[11:])
    return Fields(_FILL, values)


def _order_fields(
    o: OrderAccepted | LiveOrder,
    spec: InstrumentSpec | None,
    exec_id: bytes,
    exec_type: bytes,
    ord_status: bytes,
) -> Body:
    """37 through 18: the order as entered, shared by the new-order and status reports."""
    qty, px, symbol = _texts(spec, o.symbol)
    body = [
        (37, b"%d" % o.order_id),
        (11, o.cl_ord_id.encode("latin-1")),
        (17, exec_id),
        (150, exec_type),
        (39, ord_status),
        (1, o.account.encode("latin-1")),
        (55, symbol),
        (54, _SIDE[o.side]),
        (38, qty(o.qty)),
        (40, _ORD_TYPE[o.ord_type]),
        (44, px(o.price)),
        (59, _TIF[o.tif]),
    ]
    if o.ord_type != _LIMIT:
        del body[10]  # no Price (44) for a market order
    if o.expire_ts:
        body.append((126, format_utc_timestamp(o.expire_ts)))
    if o.post_only or o.reduce_only:
        body.append((18, _exec_inst(o.post_only, o.reduce_only)))
    return body


_NEW = Layout((37, 11, 17, 150, 39, 1, 55, 54, 38, 40, 44, 59, 151, 14, 6, 60))


def _accepted(ev: OrderAccepted, spec: InstrumentSpec | None) -> Fields:
    if ev.ord_type != _LIMIT or ev.expire_ts or ev.post_only or ev.reduce_only:
        body = _order_fields(ev, spec, b"%d" % ev.exec_id, b"0", b"0")
        body += [
            (151, _qty(spec, ev.qty)),
            (14, _ZERO),
            (6, _ZERO),
            (60, _transact_time(ev.ts)),
        ]
        return Fields.of(body)
    qty, px, symbol = _texts(spec, ev.symbol)
    return Fields(
        _NEW,
        (
            b"%d" % ev.order_id,
            ev.cl_ord_id.encode("latin-1"),
            b"%d" % ev.exec_id,
            b"0",
            b"0",
            ev.account.encode("latin-1"),
            symbol,
            _SIDE[ev.side],
            qty(ev.qty),
            _ORD_TYPE[ev.ord_type],
            px(ev.price),
            _TIF[ev.tif],
            qty(ev.qty),
            _ZERO,
            _ZERO,
            _transact_time(ev.ts),
        ),
    )


_CANCEL_TAGS = (37, 11, 41, 17, 150, 39, 1, 55, 54, 38, 40, 44, 59, 151, 14, 6, 60, 58)
_CANCEL_BY_REQUEST = Layout(_CANCEL_TAGS)  # indexed [market][no OrigClOrdID]
_CANCEL = (
    (_CANCEL_BY_REQUEST, _without(_CANCEL_TAGS, 41)),
    (_without(_CANCEL_TAGS, 44), _without(_CANCEL_TAGS, 41, 44)),
)


def _canceled(ev: OrderCanceled, spec: InstrumentSpec | None) -> Fields:
    status = b"C" if ev.reason == _EXPIRED else b"4"
    qty, px, symbol = _texts(spec, ev.symbol)
    cum_qty = ev.cum_qty
    values: tuple[bytes, ...] = (
        b"%d" % ev.order_id,
        ev.cl_ord_id.encode("latin-1"),
        ev.orig_cl_ord_id.encode("latin-1"),
        b"%d" % ev.exec_id,
        status,
        status,
        ev.account.encode("latin-1"),
        symbol,
        _SIDE[ev.side],
        qty(ev.qty),
        _ORD_TYPE[ev.ord_type],
        px(ev.price),
        _TIF[ev.tif],
        _ZERO,
        qty(cum_qty),
        _avg(spec, ev.cum_notional, cum_qty),
        _transact_time(ev.ts),
        CANCEL_REASON_TEXT.get(ev.reason, b"canceled"),
    )
    market = ev.ord_type != _LIMIT
    if market:  # no Price (44) for a market order
        values = values[:11] + values[12:]
    if not ev.orig_cl_ord_id:  # no OrigClOrdID (41): not canceled on request
        values = values[:2] + values[3:]
    return Fields(_CANCEL[market][not ev.orig_cl_ord_id], values)


_REPLACED = Layout((37, 11, 41, 17, 150, 39, 1, 55, 54, 38, 40, 44, 59, 151, 14, 6, 60))


def _replaced(ev: OrderReplaced, spec: InstrumentSpec | None) -> Fields:
    cum_qty, leaves = ev.cum_qty, ev.leaves_qty
    qty, px, symbol = _texts(spec, ev.symbol)
    return Fields(
        _REPLACED,
        (
            b"%d" % ev.order_id,
            ev.cl_ord_id.encode("latin-1"),
            ev.orig_cl_ord_id.encode("latin-1"),
            b"%d" % ev.exec_id,
            b"5",
            (b"2" if not leaves else b"1") if cum_qty > 0 else b"0",
            ev.account.encode("latin-1"),
            symbol,
            _SIDE[ev.side],
            qty(ev.qty),
            _ORD_TYPE[ev.ord_type],
            px(ev.price),
            _TIF[ev.tif],
            qty(leaves),
            qty(cum_qty),
            _avg(spec, ev.cum_notional, cum_qty),
            _transact_time(ev.ts),
        ),
    )


def _rejected(ev: OrderRejected, spec: InstrumentSpec | None, exec_id: bytes) -> Body:
    body = [
        (37, _NONE),
        (11, _b(ev.cl_ord_id)),
        (17, exec_id),
        (150, b"8"),
        (39, b"8"),
        (103, b"%d" % ORD_REJ_REASON.get(ev.reason, 99)),
        (1, _b(ev.account)),
        (55, _b(ev.symbol)),
        (54, _SIDE.get(ev.side, b"1")),
        (38, _qty(spec, ev.qty)),
        (40, _ORD_TYPE.get(ev.ord_type, b"2")),
    ]
    if ev.ord_type == _LIMIT:
        body.append((44, _price(spec, ev.price)))
    body += [
        (59, _TIF.get(ev.tif, b"1")),
        (151, _ZERO),
        (14, _ZERO),
        (6, _ZERO),
        (60, _transact_time(ev.ts)),
        (58, REJECT_TEXT_BYTES[ev.reason]),
    ]
    return body


REPORTS: dict[type, Callable[[Any, InstrumentSpec | None], Fields]] = {
    OrderFilled: _fill,
    OrderAccepted: _accepted,
    OrderCanceled: _canceled,
    OrderReplaced: _replaced,
}
"""The builder of each order event's report but a reject's (whose ExecID needs the `seq`)."""


class LiveOrder(Protocol):
    """What an order status report needs from a live order (the core's `Order` has it)."""

    order_id: int
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    cum_qty: int
    cum_notional: int
    expire_ts: int
    post_only: bool
    reduce_only: bool


def order_status_report(
    order: LiveOrder | None,
    spec: InstrumentSpec | None,
    *,
    exec_id: bytes,
    ts: int,
    cl_ord_id: bytes = b"",
    symbol: bytes = b"",
    side: bytes = b"1",
    ord_status_req_id: bytes = b"",
    mass_status_req_id: bytes = b"",
    tot_num_reports: int | None = None,
    last_report: bool = False,
) -> Body:
    """ExecType I (order status) for a live order, or, when `order` is None, the FIX answer for an
    unknown order: OrdStatus 8 with OrdRejReason 5 (`cl_ord_id`, `symbol`, `side` echo the
    request). For mass status, pass `mass_status_req_id`, `tot_num_reports` and `last_report`."""
    if order is None:
        body: Body = [(37, _NONE)]
        if cl_ord_id:
            body.append((11, cl_ord_id))
        body += [(17, exec_id), (150, b"I"), (39, b"8"), (103, b"5")]
        if symbol:
            body.append((55, symbol))
        body += [
            (54, side),
            (151, _ZERO),
            (14, _ZERO),
            (6, _ZERO),
            (60, format_utc_timestamp(ts)),
            (58, b"unknown order"),
        ]
    else:
        leaves = order.qty - order.cum_qty
        body = _order_fields(order, spec, exec_id, b"I", _ord_status(order.cum_qty, leaves))
        body += [
            (151, _qty(spec, leaves)),
            (14, _qty(spec, order.cum_qty)),
            (6, _avg(spec, order.cum_notional, order.cum_qty)),
            (60, format_utc_timestamp(ts)),
        ]
    if ord_status_req_id:
        body.insert(2, (790, ord_status_req_id))
    if mass_status_req_id:
        body.insert(2, (584, mass_status_req_id))
        if tot_num_reports is not None:
            body.insert(3, (911, b"%d" % tot_num_reports))
            body.insert(4, (912, b"Y" if last_report else b"N"))
    return body
