"""Market data over FIX: MarketDataRequest (V) decoded, and the bodies of
MarketDataSnapshotFullRefresh (W), MarketDataIncrementalRefresh (X) and
MarketDataRequestReject (Y).

The venue publishes aggregated price levels (AggregatedBook 266=Y): one entry per price with the
total quantity (MDEntrySize 271) and the number of orders (NumberOfOrders 346); entries are keyed
by (MDEntryType, MDEntryPx). Trades are entries of type 2 with TrdMatchID (880). An instrument's
statistics are one entry per type, each replacing the previous value of its type: index `3`
(270), open interest `C` (271), and the venue's own mark price `x` (270), funding rate `y` (270
a decimal fraction, 272/273 when it was applied) and predicted funding rate `z` (270, 272/273
the next funding time); see fix_specs/DICTIONARY.md.

Invariants:
- Decoding needs the message and the set of listed symbols only: no engine, no clock. Every
  MarketDataRequest that passed the dictionary becomes exactly one `MarketDataQuery` or one
  `MarketDataRefusal` (35=Y with MDReqRejReason 281); decoding never raises.
- Checks run in a fixed order (MDReqID, 263, then for 263=0/1: 264, 265, 266, 286, 547, 386,
  269, 55), so a request with several problems always gets the same reason.
- Prices and sizes are exact decimal strings (ticks × tick size, lots × lot size); a level's
  delete carries its price (the key) and no size.
- Bodies list group fields in the dictionary's order (`fix_specs/FIX44.xml`).
- A statistics entry is sent only when it has a value: no index entry before the first index,
  no funding entries for a dated future, no funding rate entry before the first funding.
"""

from __future__ import annotations

from collections.abc import Container, Sequence
from typing import Protocol

import msgspec

from venue.fix.codec import FixMessage, format_utc_timestamp
from venue.fix.mapping_num import InstrumentSpec, Scale
from venue.fix.mapping_out import Body

__all__ = [
    "BID",
    "FUNDING_RATE",
    "INDEX_VALUE",
    "MARK_PRICE",
    "MAX_MD_REQ_ID",
    "OFFER",
    "OPEN_INTEREST",
    "PREDICTED_FUNDING_RATE",
    "STATISTICS_TYPES",
    "TRADE",
    "MarketDataQuery",
    "MarketDataRefusal",
    "decode_market_data_request",
    "incremental_refresh",
    "level_entry",
    "snapshot_full_refresh",
    "statistics_entries",
    "trade_entry",
]

# MDEntryType (269)
BID = b"0"
OFFER = b"1"
TRADE = b"2"
INDEX_VALUE = b"3"
OPEN_INTEREST = b"C"
MARK_PRICE = b"x"  # the venue's own values (fix_specs/FIX44.xml, DICTIONARY.md)
FUNDING_RATE = b"y"
PREDICTED_FUNDING_RATE = b"z"
# Options (RoE section 20): the risk monitor's Black-76 figures, each in 270.
MARK_IV = b"i"  # decimal fraction (0.65)
BID_IV = b"b"
ASK_IV = b"a"
DELTA = b"d"  # per unit of the underlying
GAMMA = b"g"  # delta per 1 USD of the underlying
VEGA = b"v"  # USD per volatility point, per unit of the underlying
THETA = b"t"  # USD per calendar day, per unit of the underlying
OPTION_TYPES = (MARK_IV, BID_IV, ASK_IV, DELTA, GAMMA, VEGA, THETA)
STATISTICS_TYPES = (
    INDEX_VALUE,
    MARK_PRICE,
    FUNDING_RATE,
    PREDICTED_FUNDING_RATE,
    OPEN_INTEREST,
    *OPTION_TYPES,
)
SUPPORTED_ENTRY_TYPES = (BID, OFFER, TRADE, *STATISTICS_TYPES)
_RATE = Scale("0.000000001")  # rates are parts per 10^9
_USD = Scale("0.000001")  # money units
# OptionMarksMsg field index and scale of each option entry type (after locate, ts, mark)
_OPTION_FIELD = {
    MARK_IV: (3, _RATE),
    BID_IV: (4, _RATE),
    ASK_IV: (5, _RATE),
    DELTA: (6, _RATE),
    GAMMA: (7, _RATE),
    VEGA: (8, _USD),
    THETA: (9, _USD),
}

