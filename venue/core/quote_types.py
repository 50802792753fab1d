"""Commands and events of mass quoting (`venue.core.quotes`), kept apart from the order
commands and events; `venue.core.commands.Command` and `venue.core.events.Event` include them.

Invariants kept here (as for every command and event):
- Frozen, array-like, tagged msgspec Structs with `ts` first; new fields are appended with
  defaults, never inserted (journal compatibility).
- Prices are ticks and sizes lots; a size of 0 means "no quote on this side".
"""

from __future__ import annotations

import msgspec

from venue.core.types import RejectReason, Side

__all__ = [
    "QUOTE_MARK",
    "MassQuote",
    "MassQuoteAcked",
    "MmpReset",
    "MmpSet",
    "MmpTriggered",
    "QuoteCancel",
    "QuoteEntry",
    "QuoteEntryResult",
    "QuotesCanceled",
    "ResetMmp",
    "SetMmp",
    "is_quote",
    "parse_quote_key",
    "quote_key",
    "underlying",
]


QUOTE_MARK = "\x01"
"""First character of every quote side's cl_ord_id (SOH: never part of a FIX value)."""


def quote_key(quote_id: str, entry_id: str, side: Side, symbol: str) -> str:
    return f"{QUOTE_MARK}{quote_id}{QUOTE_MARK}{entry_id}{QUOTE_MARK}{int(side)}{symbol}"


def is_quote(cl_ord_id: str) -> bool:
    return cl_ord_id[:1] == QUOTE_MARK


def parse_quote_key(cl_ord_id: str) -> tuple[str, str] | None:
    """(QuoteID, QuoteEntryID) of a quote side's cl_ord_id; None for an order's."""
    if cl_ord_id[:1] != QUOTE_MARK:
        return None
    parts = cl_ord_id.split(QUOTE_MARK, 3)
    return parts[1], parts[2]


def underlying(symbol: str) -> str:
    """An instrument's underlying, as QuoteCancel type 3 (and market-maker protection) name
    it: the symbol up to its first `-` (`BTC-PERP`, `BTC-27MAR27` → `BTC`)."""
    return symbol.split("-", 1)[0]


class QuoteEntry(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """One instrument's two-sided quote in a `MassQuote`. `bid_size == 0` (or `offer_size`)
    withdraws that side. `reason`, when set, is a refusal the FIX edge already decided (a
    price off the tick, a size off the lot): the core reports it and leaves the quote alone."""

    set_id: str
    entry_id: str
    symbol: str
    bid_px: int = 0
    bid_size: int = 0
    offer_px: int = 0
    offer_size: int = 0
    reason: RejectReason | None = None


class MassQuote(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Replace the session's quotes on the entries' instruments (one bid and one ask per
    session and instrument). `max_quotes` (0: no limit) bounds the number of instruments the
    session may quote at once; `response_level` is FIX QuoteResponseLevel (301), carried to
    the acknowledgement."""

    ts: int = 0
    session: str
    firm: str
    account: str
    quote_id: str
    entries: list[QuoteEntry]
    response_level: int = 0
    max_quotes: int = 0


class QuoteCancel(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Withdraw the session's quotes: `cancel_type` 1 on `symbols`, 3 on instruments whose
    underlying is in `underlyings`, 4 all. A non-empty `account` restricts it to that account's
    quotes."""

    ts: int = 0
    session: str
    firm: str
    quote_id: str
    cancel_type: int
    account: str = ""
    symbols: list[str] = []
    underlyings: list[str] = []
    response_level: int = 0


class QuoteEntryResult(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    """What became of one entry: `reason` None = applied, else why it was refused (the
    instrument's previous quote is then left as it was)."""

    set_id: str
    entry_id: str
    symbol: str
    reason: RejectReason | None = None


class MassQuoteAcked(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """The outcome of a `MassQuote`, entry by entry, in message order (the side changes are
    the `OrderAccepted` / `OrderReplaced` / `OrderCanceled` events before it)."""

    ts: int
    session: str
    firm: str
    account: str
    quote_id: str
    response_level: int
    entries: list[QuoteEntryResult]


class QuotesCanceled(
    msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True
):
    """The outcome of a `QuoteCancel`: how many quote sides were withdrawn (their
    `OrderCanceled` events come before it)."""

    ts: int
    session: str
    firm: str
    account: str
    quote_id: str
    cancel_type: int
    response_level: int
    canceled_count: int


class SetMmp(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Market-maker protection of `account` on `underlying`: over any `window_ms`, quote fills
    reaching `max_qty` lots or `max_fills` fills (0: that limit off) trigger it; quoting then
    stays frozen `freeze_ms` (0: until reset). `window_ms == 0` removes the protection."""

    ts: int = 0
    account: str
    underlying: str
    window_ms: int
    max_qty: int = 0
    max_fills: int = 0
    freeze_ms: int = 0
    operator: str = ""


class ResetMmp(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Unfreeze quoting of `account` on `underlying` and restart its window; `session` is the
    FIX session that asked (empty for an operator)."""

    ts: int = 0
    account: str
    underlying: str
    session: str = ""
    operator: str = ""


class MmpSet(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    account: str
    underlying: str
    window_ms: int
    max_qty: int
    max_fills: int
    freeze_ms: int
    operator: str


class MmpTriggered(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    """Protection triggered by the fills of this command: the account's quotes on the
    underlying were canceled (the `OrderCanceled` events before this one, reason MMP) and
    quoting is frozen until `frozen_until` (0: until reset). `sessions`: the quoting sessions
    concerned (their quotes filled or were canceled), in name order."""

    ts: int
    account: str
    underlying: str
    trigger: str  # "qty" or "fills"
    traded_qty: int
    fills: int
    frozen_until: int
    canceled_count: int
    sessions: list[str]


class MmpReset(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    account: str
    underlying: str
    session: str
    operator: str
