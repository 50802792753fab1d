"""Impact bid / ask prices for the premium (RoE section 14, "Mark price"): the worked example,
rounding away from the other side, a side too thin for the impact notional, the per-instrument
setting, and the regression: one 0.001 BTC bid 90 USD above the index does not move the mark
(with the best bid it moved the mark by 90 USD and the funding rate from 0.01 % to 0.10 %)."""

from __future__ import annotations

from fractions import Fraction

import pytest

from tests.risk.test_monitor import SEC, T0, USD, Harness, h, order, perp
from venue.config import ConfigError, VenueConfig, impact_notionals, validate
from venue.config_risk import RiskConfig
from venue.core import AddAccount, AddInstrument, ApplyFunding, Deposit, SetMarkPrice, Side
from venue.risk.index import submit_index
from venue.risk.monitor import RiskMonitor
from venue.risk.pricing import impact_price, premium_ticks

__all__ = ["h"]  # the fixture, imported from test_monitor

VALUE = 500  # tick 0.5 USD x lot 0.001 BTC = 0.0005 USD = 500 money units
NOTIONAL = 10_000 * USD
INDEX = 120_000  # 60 000.0
# RoE section 14's worked example (prices in ticks of 0.5, sizes in lots of 0.001 BTC)
BIDS = [(120_180, 1), (119_980, 100), (119_960, 200)]  # 60 090.0 (dust), 59 990.0, 59 980.0
ASKS = [(120_200, 100), (120_220, 200)]  # 60 100.0, 60 110.0


def test_worked_example_of_the_rules_of_engagement() -> None:
    # bids: 60.09 + 5 999.00 USD taken whole, 3 940.91 USD left at 59 980.0: the average is
    # 10 000 / (0.101 + 3 940.91 / 59 980) = 59 986.658... -> down to the tick: 59 986.5
    left = NOTIONAL - (120_180 * 1 + 119_980 * 100) * VALUE
    assert left == 3_940_910_000
    exact = Fraction(NOTIONAL) / (VALUE * (101 + Fraction(left, 119_960 * VALUE)))
    assert 119_973 < exact < 119_974
    assert impact_price(BIDS, NOTIONAL, VALUE, bid=True) == 119_973
    # asks: 6 010.00 whole, 3 990.00 left at 60 110.0: 60 103.9896... -> up to 60 104.0
    assert impact_price(ASKS, NOTIONAL, VALUE, bid=False) == 120_208
    # both impact prices are on their side of the index: the sample is 0, the mark the index;
    # the best bid alone would have made it 180 ticks (90 USD)
    assert premium_ticks(119_973, 120_208, INDEX) == 0
    assert premium_ticks(120_180, 120_200, INDEX) == 180


def test_rounding_is_away_from_the_other_side() -> None:
    # 1 lot at 100 and 1 lot at 101 ticks (value 1 a tick-lot): notional 150 takes the first
    # whole and 50/101 of the second: 150 / (1 + 50/101) = 100.33 -> bid 100, ask 101
    levels = [(100, 1), (101, 1)]
    assert impact_price(levels, 150, 1, bid=True) == 100
    assert impact_price(levels, 150, 1, bid=False) == 101
    # a notional inside the first level is that level's price exactly
    assert impact_price(levels, 99, 1, bid=True) == 100
    assert impact_price(levels, 99, 1, bid=False) == 100
    # a notional that ends exactly on a level: the plain average of the lots taken
    assert impact_price([(100, 1), (300, 1)], 400, 1, bid=False) == 200


def test_a_side_too_thin_has_no_impact_price() -> None:
    assert impact_price([(120_180, 1)], NOTIONAL, VALUE, bid=True) is None
    assert impact_price([], NOTIONAL, VALUE, bid=True) is None
    assert impact_price(BIDS, 0, VALUE, bid=True) is None
    # a missing side counts 0: a thin book never drags the mark
    assert premium_ticks(None, None, INDEX) == 0
    assert premium_ticks(None, 119_000, INDEX) == -1_000


