"""The operator's margin controls: an account's margin mode per instrument and the isolated
margin of a position (`venue-admin account margin-mode` / `account isolated-margin`).

What is parsed and explained here; `AdminOps` submits the commands (`SetMarginMode`,
`AdjustIsolatedMargin`), each a sequenced, journaled command with its audit record.

Invariants:
- The mode is exactly "isolated" or "cross"; an amount is a signed decimal of USD with an
  explicit sign (`+N` adds to the position's margin, `-N` removes), at most 6 decimals,
  never zero. Anything else is refused before anything is submitted.
- A refusal by the core is explained in words: the reason name alone does not tell an
  operator what to do.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

import msgspec

from venue.core.types import MONEY_SCALE

__all__ = ["IsolatedMarginArgs", "MarginModeArgs", "explain", "isolated_flag", "signed_units"]


class MarginModeArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str
    symbol: str
    mode: str  # "isolated" | "cross"


class IsolatedMarginArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str
    symbol: str
    amount: str  # "+N" adds to the position's isolated margin, "-N" removes; USD


def isolated_flag(mode: str) -> bool:
    """True for "isolated", False for "cross"; ValueError for anything else."""
    if mode not in ("isolated", "cross"):
        raise ValueError(f"margin mode {mode!r}: must be isolated or cross")
    return mode == "isolated"


def signed_units(amount: str) -> int:
    """`+N` / `-N` USD as signed money units; ValueError naming the problem otherwise."""
    if amount[:1] not in ("+", "-"):
        raise ValueError(f"amount {amount!r}: give a sign, +N to add or -N to remove")
    try:
        value = Decimal(amount)
    except InvalidOperation:
        raise ValueError(f"amount {amount!r} is not a decimal number") from None
    if not value.is_finite() or value == 0:
        raise ValueError(f"amount {amount!r}: must be a non-zero number")
    units = value * MONEY_SCALE
    if units != units.to_integral_value():
        raise ValueError(f"amount {amount!r}: at most 6 decimals (USD)")
    return int(units)


_WHY = {
    ("account.margin_mode", "INVALID_STATE_CHANGE"): (
        "the account has a position or open orders in {symbol}: close them first"
    ),
    ("account.isolated_margin", "INVALID_STATE_CHANGE"): (
        "the account has no open isolated position in {symbol}"
    ),
    ("account.isolated_margin", "WITHDRAWAL_EXCEEDS_AVAILABLE"): (
        "more than the account has available (balance and cross equity less initial margin)"
    ),
    ("account.isolated_margin", "INVALID_AMOUNT"): "more than the position's isolated margin",
    ("account.isolated_margin", "INSUFFICIENT_MARGIN"): (
        "it would leave the position below its maintenance margin"
    ),
}


def explain(action: str, reason: str, symbol: str) -> str:
    """Words for a core refusal of `action` (empty when there is nothing to add)."""
    why = _WHY.get((action, reason))
    return why.format(symbol=symbol) if why is not None else ""
