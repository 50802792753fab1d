"""Commands that cancel many resting orders at once: `MassCancel` and `ExpireOrders`;
plain functions of the engine state and the command.

Invariants kept here:
- Victims are canceled in ascending order_id (the order index's iteration order), so the
  events are deterministic; each cancel consumes one exec id.
- A refused mass cancel (`MassCancelRejected`) changes nothing.
"""

from __future__ import annotations

from venue.core.commands import ExpireOrders, MassCancel
from venue.core.events import Event, MassCancelCompleted, MassCancelRejected
from venue.core.state import EngineState
from venue.core.types import CancelReason, RejectReason, TimeInForce

__all__ = ["expire_orders", "mass_cancel"]

_GTD = TimeInForce.GTD
_DAY = TimeInForce.DAY


def mass_cancel(state: EngineState, cmd: MassCancel) -> list[Event]:
    ts = cmd.ts
    if cmd.symbol and cmd.symbol not in state.markets:
        return [
            MassCancelRejected(
                ts=ts,
                session=cmd.session,
                firm=cmd.firm,
                cl_ord_id=cmd.cl_ord_id,
                symbol=cmd.symbol,
                reason=RejectReason.UNKNOWN_INSTRUMENT,
            )
        ]
    firm, symbol, account, side = cmd.firm, cmd.symbol, cmd.account, cmd.side
    session = cmd.session if cmd.session_only else ""
    victims = [
        o
        for o in state.orders.values()
        if o.firm == firm
        and (not symbol or o.symbol == symbol)
        and (not account or o.account == account)
        and (side is None or o.side == side)
        and (not session or o.session == session)
    ]
    events: list[Event] = []
    for o in victims:
        state.cancel_resting(o, ts, CancelReason.MASS_CANCEL, cmd.session, events)
    events.append(
        MassCancelCompleted(
            ts=ts,
            session=cmd.session,
            firm=firm,
            cl_ord_id=cmd.cl_ord_id,
            symbol=symbol,
            account=account,
            side=side,
            session_only=cmd.session_only,
            canceled_count=len(victims),
        )
    )
    return events


def expire_orders(state: EngineState, cmd: ExpireOrders) -> list[Event]:
    ts = cmd.ts
    day = cmd.include_day
    victims = [
        o
        for o in state.orders.values()
        if (o.tif == _GTD and o.expire_ts <= ts) or (day and o.tif == _DAY)
    ]
    events: list[Event] = []
    for o in victims:
        state.cancel_resting(o, ts, CancelReason.EXPIRED, "", events)
    return events
