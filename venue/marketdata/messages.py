"""Feed message layouts: fixed binary, big-endian, byte by byte as in fix_specs/MARKET_DATA.md.

Invariants:
- Every message starts with the same 11-byte header: type (1 ASCII byte), locate (u16, the
  instrument index from its definition message, 0 when the message names no instrument) and
  ts (u64, the sequenced command's time in nanoseconds since the epoch, UTC).
- Each type has exactly one fixed length (`LENGTHS`); a decoder given a body of another length,
  or an unknown type, raises `MalformedMessage` and never anything else.
- Prices are signed 64-bit integer ticks and quantities signed 64-bit integer lots; the tick and
  lot sizes are the decimal strings of the instrument definition. No floats.
- Index price `I`, mark price `M`, funding `F` and statistics `S` carry integer ticks, lots,
  rates in parts per 10^9 and times in ns (no floats). An option's definition `R` is followed
  by its terms `O` (underlying, CFI code, put/call, strike in ticks); its model figures
  `K` (mark, implied volatilities, Greeks) use the fixed-point units of `SetOptionMarks`.
  The reserved type (off-book trade) is documented and never sent.
"""

from __future__ import annotations

import struct
from typing import NamedTuple

__all__ = [
    "ADD_ORDER",
    "DEFINITION",
    "DELETE_ORDER",
    "EXECUTED",
    "FUNDING",
    "INDEX_PRICE",
    "LENGTHS",
    "MARK_PRICE",
    "MODIFY_ORDER",
    "OPTION_MARKS",
    "OPTION_TERMS",
    "RESERVED",
    "SIDE_BUY",
    "SIDE_SELL",
    "SNAPSHOT_COMPLETE",
    "STATISTICS",
    "STATUS",
    "AddOrderMsg",
    "DefinitionMsg",
    "DeleteOrderMsg",
    "ExecutedMsg",
    "FeedMessage",
    "FundingMsg",
    "IndexPriceMsg",
    "MalformedMessage",
    "MarkPriceMsg",
    "ModifyOrderMsg",
    "OptionMarksMsg",
    "OptionTermsMsg",
    "PriceMsg",
    "SnapshotCompleteMsg",
    "StatisticsMsg",
    "StatusMsg",
    "decode",
    "encode_add",
    "encode_definition",
    "encode_definition_msg",
    "encode_delete",
    "encode_executed",
    "encode_funding",
    "encode_index_price",
    "encode_mark_price",
    "encode_modify",
    "encode_option_marks",
    "encode_option_terms",
    "encode_price_msg",
    "encode_snapshot_complete",
    "encode_statistics",
    "encode_status",
    "pack_add",
    "pack_delete",
    "pack_executed",
    "pack_modify",
]

DEFINITION = ord("R")
STATUS = ord("H")
ADD_ORDER = ord("A")
MODIFY_ORDER = ord("U")
DELETE_ORDER = ord("D")
EXECUTED = ord("E")
SNAPSHOT_COMPLETE = ord("G")  # snapshot stream only
INDEX_PRICE = ord("I")
MARK_PRICE = ord("M")
FUNDING = ord("F")
STATISTICS = ord("S")
OPTION_TERMS = ord("O")
OPTION_MARKS = ord("K")
RESERVED = {
    ord("P"): "off-book trade: liquidation / ADL (derivatives issue)",
}

SIDE_BUY = ord("B")
SIDE_SELL = ord("S")
MODIFY_PRIORITY_KEPT = 1

SYMBOL_LEN = 64
DECIMAL_LEN = 16

_DEF = struct.Struct(">BHQ64sc16s16s16sqIqQc")
_STATUS = struct.Struct(">BHQc")
_ADD = struct.Struct(">BHQQBqq")
_MODIFY = struct.Struct(">BHQQqqB")
_DELETE = struct.Struct(">BHQQ")
_EXEC = struct.Struct(">BHQQQqqB")
_SNAP = struct.Struct(">BHQQH")
_PRICE = struct.Struct(">BHQq")  # I and M
_FUNDING = struct.Struct(">BHQqq")
_STATISTICS = struct.Struct(">BHQqqqQqQq")
_OPTION_TERMS = struct.Struct(">BHQ16s6scq")
_OPTION_MARKS = struct.Struct(">BHQqqqqqqqq")

# The order messages' packers, for the translator's hot path: `pack_add(ADD_ORDER, locate, ts,
# ...)` is `encode_add(locate, ts, ...)` without a Python call around the struct (same bytes).
pack_add = _ADD.pack
pack_modify = _MODIFY.pack
pack_delete = _DELETE.pack
pack_executed = _EXEC.pack

