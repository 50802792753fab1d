"""Daily statements: one per account for a UTC day, from the journal alone.

A statement holds the day's trades (with fees and realized PnL), funding payments, other
balance changes (deposits, withdrawals, settlement, liquidation transfers), liquidations and
ADL, and, at the cut-off (the end of the day, or the journal's last row if earlier), the
account's balance, equity, margins and open positions at the mark price then. Opening figures
are the state at the start of the day.

Invariants:
- Deterministic: a function of the journal rows up to the cut-off (replayed into a fresh core
  engine, `venue.reports.replay`); the same journal gives byte-identical output.
- Reconciliation: closing cash (balance + isolated margin) - opening cash = realized PnL - fees
  + funding + the other balance changes; each statement says whether it holds (`reconciled`),
  which the tests require.
- Money, prices and quantities print as exact decimals (`venue.reports.format`).
"""

from __future__ import annotations

from typing import Any

from venue.core import Engine
from venue.reports.format import day_bounds, exact_price, money, price, qty, utc_us
from venue.reports.ledger import AccountDay, Ledger
from venue.reports.replay import replay

__all__ = ["daily_statements", "statement_rows"]


def _cash(engine: Engine, account: str) -> tuple[int, int]:
    view = engine.account_view(account)
    return (0, 0) if view is None else (view.balance, view.isolated_margin)


async def daily_statements(
    path: str, date: str, account: str | None = None
) -> list[dict[str, Any]]:
    """The statements of `date` (every account known at the cut-off, or just `account`)."""
    start, end = day_bounds(date)
    ledger = Ledger(start, end, [account] if account else None)
    opening: dict[str, tuple[int, int]] = {}

    def at_start(engine: Engine, _seq: int) -> None:
        for name in list(engine.accounts):
            opening[name] = _cash(engine, name)

    engine, seq, ts = await replay(
        path, ledger.on_row, until_ts=end, at_ts=start, on_reach=at_start
    )
    names = [account] if account else list(engine.accounts)
    out = []
    for name in names:
        view = engine.account_view(name)
        if view is None:
            raise ValueError(f"unknown account {name!r} at the cut-off")
        day = ledger.days.get(name) or AccountDay()
        out.append(_statement(engine, ledger, name, day, opening.get(name, (0, 0)), date, seq, ts))
    return out


def _statement(  # noqa: PLR0917 -- one call site, the statement's parts in order
    engine: Engine,
    ledger: Ledger,
    name: str,
    day: AccountDay,
    opening: tuple[int, int],
    date: str,
    seq: int,
    ts: int,
) -> dict[str, Any]:
    view = engine.account_view(name)
    assert view is not None
    inst = ledger.instruments
    realized = sum(f.realized_pnl for f in day.fills)
    fees = sum(f.fee for f in day.fills)
    funding = sum(int(p["amount"]) for p in day.funding)
    other = sum(int(b["delta"]) for b in day.balance_changes)
    close_cash = view.balance + view.isolated_margin
    positions = []
    for symbol in inst:
        pv = engine.position_view(name, symbol)
        if pv is None or pv.size == 0:
            continue
        i = inst[symbol]
        positions.append(
            {
                "instrument": symbol,
                "size": qty(pv.size, i),
                "entry_price": exact_price(pv.entry_price, i) if pv.entry_price else "",
                "mark_price": price(pv.mark_price, i),
                "unrealized_pnl": money(pv.unrealized_pnl),
                "isolated": pv.isolated,
                "isolated_margin": money(pv.margin),
            }
        )
    trades = [
        {
            "seq": f.seq,
            "time": utc_us(f.ts),
            "trade_id": f.trade_id,
            "instrument": f.symbol,
            "side": f.side.name,
            "price": price(f.price, inst.get(f.symbol)),
            "quantity": qty(f.qty, inst.get(f.symbol)),
            "liquidity": "adl" if f.kind == "adl" else ("taker" if f.aggressor else "maker"),
            "fee": money(f.fee),
            "realized_pnl": money(f.realized_pnl),
            "order_id": f.order_id,
            "cl_ord_id": f.cl_ord_id,
        }
        for f in day.fills
    ]
    return {
        "account": name,
        "firm": view.firm,
        "date": date,
        "cut_off_seq": seq,
        "cut_off_time": utc_us(ts) if ts else "",
        "opening_balance": money(opening[0]),
        "opening_isolated_margin": money(opening[1]),
        "trades": trades,
        "fees": money(fees),
        "realized_pnl": money(realized),
        "funding": [
            {**p, "time": utc_us(int(p["ts"])), "amount": money(int(p["amount"]))}
            for p in day.funding
        ],
        "funding_total": money(funding),
        "balance_changes": [_balance_change(b) for b in day.balance_changes],
        "liquidations": day.liquidations,
        "adl": day.adl,
        "settlements": day.settlements,
        "positions": positions,
        "balance": money(view.balance),
        "isolated_margin": money(view.isolated_margin),
        "unrealized_pnl": money(view.unrealized_pnl),
        "equity": money(view.equity),
        "initial_margin": money(view.initial_margin),
        "maintenance_margin": money(view.maintenance_margin),
        "available": money(view.available),
        "reconciled": close_cash - sum(opening) == realized - fees + funding + other,
    }


