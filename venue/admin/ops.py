"""The operations behind the admin socket: reads of the venue's state and operator actions.

`AdminOps.run(op, args, operator)` decodes `args` into the operation's typed arguments and runs
it. The gateway and the kill switch are injected as the `SessionControl` and `KillSwitch`
protocols (`venue.admin` may not import `venue.gateway`; `venue.app` passes the real objects).

Invariants:
- Every operation that changes state goes through the sequencer: engine changes as their own
  commands (carrying `operator` where the command has the field), and one
  `RecordAdminAction(operator, action, detail)` per admin action, submitted right after the
  effect (so both share a transaction), `detail` a JSON object that includes the outcome.
  Refused actions that changed nothing (unknown session, logged-on session) record nothing.
- A state-changing operation answers only after everything it submitted or recorded has
  committed (DESIGN rule 3): the answer means durable. If the journal fails meanwhile, the
  waiting requests are answered `unavailable` (a failed batch's callbacks never run).
- Producers without sockets wait while the sequencer is backlogged (`wait_ready`) before they
  submit; a failed or stopping journal is answered `unavailable`, never raised.
- Reads never mutate engine state. Prices leave as decimal strings (ticks x tick size), money
  as decimal strings of USD (units / MONEY_SCALE) and raw integer units.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import Awaitable, Callable
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, Protocol

import msgspec

from venue.admin.archiving import Archiving
from venue.admin.margin import (
    IsolatedMarginArgs,
    MarginModeArgs,
    explain,
    isolated_flag,
    signed_units,
)
from venue.admin.mmp import mmp_ops
from venue.admin.ops_views import ViewOps
from venue.admin.options import AddOptionsError, new_series, set_iv_command
from venue.admin.protocol import ErrorCode, OpError
from venue.admin.tape import Tape
from venue.admin.views import (
    account_row,
    instrument_figures,
    instrument_rows,
    money_text,
    position_rows,
)
from venue.config import ConfigError, SessionConfig, load_session_file
from venue.core.commands import (
    AddInstrument,
    AdjustIsolatedMargin,
    Deposit,
    Halt,
    RecordAdminAction,
    Resume,
    SetIndexPrice,
    SetMarginMode,
    Withdraw,
)
from venue.core.types import MONEY_SCALE
from venue.journal import JournalFailed
from venue.journal.archive import ArchiveRecord
from venue.log import get_logger
from venue.sequencer import Sequencer, SequencerStopped

__all__ = ["AdminOps", "KillSwitch", "OpError", "SessionControl"]

_log = get_logger("venue.admin")


class SessionControl(Protocol):
    """What the admin needs of the FIX gateway (`venue.gateway.Gateway` provides it)."""

    def session_status(self) -> list[dict[str, object]]: ...
    def session_detail(self, name: str) -> dict[str, object]: ...
    def logout_session(self, name: str, text: str = ...) -> bool: ...
    def disconnect_session(self, name: str, reason: str = ...) -> bool: ...
    def set_session_enabled(self, name: str, enabled: bool) -> bool: ...
    def unlock_session(self, name: str) -> bool: ...
    def set_session_seqs(
        self, name: str, *, next_in: int | None, next_out: int | None, force: bool = ...
    ) -> tuple[int, int]: ...
    def reset_session(self, name: str) -> None: ...
    def reload_session_config(self, cfg: SessionConfig) -> list[str]: ...


class KillSwitch(Protocol):
    """`venue.gateway.order_entry.OrderEntry.cancel_all`."""

    def cancel_all(
        self,
        *,
        session: str | None = None,
        account: str | None = None,
        firm: str | None = None,
        symbol: str | None = None,
        operator: str = "admin",
    ) -> int: ...


# -- arguments --------------------------------------------------------------------------------


class _Args(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class _NoArgs(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    pass


class _Archive(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """An archive written by `venue journal archive` (`venue.journal.archive.ArchiveRecord`)."""

    first_seq: int
    last_seq: int
    last_ts: int
    chain: str  # hex
    file: str
    sha256: str


class _Name(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str


class _SetSeq(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    next_in: int | None = None
    next_out: int | None = None
    force: bool = False


class _CancelAll(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    session: str | None = None
    account: str | None = None
    firm: str | None = None
    symbol: str | None = None


class _Symbol(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    symbol: str


class _AddOptions(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    underlying: str
    expiry: str  # ISO-8601 UTC
    strikes: list[str]  # USD


class _OptionIv(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    symbol: str
    iv: str  # decimal fraction: "0.65" is 65 %


class _IndexPrice(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    symbol: str
    price: str  # decimal, on the instrument's tick


class _Account(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str


class _Amount(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str
    amount: str  # decimal USD


class _Positions(_Args, frozen=True, kw_only=True, forbid_unknown_fields=True):
    account: str | None = None
    symbol: str | None = None


Handler = Callable[[Any, str], Awaitable[Any]]


class ReplicationOps(msgspec.Struct, frozen=True, kw_only=True):
    """What a replicated primary adds (injected by `venue.app`): its replication status and a
    deliberate hand-over to the standby."""

    status: Callable[[], Awaitable[dict[str, Any]]]
    failover: Callable[[], Awaitable[dict[str, Any]]]


def _decimal(text: str, what: str) -> Decimal:
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise OpError(ErrorCode.BAD_ARGS, f"{what}: {text!r} is not a decimal number") from None
    if not value.is_finite() or value <= 0:
        raise OpError(ErrorCode.BAD_ARGS, f"{what}: must be a positive number")
    return value


class Operations(Protocol):
    """What the admin server runs requests against: `AdminOps` on a running venue,
    `StandbyOps` on a replicated node that follows the primary."""

    async def run(self, op: str, args: dict[str, Any], operator: str) -> Any: ...


class StandbyOps:
    """A replicated standby's operations: it holds no trading state to show or change yet, only
    its replication status (role, lease holder, stream sequence, lag)."""

    def __init__(self, status: Callable[[], Awaitable[dict[str, Any]]]) -> None:
        self._status = status

    async def run(self, op: str, args: dict[str, Any], operator: str) -> Any:
        del args
        if op == "ping":
            return {"operator": operator, "pid": os.getpid(), "ops": ["ping", "status"]}
        if op == "status":
            return {"pid": os.getpid(), "replication": await self._status()}
        raise OpError(
            ErrorCode.UNAVAILABLE,
            f"{op}: this node is a standby; run it on the primary (see `status`: lease holder)",
        )


class AdminOps:
    """The operations table. Construct with the running venue's pieces."""

    def __init__(
        self,
        *,
        sequencer: Sequencer,
        sessions: SessionControl | None = None,
        kill_switch: KillSwitch | None = None,
        journal_path: str = "",
        now_ns: Callable[[], int],
        mono_ns: Callable[[], int],
        snapshot_now: Callable[[], int] | None = None,
        started_ns: int | None = None,
        tape: Tape | None = None,
        replication: ReplicationOps | None = None,
        history: Callable[[], dict[str, object]] | None = None,
    ) -> None:
        self.sequencer = sequencer
        self.replication = replication
        self.sessions = sessions
        self.kill_switch = kill_switch
        self.journal_path = os.path.abspath(journal_path) if journal_path else ""
        self._now_ns = now_ns
        self._mono_ns = mono_ns
        self._started_ns = started_ns if started_ns is not None else now_ns()  # for uptime
        self._snapshot_now = snapshot_now
        self._history = history  # the background check of the journal's history
        self.commit_wait_ns = 0  # the last status/top probe: wait until all is durable
        self.action_commit_ns = 0  # the last admin action: submit to durable
        self._waiting: set[asyncio.Future[None]] = set()
        sequencer.on_failure(self._on_journal_failure)
        self._ops: dict[str, tuple[type[msgspec.Struct], Handler]] = {
            "ping": (_NoArgs, self._ping),
            "status": (_NoArgs, self._status),
            "top": (_NoArgs, self._top),
            "sessions": (_NoArgs, self._sessions),
            "session.show": (_Name, self._session_show),
            "session.logout": (_Name, self._session_logout),
            "session.disconnect": (_Name, self._session_disconnect),
            "session.enable": (_Name, self._session_enable),
            "session.disable": (_Name, self._session_disable),
            "session.reset": (_Name, self._session_reset),
            "session.unlock": (_Name, self._session_unlock),
            "session.set_seq": (_SetSeq, self._session_set_seq),
            "session.reload": (_Name, self._session_reload),
            "cancel_all": (_CancelAll, self._cancel_all),
            "instrument.show": (_Symbol, self._instrument_show),
            "instrument.halt": (_Symbol, self._instrument_halt),
            "instrument.resume": (_Symbol, self._instrument_resume),
            "instrument.add_options": (_AddOptions, self._instrument_add_options),
            "options.set_iv": (_OptionIv, self._options_set_iv),
            "index.set": (_IndexPrice, self._index_set),
            "account.list": (_NoArgs, self._account_list),
            "account.show": (_Account, self._account_show),
            "account.deposit": (_Amount, self._account_deposit),
            "account.withdraw": (_Amount, self._account_withdraw),
            "account.margin_mode": (MarginModeArgs, self._account_margin_mode),
            "account.isolated_margin": (IsolatedMarginArgs, self._account_isolated_margin),
            "positions": (_Positions, self._positions),
            "insurance_fund": (_NoArgs, self._insurance_fund),
            "snapshot.now": (_NoArgs, self._snapshot),
            "journal.adopt_archive": (_Archive, self._adopt_archive),
            "failover": (_NoArgs, self._failover),
        }
        # open orders, book depth, instruments with market numbers, recent trades
        views = ViewOps(sequencer.engine, tape, self._session_names)
        self._ops.update(views.table())
        # market-maker protection: venue.admin.mmp
        self._ops.update(mmp_ops(self, lambda text: OpError(ErrorCode.BAD_ARGS, text)))
        self._archiving = Archiving(sequencer, self._committed)

    def add_op(self, name: str, args: type[_Args], handler: Handler) -> None:
        """Register or replace an operation (`venue.admin.custody_ops` replaces
        `account.withdraw` when custody is configured)."""
        self._ops[name] = (args, handler)

    @property
    def op_names(self) -> list[str]:
        return list(self._ops)

    async def run(self, op: str, args: dict[str, Any], operator: str) -> Any:
        """Run one operation. Raises OpError for anything the operator can fix."""
        entry = self._ops.get(op)
        if entry is None:
            raise OpError(ErrorCode.UNKNOWN_OP, f"unknown operation {op!r}")
        typ, handler = entry
        try:
            decoded = msgspec.convert(args, typ)
        except msgspec.ValidationError as exc:
            raise OpError(ErrorCode.BAD_ARGS, f"{op}: {exc}") from None
        try:
            return await handler(decoded, operator)
        except (JournalFailed, SequencerStopped) as exc:
            raise OpError(ErrorCode.UNAVAILABLE, str(exc)) from None

    # -- plumbing -------------------------------------------------------------------------------

    def _session_names(self) -> list[str]:
        if self.sessions is None:
            return []
        return [str(s["name"]) for s in self.sessions.session_status()]

    def _gateway(self) -> SessionControl:
        if self.sessions is None:
            raise OpError(ErrorCode.UNAVAILABLE, "no FIX gateway is wired to the admin server")
        return self.sessions

    def _session(self, name: str, fn: Callable[[], Any]) -> Any:
        try:
            return fn()
        except KeyError:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown session {name!r}") from None
        except RuntimeError as exc:
            raise OpError(ErrorCode.REFUSED, str(exc)) from None
        except ValueError as exc:
            raise OpError(ErrorCode.BAD_ARGS, str(exc)) from None

    def _submit(self, cmd: Any) -> list[Any]:
        return self.sequencer.submit(cmd)[1]

    def _record(self, operator: str, action: str, **detail: Any) -> int:
        """Journal the audit record of an action (after its effect, same transaction)."""
        text = json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
        seq, _ = self.sequencer.submit(
            RecordAdminAction(operator=operator, action=action, detail=text)
        )
        _log.info("admin_action", action=action, operator=operator, seq=seq, detail=text)
        return seq

    async def _committed(self) -> int:
        """Wait until everything submitted or recorded so far is durable; returns the wait
        (after an action, also kept as `action_commit_ns`)."""
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def done() -> None:
            if not fut.done():
                fut.set_result(None)

        start = self._mono_ns()
        self.sequencer.after_commit(done)
        self._waiting.add(fut)
        try:
            await fut
        finally:
            self._waiting.discard(fut)
        return self._mono_ns() - start

    def _on_journal_failure(self, exc: BaseException) -> None:
        """A failed commit never releases its callbacks: fail the waiting requests instead."""
        for fut in list(self._waiting):
            if not fut.done():
                fut.set_exception(JournalFailed(f"journal failed: {exc}"))

    async def _probe(self) -> None:
        """Measure how long a commit takes right now; a failed or stopping journal is shown
        by status (`journal.failed`), not refused."""
        with contextlib.suppress(JournalFailed, SequencerStopped):
            self.commit_wait_ns = await self._committed()

    def _market(self, symbol: str) -> Any:
        mkt = self.sequencer.engine.markets.get(symbol)
        if mkt is None:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown instrument {symbol!r}")
        return mkt

    @staticmethod
    def _refusal(events: list[Any]) -> str | None:
        for ev in events:  # CommandRejected, MassCancelRejected, ...
            if type(ev).__name__.endswith("Rejected"):
                reason = getattr(ev, "reason", None)
                return reason.name if reason is not None else type(ev).__name__
        return None

    # -- reads ----------------------------------------------------------------------------------

    async def _adopt_archive(self, a: _Archive, operator: str) -> Any:
        """`venue journal archive` against a running venue (see `venue.admin.archiving`)."""
        try:
            chain = bytes.fromhex(a.chain)
        except ValueError:
            raise OpError(ErrorCode.BAD_ARGS, "chain: must be hex") from None
        record = ArchiveRecord(
            first_seq=a.first_seq,
            last_seq=a.last_seq,
            last_ts=a.last_ts,
            chain=chain,
            file=a.file,
            sha256=a.sha256,
        )
        await self.sequencer.wait_ready()
        why, answer = await self._archiving.adopt(record, operator)
        if why:
            raise OpError(ErrorCode.REFUSED, f"archive not adopted: {why}")
        return answer

    async def _ping(self, _a: _NoArgs, operator: str) -> Any:
        return {"operator": operator, "pid": os.getpid(), "ops": self.op_names}

    def _journal_info(self) -> dict[str, Any]:
        seq = self.sequencer
        return {
            "path": self.journal_path,
            "last_seq": seq.last_seq,
            "committed_seq": seq.committed_seq,
            "uncommitted": seq.last_seq - seq.committed_seq,
            "commits": seq.commits,
            "backlogged": seq.backlogged,
            "failed": str(seq.failed) if seq.failed is not None else None,
            "commit_wait_ns": self.commit_wait_ns,
            "last_action_commit_ns": self.action_commit_ns,
            "history_check": self._history() if self._history is not None else None,
        }

    def _fund(self) -> dict[str, Any]:
        units = self.sequencer.engine.insurance_fund
        return {"units": units, "usd": money_text(units)}

    async def _status(self, _a: _NoArgs, _op: str) -> Any:
        await self._probe()
        now = self._now_ns()
        sessions = self.sessions.session_status() if self.sessions is not None else []
        logged_on = [str(s["name"]) for s in sessions if s["state"] == "active"]
        return {
            "pid": os.getpid(),
            "started_ns": self._started_ns,
            "now_ns": now,
            "uptime_ns": now - self._started_ns,
            "journal": self._journal_info(),
            "sessions": {"configured": len(sessions), "logged_on": logged_on},
            "instruments": instrument_rows(self.sequencer.engine),
            "insurance_fund": self._fund(),
            "replication": await self.replication.status() if self.replication else None,
        }

    async def _failover(self, _a: _NoArgs, op: str) -> Any:
        if self.replication is None:
            raise OpError(ErrorCode.BAD_ARGS, "failover: this venue is not replicated")
        _log.warning("admin_failover", operator=op)
        return await self.replication.failover()

    async def _top(self, _a: _NoArgs, _op: str) -> Any:
        await self._probe()
        return {
            "now_ns": self._now_ns(),
            "mono_ns": self._mono_ns(),
            "journal": self._journal_info(),
            "sessions": self.sessions.session_status() if self.sessions is not None else [],
            "instruments": instrument_rows(self.sequencer.engine),
        }

    async def _sessions(self, _a: _NoArgs, _op: str) -> Any:
        return self._gateway().session_status()

    async def _session_show(self, a: _Name, _op: str) -> Any:
        gw = self._gateway()
        return self._session(a.name, lambda: gw.session_detail(a.name))

    async def _instrument_show(self, a: _Symbol, _op: str) -> Any:
        self._market(a.symbol)
        return instrument_figures(self.sequencer.engine, a.symbol)

    def _account(self, name: str) -> dict[str, Any]:
        view = self.sequencer.engine.account_view(name)
        if view is None:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown account {name!r}")
        return account_row(view)

    async def _account_list(self, _a: _NoArgs, _op: str) -> Any:
        return [self._account(name) for name in list(self.sequencer.engine.accounts)]

    async def _account_show(self, a: _Account, _op: str) -> Any:
        row = self._account(a.account)
        engine = self.sequencer.engine
        row["positions"] = position_rows(engine, [a.account], list(engine.markets))
        return row

    async def _positions(self, a: _Positions, _op: str) -> Any:
        engine = self.sequencer.engine
        if a.account is not None:
            self._account(a.account)  # NOT_FOUND for an unknown account
        if a.symbol is not None:
            self._market(a.symbol)
        accounts = [a.account] if a.account else list(engine.accounts)
        symbols = [a.symbol] if a.symbol else list(engine.markets)
        return position_rows(engine, accounts, symbols)

    async def _insurance_fund(self, _a: _NoArgs, _op: str) -> Any:
        return self._fund()

    # -- actions --------------------------------------------------------------------------------

    async def _session_action(
        self,
        name: str,
        operator: str,
        action: str,
        fn: Callable[[], Any],
        outcome: Callable[[Any], str] = str,
    ) -> Any:
        """Run a gateway action. `result` is the gateway's raw return (scripts read it; for
        enable/disable it is the previous setting), `outcome` says in words what happened."""
        await self.sequencer.wait_ready()
        result = self._session(name, fn)
        seq = self._record(operator, action, session=name, result=result)
        self.action_commit_ns = await self._committed()
        return {"session": name, "result": result, "outcome": outcome(result), "audit_seq": seq}

    async def _session_logout(self, a: _Name, operator: str) -> Any:
        gw = self._gateway()
        text = f"logged out by {operator}"
        return await self._session_action(
            a.name,
            operator,
            "session.logout",
            lambda: gw.logout_session(a.name, text),
            lambda sent: "Logout sent" if sent else "not connected: nothing to log out",
        )

    async def _session_disconnect(self, a: _Name, operator: str) -> Any:
        gw = self._gateway()
        why = f"disconnected by {operator}"
        return await self._session_action(
            a.name,
            operator,
            "session.disconnect",
            lambda: gw.disconnect_session(a.name, why),
            lambda cut: "disconnected" if cut else "not connected: nothing to disconnect",
        )

    async def _session_enable(self, a: _Name, operator: str) -> Any:
        gw = self._gateway()
        return await self._session_action(
            a.name,
            operator,
            "session.enable",
            lambda: gw.set_session_enabled(a.name, True),
            lambda before: "already enabled" if before else "enabled",
        )

    async def _session_disable(self, a: _Name, operator: str) -> Any:
        gw = self._gateway()
        return await self._session_action(
            a.name,
            operator,
            "session.disable",
            lambda: gw.set_session_enabled(a.name, False),
            lambda before: "disabled" if before else "already disabled",
        )

    async def _session_reset(self, a: _Name, operator: str) -> Any:
        gw = self._gateway()
        return await self._session_action(
            a.name,
            operator,
            "session.reset",
            lambda: gw.reset_session(a.name),
            lambda _: "sequence numbers reset: next in 1, next out 1",
        )

    async def _session_unlock(self, a: _Name, operator: str) -> Any:
        gw = self._gateway()
        return await self._session_action(
            a.name, operator, "session.unlock", lambda: gw.unlock_session(a.name)
        )

    async def _session_set_seq(self, a: _SetSeq, operator: str) -> Any:
        gw = self._gateway()
        if a.next_in is None and a.next_out is None:
            raise OpError(ErrorCode.BAD_ARGS, "give next_in, next_out or both")
        out = await self._session_action(
            a.name,
            operator,
            "session.set_seq",
            lambda: gw.set_session_seqs(
                a.name, next_in=a.next_in, next_out=a.next_out, force=a.force
            ),
            lambda seqs: f"next in {seqs[0]}, next out {seqs[1]}",
        )
        next_in, next_out = out["result"]
        out["result"] = {"next_in": next_in, "next_out": next_out, "forced": a.force}
        return out

    async def _session_reload(self, a: _Name, operator: str) -> Any:
        gw = self._gateway()
        source = str(self._session(a.name, lambda: gw.session_detail(a.name))["source"])
        if not source:
            raise OpError(ErrorCode.REFUSED, f"session {a.name} is not from a session file")
        try:
            cfg = load_session_file(Path(source))
        except ConfigError as exc:
            raise OpError(ErrorCode.REFUSED, f"{exc}") from None
        if cfg.name != a.name:
            raise OpError(ErrorCode.REFUSED, f"{source} now names session {cfg.name!r}")
        return await self._session_action(
            a.name,
            operator,
            "session.reload",
            lambda: gw.reload_session_config(cfg),
            lambda changed: f"applied: {', '.join(changed)}" if changed else "no change",
        )

    async def _cancel_all(self, a: _CancelAll, operator: str) -> Any:
        if self.kill_switch is None:
            raise OpError(ErrorCode.UNAVAILABLE, "no order entry is wired to the admin server")
        await self.sequencer.wait_ready()
        try:
            canceled = self.kill_switch.cancel_all(
                session=a.session,
                account=a.account,
                firm=a.firm,
                symbol=a.symbol,
                operator=operator,
            )
        except ValueError as exc:
            raise OpError(ErrorCode.NOT_FOUND, str(exc)) from None
        filters = {k: v for k, v in msgspec.structs.asdict(a).items() if v is not None}
        seq = self._record(operator, "cancel_all", canceled=canceled, **filters)
        self.action_commit_ns = await self._committed()
        return {"canceled": canceled, "filters": filters, "audit_seq": seq}

    async def _engine_action(self, operator: str, action: str, cmd: Any, **detail: Any) -> Any:
        await self.sequencer.wait_ready()
        seq, events = self.sequencer.submit(cmd)
        refusal = self._refusal(events)
        audit = self._record(operator, action, seq=seq, refused=refusal, **detail)
        self.action_commit_ns = await self._committed()
        if refusal is not None:
            raise OpError(ErrorCode.REFUSED, f"{action} refused: {refusal} (seq {seq})")
        return {"seq": seq, "audit_seq": audit, **detail}

    async def _instrument_halt(self, a: _Symbol, operator: str) -> Any:
        self._market(a.symbol)
        cmd = Halt(symbol=a.symbol, operator=operator)
        return await self._engine_action(operator, "instrument.halt", cmd, symbol=a.symbol)

    async def _instrument_resume(self, a: _Symbol, operator: str) -> Any:
        self._market(a.symbol)
        cmd = Resume(symbol=a.symbol, operator=operator)
        return await self._engine_action(operator, "instrument.resume", cmd, symbol=a.symbol)

    async def _instrument_add_options(self, a: _AddOptions, operator: str) -> Any:
        await self.sequencer.wait_ready()
        try:
            series = new_series(self.sequencer.engine, a.underlying, a.expiry, a.strikes)
        except AddOptionsError as exc:
            raise OpError(ErrorCode.BAD_ARGS, str(exc)) from None
        seqs: list[int] = []
        refused: dict[str, str] = {}
        for inst in series:  # each series its own sequenced command
            seq, events = self.sequencer.submit(AddInstrument(instrument=inst))
            seqs.append(seq)
            refusal = self._refusal(events)
            if refusal is not None:
                refused[inst.symbol] = refusal
        symbols = [inst.symbol for inst in series]
        audit = self._record(
            operator, "instrument.add_options", seqs=seqs, symbols=symbols, refused=refused
        )
        self.action_commit_ns = await self._committed()
        if refused:
            raise OpError(ErrorCode.REFUSED, f"instrument.add_options refused: {refused}")
        return {"seqs": seqs, "audit_seq": audit, "symbols": symbols}

    async def _options_set_iv(self, a: _OptionIv, operator: str) -> Any:
        try:
            cmd = set_iv_command(self.sequencer.engine, a.symbol, a.iv)
        except AddOptionsError as exc:
            raise OpError(ErrorCode.BAD_ARGS, str(exc)) from None
        return await self._engine_action(
            operator, "options.set_iv", cmd, symbol=a.symbol, iv=a.iv, iv_ppb=cmd.iv_ppb
        )

    async def _index_set(self, a: _IndexPrice, operator: str) -> Any:
        mkt = self._market(a.symbol)
        tick = Decimal(mkt.instrument.tick_size)
        ticks = _decimal(a.price, "price") / tick
        if ticks != ticks.to_integral_value():
            raise OpError(ErrorCode.BAD_ARGS, f"price {a.price} is not on the tick {tick}")
        cmd = SetIndexPrice(symbol=a.symbol, price=int(ticks), source=f"admin:{operator}")
        return await self._engine_action(
            operator, "index.set", cmd, symbol=a.symbol, price=a.price, ticks=int(ticks)
        )

    def _units(self, amount: str) -> int:
        units = _decimal(amount, "amount") * MONEY_SCALE
        if units != units.to_integral_value():
            raise OpError(ErrorCode.BAD_ARGS, f"amount {amount}: at most 6 decimals (USD)")
        return int(units)

    async def _account_deposit(self, a: _Amount, operator: str) -> Any:
        self._account(a.account)  # NOT_FOUND, as documented, not the engine's refusal
        units = self._units(a.amount)
        cmd = Deposit(account=a.account, amount=units, operator=operator)
        return await self._engine_action(
            operator, "account.deposit", cmd, account=a.account, amount=a.amount, units=units
        )

    async def _account_withdraw(self, a: _Amount, operator: str) -> Any:
        self._account(a.account)
        units = self._units(a.amount)
        cmd = Withdraw(account=a.account, amount=units, operator=operator)
        return await self._engine_action(
            operator, "account.withdraw", cmd, account=a.account, amount=a.amount, units=units
        )

    async def _margin_action(self, operator: str, action: str, cmd: Any, **detail: Any) -> Any:
        """An account margin command (venue.admin.margin): refusals explained in words."""
        if cmd.account not in self.sequencer.engine.accounts:
            raise OpError(ErrorCode.NOT_FOUND, f"unknown account {cmd.account!r}")
        self._market(cmd.symbol)
        try:
            return await self._engine_action(operator, action, cmd, **detail)
        except OpError as exc:
            reason = exc.message.split(": ", 1)[-1].split(" ", 1)[0]
            why = explain(action, reason, cmd.symbol)
            raise OpError(exc.code, f"{exc.message}: {why}" if why else exc.message) from None

    async def _account_margin_mode(self, a: MarginModeArgs, operator: str) -> Any:
        try:
            isolated = isolated_flag(a.mode)
        except ValueError as exc:
            raise OpError(ErrorCode.BAD_ARGS, str(exc)) from None
        cmd = SetMarginMode(
            account=a.account, symbol=a.symbol, isolated=isolated, operator=operator
        )
        return await self._margin_action(
            operator, "account.margin_mode", cmd, account=a.account, symbol=a.symbol, mode=a.mode
        )

    async def _account_isolated_margin(self, a: IsolatedMarginArgs, operator: str) -> Any:
        try:
            units = signed_units(a.amount)
        except ValueError as exc:
            raise OpError(ErrorCode.BAD_ARGS, str(exc)) from None
        cmd = AdjustIsolatedMargin(
            account=a.account, symbol=a.symbol, amount=units, operator=operator
        )
        return await self._margin_action(
            operator,
            "account.isolated_margin",
            cmd,
            account=a.account,
            symbol=a.symbol,
            amount=a.amount,
            units=units,
        )

    async def _snapshot(self, _a: _NoArgs, operator: str) -> Any:
        take = self._snapshot_now
        if take is None:
            take = getattr(self.sequencer, "snapshot_now", None)
        if take is None:
            raise OpError(ErrorCode.UNAVAILABLE, "this sequencer cannot take a snapshot on demand")
        await self.sequencer.wait_ready()
        seq = take()
        audit = self._record(operator, "snapshot.now", snapshot_seq=seq)
        self.action_commit_ns = await self._committed()
        return {"snapshot_seq": seq, "audit_seq": audit}