# SubscriptionRequestType (263)
SNAPSHOT = 0
SUBSCRIBE = 1
UNSUBSCRIBE = 2

# MDUpdateAction (279)
NEW = b"0"
CHANGE = b"1"
DELETE = b"2"

# MDReqRejReason (281)
UNKNOWN_SYMBOL = b"0"
DUPLICATE_MD_REQ_ID = b"1"
INSUFFICIENT_BANDWIDTH = b"2"
INSUFFICIENT_PERMISSIONS = b"3"
UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE = b"4"
UNSUPPORTED_MARKET_DEPTH = b"5"
UNSUPPORTED_MD_UPDATE_TYPE = b"6"
UNSUPPORTED_AGGREGATED_BOOK = b"7"
UNSUPPORTED_MD_ENTRY_TYPE = b"8"
UNSUPPORTED_TRADING_SESSION_ID = b"9"
UNSUPPORTED_OPEN_CLOSE_SETTLE_FLAG = b"B"
UNSUPPORTED_MD_IMPLICIT_DELETE = b"C"

MAX_MD_REQ_ID = 64  # bytes: a longer MDReqID is refused (subscriptions are remembered by it)
_SUBSCRIPTION_TYPES = {b"0": SNAPSHOT, b"1": SUBSCRIBE, b"2": UNSUBSCRIBE}


class MarketDataQuery(msgspec.Struct, frozen=True, kw_only=True):
    """A MarketDataRequest the venue can serve. `market_depth` 0 is the full book."""

    md_req_id: bytes
    subscription_request_type: int  # SNAPSHOT, SUBSCRIBE or UNSUBSCRIBE
    market_depth: int = 0
    entry_types: tuple[bytes, ...] = ()
    symbols: tuple[str, ...] = ()

    @property
    def bids(self) -> bool:
        return BID in self.entry_types

    @property
    def offers(self) -> bool:
        return OFFER in self.entry_types

    @property
    def trades(self) -> bool:
        return TRADE in self.entry_types

    @property
    def statistics(self) -> tuple[bytes, ...]:
        """The statistics entry types asked for, in `STATISTICS_TYPES` order."""
        return tuple(t for t in STATISTICS_TYPES if t in self.entry_types)


class MarketDataRefusal(msgspec.Struct, frozen=True, kw_only=True):
    """A MarketDataRequestReject (Y): `reason` is MDReqRejReason (281), or None when FIX 4.4
    has no code for it (an unknown MDReqID to unsubscribe, an MDReqID that is too long)."""

    md_req_id: bytes
    reason: bytes | None
    text: str

    def body(self) -> Body:
        return reject_body(self.md_req_id, self.reason, self.text)


def reject_body(md_req_id: bytes, reason: bytes | None, text: str) -> Body:
    body: Body = [(262, md_req_id)]
    if reason is not None:
        body.append((281, reason))
    body.append((58, text.encode("latin-1", "replace")))
    return body


def _unique(values: list[bytes]) -> list[bytes]:
    return list(dict.fromkeys(values))


