"""A short, obviously correct reference engine for the property test.

Naive on purpose: one flat list of resting orders, re-filtered and re-sorted by (price, time
priority) on every look; no indexes, no incremental level totals. It answers with the same
event classes as `venue.core.Engine` and must produce exactly the same events.

Its rules are written from the Rules of Engagement (fix_specs/RULES_OF_ENGAGEMENT.md), not
from the engine: `trading_refusal` is section 5 (a halted instrument refuses new orders and
replaces; a dated future stops trading at its expiry time, whether or not the venue has
marked it expired yet), and a replace (section 6, 35=G) is an order entry like a new order:
`entry_refusal` is the same for both. Only the precedence between two reasons that both
apply (which the RoE does not state) follows the engine's.
"""

# ruff: noqa: PLR0917 -- hypothesis rules and event builders take their fields positionally

from __future__ import annotations

from dataclasses import dataclass

from venue.core import (
    BAND_SCALE,
    MAX_PRICE,
    MAX_QTY,
    AddInstrument,
    CancelOrder,
    CancelReason,
    CancelRejected,
    CommandRejected,
    Event,
    ExpireInstrument,
    ExpireOrders,
    Halt,
    InstrumentAdded,
    InstrumentState,
    InstrumentStateChanged,
    MassCancel,
    MassCancelCompleted,
    MassCancelRejected,
    NewOrder,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrdType,
    ReferencePriceChanged,
    RejectReason,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
    Side,
    StpMode,
    TimeInForce,
)

R = RejectReason


@dataclass
class ROrder:
    order_id: int
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
    stp_id: int
    stp_mode: StpMode
    cum_qty: int = 0
    cum_notional: int = 0
    prio: int = 0


@dataclass
class RInstrument:
    symbol: str
    ref_price: int
    band_ppb: int
    max_order_qty: int
    expiry_ts: int
    state: InstrumentState


