"""`Ledger`: every movement of money and positions: settlement of fills (R2), booking one side
of a trade, the insurance fund, and the account commands (`AddAccount`, `Deposit`,
`Withdraw`, `FundInsurance`, `SetMarginMode`).

Units: see `venue.core.accounts` (money = 10^-6 USD). Invariants kept here:
- Money is conserved: sum(balances) + sum(isolated margins) + sum(unrealized PnL at any marks)
  + insurance_fund + fees_collected == sum(deposits) - sum(withdrawals) (+ fund top-ups).
  Trades move money between balances and unrealized PnL (`Position.trade`) and fees to
  `fees_collected`; funding and liquidation move it between balances and the fund (`fund`).
- Open interest balances: every trade books both sides (fills come in pairs; ADL and
  settlement call `trade` for both).
- Every order's account exists (R1 refuses an unknown one); `Account.orders` holds exactly the
  account's resting orders: R2 drops the resting orders that a fill completed or STP canceled.
- A flat position is not kept; its isolated margin returns to the balance.
- Account commands that are refused change nothing (`AccountCommandRejected`).
"""

from __future__ import annotations

from venue.core.accounts import Account, Position, expose, initial_margin
from venue.core.book import Market
from venue.core.commands import AddAccount, Deposit, FundInsurance, SetMarginMode, Withdraw
from venue.core.events import (
    AccountAdded,
    AccountCommandRejected,
    BalanceChanged,
    Event,
    InsuranceFundChanged,
    MarginModeSet,
    OrderCanceled,
    OrderFilled,
)
from venue.core.margin import fee
from venue.core.risk import Margin
from venue.core.state import EngineState
from venue.core.types import PPB, BalanceReason, RejectReason, Side

__all__ = ["MAX_MONEY", "Ledger", "account_rejected"]

_BUY = Side.BUY
MAX_MONEY = 10**18
"""Largest balance a deposit may reach (money units: 10^12 USD), so state stays in int64."""


def account_rejected(cmd: object, account: str, symbol: str, reason: RejectReason) -> list[Event]:
    return [
        AccountCommandRejected(
            ts=getattr(cmd, "ts", 0),
            command=type(cmd).__name__,
            account=account,
            symbol=symbol,
            reason=reason,
        )
    ]


