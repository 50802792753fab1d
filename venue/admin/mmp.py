"""`venue-admin mmp set|show|reset`: market-maker protection per account and underlying
(RoE section 19). Operations for `AdminOps` (`ops()`), and the CLI's commands.

Invariants:
- `set` and `reset` are journaled commands (`SetMmp`, `ResetMmp`) carrying the operator, and
  audited like every admin action; `show` only reads engine state.
- Quantities cross the socket as decimal strings in the instruments' size units; the core
  counts lots (the underlying's instruments share one lot size).
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal, InvalidOperation
from typing import TYPE_CHECKING, Any

import msgspec

from venue.admin.context import EXIT_OK, Ctx, done
from venue.core.quote_types import ResetMmp, SetMmp, underlying
from venue.core.types import InstrumentKind

if TYPE_CHECKING:
    from venue.admin.ops import AdminOps

__all__ = ["MmpArgs", "MmpKey", "MmpShow", "mmp_ops", "show_rows"]


class MmpArgs(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str
    underlying: str
    window_ms: int
    max_qty: str = "0"
    max_fills: int = 0
    freeze_ms: int = 0


class MmpKey(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str
    underlying: str


class MmpShow(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str | None = None


def _lot(engine: Any, und: str) -> Decimal | None:
    lots = {
        m.instrument.lot_size
        for s, m in engine.markets.items()
        if underlying(s) == und and m.instrument.kind is not InstrumentKind.OPTION
    }
    return Decimal(lots.pop()) if len(lots) == 1 else None


def show_rows(engine: Any, account: str | None, now_ns: int) -> list[dict[str, Any]]:
    """One row per (account, underlying) with protection, sorted."""
    rows: list[dict[str, Any]] = []
    for acct in sorted(engine.state.mmp):
        if account is not None and acct != account:
            continue
        for und, m in sorted(engine.state.mmp[acct].items()):
            lot = _lot(engine, und) or Decimal(1)
            horizon = now_ns - m.window_ms * 1_000_000
            live = [f for f in m.fills if f[0] > horizon]
            rows.append(
                {
                    "account": acct,
                    "underlying": und,
                    "window_ms": m.window_ms,
                    "max_qty": str(m.max_qty * lot),
                    "max_fills": m.max_fills,
                    "freeze_ms": m.freeze_ms,
                    "frozen": m.frozen(now_ns),
                    "frozen_until": m.frozen_until,
                    "window_qty": str(sum(f[1] for f in live) * lot),
                    "window_fills": len(live),
                }
            )
    return rows


def mmp_ops(
    ops: AdminOps, bad_args: Callable[[str], Exception]
) -> dict[str, tuple[type[Any], Callable[[Any, str], Any]]]:
    """The operations; `bad_args(text)` makes the error an operator can fix."""
    engine = ops.sequencer.engine

    async def set_(a: MmpArgs, operator: str) -> Any:
        lot = _lot(engine, a.underlying)
        if lot is None:
            raise bad_args(f"underlying {a.underlying!r}: no instruments")
        try:
            units = Decimal(a.max_qty) / lot
        except InvalidOperation:
            raise bad_args(f"max_qty {a.max_qty!r} is not a decimal") from None
        if units != units.to_integral_value():
            raise bad_args(f"max_qty {a.max_qty} is not a multiple of {lot}")
        cmd = SetMmp(
            account=a.account,
            underlying=a.underlying,
            window_ms=a.window_ms,
            max_qty=int(units),
            max_fills=a.max_fills,
            freeze_ms=a.freeze_ms,
            operator=operator,
        )
        detail = msgspec.structs.asdict(a)
        return await ops._engine_action(operator, "mmp.set", cmd, **detail)

    async def reset(a: MmpKey, operator: str) -> Any:
        cmd = ResetMmp(account=a.account, underlying=a.underlying, operator=operator)
        return await ops._engine_action(
            operator, "mmp.reset", cmd, account=a.account, underlying=a.underlying
        )

    async def show(a: MmpShow, _op: str) -> Any:
        return show_rows(engine, a.account, ops._now_ns())

    return {"mmp.set": (MmpArgs, set_), "mmp.reset": (MmpKey, reset), "mmp.show": (MmpShow, show)}


# -- the CLI's commands (venue.admin.cli) ------------------------------------------------------


def cmd_mmp_set(ctx: Ctx) -> int:
    a = ctx.args
    args = {
        "account": a.account,
        "underlying": a.underlying,
        "window_ms": a.window_ms,
        "max_qty": a.max_qty,
        "max_fills": a.max_fills,
        "freeze_ms": a.freeze_ms,
    }
    ctx.out(ctx.call("mmp.set", **args), done)
    return EXIT_OK


def cmd_mmp_show(ctx: Ctx) -> int:
    ctx.out(ctx.call("mmp.show", account=ctx.args.account), show_table)
    return EXIT_OK


def cmd_mmp_reset(ctx: Ctx) -> int:
    a = ctx.args
    ctx.out(ctx.call("mmp.reset", account=a.account, underlying=a.underlying), done)
    return EXIT_OK


def show_table(rows: Any) -> None:
    if not rows:
        print("no market-maker protection set")
        return
    for r in rows:
        state = "FROZEN" if r["frozen"] else "active"
        print(
            f"{r['account']} {r['underlying']}: {state}; window {r['window_ms']} ms, "
            f"max qty {r['max_qty']}, max fills {r['max_fills']}, freeze {r['freeze_ms']} ms; "
            f"in window: qty {r['window_qty']}, fills {r['window_fills']}"
        )


def add_parser(sub: Any) -> None:
    """`mmp set|show|reset` under the CLI's subcommands."""
    mmp = sub.add_parser("mmp", help="market-maker protection").add_subparsers(
        dest="mmp_command", required=True
    )
    sp = mmp.add_parser("set", help="set (window 0: remove) an account's protection")
    sp.add_argument("account")
    sp.add_argument("underlying")
    sp.add_argument("--window-ms", type=int, required=True)
    sp.add_argument("--max-qty", default="0")
    sp.add_argument("--max-fills", type=int, default=0)
    sp.add_argument("--freeze-ms", type=int, default=0, help="0: frozen until reset")
    sp.set_defaults(func=cmd_mmp_set)
    sp = mmp.add_parser("show", help="protection and window state per account")
    sp.add_argument("account", nargs="?")
    sp.set_defaults(func=cmd_mmp_show)
    sp = mmp.add_parser("reset", help="unfreeze quoting of an account on an underlying")
    sp.add_argument("account")
    sp.add_argument("underlying")
    sp.set_defaults(func=cmd_mmp_reset)
