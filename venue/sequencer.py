"""The sequencer: the one door through which commands reach the engine.

It stamps each command with the next sequence number and the clock's time, applies it to the
engine at once, and group-commits the results through the journal: everything produced while
one transaction is in flight (at NORMAL, where the journal commits on the loop's own thread:
during one pass of the event loop) goes into the next one (at most `max_batch` commands each).

Invariants:
- Sequence numbers are contiguous from the journal's last committed one; `ts` never goes
  backwards (the clock's time, or the previous `ts` if the clock stepped back).
- Outputs are released only after the batch that produced them committed, in the order they
  were submitted or recorded: subscriber calls (one per command, in sequence order) and
  `after_commit` callbacks interleave exactly as they were queued.
- A failed commit is final: nothing of that batch or any later one is released, every later
  `submit` / `record_*` / `after_commit` raises `JournalFailed`, and the failure listeners
  are called once. An exception inside `Engine.apply` is an internal error and fails the
  same way (logged as `engine_apply_failed` with its seq and traceback; that submit raises
  `JournalFailed`): the engine's state may be half changed, so nothing more is released.
- The engine applies a command only if every field has its declared type: `submit` decodes
  the command from the bytes it journals (msgspec checks each field) and applies that; an
  ill-typed command is refused with ValueError naming the field, before it takes a seq.
- Memory is bounded by back-pressure: when more than `high_water` commands are uncommitted the
  pause listeners are called (the gateway stops reading its sockets; producers without sockets
  await `wait_ready()`); they are resumed at `low_water`. `submit` itself never refuses a
  command for load, so a command already read is never lost.
- A subscriber, callback or listener that raises is logged (a subscriber's failure with the
  command's seq) and skipped for that one call: every other subscriber still receives the
  command, and it never stops the commit loop or fails a `submit`.
- Pre-commit hooks (`subscribe_applied`) run inside `submit`, right after the engine applied
  the command and its row joined the open batch: whatever they record (outbound FIX messages,
  session sequence numbers) joins the *same* transaction as the command, so a crash keeps both
  or neither. They see every submitted command once, in sequence order (never replayed ones).
- Replication (optional, `set_replicator`): after a batch's local commit and before anything of
  it is released, the replicator is awaited with the batch; the batch is released only once it
  returns. If it raises, the sequencer fails exactly as on a failed commit (nothing of that
  batch or any later one is released).
- Snapshots are taken between two commands (after `snapshot_every_commands` commands or
  `snapshot_every_ns` of monotonic time) and written by the normal commit path, in the same
  transaction as the command they follow.
"""

from __future__ import annotations

import asyncio
from collections import deque
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

import msgspec

from venue.journal import Batch, Journal, JournalFailed, Snapshot
from venue.journal.archive import ArchiveRecord
from venue.log import get_logger

if TYPE_CHECKING:
    from venue.clock import Clock
    from venue.core import Command, Engine, Event

Subscriber = Callable[[int, int, "Command", "list[Event]"], None]
Replicator = Callable[[Batch], Awaitable[None]]
_log = get_logger("venue.sequencer")


def _name(fn: Callable[..., Any]) -> str:
    """A callable's qualified name for a log line (bound methods and partials included)."""
    target = getattr(fn, "func", fn)  # functools.partial
    return str(getattr(target, "__qualname__", None) or repr(target))


def _well_typed(decoders: dict[type, msgspec.msgpack.Decoder[Any]], cmd: Any, data: bytes) -> Any:
    """`cmd` decoded from its own encoding `data` (every field's type checked by msgspec).
    Raises ValueError naming the field when one has the wrong type (nothing applied)."""
    tp = type(cmd)
    if not isinstance(cmd, msgspec.Struct):
        return cmd  # not a command: the engine answers it (MALFORMED_COMMAND)
    dec = decoders.get(tp)
    if dec is None:
        dec = decoders[tp] = msgspec.msgpack.Decoder(tp)
    try:
        return dec.decode(data)
    except msgspec.ValidationError as exc:
        raise ValueError(f"{tp.__name__} is malformed: {_field_named(tp, str(exc))}") from exc


