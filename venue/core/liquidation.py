"""`Liquidation`: the Liquidate command, the insurance fund, and auto-deleveraging (ADL).

`Liquidate(account)` (submitted by the risk monitor) runs only when the account is below
maintenance margin at mark: its cross equity under its cross maintenance margin, or an isolated
position's margin + unrealized PnL under that position's maintenance margin. Then:

1. `LiquidationStarted`; every open order of the account is canceled (reason LIQUIDATION).
2. Cross, partial first: if closing k lots of one cross position (smallest such k, found by
   bisection, MM at mark) would bring the maintenance margin within equity, only k lots are
   sent to the book (step 3a); if the account is then healthy, it is done (`full=False`).
3. Otherwise every position concerned is closed in full, each in up to three steps:
   a. an IOC limit order of session `LIQUIDATION` (cl_ord_id `LIQ-<order_id>`, reduce-only)
      against the book, no worse than the bankruptcy price (the price at which the
      position's backing equity is zero; rounded in the account's favour). Its events are the
      ordinary OrderAccepted / OrderFilled / OrderCanceled, so the owner gets
      ExecutionReports; the other side trades with it as with any order (usual fees);
   b. if some is left and the insurance fund is positive, an IOC no worse than the price at
      which the loss beyond the bankruptcy price equals the fund's balance (the fund then pays
      that shortfall);
   c. what is still left is auto-deleveraged: the opposite positions are ranked by BitMEX's
      published rule (`adl_score`: PnL% x effective leverage when PnL% > 0, PnL% / effective
      leverage when PnL% <= 0; PnL% = upnl / entry value, effective leverage = mark value /
      the equity backing the position), highest first (positions whose backing equity is
      not positive last; equal scores by account creation order, the older account first),
      and closed against the liquidated position at its bankruptcy price (`AdlExecuted`,
      no fee).
4. Settlement with the fund: after a full close, the money left (the cross balance, or what
   closing an isolated position returned) goes to the fund (`LIQUIDATION_SURPLUS`). Money
   missing is covered first by waiving the taker fees of the liquidation orders that the
   account could not pay (`LIQUIDATION_FEE_WAIVED`: fee revenue gives them back; the fund
   never pays a fee), then by the fund, up to its balance (`INSURANCE_PAYOUT`). Each appears
   as `BalanceChanged` (+ `InsuranceFundChanged` for the fund). Then `PositionLiquidated`
   per position and `LiquidationCompleted`.

Invariants kept here: money is conserved (every transfer has two sides); the fund never goes
negative and pays only a price loss beyond the bankruptcy price, never a fee; a fully
liquidated account never ends below zero because of fees (book and ADL closes are at the
bankruptcy price or better, which leaves it at zero or more before fees, and the fees it
cannot pay are waived), and below zero at all only by a price loss the fund could not cover;
open interest stays balanced (ADL trades two positions against each other). A refused
Liquidate (`NOT_LIQUIDATABLE`, `INDEX_STALE`, `UNKNOWN_ACCOUNT`) changes nothing.
Liquidation pauses while an index it needs is stale.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from fractions import Fraction

from venue.core.accounts import Account, Position, upnl
from venue.core.book import BookSide, Market, Order
from venue.core.commands import Liquidate
from venue.core.events import (
    AdlExecuted,
    Event,
    LiquidationCompleted,
    LiquidationStarted,
    OrderAccepted,
    OrderFilled,
    PositionLiquidated,
)
from venue.core.ledger import Ledger, account_rejected
from venue.core.risk import Margin, stale
from venue.core.state import EngineState
from venue.core.types import (
    LIQUIDATION_SESSION,
    MAX_PRICE,
    BalanceReason,
    CancelReason,
    OrdType,
    RejectReason,
    Side,
    StpMode,
    TimeInForce,
)

__all__ = ["Execute", "Liquidation", "adl_score"]

Execute = Callable[[Market, Order, BookSide, int, int, list[Event]], bool]
"""The engine's order path after R1: `execute(mkt, o, opp, min_key, ts, events)` matches
`o`, settles its fills (R2) and rests or cancels the remainder; True if `o` rests."""


def adl_score(upnl: int, entry_value: int, mark_value: int, equity: int) -> Fraction:
    """BitMEX's published ADL ranking of one position (exact):

        PnL% = upnl / |entry value|, effective leverage = |mark value| / equity
        score = PnL% x effective leverage   if PnL% > 0
              = PnL% / effective leverage   if PnL% <= 0

    `equity` is the money backing the position above its bankruptcy (mark value minus
    bankrupt value: its isolated margin + upnl, or the account's cross equity); > 0, as is
    `entry_value`. The most profitable, most leveraged positions score highest; among
    losing ones the least losing per unit of leverage."""
    pnl = Fraction(upnl, entry_value)
    leverage = Fraction(mark_value, equity)
    if pnl > 0:
        return pnl * leverage
    return pnl / leverage


class Liquidation:
    """The Liquidate command. Its orders go through the engine's own order path (`execute`);
    money moves through the `Ledger`; health is `Margin.below_maintenance`."""

    def __init__(
        self, state: EngineState, margin: Margin, ledger: Ledger, execute: Execute
    ) -> None:
        self.state = state
        self.margin = margin
        self.ledger = ledger
        self.execute = execute

    def liquidate(self, cmd: Liquidate) -> list[Event]:
        state = self.state
        acct = state.accounts.get(cmd.account)
        if acct is None:
            return account_rejected(cmd, cmd.account, "", RejectReason.UNKNOWN_ACCOUNT)
        ts = cmd.ts
        for pos in acct.positions.values():
            if stale(state.markets[pos.symbol], ts):
                return account_rejected(cmd, cmd.account, pos.symbol, RejectReason.INDEX_STALE)
        cross, isolated = self.margin.below_maintenance(acct)
        if not cross and not isolated:
            return account_rejected(cmd, cmd.account, "", RejectReason.NOT_LIQUIDATABLE)
        equity, mm = self.margin.cross_mm(acct)
        events: list[Event] = [
            LiquidationStarted(ts=ts, account=acct.account, equity=equity, maintenance_margin=mm)
        ]
        # Ascending order_id (the order index's order), not the account index's insertion
        # order, which a snapshot does not keep: replay from a snapshot gives the same events.
        name = acct.account
        for o in [o for o in state.orders.values() if o.account == name]:
            state.cancel_resting(o, ts, CancelReason.LIQUIDATION, "", events)
        full = True
        if cross:
            healthy, fees = self._partial(acct, ts, events)
            full = not healthy
            if full:
                for pos in [p for p in acct.positions.values() if not p.isolated]:
                    fees += self._close_fully(acct, pos, ts, events)
                self._settle_with_fund(acct, acct.balance, fees, ts, events)
        for pos in isolated:
            before = acct.balance
            fees = self._close_fully(acct, pos, ts, events)
            self._settle_with_fund(acct, acct.balance - before, fees, ts, events)
        equity, mm = self.margin.cross_mm(acct)
        events.append(
            LiquidationCompleted(
                ts=ts,
                account=acct.account,
                balance=acct.balance,
                equity=equity,
                maintenance_margin=mm,
                full=full,
            )
        )
        return events

    # ------------------------------------------------------------------ steps

    def _partial(self, acct: Account, ts: int, events: list[Event]) -> tuple[bool, int]:
        """Close part of one cross position if that restores health. Returns (it did, the
        fees its order paid)."""
        equity, mm = self.margin.cross_mm(acct)
        for pos in [p for p in acct.positions.values() if not p.isolated]:
            mkt = self.state.markets[pos.symbol]
            own = self.margin.mm(pos, mkt)
            n = abs(pos.size)
            sign = 1 if pos.size > 0 else -1
            mm_size = self.margin.mm_size
            lo, hi = 1, n  # smallest k with mm - own + MM(n - k) <= equity
            if mm - own + mm_size(mkt, sign * (n - hi)) > equity:
                continue
            while lo < hi:
                mid = (lo + hi) // 2
                if mm - own + mm_size(mkt, sign * (n - mid)) <= equity:
                    hi = mid
                else:
                    lo = mid + 1
            if lo >= n:
                continue
            traded, fees = self._book_close(acct, pos, mkt, lo, None, ts, events)
            events.append(
                PositionLiquidated(
                    ts=ts,
                    account=acct.account,
                    symbol=pos.symbol,
                    bankruptcy_price=self._limit(acct, pos, mkt, 0),
                    book_qty=traded,
                    adl_qty=0,
                    size=pos.size,
                )
            )
            cross, _ = self.margin.below_maintenance(acct)
            return not cross, fees
        return False, 0

    def _limit(self, acct: Account, pos: Position, mkt: Market, fund: int) -> int:
        """Worst acceptable price (ticks) to close `pos`: where the backing equity reaches
        -`fund` (the bankruptcy price for fund == 0), rounded in the account's (and the
        fund's) favour, within 1..MAX_PRICE."""
        bp = self.margin.price_where(acct, pos, mkt, maintenance=False)
        long = pos.size > 0
        if bp is None:
            return 1 if long else MAX_PRICE
        if fund:
            bp -= Fraction(fund, abs(pos.size) * mkt.factor) * (1 if long else -1)
        price = math.ceil(bp) if long else math.floor(bp)
        return min(MAX_PRICE, max(1, price))

    def _book_close(  # noqa: PLR0917 -- private step
        self,
        acct: Account,
        pos: Position,
        mkt: Market,
        qty: int,
        limit: int | None,
        ts: int,
        events: list[Event],
    ) -> tuple[int, int]:
        """Send an IOC of session LIQUIDATION for `qty` lots closing `pos`, no worse than
        `limit` (default: the bankruptcy price). Returns (the lots traded, the fees it paid)."""
        if limit is None:
            limit = self._limit(acct, pos, mkt, 0)
        side = Side.SELL if pos.size > 0 else Side.BUY
        opp = mkt.bids if side == Side.SELL else mkt.asks
        if not opp.keys or opp.keys[-1] < opp.sign * limit:
            return 0, 0
        state = self.state
        order_id = state.next_order_id
        state.next_order_id = order_id + 1
        o = Order(
            order_id,
            LIQUIDATION_SESSION,
            acct.firm,
            acct.account,
            f"LIQ-{order_id}",
            mkt.instrument.symbol,
            side,
            OrdType.LIMIT,
            TimeInForce.IOC,
            limit,
            qty,
            0,
            0,
            0,
            False,
            True,
            0,
            StpMode.CANCEL_AGGRESSOR,
        )
        exec_id = state.next_exec_id
        state.next_exec_id = exec_id + 1
        events.append(
            OrderAccepted(
                ts,
                order_id,
                exec_id,
                o.session,
                o.firm,
                o.account,
                o.cl_ord_id,
                o.symbol,
                side,
                o.ord_type,
                o.tif,
                limit,
                qty,
                0,
                False,
                True,
            )
        )
        start = len(events)
        self.execute(mkt, o, opp, opp.sign * limit, ts, events)
        fee_of = self.ledger.fee_of
        fees = 0
        for e in events[start:]:
            if type(e) is OrderFilled and e.order_id == order_id:
                fees += fee_of(acct, mkt, e.last_qty, e.last_px, True)
        return o.cum_qty, fees

    def _close_fully(self, acct: Account, pos: Position, ts: int, events: list[Event]) -> int:
        """Close `pos` in full (book, fund-backed book, ADL). Returns the fees paid."""
        mkt = self.state.markets[pos.symbol]
        symbol = pos.symbol
        bankruptcy = self._limit(acct, pos, mkt, 0)
        book, fees = self._book_close(acct, pos, mkt, abs(pos.size), bankruptcy, ts, events)
        if pos.size and self.state.insurance_fund > 0:
            limit = self._limit(acct, pos, mkt, self.state.insurance_fund)
            more, more_fees = self._book_close(acct, pos, mkt, abs(pos.size), limit, ts, events)
            book += more
            fees += more_fees
        adl = 0
        if pos.size:
            adl = self._adl(acct, pos, mkt, ts, events)
        events.append(
            PositionLiquidated(
                ts=ts,
                account=acct.account,
                symbol=symbol,
                bankruptcy_price=bankruptcy,
                book_qty=book,
                adl_qty=adl,
                size=pos.size,
            )
        )
        return fees

    def _adl_ranking(self, acct: Account, pos: Position, mkt: Market) -> list[Account]:
        """Opposite positions in ADL order (`adl_score`, highest first); positions whose
        backing equity is not positive last; ties by account creation order."""
        symbol = pos.symbol
        scored: list[tuple[int, Fraction, int, Account]] = []
        for i, other in enumerate(self.state.accounts.values()):
            op = other.positions.get(symbol)
            if other is acct or op is None or (op.size > 0) == (pos.size > 0):
                continue
            u = upnl(op, mkt)
            equity = op.margin + u if op.isolated else self.margin.cross_equity(other)
            entry = abs(op.cost) * mkt.factor
            if equity <= 0 or entry == 0:
                scored.append((1, Fraction(0), i, other))
                continue
            score = adl_score(u, entry, abs(op.size) * mkt.mark * mkt.factor, equity)
            scored.append((0, -score, i, other))
        scored.sort(key=lambda t: (t[0], t[1], t[2]))
        return [t[3] for t in scored]

    def _adl(self, acct: Account, pos: Position, mkt: Market, ts: int, events: list[Event]) -> int:
        price = self._limit(acct, pos, mkt, 0)
        side = Side.SELL if pos.size > 0 else Side.BUY
        total = 0
        for rank, other in enumerate(self._adl_ranking(acct, pos, mkt), 1):
            if not pos.size:
                break
            op = other.positions[pos.symbol]
            q = min(abs(pos.size), abs(op.size))
            trade_id = self.state.next_trade_id
            self.state.next_trade_id = trade_id + 1
            self.ledger.trade(acct, mkt, -q if side == Side.SELL else q, price, 0)
            self.ledger.trade(other, mkt, q if side == Side.SELL else -q, price, 0)
            total += q
            events.append(
                AdlExecuted(
                    ts=ts,
                    trade_id=trade_id,
                    symbol=pos.symbol,
                    account=acct.account,
                    counterparty=other.account,
                    side=side,
                    price=price,
                    qty=q,
                    rank=rank,
                )
            )
        return total

    def _settle_with_fund(
        self, acct: Account, amount: int, fees: int, ts: int, events: list[Event]
    ) -> None:
        """Move `amount` (> 0: surplus) from the account to the fund, or cover a deficit
        (< 0): first by waiving the liquidation `fees` the account could not pay (fee
        revenue gives them back; the fund never pays a fee), then from the fund, up to its
        balance."""
        if amount < 0:
            amount += self.ledger.waive_fees(ts, acct, -amount, fees, events)
        if amount > 0:
            acct.balance -= amount
            events.append(
                self.ledger.balance_event(ts, acct, -amount, BalanceReason.LIQUIDATION_SURPLUS)
            )
            events.append(
                self.ledger.fund(ts, amount, acct.account, BalanceReason.LIQUIDATION_SURPLUS)
            )
        elif amount < 0 and self.state.insurance_fund > 0:
            pay = min(-amount, self.state.insurance_fund)
            acct.balance += pay
            events.append(self.ledger.balance_event(ts, acct, pay, BalanceReason.INSURANCE_PAYOUT))
            events.append(self.ledger.fund(ts, -pay, acct.account, BalanceReason.INSURANCE_PAYOUT))
