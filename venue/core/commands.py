"""Commands: everything that can change the engine state (DESIGN.md rule 2).

Invariants kept here:
- Every command is a frozen, array-like, tagged msgspec Struct (tag = class name) with
  `ts: int = 0` as its first field; the sequencer stamps `ts` with `msgspec.structs.replace`
  and the core uses it as its only time.
- `Command` is a tagged union, so `msgspec.msgpack.Decoder(Command)` decodes any command.
- New fields are appended with defaults, never inserted, so journaled commands stay decodable.
"""

from __future__ import annotations

import msgspec

from venue.core.quote_types import MassQuote, QuoteCancel, ResetMmp, SetMmp
from venue.core.types import Instrument, OrdType, Side, StpMode, TimeInForce

__all__ = [
    "AddAccount",
    "AddInstrument",
    "AdjustIsolatedMargin",
    "ApplyFunding",
    "CancelOrder",
    "CancelSessionOrders",
    "Command",
    "Deposit",
    "ExpireInstrument",
    "ExpireOrders",
    "FundInsurance",
    "Halt",
    "Liquidate",
    "MassCancel",
    "MassQuote",
    "NewOrder",
    "PublishStatistics",
    "QuoteCancel",
    "RecordAdminAction",
    "ReplaceOrder",
    "ResetMmp",
    "Resume",
    "SetIndexPrice",
    "SetMarginMode",
    "SetMarkPrice",
    "SetMmp",
    "SetOptionMarks",
    "SetReferencePrice",
    "SettleInstrument",
    "Withdraw",
]