async def _book(h: Harness) -> None:
    """The example's book on a real sequencer and journal, and the index at 60 000.0."""
    await h.submit(
        AddInstrument(instrument=perp()),
        AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10),
        AddAccount(firm="BRAVO", account="BRAVO-1", max_leverage=10),
        Deposit(account="ALPHA-1", amount=1_000_000 * USD),
        Deposit(account="BRAVO-1", amount=1_000_000 * USD),
    )
    for n, (px, qty) in enumerate(BIDS[1:]):
        await h.submit(order("ALPHA-1", Side.BUY, px, qty, f"B{n}"))
    for n, (px, qty) in enumerate(ASKS):
        await h.submit(order("BRAVO-1", Side.SELL, px, qty, f"S{n}"))
    submit_index(h.seq, perp().symbol, "60000")
    await h.flush()


async def test_a_dust_bid_above_the_index_moves_neither_mark_nor_funding(h: Harness) -> None:
    await _book(h)
    m = h.start_monitor()  # default impact notional: 10 000 USD
    # one 0.001 BTC bid 90 USD above the index
    await h.submit(order("ALPHA-1", Side.BUY, 120_180, 1, "DUST"))
    assert h.engine.markets[perp().symbol].bids.best_price() == 120_180
    now = h.clock.now_ns()
    cmds = await h.step(now)
    # the mark is the index (120 000), never the dust bid's 120 180
    assert [c for c in cmds if type(c) is SetMarkPrice] in (
        [],
        [SetMarkPrice(symbol="BTC-PERP", price=INDEX)],
    )
    assert h.engine.mark_price(perp().symbol) == INDEX
    for k in range(1, 5):
        submit_index(h.seq, perp().symbol, "60000")
        await h.flush()
        await h.step(now + k * SEC)
        assert h.engine.mark_price(perp().symbol) == INDEX
    # and funding at the next funding time is the interest rate alone: 0.01 %
    submit_index(h.seq, perp().symbol, "60000")
    await h.flush()
    cmds = await h.step(T0 + 8 * 3600 * SEC)
    assert [c for c in cmds if type(c) is ApplyFunding] == [
        ApplyFunding(symbol="BTC-PERP", rate_ppb=100_000)
    ]
    assert m.impact_prices(perp().symbol) == (119_973, 120_208)


async def test_an_instrument_sets_its_own_impact_notional(h: Harness) -> None:
    await _book(h)
    # 5 999 USD fill inside the whole 59 990.0 level: the impact bid is that level's price
    m = RiskMonitor(
        h.engine, RiskConfig(), now_ns=h.clock.now_ns(), impact_notional={"BTC-PERP": 5_999 * USD}
    )
    assert m.impact_prices("BTC-PERP") == (119_980, 120_200)


def test_risk_default_impact_notional() -> None:
    assert RiskConfig().impact_notional_usd == 10_000
    assert RiskConfig(impact_notional_usd=0).validate() == "impact_notional_usd: must be positive"


def test_impact_notional_parsed_and_checked() -> None:
    import msgspec

    def cfg(value: str) -> VenueConfig:
        inst = {
            "symbol": "BTC-PERP",
            "kind": "perpetual",
            "tick_size": "0.5",
            "lot_size": "0.001",
            "ref_price": "60000",
            "max_order_qty": "100",
            "impact_notional": value,
        }
        return msgspec.convert({"instruments": [inst]}, VenueConfig)

    good = cfg("25000.5")
    validate(good)
    assert impact_notionals(good) == {"BTC-PERP": 25_000_500_000}
    with pytest.raises(ConfigError, match="impact_notional"):
        validate(cfg("-1"))
    with pytest.raises(ConfigError, match="impact_notional"):
        validate(cfg("0.0000001"))
