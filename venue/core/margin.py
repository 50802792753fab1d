"""Margin arithmetic: pure integer functions of instrument settings (see `venue.core.accounts`).

Invariants: integers only; every rounding is in the venue's favour (margins round up); an
instrument whose settings are not exact is refused rather than rounded.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from venue.core.types import MONEY_SCALE, PPB, Instrument, MarginTier

__all__ = [
    "ceil_div",
    "fee",
    "initial_margin",
    "maintenance_margin",
    "tier_table",
    "value_factor",
]


def ceil_div(a: int, b: int) -> int:
    """Exact ceiling of a / b for b > 0."""
    return -(-a // b)


def value_factor(inst: Instrument) -> int | None:
    """Money units per (tick x lot): tick_size * lot_size * multiplier * 10^6, which must be a
    positive integer (the instrument is refused otherwise: nothing is ever rounded here)."""
    try:
        v = (
            Decimal(inst.tick_size)
            * Decimal(inst.lot_size)
            * Decimal(inst.multiplier)
            * MONEY_SCALE
        )
    except (InvalidOperation, ValueError):
        return None
    if not v.is_finite() or v <= 0 or v != v.to_integral_value():
        return None
    return int(v)


def tier_table(tiers: list[MarginTier]) -> list[tuple[int, int, int]] | None:
    """(floor, mmr_ppb, cumx) per tier, with cumx = sum floor_k * (mmr_k - mmr_{k-1}) in
    money x ppb, so MM(N) = ceil((N * mmr - cumx) / 10^9) is continuous. None if invalid."""
    out: list[tuple[int, int, int]] = []
    prev_floor, prev_mmr, cumx = -1, 0, 0
    for i, t in enumerate(tiers):
        if (i == 0 and t.notional_floor != 0) or t.notional_floor <= prev_floor:
            return None
        if t.mmr_ppb < prev_mmr or t.mmr_ppb > PPB:
            return None
        cumx += t.notional_floor * (t.mmr_ppb - prev_mmr)
        out.append((t.notional_floor, t.mmr_ppb, cumx))
        prev_floor, prev_mmr = t.notional_floor, t.mmr_ppb
    return out


def maintenance_margin(notional: int, table: list[tuple[int, int, int]]) -> int:
    """MM of a position of `notional` (money units, >= 0)."""
    if not table or notional <= 0:
        return 0
    row = table[0]
    for t in table:
        if notional >= t[0]:
            row = t
        else:
            break
    return ceil_div(notional * row[1] - row[2], PPB)


def initial_margin(notional: int, imr_ppb: int) -> int:
    return ceil_div(notional * imr_ppb, PPB)


def fee(notional: int, rate_ppb: int) -> int:
    """The fee on `notional` money units at `rate_ppb`: rounded up (a rebate, rate < 0, rounds
    towards zero): in the venue's favour."""
    return -(-(notional * rate_ppb) // PPB)
