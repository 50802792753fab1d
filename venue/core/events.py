"""Events: what `Engine.apply` answers. They carry everything the FIX edge needs for an
ExecutionReport, an OrderCancelReject or a drop copy, without looking at engine state.

Invariants kept here:
- Every event is a frozen, array-like, tagged msgspec Struct (tag = class name) with `ts`
  (the command's `ts`) first; `Event` is a tagged union decodable with
  `msgspec.msgpack.Decoder(list[Event])`.
- Events that become an ExecutionReport (`OrderAccepted`, `OrderFilled`, `OrderCanceled`,
  `OrderReplaced`) carry an `exec_id` from the engine's counter. Rejections
  (`OrderRejected`, `CancelRejected`, `MassCancelRejected`, `CommandRejected`) carry none:
  they do not consume counters (the FIX edge derives their ExecID from the journal sequence).
- `OrderAccepted`, `OrderFilled`, `OrderCanceled` and `OrderReplaced` are not `kw_only`: the
  core builds them positionally on the hot path (msgspec takes ~0.7 us to build a 19-field
  struct from keywords, ~0.12 us positionally). Everyone else should build them with keywords
  (that still works); the property test checks the core's positional order against the
  reference book's keyword-built events.
- Quantities are lots, prices ticks; `cum_notional` is the sum of `last_px * last_qty` over the
  order's fills, so the edge computes AvgPx = cum_notional / cum_qty.
- For cancels and replaces, `cl_ord_id` is the request's id and `orig_cl_ord_id` the order's
  previous id (FIX tags 11 and 41), and `request_session` the session that asked (it may differ
  from the order's `session` when another session of the same firm addressed it by order_id).
  For cancels the engine decides (IOC/market remainder, self-trade, expiry) `cl_ord_id` is the
  order's id and `orig_cl_ord_id` and `request_session` are ""; for a mass cancel
  `cl_ord_id` is the order's id, `orig_cl_ord_id` is "" and `request_session` the requester.
"""

from __future__ import annotations

import msgspec

from venue.core.types import (
    CancelReason,
    Instrument,
    InstrumentState,
    OrdType,
    RejectReason,
    Side,
    TimeInForce,
)

__all__ = [
    "CancelRejected",
    "CommandRejected",
    "Event",
    "InstrumentAdded",
    "InstrumentStateChanged",
    "MassCancelCompleted",
    "MassCancelRejected",
    "OrderAccepted",
    "OrderCanceled",
    "OrderFilled",
    "OrderRejected",
    "OrderReplaced",
    "ReferencePriceChanged",
]


class OrderAccepted(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    ts: int
    order_id: int
    exec_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    expire_ts: int
    post_only: bool
    reduce_only: bool


class OrderRejected(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    reason: RejectReason


class OrderFilled(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    """One side of one trade. Each trade yields two: the aggressor's first, then the resting."""

    ts: int
    order_id: int
    exec_id: int
    trade_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    last_px: int
    last_qty: int
    cum_qty: int
    leaves_qty: int
    cum_notional: int
    aggressor: bool


class OrderCanceled(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    """The order is done; its leaves quantity is 0 (it was `qty - cum_qty` before the cancel)."""

    ts: int
    order_id: int
    exec_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    orig_cl_ord_id: str
    request_session: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    cum_qty: int
    cum_notional: int
    reason: CancelReason


class OrderReplaced(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    """The order now has `price`, `qty` and `cl_ord_id`. Fills may follow if it crossed."""

    ts: int
    order_id: int
    exec_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    orig_cl_ord_id: str
    request_session: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    cum_qty: int
    leaves_qty: int
    cum_notional: int
    priority_kept: bool


class CancelRejected(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """A cancel (`is_replace` false) or replace request was refused; the order is unchanged.

    `session` is the requester. `order_id`, `cum_qty` and `leaves_qty` describe the order when it
    is live (all 0 when it is unknown or done).
    """

    ts: int
    session: str
    firm: str
    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: int
    symbol: str
    is_replace: bool
    reason: RejectReason
    cum_qty: int
    leaves_qty: int


class MassCancelCompleted(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Follows the `OrderCanceled` events of a mass cancel (possibly none)."""

    ts: int
    session: str
    firm: str
    cl_ord_id: str
    symbol: str
    account: str
    side: Side | None
    session_only: bool
    canceled_count: int


class MassCancelRejected(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    session: str
    firm: str
    cl_ord_id: str
    symbol: str
    reason: RejectReason


class InstrumentAdded(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    instrument: Instrument


class InstrumentStateChanged(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    symbol: str
    state: InstrumentState


class ReferencePriceChanged(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Emitted for `SetReferencePrice` only; trade-driven updates are implied by the fills."""

    ts: int
    symbol: str
    ref_price: int


class CommandRejected(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """An instrument/admin command was refused, or a command was malformed.

    `command` is the command's class name (its tag).
    """

    ts: int
    command: str
    symbol: str
    reason: RejectReason


Event = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCanceled
    | OrderReplaced
    | CancelRejected
    | MassCancelCompleted
    | MassCancelRejected
    | InstrumentAdded
    | InstrumentStateChanged
    | ReferencePriceChanged
    | CommandRejected
)
