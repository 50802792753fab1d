"""Core events → drop-copy ExecutionReport bodies for brokers (35=8 copies).

A drop copy is the ExecutionReport the order's owner received (`mapping_out.execution_report`,
byte for byte the same fields and ExecID) plus who it came from: the Parties group, the
CopyMsgIndicator and the venue's OriginatingSession tag.

Invariants:
- A copy is built from the event alone (and the instrument's scales): no engine state, no
  clock, so the same journaled event always yields the same copy (a resend or a restart cannot
  change its content).
- One function per copied event type, found through `COPIERS` (type → function); event types
  not listed there produce no copy. New order-affecting events (liquidation, auto-deleveraging,
  settlement at expiry) are one function and one `COPIERS` entry each.
- Entitlement is decided here, per event, from the event's own `firm` and `account`:
  `Entitlement.sees(firm, account)`; a broker never gets a copy of another firm's flow unless
  it was entitled to that single account.
- Appended fields, in this order after the ExecutionReport fields: Parties (453) with the
  executing firm (PartyRole 1), the customer account (24) and the entering session (36), all
  with PartyIDSource D (proprietary); CopyMsgIndicator (797) = Y; OriginatingSession (5002) =
  the SenderCompID of the session that entered the order (the session name for sessions
  without one, e.g. `LIQUIDATION`; absent with PartyRole 36 for auto-deleveraging, which has
  no order).
- Liquidation orders are ordinary order events (session `LIQUIDATION`, the account's firm);
  auto-deleveraging (`AdlExecuted`) yields one Trade copy per side, for the firm of each
  account (`CopyContext.account_firm`). Settlement at expiry is not copied: its events do not
  carry the settled position size (see the module `venue.gateway.dropcopy`).
- Funding: each payment of a position (`FundingApplied.payments`, flat positions left out) is
  the CollateralReport (35=BA) the account's trading sessions receive
  (`mapping_positions.funding_report`) plus Parties (firm and account); BA has no
  CopyMsgIndicator or OriginatingSession in FIX 4.4, so none is added.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Iterable, Mapping

import msgspec

from venue.core.events import (
    AdlExecuted,
    Event,
    FundingApplied,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    PositionSettled,
)
from venue.core.types import Side
from venue.fix.codec import format_utc_timestamp
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_out import Body, execution_report
from venue.fix.mapping_positions import funding_report
from venue.fix.mapping_quotes_out import QUOTE_MARK, quote_execution_report

__all__ = [
    "COPIERS",
    "PARTY_ROLE_ACCOUNT",
    "PARTY_ROLE_ENTERING_SESSION",
    "PARTY_ROLE_FIRM",
    "Copy",
    "CopyContext",
    "Entitlement",
    "copies",
    "parties",
]

PARTY_ROLE_FIRM = b"1"  # Executing Firm: the member firm that owns the order
PARTY_ROLE_ACCOUNT = b"24"  # Customer Account
PARTY_ROLE_ENTERING_SESSION = b"36"  # Entering Trader: the order-entry session (CompID)
_PROPRIETARY = b"D"


class Entitlement(msgspec.Struct, frozen=True, kw_only=True):
    """What one drop-copy session sees: whole firms, and single accounts of other firms."""

    firms: frozenset[str]
    accounts: frozenset[str]

    def sees(self, firm: str, account: str) -> bool:
        return firm in self.firms or (bool(account) and account in self.accounts)


class Copy(msgspec.Struct, frozen=True, kw_only=True):
    """One drop-copy message, before it is addressed: who it concerns and its body."""

    firm: str
    account: str
    msg_type: bytes
    body: Body


def _b(s: str) -> bytes:
    return s.encode("latin-1", "replace")


def parties(firm: str, account: str, comp_id: str) -> Body:
    """The Parties group (453) of a copy: firm, account, entering session (those known)."""
    entries = [
        (value, role)
        for value, role in (
            (firm, PARTY_ROLE_FIRM),
            (account, PARTY_ROLE_ACCOUNT),
            (comp_id, PARTY_ROLE_ENTERING_SESSION),
        )
        if value
    ]
    if not entries:
        return []
    body: Body = [(453, b"%d" % len(entries))]
    for party_id, role in entries:
        body += [(448, _b(party_id)), (447, _PROPRIETARY), (452, role)]
    return body


CompIds = Mapping[str, str]
"""Session name → its client CompID (sessions not listed, e.g. `admin:…`, keep their name)."""


@functools.lru_cache(maxsize=4096)
def _suffix(firm: str, account: str, comp_id: str) -> tuple[tuple[int, bytes], ...]:
    """The fields appended to a copy (the same for every copy of one account and session)."""
    out = parties(firm, account, comp_id)
    out.append((797, b"Y"))
    if comp_id:
        out.append((5002, _b(comp_id)))
    return tuple(out)


def _decorate(body: Body, firm: str, account: str, session: str, comp_ids: CompIds) -> Body:
    body.extend(_suffix(firm, account, comp_ids.get(session, session)))
    return body


# -- one function per copied event type ------------------------------------------------------
# Each takes (seq, event, context) and returns the copies (most events: one).


class CopyContext(msgspec.Struct, frozen=True, kw_only=True):
    """What copies need besides the event: instrument scales, session CompIDs, and the firm of
    each account (for events that name an account but no firm)."""

    specs: Mapping[str, InstrumentSpec]
    comp_ids: CompIds
    account_firm: Mapping[str, str] = {}


Copier = Callable[[int, Event, CopyContext], list[Copy]]


def _order_event(seq: int, ev: Event, ctx: CopyContext) -> list[Copy]:
    """New, fill, cancel (including expiry and mass cancel), replace: the owner's report."""
    assert isinstance(ev, OrderAccepted | OrderFilled | OrderCanceled | OrderReplaced)
    spec = ctx.specs.get(ev.symbol)
    if ev.cl_ord_id[:1] == QUOTE_MARK:  # a quote side: ClOrdID/QuoteEntryID, QuoteID
        body = quote_execution_report(ev, spec)
    else:
        body = execution_report(ev, spec)
    body = _decorate(body, ev.firm, ev.account, ev.session, ctx.comp_ids)
    return [Copy(firm=ev.firm, account=ev.account, msg_type=b"8", body=body)]


