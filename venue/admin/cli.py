"""`venue-admin`: operate a running venue over its admin socket.

    venue-admin [--socket PATH | --config venue.toml] [--json] [--yes] [--operator NAME] COMMAND

The socket is `--socket`, else `admin.socket` of `--config`, else `$VENUE_ADMIN_SOCKET`, else
the default `var/venue-admin.sock`. Tables on a terminal, `--json` for scripts (one JSON
document on stdout). Destructive actions (session logout/disconnect/disable/reset/set-seq/
rotate-key, cancel-all, instrument halt, account withdraw) ask for confirmation on a terminal
and need `--yes` otherwise: without a terminal nothing ever prompts.

Exit status:
    0  done
    1  internal error (a bug in the venue or the CLI; see the venue log)
    2  usage: bad command line or arguments (also: arguments the venue finds malformed)
    3  not found: unknown session, instrument or account
    4  refused: the venue's state forbids it (logged-on session, halt of a halted instrument,
       withdrawal under margin, ...)
    5  unavailable: no venue on the socket, no answer, journal failed, feature not available
    6  forbidden: this user may not use the socket
    7  not confirmed: a destructive action without --yes (or answered "no")
    8  journal verify found a divergence or an unreadable journal

Every state-changing command is journaled by the venue with the operator: the OS user of this
process, plus `--operator NAME` when given (`root/alice`). `session add`, `session rotate-key`
and `journal verify`/`audit` work on files and need no running venue (`audit` and `verify` read
the journal path from the venue when it runs, else from `--config` or `--db`).

Invariants: nothing here changes venue state except through the socket; `--json` output is
machine-readable and stable; failures end with one line on stderr and the exit status above.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import os
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from venue.admin import render
from venue.admin.client import AdminClient, AdminForbidden, AdminUnavailable
from venue.admin.journaltools import AuditFilter, parse_time, read_audit, verify_journal
from venue.admin.protocol import ErrorCode, Response
from venue.admin.sessionfiles import SessionFileError, add_session, rotate_key
from venue.config import ConfigError, VenueConfig, load_config
from venue.journal import JournalError

EXIT_OK = 0
EXIT_INTERNAL = 1
EXIT_USAGE = 2
EXIT_NOT_FOUND = 3
EXIT_REFUSED = 4
EXIT_UNAVAILABLE = 5
EXIT_FORBIDDEN = 6
EXIT_NOT_CONFIRMED = 7
EXIT_DIVERGED = 8

_EXIT_FOR = {
    ErrorCode.MALFORMED: EXIT_USAGE,
    ErrorCode.UNKNOWN_OP: EXIT_USAGE,
    ErrorCode.BAD_ARGS: EXIT_USAGE,
    ErrorCode.NOT_FOUND: EXIT_NOT_FOUND,
    ErrorCode.REFUSED: EXIT_REFUSED,
    ErrorCode.UNAVAILABLE: EXIT_UNAVAILABLE,
    ErrorCode.FORBIDDEN: EXIT_FORBIDDEN,
    ErrorCode.INTERNAL: EXIT_INTERNAL,
}
DEFAULT_SOCKET = "var/venue-admin.sock"


class Fail(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code


# -- context ------------------------------------------------------------------------------------


class Ctx:
    def __init__(self, args: argparse.Namespace) -> None:
        self.args = args
        self.json: bool = args.json
        self._config: VenueConfig | None = None

    def config(self, required: bool = False) -> VenueConfig | None:
        if self._config is None and self.args.config:
            try:
                self._config = load_config(self.args.config)
            except ConfigError as exc:
                raise Fail(EXIT_USAGE, f"configuration: {exc}") from None
        if self._config is None and required:
            raise Fail(EXIT_USAGE, "this command needs --config venue.toml")
        return self._config

    def socket_path(self) -> str:
        if self.args.socket:
            return str(self.args.socket)
        cfg = self.config()
        if cfg is not None:
            return cfg.admin.socket
        return os.environ.get("VENUE_ADMIN_SOCKET", DEFAULT_SOCKET)

    def client(self) -> AdminClient:
        try:
            return AdminClient(
                self.socket_path(), timeout=self.args.timeout, operator=self.args.operator or ""
            )
        except AdminForbidden as exc:
            raise Fail(EXIT_FORBIDDEN, str(exc)) from None
        except AdminUnavailable as exc:
            raise Fail(EXIT_UNAVAILABLE, str(exc)) from None

    def call(self, op: str, **args: Any) -> Any:
        with self.client() as client:
            return _result(_request(client, op, **args))

    def confirm(self, what: str) -> None:
        if self.args.yes:
            return
        if not (sys.stdin.isatty() and sys.stderr.isatty()):
            raise Fail(EXIT_NOT_CONFIRMED, f"{what}: destructive; add --yes to confirm")
        sys.stderr.write(f"{what}? [y/N] ")
        sys.stderr.flush()
        if sys.stdin.readline().strip().lower() not in ("y", "yes"):
            raise Fail(EXIT_NOT_CONFIRMED, f"{what}: not confirmed")

    def out(self, value: Any, human: Callable[[Any], None]) -> None:
        if self.json:
            render.print_json(value)
        else:
            human(value)


def _request(client: AdminClient, op: str, **args: Any) -> Response:
    try:
        return client.request(op, **args)
    except AdminForbidden as exc:
        raise Fail(EXIT_FORBIDDEN, str(exc)) from None
    except AdminUnavailable as exc:
        raise Fail(EXIT_UNAVAILABLE, str(exc)) from None


def _result(response: Response) -> Any:
    if response.ok:
        return response.result
    err = response.error
    if err is None:
        raise Fail(EXIT_INTERNAL, "the venue answered neither a result nor an error")
    raise Fail(_EXIT_FOR.get(err.code, EXIT_INTERNAL), f"{err.code}: {err.message}")


def _done(value: Any) -> None:
    pairs = [(k, v) for k, v in value.items()] if isinstance(value, dict) else [("result", value)]
    render.print_kv("done", pairs)


# -- status and sessions -----------------------------------------------------------------------


def _show_status(s: dict[str, Any]) -> None:
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
            ("commit latency (last)", render.duration(j["last_commit_wait_ns"])),
            ("journal failed", j["failed"] or "no"),
            (
                "sessions logged on",
                f"{len(s['sessions']['logged_on'])} of "
                f"{s['sessions']['configured']}: {', '.join(s['sessions']['logged_on']) or '-'}",
            ),
            ("insurance fund", f"{fund['usd']} USD" if fund else "-"),
        ],
    )
    _show_instruments(s["instruments"])


def cmd_status(ctx: Ctx) -> int:
    ctx.out(ctx.call("status"), _show_status)
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
    ]


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
        ctx.out(ctx.call(op, name=ctx.args.name), _done)
        return EXIT_OK

    return run


def cmd_session_set_seq(ctx: Ctx) -> int:
    a = ctx.args
    if a.next_in is None and a.next_out is None:
        raise Fail(EXIT_USAGE, "give --next-in, --next-out or both")
    ctx.confirm(f"set the sequence numbers of session {a.name}")
    ctx.out(
        ctx.call(
            "session.set_seq", name=a.name, next_in=a.next_in, next_out=a.next_out, force=a.force
        ),
        _done,
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
    ctx.out(written, _done)
    return EXIT_OK


def cmd_session_rotate_key(ctx: Ctx) -> int:
    directory, cfg = _sessions_dir(ctx)
    ctx.confirm(f"replace the key of session {ctx.args.name}")
    try:
        written = rotate_key(directory, ctx.args.name, key_out=Path(ctx.args.key_out), venue=cfg)
    except SessionFileError as exc:
        raise Fail(EXIT_REFUSED, str(exc)) from None
    written["note"] = "the venue accepts the new key after its next restart"
    ctx.out(written, _done)
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
    ctx.out(ctx.call("cancel_all", **given), _done)
    return EXIT_OK


def _show_instruments(rows: list[dict[str, Any]]) -> None:
    cols = ["symbol", "kind", "state", "ref_price", "best_bid", "best_ask", "live_orders"]
    render.print_table("instruments", cols, [[r[c] for c in cols] for r in rows])


def cmd_instrument_list(ctx: Ctx) -> int:
    ctx.out(ctx.call("instrument.list"), _show_instruments)
    return EXIT_OK


def cmd_instrument_halt(ctx: Ctx) -> int:
    ctx.confirm(f"halt {ctx.args.symbol}")
    ctx.out(ctx.call("instrument.halt", symbol=ctx.args.symbol), _done)
    return EXIT_OK


def cmd_instrument_resume(ctx: Ctx) -> int:
    ctx.out(ctx.call("instrument.resume", symbol=ctx.args.symbol), _done)
    return EXIT_OK


def cmd_index_set(ctx: Ctx) -> int:
    ctx.out(ctx.call("index.set", symbol=ctx.args.symbol, price=ctx.args.price), _done)
    return EXIT_OK


def _show_rows(title: str) -> Callable[[Any], None]:
    def show(rows: Any) -> None:
        rows = rows if isinstance(rows, list) else [rows]
        if not rows:
            render.emit(f"{title}: none")
            return
        if not all(isinstance(r, dict) for r in rows):
            render.emit(f"{title}: {rows}")
            return
        cols = list(rows[0])
        render.print_table(title, cols, [[r.get(c) for c in cols] for r in rows])

    return show


def cmd_account_list(ctx: Ctx) -> int:
    ctx.out(ctx.call("account.list"), _show_rows("accounts"))
    return EXIT_OK


def cmd_account_show(ctx: Ctx) -> int:
    ctx.out(ctx.call("account.show", account=ctx.args.account), _show_rows("account"))
    return EXIT_OK


def cmd_account_deposit(ctx: Ctx) -> int:
    a = ctx.args
    ctx.out(ctx.call("account.deposit", account=a.account, amount=a.amount), _done)
    return EXIT_OK


def cmd_account_withdraw(ctx: Ctx) -> int:
    a = ctx.args
    ctx.confirm(f"withdraw {a.amount} USD from {a.account}")
    ctx.out(ctx.call("account.withdraw", account=a.account, amount=a.amount), _done)
    return EXIT_OK


def cmd_positions(ctx: Ctx) -> int:
    rows = ctx.call("positions", account=ctx.args.account, symbol=ctx.args.instrument)
    ctx.out(rows, _show_rows("positions"))
    return EXIT_OK


def cmd_insurance_fund(ctx: Ctx) -> int:
    ctx.out(ctx.call("insurance_fund"), lambda f: render.print_kv("insurance fund", f.items()))
    return EXIT_OK


def cmd_snapshot_now(ctx: Ctx) -> int:
    ctx.out(ctx.call("snapshot.now"), _done)
    return EXIT_OK


# -- journal ------------------------------------------------------------------------------------


def _db_path(ctx: Ctx) -> str:
    if ctx.args.db:
        return str(ctx.args.db)
    try:
        with ctx.client() as client:
            response = _request(client, "status")
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
            lambda: _result(_request(client, "top")),
            iterations=ctx.args.iterations,
            interval=ctx.args.interval,
            as_json=ctx.json,
            sleep=time.sleep,
        )


# -- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(prog="venue-admin", description="Operate a running venue.")
    p.add_argument(
        "--socket",
        help="the admin socket (default: from --config, "
        "$VENUE_ADMIN_SOCKET, or var/venue-admin.sock)",
    )
    p.add_argument("--config", help="venue.toml (socket, journal and sessions_dir)")
    p.add_argument("--json", action="store_true", help="JSON on stdout for scripts")
    p.add_argument("--yes", "-y", action="store_true", help="confirm destructive actions")
    p.add_argument("--operator", help="your name, recorded with the OS user")
    p.add_argument("--timeout", type=float, default=30.0, help="seconds to wait for the venue")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("status", help="uptime, journal, sessions, instruments").set_defaults(
        func=cmd_status
    )
    sub.add_parser("sessions", help="every session's state").set_defaults(func=cmd_sessions)

    sess = sub.add_parser("session", help="one session").add_subparsers(
        dest="session_command", required=True
    )
    sp = sess.add_parser("show", help="state and settings")
    sp.add_argument("name")
    sp.set_defaults(func=cmd_session_show)
    for verb, op, destructive in (
        ("logout", "session.logout", True),
        ("disconnect", "session.disconnect", True),
        ("enable", "session.enable", False),
        ("disable", "session.disable", True),
        ("reset", "session.reset", True),
    ):
        sp = sess.add_parser(verb, help=f"{verb} the session")
        sp.add_argument("name")
        sp.set_defaults(func=_session_action(op, verb, destructive))
    sp = sess.add_parser("set-seq", help="set next inbound/outbound sequence numbers")
    sp.add_argument("name")
    sp.add_argument("--next-in", type=int)
    sp.add_argument("--next-out", type=int)
    sp.add_argument("--force", action="store_true", help="even while the session is logged on")
    sp.set_defaults(func=cmd_session_set_seq)
    sp = sess.add_parser("add", help="write sessions/NAME.toml with new credentials")
    sp.add_argument("name")
    sp.add_argument("--role", required=True, choices=["trading", "dropcopy", "marketdata"])
    sp.add_argument("--firm", required=True)
    sp.add_argument("--accounts", help="comma-separated accounts of the firm")
    sp.add_argument("--auth", default="ed25519", choices=["ed25519", "password", "none"])
    sp.add_argument("--key-out", help="private key file to create (ed25519)")
    sp.add_argument("--password-stdin", action="store_true")
    sp.add_argument("--venue-comp-id", default="VENUE")
    sp.add_argument("--client-comp-id", help="default: the session name")
    sp.add_argument("--allow", action="append", help="allowed source network (repeatable)")
    sp.add_argument("--sessions-dir", help="default: gateway.sessions_dir of --config")
    sp.set_defaults(func=cmd_session_add)
    sp = sess.add_parser("rotate-key", help="new Ed25519 key pair for a session")
    sp.add_argument("name")
    sp.add_argument("--key-out", required=True, help="private key file to create")
    sp.add_argument("--sessions-dir", help="default: gateway.sessions_dir of --config")
    sp.set_defaults(func=cmd_session_rotate_key)

    sp = sub.add_parser("cancel-all", help="kill switch: cancel matching orders")
    for opt in ("--session", "--account", "--firm", "--instrument"):
        sp.add_argument(opt)
    sp.add_argument("--all", action="store_true", help="no filter: every order")
    sp.set_defaults(func=cmd_cancel_all)

    inst = sub.add_parser("instrument", help="instruments").add_subparsers(
        dest="instrument_command", required=True
    )
    inst.add_parser("list").set_defaults(func=cmd_instrument_list)
    for verb, fn in (("halt", cmd_instrument_halt), ("resume", cmd_instrument_resume)):
        sp = inst.add_parser(verb)
        sp.add_argument("symbol")
        sp.set_defaults(func=fn)
    idx = sub.add_parser("index", help="index prices").add_subparsers(
        dest="index_command", required=True
    )
    sp = idx.add_parser("set", help="set the index price of an instrument")
    sp.add_argument("symbol")
    sp.add_argument("price")
    sp.set_defaults(func=cmd_index_set)

    acc = sub.add_parser("account", help="accounts").add_subparsers(
        dest="account_command", required=True
    )
    acc.add_parser("list").set_defaults(func=cmd_account_list)
    sp = acc.add_parser("show")
    sp.add_argument("account")
    sp.set_defaults(func=cmd_account_show)
    for verb, fn in (("deposit", cmd_account_deposit), ("withdraw", cmd_account_withdraw)):
        sp = acc.add_parser(verb, help=f"{verb} an amount in USD")
        sp.add_argument("account")
        sp.add_argument("amount")
        sp.set_defaults(func=fn)
    sp = sub.add_parser("positions", help="open positions")
    sp.add_argument("--account")
    sp.add_argument("--instrument")
    sp.set_defaults(func=cmd_positions)
    sub.add_parser("insurance-fund").set_defaults(func=cmd_insurance_fund)

    jr = sub.add_parser("journal", help="journal tools").add_subparsers(
        dest="journal_command", required=True
    )
    sp = jr.add_parser("verify", help="replay the journal from empty and compare")
    sp.add_argument("--db", help="journal database (default: the running venue's)")
    sp.set_defaults(func=cmd_journal_verify)
    snap = sub.add_parser("snapshot", help="snapshots").add_subparsers(
        dest="snapshot_command", required=True
    )
    snap.add_parser("now", help="take a snapshot now").set_defaults(func=cmd_snapshot_now)
    sp = sub.add_parser("audit", help="the admin actions on record")
    sp.add_argument("--by", help="operator (exact, or the OS user part)")
    sp.add_argument("--action", help="action name or prefix (session., cancel_all, ...)")
    sp.add_argument("--since", help="ISO-8601 UTC time")
    sp.add_argument("--until", help="ISO-8601 UTC time")
    sp.add_argument("--db", help="journal database (default: the running venue's)")
    sp.set_defaults(func=cmd_audit)
    sp = sub.add_parser("top", help="live view of sessions, books and the journal")
    sp.add_argument("--iterations", type=int, default=0, help="stop after N refreshes (0: never)")
    sp.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    sp.set_defaults(func=cmd_top)
    return p


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code) if isinstance(exc.code, int) else EXIT_USAGE
    ctx = Ctx(args)
    try:
        return int(args.func(ctx))
    except Fail as exc:
        print(f"venue-admin: {exc}", file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_NOT_CONFIRMED


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
