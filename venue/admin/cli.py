"""`venue-admin`: operate a running venue over its admin socket.

    venue-admin [--socket PATH | --config venue.toml] [--json] [--yes] [--operator NAME] COMMAND

The socket is `--socket`, else `admin.socket` of `--config`, else `$VENUE_ADMIN_SOCKET`, else
the default `var/venue-admin.sock`. Tables on a terminal, `--json` for scripts (one JSON
document on stdout). Destructive actions (session logout/disconnect/disable/reset/set-seq/
rotate-key, cancel-all, instrument halt, account withdraw) ask for confirmation on a terminal
and need `--yes` otherwise: without a terminal nothing ever prompts.

Examples (global options such as --json, --yes, --socket may come anywhere):
    venue-admin status
    venue-admin sessions
    venue-admin session show ALPHA-MM
    venue-admin instrument list
    venue-admin instrument halt BTC-PERP --yes
    venue-admin instrument resume BTC-PERP
    venue-admin cancel-all --firm ALPHA --yes
    venue-admin account show ALPHA-1 --json
    venue-admin orders --firm ALPHA --instrument BTC-PERP
    venue-admin book BTC-PERP --firm ALPHA
    venue-admin trades --instrument BTC-PERP
    venue-admin insurance-fund
    venue-admin audit --by alice

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
the journal path from the venue when it runs, else from `--config` or `--db`). An added session
needs a restart; `session reload NAME` applies a rotated key or new addresses to the running
venue. `session unlock NAME` lifts a lock-out after failed Logons (`sessions` shows locks and
throttle cool-downs in its last column).

Invariants: nothing here changes venue state except through the socket; `--json` output is
machine-readable and stable; failures end with one line on stderr and the exit status above.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from venue.admin import commands as c
from venue.admin import compliance, custody_cli, mmp
from venue.admin.argv import globals_anywhere
from venue.admin.context import (
    EXIT_DIVERGED,
    EXIT_FORBIDDEN,
    EXIT_INTERNAL,
    EXIT_NOT_CONFIRMED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_UNAVAILABLE,
    EXIT_USAGE,
    Ctx,
    Fail,
)

__all__ = [
    "EXIT_DIVERGED",
    "EXIT_FORBIDDEN",
    "EXIT_INTERNAL",
    "EXIT_NOT_CONFIRMED",
    "EXIT_NOT_FOUND",
    "EXIT_OK",
    "EXIT_REFUSED",
    "EXIT_UNAVAILABLE",
    "EXIT_USAGE",
    "build_parser",
    "main",
]


# -- parser ---------------------------------------------------------------------------------------


def build_parser() -> argparse.ArgumentParser:
    doc = __doc__ or ""
    p = argparse.ArgumentParser(
        prog="venue-admin",
        description="Operate a running venue.",
        epilog=doc[doc.index("Examples") : doc.index("Every state-changing")],
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")

    sub.add_parser("status", help="uptime, journal, sessions, instruments").set_defaults(
        func=c.cmd_status
    )
    sp = sub.add_parser(
        "failover", help="replicated venue: the primary steps down, the standby promotes"
    )
    # `venue-admin failover --yes` as well: every global option is accepted anywhere (argv.py)
    sp.set_defaults(func=c.cmd_failover)
    sub.add_parser("sessions", help="every session's state").set_defaults(func=c.cmd_sessions)

    sess = sub.add_parser("session", help="one session").add_subparsers(
        dest="session_command", required=True
    )
    sp = sess.add_parser("show", help="state and settings")
    sp.add_argument("name")
    sp.set_defaults(func=c.cmd_session_show)
    for verb, op, destructive in (
        ("logout", "session.logout", True),
        ("disconnect", "session.disconnect", True),
        ("enable", "session.enable", False),
        ("reload", "session.reload", False),
        ("disable", "session.disable", True),
        ("reset", "session.reset", True),
        ("unlock", "session.unlock", False),
    ):
        sp = sess.add_parser(verb, help=f"{verb} the session")
        sp.add_argument("name")
        sp.set_defaults(func=c._session_action(op, verb, destructive))
    sp = sess.add_parser("set-seq", help="set next inbound/outbound sequence numbers")
    sp.add_argument("name")
    sp.add_argument("--next-in", type=int)
    sp.add_argument("--next-out", type=int)
    sp.add_argument("--force", action="store_true", help="even while the session is logged on")
    sp.set_defaults(func=c.cmd_session_set_seq)
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
    sp.set_defaults(func=c.cmd_session_add)
    sp = sess.add_parser("rotate-key", help="new Ed25519 key pair for a session")
    sp.add_argument("name")
    sp.add_argument("--key-out", required=True, help="private key file to create")
    sp.add_argument("--sessions-dir", help="default: gateway.sessions_dir of --config")
    sp.set_defaults(func=c.cmd_session_rotate_key)

    sp = sub.add_parser("cancel-all", help="kill switch: cancel matching orders")
    for opt in ("--session", "--account", "--firm", "--instrument"):
        sp.add_argument(opt)
    sp.add_argument("--all", action="store_true", help="no filter: every order")
    sp.set_defaults(func=c.cmd_cancel_all)

    inst = sub.add_parser("instrument", help="instruments").add_subparsers(
        dest="instrument_command", required=True
    )
    inst.add_parser("list").set_defaults(func=c.cmd_instrument_list)
    sp = inst.add_parser("show", help="mark, index, premium, funding, open interest, state")
    sp.add_argument("symbol")
    sp.set_defaults(func=c.cmd_instrument_show)
    sp = inst.add_parser(
        "add-options",
        help="list a call and a put per strike (terms copied from a listed series)",
    )
    sp.add_argument("underlying", help="index name, e.g. BTC")
    sp.add_argument("expiry", help="ISO-8601 UTC, e.g. 2027-06-25T08:00:00Z")
    sp.add_argument("--strikes", required=True, help="USD, comma-separated: 50000,70000")
    sp.set_defaults(func=c.cmd_instrument_add_options)
    for verb, fn in (("halt", c.cmd_instrument_halt), ("resume", c.cmd_instrument_resume)):
        sp = inst.add_parser(verb)
        sp.add_argument("symbol")
        sp.set_defaults(func=fn)
    opts = sub.add_parser("options", help="option series").add_subparsers(
        dest="options_command", required=True
    )
    sp = opts.add_parser("set-iv", help="set a series' mark implied volatility")
    sp.add_argument("symbol")
    sp.add_argument("iv", help="decimal fraction: 0.65 is 65 %%")
    sp.set_defaults(func=c.cmd_options_set_iv)
    idx = sub.add_parser("index", help="index prices").add_subparsers(
        dest="index_command", required=True
    )
    sp = idx.add_parser("set", help="set the index price of an instrument")
    sp.add_argument("symbol")
    sp.add_argument("price")
    sp.set_defaults(func=c.cmd_index_set)

    mmp.add_parser(sub)  # market-maker protection: venue.admin.mmp

    acc = sub.add_parser("account", help="accounts").add_subparsers(
        dest="account_command", required=True
    )
    acc.add_parser("list").set_defaults(func=c.cmd_account_list)
    sp = acc.add_parser("show")
    sp.add_argument("account")
    sp.set_defaults(func=c.cmd_account_show)
    for verb, fn in (("deposit", c.cmd_account_deposit), ("withdraw", c.cmd_account_withdraw)):
        sp = acc.add_parser(verb, help=f"{verb} an amount in USD")
        sp.add_argument("account")
        sp.add_argument("amount")
        if verb == "withdraw":
            sp.add_argument("--to", help="address (with custody: an approved request)")
        sp.set_defaults(func=fn)
    sp = acc.add_parser("margin-mode", help="isolated or cross margin in one instrument")
    sp.add_argument("account")
    sp.add_argument("symbol")
    sp.add_argument("mode", choices=["isolated", "cross"])
    sp.set_defaults(func=c.cmd_account_margin_mode)
    sp = acc.add_parser(
        "isolated-margin", help="add (+N) or remove (-N) USD of an isolated position's margin"
    )
    sp.add_argument("account")
    sp.add_argument("symbol")
    sp.add_argument("amount", help="+N adds, -N removes (USD)")
    sp.set_defaults(func=c.cmd_account_isolated_margin)
    sp = sub.add_parser("positions", help="open positions")
    sp.add_argument("--account")
    sp.add_argument("--instrument")
    sp.set_defaults(func=c.cmd_positions)
    sp = sub.add_parser("orders", help="open orders (filters combine)")
    for opt in ("--firm", "--account", "--session", "--instrument"):
        sp.add_argument(opt)
    sp.add_argument("--limit", type=int, default=1000)
    sp.set_defaults(func=c.cmd_orders)
    sp = sub.add_parser("book", help="book depth of an instrument by price level")
    sp.add_argument("symbol")
    sp.add_argument("--depth", type=int, default=10, help="levels per side")
    sp.add_argument("--firm", help="mark this firm's own orders")
    sp.set_defaults(func=c.cmd_book)
    sp = sub.add_parser("trades", help="recent trades (since the venue started), newest first")
    sp.add_argument("--account")
    sp.add_argument("--instrument")
    sp.add_argument("--limit", type=int, default=50)
    sp.set_defaults(func=c.cmd_trades)
    sub.add_parser("insurance-fund", help="the insurance fund's balance").set_defaults(
        func=c.cmd_insurance_fund
    )

    jr = sub.add_parser("journal", help="journal tools").add_subparsers(
        dest="journal_command", required=True
    )
    sp = jr.add_parser("verify", help="replay the journal from empty and compare")
    sp.add_argument("--db", help="journal database (default: the running venue's)")
    sp.set_defaults(func=c.cmd_journal_verify)
    snap = sub.add_parser("snapshot", help="snapshots").add_subparsers(
        dest="snapshot_command", required=True
    )
    snap.add_parser("now", help="take a snapshot now").set_defaults(func=c.cmd_snapshot_now)
    sp = sub.add_parser("audit", help="the admin actions on record")
    sp.add_argument(
        "--by", help="operator: exact (root/alice), its OS user (root) or its name (alice)"
    )
    sp.add_argument("--action", help="action name or prefix (session., cancel_all, ...)")
    sp.add_argument("--since", help="ISO-8601 UTC time")
    sp.add_argument("--until", help="ISO-8601 UTC time")
    sp.add_argument("--db", help="journal database (default: the running venue's)")
    sp.set_defaults(func=c.cmd_audit)
    compliance.register(sub)
    custody_cli.register(sub)
    sp = sub.add_parser("top", help="live view of sessions, books and the journal")
    sp.add_argument("--iterations", type=int, default=0, help="stop after N refreshes (0: never)")
    sp.add_argument("--interval", type=float, default=1.0, help="seconds between refreshes")
    sp.set_defaults(func=c.cmd_top)
    globals_anywhere(p, _global_options)
    return p


def _global_options(p: argparse.ArgumentParser, default: object) -> None:
    """The options every command accepts, before or after its name (`venue.admin.argv`)."""

    def d(own: object) -> object:
        return own if default is None else default

    p.add_argument(
        "--socket",
        default=d(None),
        help="the admin socket (default: from --config, "
        "$VENUE_ADMIN_SOCKET, or var/venue-admin.sock)",
    )
    p.add_argument(
        "--config", default=d(None), help="venue.toml (socket, journal and sessions_dir)"
    )
    p.add_argument(
        "--json", action="store_true", default=d(False), help="JSON on stdout for scripts"
    )
    p.add_argument(
        "--yes", "-y", action="store_true", default=d(False), help="confirm destructive actions"
    )
    p.add_argument("--operator", default=d(None), help="your name, recorded with the OS user")
    p.add_argument("--timeout", type=float, default=d(30.0), help="seconds to wait for the venue")


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
