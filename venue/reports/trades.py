"""Trade report export for a regulator: every trade in a time range, both sides' firm and
account, the aggressor, price, quantity, UTC time to the microsecond and order ids, as CSV.

Invariants:
- One row per trade (not per side), ascending by journal seq then trade id; book trades from
  the `OrderFilled` pairs (the aggressor's first), ADL trades from `AdlExecuted` (no aggressor,
  no orders: their order-id cells are empty, `kind` = adl).
- From the stored events only (no replay needed); read only; deterministic.
"""

from __future__ import annotations

import csv
from typing import TextIO

from venue.journal.rows import read_rows_decoded
from venue.reports.format import price, qty, utc_us
from venue.reports.ledger import Ledger, Trade

__all__ = ["TRADE_COLUMNS", "trade_report", "write_trade_csv"]

TRADE_COLUMNS = [
    "time_utc",
    "seq",
    "trade_id",
    "kind",
    "instrument",
    "price",
    "quantity",
    "aggressor_side",
    "buy_firm",
    "buy_account",
    "buy_order_id",
    "buy_cl_ord_id",
    "sell_firm",
    "sell_account",
    "sell_order_id",
    "sell_cl_ord_id",
]


async def trade_report(path: str, start_ts: int, end_ts: int) -> tuple[Ledger, list[Trade]]:
    """The trades with `start_ts <= ts < end_ts` (and the ledger that found them)."""
    ledger = Ledger(start_ts, end_ts, accounts=[])
    await read_rows_decoded(path, ledger.on_row, until_ts=end_ts)
    return ledger, ledger.trades


def write_trade_csv(ledger: Ledger, trades: list[Trade], out: TextIO) -> None:
    w = csv.writer(out, lineterminator="\n")
    w.writerow(TRADE_COLUMNS)
    for t in trades:
        inst = ledger.instruments.get(t.symbol)
        w.writerow(
            [
                utc_us(t.ts),
                t.seq,
                t.trade_id,
                t.kind,
                t.symbol,
                price(t.price, inst),
                qty(t.qty, inst),
                t.aggressor_side.name if t.aggressor_side is not None else "",
                t.buy[0],
                t.buy[1],
                t.buy[2] or "",
                t.buy[3],
                t.sell[0],
                t.sell[1],
                t.sell[2] or "",
                t.sell[3],
            ]
        )
