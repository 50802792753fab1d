"""Worked examples, computed by hand from the formulas (see tests/core/deriv_helpers.py).

Instrument X-PERP: 1 tick x 1 lot = 1 USD; IMR 10 %; MM tiers 5 % from 0, 10 % from
50,000 USD notional, cum = 50,000 x (10 % - 5 %) = 2,500 USD, so
MM(N) = 0.05 N below 50,000 and 0.10 N - 2,500 above (both 2,500 at N = 50,000).
"""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.core.deriv_helpers import SYM, USD, Venue, x_instrument
from venue.core import (
    AccountCommandRejected,
    ApplyFunding,
    Deposit,
    ExpireInstrument,
    FeeTier,
    FundingApplied,
    InstrumentKind,
    OrderAccepted,
    OrderRejected,
    RejectReason,
    SetIndexPrice,
    SetMarginMode,
    SettleInstrument,
    Side,
    TimeInForce,
    Withdraw,
)

BUY, SELL = Side.BUY, Side.SELL


def _pair(isolated: bool, long_usd: int, size: int = 10, price: int = 1000) -> Venue:
    """L holds `size` lots long (S short) at `price`; L has `long_usd`, S plenty."""
    v = Venue()
    v.account("L", 0)
    v.account("S", 1_000_000)
    if isolated:
        v.apply(SetMarginMode(account="L", symbol=SYM, isolated=True))
    v.apply_deposit = None  # type: ignore[attr-defined]
    from venue.core import Deposit

    v.apply(Deposit(account="L", amount=long_usd * USD))
    v.trade("L", "S", price, size)
    v.check()
    return v


def test_isolated_long_and_short_liquidation_and_bankruptcy_prices() -> None:
    # Isolated long 10 @ 1000: margin = IM = 10 % x 10,000 = 1,000 USD taken from the balance.
    # Liquidation: 1,000 + 10 (p - 1000) = 0.05 x 10 p  ->  9.5 p = 9,000  ->  p = 18,000/19.
    # Bankruptcy: 1,000 + 10 (p - 1000) = 0  ->  p = 900.
    v = _pair(isolated=True, long_usd=5_000)
    pv = v.engine.position_view("L", SYM)
    assert pv is not None
    assert pv.margin == 1_000 * USD
    assert v.balance("L") == 4_000 * USD
    assert pv.liquidation_price == Fraction(18_000, 19)
    assert pv.bankruptcy_price == 900
    # The short side of the same trade (S is cross with 1,000,000 USD): far away.
    # Isolated short 10 @ 1000 (margin 1,000): 1,000 + 10 (1000 - p) = 0.5 p -> p = 22,000/21;
    # bankruptcy 1,100.
    v2 = Venue()
    v2.account("L", 1_000_000)
    v2.account("S", 5_000)
    v2.apply(SetMarginMode(account="S", symbol=SYM, isolated=True))
    v2.trade("L", "S", 1000, 10)
    ps = v2.engine.position_view("S", SYM)
    assert ps is not None
    assert ps.liquidation_price == Fraction(22_000, 21)
    assert ps.bankruptcy_price == 1_100
    v2.check()


def test_cross_long_and_short_liquidation_and_bankruptcy_prices() -> None:
    # Cross long 10 @ 1000 with a 2,000 USD balance:
    # 2,000 + 10 (p - 1000) = 0.5 p -> p = 16,000/19 (~842.1); bankruptcy 800.
    v = _pair(isolated=False, long_usd=2_000)
    pv = v.engine.position_view("L", SYM)
    assert pv is not None
    assert pv.liquidation_price == Fraction(16_000, 19)
    assert pv.bankruptcy_price == 800
    # Cross short 10 @ 1000 with 2,000 USD: 2,000 + 10 (1000 - p) = 0.5 p -> p = 8,000/7;
    # bankruptcy 1,200.
    v2 = Venue()
    v2.account("L", 1_000_000)
    v2.account("S", 2_000)
    v2.trade("L", "S", 1000, 10)
    ps = v2.engine.position_view("S", SYM)
    assert ps is not None
    assert ps.liquidation_price == Fraction(8_000, 7)
    assert ps.bankruptcy_price == 1_200


