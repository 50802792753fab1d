"""Commands and events of mass quoting (`venue.core.quotes`), kept apart from the order
commands and events; `venue.core.commands.Command` and `venue.core.events.Event` include them.

Invariants kept here (as for every command and event):
- Frozen, array-like, tagged msgspec Structs with `ts` first; new fields are appended with
  defaults, never inserted (journal compatibility).
- Prices are ticks and sizes lots; a size of 0 means "no quote on this side".
"""

from __future__ import annotations

import msgspec

from venue.core.types import RejectReason

__all__ = [
    "MassQuote",
    "MassQuoteAcked",
    "QuoteCancel",
    "QuoteEntry",
    "QuoteEntryResult",
    "QuotesCanceled",
]


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
