"""The one validation ladder of everything that puts a limit price into the book: new orders,
replaces and quote sides (`venue.core.engine`, `venue.core.quotes`).

Invariants kept here:
- Pure checks on a market and the request's numbers; nothing is mutated.
- The order of the checks decides which reason a request with several faults gets, the same
  for every kind of request: instrument state (expired, at or after its expiry time, halted),
  then quantity (positive, at most the instrument's maximum), then price (inside 1..MAX_PRICE,
  then inside the band).
"""

from __future__ import annotations

from venue.core.book import Market
from venue.core.types import MAX_PRICE, InstrumentState, RejectReason

__all__ = ["limit_checks", "price_checks", "quantity_checks", "tradable"]

_HALTED = InstrumentState.HALTED
_EXPIRED = InstrumentState.EXPIRED


def tradable(mkt: Market, ts: int) -> RejectReason | None:
    """Why nothing new may enter `mkt`'s book at `ts`, or None."""
    if mkt.state is _EXPIRED or (mkt.expiry_ts and ts >= mkt.expiry_ts):
        return RejectReason.INSTRUMENT_EXPIRED
    if mkt.state is _HALTED:
        return RejectReason.INSTRUMENT_HALTED
    return None


def quantity_checks(mkt: Market, qty: int) -> RejectReason | None:
    if qty <= 0:
        return RejectReason.INVALID_QUANTITY
    if qty > mkt.max_qty:
        return RejectReason.QTY_ABOVE_MAXIMUM
    return None


def price_checks(mkt: Market, price: int) -> RejectReason | None:
    if not mkt.lo <= price <= mkt.hi:
        if price <= 0 or price > MAX_PRICE:
            return RejectReason.INVALID_PRICE
        return RejectReason.PRICE_OUTSIDE_BAND
    return None


def limit_checks(mkt: Market, price: int, qty: int) -> RejectReason | None:
    """Quantity then price of a limit request (`qty`: the quantity asked for)."""
    return quantity_checks(mkt, qty) or price_checks(mkt, price)
