"""Read-only views of the engine for the admin: plain dicts ready for JSON and tables.

Invariants:
- Only reads: nothing here mutates engine state (the engine's queries and its `markets` /
  `orders` are read, never written).
- Prices leave as exact decimal strings (ticks x tick size; exact fractions of a tick are
  divided out to 28 significant digits), quantities as lots and decimal strings (lots x lot
  size), money as exact decimal strings of USD (units / MONEY_SCALE) with the raw integer units
  alongside where a script may want them.
"""

from __future__ import annotations

from decimal import Decimal
from fractions import Fraction
from typing import Any

from venue.core import Engine
from venue.core.accounts import AccountView, PositionView
from venue.core.types import MONEY_SCALE

__all__ = [
    "account_row",
    "fraction_price",
    "instrument_rows",
    "money_text",
    "position_rows",
    "price_text",
]

_ACCOUNT_MONEY = (
    "balance",
    "equity",
    "available",
    "initial_margin",
    "maintenance_margin",
    "unrealized_pnl",
    "isolated_margin",
)
_POSITION_MONEY = (
    "realized_pnl",
    "unrealized_pnl",
    "margin",
    "initial_margin",
    "maintenance_margin",
)


def _plain(d: Decimal) -> str:
    return format(d.normalize(), "f")


def price_text(ticks: int | None, tick_size: str) -> str | None:
    return None if ticks is None else _plain(Decimal(ticks) * Decimal(tick_size))


def fraction_price(value: Fraction | None, tick_size: str) -> str | None:
    """An exact price in ticks (entry, liquidation price) as a decimal string."""
    if value is None:
        return None
    return _plain(Decimal(value.numerator) * Decimal(tick_size) / Decimal(value.denominator))


def money_text(units: int) -> str:
    return _plain(Decimal(units) / MONEY_SCALE)


def instrument_rows(engine: Engine) -> list[dict[str, Any]]:
    live: dict[str, int] = {}
    for o in engine.orders.values():
        live[o.symbol] = live.get(o.symbol, 0) + 1
    out = []
    for symbol, mkt in engine.markets.items():
        inst = mkt.instrument
        tick = inst.tick_size
        out.append(
            {
                "symbol": symbol,
                "kind": str(inst.kind),
                "state": str(mkt.state),
                "tick_size": tick,
                "lot_size": inst.lot_size,
                "ref_price": price_text(mkt.ref_price, tick),
                "best_bid": price_text(mkt.bids.best_price(), tick),
                "best_ask": price_text(mkt.asks.best_price(), tick),
                "live_orders": live.get(symbol, 0),
            }
        )
    return out


def account_row(view: AccountView) -> dict[str, Any]:
    row: dict[str, Any] = {
        "account": view.account,
        "firm": view.firm,
        "segment": view.segment,
        "max_leverage": view.max_leverage,
    }
    for f in _ACCOUNT_MONEY:
        row[f] = money_text(getattr(view, f))
    row["units"] = {f: getattr(view, f) for f in _ACCOUNT_MONEY}
    return row


def _position_row(engine: Engine, view: PositionView) -> dict[str, Any]:
    inst = engine.markets[view.symbol].instrument
    tick = inst.tick_size
    row: dict[str, Any] = {
        "account": view.account,
        "symbol": view.symbol,
        "size_lots": view.size,
        "size": _plain(Decimal(view.size) * Decimal(inst.lot_size)),
        "entry_price": fraction_price(view.entry_price, tick),
        "mark_price": price_text(view.mark_price, tick),
        "liquidation_price": fraction_price(view.liquidation_price, tick),
        "isolated": view.isolated,
        "tick_size": tick,  # for people's tables (venue.admin.tables)
        "lot_size": inst.lot_size,
    }
    for f in _POSITION_MONEY:
        row[f] = money_text(getattr(view, f))
    return row


def position_rows(engine: Engine, accounts: list[str], symbols: list[str]) -> list[dict[str, Any]]:
    """Positions that are open or have realized PnL, account by account, symbol by symbol."""
    out = []
    for account in accounts:
        for symbol in symbols:
            v = engine.position_view(account, symbol)
            if v is not None and (v.size != 0 or v.realized_pnl != 0):
                out.append(_position_row(engine, v))
    return out
