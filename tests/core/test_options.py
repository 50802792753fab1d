"""Options in the core: listing checks, the band as a fraction of the underlying, the margin
rule's worked examples (fix_specs/RULES_OF_ENGAGEMENT.md, "Options"), R1 and liquidation of
a short option, and cash settlement in and out of the money, with money conserved.

Expected figures are worked by hand from the documented rule (per contract: long initial =
mark; short initial = max(0.15 U - OTM, 0.10 U) + mark, maintenance = 0.075 U + mark), not
from the code. The option here: tick 1 USD, lot 1 unit of the underlying, so one tick on one
lot is 1 USD (factor 10^6 money units) and every figure reads in whole USD.
"""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.deriv_helpers import USD, Venue, x_instrument
from venue.core import (
    AccountCommandRejected,
    AddInstrument,
    CommandRejected,
    Deposit,
    Engine,
    ExpireInstrument,
    Instrument,
    InstrumentKind,
    Liquidate,
    LiquidationCompleted,
    OptionMarksSet,
    OrderRejected,
    PositionSettled,
    PutCall,
    RejectReason,
    SetIndexPrice,
    SetOptionMarks,
    SettleInstrument,
    Side,
    TimeInForce,
)
from venue.core.option_margin import option_im, option_mm

CALL = "X-1100-C"
PUT = "X-900-P"


def option(
    symbol: str = CALL, strike: int = 1100, right: PutCall = PutCall.CALL, **kw: Any
) -> Instrument:
    fields: dict[str, Any] = {
        "kind": InstrumentKind.OPTION,
        "ref_price": 20,
        "band_ppb": 500_000_000,  # +-50 % of the underlying
        "imr_ppb": 0,
        "mm_tiers": [],
        "expiry_ts": 10**18,
        "underlying": "X",
        "strike": strike,
        "put_call": right,
    }
    fields.update(kw)
    return x_instrument(symbol, **fields)


def venue(*extra: Instrument) -> Venue:
    v = Venue(option(), option(PUT, 900, PutCall.PUT), *extra)
    for sym in (CALL, PUT):
        v.apply(SetIndexPrice(symbol=sym, price=1000))
        v.apply(SetOptionMarks(symbol=sym, price=20, iv_ppb=600_000_000))
    return v


def rejected(events: list[Any]) -> RejectReason | None:
    for e in events:
        if isinstance(e, OrderRejected | CommandRejected | AccountCommandRejected):
            return e.reason
    return None


# ---------------------------------------------------------------- listing


@pytest.mark.parametrize(
    "bad",
    [
        {"strike": 0},
        {"put_call": None},
        {"underlying": ""},
        {"expiry_ts": 0},
    ],
)
def test_an_option_without_its_fields_is_refused(bad: dict[str, Any]) -> None:
    e = Engine()
    out = e.apply(AddInstrument(instrument=option(**bad)))
    assert rejected(out) == RejectReason.INVALID_INSTRUMENT


def test_a_future_with_option_fields_is_refused() -> None:
    e = Engine()
    inst = x_instrument("F", kind=InstrumentKind.FUTURE, expiry_ts=10**18, strike=5)
    assert rejected(e.apply(AddInstrument(instrument=inst))) == RejectReason.INVALID_INSTRUMENT


def test_the_band_is_a_fraction_of_the_underlying_not_of_the_premium() -> None:
    v = Venue(option())
    v.account("B", 10_000)
    # No index yet: the strike (1100) stands in; half-width 50 % x 1100 = 550 around ref 20.
    mkt = v.engine.markets[CALL]
    assert (mkt.lo, mkt.hi) == (1, 570)
    assert rejected(v.order("B", Side.BUY, 571, 1, CALL)) == RejectReason.PRICE_OUTSIDE_BAND
    v.apply(SetIndexPrice(symbol=CALL, price=1000))  # half-width 500
    assert (mkt.lo, mkt.hi) == (1, 520)
    assert rejected(v.order("B", Side.BUY, 521, 1, CALL)) == RejectReason.PRICE_OUTSIDE_BAND
    assert rejected(v.order("B", Side.BUY, 520, 1, CALL)) is None


def test_option_marks_are_kept_and_published() -> None:
    v = venue()
    out = v.apply(
        SetOptionMarks(symbol=CALL, price=25, iv_ppb=650_000_000, delta=300_000_000, theta=-5)
    )
    assert isinstance(out[0], OptionMarksSet)
    assert v.engine.markets[CALL].mark == 25
    restored = Engine.restore(v.engine.snapshot())
    assert restored.state_hash() == v.engine.state_hash()
    assert restored.markets[CALL].option_marks == v.engine.markets[CALL].option_marks
    bad = SetOptionMarks(symbol=CALL, price=0, iv_ppb=1)
    assert rejected(v.apply(bad)) == RejectReason.INVALID_PRICE


# ---------------------------------------------------------------- the margin rule, by hand


def test_margin_worked_examples() -> None:
    f = USD  # one tick on one lot = 1 USD
    # U 1000, call K 1100 (100 OTM), mark 20: 0.15*1000 - 100 = 50 < 0.10*1000 = 100.
    assert option_im(-1, 1000, 1100, True, 20, f) == 120 * USD
    assert option_mm(-1, 1000, 20, f) == 95 * USD  # 75 + 20
    # Call K 1030 (30 OTM): 150 - 30 = 120 > 100; + 20.
    assert option_im(-2, 1000, 1030, True, 20, f) == 2 * 140 * USD
    # Put K 1100 (100 in the money, OTM 0): 150 + mark 120.
    assert option_im(-1, 1000, 1100, False, 120, f) == 270 * USD
    # Long: the mark, no maintenance.
    assert option_im(3, 1000, 1100, True, 20, f) == 60 * USD
    assert option_mm(3, 1000, 20, f) == 0
    # Rounding up: tick 0.5 USD, lot 0.001 -> 500 units per tick-lot; U 1003 ticks, mark 10:
    # 0.075 * 1003 * 500 = 37612.5 -> 37613; + 10 * 500.
    assert option_mm(-1, 1003, 10, 500) == 37613 + 5000


