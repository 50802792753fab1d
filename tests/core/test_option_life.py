"""A full life of the embedded BTC option chain (venue/default.toml): listed from
configuration, quoted with orders, traded, marks moving, a short option liquidated,
expiry in and out of the money, with money conserved after every command.

Units (the chain's): tick 0.5 USD of premium, lot 0.01 BTC, so one tick on one lot is
0.005 USD = 5 000 money units; strikes 55 000 / 60 000 / 65 000 USD = 110 000 / 120 000 /
130 000 ticks. Fees: maker 0.02 %, taker 0.05 % of the premium traded (rounded up). Every
expected figure below is worked from RoE "Options" by hand.
"""

from __future__ import annotations

from typing import Any

import msgspec

from venue.config import configured_options, load_config
from venue.core import (
    AddAccount,
    AddInstrument,
    Deposit,
    Engine,
    Event,
    ExpireInstrument,
    Liquidate,
    LiquidationCompleted,
    NewOrder,
    OrderFilled,
    OrderRejected,
    RejectReason,
    SetIndexPrice,
    SetOptionMarks,
    SettleInstrument,
    Side,
    TimeInForce,
)

USD = 1_000_000
C60 = "BTC-26MAR27-60000-C"
C65 = "BTC-26MAR27-65000-C"
P55 = "BTC-26MAR27-55000-P"


class Life:
    def __init__(self) -> None:
        self.e = Engine()
        self.ts = 0
        self.n = 0
        for inst in configured_options(load_config()):
            self.do(AddInstrument(instrument=inst))

    def do(self, cmd: Any) -> list[Event]:
        self.ts += 1
        events = self.e.apply(msgspec.structs.replace(cmd, ts=self.ts))
        assert self.e.total_money() == self.e.net_deposits, (cmd, events)
        for symbol in self.e.markets:
            long, short = self.e.open_interest(symbol)
            assert long == short
        self.e.validate_internal_state()
        return events

    def order(
        self, acct: str, symbol: str, side: Side, price: int, qty: int, **kw: Any
    ) -> list[Event]:
        self.n += 1
        return self.do(
            NewOrder(
                session=f"S-{acct}",
                firm=acct,
                account=acct,
                cl_ord_id=f"c{self.n}",
                symbol=symbol,
                side=side,
                price=price,
                qty=qty,
                **kw,
            )
        )

    def underlying(self, ticks: int) -> None:
        for symbol in self.e.markets:
            self.do(SetIndexPrice(symbol=symbol, price=ticks, source="test"))

    def mark(self, symbol: str, ticks: int) -> None:
        self.do(SetOptionMarks(symbol=symbol, price=ticks, iv_ppb=600_000_000))

    def balance(self, acct: str) -> int:
        return self.e.accounts[acct].balance

    def size(self, acct: str, symbol: str) -> int:
        pos = self.e.accounts[acct].positions.get(symbol)
        return pos.size if pos is not None else 0

    def available(self, acct: str) -> int:
        view = self.e.account_view(acct)
        assert view is not None
        return view.available


