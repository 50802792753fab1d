"""Enums and the instrument definition shared by commands, events and the book.

Invariants kept here:
- Order enums (`Side`, `OrdType`, `TimeInForce`) are IntEnums whose values are the FIX 4.4 codes
  of the same meaning, so the FIX edge can map them without a table; the core only compares them.
- `RejectReason` and `CancelReason` values are stable (they are journaled): new members are
  appended, never renumbered.
- `Instrument` is immutable. Its decimal strings (`tick_size`, `lot_size`, `multiplier`) are for
  the FIX edge, and for the one integer the core derives from them when the instrument is
  added: `value_per_tick_lot`, the value of one tick on one lot in money units (below); the
  core otherwise computes with `ref_price` (ticks), `band_ppb` and `max_order_qty` (lots).
- Money is an integer number of USD minor units: `MONEY_SCALE` = 10^6 units per USD
  (1 unit = 10^-6 USD). Rates (margin, fees, funding) are parts per 10^9 (`PPB`).
- Margin fields are appended to `Instrument` with defaults (journal compatibility): the default
  instrument needs no margin and charges no fee.
"""

from __future__ import annotations

import enum

import msgspec

__all__ = [
    "BAND_SCALE",
    "LIQUIDATION_SESSION",
    "MAX_PRICE",
    "MAX_QTY",
    "MONEY_SCALE",
    "PPB",
    "BalanceReason",
    "CancelReason",
    "FeeTier",
    "Instrument",
    "InstrumentKind",
    "InstrumentState",
    "MarginTier",
    "OrdType",
    "PutCall",
    "RejectReason",
    "Side",
    "StpMode",
    "TimeInForce",
    "option_cfi",
]

BAND_SCALE = 1_000_000_000
"""`Instrument.band_ppb` is in parts per 10^9 of the reference price."""

MAX_PRICE = 10**10
"""Largest price (ticks) the core accepts; with `MAX_QTY` it keeps every notional below 2^63."""

MAX_QTY = 10**8
"""Largest `Instrument.max_order_qty` (lots) the core accepts."""

MONEY_SCALE = 1_000_000
"""Money (balances, PnL, fees, margin, the insurance fund) is in units of 10^-6 USD."""

PPB = 1_000_000_000
"""Rates (initial/maintenance margin, fees, funding) are in parts per 10^9."""

LIQUIDATION_SESSION = "LIQUIDATION"
"""The session of the venue-generated orders that close a liquidated account's positions;
their cl_ord_id is `LIQ-<order_id>` (the engine's own order id)."""


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
    OPTION = "option"  # European, cash-settled in USD on the underlying index


class PutCall(enum.StrEnum):
    """An option's right; the value is FIX PutOrCall's meaning in a word (0 = put, 1 = call
    at the FIX edge)."""

    PUT = "put"
    CALL = "call"


