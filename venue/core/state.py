"""`EngineState`: the engine's state, its indexes, and the commands that do not match.

Order commands and matching live in `venue.core.engine.Engine`, which extends this class;
the invariants of the whole state are listed there and checked by `venue.core.checks`.
Invariants kept here:
- `_index`/`_unindex` keep `orders` (ascending order_id) and `by_session` in step.
- Mass cancel, expiry and instrument expiry cancel in ascending order_id (the order index's
  iteration order), so their events are deterministic.
- Instrument commands that are refused change nothing and consume no counters.
"""

from __future__ import annotations

import sys

import msgspec

from venue.core.book import Market, Order
from venue.core.commands import (
    AddInstrument,
    ExpireInstrument,
    ExpireOrders,
    Halt,
    MassCancel,
    Resume,
    SetReferencePrice,
)
from venue.core.events import (
    Event,
    InstrumentAdded,
    InstrumentStateChanged,
    MassCancelCompleted,
    MassCancelRejected,
    OrderCanceled,
    ReferencePriceChanged,
)
from venue.core.rejects import command_rejected
from venue.core.types import (
    MAX_PRICE,
    MAX_QTY,
    CancelReason,
    InstrumentKind,
    InstrumentState,
    RejectReason,
    Side,
    TimeInForce,
)

__all__ = ["EngineState"]

_intern = sys.intern
_BUY = Side.BUY
_GTD = TimeInForce.GTD
_DAY = TimeInForce.DAY
_OPEN = InstrumentState.OPEN
_HALTED = InstrumentState.HALTED
_EXPIRED = InstrumentState.EXPIRED
_NO_SESSION: dict[str, Order] = {}
_UNKNOWN_ORDER = RejectReason.UNKNOWN_ORDER  # bound once: an enum class attribute read is slow
_TOO_LATE = RejectReason.TOO_LATE_TO_CANCEL


