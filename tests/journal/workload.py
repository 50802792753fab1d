"""A seeded, reproducible command stream for crash and replay tests: command number `i` of
seed `s` is always the same (apart from `ts`, which the sequencer stamps)."""

from __future__ import annotations

import random

from venue.core import (
    AddAccount,
    AddInstrument,
    CancelOrder,
    Command,
    Deposit,
    Instrument,
    InstrumentKind,
    NewOrder,
    ReplaceOrder,
    Side,
    TimeInForce,
)

SYMBOLS = ("BTC-PERP", "ETH-PERP")
FIRMS = ("F1", "F2", "F3")
REF_PRICE = 10_000


def instrument(symbol: str) -> Instrument:
    return Instrument(
        symbol=symbol,
        kind=InstrumentKind.PERPETUAL,
        tick_size="0.5",
        lot_size="0.001",
        multiplier="1",
        ref_price=REF_PRICE,
        band_ppb=100_000_000,
        max_order_qty=1_000,
    )


def command_for(seed: int, i: int) -> Command:
    """Command number `i` (1-based) of the stream `seed`."""
    if i <= len(SYMBOLS):
        return AddInstrument(instrument=instrument(SYMBOLS[i - 1]))
    # Then one account per firm, with an ample balance (the core requires known accounts).
    j = i - len(SYMBOLS) - 1
    if j < 2 * len(FIRMS):
        firm = FIRMS[j // 2]
        if j % 2 == 0:
            return AddAccount(firm=firm, account=f"{firm}-A", max_leverage=100)
        return Deposit(account=f"{firm}-A", amount=10**15)
    rnd = random.Random(seed * 10_000_019 + i)
    firm = rnd.choice(FIRMS)
    symbol = rnd.choice(SYMBOLS)
    roll = rnd.random()
    if roll < 0.15 and i > 10:
        return CancelOrder(
            session=f"S-{firm}", firm=firm, cl_ord_id=f"c{i}", order_id=rnd.randint(1, i // 2)
        )
    if roll < 0.25 and i > 10:
        return ReplaceOrder(
            session=f"S-{firm}",
            firm=firm,
            cl_ord_id=f"r{i}",
            order_id=rnd.randint(1, i // 2),
            price=REF_PRICE + rnd.randint(-20, 20),
            qty=rnd.randint(1, 50),
        )
    side = Side.BUY if rnd.random() < 0.5 else Side.SELL
    return NewOrder(
        session=f"S-{firm}",
        firm=firm,
        account=f"{firm}-A",
        cl_ord_id=f"o{i}",
        symbol=symbol,
        side=side,
        price=REF_PRICE + rnd.randint(-20, 20),
        qty=rnd.randint(1, 50),
        tif=TimeInForce.IOC if rnd.random() < 0.1 else TimeInForce.GTC,
    )
