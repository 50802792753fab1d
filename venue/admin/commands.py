"""The `venue-admin` commands: each takes the `Ctx` and returns an exit status (or raises Fail).

Invariants: commands change venue state only through the admin socket; `--json` prints the
venue's answer unchanged (one document); session files and the journal are read or written
here only by `session add`/`rotate-key` (`venue.admin.sessionfiles`) and `journal verify`/
`audit` (`venue.admin.journaltools`).
"""

from __future__ import annotations

import asyncio
import getpass
import sys
import time
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

from venue import display
from venue.admin import render, tables
from venue.admin.context import (
    EXIT_DIVERGED,
    EXIT_FORBIDDEN,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Ctx,
    Fail,
    done,
    request,
    result,
)
from venue.admin.journaltools import AuditFilter, parse_time, read_audit, verify_journal
from venue.admin.sessionfiles import SessionFileError, add_session, rotate_key
from venue.config import VenueConfig
from venue.journal import JournalError

# -- status and sessions -----------------------------------------------------------------------


def _show_status(s: dict[str, Any]) -> None:
    if "journal" in s:
        _show_venue(s)
    rep = s.get("replication")
    if rep:
        holder = rep.get("lease_holder") or {}
        render.print_kv(
            "replication",
            [
                ("node / role", f"{rep['node']} / {rep['role']}"),
                ("lease holder", f"{holder.get('node') or '-'} (epoch {holder.get('epoch')})"),
                ("stream seq", rep.get("stream_seq", "-")),
                ("replication lag", rep.get("replication_lag", "-")),
                ("waiting for quorum", "yes" if rep.get("waiting_for_quorum") else "no"),
                ("error", rep.get("error") or "-"),
            ],
        )


def _show_venue(s: dict[str, Any]) -> None:
    j = s["journal"]
    fund = s.get("insurance_fund")
    render.print_kv(
        "venue",
        [
            ("pid", s["pid"]),
            ("started", render.ts_text(s["started_ns"])),
            ("uptime", render.duration(s["uptime_ns"])),
            ("journal", j["path"]),
            ("last seq / committed", f"{j['last_seq']} / {j['committed_seq']}"),
            ("commit wait (now)", render.duration(j["commit_wait_ns"])),
            ("last admin action commit", render.duration(j["last_action_commit_ns"])),
            ("journal failed", j["failed"] or "no"),
            ("journal history check", _history_text(j.get("history_check"))),
            (
                "sessions logged on",
                f"{len(s['sessions']['logged_on'])} of "
                f"{s['sessions']['configured']}: {', '.join(s['sessions']['logged_on']) or '-'}",
            ),
            ("insurance fund", display.money(fund["usd"]) if fund else "-"),
        ],
    )
    _show_instruments(s["instruments"])


def _history_text(h: dict[str, Any] | None) -> str:
    """The background chain check of the rows before the newest snapshot."""
    if not h:
        return "-"
    if h["state"] in ("damaged", "failed"):
        return f"{str(h['state']).upper()}: {h['detail']}"
    return f"{h['state']} (rows 1..{h['until_seq']}, {h['rows_checked']} checked)"


def cmd_status(ctx: Ctx) -> int:
    ctx.out(ctx.call("status"), _show_status)
    return EXIT_OK


def cmd_failover(ctx: Ctx) -> int:
    """Hand over to the standby: this primary commits and publishes what it has, releases the
    lease and follows as a standby; the standby promotes."""
    ctx.confirm("failover")
    ctx.out(ctx.call("failover"), lambda r: print(f"stepping down: {r['stepping_down']}"))
    return EXIT_OK


_SESSION_COLS = [
    "name",
    "role",
    "firm",
    "state",
    "enabled",
    "peer",
    "next_in",
    "next_out",
    "last_in",
    "last_out",
    "msgs_in",
    "msgs_out",
    "throttle_hits",
    "logons",
]


def _session_row(s: dict[str, Any]) -> list[object]:
    return [
        s["name"],
        s.get("role"),
        s.get("firm"),
        s["state"],
        s.get("enabled"),
        s["peer"],
        s["next_in"],
        s["next_out"],
        render.ts_text(s["last_in_ns"]),
        render.ts_text(s["last_out_ns"]),
        s["messages_in"],
        s["messages_out"],
        s["throttle_hits"],
        _refusing(s),
    ]


