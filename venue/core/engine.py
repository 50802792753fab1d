"""The engine: `apply(cmd) -> events`, a pure, deterministic state machine.

Each order command runs three named steps (exchange-core style): pre-trade risk (R1,
`_risk_pre_hold`, for replaces too) → matching (`_match`) → settlement of fills
(R2, `_settle`). R1 and R2 are implemented in `venue.core.derivatives`.

Invariants kept here (checked by `validate_internal_state`):
- Only `cmd.ts` is time; ids come from counters in the state (`next_order_id`, `next_exec_id`,
  `next_trade_id`). Each event that becomes an ExecutionReport consumes one exec id; a trade
  consumes one trade id; an accepted order one order id.
- A refused command (any `...Rejected` event) leaves the state exactly unchanged, counters
  included: every check runs before the first mutation.
- `orders` maps order_id → live order, in ascending order_id (an order enters the index when it
  first rests, at the end of the command that assigned its id, and never re-enters). Every
  indexed order rests in its market's book, and vice versa; `by_session[session][cl_ord_id]`
  indexes the same orders by their current client id.
- The book is never crossed at rest: after each command best bid < best ask.
- Iteration is over lists and insertion-ordered dicts only; hash maps are otherwise used for
  point lookups.

Rules chosen where the issue leaves a choice:
- Reference price: set by `AddInstrument`/`SetReferencePrice`, and after every command that
  traded, set to that command's last trade price. Price checks of a command (band of limit
  prices, band limit of a market order's sweep) use the reference price at the command's start.
  Band half-width = ref_price * band_ppb // 10^9 (rounded towards a tighter band).
- Market orders sweep up to the band limit (ref ± half-width); the remainder is canceled
  (`MARKET_REMAINDER`). With no opposite liquidity inside the band they are refused.
- FOK: refused (`FOK_NOT_FILLABLE`, no state change) unless the whole quantity can trade now,
  counting self-trade prevention: under CANCEL_RESTING the aggressor's own orders are skipped
  (and canceled on execution), under the other modes the sweep stops at the first own order.
- Replace: quantity down at the same price keeps priority; a price change or a quantity up moves
  the order to the tail of its (new) level and it may trade if it crosses. A new quantity
  <= cum_qty is refused (`REPLACE_QTY_NOT_ABOVE_CUM_QTY`). Replace is refused while halted.
  A post-only order replaced to a crossing price is refused (`POST_ONLY_WOULD_TAKE`). The new
  cl_ord_id must not be live in the order's own session (the order keeps its session).
- Unknown vs too late: an `order_id` that was issued but is no longer live is answered
  `TOO_LATE_TO_CANCEL`; a (session, orig_cl_ord_id) that is not live is `UNKNOWN_ORDER` (the
  engine keeps no memory of done orders). Another firm's order is always `UNKNOWN_ORDER`.
- GTD/Day orders expire only through the `ExpireOrders` command; until then they trade.
"""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import Any

from venue.core.book import BookSide, Level, Market, Order, fok_fillable
from venue.core.checks import check_state
from venue.core.commands import (
    AddAccount,
    AddInstrument,
    ApplyFunding,
    CancelOrder,
    Command,
    Deposit,
    ExpireInstrument,
    ExpireOrders,
    FundInsurance,
    Halt,
    Liquidate,
    MassCancel,
    NewOrder,
    PublishStatistics,
    RecordAdminAction,
    ReplaceOrder,
    Resume,
    SetIndexPrice,
    SetMarginMode,
    SetMarkPrice,
    SetReferencePrice,
    SettleInstrument,
    Withdraw,
)
from venue.core.derivatives import _expose
from venue.core.events import (
    CommandRejected,
    Event,
    OrderAccepted,
    OrderFilled,
    OrderReplaced,
)
from venue.core.liquidation import Liquidation
from venue.core.rejects import cancel_rejected, order_rejected
from venue.core.types import (
    MAX_PRICE,
    CancelReason,
    InstrumentState,
    OrdType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
)

__all__ = ["Engine"]

_intern = sys.intern

_BUY = Side.BUY
_LIMIT = OrdType.LIMIT
_MARKET = OrdType.MARKET
_GTD = TimeInForce.GTD
_IOC = TimeInForce.IOC
_FOK = TimeInForce.FOK
_DAY = TimeInForce.DAY
_OPEN = InstrumentState.OPEN
_HALTED = InstrumentState.HALTED
_EXPIRED = InstrumentState.EXPIRED
_CANCEL_RESTING = StpMode.CANCEL_RESTING
_CANCEL_AGGRESSOR = StpMode.CANCEL_AGGRESSOR
_NO_SESSION: dict[str, Order] = {}
# Cancel reasons of the hot paths, bound once (an enum class attribute read costs ~70 ns)
_REQUESTED = CancelReason.REQUESTED
_SELF_TRADE = CancelReason.SELF_TRADE
_MARKET_REMAINDER = CancelReason.MARKET_REMAINDER
_IOC_REMAINDER = CancelReason.IOC_REMAINDER


