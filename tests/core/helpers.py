"""Builders shared by the core tests."""

from __future__ import annotations

from typing import Any

from venue.core import (
    AddAccount,
    AddInstrument,
    Deposit,
    Engine,
    Event,
    Instrument,
    InstrumentKind,
    NewOrder,
    Side,
)

SYMBOL = "BTC-PERP"
REF = 1000
BAND_PPB = 50_000_000  # 5 %: prices 950..1050
MAX_QTY = 10


def instrument(symbol: str = SYMBOL, **kw: Any) -> Instrument:
    fields: dict[str, Any] = {
        "symbol": symbol,
        "kind": InstrumentKind.PERPETUAL,
        "tick_size": "0.5",
        "lot_size": "0.001",
        "multiplier": "1",
        "ref_price": REF,
        "band_ppb": BAND_PPB,
        "max_order_qty": MAX_QTY,
    }
    fields.update(kw)
    return Instrument(**fields)


TEST_ACCOUNTS = ("A", "A1", "A2", "A3")
AMPLE = 10**15  # money units (10^9 USD): tests that do not care about margin never hit it


def add_accounts(engine: Engine, accounts: tuple[str, ...] = TEST_ACCOUNTS) -> Engine:
    """Add `accounts` (firm F1, leverage 100) with an ample balance."""
    for acct in accounts:
        engine.apply(AddAccount(ts=1, firm="F1", account=acct, max_leverage=100))
        engine.apply(Deposit(ts=1, account=acct, amount=AMPLE))
    return engine


def new_engine(*instruments: Instrument) -> Engine:
    engine = Engine()
    for inst in instruments or (instrument(),):
        engine.apply(AddInstrument(ts=1, instrument=inst))
    return add_accounts(engine)


def order(cl_ord_id: str, side: Side, price: int, qty: int, **kw: Any) -> NewOrder:
    fields: dict[str, Any] = {
        "ts": 10,
        "session": "S1",
        "firm": "F1",
        "account": "A1",
        "cl_ord_id": cl_ord_id,
        "symbol": SYMBOL,
        "side": side,
        "price": price,
        "qty": qty,
    }
    fields.update(kw)
    return NewOrder(**fields)


def names(events: list[Event]) -> list[str]:
    return [type(e).__name__ for e in events]


def book_view(engine: Engine, symbol: str = SYMBOL) -> tuple[list[tuple[int, int, int]], ...]:
    """(order_id, price, leaves) per side (bids, asks), in priority order."""
    mkt = engine.markets[symbol]
    out = []
    for side in (mkt.bids, mkt.asks):
        rows = []
        for key in reversed(side.keys):
            for o in side.levels[side.sign * key].orders:
                rows.append((o.order_id, o.price, o.qty - o.cum_qty))
        out.append(rows)
    return tuple(out)
