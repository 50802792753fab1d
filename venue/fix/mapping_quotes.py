"""FIX → core for mass quoting: MassQuote (i), QuoteCancel (Z), QuoteStatusRequest (a). The
answers (MassQuoteAcknowledgement, QuoteStatusReport, quote sides' ExecutionReports) are
built in `venue.fix.mapping_quotes_out`.

Invariants:
- Pure: every answer is built from the message, the session's context and the instruments'
  scales (inbound) or from one event or one live order (outbound); no clock, no engine state.
- A malformed entry is refused alone (its reason travels in the command, so the core
  reports every entry in order, in one acknowledgement); a fault of the whole message
  (no entries, too many, an account the session may not use) refuses the whole message
  with MassQuoteAcknowledgement QuoteStatus 5.
"""

from __future__ import annotations

import msgspec

from venue.core.quote_types import MassQuote, QuoteCancel, QuoteEntry, ResetMmp
from venue.core.types import RejectReason
from venue.fix.codec import FixMessage
from venue.fix.mapping_num import OFF_GRID, InstrumentSpec, InstrumentTable
from venue.fix.mapping_types import MAX_ID_LEN, Refusal, SessionContext, session_reject

__all__ = [
    "QuoteLimits",
    "QuoteStatusQuery",
    "decode_mass_quote",
    "decode_mmp_reset",
    "decode_quote_cancel",
    "decode_quote_status_request",
]


class QuoteLimits(msgspec.Struct, frozen=True, kw_only=True):
    """Per-session limits: entries in one MassQuote, instruments quoted at once (0: none)."""

    max_entries: int = 100
    max_quotes: int = 0


class QuoteStatusQuery(msgspec.Struct, frozen=True, kw_only=True):
    """QuoteStatusRequest (a): the session's quote on `symbol`, or all when empty."""

    session: str
    req_id: bytes
    symbol: str


# ---------------------------------------------------------------------------------------------
# Inbound


def _whole_refusal(msg: FixMessage, reject_reason: int, text: str, code: str) -> Refusal:
    fields: list[tuple[int, bytes]] = []
    quote_id = msg.get(117)
    if quote_id:
        fields.append((117, quote_id))
    fields += [(297, b"5"), (300, b"%d" % reject_reason), (58, text.encode("latin-1", "replace"))]
    return Refusal(msg_type=b"b", reason=code, fields=tuple(fields))


def _account(msg: FixMessage, ctx: SessionContext) -> str | None:
    account_b = msg.get(1)
    if account_b:
        account = account_b.decode("latin-1")
        return account if account in ctx.accounts else None
    return ctx.accounts[0] if ctx.accounts else None


_ENTRY_TAGS = frozenset((55, 132, 133, 134, 135))


def _entries(msg: FixMessage) -> list[dict[int, bytes]] | None:
    """The quote entries in wire order, each with its QuoteSetID under key 302 (None: an entry
    field outside any entry)."""
    out: list[dict[int, bytes]] = []
    set_id = b""
    current: dict[int, bytes] | None = None
    for tag, value in msg.fields:
        if tag == 302:
            set_id = value
            current = None
        elif tag == 299:
            current = {302: set_id, 299: value}
            out.append(current)
        elif tag in _ENTRY_TAGS:
            if current is None:
                return None
            current[tag] = value
    return out


def _side(
    spec: InstrumentSpec, px_b: bytes | None, size_b: bytes | None
) -> tuple[int, int, RejectReason | None]:
    """(price, size, edge refusal) of one side; no size (or 0) withdraws the side."""
    if not size_b:
        return 0, 0, None
    size = spec.lot.to_units(size_b)
    if type(size) is not int:
        return 0, 0, RejectReason.QTY_OFF_LOT if size is OFF_GRID else RejectReason.INVALID_QUANTITY
    if size == 0:
        return 0, 0, None
    if not px_b:
        return 0, size, RejectReason.INVALID_PRICE
    px = spec.tick.to_units(px_b)
    if type(px) is not int:
        return (
            0,
            size,
            RejectReason.PRICE_OFF_TICK if px is OFF_GRID else RejectReason.INVALID_PRICE,
        )
    return px, size, None


