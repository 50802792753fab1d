"""Option chains in configuration (`[[option_chains]]`) and the option symbol scheme.

A chain is one underlying and one expiry with a list of strikes; it lists a call and a put
per strike, named `UNDERLYING-DDMMMYY-STRIKE-C` / `-P` (e.g. `BTC-27MAR27-60000-C`; the
strike in USD without trailing zeros, the date of the expiry in UTC). `venue-admin instrument
add-options` lists more series of a chain through the same `option_series` function, so a
series listed either way is the same instrument.

Invariants: every strike is a positive multiple of the tick; a series' initial reference
premium is its intrinsic value at the chain's `ref_underlying` plus `ref_premium` (at least
one tick), exact in ticks; anything inexact is refused (`ConfigError`), never rounded.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import msgspec

from venue.core.types import BAND_SCALE, PPB, Instrument, InstrumentKind, PutCall

__all__ = ["ChainError", "OptionChainConfig", "chain_instruments", "option_series", "option_symbol"]

_MONTHS = ("JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL", "AUG", "SEP", "OCT", "NOV", "DEC")


class OptionChainConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    underlying: str  # the index's name, e.g. "BTC" (UnderlyingSymbol 311)
    expiry: str  # ISO-8601 UTC
    strikes: list[str]  # USD, multiples of tick_size
    tick_size: str = "0.5"  # premium, USD
    lot_size: str = "0.01"  # units of the underlying
    band: str = "0.1"  # half-width of the price band as a fraction of the underlying
    max_order_qty: str = "100"  # units of the underlying
    ref_underlying: str = "0"  # USD: the initial premium is the intrinsic value here ...
    ref_premium: str = "0"  # ... plus this (USD; at least one tick in all)
    maker_fee: str = "0"  # fraction of the premium traded; negative = rebate
    taker_fee: str = "0"
    index_stale_seconds: int = 0


class ChainError(ValueError):
    """A chain that cannot be listed; `key` names the setting."""

    def __init__(self, key: str, reason: str) -> None:
        super().__init__(f"{key}: {reason}")
        self.key = key
        self.reason = reason


def option_symbol(underlying: str, expiry_ts: int, strike_usd: str, right: PutCall) -> str:
    """`BTC-27MAR27-60000-C`: underlying, expiry date (UTC), strike (USD), C or P."""
    day = datetime.fromtimestamp(expiry_ts // 1_000_000_000, tz=UTC)
    strike = Decimal(strike_usd).normalize()
    text = format(strike, "f")
    date = f"{day.day:02d}{_MONTHS[day.month - 1]}{day.year % 100:02d}"
    return f"{underlying}-{date}-{text}-{'C' if right == PutCall.CALL else 'P'}"


def _dec(value: str, key: str, positive: bool = True) -> Decimal:
    try:
        d = Decimal(value)
    except (InvalidOperation, ValueError):
        raise ChainError(key, f"{value!r} is not a decimal number") from None
    if not d.is_finite() or d < 0 or (positive and d == 0):
        raise ChainError(key, f"{value!r} must be {'positive' if positive else 'non-negative'}")
    return d


def _ticks(value: Decimal, unit: Decimal, key: str) -> int:
    q = value / unit
    if q != q.to_integral_value():
        raise ChainError(key, f"{value} is not a multiple of {unit}")
    return int(q)


def _ppb(value: str, key: str) -> int:
    d = Decimal(value) * PPB
    if d != d.to_integral_value() or not -PPB < d < PPB:
        raise ChainError(key, f"{value!r} must be an exact fraction of 1 (in 10^-9)")
    return int(d)


def option_series(chain: OptionChainConfig, expiry_ts: int) -> list[Instrument]:
    """The instruments of `chain` (a call then a put per strike, in the order given), with
    `expiry_ts` the chain's expiry in ns. Raises `ChainError`."""
    tick = _dec(chain.tick_size, "tick_size")
    lot = _dec(chain.lot_size, "lot_size")
    band = _dec(chain.band, "band") * BAND_SCALE
    if band != band.to_integral_value() or band >= BAND_SCALE:
        raise ChainError("band", "must be an exact fraction below 1")
    max_qty = _ticks(_dec(chain.max_order_qty, "max_order_qty"), lot, "max_order_qty")
    ref_u = _ticks(_dec(chain.ref_underlying, "ref_underlying", False), tick, "ref_underlying")
    ref_tv = _ticks(_dec(chain.ref_premium, "ref_premium", False), tick, "ref_premium")
    if not chain.underlying or not chain.underlying.isalnum():
        raise ChainError("underlying", f"{chain.underlying!r} is not an index name")
    if not chain.strikes:
        raise ChainError("strikes", "a chain lists at least one strike")
    if chain.index_stale_seconds < 0:
        raise ChainError("index_stale_seconds", "must not be negative")
    out: list[Instrument] = []
    for i, s in enumerate(chain.strikes):
        strike = _ticks(_dec(s, f"strikes[{i}]"), tick, f"strikes[{i}]")
        for right in (PutCall.CALL, PutCall.PUT):
            value = max(0, ref_u - strike if right == PutCall.CALL else strike - ref_u)
            out.append(
                Instrument(
                    symbol=option_symbol(chain.underlying, expiry_ts, s, right),
                    kind=InstrumentKind.OPTION,
                    tick_size=chain.tick_size,
                    lot_size=chain.lot_size,
                    multiplier="1",
                    ref_price=max(1, value + ref_tv),
                    band_ppb=int(band),
                    max_order_qty=max_qty,
                    expiry_ts=expiry_ts,
                    maker_fee_ppb=_ppb(chain.maker_fee, "maker_fee"),
                    taker_fee_ppb=_ppb(chain.taker_fee, "taker_fee"),
                    index_stale_ns=chain.index_stale_seconds * 1_000_000_000,
                    underlying=chain.underlying,
                    strike=strike,
                    put_call=right,
                )
            )
    return out


def chain_instruments(
    chains: list[OptionChainConfig], parse_expiry: Callable[[str, str], int]
) -> list[Instrument]:
    """Every series of `chains`, in order; `parse_expiry(value, key)` converts an expiry
    (the configuration's own parser, so both kinds of dated instrument agree). Raises
    `ChainError` with the key prefixed by `option_chains[i]`."""
    out: list[Instrument] = []
    for i, chain in enumerate(chains):
        key = f"option_chains[{i}]"
        try:
            out += option_series(chain, parse_expiry(chain.expiry, f"{key}.expiry"))
        except ChainError as exc:
            raise ChainError(f"{key}.{exc.key}", exc.reason) from None
    return out