def test_liquidation_price_at_a_tier_boundary() -> None:
    # Long 100 @ 1000 (notional 100,000: tier 2) with balance B = 52,500:
    # tier 2: 52,500 + 100 (p - 1000) = 0.10 x 100 p - 2,500 -> 90 p = 45,000 -> p = 500,
    # exactly the boundary (N = 50,000, where both tiers give MM = 2,500 = equity).
    v = _pair(isolated=False, long_usd=52_500, size=100)
    pv = v.engine.position_view("L", SYM)
    assert pv is not None
    assert pv.liquidation_price == 500
    # With B = 60,000 the tier-2 solution (p = 37,500/90 < 500) is outside its tier; tier 1:
    # 60,000 + 100 (p - 1000) = 5 p -> 95 p = 40,000 -> p = 8,000/19 (N ~ 42,105 < 50,000).
    v = _pair(isolated=False, long_usd=60_000, size=100)
    pv = v.engine.position_view("L", SYM)
    assert pv is not None
    assert pv.liquidation_price == Fraction(8_000, 19)
    # MM continuity at the boundary, at mark 500: 0.05 x 50,000 = 2,500 = 0.10 x 50,000 - 2,500.
    v.mark(500)
    assert v.engine.position_view("L", SYM).maintenance_margin == 2_500 * USD  # type: ignore[union-attr]
    v.mark(499)  # N = 49,900 in tier 1: 2,495
    assert v.engine.position_view("L", SYM).maintenance_margin == 2_495 * USD  # type: ignore[union-attr]
    v.mark(501)  # N = 50,100 in tier 2: 5,010 - 2,500 = 2,510
    assert v.engine.position_view("L", SYM).maintenance_margin == 2_510 * USD  # type: ignore[union-attr]


def test_r1_initial_margin_by_segment_leverage_and_open_orders() -> None:
    v = Venue()
    v.account("MM", 1_000, leverage=20, segment="market_maker")  # imr max(10 %, 5 %) = 10 %
    v.account("RT", 1_000, leverage=5, segment="retail")  # imr max(10 %, 20 %) = 20 %
    # MM: 10 lots at mark 1000 need 1,000 USD: accepted; 11 would need 1,100.
    assert isinstance(v.order("MM", BUY, 1000, 10)[0], OrderAccepted)
    v.order("MM", SELL, 1010, 10)  # worst case stays 10 lots either way: accepted
    rej = v.order("MM", BUY, 990, 1)[0]
    assert isinstance(rej, OrderRejected)
    assert rej.reason == RejectReason.INSUFFICIENT_MARGIN
    # Retail: 5 lots x 1000 x 20 % = 1,000: accepted; a 6th lot is not.
    assert isinstance(v.order("RT", BUY, 1000, 5)[0], OrderAccepted)
    rej = v.order("RT", BUY, 1000, 1)[0]
    assert isinstance(rej, OrderRejected)
    assert rej.reason == RejectReason.INSUFFICIENT_MARGIN
    # A buy above mark also books its immediate loss: 1 lot at 1,100 needs IM at mark
    # (10 % x 1,000 = 100) + the loss on filling above mark (100) = 200 USD.
    v.account("T", 199)
    rej = v.order("T", BUY, 1100, 1)[0]
    assert isinstance(rej, OrderRejected)
    v.account("T2", 200)
    assert isinstance(v.order("T2", BUY, 1100, 1)[0], OrderAccepted)
    v.check()


def test_reduce_only_is_resized_or_refused() -> None:
    v = _pair(isolated=False, long_usd=2_000)
    ev = v.order("L", SELL, 1200, 15, reduce_only=True)
    assert isinstance(ev[0], OrderAccepted)
    assert ev[0].qty == 10  # resized down to the position
    ev = v.order("L", BUY, 900, 1, reduce_only=True)
    assert isinstance(ev[0], OrderRejected)
    assert ev[0].reason == RejectReason.REDUCE_ONLY_WOULD_INCREASE


def test_stale_index_refuses_risk_increasing_orders_only() -> None:
    v = Venue(x_instrument(index_stale_ns=100))
    v.account("L", 10_000)
    v.account("S", 10_000)
    v.apply(SetIndexPrice(symbol=SYM, price=1000, source="test"))
    v.trade("L", "S", 1000, 2)
    v.ts += 1_000  # the index is now 1,000 ns old
    rej = v.order("L", BUY, 1000, 1)[0]
    assert isinstance(rej, OrderRejected)
    assert rej.reason == RejectReason.INDEX_STALE
    assert isinstance(v.order("L", SELL, 1100, 1)[0], OrderAccepted)  # reduces: accepted
    from venue.core import Liquidate

    out = v.apply(Liquidate(account="L"))
    assert isinstance(out[0], AccountCommandRejected)
    assert out[0].reason == RejectReason.INDEX_STALE
    v.apply(SetIndexPrice(symbol=SYM, price=1000))
    assert isinstance(v.order("L", BUY, 1000, 1)[0], OrderAccepted)


