"""Order entry's read-only answers about quotes: QuoteStatusRequest (a) → QuoteStatusReport
(AI), one per instrument the session quotes (or one 'quote not found').

Invariants:
- Reads engine state only (`Engine.quotes`), never mutates it; a session sees only its own
  quotes (quotes belong to the session that entered them).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from venue.core.book import Order
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_quotes import QuoteStatusQuery
from venue.fix.mapping_quotes_out import quote_status_reports
from venue.gateway.application import Outbound

__all__ = ["quote_status"]


def quote_status(
    engine: Any, q: QuoteStatusQuery, specs: Mapping[str, InstrumentSpec], ts: int
) -> list[Outbound]:
    quotes = engine.quotes
    if q.symbol:
        symbols = [q.symbol]
    else:
        symbols = sorted({o.symbol for o in quotes.session_quotes(q.session)})
    sides: list[tuple[Order | None, Order | None]] = []
    for symbol in symbols:
        bid, ask = quotes.live(q.session, symbol)
        if bid is not None or ask is not None:
            sides.append((bid, ask))
    bodies = quote_status_reports(q.req_id, q.symbol, sides, specs, ts)
    return [Outbound(session=q.session, msg_type=b"AI", body=body) for body in bodies]
