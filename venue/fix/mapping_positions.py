"""RequestForPositions (AN) → PositionReport (AP) and CollateralInquiry (BB) → CollateralReport
(BA): decoding the requests and building the report bodies; and the unsolicited CollateralReport
of a funding payment. Part of the FIX mapping.

Invariants:
- Pure and total: no clock, no I/O, no engine state; decoders return a query or a `Refusal`,
  builders return a body; nothing raises on any input (DESIGN rule 6).
- Entitlement is decided by the caller, which alone knows who owns an account; a query only
  carries what the message asked for, stamped with the session's own name and firm.
- Money (10^-6 USD units, `MONEY_SCALE`) is printed exactly with up to 6 decimals; prices are
  printed in the instrument's price units: integer ticks exactly, the exact fractions of the
  views (entry and liquidation prices) like AvgPx (exact when they terminate within 8 more
  digits than the tick, else rounded half-even there).
- Bodies carry every field the dictionary requires for AP and BA (`fix_specs/FIX44.xml`),
  venue fields 5003-5004 and 5006-5014 as documented in `fix_specs/DICTIONARY.md`.
- A funding report is built from the journaled event alone (`FundingApplied` and one of its
  payments) and the command's seq: the same event always yields the same report
  (CollRptID `F<seq>-<account>`), whoever receives it and whenever.
"""

from __future__ import annotations

from fractions import Fraction
from typing import TYPE_CHECKING

import msgspec

from venue.core.types import MONEY_SCALE
from venue.fix.codec import FixMessage, format_utc_timestamp
from venue.fix.mapping_num import InstrumentSpec, Scale
from venue.fix.mapping_out import Body
from venue.fix.mapping_types import (
    MAX_ID_LEN,
    Refusal,
    SessionContext,
    business_refusal,
    first_missing,
    session_reject,
    text_of,
)

if TYPE_CHECKING:
    from venue.core.accounts import AccountView, PositionView
    from venue.core.events import FundingApplied, FundingPayment

__all__ = [
    "CollateralQuery",
    "PositionsQuery",
    "collateral_report",
    "decode_collateral_inquiry",
    "decode_request_for_positions",
    "funding_report",
    "money_text",
    "not_authorized",
    "position_report",
    "positions_none_report",
]

assert MONEY_SCALE == 10**6  # _MONEY prints 6 decimals
_MONEY = Scale("0.000001")
_RATE = Scale("0.000000001")  # rates are parts per 10^9
CURRENCY = b"USD"
NOT_AUTHORIZED = 6  # BusinessRejectReason: not authorized
UNSUPPORTED = 0  # BusinessRejectReason: other (an unsupported request)


class PositionsQuery(msgspec.Struct, frozen=True, kw_only=True):
    """RequestForPositions (AN): positions of `account`, all symbols or one."""

    session: str
    firm: str
    pos_req_id: bytes
    account: str
    account_type: bytes
    symbol: str
    clearing_business_date: bytes


class CollateralQuery(msgspec.Struct, frozen=True, kw_only=True):
    """CollateralInquiry (BB): one account, or every account of the firm (`account` empty)."""

    session: str
    firm: str
    coll_inquiry_id: bytes
    account: str


def money_text(units: int) -> bytes:
    """Money units (10^-6 USD) as an exact decimal string of USD."""
    return _MONEY.units_to_text(units)


def _fraction_price(spec: InstrumentSpec, px: Fraction) -> bytes:
    return spec.avg_px_text(px.numerator, px.denominator)


def decode_request_for_positions(msg: FixMessage, ctx: SessionContext) -> PositionsQuery | Refusal:
    """PosReqType (724) must be 0 (positions); the subscription (263) may only be a snapshot."""
    get = msg.get
    req_id = get(710)
    missing = first_missing(msg, (710, 724, 1))
    if missing:
        return session_reject(msg, missing, "required tag missing")
    assert req_id is not None
    if len(req_id) > MAX_ID_LEN:
        return business_refusal(msg, UNSUPPORTED, "PosReqID longer than 64", "id_too_long", b"")
    if get(724) != b"0":
        return business_refusal(
            msg, UNSUPPORTED, "PosReqType (724) must be 0", "unsupported_pos_req_type", req_id
        )
    if get(263) not in (None, b"0"):
        return business_refusal(
            msg, UNSUPPORTED, "only snapshots (263=0)", "unsupported_subscription", req_id
        )
    return PositionsQuery(
        session=ctx.session,
        firm=ctx.firm,
        pos_req_id=req_id,
        account=text_of(get(1) or b""),
        account_type=get(581) or b"1",
        symbol=text_of(get(55) or b""),
        clearing_business_date=get(715) or b"",
    )


def decode_collateral_inquiry(msg: FixMessage, ctx: SessionContext) -> CollateralQuery | Refusal:
    get = msg.get
    req_id = get(909) or b""
    if len(req_id) > MAX_ID_LEN:
        return business_refusal(
            msg, UNSUPPORTED, "CollInquiryID longer than 64", "id_too_long", b""
        )
    if get(263) not in (None, b"0"):
        return business_refusal(
            msg, UNSUPPORTED, "only snapshots (263=0)", "unsupported_subscription", req_id
        )
    return CollateralQuery(
        session=ctx.session,
        firm=ctx.firm,
        coll_inquiry_id=req_id,
        account=text_of(get(1) or b""),
    )


