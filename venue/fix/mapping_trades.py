"""Trades for brokers: fills → trade records, TradeCaptureReportRequest (35=AD) → a query, and
trade records → TradeCaptureReport (35=AE) bodies.

Invariants:
- A `TradeRecord` is built from the `OrderFilled` events of one command alone: the two events
  of a trade (aggressor first, then resting, same `trade_id`) become one record with two
  sides, in that order. An auto-deleveraging trade (`AdlExecuted`) is a record too: the
  liquidated account's side first, then the counterparty's, without orders (OrderID `NONE`).
  Nothing else is read (but an account's firm, which never changes), so records rebuilt from
  the journal after a restart equal the ones built live.
- Only standard FIX 4.4 fields are read and written (the dictionary's AD and AE). A trade-id
  range is written in TrdMatchID (880), a STRING: `N` one trade, `N-M` trades N to M inclusive,
  `N-` trades from N on. A time range is the TrdCapDtGrp (580), each entry a TradeDate (75)
  with an optional TransactTime (60): two entries are start and end, both inclusive; one entry
  is that whole UTC day, or, with a TransactTime, everything from that time on. A TransactTime
  is inclusive to its own precision (`…:05.123` covers the whole millisecond).
- A TradeCaptureReport names only the sides the caller passes (the broker's entitled ones);
  ExecIDs, OrderIDs and TradeReportIDs come from journaled numbers, so a report asked twice is
  the same report.
- Prices and quantities are exact decimal strings from the instrument's scales; integers only.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import msgspec

from venue.core.events import AdlExecuted, Event, OrderFilled
from venue.core.types import Side
from venue.fix.codec import FixMessage, format_utc_timestamp, parse_utc_timestamp
from venue.fix.mapping_dropcopy import parties
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_out import Body
from venue.fix.mapping_quotes_out import shown_cl_ord_id

__all__ = [
    "TradeQuery",
    "TradeRecord",
    "TradeRefusal",
    "TradeSide",
    "decode_trade_request",
    "trade_capture_report",
    "trade_records",
]

_NS_PER_DAY = 86_400 * 10**9
_MAX = 2**63 - 1
_SIDE = {Side.BUY: b"1", Side.SELL: b"2"}


class TradeSide(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One side of a trade: the order that filled and who owns it."""

    side: Side
    order_id: int
    exec_id: int
    cl_ord_id: str
    firm: str
    account: str
    session: str
    aggressor: bool


class TradeRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One trade: `sides` holds the aggressor's side first, then the resting order's."""

    trade_id: int
    seq: int
    ts: int
    symbol: str
    last_px: int
    last_qty: int
    sides: tuple[TradeSide, ...]


class TradeQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A decoded TradeCaptureReportRequest: every bound inclusive; 0 / max mean open."""

    trade_request_id: bytes
    from_trade_id: int = 0
    to_trade_id: int = _MAX
    from_ts: int = 0
    to_ts: int = _MAX
    symbol: str = ""

    def matches(self, rec: TradeRecord) -> bool:
        return (
            self.from_trade_id <= rec.trade_id <= self.to_trade_id
            and self.from_ts <= rec.ts <= self.to_ts
            and (not self.symbol or rec.symbol == self.symbol)
        )


class TradeRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """A request the venue does not serve: answered with BusinessMessageReject (380 = reason)."""

    trade_request_id: bytes
    reason: int
    text: str


_OTHER_SIDE = {Side.BUY: Side.SELL, Side.SELL: Side.BUY}


def trade_records(
    seq: int, events: Iterable[Event], account_firm: Mapping[str, str] | None = None
) -> list[TradeRecord]:
    """The trades among the events of the command journaled at `seq`, in trade order.
    Auto-deleveraging trades (no orders: OrderID 0) need `account_firm` for their firms."""
    out: list[TradeRecord] = []
    current: list[OrderFilled] = []
    for ev in events:
        if type(ev) is AdlExecuted:
            assert isinstance(ev, AdlExecuted)
            if current:
                out.append(_record(seq, current))
                current = []
            out.append(_adl_record(seq, ev, account_firm or {}))
            continue
        if type(ev) is not OrderFilled:
            continue
        assert isinstance(ev, OrderFilled)
        if current and current[0].trade_id != ev.trade_id:
            out.append(_record(seq, current))
            current = []
        current.append(ev)
    if current:
        out.append(_record(seq, current))
    return out


def _record(seq: int, fills: list[OrderFilled]) -> TradeRecord:
    first = fills[0]
    sides = tuple(
        TradeSide(
            f.side, f.order_id, f.exec_id, f.cl_ord_id, f.firm, f.account, f.session, f.aggressor
        )
        for f in fills
    )
    return TradeRecord(
        first.trade_id, seq, first.ts, first.symbol, first.last_px, first.last_qty, sides
    )


def _adl_record(seq: int, ev: AdlExecuted, account_firm: Mapping[str, str]) -> TradeRecord:
    sides = tuple(
        TradeSide(side, 0, 0, "", account_firm.get(account, ""), account, "", False)
        for side, account in ((ev.side, ev.account), (_OTHER_SIDE[ev.side], ev.counterparty))
    )
    return TradeRecord(ev.trade_id, seq, ev.ts, ev.symbol, ev.price, ev.qty, sides)


