"""Tables for people from the venue's answers: prices at the tick, quantities at the lot,
money as `1,234.50 USD` (`venue.display`). `--json` never passes through here.

Invariants:
- Only formatting: the values come from the venue's answer (exact decimal strings plus each
  instrument's `tick_size`/`lot_size`); nothing is recomputed.
- Entry and liquidation prices, exact fractions of a tick, are shown with
  `display.EXACT_EXTRA` digits beyond the tick (the column says so).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from venue import display
from venue.admin import render

__all__ = [
    "ACCOUNT_MONEY",
    "show_account",
    "show_accounts",
    "show_book",
    "show_instruments",
    "show_orders",
    "show_positions",
    "show_trades",
]

ACCOUNT_MONEY = (
    "balance",
    "equity",
    "available",
    "initial_margin",
    "maintenance_margin",
    "unrealized_pnl",
)
_MARKET = ("mark", "index", "funding_rate", "open_interest")  # when the venue sends them
_EXACT = f"(+{display.EXACT_EXTRA} digits)"


def show_instruments(rows: Sequence[dict[str, Any]]) -> None:
    cols = ["symbol", "kind", "state", "ref_price", "best_bid", "best_ask", "live_orders"]
    cols += ["expiry", "strike", "put_call"]  # dated instruments and options
    extra: list[str] = [c for c in _MARKET if rows and c in rows[0]]
    render.print_table("instruments", cols + extra, [_instrument_row(r, extra) for r in rows])


def _instrument_row(r: dict[str, Any], extra: list[str]) -> list[object]:
    tick, lot = r["tick_size"], r["lot_size"]
    row: list[object] = [r["symbol"], r["kind"], r["state"]]
    row += [display.price(r[c], tick) for c in ("ref_price", "best_bid", "best_ask")]
    row.append(r["live_orders"])
    row += [r.get(c, "") for c in ("expiry", "strike", "put_call")]
    for c in extra:
        if c in ("mark", "index"):
            row.append(display.price(r[c], tick))
        elif c == "open_interest":
            row.append(display.qty(r[c], lot))
        else:
            row.append(r[c] if r[c] is not None else "-")
    return row


def show_accounts(title: str, rows: Sequence[dict[str, Any]]) -> None:
    cols = ["account", "firm", "segment", "max_leverage", *ACCOUNT_MONEY]
    render.print_table(
        title,
        cols,
        [
            [r["account"], r["firm"], r["segment"], r["max_leverage"]]
            + [display.money(r[f]) for f in ACCOUNT_MONEY]
            for r in rows
        ],
    )


def show_account(row: dict[str, Any]) -> None:
    """One account: its money, then its positions (open, or closed with realized PnL)."""
    pairs: list[tuple[str, object]] = [
        (k, row[k]) for k in ("account", "firm", "segment", "max_leverage")
    ]
    pairs += [(f, display.money(row[f])) for f in ACCOUNT_MONEY]
    render.print_kv(f"account {row['account']}", pairs)
    show_positions(row.get("positions", []))


def show_positions(rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        render.emit("positions: none")
        return
    cols = [
        "account",
        "symbol",
        "size",
        f"entry_price {_EXACT}",
        "mark_price",
        f"liquidation_price {_EXACT}",
        "unrealized_pnl",
        "realized_pnl",
        "margin",
    ]
    out = []
    for r in rows:
        tick, lot = r["tick_size"], r["lot_size"]
        out.append(
            [
                r["account"],
                r["symbol"],
                display.qty(r["size"], lot),
                display.price(r["entry_price"], tick, extra=display.EXACT_EXTRA),
                display.price(r["mark_price"], tick),
                display.price(r["liquidation_price"], tick, extra=display.EXACT_EXTRA),
                display.money(r["unrealized_pnl"]),
                display.money(r["realized_pnl"]),
                display.money(r["margin"]),
            ]
        )
    render.print_table("positions", cols, out)


def show_orders(rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        render.emit("open orders: none")
        return
    cols = ["order_id", "cl_ord_id", "session", "account", "symbol", "side", "tif"]
    cols += ["price", "qty", "leaves_qty"]
    render.print_table(
        "open orders",
        cols,
        [
            [r[c] for c in cols[:7]]
            + [
                display.price(r["price"], r["tick_size"]) if r["price"] else "market",
                display.qty(r["qty"], r["lot_size"]),
                display.qty(r["leaves_qty"], r["lot_size"]),
            ]
            for r in rows
        ],
    )


def show_book(book: dict[str, Any]) -> None:
    """Bids and asks side by side, best first; `*` marks levels holding the firm's orders."""
    tick, lot, firm = book["tick_size"], book["lot_size"], book["firm"]
    bids, asks = book["bids"], book["asks"]
    cols = ["bid orders", "bid qty", "bid", "ask", "ask qty", "ask orders"]
    if firm:
        cols = [f"{firm} bid", *cols, f"{firm} ask"]
    out = []
    for i in range(max(len(bids), len(asks))):
        b = bids[i] if i < len(bids) else None
        a = asks[i] if i < len(asks) else None
        row: list[object] = [
            b["orders"] if b else "",
            display.qty(b["qty"], lot) if b else "",
            display.price(b["price"], tick) if b else "",
            display.price(a["price"], tick) if a else "",
            display.qty(a["qty"], lot) if a else "",
            a["orders"] if a else "",
        ]
        if firm:
            row = [_own(b, lot), *row, _own(a, lot)]
        out.append(row)
    title = f"book {book['symbol']} ({book['state']})"
    if firm:
        title += f": * = {firm}'s own orders at the level"
    render.print_table(title, cols, out)


def _own(level: dict[str, Any] | None, lot: str) -> str:
    if level is None or not level.get("own_orders"):
        return ""
    return f"* {display.qty(level['own_qty'], lot)} ({','.join(level['own_orders'])})"


def show_trades(rows: Sequence[dict[str, Any]]) -> None:
    if not rows:
        render.emit("trades: none since the venue started")
        return
    cols = ["time", "trade_id", "symbol", "account", "side", "aggressor", "price", "qty"]
    render.print_table(
        "trades (newest first)",
        cols,
        [
            [
                render.ts_text(r["ts"]),
                r["trade_id"],
                r["symbol"],
                r["account"],
                r["side"],
                r["aggressor"],
                display.price(r["price"], r["tick_size"]),
                display.qty(r["qty"], r["lot_size"]),
            ]
            for r in rows
        ],
    )
