"""Crash recovery: newest snapshot + journal tail replay, checked, before the venue opens.

Invariants:
- The state after `recover` is exactly the state after the last committed command: the newest
  snapshot restored and its state hash checked, then every later journal row applied once, in
  sequence order.
- Sequence numbers must be contiguous (from 1, or from the snapshot's seq + 1) and `ts` must
  never go backwards; any gap, undecodable row or hash mismatch stops start-up with a
  `JournalError` that names the problem and the sequence number. Nothing is skipped.
- The tail is trusted only once checked: every row after the snapshot must match its chain hash
  (chained from the stored hash at the snapshot's seq) and replaying it must give exactly the
  stored events; the first difference stops start-up (`ChainBroken`, `JournalDiverged`). Rows
  up to the snapshot are checked after start-up, in the background (`history`).
- The journal must reach as far as its durable marker proves (`marker`): a shorter journal, or
  another chain hash at the marker's seq, stops start-up with `JournalLost` unless the loss is
  accepted (`accept_loss`), which the report then describes. Only then is the marker re-armed.
- Replay is pure: the engine is fed the stored (already stamped) commands; no clock is read here.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, Protocol

import msgspec

from venue.core import Command, Engine, Event
from venue.journal import marker
from venue.journal.chain import ChainCheck
from venue.journal.errors import (
    JournalCorrupt,
    JournalDiverged,
    JournalGap,
    JournalLost,
    SnapshotMismatch,
)
from venue.journal.store import Journal, RecoveryReport, Synchronous

_decode_cmd = msgspec.msgpack.Decoder(Command).decode
_SHOWN = 160  # characters of an event list shown in a one-line message


class _Monotonic(Protocol):
    def monotonic_ns(self) -> int: ...


def restore_snapshot(seq: int, state_hash: str, data: bytes, *, where: str) -> Engine:
    """Restore a snapshot and check its state hash; raises SnapshotMismatch."""
    try:
        engine = Engine.restore(data)
    except Exception as exc:
        raise SnapshotMismatch(
            f"journal {where}: snapshot at seq {seq} does not restore: {exc}", snapshot_seq=seq
        ) from exc
    actual = engine.state_hash()
    if actual != state_hash:
        raise SnapshotMismatch(
            f"journal {where}: snapshot at seq {seq} restores to state hash {actual}, "
            f"but {state_hash} was stored",
            snapshot_seq=seq,
        )
    return engine


class Replayer:
    """Feeds journal chunks (seq, ts, cmd, ...) to an engine, checking contiguity and ts order.
    `on_row(seq, ts, cmd_bytes, events_bytes_or_None, events)` sees every applied row."""

    __slots__ = ("_apply", "_on_row", "_where", "last_seq", "last_ts")

    def __init__(
        self,
        engine: Engine,
        *,
        after_seq: int,
        after_ts: int,
        where: str,
        on_row: Callable[[tuple[Any, ...], list[Any]], None] | None = None,
    ) -> None:
        self._apply = engine.apply
        self._on_row = on_row
        self._where = where
        self.last_seq = after_seq
        self.last_ts = after_ts

    def __call__(self, rows: list[Any]) -> None:
        apply = self._apply
        on_row = self._on_row
        expected = self.last_seq + 1
        last_ts = self.last_ts
        for row in rows:
            seq = row[0]
            if seq != expected:
                raise JournalGap(
                    f"journal {self._where} has a gap: expected seq {expected}, found seq {seq}",
                    expected_seq=expected,
                    found_seq=seq,
                )
            ts = row[1]
            if ts < last_ts:
                raise JournalCorrupt(
                    f"journal {self._where}: seq {seq} has ts {ts} before the previous {last_ts}",
                    seq=seq,
                )
            try:
                cmd = _decode_cmd(row[2])
            except msgspec.DecodeError as exc:
                raise JournalCorrupt(
                    f"journal {self._where}: seq {seq}: the command does not decode: {exc}",
                    seq=seq,
                ) from exc
            events = apply(cmd)
            if on_row is not None:
                on_row(row, events)
            expected = seq + 1
            last_ts = ts
        self.last_seq = expected - 1
        self.last_ts = last_ts


class EventCheck:
    """`on_row` for a `Replayer` fed (seq, ts, cmd, events, ...) rows: the events replay gives
    must be the stored ones (compared as bytes; decoded only to name the difference)."""

    __slots__ = ("_decode", "_encode", "_where")

    def __init__(self, where: str) -> None:
        self._where = where
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode = msgspec.msgpack.Decoder(list[Event]).decode

    def __call__(self, row: tuple[Any, ...], events: list[Any]) -> None:
        stored = row[3]
        if self._encode(events) == stored:
            return
        seq = row[0]
        try:
            stored_events = self._decode(stored)
        except msgspec.DecodeError as exc:
            raise JournalDiverged(
                f"journal {self._where}: seq {seq}: the stored events do not decode: {exc}",
                seq=seq,
            ) from exc
        if stored_events != events:
            raise JournalDiverged(
                f"journal {self._where}: seq {seq}: replay gives other events than stored: "
                f"{_first_difference(events, stored_events)}",
                seq=seq,
            )


def _first_difference(replayed: list[Any], stored: list[Any]) -> str:
    """The first event that differs, both sides shortened (one line)."""
    for i, (mine, theirs) in enumerate(zip(replayed, stored, strict=False)):
        if mine != theirs:
            return f"event {i}: replayed {_short(mine)}, stored {_short(theirs)}"
    longer, side = (replayed, "replayed") if len(replayed) > len(stored) else (stored, "stored")
    extra = longer[min(len(replayed), len(stored))]
    return (
        f"replayed {len(replayed)} events, stored {len(stored)}; "
        f"the first {side} only: {_short(extra)}"
    )


def _short(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= _SHOWN else text[: _SHOWN - 3] + "..."


async def replay_tail(
    journal: Journal, engine: Engine, *, after_seq: int, after_ts: int, checked: bool = True
) -> int:
    """Apply every journal row after `after_seq` to `engine`. Returns the last seq applied.
    `checked`: each row's chain hash (from the stored one at `after_seq`) and events too."""
    where = str(journal.path)
    if not checked:
        replayer = Replayer(engine, after_seq=after_seq, after_ts=after_ts, where=where)
        await journal.scan(after_seq, replayer)
    else:
        anchor = await journal.chain_hash_at(after_seq)
        if anchor is None:
            raise JournalGap(
                f"journal {where}: no row at seq {after_seq} to continue the chain from",
                expected_seq=after_seq,
                found_seq=None,
            )
        chain = ChainCheck(after_seq=after_seq, after_hash=anchor, where=where)
        replayer = Replayer(
            engine, after_seq=after_seq, after_ts=after_ts, where=where, on_row=EventCheck(where)
        )

        def on_chunk(rows: list[Any]) -> None:
            chain(rows)  # the whole chunk's rows are intact before any is replayed
            replayer(rows)

        await journal.scan(after_seq, on_chunk, with_chain=True)
    if replayer.last_seq != journal.last_seq:
        raise JournalGap(
            f"journal {journal.path}: replay stopped at seq {replayer.last_seq}, "
            f"but the journal ends at seq {journal.last_seq}",
            expected_seq=replayer.last_seq + 1,
            found_seq=None,
        )
    return replayer.last_seq