def _refusing(s: dict[str, Any]) -> str:
    """Why the session's Logons are refused now, if they are: a lock-out or a cool-down, and
    until when (UTC time of day; `session show` and --json give the full time)."""
    for key, what in (("locked_until_ns", "locked"), ("cooldown_until_ns", "cool-down")):
        if s.get(key):
            return f"{what} until {render.ts_text(s[key])[11:19]}Z"
    return "-"


def cmd_sessions(ctx: Ctx) -> int:
    ctx.out(
        ctx.call("sessions"),
        lambda rows: render.print_table("sessions", _SESSION_COLS, map(_session_row, rows)),
    )
    return EXIT_OK


def cmd_session_show(ctx: Ctx) -> int:
    ctx.out(
        ctx.call("session.show", name=ctx.args.name),
        lambda d: render.print_kv(
            f"session {d['name']}",
            [(k, render.ts_text(v) if k.endswith("_ns") else v) for k, v in d.items()],
        ),
    )
    return EXIT_OK


def _session_action(op: str, verb: str, destructive: bool) -> Callable[[Ctx], int]:
    def run(ctx: Ctx) -> int:
        if destructive:
            ctx.confirm(f"{verb} session {ctx.args.name}")
        ctx.out(ctx.call(op, name=ctx.args.name), _session_done)
        return EXIT_OK

    return run


def _session_done(value: dict[str, Any]) -> None:
    """What happened, in words (`result`, the gateway's raw answer, is for --json)."""
    render.print_kv("done", [(k, v) for k, v in value.items() if k != "result"])


def cmd_session_set_seq(ctx: Ctx) -> int:
    a = ctx.args
    if a.next_in is None and a.next_out is None:
        raise Fail(EXIT_USAGE, "give --next-in, --next-out or both")
    ctx.confirm(f"set the sequence numbers of session {a.name}")
    ctx.out(
        ctx.call(
            "session.set_seq", name=a.name, next_in=a.next_in, next_out=a.next_out, force=a.force
        ),
        _session_done,
    )
    return EXIT_OK


def _sessions_dir(ctx: Ctx) -> tuple[Path, VenueConfig | None]:
    if ctx.args.sessions_dir:
        return Path(ctx.args.sessions_dir), ctx.config()
    cfg = ctx.config(required=True)
    assert cfg is not None
    if cfg.gateway.sessions_dir is None:
        raise Fail(EXIT_USAGE, f"{cfg.source}: gateway.sessions_dir is not set")
    d = Path(cfg.gateway.sessions_dir)
    return (d if d.is_absolute() else Path(cfg.source).parent / d), cfg


def _password(ctx: Ctx) -> str:
    if ctx.args.password_stdin:
        return sys.stdin.readline().rstrip("\n")
    if not sys.stdin.isatty():
        raise Fail(EXIT_USAGE, "no terminal to ask for the password: use --password-stdin")
    first = getpass.getpass("password: ")
    if first != getpass.getpass("again: "):
        raise Fail(EXIT_USAGE, "the passwords differ")
    return first


def _operator(ctx: Ctx) -> str:
    user = getpass.getuser()
    return f"{user}/{ctx.args.operator}" if ctx.args.operator else user


def cmd_session_add(ctx: Ctx) -> int:
    a = ctx.args
    directory, cfg = _sessions_dir(ctx)
    accounts = [x for x in (a.accounts or "").split(",") if x]
    try:
        written = add_session(
            directory,
            a.name,
            role=a.role,
            firm=a.firm,
            accounts=accounts,
            venue_comp_id=a.venue_comp_id,
            client_comp_id=a.client_comp_id or a.name,
            allowed_addresses=a.allow or ["127.0.0.0/8", "::1/128"],
            auth_method=a.auth,
            key_out=Path(a.key_out) if a.key_out else None,
            password=_password(ctx) if a.auth == "password" else None,
            venue=cfg,
            operator=_operator(ctx),
        )
    except SessionFileError as exc:
        raise Fail(EXIT_REFUSED, str(exc)) from None
    written["note"] = "restart the venue to load the new session"
    ctx.out(written, done)
    return EXIT_OK


def cmd_session_rotate_key(ctx: Ctx) -> int:
    directory, cfg = _sessions_dir(ctx)
    ctx.confirm(f"replace the key of session {ctx.args.name}")
    try:
        written = rotate_key(directory, ctx.args.name, key_out=Path(ctx.args.key_out), venue=cfg)
    except SessionFileError as exc:
        raise Fail(EXIT_REFUSED, str(exc)) from None
    written["note"] = f"apply it with `venue-admin session reload {ctx.args.name}` (or a restart)"
    ctx.out(written, done)
    return EXIT_OK


