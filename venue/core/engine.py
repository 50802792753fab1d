"""The engine: `apply(cmd) -> events`, a pure, deterministic state machine.

Composition: one `EngineState` (`venue.core.state`) and the collaborators that work on it,
each with its inputs given explicitly and testable on its own:
- `Margin` (`venue.core.risk`): margin figures, pre-trade risk (R1), the liquidation predicate;
- `Matching` (`venue.core.matching`): price-time matching of one aggressor;
- `Ledger` (`venue.core.ledger`): settlement of fills (R2), balances, the fund, account commands;
- `Liquidation` (`venue.core.liquidation`): the Liquidate command, insurance fund, ADL;
- `Prices` (`venue.core.prices`): index and mark prices, funding, final settlement;
- `Queries` (`venue.core.queries`): read-only views;
- `Quotes` (`venue.core.quotes`): mass quotes and quote cancels (quote sides rest as orders;
  they run R1 only, being passive, and trade as resting orders through match and R2);
- `Mmp` (`venue.core.mmp`): market-maker protection, checked after R2 of each aggressor;
and the plain command functions of `venue.core.instruments` and `venue.core.orders`.

Each order command runs three named steps (exchange-core style), in this module: pre-trade
risk (R1, `margin.pre_trade`, for replaces too) → matching (`matching.match`) → settlement of
fills (R2, `ledger.settle`); see `_new_order`, `_replace_order` and `_execute`.

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
  <= cum_qty is refused (`REPLACE_QTY_NOT_ABOVE_CUM_QTY`). A replace passes the new order's
  ladder (`venue.core.orders.entry_refusal`): refused while halted, and once the instrument
  is expired, by state or by time (`ts >= expiry_ts`, before `ExpireInstrument` arrives).
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
from functools import partial
from typing import Any

from venue.core.accounts import Account, AccountView, PositionView, expose, reexpose
from venue.core.book import BookSide, Market, Order, fok_fillable
from venue.core.checks import check_state
from venue.core.commands import (
    AddAccount,
    AddInstrument,
    AdjustIsolatedMargin,
    ApplyFunding,
    CancelOrder,
    CancelSessionOrders,
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
    SetOptionMarks,
    SetReferencePrice,
    SettleInstrument,
    Withdraw,
)
from venue.core.events import (
    CommandRejected,
    Event,
    OrderAccepted,
    OrderReplaced,
)
from venue.core.instruments import (
    add_instrument,
    expire_instrument,
    halt,
    resume,
    set_reference_price,
)
from venue.core.isolated import adjust_isolated_margin
from venue.core.ledger import Ledger
from venue.core.liquidation import Liquidation
from venue.core.matching import Matching
from venue.core.mmp import Mmp
from venue.core.orders import cancel_session_orders, entry_refusal, expire_orders, mass_cancel
from venue.core.prices import Prices
from venue.core.queries import Queries
from venue.core.quote_types import MassQuote, QuoteCancel, ResetMmp, SetMmp
from venue.core.quotes import Quotes, check_quotes
from venue.core.rejects import cancel_rejected, order_rejected
from venue.core.risk import Margin
from venue.core.state import EngineState
from venue.core.types import (
    CancelReason,
    Instrument,
    OrdType,
    RejectReason,
    Side,
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
_NO_SESSION: dict[str, Order] = {}
# Cancel reasons of the hot paths, bound once (an enum class attribute read costs ~70 ns)
_REQUESTED = CancelReason.REQUESTED
_SELF_TRADE = CancelReason.SELF_TRADE
_MARKET_REMAINDER = CancelReason.MARKET_REMAINDER
_IOC_REMAINDER = CancelReason.IOC_REMAINDER


class Engine:
    """The whole trading state and the only code that changes it.

    Outside the core, `markets` (symbol → `Market`), `orders` (order_id → live `Order`),
    `by_session` (session → cl_ord_id → live `Order`) and `accounts` may be read for queries
    (status requests, book snapshots) but never mutated; `instrument()` answers the current
    instrument.
    """

    def __init__(self, state: EngineState | None = None) -> None:
        self.state = state = state if state is not None else EngineState()
        self.margin = margin = Margin(state)
        self.ledger = ledger = Ledger(state, margin)
        self.matching = Matching(state)
        self.liquidation = Liquidation(state, margin, ledger, self._execute)
        self.prices = prices = Prices(state, ledger)
        self.queries = Queries(state, margin)
        self.mmp = mmp = Mmp(state)
        self.quotes = quotes = Quotes(state, margin, mmp)
        self._handlers: dict[type[Any], Callable[[Any], list[Event]]] = {
            NewOrder: self._new_order,
            CancelOrder: self._cancel_order,
            ReplaceOrder: self._replace_order,
            MassCancel: partial(mass_cancel, state),
            CancelSessionOrders: partial(cancel_session_orders, state),
            ExpireOrders: partial(expire_orders, state),
            AddInstrument: partial(add_instrument, state),
            Halt: partial(halt, state),
            Resume: partial(resume, state),
            ExpireInstrument: partial(expire_instrument, state),
            SetReferencePrice: partial(set_reference_price, state),
            AddAccount: ledger.add_account,
            Deposit: ledger.deposit,
            Withdraw: ledger.withdraw,
            SetMarginMode: ledger.set_margin_mode,
            AdjustIsolatedMargin: partial(adjust_isolated_margin, state, margin),
            SetIndexPrice: prices.set_index_price,
            SetMarkPrice: prices.set_mark_price,
            SetOptionMarks: prices.set_option_marks,
            ApplyFunding: prices.apply_funding,
            PublishStatistics: prices.publish_statistics,
            Liquidate: self.liquidation.liquidate,
            SettleInstrument: prices.settle_instrument,
            RecordAdminAction: prices.record_admin_action,
            FundInsurance: ledger.fund_insurance,
            MassQuote: quotes.mass_quote,
            QuoteCancel: quotes.quote_cancel,
            SetMmp: mmp.set_mmp,
            ResetMmp: mmp.reset_mmp,
        }

    # ------------------------------------------------------------------ public surface

    def apply(self, cmd: Command) -> list[Event]:
        """Apply one sequenced command.

        `cmd`'s fields must have the types its struct declares: the sequencer applies the
        command decoded from the bytes it journals, which msgspec has checked field by field
        (an ill-typed command is refused there, before it takes a sequence number). A value
        that is not a command is answered `CommandRejected(MALFORMED_COMMAND)`. An exception
        from a handler is an internal error: it propagates, and the caller must stop (the
        state may be half changed; `venue.sequencer` stops the venue).
        """
        handler = self._handlers.get(type(cmd))
        if handler is None:
            ts = getattr(cmd, "ts", 0)
            return [
                CommandRejected(
                    ts=ts if type(ts) is int else 0,
                    command=type(cmd).__name__,
                    symbol="",
                    reason=RejectReason.MALFORMED_COMMAND,
                )
            ]
        return handler(cmd)

    def validate_internal_state(self) -> None:
        """Raise AssertionError naming the first broken invariant."""
        state = self.state
        check_state(state.markets, state.orders, state.by_session, state.next_order_id)
        self.queries.check_accounts()
        check_quotes(state)

    def snapshot(self) -> bytes:
        """msgspec msgpack of the whole state, in canonical order (see `venue.core.snapshot`)."""
        return self.state.snapshot()

    def state_hash(self) -> str:
        """Hex sha256 of the canonical snapshot encoding."""
        return self.state.state_hash()

    @classmethod
    def restore(cls, data: bytes) -> Engine:
        """Rebuild an engine from `snapshot()` bytes (same `state_hash()`)."""
        return cls(EngineState.restore(data))

    # The state, read-only outside the core.

    @property
    def markets(self) -> dict[str, Market]:
        return self.state.markets

    @property
    def orders(self) -> dict[int, Order]:
        return self.state.orders

    @property
    def by_session(self) -> dict[str, dict[str, Order]]:
        return self.state.by_session

    @property
    def accounts(self) -> dict[str, Account]:
        return self.state.accounts

    @property
    def insurance_fund(self) -> int:
        return self.state.insurance_fund

    @property
    def fees_collected(self) -> int:
        return self.state.fees_collected

    @property
    def net_deposits(self) -> int:
        return self.state.net_deposits

    # Queries (`venue.core.queries.Queries`).

    def instrument(self, symbol: str) -> Instrument | None:
        return self.queries.instrument(symbol)

    def mark_price(self, symbol: str) -> int | None:
        return self.queries.mark_price(symbol)

    def index_price(self, symbol: str) -> int | None:
        return self.queries.index_price(symbol)

    def index_stale(self, symbol: str, ts: int) -> bool:
        return self.queries.index_stale(symbol, ts)

    def account_view(self, account: str) -> AccountView | None:
        return self.queries.account_view(account)

    def position_view(self, account: str, symbol: str) -> PositionView | None:
        return self.queries.position_view(account, symbol)

    def liquidatable(self, account: str) -> bool:
        return self.queries.liquidatable(account)

    def open_interest(self, symbol: str) -> tuple[int, int]:
        return self.queries.open_interest(symbol)

    def total_money(self) -> int:
        return self.queries.total_money()

    # ------------------------------------------------------------------ orders

    def _new_order(self, cmd: NewOrder) -> list[Event]:
        state = self.state
        ts = cmd.ts
        mkt = state.markets.get(cmd.symbol)
        side = cmd.side
        is_buy = side == _BUY
        price = cmd.price
        qty = cmd.qty
        ord_type = cmd.ord_type
        tif = cmd.tif
        per = state.by_session.get(cmd.session, _NO_SESSION)
        reason = entry_refusal(mkt, ts, cmd.cl_ord_id, per, ord_type, price, qty)
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
        order_id = state.next_order_id
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
        acct = state.accounts.get(account)
        reason = self.margin.pre_trade(mkt, o, ts, acct)
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

        state.next_order_id = order_id + 1
        exec_id = state.next_exec_id
        state.next_exec_id = exec_id + 1
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
            state.orders[order_id] = o
            if per is _NO_SESSION:
                per = state.by_session[session] = {}
            per[cl_ord_id] = o
            # `state.hold(o)`, inlined: a new order joins its account's index and exposure
            acct.orders[order_id] = o
            expose(acct, symbol, side, qty, price)
        return events

    def _execute(  # noqa: PLR0917 -- hot-path helper, called positionally
        self, mkt: Market, o: Order, opp: BookSide, min_key: int, ts: int, events: list[Event]
    ) -> bool:
        """Match `o` as aggressor, settle its fills (R2), then rest or cancel its remainder.
        The order path after R1, for new orders, replaces that cross, and liquidation orders.

        Returns True if the order rests (it is then in the book and the indexes).
        """
        stopped = False
        keys = opp.keys
        if keys and keys[-1] >= min_key:
            start = len(events)
            stopped = self.matching.match(mkt, o, opp, min_key, ts, events)
            self.ledger.settle(mkt, events, start)  # R2
            if self.state.mmp:  # market-maker protection: counts quote fills, may trigger
                self.mmp.after_fills(events, start, ts)
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
                self.state.index(o)
                return True
            events.append(self.state.canceled(o, ts, reason, o.cl_ord_id, "", ""))
        return False

    def _cancel_order(self, cmd: CancelOrder) -> list[Event]:
        state = self.state
        per = state.by_session.get(cmd.session, _NO_SESSION)  # o's own session's index
        o = per.get(cmd.orig_cl_ord_id)
        if o is None or cmd.order_id or o.firm != cmd.firm:
            o, reason = state.find(cmd.session, cmd.firm, cmd.orig_cl_ord_id, cmd.order_id)
            if o is None:
                return [cancel_rejected(cmd, reason, False)]
            per = state.by_session[o.session]
        mkt = state.markets[o.symbol]
        (mkt.bids if o.side == _BUY else mkt.asks).remove(o)
        del state.orders[o.order_id]
        del per[o.cl_ord_id]
        state.drop(o)
        return [state.canceled(o, cmd.ts, _REQUESTED, cmd.cl_ord_id, o.cl_ord_id, cmd.session)]

    def _replace_order(self, cmd: ReplaceOrder) -> list[Event]:
        state = self.state
        per = state.by_session.get(cmd.session, _NO_SESSION)  # o's own session's index
        o = per.get(cmd.orig_cl_ord_id)
        if o is None or cmd.order_id or o.firm != cmd.firm:
            o, reason0 = state.find(cmd.session, cmd.firm, cmd.orig_cl_ord_id, cmd.order_id)
            if o is None:
                return [cancel_rejected(cmd, reason0, True)]
            per = state.by_session[o.session]
        mkt = state.markets[o.symbol]
        acct = state.accounts[o.account]
        ts = cmd.ts
        price = cmd.price
        qty = cmd.qty
        is_buy = o.side == _BUY
        opp = mkt.asks if is_buy else mkt.bids
        # The new order entry's ladder, then what only a replace has.
        reason = entry_refusal(mkt, ts, cmd.cl_ord_id, per, o.ord_type, price, qty)
        if reason is None:
            if qty <= o.cum_qty:
                reason = RejectReason.REPLACE_QTY_NOT_ABOVE_CUM_QTY
            elif o.post_only and (keys := opp.keys) and keys[-1] >= opp.sign * price:
                reason = RejectReason.POST_ONLY_WOULD_TAKE
            else:
                reason = self.margin.pre_trade(mkt, o, ts, acct, True, price, qty)  # R1
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
            reexpose(acct, o, price, qty)
            own.levels[o.price].qty -= o.qty - qty
            o.qty = qty
        else:  # o stays in the order index: its place there is by order_id
            keys = opp.keys
            crosses = bool(keys) and keys[-1] >= opp.sign * price
            if crosses:
                state.drop(o)  # its margin exposure is re-held if it still rests after trading
                own.remove(o)
                o.price = price
                o.qty = qty
            else:  # no cross: straight to the tail of its new level
                reexpose(acct, o, price, qty)
                own.move(o, price, qty)
        exec_id = state.next_exec_id
        state.next_exec_id = exec_id + 1
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
            state.unindex(o)
        return events
