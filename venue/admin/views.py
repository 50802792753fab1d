"""Read-only views of the engine for the admin: plain dicts ready for JSON and tables.

Invariants:
- Only reads: nothing here mutates engine state (the engine's queries and its `markets` /
  `orders` are read, never written).
- `instrument_figures` is the one place an instrument's figures (mark, index, premium,
  funding, open interest, state) are read for the admin: a list of instruments calls it per
  instrument. Rates leave as exact decimal fractions (ppb / 10^9), times as integer ns.
- Prices leave as exact decimal strings (ticks x tick size; exact fractions of a tick are
  divided out to 28 significant digits), quantities as lots and decimal strings (lots x lot
  size), money as exact decimal strings of USD (units / MONEY_SCALE) with the raw integer units
  alongside where a script may want them.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from fractions import Fraction
from typing import Any

from venue.core import Engine, Instrument
from venue.core.accounts import AccountView, PositionView
from venue.core.types import MONEY_SCALE, PPB

__all__ = [
    "account_row",
    "fraction_price",
    "instrument_figures",
    "instrument_rows",
    "money_text",
    "position_rows",
    "price_text",
    "rate_text",
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
                **option_terms(inst),
            }
        )
    return out


def option_terms(inst: Instrument) -> dict[str, str]:
    """Expiry (ISO-8601 UTC, futures and options), and an option's underlying, strike (USD)
    and put/call; empty strings where they do not apply."""
    expiry = ""
    if inst.expiry_ts:
        day = datetime.fromtimestamp(inst.expiry_ts // 1_000_000_000, tz=UTC)
        expiry = day.strftime("%Y-%m-%dT%H:%M:%SZ")
    strike = price_text(inst.strike, inst.tick_size) if inst.put_call is not None else None
    return {
        "expiry": expiry,
        "underlying": inst.underlying,
        "strike": strike or "",
        "put_call": str(inst.put_call) if inst.put_call is not None else "",
    }


def rate_text(ppb: int) -> str:
    """A rate in parts per 10^9 as an exact decimal fraction ("0.0001" is 0.01 %)."""
    return _plain(Decimal(ppb) / PPB)


def instrument_figures(engine: Engine, symbol: str) -> dict[str, Any]:
    """Mark, index, premium (mark − index), last funding rate and its time, predicted rate and
    the next funding time (as last published by the risk monitor), open interest and state
    of one listed instrument: exact decimal strings, with the raw integers under `units`
    (ticks, ppb, ns, lots). A figure the venue does not have yet is None."""
    mkt = engine.markets[symbol]
    inst = mkt.instrument
    tick, lot = inst.tick_size, inst.lot_size
    index = mkt.index_price or None
    perpetual = str(inst.kind) == "perpetual"
    funded = perpetual and mkt.funding_ts > 0
    outlook = perpetual and mkt.next_funding_ts > 0
    oi = engine.open_interest(symbol)[0]
    return {
        "symbol": symbol,
        "kind": str(inst.kind),
        "state": str(mkt.state),
        "tick_size": tick,
        "lot_size": lot,
        "mark_price": price_text(mkt.mark, tick),
        "mark_source": "mark" if mkt.mark_price else "index" if index else "reference",
        "index_price": price_text(index, tick),
        "premium": price_text(mkt.mark - index, tick) if index else None,
        "funding_rate": rate_text(mkt.funding_rate_ppb) if funded else None,
        "funding_time_ns": mkt.funding_ts if funded else None,
        "predicted_funding_rate": rate_text(mkt.predicted_rate_ppb) if outlook else None,
        "next_funding_time_ns": mkt.next_funding_ts if outlook else None,
        "open_interest": _plain(Decimal(oi) * Decimal(lot)),
        "units": {
            "mark_price": mkt.mark,
            "index_price": mkt.index_price,
            "funding_rate_ppb": mkt.funding_rate_ppb,
            "predicted_rate_ppb": mkt.predicted_rate_ppb,
            "open_interest_lots": oi,
        },
    }


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