def _rejected(seq: int, ev: Event, ctx: CopyContext) -> list[Copy]:
    """A journaled order reject (ExecID `R<seq>`, as the owner got it)."""
    assert isinstance(ev, OrderRejected)
    body = execution_report(ev, ctx.specs.get(ev.symbol), seq=seq)
    body = _decorate(body, ev.firm, ev.account, ev.session, ctx.comp_ids)
    return [Copy(firm=ev.firm, account=ev.account, msg_type=b"8", body=body)]


_OTHER_SIDE = {Side.BUY: Side.SELL, Side.SELL: Side.BUY}
_SIDE = {Side.BUY: b"1", Side.SELL: b"2"}


def adl_report(ev: AdlExecuted, spec: InstrumentSpec | None, *, counterparty: bool) -> Body:
    """The ExecutionReport (ExecType F) of one side of an auto-deleveraging trade: no order
    (OrderID `NONE`), ExecID `A<trade_id>-1` for the liquidated account's side and
    `A<trade_id>-2` for the counterparty's, at the bankruptcy price."""
    side = _OTHER_SIDE[ev.side] if counterparty else ev.side
    account = ev.counterparty if counterparty else ev.account
    px = spec.price_text(ev.price) if spec is not None else b"%d" % ev.price
    qty = spec.qty_text(ev.qty) if spec is not None else b"%d" % ev.qty
    return [
        (37, b"NONE"),
        (17, b"A%d-%d" % (ev.trade_id, 2 if counterparty else 1)),
        (150, b"F"),
        (39, b"2"),
        (1, _b(account)),
        (55, _b(ev.symbol)),
        (54, _SIDE[side]),
        (38, qty),
        (31, px),
        (32, qty),
        (880, b"%d" % ev.trade_id),
        (151, b"0"),
        (14, qty),
        (6, px),
        (60, format_utc_timestamp(ev.ts)),
        (58, b"auto-deleveraging" if not counterparty else b"auto-deleveraged against"),
    ]


