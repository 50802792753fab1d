"""Pure price arithmetic of the risk monitor, with examples computed by hand."""

from __future__ import annotations

import pytest

from venue.risk.pricing import (
    decimal_to_ticks,
    div0,
    funding_rate_ppb,
    mark_price,
    next_boundary,
    premium_ppb,
    premium_ticks,
    settlement_price,
)
from venue.risk.settings import RiskConfig

SEC = 1_000_000_000


def test_div0_rounds_toward_zero() -> None:
    assert div0(7, 2) == 3
    assert div0(-7, 2) == -3
    assert div0(0, 5) == 0


@pytest.mark.parametrize(
    ("bid", "ask", "index", "expected"),
    [
        (99, 101, 100, 0),  # index inside the spread
        (103, 105, 100, 3),  # whole book above the index: bid − index
        (94, 96, 100, -4),  # whole book below: −(index − ask)
        (None, None, 100, 0),  # empty book
        (103, None, 100, 3),  # only bids, above the index
        (None, 97, 100, -3),  # only asks, below the index
        (None, 105, 100, 0),  # only asks, above the index
        (100, 101, 100, 0),  # bid at the index
    ],
)
def test_premium_sample(bid: int | None, ask: int | None, index: int, expected: int) -> None:
    assert premium_ticks(bid, ask, index) == expected


def test_mark_price_is_index_plus_mean_premium() -> None:
    # index 50_000 ticks, premiums 10, 20, 31 → mean 61/3 = 20.33 → 20 (toward zero)
    assert mark_price(50_000, [10, 20, 31], 5_000_000) == 50_020
    # negative mean rounds toward zero too: −61/3 → −20
    assert mark_price(50_000, [-10, -20, -31], 5_000_000) == 49_980


def test_mark_price_premium_is_clamped() -> None:
    # clamp 0.5 % of 50_000 = 250 ticks; mean premium 400 → 250
    assert mark_price(50_000, [400, 400], 5_000_000) == 50_250
    assert mark_price(50_000, [-400], 5_000_000) == 49_750
    # half-width rounds toward zero: 0.5 % of 50_199 = 250.995 → 250
    assert mark_price(50_199, [1_000], 5_000_000) == 50_449


def test_mark_price_without_samples_is_the_index_and_never_below_one_tick() -> None:
    assert mark_price(42, [], 5_000_000) == 42
    assert mark_price(1, [-5], 1_000_000_000) == 1


def test_premium_as_rate() -> None:
    # 5 ticks over an index of 50_000 = 0.01 % = 100_000 ppb
    assert premium_ppb(5, 50_000) == 100_000
    # −1 / 3 = −0.333…e9 → toward zero
    assert premium_ppb(-1, 3) == -333_333_333


def test_funding_rate_examples() -> None:
    cfg = RiskConfig()
    i, c, cap = cfg.interest_rate_ppb, cfg.funding_clamp_ppb, cfg.funding_cap_ppb
    # P = 0.02 %: I − P = −0.01 % inside ±0.05 % → rate = I = 0.01 %
    assert funding_rate_ppb([200_000], i, c, cap) == 100_000
    # P = 0.1 %: I − P = −0.09 % → clamped to −0.05 % → rate = 0.05 %
    assert funding_rate_ppb([1_000_000], i, c, cap) == 500_000
    # P = −0.2 %: I − P = 0.21 % → +0.05 % → rate = −0.15 %
    assert funding_rate_ppb([-2_000_000], i, c, cap) == -1_500_000
    # P = mean(1 %, 2 %) = 1.5 %: rate 1.45 % capped at 0.75 %
    assert funding_rate_ppb([10_000_000, 20_000_000], i, c, cap) == 7_500_000
    # no samples: P = 0, rate = clamp(I) = I
    assert funding_rate_ppb([], i, c, cap) == 100_000
    # P = mean(1, 2) ppb = 1.5 → 1 (toward zero): I − P inside the clamp → I
    assert funding_rate_ppb([1, 2], i, c, cap) == 100_000


def test_next_boundary_is_strictly_after_now() -> None:
    eight_h = 8 * 3600 * SEC
    assert next_boundary(0, eight_h) == eight_h
    assert next_boundary(eight_h - 1, eight_h) == eight_h
    assert next_boundary(eight_h, eight_h) == 2 * eight_h


def test_settlement_price_is_the_time_weighted_index_average() -> None:
    start, end = 0, 1_800 * SEC
    # 100 in force at the start for 600 s, 130 for 900 s, 110 for the last 300 s:
    # (100×600 + 130×900 + 110×300) / 1800 = (60_000 + 117_000 + 33_000) / 1800 = 116.67 → 117
    changes = [(600 * SEC, 130), (1_500 * SEC, 110)]
    assert settlement_price(changes, start, end, before=100) == 117
    # changes at or after the end are ignored
    assert settlement_price([*changes, (end, 999_999)], start, end, before=100) == 117


def test_settlement_price_only_counts_time_with_a_known_index() -> None:
    # first index 10 s into the window, nothing before: 200 for 10 s, then 100 for the rest …
    changes = [(10 * SEC, 200), (20 * SEC, 100)]
    # (200×10 + 100×80) / 90 = 10_000 / 90 = 111.1 → 111
    assert settlement_price(changes, 0, 100 * SEC, before=None) == 111
    assert settlement_price([], 0, 100 * SEC, before=None) is None
    assert settlement_price([], 0, 100 * SEC, before=77) == 77


def test_settlement_price_rounds_half_to_even() -> None:
    # 10 for half the window, 11 for the other half: 10.5 → 10; 11 and 12: 11.5 → 12
    assert settlement_price([(50, 11)], 0, 100, before=10) == 10
    assert settlement_price([(50, 12)], 0, 100, before=11) == 12


def test_settlement_price_takes_changes_before_the_window_as_the_starting_value() -> None:
    assert settlement_price([(-5, 90), (0, 95), (50, 105)], 0, 100, before=None) == 100


@pytest.mark.parametrize(
    ("text", "tick", "ticks"),
    [("65000.5", "0.5", 130_001), ("65000", "0.1", 650_000), ("0.01", "0.01", 1)],
)
def test_decimal_to_ticks_exact(text: str, tick: str, ticks: int) -> None:
    assert decimal_to_ticks(text, tick) == ticks


@pytest.mark.parametrize("text", ["65000.25", "-1", "0", "1e3", "NaN", " 5", "", "1.", "x"])
def test_decimal_to_ticks_refuses(text: str) -> None:
    with pytest.raises(ValueError):
        decimal_to_ticks(text, "0.5")


def test_default_settings_are_valid_and_bad_ones_named() -> None:
    assert RiskConfig().validate() is None
    assert RiskConfig(tick_ms=0).validate() == "tick_ms: must be positive"
    assert RiskConfig(funding_cap_ppb=-1).validate() is not None
    assert RiskConfig(premium_sample_seconds=10**6).validate() is not None
