"""`AdjustIsolatedMargin`: move money between an account's balance and the isolated margin of
one of its positions (the operator's "add / remove isolated margin").

Units: see `venue.core.accounts` (money = 10^-6 USD). Invariants:
- Money is conserved: the balance changes by exactly -delta and the position's margin by
  +delta; nothing else moves.
- Only an open isolated position takes or gives margin (a cross position, a flat or unknown
  one: `INVALID_STATE_CHANGE`).
- Adding never takes more than the account could withdraw: min(balance, cross equity -
  worst-case initial margin) (`WITHDRAWAL_EXCEEDS_AVAILABLE`), so no order or cross position
  loses its cover.
- Removing never leaves the position's margin negative (`INVALID_AMOUNT`) nor its margin +
  unrealized PnL below its maintenance margin at mark (`INSUFFICIENT_MARGIN`): removal can
  never make a position liquidatable.
- A refused command changes nothing (`AccountCommandRejected`).
"""

from __future__ import annotations

from venue.core.accounts import upnl
from venue.core.commands import AdjustIsolatedMargin
from venue.core.events import Event, IsolatedMarginChanged
from venue.core.ledger import account_rejected
from venue.core.risk import Margin
from venue.core.state import EngineState
from venue.core.types import RejectReason

__all__ = ["adjust_isolated_margin"]


def adjust_isolated_margin(
    state: EngineState, margin: Margin, cmd: AdjustIsolatedMargin
) -> list[Event]:
    acct = state.accounts.get(cmd.account)
    if acct is None:
        return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.UNKNOWN_ACCOUNT)
    mkt = state.markets.get(cmd.symbol)
    if mkt is None:
        return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)
    pos = acct.positions.get(cmd.symbol)
    if pos is None or not pos.isolated or pos.size == 0:
        return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.INVALID_STATE_CHANGE)
    amount = cmd.amount
    if amount == 0:
        return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.INVALID_AMOUNT)
    if amount > 0:
        if amount > min(acct.balance, margin.available(acct)):
            reason = RejectReason.WITHDRAWAL_EXCEEDS_AVAILABLE
            return account_rejected(cmd, cmd.account, cmd.symbol, reason)
    else:
        left = pos.margin + amount
        if left < 0:
            return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.INVALID_AMOUNT)
        if left + upnl(pos, mkt) < margin.mm(pos, mkt):
            return account_rejected(cmd, cmd.account, cmd.symbol, RejectReason.INSUFFICIENT_MARGIN)
    acct.balance -= amount
    pos.margin += amount
    return [
        IsolatedMarginChanged(
            ts=cmd.ts,
            account=cmd.account,
            symbol=cmd.symbol,
            delta=amount,
            margin=pos.margin,
            balance=acct.balance,
            operator=cmd.operator,
        )
    ]
