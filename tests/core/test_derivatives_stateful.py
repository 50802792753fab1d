"""Hypothesis state machine over the derivatives core: random orders, cancels, marks, funding,
deposits, withdrawals and liquidations on two instruments (different value factors, fees with
a maker rebate, one isolated account). After every command:

- money is conserved exactly: balances + isolated margins + unrealized PnL + insurance fund +
  fees collected == deposits - withdrawals (+ fund top-ups);
- open interest long == short for every instrument; the fund is never negative;
- every account's order index matches the engine's; the book invariants hold;
- after a full liquidation the account is not below zero unless the fund is empty;
- an option series (short option margin, cash settlement at a random underlying) takes part
  in the same flows, and its expiry conserves money too;
- snapshot/restore reproduces the state hash, and the restored engine answers every later
  command with the same events (replay from a snapshot is deterministic).
"""

from __future__ import annotations

from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule

from tests.core.deriv_helpers import USD, Venue, x_instrument
from tests.core.test_options import option
from venue.core import (
    AddInstrument,
    ApplyFunding,
    CancelOrder,
    Deposit,
    Engine,
    ExpireInstrument,
    FundInsurance,
    Liquidate,
    LiquidationCompleted,
    ReplaceOrder,
    SetIndexPrice,
    SetMarginMode,
    SettleInstrument,
    Side,
    TimeInForce,
    Withdraw,
)

ACCOUNTS = ["A", "B", "C", "D", "E"]
SYMBOLS = ["X-PERP", "Y-PERP", "X-1100-C"]
OPTION = "X-1100-C"


