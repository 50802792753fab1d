"""`Prices`: index and mark prices, funding, published statistics, final settlement of dated
futures, admin records.

Units: see `venue.core.accounts` (money = 10^-6 USD). Invariants kept here:
- A refused command changes nothing (`CommandRejected`).
- Funding is zero-sum with the fund: payers round up, receivers round down, and the insurance
  fund takes the difference (`FundingApplied.to_insurance_fund`), so money is conserved.
- An applied funding is kept with its instrument (`funding_rate_ppb`, `funding_ts`), as is
  the last published outlook (`predicted_rate_ppb`, `next_funding_ts`); `StatisticsPublished`
  reads them with the mark, the index and the open interest, and changes nothing else.
- Final settlement happens once per expired instrument: every position is closed at the
  settlement price (`PositionSettled`, `BalanceChanged`), which becomes the mark price. For
  an option the command's price is the underlying's settlement price (the same index average
  as dated futures) and positions close at the intrinsic value (0 out of the money).
- `SetOptionMarks` applies to options only; its figures are kept (`Market.option_marks`).
"""

from __future__ import annotations

from venue.core.accounts import ceil_div
from venue.core.commands import (
    ApplyFunding,
    PublishStatistics,
    RecordAdminAction,
    SetIndexPrice,
    SetMarkPrice,
    SetOptionMarks,
    SettleInstrument,
)
from venue.core.events import (
    AdminActionRecorded,
    CommandRejected,
    Event,
    FundingApplied,
    FundingPayment,
    IndexPriceSet,
    InstrumentSettled,
    MarkPriceSet,
    OptionMarksSet,
    PositionSettled,
    StatisticsPublished,
)
from venue.core.ledger import Ledger
from venue.core.option_margin import intrinsic
from venue.core.state import EngineState
from venue.core.types import (
    MAX_PRICE,
    PPB,
    BalanceReason,
    InstrumentKind,
    InstrumentState,
    RejectReason,
    Side,
)

__all__ = ["Prices"]

_MAX_FIGURE = 10**15  # bound on an option figure (keeps journal integers in int64)


