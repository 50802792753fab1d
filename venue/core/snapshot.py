"""Canonical encoding of the whole engine state (snapshot, restore and `state_hash`).

Invariants kept here:
- The encoding is a function of the state only: markets in the order they were added, each
  side's levels best first, each level's orders in FIFO order; no dict or set order leaks in.
  Hence `state_hash()` (sha256 of the encoding) is equal for equal states, and
  `restore(snapshot())` rebuilds a state with the same hash.
- Accounts in the order they were added, each account's positions in the order they opened.
- `SNAPSHOT_VERSION` changes whenever the layout changes. Version 3 appends the published
  funding figures (`FundingRecord`, markets with any of them set, in market order); a state
  without any is still encoded as version 2, byte for byte, so the snapshots and state hashes
  of journals without funding figures do not change. Both versions decode.
"""

from __future__ import annotations

import sys

import msgspec

from venue.core.accounts import Account, Position
from venue.core.book import BookSide, Market, Order
from venue.core.mmp_state import MmpState
from venue.core.types import Instrument, OrdType, Side, StpMode, TimeInForce

__all__ = [
    "SNAPSHOT_VERSION",
    "AccountRecord",
    "FundingRecord",
    "MarketRecord",
    "OrderRecord",
    "PositionRecord",
    "StateRecord",
    "decode_accounts",
    "decode_state",
    "encode_state",
]

SNAPSHOT_VERSION = 3
_PLAIN_VERSION = 2  # the layout without funding figures


class OrderRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    order_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
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
    stp_id: int
    stp_mode: StpMode


class MarketRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    instrument: Instrument  # with the current ref_price and state
    bids: list[list[OrderRecord]]  # levels best first, orders FIFO
    asks: list[list[OrderRecord]]
    mark_price: int
    index_price: int
    index_ts: int
    settled: bool
    option_marks: list[int] = []  # options: the last SetOptionMarks figures


class PositionRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    symbol: str
    size: int
    cost: int
    realized_pnl: int
    isolated: bool
    margin: int


class AccountRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    firm: str
    account: str
    segment: str
    max_leverage: int
    fee_tier: str
    balance: int
    isolated: list[str]
    positions: list[PositionRecord]


class FundingRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    symbol: str
    rate_ppb: int  # the last funding applied, at `ts`
    ts: int
    predicted_rate_ppb: int  # the last published outlook, for `next_ts`
    next_ts: int


