"""Order entry's shared validation ladder (`entry_refusal`), and the commands that cancel many
resting orders at once (`MassCancel`, `CancelSessionOrders`, `ExpireOrders`): plain functions
of the engine state and the command.

Invariants kept here:
- New orders and replaces pass through the one ladder `entry_refusal` (RoE sections 5 and 6):
  a client id, a tradable instrument (not expired: neither the EXPIRED state nor `ts` at or
  after a dated future's expiry time, before `ExpireInstrument` arrives; not halted), a
  client id not live in the order's session, a quantity in 1..max, a limit price inside the
  band. What only one of them has (TimeInForce checks of a new order, the filled quantity of
  a replace) follows it in its own handler.
- Victims are canceled in ascending order_id (the order index's iteration order), so the
  events are deterministic; each cancel consumes one exec id.
- A refused mass cancel (`MassCancelRejected`) changes nothing.
"""

from __future__ import annotations

from venue.core.book import Market, Order
from venue.core.commands import CancelSessionOrders, ExpireOrders, MassCancel
from venue.core.events import Event, MassCancelCompleted, MassCancelRejected
from venue.core.state import EngineState
from venue.core.types import (
    MAX_PRICE,
    CancelReason,
    InstrumentState,
    OrdType,
    RejectReason,
    TimeInForce,
)

__all__ = ["cancel_session_orders", "entry_refusal", "expire_orders", "mass_cancel"]

_GTD = TimeInForce.GTD
_DAY = TimeInForce.DAY
_LIMIT = OrdType.LIMIT
_MARKET = OrdType.MARKET
_HALTED = InstrumentState.HALTED
_EXPIRED = InstrumentState.EXPIRED


def entry_refusal(  # noqa: PLR0917 -- hot path, called positionally
    mkt: Market | None,
    ts: int,
    cl_ord_id: str,
    live: dict[str, Order],
    ord_type: OrdType,
    price: int,
    qty: int,
) -> RejectReason | None:
    """Why an order with these terms may not enter `mkt` at `ts` (None: it may): the one
    ladder of new orders and replaces, first failure wins. `live`: the order's session's
    live orders by client id (a replace's new id must not be one of them)."""
    if not cl_ord_id:
        return RejectReason.INVALID_ORDER
    if mkt is None:
        return RejectReason.UNKNOWN_INSTRUMENT
    if mkt.state is _EXPIRED or (mkt.expiry_ts and ts >= mkt.expiry_ts):
        return RejectReason.INSTRUMENT_EXPIRED
    if mkt.state is _HALTED:
        return RejectReason.INSTRUMENT_HALTED
    if cl_ord_id in live:
        return RejectReason.DUPLICATE_CL_ORD_ID
    if qty <= 0:
        return RejectReason.INVALID_QUANTITY
    if qty > mkt.max_qty:
        return RejectReason.QTY_ABOVE_MAXIMUM
    if ord_type == _LIMIT:
        if not mkt.lo <= price <= mkt.hi:
            if price <= 0 or price > MAX_PRICE:
                return RejectReason.INVALID_PRICE
            return RejectReason.PRICE_OUTSIDE_BAND
    elif ord_type == _MARKET:
        if price != 0:
            return RejectReason.INVALID_PRICE
    else:
        return RejectReason.INVALID_ORDER
    return None


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


def cancel_session_orders(state: EngineState, cmd: CancelSessionOrders) -> list[Event]:
    """Every resting order of the named sessions, canceled (`VENUE_RESTART`); nothing else."""
    ts = cmd.ts
    named = dict.fromkeys(cmd.sessions)  # a dict, not a set: only looked up, never iterated
    victims = [o for o in state.orders.values() if o.session in named]
    events: list[Event] = []
    for o in victims:
        state.cancel_resting(o, ts, CancelReason.VENUE_RESTART, "", events)
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
