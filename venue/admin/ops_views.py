"""Admin reads operators expect: open orders, book depth, instruments with their market
numbers, recent trades. `ViewOps.table()` gives `AdminOps` these operations.

Invariants:
- Only reads: the engine's `orders`, `markets` and queries, and the `Tape` of committed fills;
  nothing is mutated.
- Filters that name nothing (an unknown firm, account, session or instrument) are answered
  not_found, never an empty list that would read as "none".
- Values leave as exact decimal strings (prices = ticks x tick size, quantities = lots x lot
  size), with each row's `tick_size`/`lot_size` so people's tables can round for display.
- Mark, index, funding and open interest in `instrument list` are `instrument show`'s numbers
  (`views.instrument_figures`), one row per instrument.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any

import msgspec

from venue.admin.protocol import ErrorCode, OpError
from venue.admin.tape import Tape
from venue.admin.views import instrument_figures, instrument_rows, price_text
from venue.core import Engine

__all__ = ["ViewOps", "market_numbers"]

Handler = Callable[[Any, str], Awaitable[Any]]


class _Orders(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    firm: str | None = None
    account: str | None = None
    session: str | None = None
    symbol: str | None = None
    limit: int = 1000


class _Book(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    symbol: str
    depth: int = 10
    firm: str | None = None


class _Trades(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str | None = None
    symbol: str | None = None
    limit: int = 50


class _NoArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


def _lots(lots: int, lot_size: str) -> str:
    return format((Decimal(lots) * Decimal(lot_size)).normalize(), "f")


def market_numbers(engine: Engine) -> list[dict[str, Any]]:
    """`instrument_rows` plus mark, index, last funding rate and time, and open interest, read
    from `instrument_figures` (the numbers of `instrument show`)."""
    rows = instrument_rows(engine)
    for row in rows:
        figures = instrument_figures(engine, row["symbol"])
        row["mark"] = figures["mark_price"]
        row["index"] = figures["index_price"]
        row["funding_rate"] = figures["funding_rate"]
        row["funding_time_ns"] = figures["funding_time_ns"]
        row["open_interest"] = figures["open_interest"]
    return rows


class ViewOps:
    def __init__(
        self,
        engine: Engine,
        tape: Tape | None,
        session_names: Callable[[], list[str]],
    ) -> None:
        self.engine = engine
        self.tape = tape
        self._session_names = session_names

    def table(self) -> dict[str, tuple[type, Handler]]:
        return {
            "orders": (_Orders, self._orders),
            "book": (_Book, self._book),
            "trades": (_Trades, self._trades),
            "instrument.list": (_NoArgs, self._instruments),
        }

    # -- checks -------------------------------------------------------------------------------

    def _check(
        self,
        *,
        firm: str | None = None,
        account: str | None = None,
        session: str | None = None,
        symbol: str | None = None,
    ) -> None:
        e = self.engine
        if firm is not None and firm not in {a.firm for a in e.accounts.values()}:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown firm {firm!r}")
        if account is not None and account not in e.accounts:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown account {account!r}")
        if session is not None and session not in self._session_names():
            raise OpError(ErrorCode.NOT_FOUND, f"unknown session {session!r}")
        if symbol is not None and symbol not in e.markets:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown instrument {symbol!r}")

    # -- operations ---------------------------------------------------------------------------

    async def _instruments(self, _a: _NoArgs, _op: str) -> Any:
        return market_numbers(self.engine)

    async def _orders(self, a: _Orders, _op: str) -> Any:
        self._check(firm=a.firm, account=a.account, session=a.session, symbol=a.symbol)
        out: list[dict[str, Any]] = []
        for o in self.engine.orders.values():
            if (
                (a.firm is not None and o.firm != a.firm)
                or (a.account is not None and o.account != a.account)
                or (a.session is not None and o.session != a.session)
                or (a.symbol is not None and o.symbol != a.symbol)
            ):
                continue
            inst = self.engine.markets[o.symbol].instrument
            out.append(
                {
                    "order_id": o.order_id,
                    "cl_ord_id": o.cl_ord_id,
                    "session": o.session,
                    "firm": o.firm,
                    "account": o.account,
                    "symbol": o.symbol,
                    "side": o.side.name,
                    "ord_type": o.ord_type.name,
                    "tif": o.tif.name,
                    "price": price_text(o.price, inst.tick_size),
                    "qty": _lots(o.qty, inst.lot_size),
                    "leaves_qty": _lots(o.qty - o.cum_qty, inst.lot_size),
                    "cum_qty": _lots(o.cum_qty, inst.lot_size),
                    "expire_ts": o.expire_ts or None,
                    "tick_size": inst.tick_size,
                    "lot_size": inst.lot_size,
                }
            )
            if len(out) >= a.limit:
                break
        return out

    async def _book(self, a: _Book, _op: str) -> Any:
        self._check(symbol=a.symbol, firm=a.firm)
        mkt = self.engine.markets[a.symbol]
        inst = mkt.instrument
        sides: dict[str, list[dict[str, Any]]] = {}
        for name, side, best_first in (("bids", mkt.bids, True), ("asks", mkt.asks, False)):
            levels = sorted(side.levels.values(), key=lambda lv: lv.price, reverse=best_first)
            rows = []
            for lv in levels[: max(0, a.depth)]:
                row: dict[str, Any] = {
                    "price": price_text(lv.price, inst.tick_size),
                    "qty": _lots(lv.qty, inst.lot_size),
                    "orders": len(lv.orders),
                }
                if a.firm is not None:
                    own = [o for o in lv.orders if o.firm == a.firm]
                    row["own_qty"] = _lots(sum(o.qty - o.cum_qty for o in own), inst.lot_size)
                    row["own_orders"] = [o.cl_ord_id for o in own]
                rows.append(row)
            sides[name] = rows
        return {
            "symbol": a.symbol,
            "state": str(mkt.state),
            "firm": a.firm,
            "tick_size": inst.tick_size,
            "lot_size": inst.lot_size,
            **sides,
        }

    async def _trades(self, a: _Trades, _op: str) -> Any:
        self._check(account=a.account, symbol=a.symbol)
        if self.tape is None:
            raise OpError(ErrorCode.UNAVAILABLE, "this venue keeps no trade record for the admin")
        out: list[dict[str, Any]] = []
        for f in reversed(self.tape.fills):  # newest first
            if a.symbol is not None and f.symbol != a.symbol:
                continue
            if a.account is not None and f.account != a.account:
                continue
            if a.account is None and not f.aggressor:
                continue  # one row per trade: its aggressor's side
            inst = self.engine.markets[f.symbol].instrument
            out.append(
                {
                    "seq": f.seq,
                    "ts": f.ts,
                    "trade_id": f.trade_id,
                    "symbol": f.symbol,
                    "account": f.account,
                    "firm": f.firm,
                    "side": f.side,
                    "aggressor": f.aggressor,
                    "price": price_text(f.price, inst.tick_size),
                    "qty": _lots(f.qty, inst.lot_size),
                    "order_id": f.order_id,
                    "cl_ord_id": f.cl_ord_id,
                    "tick_size": inst.tick_size,
                    "lot_size": inst.lot_size,
                }
            )
            if len(out) >= a.limit:
                break
        return out
