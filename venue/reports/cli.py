"""`venue report ...`: the compliance reports over a journal file, read-only.

    venue report daily --db JOURNAL --date YYYY-MM-DD [--account A] [--format csv|json]
    venue report trades --db JOURNAL (--date YYYY-MM-DD | --from TIME --to TIME)
    venue report audit --db JOURNAL [--since TIME] [--until TIME]
    venue report liabilities --db JOURNAL --seq N [--account A]

The same reports come from `venue-admin report ...` (which finds the journal itself).
Exit status: 0 done, 2 usage (a bad date or time, an unknown account), 4 the journal cannot be
read.

Invariants: read only; every report is a deterministic function of the journal (and the
arguments), so it can be produced again later and compared.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TextIO

from venue.journal import JournalError
from venue.reports.audit import audit_export
from venue.reports.format import day_bounds
from venue.reports.liabilities import liabilities_at
from venue.reports.statements import daily_statements, statement_rows
from venue.reports.trades import trade_report, write_trade_csv

__all__ = ["EXIT_UNREADABLE", "main", "parse_utc", "write_daily", "write_trades"]

EXIT_USAGE = 2
EXIT_UNREADABLE = 4


def parse_utc(text: str) -> int:
    """ISO-8601 (UTC when no offset is given) to integer nanoseconds; raises ValueError."""
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


async def write_daily(path: str, date: str, account: str | None, fmt: str, out: TextIO) -> None:
    statements = await daily_statements(path, date, account)
    if fmt == "json":
        out.write(json.dumps(statements, indent=1, sort_keys=True) + "\n")
        return
    columns, rows = statement_rows(statements)
    w = csv.writer(out, lineterminator="\n")
    w.writerow(columns)
    w.writerows(rows)


async def write_trades(
    path: str, date: str | None, start: str | None, end: str | None, out: TextIO
) -> None:
    if date is not None:
        lo, hi = day_bounds(date)
    elif start is not None and end is not None:
        lo, hi = parse_utc(start), parse_utc(end)
    else:
        raise ValueError("give --date, or --from and --to")
    ledger, trades = await trade_report(path, lo, hi)
    write_trade_csv(ledger, trades, out)


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="venue report", description="Compliance reports.")
    sub = p.add_subparsers(dest="report", required=True)
    d = sub.add_parser("daily", help="account statements for a UTC day")
    d.add_argument("--date", required=True)
    d.add_argument("--account")
    d.add_argument("--format", choices=["csv", "json"], default="json")
    t = sub.add_parser("trades", help="trade report export (CSV)")
    t.add_argument("--date")
    t.add_argument("--from", dest="from_")
    t.add_argument("--to")
    a = sub.add_parser("audit", help="admin actions with hashes (CSV)")
    a.add_argument("--since")
    a.add_argument("--until")
    li = sub.add_parser("liabilities", help="proof of liabilities (JSON)")
    li.add_argument("--seq", type=int, required=True)
    li.add_argument("--account")
    for s in (d, t, a, li):
        s.add_argument("--db", required=True, help="the journal database (read only)")
    args = p.parse_args(list(argv))
    out = sys.stdout
    try:
        if args.report == "daily":
            asyncio.run(write_daily(args.db, args.date, args.account, args.format, out))
        elif args.report == "trades":
            asyncio.run(write_trades(args.db, args.date, args.from_, args.to, out))
        elif args.report == "audit":
            since = parse_utc(args.since) if args.since else None
            until = parse_utc(args.until) if args.until else None
            asyncio.run(audit_export(args.db, out, since_ns=since, until_ns=until))
        else:
            result = asyncio.run(liabilities_at(args.db, args.seq, args.account))
            if result is None:
                print(f"venue report: unknown account {args.account!r}", file=sys.stderr)
                return EXIT_USAGE
            out.write(json.dumps(result, indent=1, sort_keys=True) + "\n")
    except ValueError as exc:
        print(f"venue report: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except JournalError as exc:
        print(f"venue report: journal: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    return 0