class Engine(Liquidation):
    """The whole trading state and the only code that changes it.

    Outside the core, `markets` (symbol → `Market`), `orders` (order_id → live `Order`) and
    `by_session` (session → cl_ord_id → live `Order`) may be read for queries (status requests,
    book snapshots) but never mutated; `instrument()` answers the current instrument.
    """

    def __init__(self) -> None:
        super().__init__()
        self._handlers: dict[type[Any], Callable[[Any], list[Event]]] = {
            NewOrder: self._new_order,
            CancelOrder: self._cancel_order,
            ReplaceOrder: self._replace_order,
            MassCancel: self._mass_cancel,
            ExpireOrders: self._expire_orders,
            AddInstrument: self._add_instrument,
            Halt: self._halt,
            Resume: self._resume,
            ExpireInstrument: self._expire_instrument,
            SetReferencePrice: self._set_reference_price,
            AddAccount: self._add_account,
            Deposit: self._deposit,
            Withdraw: self._withdraw,
            SetMarginMode: self._set_margin_mode,
            SetIndexPrice: self._set_index_price,
            SetMarkPrice: self._set_mark_price,
            ApplyFunding: self._apply_funding,
            PublishStatistics: self._publish_statistics,
            Liquidate: self._liquidate,
            SettleInstrument: self._settle_instrument,
            RecordAdminAction: self._record_admin_action,
            FundInsurance: self._fund_insurance,
        }

    # ------------------------------------------------------------------ public surface

    def apply(self, cmd: Command) -> list[Event]:
        """Apply one sequenced command; never raises.

        Field types are those the command struct declares (msgspec checks them on decode).
        A value that is not a command, or a field of the wrong type, is answered with
        `CommandRejected(MALFORMED_COMMAND)` by a last-resort guard (all checks run before
        any mutation, so the state is unchanged).
        """
        handler = self._handlers.get(type(cmd))
        try:
            if handler is not None:
                return handler(cmd)
        except Exception:  # rule 6: a bad command never stops the venue
            pass
        ts = getattr(cmd, "ts", 0)
        return [
            CommandRejected(
                ts=ts if type(ts) is int else 0,
                command=type(cmd).__name__,
                symbol="",
                reason=RejectReason.MALFORMED_COMMAND,
            )
        ]

    def validate_internal_state(self) -> None:
        """Raise AssertionError naming the first broken invariant."""
        check_state(self.markets, self.orders, self.by_session, self.next_order_id)
        self.check_accounts()

    # ------------------------------------------------------------------ R1 / R2

    # The three steps' names (exchange-core style) are bound straight to their implementations
    # in `venue.core.derivatives`, so the hot path pays no extra call for them:
    # R1, pre-trade risk (`_risk_check`): the account must exist and cover the order's
    # worst-case initial margin; reduce-only orders are resized down to the position. Called
    # as `_risk_pre_hold(mkt, o, ts, False, 0, 0, acct)` for a new order and
    # `_risk_pre_hold(mkt, o, ts, True, price, qty, acct)` for a replace (the resting order at
    # its new terms), `acct` being the order's account (None: unknown). Never mutates state
    # when it refuses.
    _risk_pre_hold = Liquidation._risk_check
    # R2, settlement of the fills `events[start:]` (`_settle_fills`): positions, entry
    # prices, realized PnL, fees, isolated margin: `_settle(mkt, events, start)`.
    _settle = Liquidation._settle_fills

    # ------------------------------------------------------------------ orders

    def _new_order(self, cmd: NewOrder) -> list[Event]:
        ts = cmd.ts
        mkt = self.markets.get(cmd.symbol)
        reason: RejectReason | None = None
        side = cmd.side
        is_buy = side == _BUY
        price = cmd.price
        qty = cmd.qty
        ord_type = cmd.ord_type
        tif = cmd.tif
        if not cmd.cl_ord_id:
            reason = RejectReason.INVALID_ORDER
        elif mkt is None:
            reason = RejectReason.UNKNOWN_INSTRUMENT
        elif mkt.state is _EXPIRED or (mkt.expiry_ts and ts >= mkt.expiry_ts):
            reason = RejectReason.INSTRUMENT_EXPIRED
        elif mkt.state is _HALTED:
            reason = RejectReason.INSTRUMENT_HALTED
        elif cmd.cl_ord_id in (per := self.by_session.get(cmd.session, _NO_SESSION)):
            reason = RejectReason.DUPLICATE_CL_ORD_ID
        elif qty <= 0:
            reason = RejectReason.INVALID_QUANTITY
        elif qty > mkt.max_qty:
            reason = RejectReason.QTY_ABOVE_MAXIMUM
        elif ord_type == _LIMIT:
            if not mkt.lo <= price <= mkt.hi:
                if price <= 0 or price > MAX_PRICE:
                    reason = RejectReason.INVALID_PRICE
                else:
                    reason = RejectReason.PRICE_OUTSIDE_BAND
        elif ord_type == _MARKET:
            if price != 0:
                reason = RejectReason.INVALID_PRICE
        else:
            reason = RejectReason.INVALID_ORDER
        if reason is None:
            if tif == _GTD:
                if cmd.expire_ts <= ts:
                    reason = RejectReason.INVALID_TIF
            elif cmd.expire_ts != 0:
                reason = RejectReason.INVALID_TIF
            elif cmd.post_only and (ord_type == _MARKET or tif in (_IOC, _FOK)):
                reason = RejectReason.INVALID_ORDER
        if reason is not None or mkt is None:
            return [order_rejected(cmd, reason or RejectReason.UNKNOWN_INSTRUMENT)]

        opp = mkt.asks if is_buy else mkt.bids
        # Matching bound: resting key (= sign * price) must be >= min_key to trade.
        if ord_type == _LIMIT:
            min_key = opp.sign * price
        else:
            min_key = mkt.buy_key if is_buy else mkt.sell_key
        order_id = self.next_order_id
        session = _intern(cmd.session)
        account = _intern(cmd.account)
        cl_ord_id = cmd.cl_ord_id
        symbol = mkt.instrument.symbol
        o = Order(
            order_id,
            session,
            _intern(cmd.firm),
            account,
            cl_ord_id,
            symbol,
            side,
            ord_type,
            tif,
            price,
            qty,
            0,
            0,
            cmd.expire_ts,
            cmd.post_only,
            cmd.reduce_only,
            cmd.stp_id,
            cmd.stp_mode,
        )
        keys = opp.keys
        crosses = bool(keys) and keys[-1] >= min_key
        # R1: pre-trade risk (the account, None if unknown, is looked up once for R1 and hold)
        acct = self.accounts.get(account)
        reason = self._risk_pre_hold(mkt, o, ts, False, 0, 0, acct)
        if reason is None:
            if cmd.post_only and crosses:
                reason = RejectReason.POST_ONLY_WOULD_TAKE
            elif ord_type == _MARKET and not crosses:
                reason = RejectReason.MARKET_NO_LIQUIDITY
            elif tif == _FOK and not fok_fillable(opp, min_key, o):
                reason = RejectReason.FOK_NOT_FILLABLE
        if reason is not None:
            return [order_rejected(cmd, reason)]
        if acct is None:  # cannot happen: R1 refuses an unknown account
            return [order_rejected(cmd, RejectReason.UNKNOWN_ACCOUNT)]

        self.next_order_id = order_id + 1
        exec_id = self.next_exec_id
        self.next_exec_id = exec_id + 1
        qty = o.qty  # R1 may have resized a reduce-only order
        events: list[Event] = [
            OrderAccepted(
                ts,
                order_id,
                exec_id,
                session,
                o.firm,
                account,
                cl_ord_id,
                symbol,
                side,
                ord_type,
                tif,
                price,
                qty,
                o.expire_ts,
                o.post_only,
                o.reduce_only,
            )
        ]
        if crosses or tif == _IOC or ord_type == _MARKET:
            self._execute(mkt, o, opp, min_key, ts, events)
        else:  # a limit order that does not cross rests (FOK crosses: checked above)
            (mkt.bids if is_buy else mkt.asks).add(o)
            self.orders[order_id] = o
            if per is _NO_SESSION:
                per = self.by_session[session] = {}
            per[cl_ord_id] = o
            # `_hold(o)`, inlined: a new order joins its account's index and exposure
            acct.orders[order_id] = o
            _expose(acct, symbol, side, qty, price)
        return events

    def _execute(  # noqa: PLR0917 -- hot-path helper, called positionally
        self, mkt: Market, o: Order, opp: BookSide, min_key: int, ts: int, events: list[Event]
    ) -> bool:
        """Match `o` as aggressor, settle, then rest or cancel its remainder.

        Returns True if the order rests (it is then in the book and the indexes).
        """
        stopped = False
        keys = opp.keys
        if keys and keys[-1] >= min_key:
            start = len(events)
            stopped = self._match(mkt, o, opp, min_key, ts, events)
            self._settle(mkt, events, start)  # R2
        if o.cum_qty < o.qty:
            if stopped:
                reason = _SELF_TRADE
            elif o.ord_type == _MARKET:
                reason = _MARKET_REMAINDER
            elif o.tif == _IOC:
                reason = _IOC_REMAINDER
            elif o.tif == _FOK:  # cannot happen: FOK was checked fillable
                reason = CancelReason.FOK_NOT_FILLED
            else:
                (mkt.bids if o.side == _BUY else mkt.asks).add(o)
                self._index(o)
                return True
            events.append(self._canceled(o, ts, reason, o.cl_ord_id, "", ""))
        return False

    def _match(  # noqa: PLR0917 -- hot-path helper, called positionally
        self, mkt: Market, o: Order, opp: BookSide, min_key: int, ts: int, events: list[Event]
    ) -> bool:
        """Trade `o` against `opp` in price-time priority down to `min_key`.

        Returns True if self-trade prevention stopped the aggressor (its remainder must be
        canceled). Resting orders that fill completely or are canceled by STP leave the book.
        """
        keys = opp.keys
        levels = opp.levels
        sign = opp.sign
        stp_id = o.stp_id
        firm = o.firm
        append = events.append
        o_qty = o.qty
        o_cum = o.cum_qty
        o_notional = o.cum_notional
        last_px = 0
        stopped = False
        by_session = self.by_session
        orders = self.orders
        while keys:
            key = keys[-1]
            if key < min_key:
                break
            px = sign * key
            level: Level = levels[px]
            lorders = level.orders
            n = len(lorders)
            i = 0
            traded = 0
            while i < n:
                r = lorders[i]
                r_leaves = r.qty - r.cum_qty
                if stp_id and r.stp_id == stp_id and r.firm == firm:
                    mode = o.stp_mode
                    if mode == _CANCEL_AGGRESSOR:
                        stopped = True
                        break
                    i += 1
                    traded += r_leaves
                    del orders[r.order_id]
                    del by_session[r.session][r.cl_ord_id]
                    append(self._canceled(r, ts, _SELF_TRADE, r.cl_ord_id, "", ""))
                    if mode == _CANCEL_RESTING:
                        continue
                    stopped = True
                    break
                q = o_qty - o_cum
                if r_leaves < q:  # noqa: PLR1730 -- cheaper than a min() call
                    q = r_leaves
                o_cum += q
                notional = px * q
                o_notional += notional
                r.cum_qty += q
                r.cum_notional += notional
                traded += q
                trade_id = self.next_trade_id
                self.next_trade_id = trade_id + 1
                exec_id = self.next_exec_id
                self.next_exec_id = exec_id + 2
                append(
                    OrderFilled(
                        ts,
                        o.order_id,
                        exec_id,
                        trade_id,
                        o.session,
                        firm,
                        o.account,
                        o.cl_ord_id,
                        o.symbol,
                        o.side,
                        o.ord_type,
                        o.tif,
                        o.price,
                        o_qty,
                        px,
                        q,
                        o_cum,
                        o_qty - o_cum,
                        o_notional,
                        True,
                    )
                )
                append(
                    OrderFilled(
                        ts,
                        r.order_id,
                        exec_id + 1,
                        trade_id,
                        r.session,
                        r.firm,
                        r.account,
                        r.cl_ord_id,
                        r.symbol,
                        r.side,
                        r.ord_type,
                        r.tif,
                        r.price,
                        r.qty,
                        px,
                        q,
                        r.cum_qty,
                        r.qty - r.cum_qty,
                        r.cum_notional,
                        False,
                    )
                )
                last_px = px
                if r.cum_qty == r.qty:
                    i += 1
                    del orders[r.order_id]
                    del by_session[r.session][r.cl_ord_id]
                if o_cum == o_qty:
                    break
            if i:
                del lorders[:i]
            level.qty -= traded
            if not lorders:
                del levels[px]
                keys.pop()
            if stopped or o_cum == o_qty:
                break
        o.cum_qty = o_cum
        o.cum_notional = o_notional
        if last_px and last_px != mkt.ref_price:
            mkt.set_ref_price(last_px)
        return stopped

    def _cancel_order(self, cmd: CancelOrder) -> list[Event]:
        per = self.by_session.get(cmd.session, _NO_SESSION)  # o's own session's index
        o = per.get(cmd.orig_cl_ord_id)
        if o is None or cmd.order_id or o.firm != cmd.firm:
            o, reason = self._find(cmd.session, cmd.firm, cmd.orig_cl_ord_id, cmd.order_id)
            if o is None:
                return [cancel_rejected(cmd, reason, False)]
            per = self.by_session[o.session]
        mkt = self.markets[o.symbol]
        (mkt.bids if o.side == _BUY else mkt.asks).remove(o)
        del self.orders[o.order_id]
        del per[o.cl_ord_id]
        self._drop(o)
        return [self._canceled(o, cmd.ts, _REQUESTED, cmd.cl_ord_id, o.cl_ord_id, cmd.session)]

    def _replace_order(self, cmd: ReplaceOrder) -> list[Event]:
        per = self.by_session.get(cmd.session, _NO_SESSION)  # o's own session's index
        o = per.get(cmd.orig_cl_ord_id)
        if o is None or cmd.order_id or o.firm != cmd.firm:
            o, reason0 = self._find(cmd.session, cmd.firm, cmd.orig_cl_ord_id, cmd.order_id)
            if o is None:
                return [cancel_rejected(cmd, reason0, True)]
            per = self.by_session[o.session]
        mkt = self.markets[o.symbol]
        acct = self.accounts[o.account]
        ts = cmd.ts
        price = cmd.price
        qty = cmd.qty
        is_buy = o.side == _BUY
        opp = mkt.asks if is_buy else mkt.bids
        reason: RejectReason | None = None
        if not cmd.cl_ord_id:
            reason = RejectReason.INVALID_ORDER
        elif mkt.state is _EXPIRED:
            reason = RejectReason.INSTRUMENT_EXPIRED
        elif mkt.state is _HALTED:
            reason = RejectReason.INSTRUMENT_HALTED
        elif cmd.cl_ord_id in per:
            reason = RejectReason.DUPLICATE_CL_ORD_ID
        elif qty <= 0:
            reason = RejectReason.INVALID_QUANTITY
        elif qty > mkt.max_qty:
            reason = RejectReason.QTY_ABOVE_MAXIMUM
        elif not mkt.lo <= price <= mkt.hi:
            if price <= 0 or price > MAX_PRICE:
                reason = RejectReason.INVALID_PRICE
            else:
                reason = RejectReason.PRICE_OUTSIDE_BAND
        elif qty <= o.cum_qty:
            reason = RejectReason.REPLACE_QTY_NOT_ABOVE_CUM_QTY
        elif o.post_only and (keys := opp.keys) and keys[-1] >= opp.sign * price:
            reason = RejectReason.POST_ONLY_WOULD_TAKE
        else:
            reason = self._risk_pre_hold(mkt, o, ts, True, price, qty, acct)  # R1
        if reason is not None:
            return [cancel_rejected(cmd, reason, True, o)]

        own = mkt.bids if is_buy else mkt.asks
        old_cl_ord_id = o.cl_ord_id
        del per[old_cl_ord_id]
        o.cl_ord_id = cl_ord_id = cmd.cl_ord_id
        per[cl_ord_id] = o
        kept = price == o.price and qty <= o.qty
        crosses = False
        if kept:
            self._reexpose(acct, o, price, qty)
            own.levels[o.price].qty -= o.qty - qty
            o.qty = qty
        else:  # o stays in the order index: its place there is by order_id
            keys = opp.keys
            crosses = bool(keys) and keys[-1] >= opp.sign * price
            if crosses:
                self._drop(o)  # its margin exposure is re-held if it still rests after trading
                own.remove(o)
                o.price = price
                o.qty = qty
            else:  # no cross: straight to the tail of its new level
                self._reexpose(acct, o, price, qty)
                own.move(o, price, qty)
        exec_id = self.next_exec_id
        self.next_exec_id = exec_id + 1
        events: list[Event] = [
            OrderReplaced(
                ts,
                o.order_id,
                exec_id,
                o.session,
                o.firm,
                o.account,
                cl_ord_id,
                old_cl_ord_id,
                cmd.session,
                o.symbol,
                o.side,
                o.ord_type,
                o.tif,
                price,
                qty,
                o.cum_qty,
                qty - o.cum_qty,
                o.cum_notional,
                kept,
            )
        ]
        if crosses and not self._execute(mkt, o, opp, opp.sign * price, ts, events):
            self._unindex(o)
        return events