def test_fees_maker_rebate_and_taker_round_in_the_venues_favour() -> None:
    # BTC-like: tick 0.5 x lot 0.001 x 1 = 0.0005 USD = 500 units per tick-lot.
    # 7 lots at 60,001 ticks: notional 7 x 60,001 x 500 = 210,003,500 units.
    # Taker 0.05 %: 105,001.75 -> 105,002. Maker -0.01 %: -21,000.35 -> -21,000 (rebate
    # rounds towards zero). Then V (tier "vip", taker 0.03 %) takes 7 at 60,003: notional
    # 7 x 60,003 x 500 = 210,010,500; fee 63,003.15 -> 63,004; T's rebate 21,001.05 -> 21,001.
    inst = x_instrument(
        "BTC-PERP",
        tick_size="0.5",
        lot_size="0.001",
        ref_price=60_000,
        maker_fee_ppb=-100_000,
        taker_fee_ppb=500_000,
        fee_tiers=[FeeTier("vip", 0, 300_000)],
    )
    v = Venue(inst)
    v.account("M", 100_000)
    v.account("T", 100_000)
    v.account("V", 100_000, fee_tier="vip")
    v.trade("T", "M", 60_001, 7, "BTC-PERP")
    assert v.balance("T") == 100_000 * USD - 105_002
    assert v.balance("M") == 100_000 * USD + 21_000
    assert v.engine.fees_collected == 105_002 - 21_000
    # Entry prices are exact: M short 7 @ 60,001, T long 7 @ 60,001.
    assert v.engine.position_view("T", "BTC-PERP").entry_price == 60_001  # type: ignore[union-attr]
    v.trade("V", "T", 60_003, 7, "BTC-PERP")  # T (maker) closes: realized 7 x 2 x 500
    assert v.engine.accounts["T"].positions.get("BTC-PERP") is None
    assert v.balance("T") == 100_000 * USD - 105_002 + 7_000 + 21_001  # 21,001.05 -> 21,001
    assert v.balance("V") == 100_000 * USD - 63_004
    v.check()


def test_funding_payments_are_zero_sum_with_rounding_to_the_fund() -> None:
    # Mark 1001, rate 123,457 ppb. L long 3 pays 3 x 1001 x 10^6 x 123,457 / 10^9 =
    # 370,741.371 -> 370,742 units (payers round up). Shorts: A 1 lot receives 123,580.457 ->
    # 123,580, B 2 lots 247,160.914 -> 247,160 (receivers round down). Fund: 742 - 740 = 2.
    v = Venue()
    v.account("L", 10_000)
    v.account("A", 10_000)
    v.account("B", 10_000)
    v.trade("L", "A", 1000, 1)
    v.trade("L", "B", 1000, 2)
    v.mark(1001)
    before = {a: v.balance(a) for a in "LAB"}
    out = v.apply(ApplyFunding(symbol=SYM, rate_ppb=123_457))
    f = out[0]
    assert isinstance(f, FundingApplied)
    assert f.mark == 1001
    assert {p.account: p.amount for p in f.payments} == {
        "L": -370_742,
        "A": 123_580,
        "B": 247_160,
    }
    assert f.to_insurance_fund == 2
    assert v.engine.insurance_fund == 2
    assert v.balance("L") - before["L"] == -370_742
    # A negative rate: shorts pay (rounded up), longs receive (rounded down).
    out = v.apply(ApplyFunding(symbol=SYM, rate_ppb=-123_457))
    f = out[0]
    assert isinstance(f, FundingApplied)
    assert {p.account: p.amount for p in f.payments} == {
        "L": 370_741,
        "A": -123_581,
        "B": -247_161,
    }
    assert f.to_insurance_fund == 1
    v.check()


def test_withdraw_is_limited_by_available() -> None:
    v = _pair(isolated=False, long_usd=2_000)  # IM of 10 lots at 1000: 1,000 USD
    out = v.apply(Withdraw(account="L", amount=1_001 * USD))
    assert isinstance(out[0], AccountCommandRejected)
    assert out[0].reason == RejectReason.WITHDRAWAL_EXCEEDS_AVAILABLE
    out = v.apply(Withdraw(account="L", amount=1_000 * USD))
    assert type(out[0]).__name__ == "BalanceChanged"
    view = v.engine.account_view("L")
    assert view is not None
    assert view.available == 0
    v.check()


