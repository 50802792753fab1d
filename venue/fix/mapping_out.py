"""Core events → FIX message bodies (lists of (tag, bytes) for `codec.encode`, or for the hot
ExecutionReports and OrderCancelReject an immutable `encoder.Fields` that reads as that list):
routing (`replies`), OrderCancelReject, OrderMassCancelReport, BusinessMessageReject and
SecurityList; ExecutionReports are built in `venue.fix.mapping_exec` and re-exported here.

Invariants:
- Every body is built from the event (and the instrument's scales) alone: no engine state, no
  clock; TransactTime (60) is the event's `ts`.
- ExecIDs and decimal formatting: see `venue.fix.mapping_exec`.
- `replies` routes each event to the session that must see it: order events to the order's
  owner session (and the requesting session too, when another session of the same firm
  canceled or replaced it); rejects to the requester; a mass-cancel report only to a client
  that asked for one (non-empty ClOrdID); quote events as `venue.fix.mapping_quotes_out`
  says (acknowledgements to the quoting session, quote sides' fills and unsolicited cancels).
  Other events produce nothing here.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

import msgspec

from venue.core.events import (
    CancelRejected,
    Event,
    MassCancelCompleted,
    MassCancelRejected,
    OrderCanceled,
    OrderRejected,
    OrderReplaced,
)
from venue.core.quote_types import MassQuoteAcked, MmpReset, MmpTriggered, QuotesCanceled
from venue.core.types import Instrument, InstrumentKind, PutCall, RejectReason, option_cfi
from venue.fix.codec import format_utc_timestamp
from venue.fix.encoder import Fields, Layout
from venue.fix.mapping_exec import (
    _NONE,
    _SIDE,
    CANCEL_REASON_TEXT,
    ORD_REJ_REASON,
    REJECT_TEXT,
    REJECT_TEXT_BYTES,
    REPORTS,
    Body,
    LiveOrder,
    _b,
    _ord_status,
    _text,
    _transact_time,
    execution_report,
    order_status_report,
    report,
)
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_quotes_out import QUOTE_MARK, quote_replies

__all__ = [
    "CANCEL_REASON_TEXT",
    "CXL_REJ_REASON",
    "ORD_REJ_REASON",
    "REJECT_TEXT",
    "Body",
    "LiveOrder",
    "Reply",
    "business_reject",
    "cancel_reject",
    "execution_report",
    "mass_cancel_report",
    "order_status_report",
    "replies",
    "security_list",
]

CXL_REJ_REASON: dict[RejectReason, int] = {
    RejectReason.TOO_LATE_TO_CANCEL: 0,
    RejectReason.UNKNOWN_ORDER: 1,
    RejectReason.DUPLICATE_CL_ORD_ID: 6,
}
"""RejectReason → CxlRejReason (102); anything not listed is 99 (Other)."""


# ---------------------------------------------------------------------------------------------
# OrderCancelReject (35=9), OrderMassCancelReport (35=r), BusinessMessageReject (35=j)


_CANCEL_REJECT = Layout((37, 11, 41, 39, 60, 434, 102, 58))
_CXL_REJ_REASON_TEXT = {r: b"%d" % CXL_REJ_REASON.get(r, 99) for r in RejectReason}


def cancel_reject(ev: CancelRejected) -> Fields:
    """OrderCancelReject for a refused cancel (434=1) or replace (434=2)."""
    if ev.order_id and (ev.leaves_qty or ev.cum_qty):
        status = _ord_status(ev.cum_qty, ev.leaves_qty)
    else:
        status = b"8"  # the order is not live: unknown, filled or canceled
    return Fields(
        _CANCEL_REJECT,
        (
            b"%d" % ev.order_id if ev.order_id else _NONE,
            _b(ev.cl_ord_id),
            _b(ev.orig_cl_ord_id) or _NONE,  # required in 35=9; empty for a cancel by OrderID
            status,
            _transact_time(ev.ts),
            b"2" if ev.is_replace else b"1",
            _CXL_REJ_REASON_TEXT[ev.reason],
            REJECT_TEXT_BYTES[ev.reason],
        ),
    )


def mass_cancel_report(ev: MassCancelCompleted | MassCancelRejected, *, seq: int) -> Body:
    """OrderMassCancelReport. OrderID (37) is `MC<seq>`; the request type is 1 (by symbol) when a
    symbol was given, else 7 (all orders)."""
    req_type = b"1" if ev.symbol else b"7"
    body: Body = [(11, _b(ev.cl_ord_id)), (37, b"MC%d" % seq), (530, req_type)]
    if type(ev) is MassCancelCompleted:
        body += [(531, req_type), (533, b"%d" % ev.canceled_count)]
    else:
        body += [(531, b"0"), (532, b"1" if ev.symbol else b"99")]
    if ev.symbol:
        body.append((55, _b(ev.symbol)))
    if type(ev) is MassCancelCompleted and ev.side is not None:
        body.append((54, _SIDE[ev.side]))
    body.append((60, format_utc_timestamp(ev.ts)))
    if type(ev) is MassCancelRejected:
        body.append((58, REJECT_TEXT_BYTES[ev.reason]))
    return body


def business_reject(
    *, ref_seq_num: bytes | None, ref_msg_type: bytes, reason: int, text: str, ref_id: bytes = b""
) -> Body:
    """BusinessMessageReject: 380 = 0 other, 1 unknown id, 2 unknown security, 3 unsupported
    message type, 4 application not available, 5 conditionally required field missing,
    6 not authorized."""
    body: Body = []
    if ref_seq_num:
        body.append((45, ref_seq_num))
    body.append((372, ref_msg_type))
    if ref_id:
        body.append((379, ref_id))
    body += [(380, b"%d" % reason), (58, _text(text))]
    return body


# ---------------------------------------------------------------------------------------------
# SecurityList (35=y)


def _date_text(ts: int) -> bytes:
    return format_utc_timestamp(ts)[:8]


def security_list(
    instruments: Iterable[Instrument],
    *,
    security_req_id: bytes,
    security_response_id: bytes,
    result: int = 0,
) -> Body:
    """SecurityList with one NoRelatedSym entry per instrument (in the order given): Symbol,
    SecurityType FUT (OPT and CFICode for options), MaturityDate (futures and options),
    PutOrCall and StrikePrice (options), ContractMultiplier, NoUnderlyings = 1 with
    UnderlyingSymbol (options), RoundLot and MinTradeVol (the lot), ContractType (5005: P
    perpetual, F dated future, O option), MinPriceIncrement (the tick) and a
    Text with `state=…; band=…; max_qty=…; expiry=…` (no standard FIX 4.4 field for these)."""
    items = list(instruments)
    body: Body = [
        (320, security_req_id),
        (322, security_response_id),
        (560, b"%d" % result),
        (393, b"%d" % len(items)),
        (146, b"%d" % len(items)),
    ]
    for inst in items:
        spec = InstrumentSpec(inst)
        right = inst.put_call
        option = right is not None
        body += [(55, _b(inst.symbol))]
        if right is not None:
            body += [(461, option_cfi(right).encode()), (167, b"OPT")]
        else:
            body.append((167, b"FUT"))
        if inst.expiry_ts:
            body.append((541, _date_text(inst.expiry_ts)))
        if option:
            body += [
                (201, b"1" if inst.put_call == PutCall.CALL else b"0"),
                (202, spec.price_text(inst.strike)),
            ]
        band = _band_text(inst.band_ppb)
        max_qty = spec.qty_text(inst.max_order_qty).decode()
        text = f"state={inst.state.value}; band={band}; max_qty={max_qty}"
        if inst.expiry_ts:
            text += "; expiry=" + format_utc_timestamp(inst.expiry_ts).decode()
        body.append((231, _b(inst.multiplier)))
        if option:  # UndInstrmtGrp: the index the option settles on
            body += [(711, b"1"), (311, _b(inst.underlying))]
        body += [
            (561, _b(inst.lot_size)),
            (562, _b(inst.lot_size)),
            (58, _b(text)),
            (5005, _CONTRACT_TYPE[inst.kind]),
            (969, _b(inst.tick_size)),
        ]
    return body


_CONTRACT_TYPE = {
    InstrumentKind.PERPETUAL: b"P",
    InstrumentKind.FUTURE: b"F",
    InstrumentKind.OPTION: b"O",
}


def _band_text(band_ppb: int) -> str:
    """Half-width of the price band as a fraction of the reference price (ppb → decimal)."""
    whole, frac = divmod(band_ppb, 1_000_000_000)
    if not frac:
        return str(whole)
    return f"{whole}.{frac:09d}".rstrip("0")


# ---------------------------------------------------------------------------------------------
# Routing


class Reply(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """One outbound application message for `session`. An ExecutionReport's body is a `Fields`
    (immutable, one for every session that gets the report); others are lists."""

    session: str
    msg_type: bytes
    body: Sequence[tuple[int, bytes]]


def replies(seq: int, events: Iterable[Event], specs: Mapping[str, InstrumentSpec]) -> list[Reply]:
    """Every application message the events of the command journaled at `seq` produce, in event
    order, each addressed to its session (see the module docstring for the rules)."""
    out: list[Reply] = []
    append = out.append
    for ev in events:
        tp = type(ev)
        build = REPORTS.get(tp)
        if build is not None:  # filled, accepted, canceled, replaced
            if ev.cl_ord_id[:1] == QUOTE_MARK:  # type: ignore[union-attr]  # a quote side
                out += [
                    Reply(session=s, msg_type=m, body=b) for s, m, b in quote_replies(ev, specs)
                ]
                continue
            body = build(ev, specs.get(ev.symbol))  # type: ignore[union-attr]
            append(Reply(session=ev.session, msg_type=b"8", body=body))  # type: ignore[union-attr]
            if tp is OrderCanceled or tp is OrderReplaced:
                req = ev.request_session  # type: ignore[union-attr]
                if req and req != ev.session:  # type: ignore[union-attr]
                    append(Reply(session=req, msg_type=b"8", body=body))
        elif tp is OrderRejected:
            assert isinstance(ev, OrderRejected)
            append(
                Reply(
                    session=ev.session,
                    msg_type=b"8",
                    body=report(ev, specs.get(ev.symbol), seq=seq),
                )
            )
        elif tp is CancelRejected:
            assert isinstance(ev, CancelRejected)
            append(Reply(session=ev.session, msg_type=b"9", body=cancel_reject(ev)))
        elif tp is MassQuoteAcked or tp is QuotesCanceled or tp is MmpTriggered or tp is MmpReset:
            out += [Reply(session=s, msg_type=m, body=b) for s, m, b in quote_replies(ev, specs)]
        elif tp is MassCancelCompleted or tp is MassCancelRejected:
            assert isinstance(ev, MassCancelCompleted | MassCancelRejected)
            if ev.cl_ord_id and ev.session:
                append(
                    Reply(session=ev.session, msg_type=b"r", body=mass_cancel_report(ev, seq=seq))
                )
    return out