LENGTHS: dict[int, int] = {
    DEFINITION: _DEF.size,
    STATUS: _STATUS.size,
    ADD_ORDER: _ADD.size,
    MODIFY_ORDER: _MODIFY.size,
    DELETE_ORDER: _DELETE.size,
    EXECUTED: _EXEC.size,
    SNAPSHOT_COMPLETE: _SNAP.size,
    INDEX_PRICE: _PRICE.size,
    MARK_PRICE: _PRICE.size,
    FUNDING: _FUNDING.size,
    STATISTICS: _STATISTICS.size,
    OPTION_TERMS: _OPTION_TERMS.size,
    OPTION_MARKS: _OPTION_MARKS.size,
}

KIND_CODES = {"perpetual": b"P", "future": b"F", "option": b"O"}
PUT_CALL_CODES = {"call": b"C", "put": b"P"}
_PUT_CALL_NAMES = {v[0]: k for k, v in PUT_CALL_CODES.items()}
STATE_CODES = {"open": b"O", "halted": b"H", "expired": b"X"}
_KIND_NAMES = {v[0]: k for k, v in KIND_CODES.items()}
_STATE_NAMES = {v[0]: k for k, v in STATE_CODES.items()}


class MalformedMessage(ValueError):
    """A message body that is not one of the documented layouts."""


class DefinitionMsg(NamedTuple):
    locate: int
    ts: int
    symbol: str
    kind: str  # "perpetual" | "future" | "option"
    tick_size: str
    lot_size: str
    multiplier: str
    ref_price: int
    band_ppb: int
    max_order_qty: int
    expiry_ts: int
    state: str  # "open" | "halted" | "expired"


class StatusMsg(NamedTuple):
    locate: int
    ts: int
    state: str


class AddOrderMsg(NamedTuple):
    locate: int
    ts: int
    order_id: int
    side: int  # SIDE_BUY | SIDE_SELL
    price: int
    qty: int


class ModifyOrderMsg(NamedTuple):
    locate: int
    ts: int
    order_id: int
    price: int
    qty: int
    priority_kept: bool


class DeleteOrderMsg(NamedTuple):
    locate: int
    ts: int
    order_id: int


class ExecutedMsg(NamedTuple):
    locate: int
    ts: int
    order_id: int
    trade_id: int
    price: int
    qty: int
    aggressor_side: int  # SIDE_BUY | SIDE_SELL


class SnapshotCompleteMsg(NamedTuple):
    locate: int
    ts: int
    next_seq: int
    instruments: int


class IndexPriceMsg(NamedTuple):
    locate: int
    ts: int  # the index's own time (the SetIndexPrice command's ts)
    price: int  # ticks


class MarkPriceMsg(NamedTuple):
    locate: int
    ts: int
    price: int  # ticks


class FundingMsg(NamedTuple):
    locate: int
    ts: int
    rate_ppb: int  # parts per 10^9 of notional; > 0: longs pay shorts
    mark: int  # the mark price (ticks) the funding was computed at


class StatisticsMsg(NamedTuple):
    """An instrument's figures (fix_specs/MARKET_DATA.md, `S`)."""

    locate: int
    ts: int
    mark_price: int  # ticks
    index_price: int  # ticks; 0 before the first index
    funding_rate_ppb: int  # the last funding applied; > 0: longs paid shorts
    funding_ts: int  # when it was applied; 0: never
    predicted_rate_ppb: int  # the next funding's rate if it were due now
    next_funding_ts: int  # when the next funding is due; 0 for a dated future
    open_interest: int  # lots held long (= held short) over all accounts


class OptionTermsMsg(NamedTuple):
    """An option series' terms (sent after its definition; repeated in snapshots)."""

    locate: int
    ts: int
    underlying: str  # the index's name (FIX UnderlyingSymbol 311)
    cfi: str  # ISO 10962 (FIX CFICode 461): OCEICS call, OPEICS put
    put_call: str  # "call" | "put"
    strike: int  # ticks


class OptionMarksMsg(NamedTuple):
    """An option's mark and model figures (units: `venue.core.commands.SetOptionMarks`)."""

    locate: int
    ts: int
    mark: int  # ticks
    iv_ppb: int
    bid_iv_ppb: int  # 0: no bid
    ask_iv_ppb: int  # 0: no ask
    delta: int  # ppb per contract
    gamma: int  # ppb of delta per 1 USD of the underlying
    vega: int  # 10^-6 USD per volatility point, per contract
    theta: int  # 10^-6 USD per day, per contract