def decode_mass_quote(
    msg: FixMessage, ctx: SessionContext, instruments: InstrumentTable, limits: QuoteLimits
) -> MassQuote | Refusal:
    """MassQuote → `MassQuote`, or the refusal of the whole message."""
    quote_id = msg.get(117)
    if not quote_id:
        return session_reject(msg, 117, "required tag missing")
    if len(quote_id) > MAX_ID_LEN:
        return _whole_refusal(msg, 99, "QuoteID (117) longer than 64", "id_too_long")
    account = _account(msg, ctx)
    if account is None:
        return _whole_refusal(msg, 9, "account not entitled on this session", "unknown_account")
    raw = _entries(msg)
    if not raw:
        return _whole_refusal(msg, 99, "no quote entries", "no_entries")
    if len(raw) > limits.max_entries:
        text = f"more than {limits.max_entries} quote entries in one message"
        return _whole_refusal(msg, 3, text, "too_many_entries")
    level_b = msg.get(301)
    level = int(level_b) if level_b in (b"0", b"1", b"2") else 0
    entries: list[QuoteEntry] = []
    for e in raw:
        entry_id = e[299]
        symbol = e.get(55, b"").decode("latin-1")
        spec = instruments.get(symbol)
        reason: RejectReason | None = None
        bid = ask = (0, 0)
        if len(entry_id) > MAX_ID_LEN:
            reason = RejectReason.INVALID_QUOTE
        elif spec is None:
            reason = RejectReason.UNKNOWN_INSTRUMENT
        else:
            bid_px, bid_size, reason = _side(spec, e.get(132), e.get(134))
            ask_px, ask_size, ask_reason = _side(spec, e.get(133), e.get(135))
            reason = reason or ask_reason
            if reason is None:
                bid, ask = (bid_px, bid_size), (ask_px, ask_size)
        entries.append(
            QuoteEntry(
                set_id=e[302].decode("latin-1"),
                entry_id=entry_id.decode("latin-1"),
                symbol=symbol,
                bid_px=bid[0],
                bid_size=bid[1],
                offer_px=ask[0],
                offer_size=ask[1],
                reason=reason,
            )
        )
    return MassQuote(
        session=ctx.session,
        firm=ctx.firm,
        account=account,
        quote_id=quote_id.decode("latin-1"),
        entries=entries,
        response_level=level,
        max_quotes=limits.max_quotes,
    )


def decode_quote_cancel(msg: FixMessage, ctx: SessionContext) -> QuoteCancel | Refusal:
    """QuoteCancel → `QuoteCancel` (types 1 by Symbol, 3 by UnderlyingSymbol, 4 all)."""
    quote_id = msg.get(117)
    type_b = msg.get(298)
    if not quote_id or not type_b:
        return session_reject(msg, 117 if not quote_id else 298, "required tag missing")
    if type_b not in (b"1", b"3", b"4"):
        return _whole_refusal(msg, 99, "QuoteCancelType (298) must be 1, 3 or 4", "bad_type")
    account = ""
    if msg.get(1):
        acct = _account(msg, ctx)
        if acct is None:
            return _whole_refusal(msg, 9, "account not entitled on this session", "unknown_account")
        account = acct
    symbols = [v.decode("latin-1") for v in msg.get_all(55)]
    underlyings = [v.decode("latin-1") for v in msg.get_all(311)]
    if type_b == b"1" and not symbols:
        return _whole_refusal(msg, 1, "QuoteCancelType 1 needs Symbol (55) entries", "no_symbol")
    if type_b == b"3" and not underlyings:
        text = "QuoteCancelType 3 needs UnderlyingSymbol (311) entries"
        return _whole_refusal(msg, 1, text, "no_underlying")
    level_b = msg.get(301)
    return QuoteCancel(
        session=ctx.session,
        firm=ctx.firm,
        quote_id=quote_id.decode("latin-1"),
        cancel_type=int(type_b),
        account=account,
        symbols=symbols,
        underlyings=underlyings,
        response_level=int(level_b) if level_b in (b"0", b"1", b"2") else 0,
    )


def decode_quote_status_request(msg: FixMessage, ctx: SessionContext) -> QuoteStatusQuery:
    symbol = msg.get(55) or b""
    return QuoteStatusQuery(
        session=ctx.session, req_id=msg.get(649) or b"", symbol=symbol.decode("latin-1")
    )


def decode_mmp_reset(msg: FixMessage, ctx: SessionContext) -> ResetMmp | Refusal:
    """MMPReset (U1) → `ResetMmp` for (Account, UnderlyingSymbol)."""
    und = msg.get(311)
    if not und:
        return session_reject(msg, 311, "required tag missing")
    account = _account(msg, ctx)
    if account is None:
        return Refusal(msg_type=b"j", reason="unknown_account", fields=tuple(_mmp_refusal(msg)))
    return ResetMmp(account=account, underlying=und.decode("latin-1"), session=ctx.session)


def _mmp_refusal(msg: FixMessage) -> list[tuple[int, bytes]]:
    out: list[tuple[int, bytes]] = []
    ref = msg.get(34)
    if ref:
        out.append((45, ref))
    out += [(372, msg.msg_type), (380, b"6"), (58, b"account not entitled on this session")]
    return out