async def recover(
    path: str | Path,
    *,
    synchronous: Synchronous = "FULL",
    clock: _Monotonic | None = None,
    create: bool = True,
    use_snapshots: bool = True,
    integrity_check: bool = True,
    accept_loss: bool = False,
) -> tuple[Engine, Journal, int]:
    """Open the journal, restore the newest snapshot (hash checked), replay the tail.
    Returns (engine, journal, last_seq); `journal.recovery` holds a `RecoveryReport`.
    `create=False` makes a missing file an error (`JournalMissing`); `use_snapshots=False`
    replays the whole journal from empty (slow; for checks and benchmarks).
    `integrity_check` runs SQLite's `quick_check` over the whole file first, so damage in pages
    that replay does not read (old journal rows, the FIX store) also stops start-up (about
    0.15-0.5 s per million journaled commands). `accept_loss` starts although the journal is
    shorter than its marker proves; `journal.recovery.lost` then says what was lost."""
    start = clock.monotonic_ns() if clock is not None else 0
    journal = await Journal.open(path, synchronous=synchronous, create=create)
    try:
        where = str(journal.path)
        if integrity_check:
            problem = await journal.quick_check()
            if problem is not None:
                raise JournalCorrupt(f"journal {where} fails SQLite quick_check: {problem}")
        snap = await journal.latest_snapshot() if use_snapshots else None
        if snap is None:
            engine, snap_seq, snap_ts = Engine(), 0, 0
        else:
            if snap.seq > journal.last_seq:
                raise JournalGap(
                    f"journal {where}: snapshot at seq {snap.seq} is beyond the journal's "
                    f"last seq {journal.last_seq}",
                    expected_seq=journal.last_seq + 1,
                    found_seq=None,
                )
            engine = restore_snapshot(snap.seq, snap.state_hash, snap.data, where=where)
            snap_seq, snap_ts = snap.seq, snap.ts
        last_seq = await replay_tail(journal, engine, after_seq=snap_seq, after_ts=snap_ts)
        lost = await check_marker(journal, accept_loss=accept_loss)
        journal.mark_running()
    except BaseException:
        await journal.close()
        raise
    duration = clock.monotonic_ns() - start if clock is not None else 0
    journal.recovery = RecoveryReport(
        snapshot_seq=snap_seq,
        last_seq=last_seq,
        replayed=last_seq - snap_seq,
        duration_ns=duration,
        lost=lost,
    )
    return engine, journal, last_seq


async def check_marker(journal: Journal, *, accept_loss: bool) -> str:
    """ "" when the journal reaches as far as its marker proves (or has no marker yet); else
    what is missing, when `accept_loss`; else raises JournalLost."""
    where = journal.path
    try:
        state = marker.read(where)
    except JournalLost as exc:
        if accept_loss:
            return str(exc)
        raise
    problem = "" if state is None else await loss(journal, state)
    if problem and not accept_loss:
        raise JournalLost(
            f"journal {where}: {problem}; refusing to start (`venue run --accept-journal-loss` "
            f"starts anyway and journals the loss)"
        )
    return problem


async def loss(journal: Journal, state: marker.MarkerState, *, last_seq: int = -1) -> str:
    """What the journal lacks of what `state` (its marker) proves, or "". `last_seq`: where the
    journal ends when it is not `journal.last_seq` (a reader beside a live venue read more)."""
    mark = f"its marker {marker.marker_path(journal.path)} ({state.state} at seq {state.seq})"
    last = journal.last_seq if last_seq < 0 else last_seq
    if last < state.seq:
        return (
            f"the journal ends at seq {last}, but {mark} proves seq {state.seq} "
            f"was committed: {state.seq - last} committed commands are missing "
            f"(write-ahead log deleted, truncated or damaged after a crash?)"
        )
    stored = await journal.chain_hash_at(state.seq)
    if stored != state.chain:
        shown = stored.hex()[:16] if stored is not None else "none"
        return (
            f"the journal's chain hash at seq {state.seq} is {shown}..., {mark} recorded "
            f"{state.chain.hex()[:16]}...: it is not the journal the venue wrote "
            f"(replaced or rewritten)"
        )
    return ""
