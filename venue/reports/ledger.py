"""What happened to each account, row by row: the raw material of statements and the trade
report. `Ledger.on_row(seq, ts, cmd, events)` is fed every journal row in seq order (from the
first, so positions are right); it records entries for rows with `start_ts <= ts < end_ts`.

Invariants:
- Realized PnL is the core's own rule: a shadow `venue.core.accounts.Position` per (account,
  instrument) is traded with every fill, ADL trade and final settlement, exactly as the engine
  trades its positions; `Position.trade` answers the realized PnL.
- A fill's fee is the published rule (Rules of Engagement, fees): ceil(qty x price x value of a
  tick-lot x rate / 10^9), the rate being the account's fee tier's taker (aggressor) or maker
  rate on that instrument, else the instrument's; a rebate (negative rate) rounds towards zero.
  ADL trades and settlements carry no fee. Tests reconcile every statement's balances with the
  engine's, so a drift between this and the core shows at once.
- Money in integer units of 10^-6 USD, prices in ticks, quantities in lots; text formatting
  (decimals) happens in `venue.reports.format` only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from venue.core import (
    PPB,
    AccountAdded,
    AdlExecuted,
    BalanceChanged,
    BalanceReason,
    Command,
    Event,
    FundingApplied,
    Instrument,
    InstrumentAdded,
    LiquidationCompleted,
    LiquidationStarted,
    OrderFilled,
    PositionLiquidated,
    PositionSettled,
    Side,
)
from venue.core.accounts import Position, value_factor

__all__ = ["Fill", "Ledger", "Trade"]


@dataclass(frozen=True, slots=True)
class Fill:
    """One side of one trade, for the account's statement."""

    seq: int
    ts: int
    trade_id: int
    symbol: str
    side: Side
    price: int
    qty: int
    aggressor: bool
    fee: int
    realized_pnl: int
    order_id: int  # 0 for ADL
    cl_ord_id: str
    kind: str  # "book" or "adl"


@dataclass(frozen=True, slots=True)
class Trade:
    """One trade with both sides, for the trade report."""

    seq: int
    ts: int
    trade_id: int
    symbol: str
    price: int
    qty: int
    kind: str  # "book" or "adl"
    aggressor_side: Side | None  # None for ADL (no aggressor)
    buy: tuple[str, str, int, str]  # firm, account, order_id, cl_ord_id
    sell: tuple[str, str, int, str]


@dataclass(slots=True)
class AccountDay:
    """One account's entries within the window."""

    fills: list[Fill] = field(default_factory=list)
    funding: list[dict[str, int | str]] = field(default_factory=list)
    balance_changes: list[dict[str, int | str]] = field(default_factory=list)
    liquidations: list[dict[str, int | str | bool]] = field(default_factory=list)
    adl: list[dict[str, int | str]] = field(default_factory=list)
    settlements: list[dict[str, int | str]] = field(default_factory=list)


