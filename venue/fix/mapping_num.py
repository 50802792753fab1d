"""Exact conversion between FIX decimal strings and the core's integer ticks and lots.

Invariants:
- An instrument's `tick_size` and `lot_size` decimal strings are read with `Decimal` once, when
  its `InstrumentSpec` is built, into (integer step, decimal exponent): step × 10^-exp.
- Inbound conversion is exact or refused, never rounded (DESIGN rule 5): `to_units` returns
  None for anything that is not a plain decimal (`-?digits[.digits]`), `TOO_LARGE` for a
  decimal whose units do not fit a signed 64-bit integer (msgpack, hence the journal, holds no
  more), `OFF_GRID` for a value that is not a whole number of steps, and raises nothing.
  Its work is bounded whatever the length: at most `MAX_DECIMAL_LEN` significant digits are
  ever turned into an integer. `refusal_text` names which of the three it was.
- Outbound formatting uses integers only (no Decimal on the hot path), memoised in a bounded
  cache per scale: `units_to_text(n)` is the shortest exact decimal of n × step (no exponent,
  no trailing zeros), so
  Decimal(units_to_text(n)) == n × Decimal(step) and `to_units(units_to_text(n)) == n`.
- `avg_px_text` is exact when the average terminates within `AVG_PX_EXTRA_DIGITS` more digits
  than the tick's, otherwise rounded half-even at that digit (AvgPx is informational).
"""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal, InvalidOperation

from venue.core.types import Instrument

__all__ = [
    "AVG_PX_EXTRA_DIGITS",
    "MAX_DECIMAL_LEN",
    "OFF_GRID",
    "TOO_LARGE",
    "InstrumentSpec",
    "InstrumentTable",
    "Scale",
    "instrument_table",
]

MAX_DECIMAL_LEN = 32
AVG_PX_EXTRA_DIGITS = 8
_CACHE_SIZE = 8192
_MAX_UNITS = 2**63 - 1


class _OffGrid:
    """Marker: a well-formed decimal that is not a whole number of steps."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "OFF_GRID"


OFF_GRID = _OffGrid()


class _TooLarge:
    """Marker: a well-formed decimal whose units do not fit a signed 64-bit integer."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "TOO_LARGE"


TOO_LARGE = _TooLarge()
Units = int | _OffGrid | _TooLarge | None


class Scale:
    """A step size `step × 10^-exp` (tick or lot) and exact conversions to and from it."""

    __slots__ = ("_cache", "_parsed", "exp", "name", "pad", "step", "text")

    def __init__(self, text: str, name: str = "step") -> None:
        try:
            d = Decimal(text)
        except InvalidOperation:
            raise ValueError(f"{text!r} is not a decimal number") from None
        if not d.is_finite() or d <= 0:
            raise ValueError(f"{text!r} must be a positive decimal number")
        _, digits, exponent = d.as_tuple()
        assert isinstance(exponent, int)  # finite
        mantissa = int("".join(map(str, digits)))
        if exponent >= 0:
            self.step: int = mantissa * int(10**exponent)
            self.exp = 0
        else:
            self.step = mantissa
            self.exp = -exponent
        self.text = text
        self.name = name  # "tick size", "lot size": for refusal texts
        self.pad = b"0" * self.exp
        self._cache: dict[int, bytes] = {}
        self._parsed: dict[bytes, Units] = {}

    def to_units(self, text: bytes) -> Units:
        """Whole steps in `text`; `OFF_GRID` if not a multiple of the step; None if malformed.
        Memoised (bounded): the same price and size strings come again and again."""
        parsed = self._parsed
        if text in parsed:
            return parsed[text]
        if len(parsed) >= _CACHE_SIZE:
            parsed.clear()
        result = parsed[text] = self._to_units(text)
        return result

    def _to_units(self, text: bytes) -> Units:
        negative = text[:1] == b"-"
        if negative:
            text = text[1:]
        whole, _, frac = text.partition(b".")
        if not (whole.isdigit() or (not whole and frac)):
            return None
        if frac:
            if not frac.isdigit():
                return None
            frac = frac.rstrip(b"0")
        exp = self.exp
        if len(frac) > exp:
            return OFF_GRID
        whole = whole.lstrip(b"0")
        if len(whole) + exp > MAX_DECIMAL_LEN:  # far beyond 2**63 steps: no int() of it
            return TOO_LARGE
        scaled: int = int(whole + frac + self.pad[len(frac) :]) if (whole or frac) else 0
        units, rest = divmod(scaled, self.step)
        if rest:
            return OFF_GRID
        if units > _MAX_UNITS:  # the journal stores 64-bit integers: refuse, never overflow
            return TOO_LARGE
        return -units if negative else units

    def refusal_text(self, field: str, result: Units) -> str:
        """Why `to_units` refused `field`'s value (`result` is not an int): the Text (58)."""
        if result is OFF_GRID:
            return f"{field} is not a multiple of the {self.name} {self.text}"
        if result is TOO_LARGE:
            return f"{field} is too large: at most {self.units_to_text(_MAX_UNITS).decode()}"
        return f"{field} is not a decimal"

    def units_to_text(self, units: int) -> bytes:
        """Shortest exact decimal string of `units` steps (memoised: prices and sizes repeat)."""
        text = self._cache.get(units)
        if text is None:
            cache = self._cache
            if len(cache) >= _CACHE_SIZE:
                cache.clear()
            text = cache[units] = _fixed(units * self.step, self.exp)
        return text


def _fixed(value: int, exp: int) -> bytes:
    """`value × 10^-exp` as a plain decimal without trailing zeros."""
    if exp == 0 or value == 0:
        return b"%d" % value
    sign = b""
    if value < 0:
        sign = b"-"
        value = -value
    digits = b"%0*d" % (exp + 1, value)
    whole = digits[:-exp]
    frac = digits[-exp:].rstrip(b"0")
    if frac:
        return sign + whole + b"." + frac
    return sign + whole


class InstrumentSpec:
    """What the FIX edge keeps per instrument: its definition and the two scales."""

    __slots__ = ("instrument", "lot", "symbol", "symbol_bytes", "tick")

    def __init__(self, instrument: Instrument) -> None:
        self.instrument = instrument
        self.symbol = instrument.symbol
        self.symbol_bytes = instrument.symbol.encode("latin-1")
        self.tick = Scale(instrument.tick_size, "tick size")
        self.lot = Scale(instrument.lot_size, "lot size")

    def price_text(self, ticks: int) -> bytes:
        return self.tick.units_to_text(ticks)

    def qty_text(self, lots: int) -> bytes:
        return self.lot.units_to_text(lots)

    def avg_px_text(self, cum_notional: int, cum_qty: int) -> bytes:
        """AvgPx: `cum_notional` (ticks × lots) / `cum_qty` (lots), as a price."""
        if cum_qty <= 0:
            return b"0"
        tick = self.tick
        whole, rest = divmod(cum_notional, cum_qty)
        if not rest:
            return tick.units_to_text(whole)
        extra = AVG_PX_EXTRA_DIGITS
        num = cum_notional * tick.step * 10**extra
        q, r = divmod(num, cum_qty)
        twice = 2 * r
        if twice > cum_qty or (twice == cum_qty and q & 1):
            q += 1
        return _fixed(q, tick.exp + extra)


InstrumentTable = dict[str, InstrumentSpec]
"""Symbol → spec."""


def instrument_table(instruments: Iterable[Instrument]) -> InstrumentTable:
    return {spec.symbol: spec for spec in map(InstrumentSpec, instruments)}