def test_full_life_of_the_chain() -> None:
    life = Life()
    assert len(life.e.markets) == 6
    for acct, usd in (("MM", 1_000_000), ("T", 10_000), ("W", 700)):
        life.do(AddAccount(firm=acct, account=acct, max_leverage=50))
        life.do(Deposit(account=acct, amount=usd * USD))
    life.underlying(120_000)  # 60 000 USD
    life.mark(C60, 4_000)  # 2 000 USD per BTC
    life.mark(C65, 1_000)  # 500 USD per BTC

    # The market maker quotes the 60 000 call; the taker lifts 10 lots (0.1 BTC) at 4 100.
    life.order("MM", C60, Side.BUY, 3_900, 100)
    life.order("MM", C60, Side.SELL, 4_100, 100)
    before = life.available("T")
    out = life.order("T", C60, Side.BUY, 4_100, 10, tif=TimeInForce.IOC)
    assert sum(e.last_qty for e in out if isinstance(e, OrderFilled) and e.account == "T") == 10
    # Premium 10 x 4 100 x 5 000 = 205 USD; taker fee ceil(205 USD x 0.05 %) = 0.1025 USD.
    premium, fee = 205 * USD, 102_500
    assert before - life.available("T") == premium + fee

    # The writer sells 10 lots of the 65 000 call at 1 000 to the taker. Per lot: OTM 10 000
    # ticks; max(0.15 x 120 000 - 10 000, 0.10 x 120 000) = 12 000, + mark 1 000 = 13 000
    # ticks = 65 USD; 10 lots 650 USD (within the writer's 700 USD).
    life.order("T", C65, Side.BUY, 1_000, 10)
    out = life.order("W", C65, Side.SELL, 1_000, 10)
    assert life.size("W", C65) == -10
    # An eleventh lot needs 65 more USD than the writer has left: refused by R1.
    out = life.order("W", C65, Side.SELL, 1_000, 1)
    assert [e.reason for e in out if isinstance(e, OrderRejected)] == [
        RejectReason.INSUFFICIENT_MARGIN
    ]

    # The underlying rallies to 64 000 USD and the 65 000 call marks at 2 600 USD.
    life.underlying(128_000)
    life.mark(C65, 5_200)
    # Writer: balance 700 - maker fee 0.01 = 699.99 USD; unrealized 10 x (1 000 - 5 200) x
    # 5 000 = -210 USD; equity 489.99 USD < maintenance 10 x (0.075 x 128 000 + 5 200) x
    # 5 000 = 10 x 74 = 740 USD: liquidatable. Partial first: the fewest lots k whose close
    # leaves MM(10 - k) <= equity at mark: 6 x 74 = 444 <= 489.99 < 7 x 74, so k = 4, bought
    # back from the market maker's offer at 5 300: realized 4 x (1 000 - 5 300) x 5 000 =
    # -86 USD, taker fee 4 x 5 300 x 5 000 x 0.05 % = 0.053 USD.
    life.order("MM", C65, Side.SELL, 5_300, 10)
    w_before = life.balance("W")
    out = life.do(Liquidate(account="W"))
    done = out[-1]
    assert isinstance(done, LiquidationCompleted) and not done.full
    assert life.size("W", C65) == -6
    assert life.balance("W") == w_before - 86 * USD - 53_000
    assert life.e.insurance_fund == 0
    refused = life.do(Liquidate(account="W"))  # healthy again
    assert [getattr(e, "reason", None) for e in refused] == [RejectReason.NOT_LIQUIDATABLE]

    # Expiry at a settlement average of 64 000 USD: the 60 000 call is 4 000 USD in the money
    # (8 000 ticks), the 65 000 call and the 55 000 put out of it.
    t_before, mm_before = life.balance("T"), life.balance("MM")
    w_at_expiry = life.balance("W")
    for symbol in (C60, C65, P55):
        life.do(ExpireInstrument(symbol=symbol))
        life.do(SettleInstrument(symbol=symbol, price=128_000))
    # Taker: +10 x (8 000 - 4 100) x 5 000 = +195 USD on the 60 000 call, and the 65 000 call
    # bought at 1 000 expires worthless: -10 x 1 000 x 5 000 = -50 USD.
    assert life.balance("T") - t_before == 195 * USD - 50 * USD
    # Market maker: short 10 of the 60 000 call at 4 100 (-195 USD), short 4 of the 65 000
    # call sold at 5 300 (+4 x 5 300 x 5 000 = +106 USD). Writer: short 6 sold at 1 000,
    # worthless: +30 USD.
    assert life.balance("MM") - mm_before == -195 * USD + 106 * USD
    assert life.balance("W") - w_at_expiry == 30 * USD
    for acct in ("MM", "T", "W"):
        assert not [s for s in life.e.accounts[acct].positions if s in (C60, C65, P55)]
