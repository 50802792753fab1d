"""Builders of the refusal events (`...Rejected`). Refusals consume no counters.

Invariant: these functions only read their arguments; they never touch engine state.
"""

from __future__ import annotations

from venue.core.book import Order
from venue.core.commands import (
    AddInstrument,
    CancelOrder,
    ExpireInstrument,
    Halt,
    NewOrder,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
)
from venue.core.events import CancelRejected, CommandRejected, OrderRejected
from venue.core.types import RejectReason

__all__ = ["cancel_rejected", "command_rejected", "order_rejected"]


def order_rejected(cmd: NewOrder, reason: RejectReason) -> OrderRejected:
    return OrderRejected(
        ts=cmd.ts,
        session=cmd.session,
        firm=cmd.firm,
        account=cmd.account,
        cl_ord_id=cmd.cl_ord_id,
        symbol=cmd.symbol,
        side=cmd.side,
        ord_type=cmd.ord_type,
        tif=cmd.tif,
        price=cmd.price,
        qty=cmd.qty,
        reason=reason,
    )


def cancel_rejected(
    cmd: CancelOrder | ReplaceOrder, reason: RejectReason, is_replace: bool, o: Order | None = None
) -> CancelRejected:
    return CancelRejected(
        ts=cmd.ts,
        session=cmd.session,
        firm=cmd.firm,
        cl_ord_id=cmd.cl_ord_id,
        orig_cl_ord_id=cmd.orig_cl_ord_id,
        order_id=o.order_id if o is not None else cmd.order_id,
        symbol=o.symbol if o is not None else cmd.symbol,
        is_replace=is_replace,
        reason=reason,
        cum_qty=o.cum_qty if o is not None else 0,
        leaves_qty=o.qty - o.cum_qty if o is not None else 0,
    )


def command_rejected(
    cmd: AddInstrument | Halt | Resume | ExpireInstrument | SetReferencePrice,
    symbol: str,
    reason: RejectReason,
) -> CommandRejected:
    return CommandRejected(ts=cmd.ts, command=type(cmd).__name__, symbol=symbol, reason=reason)
