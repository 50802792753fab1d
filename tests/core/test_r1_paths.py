"""R1's fast paths against the slow definitions, on several instruments at once.

The engine decides pre-trade risk with inlined arithmetic (`Margin.pre_trade`) and,
when the order's market term grows, one pass over the account (`covers`). These properties
check both against the plain definitions (`symbol_requirement`, `requirement`,
`cross_equity`) on random accounts holding cross and isolated positions and resting orders in
three instruments of different value factors, at random marks; and that fills pay the rate of
the first matching fee tier.
"""

from __future__ import annotations

from hypothesis import event, given, settings
from hypothesis import strategies as st

from tests.core.deriv_helpers import USD, Venue, x_instrument
from venue.core import (
    Deposit,
    FeeTier,
    OrdType,
    RejectReason,
    SetMarginMode,
    Side,
    StpMode,
    TimeInForce,
    Withdraw,
)
from venue.core.book import Order

BUY, SELL = Side.BUY, Side.SELL
SYMBOLS = ["X-PERP", "Y-PERP", "Z-PERP"]
LOTS = {"X-PERP": 1, "Y-PERP": 1000, "Z-PERP": 10}  # lots per generated unit


def _venue() -> Venue:
    return Venue(
        x_instrument("X-PERP"),
        x_instrument("Y-PERP", tick_size="0.5", lot_size="0.001", max_order_qty=10**6),
        x_instrument("Z-PERP", lot_size="0.1", imr_ppb=20_000_000),
    )


_position = st.tuples(st.sampled_from(SYMBOLS), st.integers(-6, 6), st.integers(-40, 40))
_resting = st.tuples(
    st.sampled_from(SYMBOLS), st.booleans(), st.integers(-80, 80), st.integers(1, 6)
)


@settings(max_examples=150, deadline=None)
@given(
    positions=st.lists(_position, max_size=4),
    resting=st.lists(_resting, max_size=8),
    isolated=st.sampled_from([None, *SYMBOLS]),
    usd=st.integers(0, 6_000),
    marks=st.tuples(*(st.integers(850, 1150) for _ in SYMBOLS)),
    new=st.tuples(
        st.sampled_from(SYMBOLS), st.booleans(), st.integers(-80, 80), st.integers(1, 12)
    ),
    leverage=st.sampled_from([5, 20, 50]),
)
def test_r1_decides_as_the_slow_requirement_on_several_instruments(  # noqa: PLR0917
    positions: list[tuple[str, int, int]],
    resting: list[tuple[str, bool, int, int]],
    isolated: str | None,
    usd: int,
    marks: tuple[int, int, int],
    new: tuple[str, bool, int, int],
    leverage: int,
) -> None:
    v = _venue()
    v.account("A", 0, leverage=leverage)
    v.account("Z", 10_000_000)
    if isolated is not None:
        v.apply(SetMarginMode(account="A", symbol=isolated, isolated=True))
    v.apply(Deposit(account="A", amount=10**12))
    for symbol, size, off in positions:
        if size:
            buyer, seller = ("A", "Z") if size > 0 else ("Z", "A")
            v.trade(buyer, seller, 1000 + off, abs(size) * LOTS[symbol], symbol)
    for symbol, is_buy, off, qty in resting:
        v.order("A", BUY if is_buy else SELL, 1000 + off, qty * LOTS[symbol], symbol)
    balance = v.balance("A")
    keep = usd * USD
    if balance > keep:
        v.apply(Withdraw(account="A", amount=balance - keep))
    for symbol, mark in zip(SYMBOLS, marks, strict=True):
        v.mark(mark, symbol)
    e = v.engine
    acct = e.accounts["A"]
    equity = e.margin.cross_equity(acct)

    # The slow step: one pass == requirement (with one market's term replaced) <= equity.
    for symbol in SYMBOLS:
        mkt = e.markets[symbol]
        own = e.margin.symbol_requirement(acct, mkt)
        border = max(0, equity - e.margin.requirement(acct, mkt, 0))  # the largest value covered
        for value in (0, own, own + 1, border, border + 1):
            want = e.margin.requirement(acct, mkt, value) <= equity
            assert e.margin.covers(acct, mkt, value) is want, (symbol, value)
            event(f"covered: {want}")

    # A new order and replaces, where the order's own market holds no isolated position (for
    # an isolated one the fast path compares the terms before the isolated adjustment).
    symbol, is_buy, off, qty = new
    if symbol == isolated:
        return
    mkt = e.markets[symbol]
    side = BUY if is_buy else SELL
    price = max(1, e.mark_price(symbol) or 1000) + off  # type: ignore[operator]
    lots = qty * LOTS[symbol]
    o = Order(
        10**6, "S", "F", "A", "x", symbol, side, OrdType.LIMIT, TimeInForce.GTC, price, lots,
        0, 0, 0, False, False, 0, StpMode.CANCEL_AGGRESSOR,
    )  # fmt: skip

    def slow(before: int, after: int, leaves: int) -> RejectReason | None:
        if after <= before:
            return None
        fee = e.margin.order_fee(acct, mkt, leaves, price)
        if e.margin.requirement(acct, mkt, after) + fee > e.margin.cross_equity(acct):
            return RejectReason.INSUFFICIENT_MARGIN
        return None

    before = e.margin.symbol_requirement(acct, mkt)
    after = e.margin.symbol_requirement(acct, mkt, None, (side, price, lots))
    want = slow(before, after, lots)
    event(f"new order: {want}")
    assert e.margin.pre_trade(mkt, o, v.ts, acct) == want
    for r in [r for r in acct.orders.values() if r.symbol == symbol]:
        after = e.margin.symbol_requirement(acct, mkt, r, (r.side, price, lots - r.cum_qty))
        want = slow(before, after, lots - r.cum_qty)
        assert e.margin.pre_trade(mkt, r, v.ts, acct, True, price, lots) == want
    v.check()


def test_fills_pay_the_first_matching_fee_tier_and_defaults_otherwise() -> None:
    # 1 tick x 1 lot = 1 USD: 5 lots at 1000 = 5,000 USD of notional.
    inst = x_instrument(
        maker_fee_ppb=-100_000,  # -0.01 %
        taker_fee_ppb=500_000,  # 0.05 %
        fee_tiers=[
            FeeTier("vip", 0, 300_000),
            FeeTier("vip", 100_000, 900_000),  # a later entry of the same tier is not used
            FeeTier("mm", -200_000, 400_000),
        ],
    )
    v = Venue(inst)
    v.account("M", 100_000, fee_tier="mm")
    v.account("V", 100_000, fee_tier="vip")
    v.account("P", 100_000, fee_tier="plain")
    v.trade("V", "M", 1000, 5)  # V takes (vip 0.03 %: 1.5 USD), M makes (mm -0.02 %: -1 USD)
    assert v.balance("V") == 100_000 * USD - 1_500_000
    assert v.balance("M") == 100_000 * USD + 1_000_000
    v.trade("M", "P", 1000, 5)  # M takes (mm 0.04 %: 2 USD), P makes (default -0.01 %)
    assert v.balance("M") == 100_000 * USD + 1_000_000 - 2_000_000
    assert v.balance("P") == 100_000 * USD + 500_000
    assert v.engine.fees_collected == 1_500_000 - 1_000_000 + 2_000_000 - 500_000
    v.check()
