"""Text forms of the integers in reports: money (10^-6 USD units) as exact USD decimals,
prices (ticks) and quantities (lots) as exact decimals of the instrument's tick and lot size,
times as UTC ISO-8601 with microseconds.

Invariants: exact (Decimal arithmetic on the integers, never floats); the same integer always
gives the same text, so reports are byte-for-byte reproducible.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from fractions import Fraction

from venue.core import MONEY_SCALE, Instrument

__all__ = ["day_bounds", "exact_price", "money", "price", "qty", "utc_us"]

DAY_NS = 86_400 * 10**9
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


def money(units: int) -> str:
    """USD with all six decimals: 1234567 -> "1.234567", -2000000 -> "-2.000000"."""
    sign = "-" if units < 0 else ""
    whole, frac = divmod(abs(units), MONEY_SCALE)
    return f"{sign}{whole}.{frac:06d}"


def price(ticks: int, inst: Instrument | None) -> str:
    if inst is None:
        return str(ticks)
    return str(Decimal(ticks) * Decimal(inst.tick_size))


def exact_price(ticks: Fraction, inst: Instrument) -> str:
    """An exact fraction of ticks (an average entry price) as a decimal price, rounded to 12
    decimal places (half even)."""
    value = ticks * Fraction(inst.tick_size)
    d = (Decimal(value.numerator) / Decimal(value.denominator)).quantize(Decimal("1e-12"))
    return format(d.normalize(), "f")


def qty(lots: int, inst: Instrument | None) -> str:
    if inst is None:
        return str(lots)
    return str(Decimal(lots) * Decimal(inst.lot_size))


def utc_us(ts_ns: int) -> str:
    """2026-05-28T20:26:40.123456Z: UTC to the microsecond (nanoseconds truncated)."""
    dt = _EPOCH + timedelta(microseconds=ts_ns // 1000)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def day_bounds(date: str) -> tuple[int, int]:
    """[start, end) in ns of the UTC day `YYYY-MM-DD`; raises ValueError."""
    try:
        day = datetime.strptime(date, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise ValueError(f"{date!r} is not a date YYYY-MM-DD") from None
    start = (day - _EPOCH) // timedelta(microseconds=1) * 1000
    return start, start + DAY_NS
