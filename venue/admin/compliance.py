"""`venue-admin surveillance ...` and `venue-admin report ...`: case handling of surveillance
alerts, and the compliance reports, in the CLI process.

    venue-admin surveillance alerts [--since TIME] [--pattern P] [--status open|closed] [--json]
    venue-admin surveillance show ID
    venue-admin surveillance close ID --note TEXT
    venue-admin report daily --date YYYY-MM-DD [--account A] [--format csv|json]
    venue-admin report trades --date YYYY-MM-DD | --from TIME --to TIME
    venue-admin report audit [--since TIME] [--until TIME]
    venue-admin report liabilities --seq N [--account A]

Invariants:
- These commands read the journal and the alerts file directly (like `journal verify` and
  `audit`), never through the venue's loop: a long report costs the venue nothing. The journal
  is opened read-only; only `surveillance close` writes, to the alerts file (never the journal).
- The alerts file is `--alerts`, else `surveillance.alerts_path` of `--config`, else
  `surveillance.db` beside the journal (`--db`, or the running venue's, or `--config`'s).
- A case is closed with the operator (OS user, plus `--operator`) and a note, kept with the
  alert (`surveillance show`).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import sys
import time
from pathlib import Path
from typing import Any

from venue.admin import render
from venue.admin.commands import _db_path
from venue.admin.context import EXIT_NOT_FOUND, EXIT_OK, EXIT_REFUSED, EXIT_USAGE, Ctx, Fail
from venue.admin.journaltools import parse_time
from venue.journal import JournalError
from venue.reports.audit import audit_export
from venue.reports.cli import EXIT_UNREADABLE as _REPORT_UNREADABLE
from venue.reports.cli import write_daily, write_trades
from venue.reports.liabilities import liabilities_at
from venue.surveillance import AlertStore, AlertStoreError

__all__ = ["register"]

_ALERT_COLS = ["alert_id", "pattern", "owner", "instrument", "from", "to", "score", "status"]


def _with_files(p: argparse.ArgumentParser, *, alerts: bool) -> argparse.ArgumentParser:
    p.add_argument("--db", help="journal database (default: the running venue's)")
    if alerts:
        p.add_argument("--alerts", help="the alerts file (default: beside the journal)")
    return p


def register(sub: Any) -> None:
    """Add the `surveillance` and `report` commands to the CLI's subparsers."""
    sv = sub.add_parser("surveillance", help="surveillance alerts and cases").add_subparsers(
        dest="surveillance_command", required=True
    )
    sp = _with_files(sv.add_parser("alerts", help="list alerts"), alerts=True)
    sp.add_argument("--since", help="ISO-8601 UTC time: alerts whose range ends at or after it")
    sp.add_argument("--pattern", help="wash_trade, spoofing, quote_stuffing, marking_the_close")
    sp.add_argument("--status", choices=["open", "closed"])
    sp.set_defaults(func=cmd_alerts)
    sp = _with_files(sv.add_parser("show", help="one alert, evidence, case notes"), alerts=True)
    sp.add_argument("alert_id")
    sp.set_defaults(func=cmd_show)
    sp = _with_files(sv.add_parser("close", help="close an alert's case"), alerts=True)
    sp.add_argument("alert_id")
    sp.add_argument("--note", required=True, help="why (kept with the case)")
    sp.set_defaults(func=cmd_close)

    rp = sub.add_parser("report", help="compliance reports from the journal").add_subparsers(
        dest="report_command", required=True
    )
    sp = _with_files(rp.add_parser("daily", help="account statements, UTC day"), alerts=False)
    sp.add_argument("--date", required=True, help="YYYY-MM-DD (UTC)")
    sp.add_argument("--account", help="one account (default: every account)")
    sp.add_argument("--format", choices=["csv", "json"], default="json")
    sp.set_defaults(func=cmd_daily)
    sp = _with_files(rp.add_parser("trades", help="trade report export (CSV)"), alerts=False)
    sp.add_argument("--date", help="YYYY-MM-DD (UTC): that day's trades")
    sp.add_argument("--from", dest="from_", help="ISO-8601 UTC time (inclusive)")
    sp.add_argument("--to", help="ISO-8601 UTC time (exclusive)")
    sp.set_defaults(func=cmd_trades)
    sp = _with_files(rp.add_parser("audit", help="admin actions, hashed (CSV)"), alerts=False)
    sp.add_argument("--since", help="ISO-8601 UTC time")
    sp.add_argument("--until", help="ISO-8601 UTC time")
    sp.set_defaults(func=cmd_audit_export)
    sp = _with_files(rp.add_parser("liabilities", help="proof of liabilities"), alerts=False)
    sp.add_argument("--seq", type=int, required=True, help="journal seq (0: the last)")
    sp.add_argument("--account", help="this account's inclusion proof")
    sp.set_defaults(func=cmd_liabilities)