class _PlainStateRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Version 2: what `StateRecord` is without its funding figures."""

    version: int
    next_order_id: int
    next_exec_id: int
    next_trade_id: int
    markets: list[MarketRecord]
    accounts: list[AccountRecord]
    insurance_fund: int
    fees_collected: int
    net_deposits: int


class MmpRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    account: str
    underlying: str
    window_ms: int
    max_qty: int
    max_fills: int
    freeze_ms: int
    fills: list[tuple[int, int]]
    frozen_until: int


class StateRecord(msgspec.Struct, frozen=True, array_like=True, gc=False, omit_defaults=True):
    """`omit_defaults`: a state without market-maker protection encodes as before it existed
    (a trailing empty `mmp` is left out)."""

    version: int
    next_order_id: int
    next_exec_id: int
    next_trade_id: int
    markets: list[MarketRecord]
    accounts: list[AccountRecord]
    insurance_fund: int
    fees_collected: int
    net_deposits: int
    funding: list[FundingRecord] = []
    mmp: list[MmpRecord] = []


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StateRecord)


def encode_state(  # noqa: PLR0917 -- one call site
    next_order_id: int,
    next_exec_id: int,
    next_trade_id: int,
    markets: dict[str, Market],
    accounts: dict[str, Account],
    money: tuple[int, int, int],
    mmp: dict[str, dict[str, MmpState]] | None = None,
) -> bytes:
    """`money` = (insurance fund, fees collected, net deposits); `mmp`: market-maker
    protection per account and underlying (sorted by both here)."""
    records = []
    for mkt in markets.values():
        inst = mkt.instrument
        if inst.ref_price != mkt.ref_price or inst.state != mkt.state:
            inst = msgspec.structs.replace(inst, ref_price=mkt.ref_price, state=mkt.state)
        records.append(
            MarketRecord(
                inst,
                _side_record(mkt.bids),
                _side_record(mkt.asks),
                mkt.mark_price,
                mkt.index_price,
                mkt.index_ts,
                mkt.settled,
                list(mkt.option_marks),
            )
        )
    accts = [
        AccountRecord(
            a.firm,
            a.account,
            a.segment,
            a.max_leverage,
            a.fee_tier,
            a.balance,
            list(a.isolated),
            [
                PositionRecord(p.symbol, p.size, p.cost, p.realized_pnl, p.isolated, p.margin)
                for p in a.positions.values()
            ],
        )
        for a in accounts.values()
    ]
    funding = [
        FundingRecord(s, m.funding_rate_ppb, m.funding_ts, m.predicted_rate_ppb, m.next_funding_ts)
        for s, m in markets.items()
        if m.funding_rate_ppb or m.funding_ts or m.predicted_rate_ppb or m.next_funding_ts
    ]
    mmp_records = [
        MmpRecord(
            account,
            und,
            m.window_ms,
            m.max_qty,
            m.max_fills,
            m.freeze_ms,
            list(m.fills),
            m.frozen_until,
        )
        for account in sorted(mmp or {})
        for und, m in sorted((mmp or {})[account].items())
    ]
    if not funding and not mmp_records:
        plain = _PlainStateRecord(
            _PLAIN_VERSION, next_order_id, next_exec_id, next_trade_id, records, accts, *money
        )
        return _encoder.encode(plain)
    return _encoder.encode(
        StateRecord(
            SNAPSHOT_VERSION,
            next_order_id,
            next_exec_id,
            next_trade_id,
            records,
            accts,
            *money,
            funding,
            mmp_records,
        )
    )


def decode_accounts(rec: StateRecord) -> dict[str, Account]:
    intern = sys.intern
    out: dict[str, Account] = {}
    for r in rec.accounts:
        a = Account(intern(r.firm), intern(r.account), r.segment, r.max_leverage, r.fee_tier)
        a.balance = r.balance
        for symbol in r.isolated:
            a.isolated[intern(symbol)] = True
        for pr in r.positions:
            p = Position(intern(pr.symbol), pr.isolated)
            p.size, p.cost, p.realized_pnl, p.margin = pr.size, pr.cost, pr.realized_pnl, pr.margin
            a.positions[p.symbol] = p
        out[a.account] = a
    return out


def decode_state(data: bytes) -> tuple[StateRecord, dict[str, Market], list[Order]]:
    """Decode a snapshot: the record, the rebuilt markets, and their orders by order_id."""
    rec = _decoder.decode(data)
    if rec.version not in (_PLAIN_VERSION, SNAPSHOT_VERSION):
        raise ValueError(f"snapshot version {rec.version}, expected {SNAPSHOT_VERSION}")
    intern = sys.intern
    markets: dict[str, Market] = {}
    restored: list[Order] = []
    for mrec in rec.markets:
        inst = mrec.instrument
        inst = msgspec.structs.replace(inst, symbol=intern(inst.symbol))
        mkt = Market(inst)
        mkt.mark_price = mrec.mark_price
        mkt.index_price = mrec.index_price
        mkt.index_ts = mrec.index_ts
        mkt.settled = mrec.settled
        mkt.option_marks = tuple(mrec.option_marks)
        symbol = inst.symbol
        markets[symbol] = mkt
        for side, levels in ((mkt.bids, mrec.bids), (mkt.asks, mrec.asks)):
            for level_recs in reversed(levels):  # worst first, so keys append in order
                for r in level_recs:
                    o = Order(
                        r.order_id,
                        intern(r.session),
                        intern(r.firm),
                        intern(r.account),
                        r.cl_ord_id,
                        symbol,
                        r.side,
                        r.ord_type,
                        r.tif,
                        r.price,
                        r.qty,
                        r.cum_qty,
                        r.cum_notional,
                        r.expire_ts,
                        r.post_only,
                        r.reduce_only,
                        r.stp_id,
                        r.stp_mode,
                    )
                    side.add(o)
                    restored.append(o)
    for f in rec.funding:
        mkt = markets[f.symbol]
        mkt.funding_rate_ppb, mkt.funding_ts = f.rate_ppb, f.ts
        mkt.predicted_rate_ppb, mkt.next_funding_ts = f.predicted_rate_ppb, f.next_ts
    restored.sort(key=lambda o: o.order_id)
    return rec, markets, restored


def _side_record(side: BookSide) -> list[list[OrderRecord]]:
    levels = side.levels
    sign = side.sign
    return [
        [
            OrderRecord(
                o.order_id,
                o.session,
                o.firm,
                o.account,
                o.cl_ord_id,
                o.side,
                o.ord_type,
                o.tif,
                o.price,
                o.qty,
                o.cum_qty,
                o.cum_notional,
                o.expire_ts,
                o.post_only,
                o.reduce_only,
                o.stp_id,
                o.stp_mode,
            )
            for o in levels[sign * key].orders
        ]
        for key in reversed(side.keys)
    ]