class ReferenceBook:
    def __init__(self) -> None:
        self.instruments: dict[str, RInstrument] = {}
        self.resting: list[ROrder] = []
        self.next_order_id = 1
        self.next_exec_id = 1
        self.next_trade_id = 1
        self.next_prio = 1

    # ---------------------------------------------------------------- helpers

    def exec_id(self) -> int:
        self.next_exec_id += 1
        return self.next_exec_id - 1

    def book(self, symbol: str, side: Side) -> list[ROrder]:
        """Resting orders of one side, best first, then oldest first."""
        orders = [o for o in self.resting if o.symbol == symbol and o.side == side]
        if side == Side.BUY:
            return sorted(orders, key=lambda o: (-o.price, o.prio))
        return sorted(orders, key=lambda o: (o.price, o.prio))

    def in_band(self, inst: RInstrument, price: int) -> bool:
        half = inst.ref_price * inst.band_ppb // BAND_SCALE
        return inst.band_ppb == 0 or inst.ref_price - half <= price <= inst.ref_price + half

    def band_limit(self, inst: RInstrument, side: Side) -> int | None:
        if inst.band_ppb == 0:
            return None
        half = inst.ref_price * inst.band_ppb // BAND_SCALE
        return inst.ref_price + half if side == Side.BUY else inst.ref_price - half

    @staticmethod
    def acceptable(side: Side, limit: int | None, resting_price: int) -> bool:
        if limit is None:
            return True
        return resting_price <= limit if side == Side.BUY else resting_price >= limit

    @staticmethod
    def same_stp(a: ROrder, b: ROrder) -> bool:
        return a.stp_id != 0 and a.stp_id == b.stp_id and a.firm == b.firm

    @staticmethod
    def trading_refusal(inst: RInstrument, ts: int) -> RejectReason | None:
        """RoE section 5: may anything trade in `inst` at `ts`?"""
        if inst.state == InstrumentState.EXPIRED or (inst.expiry_ts and ts >= inst.expiry_ts):
            return R.INSTRUMENT_EXPIRED
        if inst.state == InstrumentState.HALTED:
            return R.INSTRUMENT_HALTED
        return None

    def entry_refusal(
        self, c: NewOrder | ReplaceOrder, inst: RInstrument | None, session: str, limit: bool
    ) -> RejectReason | None:
        """RoE sections 5 and 6: what a new order and a replace both must pass."""
        if not c.cl_ord_id:
            return R.INVALID_ORDER
        if inst is None:
            return R.UNKNOWN_INSTRUMENT
        refusal = self.trading_refusal(inst, c.ts)
        if refusal is not None:
            return refusal
        if self.live(session, c.cl_ord_id) is not None:
            return R.DUPLICATE_CL_ORD_ID
        if c.qty <= 0:
            return R.INVALID_QUANTITY
        if c.qty > inst.max_order_qty:
            return R.QTY_ABOVE_MAXIMUM
        if limit:
            if c.price <= 0 or c.price > MAX_PRICE:
                return R.INVALID_PRICE
            if not self.in_band(inst, c.price):
                return R.PRICE_OUTSIDE_BAND
        elif c.price != 0:
            return R.INVALID_PRICE
        return None

    def live(self, session: str, cl_ord_id: str) -> ROrder | None:
        for o in self.resting:
            if o.session == session and o.cl_ord_id == cl_ord_id:
                return o
        return None

    def canceled(
        self, o: ROrder, ts: int, reason: CancelReason, cl: str, orig: str, req: str
    ) -> OrderCanceled:
        return OrderCanceled(
            ts=ts,
            order_id=o.order_id,
            exec_id=self.exec_id(),
            session=o.session,
            firm=o.firm,
            account=o.account,
            cl_ord_id=cl,
            orig_cl_ord_id=orig,
            request_session=req,
            symbol=o.symbol,
            side=o.side,
            ord_type=o.ord_type,
            tif=o.tif,
            price=o.price,
            qty=o.qty,
            cum_qty=o.cum_qty,
            cum_notional=o.cum_notional,
            reason=reason,
        )

    def fill(self, o: ROrder, ts: int, trade_id: int, px: int, q: int, aggr: bool) -> OrderFilled:
        return OrderFilled(
            ts=ts,
            order_id=o.order_id,
            exec_id=self.exec_id(),
            trade_id=trade_id,
            session=o.session,
            firm=o.firm,
            account=o.account,
            cl_ord_id=o.cl_ord_id,
            symbol=o.symbol,
            side=o.side,
            ord_type=o.ord_type,
            tif=o.tif,
            price=o.price,
            qty=o.qty,
            last_px=px,
            last_qty=q,
            cum_qty=o.cum_qty,
            leaves_qty=o.qty - o.cum_qty,
            cum_notional=o.cum_notional,
            aggressor=aggr,
        )

    # ---------------------------------------------------------------- matching

    def fok_fillable(self, o: ROrder, limit: int | None) -> bool:
        need = o.qty
        for r in self.book(o.symbol, Side.SELL if o.side == Side.BUY else Side.BUY):
            if not self.acceptable(o.side, limit, r.price):
                return False
            if self.same_stp(o, r):
                if o.stp_mode == StpMode.CANCEL_RESTING:
                    continue
                return False
            need -= r.qty - r.cum_qty
            if need <= 0:
                return True
        return False

    def execute(
        self, inst: RInstrument, o: ROrder, limit: int | None, ts: int, ev: list[Event]
    ) -> bool:
        """Match, then rest or cancel the remainder. True if `o` rests."""
        opp_side = Side.SELL if o.side == Side.BUY else Side.BUY
        stopped = False
        last_px = 0
        while o.cum_qty < o.qty and not stopped:
            book = self.book(o.symbol, opp_side)
            if not book or not self.acceptable(o.side, limit, book[0].price):
                break
            r = book[0]
            if self.same_stp(o, r):
                if o.stp_mode in (StpMode.CANCEL_RESTING, StpMode.CANCEL_BOTH):
                    self.resting.remove(r)
                    ev.append(self.canceled(r, ts, CancelReason.SELF_TRADE, r.cl_ord_id, "", ""))
                if o.stp_mode != StpMode.CANCEL_RESTING:
                    stopped = True
                continue
            q = min(o.qty - o.cum_qty, r.qty - r.cum_qty)
            for x in (o, r):
                x.cum_qty += q
                x.cum_notional += r.price * q
            trade_id = self.next_trade_id
            self.next_trade_id += 1
            ev.append(self.fill(o, ts, trade_id, r.price, q, True))
            ev.append(self.fill(r, ts, trade_id, r.price, q, False))
            last_px = r.price
            if r.cum_qty == r.qty:
                self.resting.remove(r)
        if last_px:
            inst.ref_price = last_px
        if o.cum_qty == o.qty:
            return False
        if stopped:
            reason = CancelReason.SELF_TRADE
        elif o.ord_type == OrdType.MARKET:
            reason = CancelReason.MARKET_REMAINDER
        elif o.tif == TimeInForce.IOC:
            reason = CancelReason.IOC_REMAINDER
        else:
            o.prio = self.next_prio
            self.next_prio += 1
            self.resting.append(o)
            return True
        ev.append(self.canceled(o, ts, reason, o.cl_ord_id, "", ""))
        return False

    # ---------------------------------------------------------------- commands

    def apply(self, cmd: object) -> list[Event]:
        handler = getattr(self, "do_" + type(cmd).__name__)
        result: list[Event] = handler(cmd)
        return result

    def do_NewOrder(self, c: NewOrder) -> list[Event]:
        inst = self.instruments.get(c.symbol)

        def rej(reason: RejectReason) -> list[Event]:
            return [
                OrderRejected(
                    ts=c.ts,
                    session=c.session,
                    firm=c.firm,
                    account=c.account,
                    cl_ord_id=c.cl_ord_id,
                    symbol=c.symbol,
                    side=c.side,
                    ord_type=c.ord_type,
                    tif=c.tif,
                    price=c.price,
                    qty=c.qty,
                    reason=reason,
                )
            ]

        refusal = self.entry_refusal(c, inst, c.session, c.ord_type == OrdType.LIMIT)
        if refusal is not None:
            return rej(refusal)
        assert inst is not None
        if c.tif == TimeInForce.GTD:
            if c.expire_ts <= c.ts:
                return rej(R.INVALID_TIF)
        elif c.expire_ts != 0:
            return rej(R.INVALID_TIF)
        elif c.post_only and (
            c.ord_type == OrdType.MARKET or c.tif in (TimeInForce.IOC, TimeInForce.FOK)
        ):
            return rej(R.INVALID_ORDER)
        limit = c.price if c.ord_type == OrdType.LIMIT else self.band_limit(inst, c.side)
        opp = self.book(c.symbol, Side.SELL if c.side == Side.BUY else Side.BUY)
        crosses = bool(opp) and self.acceptable(c.side, limit, opp[0].price)
        o = ROrder(
            self.next_order_id,
            c.session,
            c.firm,
            c.account,
            c.cl_ord_id,
            c.symbol,
            c.side,
            c.ord_type,
            c.tif,
            c.price,
            c.qty,
            c.expire_ts,
            c.post_only,
            c.reduce_only,
            c.stp_id,
            c.stp_mode,
        )
        if c.post_only and crosses:
            return rej(R.POST_ONLY_WOULD_TAKE)
        if c.ord_type == OrdType.MARKET and not crosses:
            return rej(R.MARKET_NO_LIQUIDITY)
        if c.tif == TimeInForce.FOK and not self.fok_fillable(o, limit):
            return rej(R.FOK_NOT_FILLABLE)
        self.next_order_id += 1
        ev: list[Event] = [
            OrderAccepted(
                ts=c.ts,
                order_id=o.order_id,
                exec_id=self.exec_id(),
                session=c.session,
                firm=c.firm,
                account=c.account,
                cl_ord_id=c.cl_ord_id,
                symbol=c.symbol,
                side=c.side,
                ord_type=c.ord_type,
                tif=c.tif,
                price=c.price,
                qty=c.qty,
                expire_ts=c.expire_ts,
                post_only=c.post_only,
                reduce_only=c.reduce_only,
            )
        ]
        self.execute(inst, o, limit, c.ts, ev)
        return ev

    def find(self, c: CancelOrder | ReplaceOrder) -> tuple[ROrder | None, RejectReason]:
        if c.order_id:
            found = [o for o in self.resting if o.order_id == c.order_id]
            if not found:
                late = 0 < c.order_id < self.next_order_id
                return None, R.TOO_LATE_TO_CANCEL if late else R.UNKNOWN_ORDER
            o: ROrder | None = found[0]
        else:
            o = self.live(c.session, c.orig_cl_ord_id)
        if o is None or o.firm != c.firm:
            return None, R.UNKNOWN_ORDER
        return o, R.UNKNOWN_ORDER

    def cxl_rej(
        self, c: CancelOrder | ReplaceOrder, reason: RejectReason, o: ROrder | None
    ) -> list[Event]:
        return [
            CancelRejected(
                ts=c.ts,
                session=c.session,
                firm=c.firm,
                cl_ord_id=c.cl_ord_id,
                orig_cl_ord_id=c.orig_cl_ord_id,
                order_id=o.order_id if o else c.order_id,
                symbol=o.symbol if o else c.symbol,
                is_replace=isinstance(c, ReplaceOrder),
                reason=reason,
                cum_qty=o.cum_qty if o else 0,
                leaves_qty=o.qty - o.cum_qty if o else 0,
            )
        ]

    def do_CancelOrder(self, c: CancelOrder) -> list[Event]:
        o, reason = self.find(c)
        if o is None:
            return self.cxl_rej(c, reason, None)
        self.resting.remove(o)
        return [self.canceled(o, c.ts, CancelReason.REQUESTED, c.cl_ord_id, o.cl_ord_id, c.session)]

    def do_ReplaceOrder(self, c: ReplaceOrder) -> list[Event]:
        o, reason = self.find(c)
        if o is None:
            return self.cxl_rej(c, reason, None)
        inst = self.instruments[o.symbol]
        opp = self.book(o.symbol, Side.SELL if o.side == Side.BUY else Side.BUY)
        bad = self.entry_refusal(c, inst, o.session, True)  # a replace is an order entry
        if bad is None and c.qty <= o.cum_qty:
            bad = R.REPLACE_QTY_NOT_ABOVE_CUM_QTY
        elif bad is None and o.post_only and opp and self.acceptable(o.side, c.price, opp[0].price):
            bad = R.POST_ONLY_WOULD_TAKE
        if bad is not None:
            return self.cxl_rej(c, bad, o)
        kept = c.price == o.price and c.qty <= o.qty
        old = o.cl_ord_id
        o.cl_ord_id, o.price, o.qty = c.cl_ord_id, c.price, c.qty
        ev: list[Event] = [
            OrderReplaced(
                ts=c.ts,
                order_id=o.order_id,
                exec_id=self.exec_id(),
                session=o.session,
                firm=o.firm,
                account=o.account,
                cl_ord_id=o.cl_ord_id,
                orig_cl_ord_id=old,
                request_session=c.session,
                symbol=o.symbol,
                side=o.side,
                ord_type=o.ord_type,
                tif=o.tif,
                price=o.price,
                qty=o.qty,
                cum_qty=o.cum_qty,
                leaves_qty=o.qty - o.cum_qty,
                cum_notional=o.cum_notional,
                priority_kept=kept,
            )
        ]
        if not kept:
            self.resting.remove(o)
            self.execute(inst, o, o.price, c.ts, ev)
        return ev

    def cancel_all(
        self, victims: list[ROrder], ts: int, reason: CancelReason, req: str
    ) -> list[Event]:
        ev: list[Event] = []
        for o in sorted(victims, key=lambda o: o.order_id):
            self.resting.remove(o)
            ev.append(self.canceled(o, ts, reason, o.cl_ord_id, "", req))
        return ev

    def do_MassCancel(self, c: MassCancel) -> list[Event]:
        if c.symbol and c.symbol not in self.instruments:
            return [
                MassCancelRejected(
                    ts=c.ts,
                    session=c.session,
                    firm=c.firm,
                    cl_ord_id=c.cl_ord_id,
                    symbol=c.symbol,
                    reason=R.UNKNOWN_INSTRUMENT,
                )
            ]
        victims = [
            o
            for o in self.resting
            if o.firm == c.firm
            and c.symbol in ("", o.symbol)
            and c.account in ("", o.account)
            and c.side in (None, o.side)
            and (not c.session_only or o.session == c.session)
        ]
        ev = self.cancel_all(victims, c.ts, CancelReason.MASS_CANCEL, c.session)
        ev.append(
            MassCancelCompleted(
                ts=c.ts,
                session=c.session,
                firm=c.firm,
                cl_ord_id=c.cl_ord_id,
                symbol=c.symbol,
                account=c.account,
                side=c.side,
                session_only=c.session_only,
                canceled_count=len(victims),
            )
        )
        return ev

    def do_ExpireOrders(self, c: ExpireOrders) -> list[Event]:
        victims = [
            o
            for o in self.resting
            if (o.tif == TimeInForce.GTD and o.expire_ts <= c.ts)
            or (c.include_day and o.tif == TimeInForce.DAY)
        ]
        return self.cancel_all(victims, c.ts, CancelReason.EXPIRED, "")

    def rejected(self, c: object, symbol: str, reason: RejectReason) -> list[Event]:
        ts = getattr(c, "ts", 0)
        return [CommandRejected(ts=ts, command=type(c).__name__, symbol=symbol, reason=reason)]

    def do_AddInstrument(self, c: AddInstrument) -> list[Event]:
        i = c.instrument
        if i.symbol in self.instruments:
            return self.rejected(c, i.symbol, R.DUPLICATE_INSTRUMENT)
        if (
            not i.symbol
            or i.ref_price <= 0
            or i.ref_price > MAX_PRICE
            or i.max_order_qty > MAX_QTY
            or i.band_ppb < 0
            or i.max_order_qty <= 0
            or i.expiry_ts < 0
            or (i.kind == "perpetual" and i.expiry_ts != 0)
        ):
            return self.rejected(c, i.symbol, R.INVALID_INSTRUMENT)
        self.instruments[i.symbol] = RInstrument(
            i.symbol, i.ref_price, i.band_ppb, i.max_order_qty, i.expiry_ts, i.state
        )
        return [InstrumentAdded(ts=c.ts, instrument=i)]

    def state_change(
        self, c: Halt | Resume | ExpireInstrument, allowed: tuple[str, ...], to: InstrumentState
    ) -> list[Event]:
        inst = self.instruments.get(c.symbol)
        if inst is None:
            return self.rejected(c, c.symbol, R.UNKNOWN_INSTRUMENT)
        if inst.state == InstrumentState.EXPIRED:
            return self.rejected(c, c.symbol, R.INSTRUMENT_EXPIRED)
        if inst.state not in allowed:
            return self.rejected(c, c.symbol, R.INVALID_STATE_CHANGE)
        inst.state = to
        ev: list[Event] = [InstrumentStateChanged(ts=c.ts, symbol=c.symbol, state=to)]
        if to == InstrumentState.EXPIRED:
            victims = [o for o in self.resting if o.symbol == c.symbol]
            ev += self.cancel_all(victims, c.ts, CancelReason.EXPIRED, "")
        return ev

    def do_Halt(self, c: Halt) -> list[Event]:
        return self.state_change(c, ("open",), InstrumentState.HALTED)

    def do_Resume(self, c: Resume) -> list[Event]:
        return self.state_change(c, ("halted",), InstrumentState.OPEN)

    def do_ExpireInstrument(self, c: ExpireInstrument) -> list[Event]:
        return self.state_change(c, ("open", "halted"), InstrumentState.EXPIRED)

    def do_SetReferencePrice(self, c: SetReferencePrice) -> list[Event]:
        inst = self.instruments.get(c.symbol)
        if inst is None:
            return self.rejected(c, c.symbol, R.UNKNOWN_INSTRUMENT)
        if c.ref_price <= 0 or c.ref_price > MAX_PRICE:
            return self.rejected(c, c.symbol, R.INVALID_PRICE)
        inst.ref_price = c.ref_price
        return [ReferencePriceChanged(ts=c.ts, symbol=c.symbol, ref_price=c.ref_price)]

    def book_view(self, symbol: str) -> tuple[list[tuple[int, int, int]], ...]:
        """(order_id, price, leaves) per side, in priority order, to compare with the engine."""
        return tuple(
            [(o.order_id, o.price, o.qty - o.cum_qty) for o in self.book(symbol, side)]
            for side in (Side.BUY, Side.SELL)
        )