# -- TradeCaptureReportRequest (35=AD) ---------------------------------------------------------


def _trade_id_range(text: bytes) -> tuple[int, int] | None:
    low, dash, high = text.partition(b"-")
    if not low.isdigit() or (high and not high.isdigit()):
        return None
    lo = int(low)
    hi = int(high) if high else (_MAX if dash else lo)
    return (lo, hi) if lo <= hi else None


def _date_bounds(tag: int, value: bytes) -> tuple[int, int] | None:
    """(first ns, last ns) covered by a TransactTime (to its precision) or a TradeDate."""
    if tag == 60:
        ts = parse_utc_timestamp(value)
        if ts is None:
            return None
        digits = len(value) - 18 if len(value) > 17 else 0
        return ts, ts + 10 ** (9 - digits) - 1
    day = parse_utc_timestamp(value + b"-00:00:00") if len(value) == 8 else None
    if day is None:
        return None
    return day, day + _NS_PER_DAY - 1


def decode_trade_request(msg: FixMessage) -> TradeQuery | TradeRefusal:
    """Snapshot requests only (263 absent or 0), TradeRequestType 0 (all trades) or 1 (matched
    trades matching the criteria); criteria: TrdMatchID range, dates, Symbol."""
    req_id = msg.get(568) or b""

    def refuse(text: str, reason: int = 0) -> TradeRefusal:
        return TradeRefusal(trade_request_id=req_id, reason=reason, text=text)

    if msg.get(569) not in (b"0", b"1"):
        return refuse("TradeRequestType (569) must be 0 (all trades) or 1 (matching criteria)")
    if msg.get(263) not in (None, b"0"):
        return refuse("only snapshot requests (263=0); follow live trades on the drop copy")
    lo, hi = 0, _MAX
    match_id = msg.get(880)
    if match_id is not None:
        ids = _trade_id_range(match_id)
        if ids is None:
            return refuse("TrdMatchID (880) must be N, N-M or N- (trade ids, inclusive)")
        lo, hi = ids
    entries: list[list[bytes]] = []  # [TradeDate] or [TradeDate, TransactTime]
    for tag, value in msg.fields:
        if tag == 75:
            entries.append([value])
        elif tag == 60:
            if not entries or len(entries[-1]) != 1:
                return refuse("TransactTime (60) must follow its TradeDate (75) in TrdCapDtGrp")
            entries[-1].append(value)
    if len(entries) > 2:
        return refuse("TrdCapDtGrp (580) takes at most two dates: start and end")
    dates: list[tuple[int, int]] = []
    for entry in entries:
        bounds = _date_bounds(60, entry[1]) if len(entry) == 2 else _date_bounds(75, entry[0])
        if bounds is None:
            return refuse("bad TradeDate (75) or TransactTime (60) in TrdCapDtGrp")
        dates.append(bounds)
    from_ts, to_ts = 0, _MAX
    if len(dates) == 1:
        from_ts = dates[0][0]
        to_ts = dates[0][1] if len(entries[0]) == 1 else _MAX
    elif len(dates) == 2:
        from_ts, to_ts = dates[0][0], dates[1][1]
    if from_ts > to_ts:
        return refuse("the start date is after the end date")
    symbol = (msg.get(55) or b"").decode("latin-1")
    return TradeQuery(
        trade_request_id=req_id,
        from_trade_id=lo,
        to_trade_id=hi,
        from_ts=from_ts,
        to_ts=to_ts,
        symbol=symbol,
    )


# -- TradeCaptureReport (35=AE) ----------------------------------------------------------------


def _b(s: str) -> bytes:
    return s.encode("latin-1", "replace")


def trade_capture_report(
    rec: TradeRecord,
    sides: Iterable[TradeSide],
    spec: InstrumentSpec | None,
    *,
    trade_request_id: bytes,
    total: int,
    last: bool,
    comp_ids: Mapping[str, str],
) -> Body:
    """One AE for `rec`, naming `sides` (a subset of `rec.sides`, in its order). TradeReportID
    (571) is the trade id; PreviouslyReported (570) is Y: the fills were reported live."""
    px = spec.price_text(rec.last_px) if spec is not None else b"%d" % rec.last_px
    qty = spec.qty_text(rec.last_qty) if spec is not None else b"%d" % rec.last_qty
    ts = format_utc_timestamp(rec.ts)
    named = list(sides)
    body: Body = [
        (571, b"%d" % rec.trade_id),
        (487, b"0"),
        (856, b"0"),
        (568, trade_request_id),
        (828, b"0"),
        (150, b"F"),
        (748, b"%d" % total),
        (912, b"Y" if last else b"N"),
        (880, b"%d" % rec.trade_id),
        (570, b"Y"),
        (55, _b(rec.symbol)),
        (32, qty),
        (31, px),
        (75, ts[:8]),
        (60, ts),
        (552, b"%d" % len(named)),
    ]
    for s in named:
        comp_id = comp_ids.get(s.session, s.session)
        body += [(54, _SIDE[s.side]), (37, b"%d" % s.order_id if s.order_id else b"NONE")]
        if s.cl_ord_id:
            body.append((11, _b(shown_cl_ord_id(s.cl_ord_id))))  # a quote: its QuoteEntryID
        body += parties(s.firm, s.account, comp_id)
        body.append((1, _b(s.account)))
    return body