# -- surveillance ------------------------------------------------------------------------------


def _alerts_path(ctx: Ctx) -> str:
    if ctx.args.alerts:
        return str(ctx.args.alerts)
    cfg = ctx.config()
    if cfg is not None and cfg.surveillance.alerts_path:
        return cfg.surveillance.alerts_path
    return str(Path(_db_path(ctx)).parent / "surveillance.db")


def _store(ctx: Ctx) -> AlertStore:
    try:
        return AlertStore.open(_alerts_path(ctx), create=False)
    except AlertStoreError as exc:
        raise Fail(EXIT_NOT_FOUND, str(exc)) from None


def _alert_row(a: dict[str, Any]) -> list[object]:
    return [
        a["alert_id"],
        a["pattern"],
        a["owner"],
        a["instrument"],
        render.ts_text(a["ts_from"]),
        render.ts_text(a["ts_to"]),
        a["score"],
        a["status"],
    ]


def cmd_alerts(ctx: Ctx) -> int:
    a = ctx.args
    try:
        since = parse_time(a.since)
    except ValueError as exc:
        raise Fail(EXIT_USAGE, str(exc)) from None
    store = _store(ctx)
    try:
        rows = store.alerts(since_ns=since, pattern=a.pattern, status=a.status)
    finally:
        store.close()
    ctx.out(rows, lambda rs: render.print_table("alerts", _ALERT_COLS, map(_alert_row, rs)))
    return EXIT_OK


def _show_alert(a: dict[str, Any]) -> None:
    pairs = [(k, render.ts_text(v) if k.startswith("ts_") else v) for k, v in a.items()]
    render.print_kv(f"alert {a['alert_id']}", [(k, v) for k, v in pairs if k != "notes"])
    for n in a["notes"]:
        render.emit(f"{render.ts_text(n['ts'])} {n['operator']} {n['action']}: {n['note']}")


def cmd_show(ctx: Ctx) -> int:
    store = _store(ctx)
    try:
        alert = store.show(ctx.args.alert_id)
    except AlertStoreError as exc:
        raise Fail(EXIT_NOT_FOUND, str(exc)) from None
    finally:
        store.close()
    ctx.out(alert, _show_alert)
    return EXIT_OK


def cmd_close(ctx: Ctx) -> int:
    user = getpass.getuser()
    operator = f"{user}/{ctx.args.operator}" if ctx.args.operator else user
    store = _store(ctx)
    try:
        alert = store.close_case(
            ctx.args.alert_id, operator=operator, note=ctx.args.note, ts=time.time_ns()
        )
    except AlertStoreError as exc:
        code = EXIT_NOT_FOUND if "unknown" in str(exc) else EXIT_REFUSED
        raise Fail(code, str(exc)) from None
    finally:
        store.close()
    ctx.out(alert, _show_alert)
    return EXIT_OK


# -- reports -----------------------------------------------------------------------------------


def _run_report(coro: Any) -> Any:
    try:
        return asyncio.run(coro)
    except (OSError, JournalError) as exc:
        raise Fail(_REPORT_UNREADABLE, f"cannot read the journal: {exc}") from None
    except ValueError as exc:
        raise Fail(EXIT_USAGE, str(exc)) from None


def cmd_daily(ctx: Ctx) -> int:
    a = ctx.args
    _run_report(write_daily(_db_path(ctx), a.date, a.account, a.format, sys.stdout))
    return EXIT_OK


def cmd_trades(ctx: Ctx) -> int:
    a = ctx.args
    _run_report(write_trades(_db_path(ctx), a.date, a.from_, a.to, sys.stdout))
    return EXIT_OK


def cmd_audit_export(ctx: Ctx) -> int:
    a = ctx.args
    try:
        since, until = parse_time(a.since), parse_time(a.until)
    except ValueError as exc:
        raise Fail(EXIT_USAGE, str(exc)) from None
    _run_report(audit_export(_db_path(ctx), sys.stdout, since_ns=since, until_ns=until))
    return EXIT_OK


def cmd_liabilities(ctx: Ctx) -> int:
    a = ctx.args
    result = _run_report(liabilities_at(_db_path(ctx), a.seq, a.account))
    if result is None:
        raise Fail(EXIT_NOT_FOUND, f"unknown account {a.account!r} at that seq")
    ctx.out(result, lambda r: render.print_kv("proof of liabilities", r.items()))
    return EXIT_OK
