"""`Queries`: the state read by the FIX, risk and admin sides, and the derivatives checks.

Everything here only reads: `mark_price`, `index_price`, `index_stale`, `liquidatable`,
`account_view`,
`position_view` (with exact liquidation and bankruptcy prices), `open_interest`,
`total_money`, `check_accounts` (the invariants of `venue.core.ledger` and
`venue.core.state`, from scratch), `instrument` (current reference price and state).
"""

from __future__ import annotations

from fractions import Fraction

import msgspec

from venue.core.accounts import AccountView, Position, PositionView, initial_margin, upnl
from venue.core.risk import Margin, stale
from venue.core.state import EngineState
from venue.core.types import Instrument, Side

__all__ = ["Queries"]

_BUY = Side.BUY


class Queries:
    """Read-only views of the state (figures from `Margin`)."""

    def __init__(self, state: EngineState, margin: Margin) -> None:
        self.state = state
        self.margin = margin

    def mark_price(self, symbol: str) -> int | None:
        mkt = self.state.markets.get(symbol)
        return None if mkt is None else mkt.mark

    def index_price(self, symbol: str) -> int | None:
        """The last index price (ticks), or None if unknown or never set."""
        mkt = self.state.markets.get(symbol)
        return None if mkt is None or mkt.index_ts < 0 else mkt.index_price

    def index_stale(self, symbol: str, ts: int) -> bool:
        mkt = self.state.markets.get(symbol)
        return mkt is not None and stale(mkt, ts)

    def account_view(self, account: str) -> AccountView | None:
        acct = self.state.accounts.get(account)
        if acct is None:
            return None
        margin = self.margin
        upl = iso = mm = 0
        for pos in acct.positions.values():
            mkt = self.state.markets[pos.symbol]
            upl += upnl(pos, mkt)
            iso += pos.margin
            mm += margin.mm(pos, mkt)
        req = margin.requirement(acct)
        cross = margin.cross_equity(acct)
        return AccountView(
            firm=acct.firm,
            account=acct.account,
            segment=acct.segment,
            max_leverage=acct.max_leverage,
            balance=acct.balance,
            unrealized_pnl=upl,
            isolated_margin=iso,
            equity=acct.balance + iso + upl,
            initial_margin=req,
            maintenance_margin=mm,
            available=cross - req,
        )

    def position_view(self, account: str, symbol: str) -> PositionView | None:
        """The position (flat positions too) of a known account in a known instrument."""
        acct = self.state.accounts.get(account)
        mkt = self.state.markets.get(symbol)
        if acct is None or mkt is None:
            return None
        margin = self.margin
        pos = acct.positions.get(symbol) or Position(symbol, acct.isolated.get(symbol, False))
        mark = mkt.mark
        s = pos.size
        return PositionView(
            account=account,
            symbol=symbol,
            size=s,
            cost=pos.cost,
            entry_price=Fraction(pos.cost, s) if s else None,
            mark_price=mark,
            realized_pnl=pos.realized_pnl,
            unrealized_pnl=upnl(pos, mkt),
            isolated=pos.isolated,
            margin=pos.margin,
            initial_margin=initial_margin(abs(s) * mark * mkt.factor, margin.imr(acct, mkt)),
            maintenance_margin=margin.mm(pos, mkt),
            liquidation_price=margin.price_where(acct, pos, mkt, maintenance=True),
            bankruptcy_price=margin.price_where(acct, pos, mkt, maintenance=False),
        )

    def liquidatable(self, account: str) -> bool:
        """Would `Liquidate(account)` find something below maintenance at the current marks?
        The core's own per-position predicate (`Margin.below_maintenance`): each isolated
        position on its own, and the cross part on its own. False for an unknown account."""
        acct = self.state.accounts.get(account)
        if acct is None:
            return False
        cross, isolated = self.margin.below_maintenance(acct)
        return cross or bool(isolated)

    def open_interest(self, symbol: str) -> tuple[int, int]:
        """(long lots, short lots) over all accounts; equal by invariant."""
        long = short = 0
        for acct in self.state.accounts.values():
            pos = acct.positions.get(symbol)
            if pos is not None:
                if pos.size > 0:
                    long += pos.size
                else:
                    short -= pos.size
        return long, short

    def total_money(self) -> int:
        """Balances + isolated margins + unrealized PnL at mark + fund + fees (conserved)."""
        state = self.state
        total = state.insurance_fund + state.fees_collected
        for acct in state.accounts.values():
            total += acct.balance
            for pos in acct.positions.values():
                total += pos.margin + upnl(pos, state.markets[pos.symbol])
        return total

    def check_accounts(self) -> None:
        """Raise AssertionError naming the first broken derivatives invariant: account order
        indexes and exposures match the resting orders; no flat position is kept; open
        interest balances; money is conserved; the fund is not negative."""

        def check(ok: bool, what: str) -> None:
            if not ok:
                raise AssertionError(what)

        state = self.state
        held = 0
        for name, acct in state.accounts.items():
            want: dict[str, list[int]] = {}
            for order_id, o in acct.orders.items():
                check(state.orders.get(order_id) is o, f"{name}: order {order_id} not resting")
                check(o.account == name, f"{name}: order {order_id} of another account")
                x = want.setdefault(o.symbol, [0, 0, 0, 0])
                i = 0 if o.side == _BUY else 1
                x[i] += o.qty - o.cum_qty
                x[i + 2] += (o.qty - o.cum_qty) * o.price
            check(acct.exposure == want, f"{name}: exposure does not match its orders")
            held += len(acct.orders)
            for symbol, pos in acct.positions.items():
                check(pos.size != 0, f"{name}: flat position {symbol} kept")
                check(pos.margin >= 0, f"{name}: negative isolated margin in {symbol}")
        check(held == len(state.orders), "resting orders missing from account indexes")
        for symbol in state.markets:
            long, short = self.open_interest(symbol)
            check(long == short, f"{symbol}: open interest long {long} != short {short}")
        check(state.insurance_fund >= 0, "insurance fund negative")
        check(self.total_money() == state.net_deposits, "money not conserved")

    def instrument(self, symbol: str) -> Instrument | None:
        """The instrument with its current reference price and state, or None if unknown."""
        mkt = self.state.markets.get(symbol)
        if mkt is None:
            return None
        inst = mkt.instrument
        if inst.ref_price != mkt.ref_price or inst.state != mkt.state:
            inst = msgspec.structs.replace(inst, ref_price=mkt.ref_price, state=mkt.state)
        return inst