def not_authorized(msg: FixMessage, ref_id: bytes) -> Refusal:
    """The answer for an account the session may not see: the same for an unknown account and
    another firm's, so nothing leaks about other firms."""
    return business_refusal(msg, NOT_AUTHORIZED, "unknown account", "unknown_account", ref_id)


def _business_date(q: PositionsQuery, ts: int) -> bytes:
    return q.clearing_business_date or format_utc_timestamp(ts)[:8]


def position_report(
    q: PositionsQuery,
    pos: PositionView,
    spec: InstrumentSpec,
    *,
    report_id: bytes,
    total: int,
    ts: int,
) -> Body:
    """One PositionReport (AP) for one position (728=0 valid request).

    SettlPrice (730) is the mark price, SettlPriceType (731) 2 (theoretical); PriorSettlPrice
    (734) the average entry price. NoPositions carries one entry, PosType TOT, with LongQty or
    ShortQty in lots of the instrument's size unit."""
    size = pos.size
    mark = spec.price_text(pos.mark_price)
    entry = _fraction_price(spec, pos.entry_price) if pos.entry_price is not None else b"0"
    body: Body = [
        (721, report_id),
        (710, q.pos_req_id),
        (724, b"0"),
        (727, b"%d" % total),
        (728, b"0"),
        (715, _business_date(q, ts)),
        (1, pos.account.encode("latin-1")),
        (581, q.account_type),
        (55, spec.symbol_bytes),
        (15, CURRENCY),
        (730, mark),
        (731, b"2"),
        (734, entry),
        (702, b"1"),
        (703, b"TOT"),
        (704, spec.qty_text(size) if size > 0 else b"0"),
        (705, spec.qty_text(-size) if size < 0 else b"0"),
        (5003, mark),
    ]
    if pos.liquidation_price is not None and pos.liquidation_price > 0:
        body.append((5004, _fraction_price(spec, pos.liquidation_price)))
    body += [
        (5006, entry),
        (5007, money_text(pos.unrealized_pnl)),
        (5008, money_text(pos.initial_margin)),
        (5009, money_text(pos.maintenance_margin)),
    ]
    return body


def positions_none_report(q: PositionsQuery, *, report_id: bytes, ts: int) -> Body:
    """The one PositionReport when no position matches: 728=2, 727=0, prices 0."""
    body: Body = [
        (721, report_id),
        (710, q.pos_req_id),
        (724, b"0"),
        (727, b"0"),
        (728, b"2"),
        (715, _business_date(q, ts)),
        (1, q.account.encode("latin-1")),
        (581, q.account_type),
    ]
    if q.symbol:
        body.append((55, q.symbol.encode("latin-1")))
    body += [(730, b"0"), (731, b"2"), (734, b"0")]
    return body


def collateral_report(
    q: CollateralQuery,
    view: AccountView,
    *,
    report_id: bytes,
    total: int,
    last: bool,
) -> Body:
    """One CollateralReport (BA) for one account (910=3 assigned).

    MarginExcess (899) = equity − maintenance margin; TotalNetValue (900) = equity; the venue
    fields carry balance (5010), equity (5011), unrealized PnL (5007), initial (5008) and
    maintenance (5009) margin, and available (5012), all in USD."""
    body: Body = [(908, report_id)]
    if q.coll_inquiry_id:
        body.append((909, q.coll_inquiry_id))
    body += [
        (910, b"3"),
        (911, b"%d" % total),
        (912, b"Y" if last else b"N"),
        (1, view.account.encode("latin-1")),
        (15, CURRENCY),
        (899, money_text(view.equity - view.maintenance_margin)),
        (900, money_text(view.equity)),
        (5007, money_text(view.unrealized_pnl)),
        (5008, money_text(view.initial_margin)),
        (5009, money_text(view.maintenance_margin)),
        (5010, money_text(view.balance)),
        (5011, money_text(view.equity)),
        (5012, money_text(view.available)),
    ]
    return body


def funding_report(
    seq: int, ev: FundingApplied, payment: FundingPayment, spec: InstrumentSpec | None
) -> Body:
    """The unsolicited CollateralReport (BA) of one funding payment (910=3, no 909).

    The position (Quantity 53, Side 54: `1` long, `2` short) paid or received FundingPayment
    (5013, USD; negative: paid) at FundingRate (5014, a fraction) and MarkPrice (5003), at the
    funding time (TrdRegTimestamp 769, type 1); AccountBalance (5010) is the balance after."""
    size = payment.size
    symbol = ev.symbol.encode("latin-1")
    qty = spec.qty_text(abs(size)) if spec is not None else b"%d" % abs(size)
    mark = spec.price_text(ev.mark) if spec is not None else b"%d" % ev.mark
    return [
        (908, b"F%d-%s" % (seq, payment.account.encode("latin-1"))),
        (910, b"3"),
        (1, payment.account.encode("latin-1")),
        (55, symbol),
        (53, qty),
        (15, CURRENCY),
        (768, b"1"),
        (769, format_utc_timestamp(ev.ts)),
        (770, b"1"),
        (54, b"1" if size > 0 else b"2"),
        (58, b"funding"),
        (5010, money_text(payment.balance)),
        (5003, mark),
        (5013, money_text(payment.amount)),
        (5014, _RATE.units_to_text(ev.rate_ppb)),
    ]