class NewOrder(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Enter an order. `price` is in ticks (0 for market orders), `qty` in lots.

    `stp_id == 0` means no self-trade prevention; orders of the same firm with the same nonzero
    `stp_id` never trade with each other, `stp_mode` of the aggressor decides what is canceled.
    """

    ts: int = 0
    session: str
    firm: str
    account: str
    cl_ord_id: str
    symbol: str
    side: Side
    ord_type: OrdType = OrdType.LIMIT
    price: int = 0
    qty: int
    tif: TimeInForce = TimeInForce.GTC
    expire_ts: int = 0
    post_only: bool = False
    reduce_only: bool = False
    stp_id: int = 0
    stp_mode: StpMode = StpMode.CANCEL_AGGRESSOR


class CancelOrder(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Cancel one order, addressed by `order_id` if nonzero, else by (session, orig_cl_ord_id).

    The order must belong to `firm`; otherwise it is answered as an unknown order.
    `cl_ord_id` is the id of this request.
    """

    ts: int = 0
    session: str
    firm: str
    cl_ord_id: str
    orig_cl_ord_id: str = ""
    order_id: int = 0
    symbol: str = ""


class ReplaceOrder(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Change price and/or total quantity of a live limit order (addressed as for a cancel).

    `qty` is the new total order quantity (filled part included); `cl_ord_id` becomes the
    order's client id.
    """

    ts: int = 0
    session: str
    firm: str
    cl_ord_id: str
    orig_cl_ord_id: str = ""
    order_id: int = 0
    symbol: str = ""
    price: int
    qty: int


class MassCancel(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Cancel every live order of `firm` that matches all given filters.

    Empty `symbol` / `account` and `side is None` mean "any"; `session_only` restricts the
    cancel to orders entered by `session` (cancel on disconnect).
    """

    ts: int = 0
    session: str
    firm: str
    cl_ord_id: str = ""
    symbol: str = ""
    account: str = ""
    side: Side | None = None
    session_only: bool = False
    operator: str = ""


class CancelSessionOrders(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Cancel every resting order entered through any of `sessions`, in one command: cancel
    on disconnect for the sessions that did not log on again after a venue restart."""

    ts: int = 0
    sessions: list[str]


class ExpireOrders(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Cancel GTD orders with `expire_ts <= ts`, and all Day orders if `include_day`."""

    ts: int = 0
    include_day: bool = False


class AddInstrument(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int = 0
    instrument: Instrument


class Halt(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Stop trading an instrument: new orders and replaces are refused, cancels allowed."""

    ts: int = 0
    symbol: str
    operator: str = ""


class Resume(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int = 0
    symbol: str
    operator: str = ""


class ExpireInstrument(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Mark an instrument expired and cancel its resting orders (reason `EXPIRED`)."""

    ts: int = 0
    symbol: str
    operator: str = ""


class SetReferencePrice(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    ts: int = 0
    symbol: str
    ref_price: int


class AddAccount(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Create an account of `firm` (at start-up, like `AddInstrument`), balance 0.

    `segment` is the client segment (e.g. "retail", "market_maker"); `max_leverage` (>= 1)
    caps leverage: the initial margin rate used is max(instrument imr, 10^9 / max_leverage)
    ppb. `fee_tier` selects the instruments' `FeeTier` of that name.
    """

    ts: int = 0
    firm: str
    account: str
    segment: str = ""
    max_leverage: int = 1
    fee_tier: str = ""


class Deposit(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Credit `amount` money units (10^-6 USD) to `account`."""

    ts: int = 0
    account: str
    amount: int
    operator: str = ""


class Withdraw(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Debit `amount` money units; refused above available (equity - initial margin)."""

    ts: int = 0
    account: str
    amount: int
    operator: str = ""


class FundInsurance(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """The venue pays `amount` money units into the insurance fund (an operator action)."""

    ts: int = 0
    amount: int
    operator: str = ""


class SetMarginMode(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Cross (default) or isolated margin for (account, symbol); refused while the account
    has a position or open orders in `symbol`."""

    ts: int = 0
    account: str
    symbol: str
    isolated: bool
    operator: str = ""


class AdjustIsolatedMargin(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Move `amount` money units from the account's balance into the isolated margin of its
    position in `symbol` (`amount` < 0: back to the balance). Refused unless the position is
    open and isolated, when adding more than the account has available, and when removing
    more than is allocated or enough to leave the position below maintenance margin."""

    ts: int = 0
    account: str
    symbol: str
    amount: int
    operator: str = ""


class SetIndexPrice(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """The index price of `symbol` in ticks; its `ts` is the index time (staleness)."""

    ts: int = 0
    symbol: str
    price: int
    source: str = ""


class SetMarkPrice(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """The mark price (ticks) computed by the risk monitor; margin and liquidation use it."""

    ts: int = 0
    symbol: str
    price: int


class SetOptionMarks(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """An option's mark price and model figures, computed outside the core by the risk
    monitor (Black-76, `venue.risk.options`) and entered as integers:

    - `price`: the mark premium in the option's ticks (at least 1);
    - `iv_ppb`, `bid_iv_ppb`, `ask_iv_ppb`: mark and best bid/ask implied volatilities, parts
      per 10^9 (0.65 = 650_000_000; 0: no bid/ask);
    - `delta`: per contract (one unit of the underlying), parts per 10^9;
    - `gamma`: change of delta per 1 USD of the underlying, parts per 10^9;
    - `vega`: USD per 1 volatility point (0.01), per contract, money units (10^-6 USD);
    - `theta`: USD per calendar day, per contract, money units (10^-6 USD; negative: decay).
    """

    ts: int = 0
    symbol: str
    price: int
    iv_ppb: int
    bid_iv_ppb: int = 0
    ask_iv_ppb: int = 0
    delta: int = 0
    gamma: int = 0
    vega: int = 0
    theta: int = 0


class ApplyFunding(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Funding at a funding time: every position pays size * mark * rate (longs pay shorts
    when `rate_ppb` > 0). Payers' amounts round up, receivers' down; the difference (>= 0) goes
    to the insurance fund, so the transfer is exactly zero-sum."""

    ts: int = 0
    symbol: str
    rate_ppb: int


class PublishStatistics(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Publish `symbol`'s figures (`StatisticsPublished`). The risk monitor adds its funding
    outlook for a perpetual: the rate the next funding would apply if it were due now
    (`predicted_rate_ppb`) and when it is due (`next_funding_ts`, ns); both 0 for a future.
    The core keeps them with the instrument and adds what it knows itself (mark, index, the
    last funding applied, open interest)."""

    ts: int = 0
    symbol: str
    predicted_rate_ppb: int = 0
    next_funding_ts: int = 0


class Liquidate(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Liquidate `account` if below maintenance margin at mark (`venue.core.liquidation`)."""

    ts: int = 0
    account: str


class SettleInstrument(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Final settlement of an expired dated future at `price` (ticks): every position is closed
    into its balance at that price."""

    ts: int = 0
    symbol: str
    price: int


class RecordAdminAction(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """Journaled audit record of an admin action that changes no engine state."""

    ts: int = 0
    operator: str
    action: str
    detail: str = ""


Command = (
    NewOrder
    | CancelOrder
    | ReplaceOrder
    | MassCancel
    | CancelSessionOrders
    | ExpireOrders
    | AddInstrument
    | Halt
    | Resume
    | ExpireInstrument
    | SetReferencePrice
    | AddAccount
    | Deposit
    | Withdraw
    | SetMarginMode
    | AdjustIsolatedMargin
    | SetIndexPrice
    | SetMarkPrice
    | SetOptionMarks
    | ApplyFunding
    | PublishStatistics
    | Liquidate
    | SettleInstrument
    | RecordAdminAction
    | FundInsurance
    | MassQuote
    | QuoteCancel
    | SetMmp
    | ResetMmp
)
