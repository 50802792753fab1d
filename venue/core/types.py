"""Enums and the instrument definition shared by commands, events and the book.

Invariants kept here:
- Order enums (`Side`, `OrdType`, `TimeInForce`) are IntEnums whose values are the FIX 4.4 codes
  of the same meaning, so the FIX edge can map them without a table; the core only compares them.
- `RejectReason` and `CancelReason` values are stable (they are journaled): new members are
  appended, never renumbered.
- `Instrument` is immutable. Its decimal strings (`tick_size`, `lot_size`, `multiplier`) are for
  the FIX edge only; the core computes with `ref_price` (ticks), `band_ppb` and
  `max_order_qty` (lots), all integers.
"""

from __future__ import annotations

import enum

import msgspec

__all__ = [
    "BAND_SCALE",
    "MAX_PRICE",
    "MAX_QTY",
    "CancelReason",
    "Instrument",
    "InstrumentKind",
    "InstrumentState",
    "OrdType",
    "RejectReason",
    "Side",
    "StpMode",
    "TimeInForce",
]

BAND_SCALE = 1_000_000_000
"""`Instrument.band_ppb` is in parts per 10^9 of the reference price."""

MAX_PRICE = 10**10
"""Largest price (ticks) the core accepts; with `MAX_QTY` it keeps every notional below 2^63."""

MAX_QTY = 10**8
"""Largest `Instrument.max_order_qty` (lots) the core accepts."""


class Side(enum.IntEnum):
    BUY = 1
    SELL = 2


class OrdType(enum.IntEnum):
    MARKET = 1
    LIMIT = 2


class TimeInForce(enum.IntEnum):
    DAY = 0
    GTC = 1
    IOC = 3
    FOK = 4
    GTD = 6


class StpMode(enum.IntEnum):
    """What happens when an aggressor meets a resting order with the same firm and `stp_id`.

    The aggressor's mode decides.
    """

    CANCEL_RESTING = 1
    CANCEL_AGGRESSOR = 2
    CANCEL_BOTH = 3


class InstrumentKind(enum.StrEnum):
    PERPETUAL = "perpetual"
    FUTURE = "future"


class InstrumentState(enum.StrEnum):
    OPEN = "open"
    HALTED = "halted"
    EXPIRED = "expired"


class RejectReason(enum.IntEnum):
    """Why a command was refused. A refused command leaves the engine state unchanged."""

    UNKNOWN_INSTRUMENT = 1
    UNKNOWN_ORDER = 2
    INVALID_QUANTITY = 3  # zero or negative quantity
    PRICE_OFF_TICK = 4  # detected by the FIX edge when converting decimals
    QTY_OFF_LOT = 5  # detected by the FIX edge when converting decimals
    PRICE_OUTSIDE_BAND = 6
    QTY_ABOVE_MAXIMUM = 7
    DUPLICATE_CL_ORD_ID = 8  # same session, while the first order lives
    INSTRUMENT_HALTED = 9
    INSTRUMENT_EXPIRED = 10
    POST_ONLY_WOULD_TAKE = 11
    FOK_NOT_FILLABLE = 12
    MARKET_NO_LIQUIDITY = 13
    TOO_LATE_TO_CANCEL = 14  # the order id was issued but the order is filled or canceled
    INVALID_PRICE = 15  # limit price <= 0 or > MAX_PRICE, or a market order with a price
    INVALID_TIF = 16  # GTD without a future expire_ts, or expire_ts on a non-GTD order
    RISK_REJECTED = 17  # pre-trade risk (R1); not produced until the derivatives issue
    REPLACE_QTY_NOT_ABOVE_CUM_QTY = 18  # replace to a quantity <= the quantity already filled
    INVALID_ORDER = 19  # post-only on a market, IOC or FOK order; empty cl_ord_id
    DUPLICATE_INSTRUMENT = 20
    INVALID_INSTRUMENT = 21  # AddInstrument with a non-positive ref price, max qty, ...
    INVALID_STATE_CHANGE = 22  # Halt of a halted instrument, Resume of an open one
    MALFORMED_COMMAND = 23  # not a command, or a field of the wrong type (last-resort guard)


class CancelReason(enum.IntEnum):
    """Why a live order stopped living without being filled."""

    REQUESTED = 1
    IOC_REMAINDER = 2
    FOK_NOT_FILLED = 3  # unused: an unfillable FOK order is rejected, never accepted
    MARKET_REMAINDER = 4
    SELF_TRADE = 5
    EXPIRED = 6  # GTD/Day expiry (ExpireOrders) or instrument expiry (ExpireInstrument)
    MASS_CANCEL = 7
    HALTED = 8  # unused: a halt keeps resting orders


class Instrument(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """A tradable contract, as added by the `AddInstrument` command.

    `ref_price` is the initial reference price (ticks); the engine then keeps the current one
    (see `venue.core.engine`). `band_ppb == 0` disables the price band. `expiry_ts == 0` for
    perpetuals; for futures, orders at or after `expiry_ts` are refused as expired.
    """

    symbol: str
    kind: InstrumentKind
    tick_size: str
    lot_size: str
    multiplier: str
    ref_price: int
    band_ppb: int
    max_order_qty: int
    expiry_ts: int = 0
    state: InstrumentState = InstrumentState.OPEN