PriceMsg = (
    IndexPriceMsg | MarkPriceMsg | FundingMsg | StatisticsMsg | OptionTermsMsg | OptionMarksMsg
)
"""The messages a book keeps the latest of per instrument (snapshots repeat them)."""

FeedMessage = (
    DefinitionMsg
    | StatusMsg
    | AddOrderMsg
    | ModifyOrderMsg
    | DeleteOrderMsg
    | ExecutedMsg
    | SnapshotCompleteMsg
    | IndexPriceMsg
    | MarkPriceMsg
    | FundingMsg
    | StatisticsMsg
    | OptionTermsMsg
    | OptionMarksMsg
)


def _text(value: str, size: int) -> bytes:
    raw = value.encode("utf-8", "replace")[:size]
    return raw.ljust(size, b" ")


def _untext(raw: bytes) -> str:
    return raw.rstrip(b" ").decode("utf-8", "replace")


# ---------------------------------------------------------------------- encoders


def encode_definition(
    locate: int,
    ts: int,
    *,
    symbol: str,
    kind: str,
    tick_size: str,
    lot_size: str,
    multiplier: str,
    ref_price: int,
    band_ppb: int,
    max_order_qty: int,
    expiry_ts: int,
    state: str,
) -> bytes:
    return _DEF.pack(
        DEFINITION,
        locate,
        ts,
        _text(symbol, SYMBOL_LEN),
        KIND_CODES.get(kind, b"?"),
        _text(tick_size, DECIMAL_LEN),
        _text(lot_size, DECIMAL_LEN),
        _text(multiplier, DECIMAL_LEN),
        ref_price,
        band_ppb,
        max_order_qty,
        expiry_ts,
        STATE_CODES.get(state, b"?"),
    )


def encode_definition_msg(d: DefinitionMsg) -> bytes:
    return encode_definition(
        d.locate,
        d.ts,
        symbol=d.symbol,
        kind=d.kind,
        tick_size=d.tick_size,
        lot_size=d.lot_size,
        multiplier=d.multiplier,
        ref_price=d.ref_price,
        band_ppb=d.band_ppb,
        max_order_qty=d.max_order_qty,
        expiry_ts=d.expiry_ts,
        state=d.state,
    )


def encode_option_terms(m: OptionTermsMsg) -> bytes:
    return _OPTION_TERMS.pack(
        OPTION_TERMS,
        m.locate,
        m.ts,
        _text(m.underlying, 16),
        _text(m.cfi, 6),
        PUT_CALL_CODES.get(m.put_call, b"?"),
        m.strike,
    )


def encode_option_marks(m: OptionMarksMsg) -> bytes:
    return _OPTION_MARKS.pack(OPTION_MARKS, *m)


def encode_status(locate: int, ts: int, state: str) -> bytes:
    return _STATUS.pack(STATUS, locate, ts, STATE_CODES.get(state, b"?"))


def encode_add(locate: int, ts: int, order_id: int, side: int, price: int, qty: int) -> bytes:  # noqa: PLR0917 -- hot path, positional
    return _ADD.pack(ADD_ORDER, locate, ts, order_id, side, price, qty)


def encode_modify(  # noqa: PLR0917 -- hot path, positional
    locate: int, ts: int, order_id: int, price: int, qty: int, priority_kept: bool
) -> bytes:
    return _MODIFY.pack(MODIFY_ORDER, locate, ts, order_id, price, qty, 1 if priority_kept else 0)


def encode_delete(locate: int, ts: int, order_id: int) -> bytes:
    return _DELETE.pack(DELETE_ORDER, locate, ts, order_id)


def encode_executed(  # noqa: PLR0917 -- hot path, positional
    locate: int, ts: int, order_id: int, trade_id: int, price: int, qty: int, aggressor_side: int
) -> bytes:
    return _EXEC.pack(EXECUTED, locate, ts, order_id, trade_id, price, qty, aggressor_side)


def encode_index_price(locate: int, ts: int, price: int) -> bytes:
    return _PRICE.pack(INDEX_PRICE, locate, ts, price)


def encode_mark_price(locate: int, ts: int, price: int) -> bytes:
    return _PRICE.pack(MARK_PRICE, locate, ts, price)


def encode_funding(locate: int, ts: int, rate_ppb: int, mark: int) -> bytes:
    return _FUNDING.pack(FUNDING, locate, ts, rate_ppb, mark)


def encode_statistics(msg: StatisticsMsg) -> bytes:
    return _STATISTICS.pack(STATISTICS, *msg)


