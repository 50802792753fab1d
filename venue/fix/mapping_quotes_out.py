"""Core → FIX for mass quoting: MassQuoteAcknowledgement (b), QuoteStatusReport (AI) and the
ExecutionReports of quote sides (the inbound half is `venue.fix.mapping_quotes`).

Invariants:
- Pure: every answer is built from one event, or one live order, and the instrument's scales.
- A quote side's ExecutionReport carries ClOrdID (11) = the QuoteEntryID of the entry that
  last set the side (OrigClOrdID (41), on an update, the previous one), QuoteEntryID (299)
  the same, QuoteID (117) the MassQuote's QuoteID, OrderID (37) the side's order id (kept
  across updates). The core's internal key (`venue.core.quotes.quote_key`) never leaves.
- On the order-entry session a quote side reports only what the session did not ask for in
  a quote message: fills, and cancels other than by MassQuote/QuoteCancel (mass cancel,
  cancel on disconnect, the kill switch, liquidation, expiry); the drop copy gets every one.
"""

from __future__ import annotations

from collections.abc import Mapping

import msgspec

from venue.core.book import Order
from venue.core.events import Event, OrderAccepted, OrderCanceled, OrderFilled, OrderReplaced
from venue.core.quote_types import (
    MassQuoteAcked,
    MmpReset,
    MmpTriggered,
    QuoteEntryResult,
    QuotesCanceled,
    underlying,
)
from venue.core.quotes import QUOTE_MARK, parse_quote_key
from venue.core.types import CancelReason, RejectReason
from venue.fix.codec import format_utc_timestamp
from venue.fix.mapping_exec import REJECT_TEXT_BYTES, REPORTS, Body
from venue.fix.mapping_num import InstrumentSpec

__all__ = [
    "QUOTE_ENTRY_REJECT_REASON",
    "QUOTE_MARK",
    "mmp_status",
    "quote_ack",
    "quote_execution_report",
    "quote_replies",
    "quote_status_reports",
    "session_sees",
    "shown_cl_ord_id",
]

QUOTE_ENTRY_REJECT_REASON: dict[RejectReason, int] = {
    RejectReason.UNKNOWN_INSTRUMENT: 1,
    RejectReason.INSTRUMENT_HALTED: 2,
    RejectReason.INSTRUMENT_EXPIRED: 2,
    RejectReason.QUOTE_LIMIT_EXCEEDED: 3,
    RejectReason.INVALID_QUOTE: 7,
    RejectReason.INVALID_PRICE: 8,
    RejectReason.PRICE_OFF_TICK: 8,
    RejectReason.PRICE_OUTSIDE_BAND: 8,
    RejectReason.QUOTE_WOULD_CROSS: 8,
    RejectReason.UNKNOWN_ACCOUNT: 9,
    RejectReason.MMP_FROZEN: 100,
}
"""RejectReason → QuoteEntryRejectReason (368); anything not listed is 99 (Other). The Text of
the acknowledgement names each refused entry's reason in words."""


def shown_cl_ord_id(cl_ord_id: str) -> str:
    """The ClOrdID a report shows for `cl_ord_id`: a quote side's QuoteEntryID, else itself."""
    ids = parse_quote_key(cl_ord_id)
    return cl_ord_id if ids is None else ids[1]


def _entry_reason(r: QuoteEntryResult) -> bytes:
    assert r.reason is not None
    return b"%d" % QUOTE_ENTRY_REJECT_REASON.get(r.reason, 99)


def quote_ack(ev: MassQuoteAcked | QuotesCanceled) -> Body | None:
    """MassQuoteAcknowledgement of a MassQuote (following its QuoteResponseLevel: 0 none, 1
    only if an entry was refused, listing the refused ones, 2 always, listing every entry) or
    of a QuoteCancel (QuoteStatus 1, 3 or 4 with the type; none at level 0)."""
    if type(ev) is QuotesCanceled:
        if ev.response_level == 0:
            return None
        status = {1: b"1", 3: b"3", 4: b"4"}.get(ev.cancel_type, b"4")
        body: Body = [(117, ev.quote_id.encode("latin-1")), (297, status)]
        if ev.account:
            body.append((1, ev.account.encode("latin-1")))
        body.append((58, b"%d quote sides canceled" % ev.canceled_count))
        return body
    assert isinstance(ev, MassQuoteAcked)
    refused = [r for r in ev.entries if r.reason is not None]
    level = ev.response_level
    if level == 0 or (level == 1 and not refused):
        return None
    shown = ev.entries if level == 2 else refused
    all_refused = len(refused) == len(ev.entries)
    body = [
        (117, ev.quote_id.encode("latin-1")),
        (297, b"5" if all_refused else b"0"),
        (301, b"%d" % level),
        (1, ev.account.encode("latin-1")),
    ]
    if refused:
        texts = b"; ".join(
            b"%s: %s" % (r.entry_id.encode("latin-1"), REJECT_TEXT_BYTES[r.reason])  # type: ignore[index]
            for r in refused
        )
        body.append((58, texts))
    sets: dict[str, list[QuoteEntryResult]] = {}
    for r in shown:
        sets.setdefault(r.set_id, []).append(r)
    body.append((296, b"%d" % len(sets)))
    for set_id, results in sets.items():
        body += [(302, set_id.encode("latin-1")), (304, b"%d" % len(results))]
        body.append((295, b"%d" % len(results)))
        for r in results:
            body += [(299, r.entry_id.encode("latin-1")), (55, r.symbol.encode("latin-1"))]
            if r.reason is not None:
                body.append((368, _entry_reason(r)))
    return body