class Ledger:
    """Positions, balances, fees and the insurance fund. Needs the margin rates (`Margin`)
    for isolated positions and withdrawals."""

    def __init__(self, state: EngineState, margin: Margin) -> None:
        self.state = state
        self.margin = margin

    # ------------------------------------------------------------------ R2

    def settle(self, mkt: Market, events: list[Event], start: int) -> None:
        """R2: positions, realized PnL, fees and isolated margin of `events[start:]`'s fills;
        resting orders that left the book leave their account's order index."""
        state = self.state
        f = mkt.factor
        fees = mkt.fee_rates
        default_rates = mkt.default_fee_rates
        accounts = state.accounts
        for i in range(start, len(events)):
            e = events[i]
            if type(e) is OrderFilled:
                acct = accounts[e.account]
                q = e.last_qty
                aggressor = e.aggressor
                if not aggressor and e.order_id in acct.orders:
                    expose(acct, e.symbol, e.side, -q, e.price)
                    if not e.leaves_qty:
                        del acct.orders[e.order_id]
                px = e.last_px
                fee = 0
                if default_rates is not None:  # the account's tier's rates, else the instrument's
                    rate = fees.get(acct.fee_tier, default_rates)[0 if aggressor else 1]
                    fee = -(-(q * px * f * rate) // PPB)  # `fee_of`, inlined (hot path)
                dq = q if e.side == _BUY else -q
                pos = acct.positions.get(e.symbol)
                if pos is not None and not pos.isolated and (pos.size > 0) == (dq > 0):
                    # `trade`, inlined for a cross position that grows (size != 0, q > 0)
                    pos.size += dq
                    pos.cost += dq * px
                    acct.balance -= fee
                    state.fees_collected += fee
                else:
                    self.trade(acct, mkt, dq, px, fee, pos)
            elif type(e) is OrderCanceled:  # self-trade prevention canceled a resting order
                acct = accounts[e.account]
                if acct.orders.pop(e.order_id, None) is not None:
                    expose(acct, e.symbol, e.side, e.cum_qty - e.qty, e.price)

    @staticmethod
    def fee_of(acct: Account, mkt: Market, qty: int, px: int, aggressor: bool) -> int:
        """The fee `acct` pays on a fill of `qty` lots at `px` (R2 charges exactly this):
        its fee tier's (taker, maker) rate, else the instrument's; rounded by `fee`."""
        rates = mkt.default_fee_rates
        if rates is None:
            return 0
        rate = mkt.fee_rates.get(acct.fee_tier, rates)[0 if aggressor else 1]
        return fee(qty * px * mkt.factor, rate)

    def waive_fees(self, ts: int, acct: Account, owed: int, fees: int, events: list[Event]) -> int:
        """Give back from fee revenue what `acct` cannot pay of `fees` it was charged, up to
        `owed` (> 0: the money the account is short). Returns the amount waived (an event
        `BalanceChanged(LIQUIDATION_FEE_WAIVED)` says so)."""
        waive = min(owed, fees)
        if waive <= 0:
            return 0
        acct.balance += waive
        self.state.fees_collected -= waive
        events.append(self.balance_event(ts, acct, waive, BalanceReason.LIQUIDATION_FEE_WAIVED))
        return waive

    def trade(  # noqa: PLR0917 -- hot path, called positionally
        self, acct: Account, mkt: Market, dq: int, px: int, fee: int, pos: Position | None = None
    ) -> None:
        """Book one side of a trade on `acct`: position, realized PnL, fee, isolated margin.
        `pos`: the account's position in `mkt` when the caller has looked it up (None: looked
        up here, and opened if there is none)."""
        state = self.state
        symbol = mkt.instrument.symbol
        if pos is None:
            pos = acct.positions.get(symbol)
        if pos is None:
            pos = acct.positions[symbol] = Position(symbol, acct.isolated.get(symbol, False))
        s = pos.size
        if dq and (s == 0 or (s > 0) == (dq > 0)) and not pos.isolated:
            # a cross position opens or grows (`Position.trade` without a close), dq != 0
            pos.size = s + dq
            pos.cost += dq * px
            acct.balance -= fee
            state.fees_collected += fee
            return
        before = abs(s)
        realized, closed, opened = pos.trade(dq, px, mkt.factor)
        acct.balance += realized - fee
        state.fees_collected += fee
        if pos.isolated:
            if closed:
                release = pos.margin * closed // before
                pos.margin -= release
                acct.balance += release
            if opened:
                alloc = initial_margin(opened * px * mkt.factor, self.margin.imr(acct, mkt))
                pos.margin += alloc
                acct.balance -= alloc
        if pos.size == 0:
            acct.balance += pos.margin
            pos.margin = 0
            del acct.positions[symbol]

    # ------------------------------------------------------------------ events

    def balance_event(  # noqa: PLR0917 -- small helper
        self,
        ts: int,
        acct: Account,
        delta: int,
        reason: BalanceReason,
        symbol: str = "",
        operator: str = "",
    ) -> BalanceChanged:
        """The event of a change of `delta` already applied to `acct.balance`."""
        return BalanceChanged(
            ts=ts,
            account=acct.account,
            delta=delta,
            balance=acct.balance,
            reason=reason,
            symbol=symbol,
            operator=operator,
        )

    def fund(self, ts: int, delta: int, account: str, reason: BalanceReason) -> Event:
        """Move `delta` into (< 0: out of) the insurance fund; the caller books the other side."""
        state = self.state
        state.insurance_fund += delta
        return InsuranceFundChanged(
            ts=ts, delta=delta, balance=state.insurance_fund, account=account, reason=reason
        )

    # ------------------------------------------------------------------ account commands

    def add_account(self, cmd: AddAccount) -> list[Event]:
        accounts = self.state.accounts
        if cmd.account in accounts:
            return account_rejected(cmd, cmd.account, "", RejectReason.DUPLICATE_ACCOUNT)
        if not cmd.account or not cmd.firm or cmd.max_leverage < 1:
            return account_rejected(cmd, cmd.account, "", RejectReason.INVALID_ACCOUNT)
        accounts[cmd.account] = Account(
            cmd.firm, cmd.account, cmd.segment, cmd.max_leverage, cmd.fee_tier
        )
        return [
            AccountAdded(
                ts=cmd.ts,
                firm=cmd.firm,
                account=cmd.account,
                segment=cmd.segment,
                max_leverage=cmd.max_leverage,
                fee_tier=cmd.fee_tier,
            )
        ]

    def deposit(self, cmd: Deposit) -> list[Event]:
        acct = self.state.accounts.get(cmd.account)
        if acct is None:
            return account_rejected(cmd, cmd.account, "", RejectReason.UNKNOWN_ACCOUNT)
        if not 0 < cmd.amount <= MAX_MONEY - acct.balance:
            return account_rejected(cmd, cmd.account, "", RejectReason.INVALID_AMOUNT)
        acct.balance += cmd.amount
        self.state.net_deposits += cmd.amount
        return [
            self.balance_event(cmd.ts, acct, cmd.amount, BalanceReason.DEPOSIT, "", cmd.operator)
        ]

    def withdraw(self, cmd: Withdraw) -> list[Event]:
        acct = self.state.accounts.get(cmd.account)
        if acct is None:
            return account_rejected(cmd, cmd.account, "", RejectReason.UNKNOWN_ACCOUNT)
        if cmd.amount <= 0:
            return account_rejected(cmd, cmd.account, "", RejectReason.INVALID_AMOUNT)
        available = min(acct.balance, self.margin.available(acct))
        if cmd.amount > available:
            return account_rejected(cmd, cmd.account, "", RejectReason.WITHDRAWAL_EXCEEDS_AVAILABLE)
        acct.balance -= cmd.amount
        self.state.net_deposits -= cmd.amount
        return [
            self.balance_event(
                cmd.ts, acct, -cmd.amount, BalanceReason.WITHDRAWAL, "", cmd.operator
            )
        ]

    def fund_insurance(self, cmd: FundInsurance) -> list[Event]:
        if not 0 < cmd.amount <= MAX_MONEY - self.state.insurance_fund:
            return account_rejected(cmd, "", "", RejectReason.INVALID_AMOUNT)
        self.state.net_deposits += cmd.amount
        return [self.fund(cmd.ts, cmd.amount, "", BalanceReason.DEPOSIT)]

    def set_margin_mode(self, cmd: SetMarginMode) -> list[Event]:
        state = self.state
        acct = state.accounts.get(cmd.account)
        if acct is None:
            return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.UNKNOWN_ACCOUNT)
        if cmd.symbol not in state.markets:
            return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)
        busy = cmd.symbol in acct.positions or any(
            o.symbol == cmd.symbol for o in acct.orders.values()
        )
        if busy:
            return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.INVALID_STATE_CHANGE)
        if cmd.isolated and state.markets[cmd.symbol].option is not None:
            return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.OPTIONS_CROSS_ONLY)
        if cmd.isolated:
            acct.isolated[cmd.symbol] = True
        else:
            acct.isolated.pop(cmd.symbol, None)
        return [
            MarginModeSet(
                ts=cmd.ts,
                account=cmd.account,
                symbol=cmd.symbol,
                isolated=cmd.isolated,
                operator=cmd.operator,
            )
        ]
