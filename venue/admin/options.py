"""Admin support for options: a chain of new series from the series already listed.

`venue-admin instrument add-options UNDERLYING EXPIRY --strikes S1,S2,...` lists a call and
a put per strike at a new (or existing) expiry. The new series copy their contract terms
(tick, lot, band, maximum order, fees, index staleness) from a series of the same underlying
that is already listed (the configuration's chain), so a chain is configured once; the
symbols and instruments come from `venue.config_options.option_series`, the function the
configuration uses. Each series is its own sequenced `AddInstrument` command.

`venue-admin options set-iv SYMBOL IV` sets a series' mark implied volatility: a sequenced
`SetOptionMarks` with the new volatility (the other figures unchanged), which the risk
monitor then uses for the series' Black-76 mark (`venue.risk.option_marks`).

Invariants: nothing is submitted unless every series of the request is valid and new.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from venue.config import ConfigError, parse_expiry_ns
from venue.config_options import ChainError, OptionChainConfig, option_series
from venue.core import BAND_SCALE, PPB, Engine, Instrument, InstrumentKind, SetOptionMarks

__all__ = ["AddOptionsError", "new_series", "set_iv_command"]


class AddOptionsError(ValueError):
    """The request cannot be carried out; the message says why."""


def _frac(ppb: int, scale: int) -> str:
    return format((Decimal(ppb) / scale).normalize(), "f")


def new_series(
    engine: Engine, underlying: str, expiry: str, strikes: list[str]
) -> list[Instrument]:
    """The series to add (a call and a put per strike). Raises AddOptionsError."""
    template: Instrument | None = None
    index = 0
    for mkt in engine.markets.values():
        inst = mkt.instrument
        if inst.kind == InstrumentKind.OPTION and inst.underlying == underlying:
            template = inst
            index = mkt.index_price
            break
    if template is None:
        raise AddOptionsError(
            f"no option series of {underlying!r} is listed: configure a chain first "
            "([[option_chains]]), then add series to it"
        )
    try:
        expiry_ts = parse_expiry_ns(expiry, "<admin>", "expiry")
    except ConfigError as exc:
        raise AddOptionsError(str(exc)) from None
    tick = Decimal(template.tick_size)
    chain = OptionChainConfig(
        underlying=underlying,
        expiry=expiry,
        strikes=strikes,
        tick_size=template.tick_size,
        lot_size=template.lot_size,
        band=_frac(template.band_ppb, BAND_SCALE),
        max_order_qty=format(template.max_order_qty * Decimal(template.lot_size), "f"),
        ref_underlying=format(index * tick, "f"),
        ref_premium=template.tick_size,
        maker_fee=_frac(template.maker_fee_ppb, PPB),
        taker_fee=_frac(template.taker_fee_ppb, PPB),
        index_stale_seconds=template.index_stale_ns // 1_000_000_000,
    )
    try:
        series = option_series(chain, expiry_ts)
    except ChainError as exc:
        raise AddOptionsError(str(exc)) from None
    for inst in series:
        if inst.symbol in engine.markets:
            raise AddOptionsError(f"{inst.symbol} is already listed")
    return series


def set_iv_command(engine: Engine, symbol: str, iv: str) -> SetOptionMarks:
    """The `SetOptionMarks` that sets `symbol`'s mark implied volatility to `iv` (a decimal
    fraction: "0.65" is 65 %), keeping its other figures until the risk monitor re-marks it
    at the new volatility. Raises AddOptionsError."""
    mkt = engine.markets.get(symbol)
    if mkt is None or mkt.option is None:
        raise AddOptionsError(f"{symbol!r} is not a listed option")
    try:
        value = Decimal(iv) * PPB
    except InvalidOperation:
        raise AddOptionsError(f"{iv!r} is not a decimal number") from None
    if not value.is_finite() or value != value.to_integral_value() or not 0 < value <= 20 * PPB:
        raise AddOptionsError(f"{iv!r}: a volatility above 0 and at most 20, exact to 10^-9")
    old = mkt.option_marks or (0, 0, 0, 0, 0, 0, 0)
    return SetOptionMarks(
        symbol=symbol,
        price=mkt.mark,
        iv_ppb=int(value),
        bid_iv_ppb=old[1],
        ask_iv_ppb=old[2],
        delta=old[3],
        gamma=old[4],
        vega=old[5],
        theta=old[6],
    )