_OrderEvent = OrderAccepted | OrderFilled | OrderCanceled | OrderReplaced


def session_sees(ev: _OrderEvent) -> bool:
    """Does the order-entry session get an ExecutionReport for this quote-side event?"""
    tp = type(ev)
    if tp is OrderFilled:
        return True
    return tp is OrderCanceled and ev.reason != CancelReason.REQUESTED  # type: ignore[union-attr]


def quote_execution_report(ev: _OrderEvent, spec: InstrumentSpec | None) -> Body:
    """The ExecutionReport of a quote side's event (see the module docstring for its ids)."""
    ids = parse_quote_key(ev.cl_ord_id)
    assert ids is not None
    quote_id, entry_id = ids
    changes: dict[str, str] = {"cl_ord_id": entry_id}
    orig = getattr(ev, "orig_cl_ord_id", "")
    if orig:
        old = parse_quote_key(orig)
        changes["orig_cl_ord_id"] = old[1] if old is not None else orig
    shown = msgspec.structs.replace(ev, **changes)
    body = list(REPORTS[type(ev)](shown, spec))
    body += [(117, quote_id.encode("latin-1")), (299, entry_id.encode("latin-1"))]
    return body


def quote_status_reports(
    req_id: bytes,
    symbol: str,
    sides: list[tuple[Order | None, Order | None]],
    specs: Mapping[str, InstrumentSpec],
    ts: int,
) -> list[Body]:
    """QuoteStatusReport per quoted instrument (its live bid and ask), or one QuoteStatus 9
    (quote not found) when there is none."""
    out: list[Body] = []
    for bid, ask in sides:
        o = bid or ask
        assert o is not None
        spec = specs.get(o.symbol)
        ids = parse_quote_key(o.cl_ord_id)
        assert ids is not None
        body: Body = []
        if req_id:
            body.append((649, req_id))
        body += [(117, ids[0].encode("latin-1")), (55, o.symbol.encode("latin-1"))]
        body.append((1, o.account.encode("latin-1")))
        for side, px_tag, size_tag in ((bid, 132, 134), (ask, 133, 135)):
            if side is None:
                continue
            leaves = side.qty - side.cum_qty
            px = spec.price_text(side.price) if spec else b"%d" % side.price
            size = spec.qty_text(leaves) if spec else b"%d" % leaves
            body += [(px_tag, px), (size_tag, size)]
        body += [(60, format_utc_timestamp(ts)), (297, b"0"), (299, ids[1].encode("latin-1"))]
        out.append(body)
    if not out:
        body = []
        if req_id:
            body.append((649, req_id))
        body += [(117, b"NONE"), (55, symbol.encode("latin-1") or b"[N/A]")]
        body += [(60, format_utc_timestamp(ts)), (297, b"9"), (58, b"no live quote")]
        out.append(body)
    return out


def quote_replies(ev: Event, specs: Mapping[str, InstrumentSpec]) -> list[tuple[str, bytes, Body]]:
    """(session, MsgType, body) of a quote event on the order-entry side: the acknowledgement
    of MassQuoteAcked / QuotesCanceled, or the report of a quote side's order event."""
    tp = type(ev)
    if tp is MmpTriggered:
        assert isinstance(ev, MmpTriggered)
        return [(s, b"U2", mmp_status(ev, specs)) for s in ev.sessions]
    if tp is MmpReset:
        assert isinstance(ev, MmpReset)
        return [(ev.session, b"U2", mmp_status(ev, specs))] if ev.session else []
    if tp is MassQuoteAcked or tp is QuotesCanceled:
        body = quote_ack(ev)  # type: ignore[arg-type]
        return [] if body is None else [(ev.session, b"b", body)]  # type: ignore[union-attr]
    if tp in REPORTS:
        oev: _OrderEvent = ev  # type: ignore[assignment]
        if session_sees(oev):
            return [(oev.session, b"8", quote_execution_report(oev, specs.get(oev.symbol)))]
    return []


def mmp_status(ev: MmpTriggered | MmpReset, specs: Mapping[str, InstrumentSpec]) -> Body:
    """MMPStatus (U2): 5201 = 1 triggered (with what triggered it, the window's traded
    quantity and fill count, and the freeze end if timed) or 2 reset."""
    body: Body = [(1, ev.account.encode("latin-1")), (311, ev.underlying.encode("latin-1"))]
    if type(ev) is MmpReset:
        body += [(5201, b"2"), (60, format_utc_timestamp(ev.ts)), (58, b"quoting resumed")]
        return body
    assert isinstance(ev, MmpTriggered)
    spec = next((v for k, v in specs.items() if underlying(k) == ev.underlying), None)
    qty = spec.qty_text(ev.traded_qty) if spec is not None else b"%d" % ev.traded_qty
    body += [
        (5201, b"1"),
        (5202, b"1" if ev.trigger == "qty" else b"2"),
        (5204, qty),
        (5205, b"%d" % ev.fills),
    ]
    if ev.frozen_until:
        body.append((5203, format_utc_timestamp(ev.frozen_until)))
    body.append((60, format_utc_timestamp(ev.ts)))
    text = b"market-maker protection triggered: %d quote sides canceled, quoting frozen" % (
        ev.canceled_count
    )
    body.append((58, text))
    return body