def _balance_change(b: dict[str, int | str]) -> dict[str, int | str]:
    t, delta, bal = utc_us(int(b["ts"])), money(int(b["delta"])), money(int(b["balance"]))
    return {**b, "time": t, "delta": delta, "balance": bal}


_CSV_COLUMNS = [
    "account",
    "date",
    "section",
    "time",
    "seq",
    "instrument",
    "side",
    "price",
    "quantity",
    "liquidity",
    "fee",
    "amount",
    "detail",
]


def statement_rows(statements: list[dict[str, Any]]) -> tuple[list[str], list[list[object]]]:
    """The statements as one CSV table: a row per trade, funding payment, balance change,
    liquidation or ADL step, position, and a summary row per account."""
    rows: list[list[object]] = []
    for s in statements:
        acct, date = s["account"], s["date"]
        for t in s["trades"]:
            rows.append(
                [acct, date, "trade", t["time"], t["seq"], t["instrument"], t["side"],
                 t["price"], t["quantity"], t["liquidity"], t["fee"], t["realized_pnl"],
                 f"trade_id={t['trade_id']} order_id={t['order_id']} cl_ord_id={t['cl_ord_id']}"]
            )  # fmt: skip
        for p in s["funding"]:
            rows.append(
                [acct, date, "funding", p["time"], p["seq"], p["symbol"], "", "", p["size"], "",
                 "", p["amount"], f"rate_ppb={p['rate_ppb']} mark={p['mark']}"]
            )  # fmt: skip
        for b in s["balance_changes"]:
            rows.append(
                [acct, date, "balance", b["time"], b["seq"], b["symbol"], "", "", "", "", "",
                 b["delta"], f"reason={b['reason']} operator={b['operator']}"]
            )  # fmt: skip
        for li in [*s["liquidations"], *s["adl"], *s["settlements"]]:
            rest = " ".join(f"{k}={v}" for k, v in li.items() if k != "seq")
            rows.append(
                [acct, date, "liquidation", "", li["seq"], "", "", "", "", "", "", "", rest]
            )
        for p in s["positions"]:
            rows.append(
                [acct, date, "position", s["cut_off_time"], s["cut_off_seq"], p["instrument"],
                 "", p["mark_price"], p["size"], "", "", p["unrealized_pnl"],
                 f"entry_price={p['entry_price']}"]
            )  # fmt: skip
        summary = " ".join(
            f"{k}={s[k]}"
            for k in ("opening_balance", "balance", "equity", "initial_margin",
                      "maintenance_margin", "available", "funding_total", "reconciled")
        )  # fmt: skip
        rows.append(
            [acct, date, "summary", s["cut_off_time"], s["cut_off_seq"], "", "", "", "", "",
             s["fees"], s["realized_pnl"], summary]
        )  # fmt: skip
    return _CSV_COLUMNS, rows
