"""Liquidation worked examples (hand-computed), insurance fund, ADL ranking, and a cascade.

Instrument X-PERP as in tests/core/deriv_helpers.py (1 tick x 1 lot = 1 USD, MM 5 % below
50,000 USD notional). In most examples L is cross with 2,000 USD, long 10 @ 1000 from S:
equity(p) = 2,000 + 10 (p - 1000); bankruptcy price 800; liquidation price 16,000/19.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any

from tests.core.deriv_helpers import SYM, USD, Venue
from venue.core import (
    LIQUIDATION_SESSION,
    AccountCommandRejected,
    AdlExecuted,
    BalanceReason,
    CancelReason,
    Deposit,
    Event,
    FundInsurance,
    InsuranceFundChanged,
    Liquidate,
    LiquidationCompleted,
    LiquidationStarted,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    PositionLiquidated,
    RejectReason,
    Side,
)
from venue.core.liquidation import adl_score

BUY, SELL = Side.BUY, Side.SELL


def _setup(fund_usd: int = 0, s_usd: int = 1_000_000) -> Venue:
    v = Venue()
    v.account("L", 2_000)
    v.account("S", s_usd)
    v.account("B", 1_000_000)
    if fund_usd:
        v.apply(FundInsurance(amount=fund_usd * USD, operator="ops"))
    v.trade("L", "S", 1000, 10)
    return v


def _of(events: list[Event], cls: type[Any]) -> list[Any]:
    return [e for e in events if isinstance(e, cls)]


def test_healthy_account_is_not_liquidated() -> None:
    v = _setup()
    v.mark(843)  # equity 2,000 - 1,570 = 430 >= MM 0.05 x 8,430 = 421.5 -> 422
    out = v.apply(Liquidate(account="L"))
    assert isinstance(out[0], AccountCommandRejected)
    assert out[0].reason == RejectReason.NOT_LIQUIDATABLE


def test_partial_liquidation_restores_health() -> None:
    # Mark 840: equity 2,000 - 1,600 = 400 < MM 0.05 x 8,400 = 420. Closing k lots at mark
    # leaves MM 42 (10 - k) <= 400 for k >= 1, so 1 lot is sent (IOC, limit = bankruptcy 800)
    # and sells at the best bid 830: realized -170 -> balance 1,830; equity at 840 =
    # 1,830 - 9 x 160 = 390 >= MM 0.05 x 9 x 840 = 378: healthy, done.
    v = _setup()
    v.order("B", BUY, 830, 5)
    v.order("L", SELL, 1200, 3)  # L's own resting order: canceled first
    v.mark(840)
    out = v.apply(Liquidate(account="L"))
    assert isinstance(out[0], LiquidationStarted)
    assert out[0].equity == 400 * USD
    assert out[0].maintenance_margin == 420 * USD
    canceled = _of(out, OrderCanceled)
    assert canceled[0].reason == CancelReason.LIQUIDATION
    acc = _of(out, OrderAccepted)
    assert acc[0].session == LIQUIDATION_SESSION
    assert acc[0].cl_ord_id == f"LIQ-{acc[0].order_id}"
    assert (acc[0].side, acc[0].price, acc[0].qty) == (SELL, 800, 1)
    fills = _of(out, OrderFilled)
    assert [(f.account, f.last_px, f.last_qty) for f in fills] == [("L", 830, 1), ("B", 830, 1)]
    done = out[-1]
    assert isinstance(done, LiquidationCompleted)
    assert not done.full
    assert v.balance("L") == 1_830 * USD
    assert v.size("L") == 9
    assert done.equity == 390 * USD
    assert done.maintenance_margin == 378 * USD
    v.check()


def test_full_liquidation_book_then_adl_then_surplus_to_the_fund() -> None:
    # Mark gaps to 790: equity -100 (bankrupt), no partial close can help. B bids 850 x 4 and
    # 700 x 10. (a) IOC limit 800: 4 @ 850, realized -600 -> balance 1,400, 6 lots left.
    # (b) fund empty: skipped. (c) ADL at the new bankruptcy price 1,400 + 6 (p - 1000) = 0 ->
    # p = 766.67 -> 767 (rounded in the account's favour) against S (the only short):
    # realized 6 x (767 - 1000) = -1,398 -> balance 2 USD, which is surplus: to the fund.
    v = _setup()
    v.order("B", BUY, 850, 4)
    v.order("B", BUY, 700, 10)
    v.mark(790)
    s_before = v.balance("S")
    out = v.apply(Liquidate(account="L"))
    adl = _of(out, AdlExecuted)
    assert [(a.counterparty, a.price, a.qty, a.rank) for a in adl] == [("S", 767, 6, 1)]
    assert v.balance("S") - s_before == 6 * 233 * USD
    fund = _of(out, InsuranceFundChanged)
    assert [(f.delta, f.reason) for f in fund] == [(2 * USD, BalanceReason.LIQUIDATION_SURPLUS)]
    pl = _of(out, PositionLiquidated)
    assert [(p.bankruptcy_price, p.book_qty, p.adl_qty, p.size) for p in pl] == [(800, 4, 6, 0)]
    assert v.balance("L") == 0
    assert v.engine.insurance_fund == 2 * USD
    assert isinstance(out[-1], LiquidationCompleted)
    assert out[-1].full
    v.check()


def test_insurance_fund_pays_the_shortfall() -> None:
    # As above with a 1,000 USD fund. After (a) L has 1,400 and 6 lots; (b) the fund can pay a
    # loss of 1,000 beyond the bankruptcy price: limit = 4,600/6 - 1,000/6 = 600. The IOC
    # sells 6 @ 700: realized -1,800 -> balance -400; the fund pays 400 (left: 600).
    v = _setup(fund_usd=1_000)
    v.order("B", BUY, 850, 4)
    v.order("B", BUY, 700, 10)
    v.mark(790)
    out = v.apply(Liquidate(account="L"))
    prices = [a.price for a in _of(out, OrderAccepted)]
    assert prices == [800, 600]
    assert not _of(out, AdlExecuted)
    fund = _of(out, InsuranceFundChanged)
    assert [(f.delta, f.reason) for f in fund] == [(-400 * USD, BalanceReason.INSURANCE_PAYOUT)]
    assert v.engine.insurance_fund == 600 * USD
    assert v.balance("L") == 0
    v.check()


def test_fund_too_small_then_adl() -> None:
    # Fund 100 USD, only a bid at 700: (a) limit 800 and (b) limit 800 - 100/10 = 790 do not
    # reach 700; (c) ADL closes all 10 lots against S at 800. L ends at 0, the fund unchanged.
    v = _setup(fund_usd=100)
    v.order("B", BUY, 700, 10)
    v.mark(790)
    out = v.apply(Liquidate(account="L"))
    assert not _of(out, OrderFilled)
    assert [(a.price, a.qty) for a in _of(out, AdlExecuted)] == [(800, 10)]
    assert v.balance("L") == 0
    assert v.engine.insurance_fund == 100 * USD
    v.check()


def test_adl_ranking_profit_ratio_times_effective_leverage() -> None:
    # L long 10 @ 1000: 6 from M1 (balance 10,000), 4 from M2 (balance 3,000). Mark 790:
    # M1: upnl 6 x 210 = 1,260, ratio 1,260/6,000 = 0.21, leverage 4,740/11,260 -> 0.0884.
    # M2: upnl 4 x 210 = 840, ratio 0.21, leverage 3,160/3,840 -> 0.1728: first.
    # No bids, empty fund: ADL at 800: M2 4 lots (rank 1), then M1 6 lots (rank 2).
    v = Venue()
    v.account("L", 2_000)
    v.account("M1", 10_000)
    v.account("M2", 3_000)
    v.trade("L", "M1", 1000, 6)
    v.trade("L", "M2", 1000, 4)
    v.mark(790)
    out = v.apply(Liquidate(account="L"))
    adl = _of(out, AdlExecuted)
    assert [(a.counterparty, a.qty, a.price, a.rank) for a in adl] == [
        ("M2", 4, 800, 1),
        ("M1", 6, 800, 2),
    ]
    assert v.balance("M2") == 3_800 * USD
    assert v.balance("M1") == 11_200 * USD
    assert v.balance("L") == 0
    v.check()


def test_isolated_position_liquidation_leaves_the_cross_balance_alone() -> None:
    # L: 10,000 USD, isolated long 10 @ 1000 (margin 1,000 from the balance: 9,000 left).
    # Liquidation price 18,000/19 ~ 947.4, bankruptcy 900. Mark 940: margin + upnl = 400 <
    # MM 470. Bids 920 x 10: the position closes at 920, realized -800, margin 1,000 returned:
    # +200, which is surplus to the fund; the cross balance stays 9,000.
    from venue.core import SetMarginMode

    v = Venue()
    v.account("L", 10_000)
    v.account("S", 1_000_000)
    v.account("B", 1_000_000)
    v.apply(SetMarginMode(account="L", symbol=SYM, isolated=True))
    v.trade("L", "S", 1000, 10)
    assert v.balance("L") == 9_000 * USD
    v.order("B", BUY, 920, 10)
    v.mark(940)
    out = v.apply(Liquidate(account="L"))
    assert isinstance(out[-1], LiquidationCompleted)
    assert v.size("L") == 0
    assert v.balance("L") == 9_000 * USD
    assert v.engine.insurance_fund == 200 * USD
    v.check()


def test_cascade_index_gap_through_many_liquidation_prices() -> None:
    # Ten longs of 10 lots @ 1000 with 1,000 + 100 i USD; a bid ladder from B 950..600; the
    # mark gaps 1000 -> 850 -> 700. Liquidate everyone until nobody is liquidatable: the run
    # ends consistent (money conserved, OI balanced, fund >= 0, nobody below zero unless the
    # fund is exhausted, nobody left below maintenance).
    v = Venue()
    v.account("S", 10_000_000)
    v.account("B", 10_000_000)
    longs = [f"L{i}" for i in range(10)]
    for i, name in enumerate(longs):
        v.account(name, 1_000 + 100 * i)
        v.trade(name, "S", 1000, 10)
    for px in range(950, 599, -50):
        v.order("B", BUY, px, 7)
    v.check()
    for mark in (850, 700):
        v.mark(mark)
        for _ in range(3):
            for name in longs:
                v.apply(Liquidate(account=name))
                v.check()
        for name in longs:
            out = v.apply(Liquidate(account=name))
            assert isinstance(out[0], AccountCommandRejected), (name, out)
    for name in longs:
        assert v.balance(name) >= 0 or v.engine.insurance_fund == 0
    total_lost = sum((1_000 + 100 * i) * USD - v.balance(n) for i, n in enumerate(longs))
    assert total_lost > 0
    assert v.engine.total_money() == v.engine.net_deposits
    v.apply(Deposit(account="L0", amount=1))
    v.check()


def test_adl_score_follows_bitmexs_published_rule() -> None:
    """BitMEX: ranking = PnL% x effective leverage if PnL% > 0, PnL% / effective leverage
    otherwise; effective leverage = |mark value| / (mark value - bankrupt value), PnL% =
    (mark value - entry value) / |entry value|. Derived figures (USD):
    a long entered at value 10,000, mark value 10,500, bankrupt value 9,660: PnL% 5 %,
    leverage 10,500 / 840 = 12.5, score 0.625; the same long at mark value 9,900, bankrupt
    value 9,700: PnL% -1 %, leverage 49.5, score -0.01 / 49.5 = -1/4,950 (not -0.495)."""
    assert adl_score(500, 10_000, 10_500, 840) == Fraction(5, 8)
    assert adl_score(-100, 10_000, 9_900, 200) == Fraction(-1, 4_950)
    assert adl_score(0, 10_000, 10_000, 500) == 0


def test_adl_ranks_losing_positions_by_pnl_divided_by_leverage() -> None:
    """Two losing shorts: M1 and M2 each sold 4 @ 600 (to N) and 1 @ 1,000 (to L), entry
    680; M1 holds 50,000 USD, M2 3,000. L (200 USD) is long 2 @ 1,000, bankrupt at 900. At
    mark 890 each short has PnL% = 5 x (680 - 890) / 3,400 = -30.9 %; effective leverage
    M1 4,450 / 48,950 = 0.091, M2 4,450 / 1,950 = 2.28. Published rule (PnL% <= 0):
    PnL% / leverage: M2 -0.135 > M1 -3.40, so M2 is deleveraged first (multiplying, as
    before, ranked M1 first: -0.028 > -0.705)."""
    v = Venue()
    v.account("L", 200)
    v.account("M1", 50_000)
    v.account("M2", 3_000)
    v.account("N", 100_000)
    v.mark(600)
    v.trade("N", "M1", 600, 4)
    v.trade("N", "M2", 600, 4)
    v.mark(1000)
    v.trade("L", "M1", 1000, 1)
    v.trade("L", "M2", 1000, 1)
    v.mark(890)
    for name, equity in (("M1", 48_950), ("M2", 1_950)):
        view = v.engine.account_view(name)
        assert view is not None and view.equity == equity * USD
    out = v.apply(Liquidate(account="L"))
    adl = _of(out, AdlExecuted)
    assert [(a.counterparty, a.price, a.qty, a.rank) for a in adl] == [("M2", 900, 2, 1)]
    v.check()
