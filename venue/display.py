"""Numbers for people: prices at the instrument's tick precision, quantities at its lot
precision, money with two decimals and its currency.

Wherever a person reads (admin tables, `venue demo`, tools), values pass through here; `--json`
and FIX keep exact decimal strings and never do.

Invariants:
- Pure text formatting of exact inputs (integers in ticks, lots and money units, or exact
  decimal strings); no floats. Rounding is half-even and only ever at the stated precision.
- A price that is an exact fraction of a tick (an entry or liquidation price) is shown with
  `EXACT_EXTRA` digits beyond the tick's, so a person sees that it lies between ticks.
- Money is shown as `1,234.50 USD` (thousands separated); prices and quantities have no
  separators, so they can be typed back into a command.
"""

from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Decimal

__all__ = [
    "EXACT_EXTRA",
    "money",
    "money_units",
    "price",
    "price_ticks",
    "qty",
    "qty_lots",
    "step_decimals",
]

EXACT_EXTRA = 2  # digits beyond the tick for prices that are exact fractions of a tick
MONEY_SCALE = 1_000_000  # money units per USD (venue.core.types.MONEY_SCALE, checked in tests)


def step_decimals(step: str | Decimal) -> int:
    """Decimals of a tick or lot size: "0.5" -> 1, "0.001" -> 3, "5" -> 0."""
    exponent = Decimal(step).normalize().as_tuple().exponent
    return max(0, -int(exponent))


def _fixed(value: Decimal, decimals: int) -> str:
    return format(value.quantize(Decimal(1).scaleb(-decimals), ROUND_HALF_EVEN), "f")


def price(value: str | Decimal | None, tick_size: str, *, extra: int = 0) -> str:
    """An exact decimal price at the tick's precision (plus `extra` digits); "-" for None."""
    if value is None:
        return "-"
    return _fixed(Decimal(value), step_decimals(tick_size) + extra)


def price_ticks(ticks: int | None, tick_size: str) -> str:
    return "-" if ticks is None else price(Decimal(ticks) * Decimal(tick_size), tick_size)


def qty(value: str | Decimal | None, lot_size: str) -> str:
    return "-" if value is None else _fixed(Decimal(value), step_decimals(lot_size))


def qty_lots(lots: int | None, lot_size: str) -> str:
    return "-" if lots is None else qty(Decimal(lots) * Decimal(lot_size), lot_size)


def money(value: str | Decimal | None, currency: str = "USD") -> str:
    """An exact decimal amount as `1,234.50 USD`."""
    if value is None:
        return "-"
    amount = Decimal(value).quantize(Decimal("0.01"), ROUND_HALF_EVEN)
    return f"{amount:,.2f} {currency}"


def money_units(units: int | None, currency: str = "USD") -> str:
    return "-" if units is None else money(Decimal(units) / MONEY_SCALE, currency)