class EngineState:
    def __init__(self) -> None:
        self.next_order_id = 1
        self.next_exec_id = 1
        self.next_trade_id = 1
        self.markets: dict[str, Market] = {}
        self.orders: dict[int, Order] = {}
        self.by_session: dict[str, dict[str, Order]] = {}

    # ------------------------------------------------------------------ state helpers

    def _index(self, o: Order) -> None:
        self.orders[o.order_id] = o
        per = self.by_session.get(o.session)
        if per is None:
            per = self.by_session[o.session] = {}
        per[o.cl_ord_id] = o

    def _unindex(self, o: Order) -> None:
        del self.orders[o.order_id]
        del self.by_session[o.session][o.cl_ord_id]

    def _find(
        self, session: str, firm: str, orig_cl_ord_id: str, order_id: int
    ) -> tuple[Order | None, RejectReason]:
        if order_id:
            o = self.orders.get(order_id)
            if o is None:
                late = 0 < order_id < self.next_order_id
                return None, (_TOO_LATE if late else _UNKNOWN_ORDER)
        else:
            o = self.by_session.get(session, _NO_SESSION).get(orig_cl_ord_id)
            if o is None:
                return None, _UNKNOWN_ORDER
        if o.firm != firm:
            return None, _UNKNOWN_ORDER
        return o, _UNKNOWN_ORDER

    def _canceled(  # noqa: PLR0917 -- hot-path helper, called positionally
        self, o: Order, ts: int, reason: CancelReason, cl_ord_id: str, orig: str, req: str
    ) -> OrderCanceled:
        exec_id = self.next_exec_id
        self.next_exec_id = exec_id + 1
        return OrderCanceled(
            ts,
            o.order_id,
            exec_id,
            o.session,
            o.firm,
            o.account,
            cl_ord_id,
            orig,
            req,
            o.symbol,
            o.side,
            o.ord_type,
            o.tif,
            o.price,
            o.qty,
            o.cum_qty,
            o.cum_notional,
            reason,
        )

    def _cancel_resting(
        self, o: Order, ts: int, reason: CancelReason, req: str, events: list[Event]
    ) -> None:
        """Unsolicited cancel of a resting order (expiry, mass cancel)."""
        mkt = self.markets[o.symbol]
        (mkt.bids if o.side == _BUY else mkt.asks).remove(o)
        self._unindex(o)
        events.append(self._canceled(o, ts, reason, o.cl_ord_id, "", req))

    # ------------------------------------------------------------------ non-matching commands

    def _mass_cancel(self, cmd: MassCancel) -> list[Event]:
        ts = cmd.ts
        if cmd.symbol and cmd.symbol not in self.markets:
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
            for o in self.orders.values()
            if o.firm == firm
            and (not symbol or o.symbol == symbol)
            and (not account or o.account == account)
            and (side is None or o.side == side)
            and (not session or o.session == session)
        ]
        events: list[Event] = []
        for o in victims:
            self._cancel_resting(o, ts, CancelReason.MASS_CANCEL, cmd.session, events)
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

    def _expire_orders(self, cmd: ExpireOrders) -> list[Event]:
        ts = cmd.ts
        day = cmd.include_day
        victims = [
            o
            for o in self.orders.values()
            if (o.tif == _GTD and o.expire_ts <= ts) or (day and o.tif == _DAY)
        ]
        events: list[Event] = []
        for o in victims:
            self._cancel_resting(o, ts, CancelReason.EXPIRED, "", events)
        return events

    # ------------------------------------------------------------------ instruments

    def _add_instrument(self, cmd: AddInstrument) -> list[Event]:
        inst = cmd.instrument
        reason: RejectReason | None = None
        if inst.symbol in self.markets:
            reason = RejectReason.DUPLICATE_INSTRUMENT
        elif (
            not inst.symbol
            or inst.ref_price <= 0
            or inst.ref_price > MAX_PRICE
            or inst.max_order_qty > MAX_QTY
            or inst.band_ppb < 0
            or inst.max_order_qty <= 0
            or inst.expiry_ts < 0
            or (inst.kind == InstrumentKind.PERPETUAL and inst.expiry_ts != 0)
            or inst.kind not in (InstrumentKind.PERPETUAL, InstrumentKind.FUTURE)
            or inst.state not in (_OPEN, _HALTED, _EXPIRED)
        ):
            reason = RejectReason.INVALID_INSTRUMENT
        if reason is not None:
            return [command_rejected(cmd, inst.symbol, reason)]
        inst = msgspec.structs.replace(inst, symbol=_intern(inst.symbol))
        self.markets[inst.symbol] = Market(inst)
        return [InstrumentAdded(ts=cmd.ts, instrument=inst)]

    def _set_state(
        self,
        cmd: Halt | Resume | ExpireInstrument,
        frm: tuple[InstrumentState, ...],
        to: InstrumentState,
    ) -> tuple[Market | None, list[Event]]:
        mkt = self.markets.get(cmd.symbol)
        if mkt is None:
            return None, [command_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        if mkt.state == _EXPIRED:
            return None, [command_rejected(cmd, cmd.symbol, RejectReason.INSTRUMENT_EXPIRED)]
        if mkt.state not in frm:
            return None, [command_rejected(cmd, cmd.symbol, RejectReason.INVALID_STATE_CHANGE)]
        mkt.state = to
        return mkt, [
            InstrumentStateChanged(ts=cmd.ts, symbol=mkt.instrument.symbol, state=mkt.state)
        ]

    def _halt(self, cmd: Halt) -> list[Event]:
        return self._set_state(cmd, (_OPEN,), _HALTED)[1]

    def _resume(self, cmd: Resume) -> list[Event]:
        return self._set_state(cmd, (_HALTED,), _OPEN)[1]

    def _expire_instrument(self, cmd: ExpireInstrument) -> list[Event]:
        mkt, events = self._set_state(cmd, (_OPEN, _HALTED), _EXPIRED)
        if mkt is not None:
            symbol = mkt.instrument.symbol
            victims = [o for o in self.orders.values() if o.symbol == symbol]
            for o in victims:
                self._cancel_resting(o, cmd.ts, CancelReason.EXPIRED, "", events)
        return events

    def _set_reference_price(self, cmd: SetReferencePrice) -> list[Event]:
        mkt = self.markets.get(cmd.symbol)
        if mkt is None:
            return [command_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        if cmd.ref_price <= 0 or cmd.ref_price > MAX_PRICE:
            return [command_rejected(cmd, cmd.symbol, RejectReason.INVALID_PRICE)]
        mkt.set_ref_price(cmd.ref_price)
        return [
            ReferencePriceChanged(ts=cmd.ts, symbol=mkt.instrument.symbol, ref_price=cmd.ref_price)
        ]