def test_roe_worked_examples() -> None:
    """RoE section 20's table (tick 1 USD, one unit: figures in USD)."""
    f = USD
    assert option_im(-1, 60_000, 66_000, True, 100, f) == 6_100 * USD
    assert option_mm(-1, 60_000, 100, f) == 4_600 * USD
    assert option_im(-1, 60_000, 61_800, True, 1_500, f) == 8_700 * USD
    assert option_mm(-1, 60_000, 1_500, f) == 6_000 * USD
    assert option_im(-1, 60_000, 66_000, False, 6_900, f) == 15_900 * USD
    assert option_mm(-1, 60_000, 6_900, f) == 11_400 * USD
    assert option_im(1, 60_000, 61_000, True, 2_000, f) == 2_000 * USD
    assert option_mm(1, 60_000, 2_000, f) == 0


def test_r1_long_pays_the_premium_short_posts_the_rule() -> None:
    v = venue()
    v.account("B19", 19)
    v.account("B20", 20)
    v.account("W119", 119)
    v.account("W120", 120)
    # The buyer needs the premium (20 USD), the writer 120 USD (worked example above).
    assert rejected(v.order("B19", Side.BUY, 20, 1, CALL)) == RejectReason.INSUFFICIENT_MARGIN
    assert rejected(v.order("W119", Side.SELL, 20, 1, CALL)) == RejectReason.INSUFFICIENT_MARGIN
    assert rejected(v.order("W120", Side.SELL, 20, 1, CALL)) is None
    assert rejected(v.order("B20", Side.BUY, 20, 1, CALL, TimeInForce.IOC)) is None
    assert v.size("B20", CALL) == 1
    assert v.size("W120", CALL) == -1
    view = v.engine.account_view("B20")
    assert view is not None
    assert view.available == 0  # premium paid: nothing left for more risk
    v.check()


def test_r1_reserves_the_option_order_fee_too() -> None:
    """RoE section 14: R1 also covers the order's worst-case fee (taker 0.05 % here): a buy of
    one contract at 20 USD needs 20 + ceil(0.01) = 20.01 USD."""
    v = Venue(option(taker_fee_ppb=500_000, maker_fee_ppb=0))
    v.apply(SetIndexPrice(symbol=CALL, price=1000))
    v.apply(SetOptionMarks(symbol=CALL, price=20, iv_ppb=600_000_000))
    v.account("B", 0)
    v.apply(Deposit(account="B", amount=20 * USD + 9_999))
    assert rejected(v.order("B", Side.BUY, 20, 1, CALL)) == RejectReason.INSUFFICIENT_MARGIN
    v.apply(Deposit(account="B", amount=1))
    assert rejected(v.order("B", Side.BUY, 20, 1, CALL)) is None


def _short_call_written() -> Venue:
    v = venue()
    v.account("B", 1_000)
    v.account("W", 120)
    v.account("MM", 10_000)
    v.trade("B", "W", 20, 1, CALL)
    return v


def test_a_short_option_is_liquidated_below_maintenance() -> None:
    v = _short_call_written()
    # W: balance 120, equity 120 + (20 - M), maintenance 75 + M: healthy while
    # 140 - M >= 75 + M, i.e. M <= 32.5.
    v.apply(SetOptionMarks(symbol=CALL, price=32, iv_ppb=700_000_000))
    assert rejected(v.apply(Liquidate(account="W"))) == RejectReason.NOT_LIQUIDATABLE
    v.apply(SetOptionMarks(symbol=CALL, price=33, iv_ppb=700_000_000))
    v.order("MM", Side.SELL, 35, 1, CALL)
    out = v.apply(Liquidate(account="W"))
    done = out[-1]
    assert isinstance(done, LiquidationCompleted)
    assert v.size("W", CALL) == 0  # bought back at 35: balance 120 - 15 = 105, to the fund
    assert v.engine.insurance_fund == 105 * USD
    assert v.balance("W") == 0
    v.check()


@pytest.mark.parametrize(
    ("settle", "long_gain", "put_gain"),
    [
        (1250, 150 - 20, 0 - 20),  # call 150 in the money, put (K 900) worthless
        (1050, 0 - 20, 0 - 20),  # both out of the money
        (800, 0 - 20, 100 - 20),  # put 100 in the money
    ],
)
def test_expiry_settles_intrinsic_and_conserves_money(
    settle: int, long_gain: int, put_gain: int
) -> None:
    v = _short_call_written()
    v.account("P", 1_000)
    v.account("PW", 1_000)
    v.trade("P", "PW", 20, 1, PUT)
    before = {a: v.balance(a) for a in ("B", "W", "P", "PW")}
    for sym in (CALL, PUT):
        v.apply(ExpireInstrument(symbol=sym))
        out = v.apply(SettleInstrument(symbol=sym, price=settle))
        settled = [e for e in out if isinstance(e, PositionSettled)]
        assert len(settled) == 2
    assert v.balance("B") - before["B"] == long_gain * USD
    assert v.balance("W") - before["W"] == -long_gain * USD
    assert v.balance("P") - before["P"] == put_gain * USD
    assert v.balance("PW") - before["PW"] == -put_gain * USD
    for a in ("B", "W", "P", "PW"):
        assert v.engine.accounts[a].positions == {}
    v.check()
