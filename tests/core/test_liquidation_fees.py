"""Fees at bankruptcy and in R1 (issue 17 item 7), worked by hand.

X-PERP as in tests/core/deriv_helpers.py (1 tick x 1 lot = 1 USD), here with IMR 5 % and a
taker fee of 0.07 % (maker 0). L is cross with 1,000 USD, long 10 @ 1,100 as the maker
(no fee): equity(p) = 1,000 + 10 (p - 1,100), so the bankruptcy price is 1,000, where the
liquidation order's taker fee is 10 x 1,000 x 0.07 % = 7 USD.

Rules (RoE section 14): a liquidated account never ends below zero because of its fees; the
fees of its liquidation orders that it cannot pay are waived (given back from fee revenue,
`BalanceChanged(LIQUIDATION_FEE_WAIVED)`), never paid by the insurance fund; the fund pays
only a price loss beyond the bankruptcy price. R1 counts an order's own worst-case fee.
"""

from __future__ import annotations

from tests.core.deriv_helpers import SYM, USD, Venue, x_instrument
from venue.core import (
    BalanceChanged,
    BalanceReason,
    FundInsurance,
    InsuranceFundChanged,
    Liquidate,
    LiquidationCompleted,
    OrderRejected,
    RejectReason,
    Side,
    TimeInForce,
)

BUY, SELL = Side.BUY, Side.SELL
TAKER = 700_000  # 0.07 %


def _setup(fund_usd: int = 0) -> Venue:
    v = Venue(x_instrument(imr_ppb=50_000_000, taker_fee_ppb=TAKER))
    v.account("L", 1_000)
    v.account("S", 1_000_000)
    v.account("B", 1_000_000)
    if fund_usd:
        v.apply(FundInsurance(amount=fund_usd * USD, operator="ops"))
    v.mark(1100)
    v.order("L", BUY, 1100, 10)  # L rests: it is the maker
    v.order("S", SELL, 1100, 10, tif=TimeInForce.IOC)
    assert v.size("L") == 10 and v.balance("L") == 1_000 * USD
    return v


def _reasons(events: list[object]) -> list[tuple[BalanceReason, int]]:
    return [(e.reason, e.delta) for e in events if isinstance(e, BalanceChanged)]


def test_liquidation_fee_at_the_bankruptcy_price_is_waived_not_left_as_a_debt() -> None:
    """Empty fund. B bids 10 @ 1,000 (the bankruptcy price); the mark gaps to 990. L's
    liquidation order sells 10 @ 1,000: realized -1,000 leaves 0, and its taker fee (7 USD)
    would leave L at -7 with no position, a debt nothing can clear."""
    v = _setup()
    v.order("B", BUY, 1000, 10)
    v.mark(990)
    fees_before = v.engine.fees_collected
    out = v.apply(Liquidate(account="L"))
    assert v.size("L") == 0
    assert v.balance("L") == 0  # not -7 USD
    assert _reasons(out) == [(BalanceReason.LIQUIDATION_FEE_WAIVED, 7 * USD)]
    assert v.engine.fees_collected == fees_before  # the fee was charged, then given back
    done = out[-1]
    assert isinstance(done, LiquidationCompleted) and done.full and done.balance == 0
    v.check()


def test_fund_pays_the_price_loss_beyond_bankruptcy_never_the_fee() -> None:
    """Fund 500 USD. B bids 10 @ 990, below the bankruptcy price 1,000: the book step at
    >= 1,000 finds nothing; the fund-backed step (no worse than 1,000 - 500/10 = 950) sells
    10 @ 990: realized -1,100 leaves -100, and the fee 10 x 990 x 0.07 % = 6.93 USD makes it
    -106.93. The fee is waived (6.93); the fund pays the 100 of price loss, not 106.93."""
    v = _setup(fund_usd=500)
    v.order("B", BUY, 990, 10)
    v.mark(980)
    out = v.apply(Liquidate(account="L"))
    assert v.size("L") == 0 and v.balance("L") == 0
    assert _reasons(out) == [
        (BalanceReason.LIQUIDATION_FEE_WAIVED, 6_930_000),
        (BalanceReason.INSURANCE_PAYOUT, 100 * USD),
    ]
    fund = [e for e in out if isinstance(e, InsuranceFundChanged)]
    assert [e.delta for e in fund] == [-100 * USD]
    assert v.engine.insurance_fund == 400 * USD
    v.check()


def test_r1_counts_the_orders_own_worst_case_fee() -> None:
    """Initial margin of 10 @ 1,000 at 5 % is 500 USD; the order's worst-case (taker) fee is
    10 x 1,000 x 0.07 % = 7 USD. With exactly 500 USD the order was accepted and, filled as
    taker, left the account at available -7; now it needs 507."""
    v = Venue(x_instrument(imr_ppb=50_000_000, taker_fee_ppb=TAKER))
    v.account("A", 500, leverage=20)
    v.account("S", 1_000_000)
    v.order("S", SELL, 1000, 10)
    out = v.order("A", BUY, 1000, 10, tif=TimeInForce.IOC)
    assert isinstance(out[0], OrderRejected)
    assert out[0].reason == RejectReason.INSUFFICIENT_MARGIN
    v.account("A2", 507, leverage=20)
    out = v.order("A2", BUY, 1000, 10, tif=TimeInForce.IOC)
    assert v.size("A2") == 10
    view = v.engine.account_view("A2")
    assert view is not None and view.available == 0  # 507 - 7 fee - 500 IM
    v.check()


def test_r1_fee_check_never_refuses_a_risk_reducing_order() -> None:
    """A closing order does not make the requirement grow: accepted whatever its fee."""
    v = Venue(x_instrument(imr_ppb=50_000_000, taker_fee_ppb=TAKER))
    v.account("A", 507, leverage=20)
    v.account("S", 1_000_000)
    v.order("S", SELL, 1000, 10)
    v.order("A", BUY, 1000, 10, tif=TimeInForce.IOC)
    assert v.balance("A") == 500 * USD
    v.order("S", BUY, 1000, 10)
    out = v.order("A", SELL, 1000, 10, tif=TimeInForce.IOC, symbol=SYM)
    assert v.size("A") == 0, out
    v.check()