# -- trading controls ---------------------------------------------------------------------------


def cmd_cancel_all(ctx: Ctx) -> int:
    a = ctx.args
    filters = {"session": a.session, "account": a.account, "firm": a.firm, "symbol": a.instrument}
    given = {k: v for k, v in filters.items() if v is not None}
    if not given and not a.all:
        raise Fail(EXIT_USAGE, "name --session, --account, --firm or --instrument (or --all)")
    what = ", ".join(f"{k}={v}" for k, v in given.items()) or "EVERY order of every firm"
    ctx.confirm(f"cancel all orders ({what})")
    ctx.out(ctx.call("cancel_all", **given), done)
    return EXIT_OK


_show_instruments = tables.show_instruments


def cmd_instrument_list(ctx: Ctx) -> int:
    ctx.out(ctx.call("instrument.list"), _show_instruments)
    return EXIT_OK


def _at_tick(value: str | None, tick_size: str) -> str:
    """A price at the instrument's tick precision (tick 0.5: "60005.0"), "-" when absent."""
    if value is None:
        return "-"
    exp = Decimal(tick_size).normalize().as_tuple().exponent
    places = -exp if isinstance(exp, int) and exp < 0 else 0
    return f"{Decimal(value):.{places}f}"


def _percent(rate: str | None) -> str:
    """A rate (decimal fraction) in percent, exactly ("0.0001" -> "0.01 %")."""
    if rate is None:
        return "-"
    return f"{(Decimal(rate) * 100).normalize():f} %"


def _show_instrument(f: dict[str, Any]) -> None:
    tick = f["tick_size"]
    render.print_kv(
        f["symbol"],
        [
            ("kind", f["kind"]),
            ("state", f["state"]),
            ("mark price", f"{_at_tick(f['mark_price'], tick)} ({f['mark_source']})"),
            ("index price", _at_tick(f["index_price"], tick)),
            ("premium (mark - index)", _at_tick(f["premium"], tick)),
            ("funding rate (last)", _percent(f["funding_rate"])),
            ("funded at", render.ts_text(f["funding_time_ns"])),
            ("predicted funding rate", _percent(f["predicted_funding_rate"])),
            ("next funding", render.ts_text(f["next_funding_time_ns"])),
            ("open interest", f"{f['open_interest']} ({f['units']['open_interest_lots']} lots)"),
        ],
    )


def cmd_instrument_show(ctx: Ctx) -> int:
    ctx.out(ctx.call("instrument.show", symbol=ctx.args.symbol), _show_instrument)
    return EXIT_OK


def cmd_instrument_halt(ctx: Ctx) -> int:
    ctx.confirm(f"halt {ctx.args.symbol}")
    ctx.out(ctx.call("instrument.halt", symbol=ctx.args.symbol), done)
    return EXIT_OK


def cmd_instrument_add_options(ctx: Ctx) -> int:
    a = ctx.args
    strikes = [s.strip() for s in a.strikes.split(",") if s.strip()]
    args = {"underlying": a.underlying, "expiry": a.expiry, "strikes": strikes}
    ctx.out(ctx.call("instrument.add_options", **args), done)
    return EXIT_OK


def cmd_options_set_iv(ctx: Ctx) -> int:
    ctx.out(ctx.call("options.set_iv", symbol=ctx.args.symbol, iv=ctx.args.iv), done)
    return EXIT_OK


def cmd_instrument_resume(ctx: Ctx) -> int:
    ctx.out(ctx.call("instrument.resume", symbol=ctx.args.symbol), done)
    return EXIT_OK


def cmd_index_set(ctx: Ctx) -> int:
    ctx.out(ctx.call("index.set", symbol=ctx.args.symbol, price=ctx.args.price), done)
    return EXIT_OK


def cmd_account_list(ctx: Ctx) -> int:
    ctx.out(ctx.call("account.list"), lambda rows: tables.show_accounts("accounts", rows))
    return EXIT_OK


def cmd_account_show(ctx: Ctx) -> int:
    ctx.out(ctx.call("account.show", account=ctx.args.account), tables.show_account)
    return EXIT_OK


def cmd_account_deposit(ctx: Ctx) -> int:
    a = ctx.args
    ctx.out(ctx.call("account.deposit", account=a.account, amount=a.amount), done)
    return EXIT_OK


