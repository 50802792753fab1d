"""Events: what `Engine.apply` answers. They carry everything the FIX edge needs for an
ExecutionReport, an OrderCancelReject or a drop copy, without looking at engine state.

Invariants kept here:
- Every event is a frozen, array-like, tagged msgspec Struct (tag = class name) with `ts`
  (the command's `ts`) first; `Event` is a tagged union decodable with
  `msgspec.msgpack.Decoder(list[Event])`.
- Events that become an ExecutionReport (`OrderAccepted`, `OrderFilled`, `OrderCanceled`,
  `OrderReplaced`) carry an `exec_id` from the engine's counter. Rejections
  (`OrderRejected`, `CancelRejected`, `MassCancelRejected`, `CommandRejected`) carry none:
  they do not consume counters (the FIX edge derives their ExecID from the journal sequence).
- `OrderAccepted`, `OrderFilled`, `OrderCanceled` and `OrderReplaced` are not `kw_only`: the
  core builds them positionally on the hot path (msgspec takes ~0.7 us to build a 19-field
  struct from keywords, ~0.12 us positionally). Everyone else should build them with keywords
  (that still works); the property test checks the core's positional order against the
  reference book's keyword-built events.
- Quantities are lots, prices ticks; `cum_notional` is the sum of `last_px * last_qty` over the
  order's fills, so the edge computes AvgPx = cum_notional / cum_qty.
- For cancels and replaces, `cl_ord_id` is the request's id and `orig_cl_ord_id` the order's
  previous id (FIX tags 11 and 41), and `request_session` the session that asked (it may differ
  from the order's `session` when another session of the same firm addressed it by order_id).
  For cancels the engine decides (IOC/market remainder, self-trade, expiry) `cl_ord_id` is the
  order's id and `orig_cl_ord_id` and `request_session` are ""; for a mass cancel
  `cl_ord_id` is the order's id, `orig_cl_ord_id` is "" and `request_session` the requester.
"""

from __future__ import annotations

import msgspec

from venue.core.quote_types import (
    MassQuoteAcked,
    MmpReset,
    MmpSet,
    MmpTriggered,
    QuotesCanceled,
)
from venue.core.types import (
    BalanceReason,
    CancelReason,
    Instrument,
    InstrumentState,
    OrdType,
    RejectReason,
    Side,
    TimeInForce,
)

__all__ = [
    "AccountAdded",
    "AccountCommandRejected",
    "AdlExecuted",
    "AdminActionRecorded",
    "BalanceChanged",
    "CancelRejected",
    "CommandRejected",
    "Event",
    "FundingApplied",
    "FundingPayment",
    "IndexPriceSet",
    "InstrumentAdded",
    "InstrumentSettled",
    "InstrumentStateChanged",
    "InsuranceFundChanged",
    "IsolatedMarginChanged",
    "LiquidationCompleted",
    "LiquidationStarted",
    "MarginModeSet",
    "MarkPriceSet",
    "MassCancelCompleted",
    "MassCancelRejected",
    "MassQuoteAcked",
    "MmpReset",
    "MmpSet",
    "MmpTriggered",
    "OptionMarksSet",
    "OrderAccepted",
    "OrderCanceled",
    "OrderFilled",
    "OrderRejected",
    "OrderReplaced",
    "PositionLiquidated",
    "PositionSettled",
    "QuotesCanceled",
    "ReferencePriceChanged",
    "StatisticsPublished",
]