def encode_price_msg(msg: PriceMsg) -> bytes:
    """Encode a decoded `I`, `M`, `F`, `S`, `O` or `K` (snapshots re-send the latest of
    each)."""
    if type(msg) is OptionTermsMsg:
        return encode_option_terms(msg)
    if type(msg) is OptionMarksMsg:
        return encode_option_marks(msg)
    if type(msg) is StatisticsMsg:
        return encode_statistics(msg)
    if type(msg) is FundingMsg:
        return encode_funding(msg.locate, msg.ts, msg.rate_ppb, msg.mark)
    if type(msg) is IndexPriceMsg:
        return encode_index_price(msg.locate, msg.ts, msg.price)
    return encode_mark_price(msg.locate, msg.ts, msg.price)  # type: ignore[union-attr]


def encode_snapshot_complete(ts: int, next_seq: int, instruments: int) -> bytes:
    return _SNAP.pack(SNAPSHOT_COMPLETE, 0, ts, next_seq, instruments)


# ---------------------------------------------------------------------- decoder


def decode(body: bytes | memoryview) -> FeedMessage:
    """Decode one message body (without its MoldUDP64 length prefix)."""
    if not body:
        raise MalformedMessage("empty message")
    kind = body[0]
    size = LENGTHS.get(kind)
    if size is None:
        raise MalformedMessage(f"unknown message type {kind!r}")
    if len(body) != size:
        raise MalformedMessage(f"type {chr(kind)}: {len(body)} bytes, expected {size}")
    if kind == ADD_ORDER:
        _, loc, ts, oid, side, px, qty = _ADD.unpack(body)
        if side not in (SIDE_BUY, SIDE_SELL):
            raise MalformedMessage(f"bad side {side}")
        return AddOrderMsg(loc, ts, oid, side, px, qty)
    if kind == EXECUTED:
        _, loc, ts, oid, tid, px, qty, side = _EXEC.unpack(body)
        if side not in (SIDE_BUY, SIDE_SELL):
            raise MalformedMessage(f"bad side {side}")
        return ExecutedMsg(loc, ts, oid, tid, px, qty, side)
    if kind == DELETE_ORDER:
        _, loc, ts, oid = _DELETE.unpack(body)
        return DeleteOrderMsg(loc, ts, oid)
    if kind == MODIFY_ORDER:
        _, loc, ts, oid, px, qty, flags = _MODIFY.unpack(body)
        return ModifyOrderMsg(loc, ts, oid, px, qty, bool(flags & MODIFY_PRIORITY_KEPT))
    if kind == STATUS:
        _, loc, ts, state = _STATUS.unpack(body)
        return StatusMsg(loc, ts, _state(state))
    if kind == DEFINITION:
        f = _DEF.unpack(body)
        kind_name = _KIND_NAMES.get(f[4][0])
        if kind_name is None:
            raise MalformedMessage(f"bad instrument kind {f[4]!r}")
        return DefinitionMsg(
            f[1],
            f[2],
            _untext(f[3]),
            kind_name,
            _untext(f[5]),
            _untext(f[6]),
            _untext(f[7]),
            f[8],
            f[9],
            f[10],
            f[11],
            _state(f[12]),
        )
    if kind == INDEX_PRICE:
        _, loc, ts, px = _PRICE.unpack(body)
        return IndexPriceMsg(loc, ts, px)
    if kind == MARK_PRICE:
        _, loc, ts, px = _PRICE.unpack(body)
        return MarkPriceMsg(loc, ts, px)
    if kind == FUNDING:
        _, loc, ts, rate, mark = _FUNDING.unpack(body)
        return FundingMsg(loc, ts, rate, mark)
    if kind == STATISTICS:
        return StatisticsMsg(*_STATISTICS.unpack(body)[1:])
    if kind == OPTION_TERMS:
        _, loc, ts, und, cfi, pc, strike = _OPTION_TERMS.unpack(body)
        name = _PUT_CALL_NAMES.get(pc[0])
        if name is None:
            raise MalformedMessage(f"bad put/call {pc!r}")
        return OptionTermsMsg(loc, ts, _untext(und), _untext(cfi), name, strike)
    if kind == OPTION_MARKS:
        return OptionMarksMsg(*_OPTION_MARKS.unpack(body)[1:])
    _, loc, ts, next_seq, count = _SNAP.unpack(body)
    return SnapshotCompleteMsg(loc, ts, next_seq, count)


def _state(code: bytes) -> str:
    name = _STATE_NAMES.get(code[0])
    if name is None:
        raise MalformedMessage(f"bad trading state {code!r}")
    return name
