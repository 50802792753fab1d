"""Daily statements and the trade report, from a real journal file written from real core
rows. Expected figures are worked out here from the published rules (Rules of Engagement:
fees on notional rounded up, rebates towards zero; funding = size x mark x rate, payers round
up); every statement must reconcile with the engine's own balances."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.surveillance.market import USD, Market, instrument
from venue.core import (
    ApplyFunding,
    ExpireInstrument,
    FeeTier,
    InstrumentKind,
    Liquidate,
    MarginTier,
    SetMarkPrice,
    SettleInstrument,
    Side,
    TimeInForce,
    Withdraw,
)
from venue.reports.statements import daily_statements
from venue.reports.trades import trade_report

REPO = Path(__file__).resolve().parents[2]
BUY, SELL = Side.BUY, Side.SELL
DAY1, DAY2 = "2026-05-28", "2026-05-29"  # Market starts 2026-05-28T20:26:40Z
MIDNIGHT_MS = (3 * 3600 + 33 * 60 + 20) * 1000  # from the start to 2026-05-29T00:00:00Z

FEES = {
    "maker_fee_ppb": 200_000,  # 0.02 %
    "taker_fee_ppb": 500_000,  # 0.05 %
    "fee_tiers": [FeeTier("mm", -100_000, 300_000)],  # rebate 0.01 %, taker 0.03 %
}


async def build(tmp_path: Path) -> tuple[Market, Path]:
    perp = instrument("X-PERP", **FEES)
    fut = instrument("X-FUT", kind=InstrumentKind.FUTURE, **FEES)
    m = Market({"MM": ["MM-1"], "CL": ["CL-1", "CL-2"]}, [perp, fut], tiers={"MM-1": "mm"})
    # day 1: CL-1 buys 2 @ 1000 from MM-1 (MM maker), then sells 2 @ 1010 to MM-1
    m.order("MM-1", SELL, 1000, 2)
    m.order("CL-1", BUY, 1000, 2, tif=TimeInForce.IOC)
    m.order("MM-1", BUY, 1010, 2)
    m.order("CL-1", SELL, 1010, 2, tif=TimeInForce.IOC)
    # CL-1 buys 3 @ 1005 again and keeps them overnight
    m.order("MM-1", SELL, 1005, 3)
    m.order("CL-1", BUY, 1005, 3, tif=TimeInForce.IOC)
    m.do(SetMarkPrice(symbol="X-PERP", price=1000))
    m.do(ApplyFunding(symbol="X-PERP", rate_ppb=1_000_000))  # 0.1 %: longs pay
    # day 2: a withdrawal and a dated future to final settlement
    m.at_ms(MIDNIGHT_MS + 60_000)
    m.do(Withdraw(account="CL-1", amount=100 * USD, operator="ops"))
    m.order("MM-1", SELL, 990, 1, symbol="X-FUT")
    m.order("CL-2", BUY, 990, 1, symbol="X-FUT", tif=TimeInForce.IOC)
    m.do(ExpireInstrument(symbol="X-FUT"))
    m.do(SettleInstrument(symbol="X-FUT", price=1000))
    path = tmp_path / "venue.db"
    await m.write_journal(path)
    return m, path


async def test_daily_statement_day_one(tmp_path: Path) -> None:
    _, path = await build(tmp_path)
    [cl] = await daily_statements(str(path), DAY1, "CL-1")
    assert cl["account"] == "CL-1" and cl["firm"] == "CL"
    # taker fees at 0.05 %: 2 x 1000 -> 1 USD; 2 x 1010 -> 1.01; 3 x 1005 -> 1.5075
    assert [t["fee"] for t in cl["trades"]] == ["1.000000", "1.010000", "1.507500"]
    assert [t["liquidity"] for t in cl["trades"]] == ["taker"] * 3
    assert [t["realized_pnl"] for t in cl["trades"]] == ["0.000000", "20.000000", "0.000000"]
    assert cl["fees"] == "3.517500" and cl["realized_pnl"] == "20.000000"
    # funding: 3 lots x mark 1000 x 1 USD x 0.1 % = 3 USD paid
    assert [(f["symbol"], f["amount"]) for f in cl["funding"]] == [("X-PERP", "-3.000000")]
    assert cl["opening_balance"] == "0.000000"  # the account was opened that day
    assert [(b["reason"], b["delta"]) for b in cl["balance_changes"]] == [
        ("deposit", "10000000.000000")
    ]
    assert cl["balance"] == "10000013.482500"  # + 20 - 3 - 3.5175
    assert [(p["instrument"], p["size"], p["entry_price"]) for p in cl["positions"]] == [
        ("X-PERP", "3", "1005")
    ]
    assert cl["reconciled"] is True
    [mm] = await daily_statements(str(path), DAY1, "MM-1")
    # the "mm" tier's maker rebate: 0.01 % of 2000, 2020 and 3015 USD
    assert [t["fee"] for t in mm["trades"]] == ["-0.200000", "-0.202000", "-0.301500"]
    assert [t["liquidity"] for t in mm["trades"]] == ["maker"] * 3
    assert mm["reconciled"] is True
    assert cl["cut_off_time"].startswith("2026-05-28T")


async def test_daily_statement_day_two_settlement_and_withdrawal(tmp_path: Path) -> None:
    m, path = await build(tmp_path)
    statements = await daily_statements(str(path), DAY2)
    by = {s["account"]: s for s in statements}
    assert set(by) == {"MM-1", "CL-1", "CL-2"}
    cl1 = by["CL-1"]
    assert cl1["trades"] == [] and cl1["funding"] == []
    assert cl1["opening_balance"] == "10000013.482500"
    assert [(b["reason"], b["delta"], b["operator"]) for b in cl1["balance_changes"]] == [
        ("withdrawal", "-100.000000", "ops")
    ]
    cl2 = by["CL-2"]
    # bought 1 X-FUT @ 990 (taker 0.495 USD), settled at 1000: +10 USD
    assert [t["fee"] for t in cl2["trades"]] == ["0.495000"]
    assert [(s["symbol"], s["qty"], s["price"], s["realized_pnl"]) for s in cl2["settlements"]] == [
        ("X-FUT", 1, 1000, 10 * USD)
    ]
    assert [b["reason"] for b in cl2["balance_changes"]] == ["settlement"]
    assert cl2["positions"] == []
    assert all(s["reconciled"] for s in statements)
    # engine's balances at the end of the journal are the statements' closing balances
    for name, s in by.items():
        view = m.engine.account_view(name)
        assert view is not None
        assert s["balance"] == f"{view.balance // USD}.{view.balance % USD:06d}"


async def test_liquidation_and_adl_appear_and_reconcile(tmp_path: Path) -> None:
    tiers = [MarginTier(0, 50_000_000), MarginTier(50_000 * USD, 100_000_000)]
    x = instrument("X-PERP", band_ppb=900_000_000, imr_ppb=100_000_000, mm_tiers=tiers)
    m = Market(
        {"L": ["L"], "S": ["S"], "B": ["B"]},
        [x],
        balances={"L": 2_000, "S": 1_000_000, "B": 1_000_000},
        leverage=20,
    )
    m.order("S", SELL, 1000, 10)
    m.order("L", BUY, 1000, 10, tif=TimeInForce.IOC)
    m.order("B", BUY, 850, 4)
    m.order("B", BUY, 700, 10)
    m.do(SetMarkPrice(symbol="X-PERP", price=790))
    m.do(Liquidate(account="L"))
    path = tmp_path / "venue.db"
    await m.write_journal(path)
    by = {s["account"]: s for s in await daily_statements(str(path), DAY1)}
    events = [li["event"] for li in by["L"]["liquidations"]]
    assert events[0] == "LiquidationStarted" and events[-1] == "LiquidationCompleted"
    assert [(a["role"], a["qty"], a["price"]) for a in by["L"]["adl"]] == [("liquidated", 6, 767)]
    assert [(a["role"], a["side"]) for a in by["S"]["adl"]] == [("counterparty", "BUY")]
    adl_fill = [t for t in by["S"]["trades"] if t["liquidity"] == "adl"]
    assert [t["realized_pnl"] for t in adl_fill] == [f"{6 * 233}.000000"]
    assert all(s["reconciled"] for s in by.values()), {k: v["reconciled"] for k, v in by.items()}
    _, trades = await trade_report(str(path), 0, 1 << 62)
    assert [t.kind for t in trades] == ["book", "book", "adl"]


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venue", *args],
        check=False,
        capture_output=True,
        text=True,
        cwd=REPO,
        timeout=60,
    )


def test_venue_report_cli_daily_csv_json_and_trades(tmp_path: Path) -> None:
    m, path = asyncio.run(build(tmp_path))
    out = run_cli("report", "daily", "--db", str(path), "--date", DAY1, "--format", "json")
    assert out.returncode == 0, out.stderr
    assert len(json.loads(out.stdout)) == 3
    again = run_cli("report", "daily", "--db", str(path), "--date", DAY1, "--format", "json")
    assert again.stdout == out.stdout  # deterministic
    out = run_cli("report", "daily", "--db", str(path), "--date", DAY1, "--format", "csv",
                  "--account", "CL-1")  # fmt: skip
    rows = list(csv.DictReader(io.StringIO(out.stdout)))
    assert [r["section"] for r in rows] == ["trade"] * 3 + [
        "funding",
        "balance",
        "position",
        "summary",
    ]
    out = run_cli("report", "trades", "--db", str(path), "--date", DAY1)
    assert out.returncode == 0, out.stderr
    trades = list(csv.DictReader(io.StringIO(out.stdout)))
    assert len(trades) == 3
    first = trades[0]
    assert first["buy_firm"] == "CL" and first["buy_account"] == "CL-1"
    assert first["sell_firm"] == "MM" and first["sell_account"] == "MM-1"
    assert first["aggressor_side"] == "BUY" and first["price"] == "1000"
    assert first["quantity"] == "2" and first["kind"] == "book"
    ts = m.rows[int(first["seq"]) - 1][1]
    assert ts % 10**9 // 1000 != 0  # a time with microseconds: they must show
    utc = datetime.fromtimestamp(ts // 10**9, UTC).strftime("%Y-%m-%dT%H:%M:%S")
    assert first["time_utc"] == f"{utc}.{ts % 10**9 // 1000:06d}Z"
    assert first["buy_order_id"] and first["sell_order_id"] and first["buy_cl_ord_id"]
    bad = run_cli("report", "daily", "--db", str(path), "--date", "28/05/2026")
    assert bad.returncode == 2 and "not a date" in bad.stderr
    missing = run_cli("report", "trades", "--db", str(tmp_path / "nope.db"), "--date", DAY1)
    assert missing.returncode == 4


@pytest.mark.parametrize("date", [DAY1, DAY2])
async def test_statements_of_all_accounts_reconcile(tmp_path: Path, date: str) -> None:
    _, path = await build(tmp_path)
    assert all(s["reconciled"] for s in await daily_statements(str(path), date))