class Ledger:
    """See the module docstring."""

    def __init__(self, start_ts: int, end_ts: int, accounts: Sequence[str] | None = None) -> None:
        self.start_ts = start_ts
        self.end_ts = end_ts
        self._only = set(accounts) if accounts is not None else None
        self.instruments: dict[str, Instrument] = {}
        self._factor: dict[str, int] = {}
        self.firm_of: dict[str, str] = {}
        self._tier: dict[str, str] = {}
        self._positions: dict[tuple[str, str], Position] = {}
        self.days: dict[str, AccountDay] = {}
        self.trades: list[Trade] = []
        self._aggressor: OrderFilled | None = None

    def _day(self, account: str, ts: int) -> AccountDay | None:
        if not self.start_ts <= ts < self.end_ts:
            return None
        if self._only is not None and account not in self._only:
            return None
        day = self.days.get(account)
        if day is None:
            day = self.days[account] = AccountDay()
        return day

    def _trade(self, account: str, symbol: str, dq: int, px: int) -> int:
        pos = self._positions.get((account, symbol))
        if pos is None:
            pos = self._positions[(account, symbol)] = Position(symbol)
        realized, _, _ = pos.trade(dq, px, self._factor[symbol])
        return realized

    def fee(self, account: str, symbol: str, qty: int, px: int, aggressor: bool) -> int:
        inst = self.instruments[symbol]
        taker, maker = inst.taker_fee_ppb, inst.maker_fee_ppb
        for t in inst.fee_tiers:  # the first entry of the account's tier counts
            if t.tier == self._tier.get(account, ""):
                taker, maker = t.taker_fee_ppb, t.maker_fee_ppb
                break
        rate = taker if aggressor else maker
        return -(-(qty * px * self._factor[symbol] * rate) // PPB)

    def on_row(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        for ev in events:
            if isinstance(ev, OrderFilled):
                self._fill(seq, ev)
            elif isinstance(ev, InstrumentAdded):
                inst = ev.instrument
                self.instruments[inst.symbol] = inst
                self._factor[inst.symbol] = value_factor(inst) or 1
            elif isinstance(ev, AccountAdded):
                self.firm_of[ev.account] = ev.firm
                self._tier[ev.account] = ev.fee_tier
            else:
                self._other(seq, ev)

    def _fill(self, seq: int, ev: OrderFilled) -> None:
        dq = ev.last_qty if ev.side == Side.BUY else -ev.last_qty
        realized = self._trade(ev.account, ev.symbol, dq, ev.last_px)
        fee = self.fee(ev.account, ev.symbol, ev.last_qty, ev.last_px, ev.aggressor)
        day = self._day(ev.account, ev.ts)
        if day is not None:
            day.fills.append(
                Fill(
                    seq, ev.ts, ev.trade_id, ev.symbol, ev.side, ev.last_px, ev.last_qty,
                    ev.aggressor, fee, realized, ev.order_id, ev.cl_ord_id, "book",
                )
            )  # fmt: skip
        if ev.aggressor:
            self._aggressor = ev
            return
        agg, self._aggressor = self._aggressor, None
        if agg is None or agg.trade_id != ev.trade_id or not self.start_ts <= ev.ts < self.end_ts:
            return
        buy, sell = (agg, ev) if agg.side == Side.BUY else (ev, agg)
        self.trades.append(
            Trade(
                seq=seq,
                ts=ev.ts,
                trade_id=ev.trade_id,
                symbol=ev.symbol,
                price=ev.last_px,
                qty=ev.last_qty,
                kind="book",
                aggressor_side=agg.side,
                buy=(buy.firm, buy.account, buy.order_id, buy.cl_ord_id),
                sell=(sell.firm, sell.account, sell.order_id, sell.cl_ord_id),
            )
        )

    def _other(self, seq: int, ev: Event) -> None:
        if isinstance(ev, AdlExecuted):
            self._adl(seq, ev)
        elif isinstance(ev, PositionSettled):
            dq = ev.qty if ev.side == Side.BUY else -ev.qty
            realized = self._trade(ev.account, ev.symbol, dq, ev.price)
            day = self._day(ev.account, ev.ts)
            if day is not None:
                day.settlements.append(
                    {"seq": seq, "ts": ev.ts, "symbol": ev.symbol, "side": ev.side.name,
                     "qty": ev.qty, "price": ev.price, "realized_pnl": realized}
                )  # fmt: skip
        elif isinstance(ev, FundingApplied):
            for p in ev.payments:
                day = self._day(p.account, ev.ts)
                if day is not None:
                    day.funding.append(
                        {"seq": seq, "ts": ev.ts, "symbol": ev.symbol, "rate_ppb": ev.rate_ppb,
                         "mark": ev.mark, "size": p.size, "amount": p.amount}
                    )  # fmt: skip
        elif isinstance(ev, BalanceChanged):
            day = self._day(ev.account, ev.ts)
            if day is not None and ev.reason != BalanceReason.FUNDING:
                day.balance_changes.append(
                    {"seq": seq, "ts": ev.ts, "reason": str(ev.reason), "symbol": ev.symbol,
                     "delta": ev.delta, "balance": ev.balance, "operator": ev.operator}
                )  # fmt: skip
        elif isinstance(ev, LiquidationStarted | PositionLiquidated | LiquidationCompleted):
            day = self._day(ev.account, ev.ts)
            if day is not None:
                entry: dict[str, int | str | bool] = {"seq": seq, "event": type(ev).__name__}
                for k, v in _fields(ev).items():
                    entry[k] = v
                day.liquidations.append(entry)

    def _adl(self, seq: int, ev: AdlExecuted) -> None:
        dq = ev.qty if ev.side == Side.BUY else -ev.qty
        for account, signed, role in ((ev.account, dq, "liquidated"),
                                      (ev.counterparty, -dq, "counterparty")):  # fmt: skip
            realized = self._trade(account, ev.symbol, signed, ev.price)
            day = self._day(account, ev.ts)
            if day is not None:
                side = Side.BUY if signed > 0 else Side.SELL
                day.fills.append(
                    Fill(seq, ev.ts, ev.trade_id, ev.symbol, side, ev.price, ev.qty, False, 0,
                         realized, 0, "", "adl")
                )  # fmt: skip
                day.adl.append(
                    {"seq": seq, "ts": ev.ts, "symbol": ev.symbol, "role": role,
                     "side": side.name, "qty": ev.qty, "price": ev.price, "rank": ev.rank}
                )  # fmt: skip
        if self.start_ts <= ev.ts < self.end_ts:
            buy, sell = (ev.account, ev.counterparty)
            if ev.side != Side.BUY:
                buy, sell = sell, buy
            self.trades.append(
                Trade(
                    seq=seq,
                    ts=ev.ts,
                    trade_id=ev.trade_id,
                    symbol=ev.symbol,
                    price=ev.price,
                    qty=ev.qty,
                    kind="adl",
                    aggressor_side=None,
                    buy=(self.firm_of.get(buy, ""), buy, 0, ""),
                    sell=(self.firm_of.get(sell, ""), sell, 0, ""),
                )
            )


def _fields(ev: Event) -> dict[str, int | str | bool]:
    import msgspec  # noqa: PLC0415 -- only for this conversion

    out: dict[str, int | str | bool] = {}
    for k, v in msgspec.structs.asdict(ev).items():
        if isinstance(v, int | str | bool):
            out[k] = v
    return out