def _field_named(tp: type, message: str) -> str:
    """msgspec's "... - at `$[i]`" of an array-like struct, with the field's name instead."""
    head, sep, where = message.rpartition(" - at `$[")
    index = where.split("]", 1)[0]
    fields: tuple[str, ...] = getattr(tp, "__struct_fields__", ())
    tagged = getattr(getattr(tp, "__struct_config__", None), "tag", None) is not None
    if not sep or not index.isdigit():
        return message
    i = int(index) - (1 if tagged else 0)
    return f"{fields[i]}: {head}" if 0 <= i < len(fields) else message


class SequencerStopped(RuntimeError):
    """`submit` after `stop()`: the venue is shutting down."""


class _Pending:
    """One future transaction: what it writes and what it releases after commit."""

    __slots__ = ("batch", "commands", "last_seq", "release")

    def __init__(self, last_seq: int) -> None:
        self.batch = Batch()
        self.release: list[Any] = []  # (seq, ts, cmd, events) tuples and callables, in order
        self.commands = 0
        self.last_seq = last_seq  # the last seq applied when this batch was closed

    def is_empty(self) -> bool:
        return not self.release and not self.batch.has_writes()


class Sequencer:
    """Stamps, applies, group-commits and releases. See the module docstring for guarantees."""

    def __init__(
        self,
        engine: Engine,
        journal: Journal,
        clock: Clock,
        *,
        max_batch: int = 4096,
        high_water: int = 50_000,
        low_water: int = 10_000,
        snapshot_every_commands: int = 100_000,
        snapshot_every_ns: int = 60 * 10**9,
    ) -> None:
        if not 0 <= low_water < high_water:
            raise ValueError("need 0 <= low_water < high_water")
        if max_batch < 1:
            raise ValueError("max_batch must be at least 1")
        self._engine = engine
        self._journal = journal
        self._clock = clock
        self._max_batch = max_batch
        self._high_water = high_water
        self._low_water = low_water
        self._snap_every_cmds = snapshot_every_commands
        self._snap_every_ns = snapshot_every_ns
        self._encode = msgspec.msgpack.Encoder().encode
        self._decoders: dict[type, msgspec.msgpack.Decoder[Any]] = {}  # per command type
        self._last_seq = journal.last_seq
        self._last_ts = journal.last_ts
        self._committed_seq = journal.last_seq
        # the seq of the newest snapshot on disk (after `recover`), so the next one is due
        # `snapshot_every_commands` after it, not after the restart
        recovered = journal.recovery
        self._snap_seq = recovered.snapshot_seq if recovered is not None else journal.last_seq
        self._snap_mono = clock.monotonic_ns()
        self._open = _Pending(self._last_seq)
        self._closed: deque[_Pending] = deque()
        self._subscribers: list[Subscriber] = []
        self._applied_hooks: list[Subscriber] = []
        self._pause: list[Callable[[], None]] = []
        self._resume: list[Callable[[], None]] = []
        self._failure_listeners: list[Callable[[BaseException], None]] = []
        self._failure: BaseException | None = None
        self._replicate: Replicator | None = None
        self._backlogged = False
        self._stopping = False
        self._wake = asyncio.Event()
        self._ready = asyncio.Event()  # set while not backlogged (or failed: waiters then raise)
        self._ready.set()
        self._task: asyncio.Task[None] | None = None
        self.commits = 0  # transactions written (for tools/bench and tests)
        # fn(commands, commit_ns, committed_seq) once per committed and released batch
        self.batch_observers: list[Callable[[int, int, int], None]] = []

    # -- properties ------------------------------------------------------------------------

    @property
    def engine(self) -> Engine:
        return self._engine

    @property
    def journal(self) -> Journal:
        return self._journal

    @property
    def last_seq(self) -> int:
        """Last sequence number applied to the engine."""
        return self._last_seq

    @property
    def committed_seq(self) -> int:
        """Last sequence number durable in the journal."""
        return self._committed_seq

    @property
    def backlogged(self) -> bool:
        """True from crossing `high_water` uncommitted commands until back at `low_water`."""
        return self._backlogged

    @property
    def failed(self) -> BaseException | None:
        return self._failure

    # -- life cycle ------------------------------------------------------------------------

    async def start(self) -> None:
        """Start the commit loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="sequencer-commit"
            )

    async def stop(self, *, snapshot: bool = True) -> None:
        """Flush and commit everything pending (with a final snapshot), then stop the loop.
        Later submits raise `SequencerStopped`."""
        if self._failure is None and snapshot and self._last_seq > self._snap_seq:
            self._take_snapshot()
        self._stopping = True
        self._wake.set()
        if self._task is None:
            await self.start()
        task = self._task
        assert task is not None
        await task

    # -- producers -------------------------------------------------------------------------

    def submit(self, cmd: Command) -> tuple[int, list[Event]]:
        """Stamp `cmd` with (seq, ts), apply it now and queue it for the next commit.
        Returns (seq, events); queue replies with `record_outbound` + `after_commit`."""
        if self._failure is not None or self._stopping:
            self._check_open()
        now = self._clock.now_ns()
        ts = now if now > self._last_ts else self._last_ts
        seq = self._last_seq + 1
        stamped = msgspec.structs.replace(cmd, ts=ts)
        # Encoded before it is applied: a command the journal cannot hold (an integer beyond
        # 64 bits) is refused here, before it changes state or takes a sequence number.
        try:
            cmd_bytes = self._encode(stamped)
        except (msgspec.EncodeError, OverflowError, TypeError) as exc:
            raise ValueError(f"command cannot be journaled: {exc}") from exc
        # The engine applies the command decoded from those bytes: msgspec checks every
        # field's type (in C), so a handler never sees a wrong type, and the live engine
        # applies exactly what a replay of the journal will apply.
        stamped = _well_typed(self._decoders, stamped, cmd_bytes)
        if self._open.commands >= self._max_batch:
            # closed here, not after the previous submit, so that the records that follow a
            # command (its replies, session seqs) always share its transaction
            self._close_open()
        try:
            events = self._engine.apply(stamped)
        except Exception as exc:
            # An internal error: the state may be half changed and can no longer be trusted.
            # Stop like a failed commit: nothing of the open batch is released.
            _log.critical(
                "engine_apply_failed", seq=seq, command=type(stamped).__name__, exc_info=exc
            )
            self._fail(exc, "engine_apply_failed")
            raise JournalFailed(f"internal error applying seq {seq}: {exc!r}") from exc
        self._last_seq = seq
        self._last_ts = ts
        try:
            events_bytes = self._encode(events)
        except (msgspec.EncodeError, OverflowError, TypeError) as exc:
            # The state already changed and cannot be made durable: stop like a failed commit.
            self._fail(exc)
            raise JournalFailed(f"events of seq {seq} cannot be journaled: {exc}") from exc
        pending = self._open
        pending.batch.rows.append((seq, ts, cmd_bytes, events_bytes))
        pending.release.append((seq, ts, stamped, events))
        pending.commands += 1
        for fn in self._applied_hooks:
            try:
                fn(seq, ts, stamped, events)
            except Exception:  # a hook's bug must not fail the submit of an applied command
                _log.exception("sequencer_applied_hook_failed", seq=seq)
        if seq - self._snap_seq >= self._snap_every_cmds or (
            self._clock.monotonic_ns() - self._snap_mono >= self._snap_every_ns
        ):
            self._take_snapshot()
        if not self._backlogged and seq - self._committed_seq > self._high_water:
            self._backlogged = True
            self._ready.clear()
            _log.warning("sequencer_backlogged", uncommitted=seq - self._committed_seq)
            self._notify(self._pause)
        self._wake.set()
        return seq, events

    def record_outbound(self, session: str, seq: int, data: bytes, *, admin: bool) -> None:
        """Store an outbound FIX message that took sequence number `seq` (same transaction)."""
        if self._failure is not None or self._stopping:
            self._check_open()
        self._open.batch.store_ops.append((session, seq, 1 if admin else 0, data))
        self._wake.set()

    def record_session_seqs(
        self, session: str, *, next_in: int, next_out: int, ts_logon: int = 0
    ) -> None:
        """Save the session's next inbound/outbound sequence numbers and the time of its last
        Logon (0: none known) (last write wins)."""
        if self._failure is not None or self._stopping:
            self._check_open()
        self._open.batch.session_seqs[session] = (next_in, next_out, ts_logon)
        self._wake.set()

    def record_logon_guard(self, session: str, ts_sending: int, msg_seq_num: int) -> None:
        """Save the (SendingTime, MsgSeqNum) of the session's last accepted signed Logon, so
        the replay guard survives a restart (same transaction as the Logon's answer)."""
        self._check_open()
        self._open.batch.logon_guards[session] = (ts_sending, msg_seq_num)
        self._wake.set()

    def record_store_trim(self, session: str, below: int) -> None:
        """Drop the session's stored outbound messages below seq `below` (resend retention),
        after the batch's stores (the stored runs that reach `below` stay whole)."""
        self._check_open()
        trims = self._open.batch.store_trims
        trims[session] = max(below, trims.get(session, 0))
        self._wake.set()

    def record_archive(self, record: ArchiveRecord) -> None:
        """Adopt a journal archive (`venue.journal.archive`) in the next transaction: the rows it
        holds are then the archive's; `record_journal_trim` deletes them from the database."""
        self._check_open()
        self._open.batch.archive = record
        self._wake.set()

    def record_journal_trim(self, rows: int) -> None:
        """Delete up to `rows` archived rows still in the database, oldest first (a chunk per
        transaction keeps a live venue's commits short)."""
        self._check_open()
        self._open.batch.journal_trim = max(rows, self._open.batch.journal_trim)
        self._wake.set()

    def record_session_reset(self, session: str) -> None:
        """Delete the session's stored outbound messages, in order with the other records."""
        self._check_open()
        self._open.batch.store_ops.append(session)
        self._wake.set()

    def after_commit(self, fn: Callable[[], None]) -> None:
        """Run `fn` once everything submitted or recorded so far is committed."""
        if self._failure is not None or self._stopping:
            self._check_open()
        self._open.release.append(fn)
        self._wake.set()

    # -- consumers -------------------------------------------------------------------------

    def subscribe(self, fn: Subscriber) -> None:
        """`fn(seq, ts, cmd, events)` for every command after it commits, in sequence order."""
        self._subscribers.append(fn)

    def subscribe_applied(self, fn: Subscriber) -> None:
        """`fn(seq, ts, cmd, events)` inside `submit`, right after the engine applied the command
        and before it commits; what `fn` records joins the command's transaction."""
        self._applied_hooks.append(fn)

    def set_replicator(self, fn: Replicator | None) -> None:
        """`await fn(batch)` after each local commit, before anything of the batch is released
        (see the module docstring); an exception from it fails the sequencer."""
        self._replicate = fn

    def add_pressure_listener(
        self, on_pause: Callable[[], None], on_resume: Callable[[], None]
    ) -> None:
        self._pause.append(on_pause)
        self._resume.append(on_resume)
        if self._backlogged:
            on_pause()

    def on_failure(self, fn: Callable[[BaseException], None]) -> None:
        self._failure_listeners.append(fn)
        if self._failure is not None:
            fn(self._failure)

    async def wait_ready(self) -> None:
        """For producers without a socket to pause (risk monitor, admin): wait while
        backlogged. Raises JournalFailed if the journal failed meanwhile."""
        await self._ready.wait()
        self._check_open()

    # -- internals -------------------------------------------------------------------------

    def _check_open(self) -> None:
        """Raises unless submits are accepted (callers test the two fields inline first)."""
        if self._failure is not None:
            raise JournalFailed(f"journal failed, the venue accepts nothing: {self._failure}")
        if self._stopping:
            raise SequencerStopped("the sequencer is stopping")

    def snapshot_now(self) -> int:
        """Snapshot after the last applied command, written by the next commit; returns its seq."""
        self._check_open()
        self._take_snapshot()
        self._wake.set()
        return self._last_seq

    def _take_snapshot(self) -> None:
        data = self._engine.snapshot()
        snap = Snapshot(self._last_seq, self._last_ts, self._engine.state_hash(), data)
        self._open.batch.snapshot = snap  # a later snapshot in the same batch supersedes it
        self._snap_seq = self._last_seq
        self._snap_mono = self._clock.monotonic_ns()

    def _close_open(self) -> None:
        self._open.last_seq = self._last_seq
        self._closed.append(self._open)
        self._open = _Pending(self._last_seq)

    def _next_batch(self) -> _Pending | None:
        if self._closed:
            return self._closed.popleft()
        if self._open.is_empty():
            return None
        self._close_open()
        return self._closed.popleft()

    async def _run(self) -> None:
        while True:
            pending = self._next_batch()
            if pending is None:
                if self._stopping:
                    return
                self._wake.clear()
                await self._wake.wait()
                continue
            started = self._clock.monotonic_ns()
            try:
                await self._journal.commit(pending.batch)
                if self._replicate is not None:
                    await self._replicate(pending.batch)
            except BaseException as exc:
                self._fail(exc)
                if isinstance(exc, asyncio.CancelledError):
                    raise
                return
            self.commits += 1
            self._committed_seq = pending.last_seq
            self._release(pending.release)
            if self.batch_observers:
                self._observe(pending.commands, self._clock.monotonic_ns() - started)
            if self._backlogged and self._last_seq - self._committed_seq <= self._low_water:
                self._backlogged = False
                self._ready.set()
                _log.info("sequencer_resumed", uncommitted=self._last_seq - self._committed_seq)
                self._notify(self._resume)
            if self._closed or not self._open.is_empty():
                # A commit at NORMAL returns without suspending: let the loop run its I/O once
                # before the next one, so what arrives meanwhile joins it and nothing waits on
                # a chain of commits fed by release callbacks.
                await asyncio.sleep(0)

    def _observe(self, commands: int, commit_ns: int) -> None:
        for fn in self.batch_observers:
            try:
                fn(commands, commit_ns, self._committed_seq)
            except Exception:
                _log.exception("sequencer_batch_observer_failed")

    def _notify(self, listeners: list[Callable[[], None]]) -> None:
        for fn in list(listeners):
            try:
                fn()
            except Exception:  # a listener's bug must not fail a submit or the commit loop
                _log.exception("sequencer_pressure_listener_failed")

    def _release(self, items: list[Any]) -> None:
        subscribers = self._subscribers
        for item in items:
            if type(item) is tuple:
                seq, ts, cmd, events = item
                for fn in subscribers:
                    # One try per subscriber: a failing one must not keep the command from
                    # the others (order entry, market data, risk all subscribe).
                    try:
                        fn(seq, ts, cmd, events)
                    except Exception:
                        _log.exception("sequencer_subscriber_failed", seq=seq, subscriber=_name(fn))
            else:
                try:
                    item()
                except Exception:
                    _log.exception("sequencer_release_callback_failed", callback=_name(item))

    def _fail(self, exc: BaseException, what: str = "journal_commit_failed") -> None:
        self._failure = exc
        self._ready.set()
        dropped = self._last_seq - self._committed_seq
        self._closed.clear()
        self._open = _Pending(self._last_seq)
        _log.critical(
            what,
            error=str(exc),
            committed_seq=self._committed_seq,
            unreleased_commands=dropped,
        )
        for fn in list(self._failure_listeners):
            try:
                fn(exc)
            except Exception:
                _log.exception("sequencer_failure_listener_failed")