class DerivativesMachine(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.v = Venue(
            x_instrument("X-PERP", maker_fee_ppb=-100_000, taker_fee_ppb=500_000),
            x_instrument("Y-PERP", tick_size="0.5", lot_size="0.001", max_order_qty=10**6),
        )
        self.v.account("A", 2_000, leverage=5)
        self.v.account("B", 5_000, leverage=20)
        self.v.account("C", 20_000, leverage=50)
        self.v.account("D", 3_000, leverage=10)
        self.v.apply(SetMarginMode(account="D", symbol="X-PERP", isolated=True))
        self.v.account("E", 1_000, leverage=10)
        self.v.apply(
            AddInstrument(
                instrument=option(OPTION, ref_price=100, lot_size="0.001", max_order_qty=10**6)
            )
        )
        self.v.apply(SetIndexPrice(symbol=OPTION, price=1000))
        self.steps = 0

    @rule(
        account=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(SYMBOLS),
        side=st.sampled_from([Side.BUY, Side.SELL]),
        offset=st.integers(-60, 60),
        qty=st.integers(1, 8),
        tif=st.sampled_from([TimeInForce.GTC, TimeInForce.IOC]),
        reduce_only=st.booleans(),
    )
    def order(  # noqa: PLR0917 -- hypothesis rule
        self,
        account: str,
        symbol: str,
        side: Side,
        offset: int,
        qty: int,
        tif: TimeInForce,
        reduce_only: bool,
    ) -> None:
        mark = self.v.engine.mark_price(symbol)
        assert mark is not None
        mkt = self.v.engine.markets[symbol]
        price = min(mkt.hi, max(mkt.lo, mark + offset))
        lots = qty if symbol == "X-PERP" else qty * 1000
        self.v.order(account, side, price, lots, symbol, tif, reduce_only=reduce_only)

    @rule(
        buyer=st.sampled_from(ACCOUNTS),
        seller=st.sampled_from(ACCOUNTS),
        symbol=st.sampled_from(SYMBOLS),
        qty=st.integers(1, 12),
    )
    def trade(self, buyer: str, seller: str, symbol: str, qty: int) -> None:
        """A resting ask at mark and an IOC bid against it (either may be refused by R1)."""
        mark = self.v.engine.mark_price(symbol)
        assert mark is not None
        lots = qty if symbol == "X-PERP" else qty * 1000
        self.v.order(seller, Side.SELL, mark, lots, symbol)
        self.v.order(buyer, Side.BUY, mark, lots, symbol, TimeInForce.IOC)

    @rule(pick=st.integers(0, 10**6))
    def cancel(self, pick: int) -> None:
        orders = list(self.v.engine.orders.values())
        if not orders:
            return
        o = orders[pick % len(orders)]
        self.v.apply(
            CancelOrder(session=o.session, firm=o.firm, cl_ord_id="x", order_id=o.order_id)
        )

    @rule(pick=st.integers(0, 10**6), dprice=st.integers(-40, 40), dqty=st.integers(-2, 3))
    def replace(self, pick: int, dprice: int, dqty: int) -> None:
        orders = list(self.v.engine.orders.values())
        if not orders:
            return
        o = orders[pick % len(orders)]
        mkt = self.v.engine.markets[o.symbol]
        self.v.n += 1
        self.v.apply(
            ReplaceOrder(
                session=o.session,
                firm=o.firm,
                cl_ord_id=f"r{self.v.n}",
                order_id=o.order_id,
                price=min(mkt.hi, max(mkt.lo, o.price + dprice)),
                qty=max(1, o.qty + dqty * (1 if o.symbol == "X-PERP" else 1000)),
            )
        )

    @rule(symbol=st.sampled_from(SYMBOLS), move=st.integers(-250, 250))
    def mark(self, symbol: str, move: int) -> None:
        mark = self.v.engine.mark_price(symbol)
        assert mark is not None
        self.v.mark(min(1900, max(100, mark + move)), symbol)

    @rule(symbol=st.sampled_from(SYMBOLS), rate=st.integers(-3_000_000, 3_000_000))
    def funding(self, symbol: str, rate: int) -> None:
        self.v.apply(ApplyFunding(symbol=symbol, rate_ppb=rate))

    @rule(account=st.sampled_from(ACCOUNTS))
    def liquidate(self, account: str) -> None:
        out = self.v.apply(Liquidate(account=account))
        done = out[-1]
        if isinstance(done, LiquidationCompleted) and done.full:
            # Nobody is left below zero unless the fund is exhausted. (The balance alone may
            # be negative while open cross positions' profits cover it.)
            view = self.v.engine.account_view(account)
            assert view is not None
            assert view.equity >= 0 or self.v.engine.insurance_fund == 0, (view, out)

    @rule(symbol=st.sampled_from(SYMBOLS), move=st.integers(-600, 600))
    def gap_and_liquidate_all(self, symbol: str, move: int) -> None:
        """The mark gaps; the risk monitor then tries every account (a cascade)."""
        self.mark(symbol, move)
        for account in ACCOUNTS:
            self.liquidate(account)
            self.v.check()

    @rule(account=st.sampled_from(ACCOUNTS), usd=st.integers(1, 3_000), out=st.booleans())
    def money(self, account: str, usd: int, out: bool) -> None:
        cmd: Any = Withdraw if out else Deposit
        self.v.apply(cmd(account=account, amount=usd * USD))

    @rule(move=st.integers(-300, 300))
    def underlying(self, move: int) -> None:
        mkt = self.v.engine.markets[OPTION]
        self.v.apply(SetIndexPrice(symbol=OPTION, price=max(100, mkt.index_price + move)))

    @precondition(lambda self: self.steps >= 25)  # late: the series trades first
    @rule(settle=st.integers(500, 1700))
    def expire_option(self, settle: int) -> None:
        self.v.apply(ExpireInstrument(symbol=OPTION))
        self.v.apply(SettleInstrument(symbol=OPTION, price=settle))
        assert self.v.engine.open_interest(OPTION) == (0, 0)

    @rule(usd=st.integers(1, 500))
    def fund(self, usd: int) -> None:
        self.v.apply(FundInsurance(amount=usd * USD))

    @invariant()
    def consistent(self) -> None:
        self.v.check()
        self.steps += 1
        if self.steps % 10 == 0:  # from here on, a restored copy must give the same events
            e = self.v.engine
            self.v.shadow = Engine.restore(e.snapshot())
            assert self.v.shadow.state_hash() == e.state_hash()
        elif self.v.shadow is not None:
            assert self.v.shadow.state_hash() == self.v.engine.state_hash()


DerivativesMachine.TestCase.settings = settings(
    max_examples=150,
    stateful_step_count=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
TestDerivatives = DerivativesMachine.TestCase