def option_cfi(right: PutCall) -> str:
    """ISO 10962 CFI code of an option series here (FIX CFICode 461): O(ption), C(all) or
    P(ut), E(uropean), I(ndex underlying), C(ash delivery), S(tandardized)."""
    return "OCEICS" if right == PutCall.CALL else "OPEICS"


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
    MALFORMED_COMMAND = 23  # not a command (field types are checked by the sequencer)
    UNKNOWN_ACCOUNT = 24  # the order's account was never added (AddAccount)
    INSUFFICIENT_MARGIN = 25  # R1: worst-case initial margin above available equity
    REDUCE_ONLY_WOULD_INCREASE = 26  # reduce-only order on the same side as the position or flat
    INDEX_STALE = 27  # risk-increasing order (or Liquidate) while the index price is stale
    DUPLICATE_ACCOUNT = 28  # AddAccount of an existing account
    INVALID_ACCOUNT = 29  # AddAccount with an empty name, a non-positive leverage, ...
    INVALID_AMOUNT = 30  # Deposit/Withdraw of a non-positive amount, bad rate or price
    WITHDRAWAL_EXCEEDS_AVAILABLE = 31  # Withdraw above available (equity - initial margin)
    NOT_LIQUIDATABLE = 32  # Liquidate of an account that is not below maintenance margin
    INSTRUMENT_NOT_EXPIRED = 33  # SettleInstrument before ExpireInstrument
    NOT_A_PERPETUAL = 34  # ApplyFunding on a dated future
    ALREADY_SETTLED = 35  # SettleInstrument twice
    QUOTE_WOULD_CROSS = 36  # a quote side at or through the opposite side of the book
    QUOTE_LIMIT_EXCEEDED = 37  # a quote on one more instrument than the session may quote
    INVALID_QUOTE = 38  # empty QuoteEntryID, or a bid at or above the ask of the same entry
    MMP_FROZEN = 39  # quoting frozen by market-maker protection until reset (or freeze time)
    NOT_AN_OPTION = 40  # SetOptionMarks on an instrument that is not an option
    OPTIONS_CROSS_ONLY = 41  # SetMarginMode isolated on an option (options are cross only)


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
    LIQUIDATION = 9  # the account is being liquidated (Liquidate cancels all its orders)
    VENUE_RESTART = 10  # cancel on disconnect after a venue restart or failover (no Logon)
    MMP = 11  # market-maker protection triggered: the account's quotes on the underlying


class BalanceReason(enum.StrEnum):
    """Why an account's balance changed (`BalanceChanged.reason`). Trades change balances
    (realized PnL, fees) without a `BalanceChanged`: the `OrderFilled` events are the record."""

    DEPOSIT = "deposit"
    WITHDRAWAL = "withdrawal"
    FUNDING = "funding"
    SETTLEMENT = "settlement"
    LIQUIDATION_SURPLUS = "liquidation_surplus"  # to the insurance fund
    INSURANCE_PAYOUT = "insurance_payout"  # from the insurance fund
    # Liquidation fees the account could not pay, given back from fee revenue (never paid by
    # the insurance fund): a liquidated account never ends below zero because of its fees.
    LIQUIDATION_FEE_WAIVED = "liquidation_fee_waived"


class MarginTier(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Maintenance tier: applies from `notional_floor` (money units) up to the next floor.

    MM = ceil((notional * mmr_ppb - cum) / 10^9), cum = sum over lower tiers of
    floor_k * (mmr_k - mmr_{k-1}), so MM is continuous across tier floors. The first tier's
    floor must be 0; floors strictly increase; rates never decrease.
    """

    notional_floor: int
    mmr_ppb: int


class FeeTier(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """Fees of an account fee tier on one instrument (parts per 10^9 of notional; a negative
    maker fee is a rebate). Accounts whose tier is not listed pay the instrument's defaults."""

    tier: str
    maker_fee_ppb: int
    taker_fee_ppb: int


class Instrument(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """A tradable contract, as added by the `AddInstrument` command.

    `ref_price` is the initial reference price (ticks); the engine then keeps the current one
    (see `venue.core.engine`). `band_ppb == 0` disables the price band. `expiry_ts == 0` for
    perpetuals; for futures and options, orders at or after `expiry_ts` are refused as
    expired. An option's prices (order prices, mark, index, strike) are all in its own ticks:
    its premium ticks, and the underlying index expressed in the same ticks, so intrinsic
    value and margin are plain integer differences. Its price band is `band_ppb` of the
    underlying (the index, or the strike until an index is set), not of the premium.
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
    imr_ppb: int = 0  # initial margin rate (at least 1/max_leverage of the account is used)
    mm_tiers: list[MarginTier] = []  # empty: no maintenance margin
    maker_fee_ppb: int = 0
    taker_fee_ppb: int = 0
    fee_tiers: list[FeeTier] = []
    index_stale_ns: int = 0  # 0: never stale; else risk-increasing orders need a fresh index
    # Options only (kind OPTION): the underlying index's name (e.g. "BTC"), the strike in this
    # instrument's ticks (premium ticks: strike USD / tick_size), and the right.
    underlying: str = ""
    strike: int = 0
    put_call: PutCall | None = None