def decode_market_data_request(
    msg: FixMessage, symbols: Container[str]
) -> MarketDataQuery | MarketDataRefusal:
    """A dictionary-valid MarketDataRequest against the listed `symbols` (see the module
    docstring for the order of the checks)."""
    md_req_id = msg.get(262) or b""

    def refuse(reason: bytes | None, text: str) -> MarketDataRefusal:
        return MarketDataRefusal(md_req_id=md_req_id, reason=reason, text=text)

    if len(md_req_id) > MAX_MD_REQ_ID:
        return refuse(None, f"MDReqID (262) longer than {MAX_MD_REQ_ID}")
    kind = _SUBSCRIPTION_TYPES.get(msg.get(263) or b"")
    if kind is None:
        return refuse(UNSUPPORTED_SUBSCRIPTION_REQUEST_TYPE, "SubscriptionRequestType (263)")
    if kind == UNSUBSCRIBE:
        return MarketDataQuery(md_req_id=md_req_id, subscription_request_type=kind)
    depth = msg.get_int(264)
    if depth is None or depth < 0:
        return refuse(UNSUPPORTED_MARKET_DEPTH, "MarketDepth (264): 0 (full book) or N levels")
    update_type = msg.get(265)
    if kind == SUBSCRIBE and update_type is not None and update_type != b"1":
        return refuse(UNSUPPORTED_MD_UPDATE_TYPE, "MDUpdateType (265): only 1 (incremental)")
    if msg.get(266) == b"N":
        return refuse(UNSUPPORTED_AGGREGATED_BOOK, "AggregatedBook (266): only Y (price levels)")
    if msg.get(286) is not None:
        return refuse(UNSUPPORTED_OPEN_CLOSE_SETTLE_FLAG, "OpenCloseSettlFlag (286)")
    if msg.get(547) == b"Y":
        return refuse(UNSUPPORTED_MD_IMPLICIT_DELETE, "MDImplicitDelete (547): only N")
    if (msg.get_int(386) or 0) > 0:
        return refuse(UNSUPPORTED_TRADING_SESSION_ID, "TradingSessionID (336): one session")
    entry_types = _unique(msg.get_all(269))
    for t in entry_types:
        if t not in SUPPORTED_ENTRY_TYPES:
            return refuse(
                UNSUPPORTED_MD_ENTRY_TYPE,
                f"MDEntryType (269) {t.decode('latin-1')}: only 0 bid, 1 offer, 2 trade, "
                "3 index, x mark, y funding rate, z predicted funding rate, C open interest, "
                "i/b/a mark/bid/ask IV, d delta, g gamma, v vega, t theta",
            )
    names = [s.decode("latin-1") for s in _unique(msg.get_all(55))]
    for name in names:
        if name not in symbols:
            return refuse(UNKNOWN_SYMBOL, f"unknown symbol {name[:64]}")
    if not entry_types:
        return refuse(UNSUPPORTED_MD_ENTRY_TYPE, "no MDEntryType (269)")
    if not names:
        return refuse(UNKNOWN_SYMBOL, "no Symbol (55)")
    return MarketDataQuery(
        md_req_id=md_req_id,
        subscription_request_type=kind,
        market_depth=depth,
        entry_types=tuple(entry_types),
        symbols=tuple(names),
    )


# ---------------------------------------------------------------------------------------------
# Outbound bodies


def _date_time(ts: int) -> Body:
    """MDEntryDate (272) and MDEntryTime (273) of `ts`, UTC."""
    stamp = format_utc_timestamp(ts)
    return [(272, stamp[:8]), (273, stamp[9:])]


def level_entry(  # noqa: PLR0917 -- built positionally per level
    action: bytes | None,
    entry_type: bytes,
    spec: InstrumentSpec,
    price: int,
    qty: int,
    orders: int,
) -> Body:
    """One price level: for W (`action` None, no Symbol) or X (279 action, 55 Symbol). A
    delete (279=2) carries the price only."""
    if action is None:
        return [
            (269, entry_type),
            (270, spec.price_text(price)),
            (271, spec.qty_text(qty)),
            (346, b"%d" % orders),
        ]
    if action == DELETE:
        return [
            (279, action),
            (269, entry_type),
            (55, spec.symbol_bytes),
            (270, spec.price_text(price)),
        ]
    return [
        (279, action),
        (269, entry_type),
        (55, spec.symbol_bytes),
        (270, spec.price_text(price)),
        (271, spec.qty_text(qty)),
        (346, b"%d" % orders),
    ]