def cmd_account_withdraw(ctx: Ctx) -> int:
    a = ctx.args
    to = {"to": a.to} if a.to else {}
    ctx.confirm(f"withdraw {a.amount} USD from {a.account}" + (f" to {a.to}" if a.to else ""))
    ctx.out(ctx.call("account.withdraw", account=a.account, amount=a.amount, **to), done)
    return EXIT_OK


def cmd_account_margin_mode(ctx: Ctx) -> int:
    a = ctx.args
    ctx.out(ctx.call("account.margin_mode", account=a.account, symbol=a.symbol, mode=a.mode), done)
    return EXIT_OK


def cmd_account_isolated_margin(ctx: Ctx) -> int:
    a = ctx.args
    answer = ctx.call(
        "account.isolated_margin", account=a.account, symbol=a.symbol, amount=a.amount
    )
    ctx.out(answer, done)
    return EXIT_OK


def cmd_positions(ctx: Ctx) -> int:
    rows = ctx.call("positions", account=ctx.args.account, symbol=ctx.args.instrument)
    ctx.out(rows, tables.show_positions)
    return EXIT_OK


def cmd_orders(ctx: Ctx) -> int:
    a = ctx.args
    rows = ctx.call(
        "orders",
        firm=a.firm,
        account=a.account,
        session=a.session,
        symbol=a.instrument,
        limit=a.limit,
    )
    ctx.out(rows, tables.show_orders)
    return EXIT_OK


def cmd_book(ctx: Ctx) -> int:
    a = ctx.args
    ctx.out(ctx.call("book", symbol=a.symbol, depth=a.depth, firm=a.firm), tables.show_book)
    return EXIT_OK


def cmd_trades(ctx: Ctx) -> int:
    a = ctx.args
    rows = ctx.call("trades", account=a.account, symbol=a.instrument, limit=a.limit)
    ctx.out(rows, tables.show_trades)
    return EXIT_OK


def cmd_insurance_fund(ctx: Ctx) -> int:
    ctx.out(
        ctx.call("insurance_fund"),
        lambda f: render.print_kv("insurance fund", [("balance", display.money(f["usd"]))]),
    )
    return EXIT_OK


def cmd_snapshot_now(ctx: Ctx) -> int:
    ctx.out(ctx.call("snapshot.now"), done)
    return EXIT_OK


# -- journal ------------------------------------------------------------------------------------


def _db_path(ctx: Ctx) -> str:
    if ctx.args.db:
        return str(ctx.args.db)
    try:
        with ctx.client() as client:
            response = request(client, "status")
        if response.ok:
            return str(response.result["journal"]["path"])
    except Fail as exc:
        if exc.code == EXIT_FORBIDDEN or not ctx.args.config:
            raise
    cfg = ctx.config(required=True)
    assert cfg is not None
    return cfg.journal.path


def cmd_journal_verify(ctx: Ctx) -> int:
    ok, result = asyncio.run(verify_journal(_db_path(ctx)))
    if ctx.json:
        render.print_json(result)
    elif ok:
        render.print_kv("journal verify: OK", result.items())
    if not ok:
        raise Fail(EXIT_DIVERGED, str(result["error"]))
    return EXIT_OK


def cmd_audit(ctx: Ctx) -> int:
    a = ctx.args
    try:
        flt = AuditFilter(
            operator=a.by,
            action=a.action,
            since_ns=parse_time(a.since),
            until_ns=parse_time(a.until),
        )
    except ValueError as exc:
        raise Fail(EXIT_USAGE, str(exc)) from None
    try:
        rows = asyncio.run(read_audit(_db_path(ctx), flt))
    except (OSError, JournalError) as exc:
        raise Fail(EXIT_UNAVAILABLE, f"cannot read the journal: {exc}") from None
    cols = ["seq", "time", "operator", "action", "detail"]
    ctx.out(
        rows,
        lambda rs: render.print_table(
            "admin actions",
            cols,
            [
                [r["seq"], render.ts_text(r["ts"]), r["operator"], r["action"], r["detail"]]
                for r in rs
            ],
        ),
    )
    return EXIT_OK


# -- top ------------------------------------------------------------------------------------------


def cmd_top(ctx: Ctx) -> int:
    from venue.admin.top import run_top  # noqa: PLC0415 -- only this command needs it

    with ctx.client() as client:
        return run_top(
            lambda: result(request(client, "top")),
            iterations=ctx.args.iterations,
            interval=ctx.args.interval,
            as_json=ctx.json,
            sleep=time.sleep,
        )
