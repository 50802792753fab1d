"""Exact decimal conversion at the FIX boundary (venue.fix.mapping_num)."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from venue.core.types import Instrument, InstrumentKind
from venue.fix.mapping_num import OFF_GRID, TOO_LARGE, InstrumentSpec, Scale, instrument_table

STEPS = ["0.5", "0.05", "0.001", "1", "25", "0.25", "1E+1", "0.0001", "2.50"]


@given(step=st.sampled_from(STEPS), units=st.integers(min_value=-(10**12), max_value=10**12))
def test_units_round_trip_exactly(step: str, units: int) -> None:
    scale = Scale(step)
    text = scale.units_to_text(units)
    assert Decimal(text.decode()) == units * Decimal(step)
    assert scale.to_units(text) == units
    assert b"e" not in text.lower()
    if b"." in text:
        assert not text.endswith(b"0")


@given(
    step=st.sampled_from(STEPS),
    units=st.integers(min_value=0, max_value=10**9),
    zeros=st.integers(min_value=0, max_value=4),
)
def test_trailing_zeros_are_accepted(step: str, units: int, zeros: int) -> None:
    scale = Scale(step)
    text = scale.units_to_text(units)
    if zeros:
        text += (b"" if b"." in text else b".") + b"0" * zeros
    assert scale.to_units(text) == units


@given(
    step=st.sampled_from(STEPS),
    units=st.integers(min_value=0, max_value=10**9),
    num=st.integers(min_value=1, max_value=10**6),
    den_exp=st.integers(min_value=0, max_value=8),
)
def test_off_grid_is_refused_never_rounded(step: str, units: int, num: int, den_exp: int) -> None:
    scale = Scale(step)
    value = units * Decimal(step) + Decimal(num) / Decimal(10) ** den_exp
    text = format(value, "f").encode()
    expected = value / Decimal(step)
    result = scale.to_units(text)
    if expected == expected.to_integral_value():
        assert result == int(expected)
    else:
        assert result is OFF_GRID


@pytest.mark.parametrize(
    "text",
    [b"", b"-", b".", b"1e5", b"1E5", b"+1", b"1.2.3", b" 1", b"1 ", b"0x10", b"1_000", b"--1"],
)
def test_malformed_decimals_are_none(text: bytes) -> None:
    assert Scale("0.5").to_units(text) is None


def test_too_large_is_named_and_non_ascii_digits_are_none() -> None:
    assert Scale("0.5").to_units(b"1" * 40) is TOO_LARGE
    assert Scale("0.5").to_units(b"1" * 20) is TOO_LARGE
    assert Scale("0.5").to_units(b"0" * 100 + b"1.5") == 3  # long, but neither large nor bad
    assert Scale("0.5").to_units(b"1" * 40 + b".x") is None
    assert Scale("0.5").to_units("١".encode()) is None


def test_specific_values() -> None:
    tick = Scale("0.5")
    assert tick.to_units(b"60000.5") == 120001
    assert tick.to_units(b"60000.50") == 120001
    assert tick.to_units(b"60000.25") is OFF_GRID
    assert tick.to_units(b".5") == 1
    assert tick.to_units(b"5.") == 10
    assert tick.to_units(b"-1") == -2
    assert tick.units_to_text(120001) == b"60000.5"
    assert tick.units_to_text(120000) == b"60000"
    lot = Scale("0.001")
    assert lot.to_units(b"0.001") == 1
    assert lot.to_units(b"1") == 1000
    assert lot.to_units(b"0.0015") is OFF_GRID
    assert lot.units_to_text(1500) == b"1.5"
    assert Scale("25").to_units(b"50") == 2
    assert Scale("25").to_units(b"60") is OFF_GRID


@pytest.mark.parametrize("bad", ["0", "-1", "x", "NaN", "Infinity"])
def test_bad_step_is_refused(bad: str) -> None:
    with pytest.raises(ValueError):
        Scale(bad)


def _inst(tick: str = "0.5", lot: str = "0.001") -> Instrument:
    return Instrument(
        symbol="BTC-PERP",
        kind=InstrumentKind.PERPETUAL,
        tick_size=tick,
        lot_size=lot,
        multiplier="1",
        ref_price=120000,
        band_ppb=50_000_000,
        max_order_qty=100_000,
    )


def test_avg_px() -> None:
    spec = InstrumentSpec(_inst())
    assert spec.avg_px_text(0, 0) == b"0"
    # 1 lot at 120000 ticks and 1 lot at 120001 ticks: 60000.25
    assert spec.avg_px_text(240001, 2) == b"60000.25"
    # three fills 1, 1, 2 ticks (x 1 lot) = 4/3 ticks = 0.666666666666... rounded at 9 digits
    assert spec.avg_px_text(4, 3) == b"0.666666667"
    assert spec.avg_px_text(120000 * 7, 7) == b"60000"


@given(
    prices=st.lists(st.tuples(st.integers(1, 10**7), st.integers(1, 10**5)), min_size=1, max_size=8)
)
def test_avg_px_is_within_half_a_unit_of_the_last_digit(prices: list[tuple[int, int]]) -> None:
    spec = InstrumentSpec(_inst())
    notional = sum(p * q for p, q in prices)
    qty = sum(q for _, q in prices)
    exact = Decimal(notional) * Decimal("0.5") / Decimal(qty)
    got = Decimal(spec.avg_px_text(notional, qty).decode())
    assert abs(got - exact) <= Decimal("0.5") * Decimal(10) ** -9


def test_instrument_table_is_keyed_by_symbol() -> None:
    table = instrument_table([_inst()])
    assert list(table) == ["BTC-PERP"]
    assert table["BTC-PERP"].symbol_bytes == b"BTC-PERP"
