"""Market-maker protection (MMP): per account and underlying, a window of quote fills that,
when it reaches a limit, cancels the account's quotes on that underlying and freezes quoting.

Invariants kept here:
- Decided inside `Engine.apply`, from the command's fills and `cmd.ts` only. The check runs
  after each aggressor's matching and settlement (R1 → match → R2 → MMP in
  `Engine._execute`), so an aggressor's fills are all kept, and the cancels are in the same
  sequenced command, after its fills.
- Only fills of quote sides (resting quote orders, `venue.core.quotes`) count; a fill counts
  its lots and one fill. The window holds the fills with `ts > now - window`; the limits are
  reached when the window's lots >= `max_qty` or its fills >= `max_fills` (a limit of 0 is
  off).
- Triggered: every live quote of the account on the underlying (all sessions) is canceled
  (reason MMP, ascending order_id), the window is emptied, and quoting is frozen: a quote
  entry placing a side on that underlying is refused (MMP_FROZEN) while `frozen_until == -1`
  (until reset) or `ts < frozen_until`. The freeze test is pure: a refused entry changes
  nothing. Withdrawals stay allowed.
- `state.mmp[account][underlying]` is part of the snapshot (`venue.core.snapshot`); it is
  iterated in insertion order only when encoding (sorted there).
"""

from __future__ import annotations

from venue.core.book import Order
from venue.core.events import AccountCommandRejected, Event, OrderFilled
from venue.core.mmp_state import MmpState
from venue.core.quote_types import (
    QUOTE_MARK,
    MmpReset,
    MmpSet,
    MmpTriggered,
    ResetMmp,
    SetMmp,
    underlying,
)
from venue.core.state import EngineState
from venue.core.types import CancelReason, InstrumentKind, RejectReason

__all__ = ["Mmp"]

_MS = 1_000_000


def _rejected(cmd: SetMmp, reason: RejectReason) -> AccountCommandRejected:
    return AccountCommandRejected(
        ts=cmd.ts, command="SetMmp", account=cmd.account, symbol=cmd.underlying, reason=reason
    )


class Mmp:
    """The SetMmp and ResetMmp commands, the freeze test and the post-fill check."""

    def __init__(self, state: EngineState) -> None:
        self.state = state

    def frozen(self, account: str, symbol: str, ts: int) -> bool:
        per = self.state.mmp.get(account)
        if per is None:
            return False
        m = per.get(underlying(symbol))
        return m is not None and m.frozen(ts)

    def set_mmp(self, cmd: SetMmp) -> list[Event]:
        state = self.state
        if cmd.account not in state.accounts:
            return [_rejected(cmd, RejectReason.UNKNOWN_ACCOUNT)]
        if (
            not cmd.underlying
            or min(cmd.window_ms, cmd.max_qty, cmd.max_fills, cmd.freeze_ms) < 0
            or (cmd.window_ms and not (cmd.max_qty or cmd.max_fills))
        ):
            return [_rejected(cmd, RejectReason.INVALID_AMOUNT)]
        per = state.mmp.setdefault(cmd.account, {})
        if cmd.window_ms == 0:
            per.pop(cmd.underlying, None)
            if not per:
                del state.mmp[cmd.account]
        else:
            old = per.get(cmd.underlying)
            m = MmpState(cmd.window_ms, cmd.max_qty, cmd.max_fills, cmd.freeze_ms)
            if old is not None:  # new limits; the window and a freeze in force carry on
                m.fills = old.fills
                m.frozen_until = old.frozen_until
            per[cmd.underlying] = m
        return [
            MmpSet(
                ts=cmd.ts,
                account=cmd.account,
                underlying=cmd.underlying,
                window_ms=cmd.window_ms,
                max_qty=cmd.max_qty,
                max_fills=cmd.max_fills,
                freeze_ms=cmd.freeze_ms,
                operator=cmd.operator,
            )
        ]

    def reset_mmp(self, cmd: ResetMmp) -> list[Event]:
        m = self.state.mmp.get(cmd.account, {}).get(cmd.underlying)
        if m is not None:
            m.frozen_until = 0
            m.fills = []
        return [
            MmpReset(
                ts=cmd.ts,
                account=cmd.account,
                underlying=cmd.underlying,
                session=cmd.session,
                operator=cmd.operator,
            )
        ]

    def after_fills(self, events: list[Event], start: int, ts: int) -> None:
        """Count the quote fills in `events[start:]`; trigger where a limit is reached."""
        mmp = self.state.mmp
        touched: list[tuple[str, str, MmpState, str]] = []
        for i in range(start, len(events)):
            ev = events[i]
            if type(ev) is not OrderFilled or ev.aggressor or ev.cl_ord_id[:1] != QUOTE_MARK:
                continue
            per = mmp.get(ev.account)
            if per is None:
                continue
            if self.state.markets[ev.symbol].instrument.kind is InstrumentKind.OPTION:
                continue  # options are outside market-maker protection for now (RoE 19)
            und = underlying(ev.symbol)
            m = per.get(und)
            if m is None:
                continue
            m.fills.append((ts, ev.last_qty))
            if not any(t[2] is m for t in touched):
                touched.append((ev.account, und, m, ev.session))
        for account, und, m, session in touched:
            horizon = ts - m.window_ms * _MS
            m.fills = fills = [f for f in m.fills if f[0] > horizon]
            qty = sum(f[1] for f in fills)
            count = len(fills)
            if m.max_qty and qty >= m.max_qty:
                trigger = "qty"
            elif m.max_fills and count >= m.max_fills:
                trigger = "fills"
            else:
                continue
            self._trigger(account, und, m, session, trigger, qty, count, ts, events)

    def _trigger(  # noqa: PLR0917 -- one call site
        self,
        account: str,
        und: str,
        m: MmpState,
        session: str,
        trigger: str,
        qty: int,
        count: int,
        ts: int,
        events: list[Event],
    ) -> None:
        state = self.state
        doomed: list[Order] = [
            o
            for o in state.orders.values()  # ascending order_id
            if o.account == account
            and o.cl_ord_id[:1] == QUOTE_MARK
            and underlying(o.symbol) == und
        ]
        sessions = {session}
        for o in doomed:
            sessions.add(o.session)
            state.cancel_resting(o, ts, CancelReason.MMP, "", events)
        m.fills = []
        m.frozen_until = ts + m.freeze_ms * _MS if m.freeze_ms else -1
        events.append(
            MmpTriggered(
                ts=ts,
                account=account,
                underlying=und,
                trigger=trigger,
                traded_qty=qty,
                fills=count,
                frozen_until=0 if m.frozen_until == -1 else m.frozen_until,
                canceled_count=len(doomed),
                sessions=sorted(sessions),
            )
        )