class Prices:
    """The price, funding and settlement commands; money moves through the `Ledger`."""

    def __init__(self, state: EngineState, ledger: Ledger) -> None:
        self.state = state
        self.ledger = ledger

    # ------------------------------------------------------------------ prices

    def set_index_price(self, cmd: SetIndexPrice) -> list[Event]:
        mkt = self.state.markets.get(cmd.symbol)
        if mkt is None:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        if not 0 < cmd.price <= MAX_PRICE:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_PRICE)]
        mkt.index_price = cmd.price
        mkt.index_ts = cmd.ts
        return [IndexPriceSet(ts=cmd.ts, symbol=cmd.symbol, price=cmd.price, source=cmd.source)]

    def set_mark_price(self, cmd: SetMarkPrice) -> list[Event]:
        mkt = self.state.markets.get(cmd.symbol)
        if mkt is None:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        if not 0 < cmd.price <= MAX_PRICE:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_PRICE)]
        mkt.mark_price = cmd.price
        return [MarkPriceSet(ts=cmd.ts, symbol=cmd.symbol, price=cmd.price)]

    def set_option_marks(self, cmd: SetOptionMarks) -> list[Event]:
        mkt = self.state.markets.get(cmd.symbol)
        if mkt is None:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        if mkt.option is None:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.NOT_AN_OPTION)]
        if not 0 < cmd.price <= MAX_PRICE:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_PRICE)]
        figures = (
            cmd.iv_ppb,
            cmd.bid_iv_ppb,
            cmd.ask_iv_ppb,
            cmd.delta,
            cmd.gamma,
            cmd.vega,
            cmd.theta,
        )
        if cmd.iv_ppb <= 0 or cmd.bid_iv_ppb < 0 or cmd.ask_iv_ppb < 0:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_AMOUNT)]
        if any(abs(x) > _MAX_FIGURE for x in figures):
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_AMOUNT)]
        mkt.mark_price = cmd.price
        mkt.option_marks = figures
        return [
            OptionMarksSet(
                ts=cmd.ts,
                symbol=cmd.symbol,
                price=cmd.price,
                iv_ppb=cmd.iv_ppb,
                bid_iv_ppb=cmd.bid_iv_ppb,
                ask_iv_ppb=cmd.ask_iv_ppb,
                delta=cmd.delta,
                gamma=cmd.gamma,
                vega=cmd.vega,
                theta=cmd.theta,
            )
        ]

    # ------------------------------------------------------------------ funding, settlement

    def apply_funding(self, cmd: ApplyFunding) -> list[Event]:
        mkt = self.state.markets.get(cmd.symbol)
        if mkt is None:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        if mkt.instrument.kind != InstrumentKind.PERPETUAL:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.NOT_A_PERPETUAL)]
        if not -PPB <= cmd.rate_ppb <= PPB:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_AMOUNT)]
        mark = mkt.mark
        rate = cmd.rate_ppb
        symbol = mkt.instrument.symbol
        mkt.funding_rate_ppb = rate
        mkt.funding_ts = cmd.ts
        payments: list[FundingPayment] = []
        residual = 0
        if rate:
            for acct in self.state.accounts.values():
                pos = acct.positions.get(symbol)
                if pos is None:
                    continue
                x = pos.size * mark * mkt.factor * rate  # > 0: this account pays
                amount = -ceil_div(x, PPB) if x > 0 else (-x) // PPB
                acct.balance += amount
                residual -= amount
                payments.append(FundingPayment(acct.account, pos.size, amount, acct.balance))
        events: list[Event] = [
            FundingApplied(
                ts=cmd.ts,
                symbol=symbol,
                rate_ppb=rate,
                mark=mark,
                payments=payments,
                to_insurance_fund=residual,
            )
        ]
        if residual:
            events.append(self.ledger.fund(cmd.ts, residual, "", BalanceReason.FUNDING))
        return events

    def publish_statistics(self, cmd: PublishStatistics) -> list[Event]:
        mkt = self.state.markets.get(cmd.symbol)
        if mkt is None:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        outlook = cmd.predicted_rate_ppb or cmd.next_funding_ts
        if outlook and mkt.instrument.kind != InstrumentKind.PERPETUAL:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.NOT_A_PERPETUAL)]
        if not -PPB <= cmd.predicted_rate_ppb <= PPB or cmd.next_funding_ts < 0:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_AMOUNT)]
        mkt.predicted_rate_ppb = cmd.predicted_rate_ppb
        mkt.next_funding_ts = cmd.next_funding_ts
        symbol = mkt.instrument.symbol
        return [
            StatisticsPublished(
                ts=cmd.ts,
                symbol=symbol,
                mark=mkt.mark,
                index=mkt.index_price,
                funding_rate_ppb=mkt.funding_rate_ppb,
                funding_ts=mkt.funding_ts,
                predicted_rate_ppb=mkt.predicted_rate_ppb,
                next_funding_ts=mkt.next_funding_ts,
                open_interest=sum(
                    p.size
                    for a in self.state.accounts.values()
                    if (p := a.positions.get(symbol)) is not None and p.size > 0
                ),
            )
        ]

    def settle_instrument(self, cmd: SettleInstrument) -> list[Event]:
        mkt = self.state.markets.get(cmd.symbol)
        if mkt is None:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)]
        if mkt.state != InstrumentState.EXPIRED:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INSTRUMENT_NOT_EXPIRED)]
        if mkt.settled:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.ALREADY_SETTLED)]
        if not 0 < cmd.price <= MAX_PRICE:
            return [_cmd_rejected(cmd, cmd.symbol, RejectReason.INVALID_PRICE)]
        symbol = mkt.instrument.symbol
        mkt.settled = True
        # An option settles at its intrinsic value against the underlying's settlement price
        # (automatic exercise; 0 out of the money); a future at the settlement price itself.
        opt = mkt.option
        value = cmd.price if opt is None else intrinsic(cmd.price, opt[0], opt[1])
        mkt.mark_price = value
        events: list[Event] = [
            InstrumentSettled(ts=cmd.ts, symbol=symbol, price=cmd.price, positions=0)
        ]
        n = 0
        for acct in self.state.accounts.values():
            pos = acct.positions.get(symbol)
            if pos is None:
                continue
            n += 1
            before = acct.balance
            if pos.size:
                events.append(
                    PositionSettled(
                        ts=cmd.ts,
                        account=acct.account,
                        symbol=symbol,
                        side=Side.SELL if pos.size > 0 else Side.BUY,
                        qty=abs(pos.size),
                        price=value,
                    )
                )
            self.ledger.trade(acct, mkt, -pos.size, value, 0)
            events.append(
                self.ledger.balance_event(
                    cmd.ts, acct, acct.balance - before, BalanceReason.SETTLEMENT, symbol
                )
            )
        events[0] = InstrumentSettled(ts=cmd.ts, symbol=symbol, price=cmd.price, positions=n)
        return events

    def record_admin_action(self, cmd: RecordAdminAction) -> list[Event]:
        return [
            AdminActionRecorded(
                ts=cmd.ts, operator=cmd.operator, action=cmd.action, detail=cmd.detail
            )
        ]


def _cmd_rejected(
    cmd: SetIndexPrice
    | SetMarkPrice
    | SetOptionMarks
    | ApplyFunding
    | PublishStatistics
    | SettleInstrument,
    symbol: str,
    reason: RejectReason,
) -> CommandRejected:
    return CommandRejected(ts=cmd.ts, command=type(cmd).__name__, symbol=symbol, reason=reason)
