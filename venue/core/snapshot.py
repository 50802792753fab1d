"""Canonical encoding of the whole engine state (snapshot, restore and `state_hash`).

Invariants kept here:
- The encoding is a function of the state only: markets in the order they were added, each
  side's levels best first, each level's orders in FIFO order; no dict or set order leaks in.
  Hence `state_hash()` (sha256 of the encoding) is equal for equal states, and
  `restore(snapshot())` rebuilds a state with the same hash.
- `SNAPSHOT_VERSION` changes whenever the layout changes.
"""

from __future__ import annotations

import msgspec

from venue.core.types import Instrument, OrdType, Side, StpMode, TimeInForce

__all__ = ["SNAPSHOT_VERSION", "MarketRecord", "OrderRecord", "StateRecord"]

SNAPSHOT_VERSION = 1


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


class StateRecord(msgspec.Struct, frozen=True, array_like=True, gc=False):
    version: int
    next_order_id: int
    next_exec_id: int
    next_trade_id: int
    markets: list[MarketRecord]