class OrderAccepted(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    ts: int
    order_id: int
    exec_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    expire_ts: int
    post_only: bool
    reduce_only: bool


class OrderRejected(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    reason: RejectReason


class OrderFilled(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    """One side of one trade. Each trade yields two: the aggressor's first, then the resting."""

    ts: int
    order_id: int
    exec_id: int
    trade_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    last_px: int
    last_qty: int
    cum_qty: int
    leaves_qty: int
    cum_notional: int
    aggressor: bool


class OrderCanceled(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    """The order is done; its leaves quantity is 0 (it was `qty - cum_qty` before the cancel)."""

    ts: int
    order_id: int
    exec_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    orig_cl_ord_id: str
    request_session: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    cum_qty: int
    cum_notional: int
    reason: CancelReason


class OrderReplaced(msgspec.Struct, frozen=True, array_like=True, gc=False, tag=True):
    """The order now has `price`, `qty` and `cl_ord_id`. Fills may follow if it crossed."""

    ts: int
    order_id: int
    exec_id: int
    session: str
    firm: str
    account: str
    cl_ord_id: str
    orig_cl_ord_id: str
    request_session: str
    symbol: str
    side: Side
    ord_type: OrdType
    tif: TimeInForce
    price: int
    qty: int
    cum_qty: int
    leaves_qty: int
    cum_notional: int
    priority_kept: bool


class CancelRejected(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """A cancel (`is_replace` false) or replace request was refused; the order is unchanged.

    `session` is the requester. `order_id`, `cum_qty` and `leaves_qty` describe the order when it
    is live (all 0 when it is unknown or done).
    """

    ts: int
    session: str
    firm: str
    cl_ord_id: str
    orig_cl_ord_id: str
    order_id: int
    symbol: str
    is_replace: bool
    reason: RejectReason
    cum_qty: int
    leaves_qty: int


class MassCancelCompleted(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Follows the `OrderCanceled` events of a mass cancel (possibly none)."""

    ts: int
    session: str
    firm: str
    cl_ord_id: str
    symbol: str
    account: str
    side: Side | None
    session_only: bool
    canceled_count: int


class MassCancelRejected(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    session: str
    firm: str
    cl_ord_id: str
    symbol: str
    reason: RejectReason


class InstrumentAdded(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    instrument: Instrument


class InstrumentStateChanged(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    symbol: str
    state: InstrumentState


class ReferencePriceChanged(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Emitted for `SetReferencePrice` only; trade-driven updates are implied by the fills."""

    ts: int
    symbol: str
    ref_price: int


class CommandRejected(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """An instrument/admin command was refused, or a command was malformed.

    `command` is the command's class name (its tag).
    """

    ts: int
    command: str
    symbol: str
    reason: RejectReason


class AccountAdded(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    firm: str
    account: str
    segment: str
    max_leverage: int
    fee_tier: str


class AccountCommandRejected(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """An account command (AddAccount, Deposit, Withdraw, SetMarginMode, Liquidate) was refused.

    `command` is the command's class name; `symbol` is "" when the command names none.
    """

    ts: int
    command: str
    account: str
    symbol: str
    reason: RejectReason


class BalanceChanged(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """`account`'s balance changed by `delta` (money units, 10^-6 USD) to `balance`."""

    ts: int
    account: str
    delta: int
    balance: int
    reason: BalanceReason
    symbol: str = ""
    operator: str = ""


class MarginModeSet(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    account: str
    symbol: str
    isolated: bool
    operator: str


class IsolatedMarginChanged(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """`delta` money units moved from `account`'s balance into the isolated margin of its
    position in `symbol` (< 0: back); `margin` and `balance` are the results."""

    ts: int
    account: str
    symbol: str
    delta: int
    margin: int
    balance: int
    operator: str


class IndexPriceSet(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    symbol: str
    price: int
    source: str


class MarkPriceSet(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    symbol: str
    price: int


class OptionMarksSet(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """An option's mark and model figures (units: `venue.core.commands.SetOptionMarks`)."""

    ts: int
    symbol: str
    price: int
    iv_ppb: int
    bid_iv_ppb: int
    ask_iv_ppb: int
    delta: int
    gamma: int
    vega: int
    theta: int


class FundingPayment(msgspec.Struct, frozen=True, array_like=True, gc=False):
    """One account's funding: `amount` > 0 received, < 0 paid (money units)."""

    account: str
    size: int
    amount: int
    balance: int


class FundingApplied(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Funding of `symbol` at `mark`; sum(payments.amount) + to_insurance_fund == 0."""

    ts: int
    symbol: str
    rate_ppb: int
    mark: int
    payments: list[FundingPayment]
    to_insurance_fund: int


class StatisticsPublished(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """An instrument's figures as of `ts` (`PublishStatistics`): `mark` (ticks; the index, else
    the reference price, until a mark is set), `index` (ticks, 0 before the first), the last
    funding applied (`funding_rate_ppb` at `funding_ts`, both 0 before the first), the risk
    monitor's `predicted_rate_ppb` for the funding due at `next_funding_ts` (0 for futures),
    and `open_interest`: the lots held long (= held short) over all accounts."""

    ts: int
    symbol: str
    mark: int
    index: int
    funding_rate_ppb: int
    funding_ts: int
    predicted_rate_ppb: int
    next_funding_ts: int
    open_interest: int


class LiquidationStarted(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """`account` is below maintenance at mark: its orders are canceled, positions closed."""

    ts: int
    account: str
    equity: int
    maintenance_margin: int


class PositionLiquidated(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """How one position of a liquidated account was reduced: `book_qty` lots traded on the
    book (orders of session LIQUIDATION), `adl_qty` lots by auto-deleveraging; `size` is the
    position left (signed lots). `bankruptcy_price` is in ticks (rounded in the account's
    favour)."""

    ts: int
    account: str
    symbol: str
    bankruptcy_price: int
    book_qty: int
    adl_qty: int
    size: int


class AdlExecuted(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Auto-deleveraging trade: `account` (being liquidated) traded `qty` lots on `side`
    with `counterparty` (who traded the other side) at `price` (the bankruptcy price)."""

    ts: int
    trade_id: int
    symbol: str
    account: str
    counterparty: str
    side: Side
    price: int
    qty: int
    rank: int


class InsuranceFundChanged(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """The insurance fund changed by `delta` to `balance`; `account` is the account it took
    from or paid to ("" for funding rounding)."""

    ts: int
    delta: int
    balance: int
    account: str
    reason: BalanceReason


class LiquidationCompleted(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    account: str
    balance: int
    equity: int
    maintenance_margin: int
    full: bool


class InstrumentSettled(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Final settlement: every position of `symbol` closed at `price` (BalanceChanged each)."""

    ts: int
    symbol: str
    price: int
    positions: int


class PositionSettled(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Final settlement closed `account`'s position in `symbol`: `qty` lots on `side` (the
    closing side: SELL closes a long) at the settlement `price`. Its BalanceChanged follows."""

    ts: int
    account: str
    symbol: str
    side: Side
    qty: int
    price: int


class AdminActionRecorded(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int
    operator: str
    action: str
    detail: str


Event = (
    OrderAccepted
    | OrderRejected
    | OrderFilled
    | OrderCanceled
    | OrderReplaced
    | CancelRejected
    | MassCancelCompleted
    | MassCancelRejected
    | InstrumentAdded
    | InstrumentStateChanged
    | ReferencePriceChanged
    | CommandRejected
    | AccountAdded
    | AccountCommandRejected
    | BalanceChanged
    | MarginModeSet
    | IsolatedMarginChanged
    | IndexPriceSet
    | MarkPriceSet
    | OptionMarksSet
    | FundingApplied
    | StatisticsPublished
    | LiquidationStarted
    | PositionLiquidated
    | AdlExecuted
    | InsuranceFundChanged
    | LiquidationCompleted
    | InstrumentSettled
    | PositionSettled
    | AdminActionRecorded
    | MassQuoteAcked
    | QuotesCanceled
    | MmpSet
    | MmpTriggered
    | MmpReset
)