def test_dated_future_settles_every_position_and_refuses_orders() -> None:
    fut = x_instrument("X-FUT", kind=InstrumentKind.FUTURE, expiry_ts=10**15)
    v = Venue(fut)
    v.account("A", 10_000)
    v.account("B", 10_000)
    v.trade("A", "B", 1000, 2, "X-FUT")
    v.order("A", BUY, 990, 1, "X-FUT")  # resting: canceled at expiry
    v.apply(ExpireInstrument(symbol="X-FUT", operator="ops"))
    out = v.apply(SettleInstrument(symbol="X-FUT", price=1100))
    # A long 2 from 1000 to 1100: +200 USD; B short: -200 USD.
    assert [type(e).__name__ for e in out] == [
        "InstrumentSettled",
        "PositionSettled",
        "BalanceChanged",
        "PositionSettled",
        "BalanceChanged",
    ]
    assert v.balance("A") == 10_200 * USD
    assert v.balance("B") == 9_800 * USD
    assert v.engine.accounts["A"].positions == {}
    rej = v.order("A", BUY, 1000, 1, "X-FUT", TimeInForce.IOC)[0]
    assert isinstance(rej, OrderRejected)
    assert rej.reason == RejectReason.INSTRUMENT_EXPIRED
    v.check()


@settings(max_examples=200, deadline=None)
@given(
    resting=st.lists(st.tuples(st.booleans(), st.integers(-80, 80), st.integers(1, 6)), max_size=6),
    position=st.integers(-8, 8),
    new=st.tuples(st.booleans(), st.integers(-80, 80), st.integers(1, 12)),
    usd=st.integers(500, 4_000),
    mark=st.integers(900, 1100),
)
def test_r1_fast_path_agrees_with_the_slow_requirement(
    resting: list[tuple[bool, int, int]],
    position: int,
    new: tuple[bool, int, int],
    usd: int,
    mark: int,
) -> None:
    """R1's inlined arithmetic decides exactly as `symbol_requirement` + `requirement`."""
    from venue.core.book import Order
    from venue.core.types import OrdType, StpMode

    v = Venue()
    v.account("A", usd)
    v.account("Z", 1_000_000)
    if position:
        buyer, seller = ("A", "Z") if position > 0 else ("Z", "A")
        v.apply(Deposit(account="A", amount=10**12))
        v.trade(buyer, seller, 1000, abs(position))
        v.apply(Withdraw(account="A", amount=10**12))
    for is_buy, off, qty in resting:
        v.order("A", BUY if is_buy else SELL, 1000 + off, qty)
    v.mark(mark)
    e = v.engine
    mkt = e.markets[SYM]
    acct = e.accounts["A"]
    side = BUY if new[0] else SELL
    price = mark + new[1]
    o = Order(
        10**6, "S", "F", "A", "x", SYM, side, OrdType.LIMIT, TimeInForce.GTC, price, new[2],
        0, 0, 0, False, False, 0, StpMode.CANCEL_AGGRESSOR,
    )  # fmt: skip
    before = e.margin.symbol_requirement(acct, mkt)
    after = e.margin.symbol_requirement(acct, mkt, None, (side, price, new[2]))
    fee = e.margin.order_fee(acct, mkt, new[2], price)
    if after <= before:
        want = None
    elif e.margin.requirement(acct, mkt, after) + fee > e.margin.cross_equity(acct):
        want = RejectReason.INSUFFICIENT_MARGIN
    else:
        want = None
    assert e.margin.pre_trade(mkt, o, v.ts, acct) == want
    # The same for replacing each resting order with the new terms.
    for r in list(acct.orders.values()):
        before = e.margin.symbol_requirement(acct, mkt)
        after = e.margin.symbol_requirement(acct, mkt, r, (r.side, price, new[2] - r.cum_qty))
        fee = e.margin.order_fee(acct, mkt, new[2] - r.cum_qty, price)
        if after <= before:
            want = None
        elif e.margin.requirement(acct, mkt, after) + fee > e.margin.cross_equity(acct):
            want = RejectReason.INSUFFICIENT_MARGIN
        else:
            want = None
        assert e.margin.pre_trade(mkt, r, v.ts, acct, True, price, new[2]) == want