def _adl(seq: int, ev: Event, ctx: CopyContext) -> list[Copy]:
    """Auto-deleveraging: one copy per side (the liquidated account, then its counterparty)."""
    assert isinstance(ev, AdlExecuted)
    spec = ctx.specs.get(ev.symbol)
    out = []
    for counterparty, account in ((False, ev.account), (True, ev.counterparty)):
        firm = ctx.account_firm.get(account, "")
        body = adl_report(ev, spec, counterparty=counterparty)
        body = _decorate(body, firm, account, "", ctx.comp_ids)
        out.append(Copy(firm=firm, account=account, msg_type=b"8", body=body))
    return out


def settlement_report(ev: PositionSettled, spec: InstrumentSpec | None, *, seq: int) -> Body:
    """The ExecutionReport (ExecType F) of a position closed by final settlement at expiry:
    no order (OrderID `NONE`), ExecID `S<seq>-<account>` (one position per account and
    instrument in a settlement command), on the closing side at the settlement price."""
    px = spec.price_text(ev.price) if spec is not None else b"%d" % ev.price
    qty = spec.qty_text(ev.qty) if spec is not None else b"%d" % ev.qty
    return [
        (37, b"NONE"),
        (17, b"S%d-%s" % (seq, _b(ev.account))),
        (150, b"F"),
        (39, b"2"),
        (1, _b(ev.account)),
        (55, _b(ev.symbol)),
        (54, _SIDE[ev.side]),
        (38, qty),
        (31, px),
        (32, qty),
        (151, b"0"),
        (14, qty),
        (6, px),
        (60, format_utc_timestamp(ev.ts)),
        (58, b"final settlement"),
    ]


def _settled(seq: int, ev: Event, ctx: CopyContext) -> list[Copy]:
    """Final settlement at expiry: one copy per closed position, to the account's firm."""
    assert isinstance(ev, PositionSettled)
    firm = ctx.account_firm.get(ev.account, "")
    body = settlement_report(ev, ctx.specs.get(ev.symbol), seq=seq)
    body = _decorate(body, firm, ev.account, "", ctx.comp_ids)
    return [Copy(firm=firm, account=ev.account, msg_type=b"8", body=body)]


def _funding(seq: int, ev: Event, ctx: CopyContext) -> list[Copy]:
    """Funding: one CollateralReport copy per position that paid or received."""
    assert isinstance(ev, FundingApplied)
    spec = ctx.specs.get(ev.symbol)
    out = []
    for p in ev.payments:
        if not p.size:
            continue
        firm = ctx.account_firm.get(p.account, "")
        body = funding_report(seq, ev, p, spec) + parties(firm, p.account, "")
        out.append(Copy(firm=firm, account=p.account, msg_type=b"BA", body=body))
    return out


COPIERS: dict[type, Copier] = {
    OrderAccepted: _order_event,
    OrderFilled: _order_event,
    OrderCanceled: _order_event,
    OrderReplaced: _order_event,
    OrderRejected: _rejected,
    AdlExecuted: _adl,
    PositionSettled: _settled,
    FundingApplied: _funding,
}
"""Event type → the function that builds its drop copies. Not listed: no copy."""


def copies(seq: int, events: Iterable[Event], ctx: CopyContext) -> list[Copy]:
    """The drop copies of the events of the command journaled at `seq`, in event order."""
    out: list[Copy] = []
    for ev in events:
        fn = COPIERS.get(type(ev))
        if fn is not None:
            out += fn(seq, ev, ctx)
    return out