def trade_entry(  # noqa: PLR0917
    incremental: bool, spec: InstrumentSpec, ts: int, trade_id: int, price: int, qty: int
) -> Body:
    """One trade: MDEntryType 2, price, size, date and time (UTC) and TrdMatchID (880)."""
    head: Body = (
        [(279, NEW), (269, TRADE), (55, spec.symbol_bytes)] if incremental else [(269, TRADE)]
    )
    return [
        *head,
        (270, spec.price_text(price)),
        (271, spec.qty_text(qty)),
        *_date_time(ts),
        (880, b"%d" % trade_id),
    ]


class StatisticsLike(Protocol):
    """An instrument's figures (`venue.marketdata.messages.StatisticsMsg`)."""

    @property
    def mark_price(self) -> int: ...
    @property
    def index_price(self) -> int: ...
    @property
    def funding_rate_ppb(self) -> int: ...
    @property
    def funding_ts(self) -> int: ...
    @property
    def predicted_rate_ppb(self) -> int: ...
    @property
    def next_funding_ts(self) -> int: ...
    @property
    def open_interest(self) -> int: ...


def statistics_entries(
    incremental: bool,
    spec: InstrumentSpec,
    stats: StatisticsLike | None,
    types: Sequence[bytes],
    option_marks: Sequence[int] | None = None,
) -> list[Body]:
    """The entries of `types` (in that order) that have a value: for W (`incremental` False,
    no Symbol) or X (279=0 new: each replaces the previous value of its type, and Symbol).
    `option_marks`: an option's latest `OptionMarksMsg` (option entry types; bid/ask IV only
    when there is one)."""
    out: list[Body] = []
    for t in types:
        option = _OPTION_FIELD.get(t)
        if option is not None:
            if option_marks is None:
                continue
            value = option_marks[option[0]]
            if t in (BID_IV, ASK_IV) and not value:
                continue
            fields: Body = [(270, option[1].units_to_text(value))]
        elif stats is None:
            continue
        elif t == INDEX_VALUE:
            if not stats.index_price:
                continue
            fields = [(270, spec.price_text(stats.index_price))]
        elif t == MARK_PRICE:
            fields = [(270, spec.price_text(stats.mark_price))]
        elif t == FUNDING_RATE:
            if not stats.funding_ts:
                continue
            fields = [(270, _RATE.units_to_text(stats.funding_rate_ppb))]
            fields += _date_time(stats.funding_ts)
        elif t == PREDICTED_FUNDING_RATE:
            if not stats.next_funding_ts:
                continue
            fields = [(270, _RATE.units_to_text(stats.predicted_rate_ppb))]
            fields += _date_time(stats.next_funding_ts)
        elif t == OPEN_INTEREST:
            fields = [(271, spec.qty_text(stats.open_interest))]
        else:
            continue
        head: Body = [(279, NEW), (269, t), (55, spec.symbol_bytes)] if incremental else [(269, t)]
        out.append(head + fields)
    return out


def snapshot_full_refresh(md_req_id: bytes, spec: InstrumentSpec, entries: list[Body]) -> Body:
    """W for one instrument: MDReqID, Symbol, NoMDEntries and the entries (bids best first,
    then offers best first, then the last trade)."""
    body: Body = [(262, md_req_id), (55, spec.symbol_bytes), (268, b"%d" % len(entries))]
    for e in entries:
        body += e
    return body


def incremental_refresh(md_req_id: bytes, entries: list[Body]) -> Body:
    """X: MDReqID, NoMDEntries and the entries, each naming its Symbol."""
    body: Body = [(262, md_req_id), (268, b"%d" % len(entries))]
    for e in entries:
        body += e
    return body
