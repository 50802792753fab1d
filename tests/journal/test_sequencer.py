"""The sequencer with a stand-in engine: stamping, group commit, release after commit and its
ordering, back-pressure, failure handling, snapshots and the FIX store records."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import pytest
import structlog.testing

from tests.journal.standin import Add, StandInEngine
from venue.clock import ManualClock
from venue.journal import Batch, Journal, JournalFailed, JournalWriteFailed
from venue.sequencer import Sequencer, SequencerStopped

TIMEOUT = 5.0


class GatedJournal(Journal):
    """A journal whose commits wait for the test to open a gate, and which records batches."""

    gate: asyncio.Event
    started: asyncio.Event
    batches: list[list[int]]
    stored: list[list[int]]
    fail_with: BaseException | None

    def setup(self) -> None:
        self.gate = asyncio.Event()
        self.gate.set()
        self.started = asyncio.Event()
        self.batches = []
        self.stored = []
        self.fail_with = None

    async def commit(self, batch: Batch) -> None:
        self.started.set()
        await self.gate.wait()
        if self.fail_with is not None:
            raise self.fail_with
        await super().commit(batch)
        self.batches.append([row[0] for row in batch.rows])
        self.stored.append([op[1] for op in batch.store_ops if not isinstance(op, str)])


async def _open(db_path: Path) -> GatedJournal:
    journal = await GatedJournal.open(db_path)
    assert isinstance(journal, GatedJournal)
    journal.setup()
    return journal


async def _flushed(seqr: Sequencer) -> None:
    """Wait (with a timeout) until everything submitted or recorded so far is committed and
    its outputs released: an after_commit callback queued now runs right after them."""
    done = asyncio.Event()
    seqr.after_commit(done.set)
    await asyncio.wait_for(done.wait(), TIMEOUT)


def _seq(clock: ManualClock, journal: Journal, **kw: Any) -> Sequencer:
    return Sequencer(StandInEngine(), journal, clock, **kw)  # type: ignore[arg-type]


async def test_stamps_applies_and_releases_in_order(db_path: Path) -> None:
    clock = ManualClock()
    journal = await _open(db_path)
    seqr = _seq(clock, journal)
    out: list[Any] = []
    seqr.subscribe(lambda seq, ts, cmd, events: out.append(("sub", seq, ts, cmd.amount)))
    seq1, events1 = seqr.submit(Add(amount=5))
    seqr.after_commit(lambda: out.append("cb1"))
    clock.advance(10)
    seq2, _ = seqr.submit(Add(amount=7))
    seqr.after_commit(lambda: out.append("cb2"))
    assert (seq1, seq2) == (1, 2)
    assert events1[0].total == 5 and events1[0].ts == clock.now_ns() - 10
    assert seqr.last_seq == 2 and seqr.committed_seq == 0
    assert out == []  # nothing before commit
    await seqr.start()
    await _flushed(seqr)
    t0 = clock.now_ns() - 10
    assert out == [("sub", 1, t0, 5), "cb1", ("sub", 2, t0 + 10, 7), "cb2"]
    assert seqr.committed_seq == 2
    assert journal.batches == [[1, 2]]  # one group commit
    await seqr.stop()
    await journal.close()


async def test_group_commit_takes_everything_produced_while_in_flight(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal)
    released: list[int] = []
    seqr.subscribe(lambda seq, ts, cmd, events: released.append(seq))
    await seqr.start()
    journal.gate.clear()
    seqr.submit(Add(amount=1))
    await asyncio.wait_for(journal.started.wait(), TIMEOUT)  # batch [1] is in flight
    for _ in range(5):
        seqr.submit(Add(amount=1))
    assert released == [] and seqr.committed_seq == 0
    journal.gate.set()
    await _flushed(seqr)
    assert journal.batches == [[1], [2, 3, 4, 5, 6]]
    assert released == [1, 2, 3, 4, 5, 6]
    await seqr.stop()
    await journal.close()


async def test_max_batch_splits_transactions(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal, max_batch=3)
    for _ in range(8):
        seqr.submit(Add(amount=1))
    await seqr.start()
    await seqr.stop(snapshot=False)
    assert journal.batches == [[1, 2, 3], [4, 5, 6], [7, 8]]
    await journal.close()


async def test_after_commit_waits_for_earlier_batches(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal)
    order: list[str] = []
    await seqr.start()
    journal.gate.clear()
    seqr.submit(Add(amount=1))
    seqr.after_commit(lambda: order.append("a"))
    await asyncio.wait_for(journal.started.wait(), TIMEOUT)
    seqr.after_commit(lambda: order.append("b"))  # nothing new to write: still after batch 1
    seqr.record_outbound("S", 1, b"hb", admin=True)
    seqr.after_commit(lambda: order.append("c"))
    assert order == []
    journal.gate.set()
    await _flushed(seqr)
    assert order == ["a", "b", "c"]
    assert await journal.read_outbound("S", 1, 0, 10) == [(1, True, b"hb")]
    await seqr.stop()
    await journal.close()


async def test_back_pressure_pauses_and_resumes(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal, high_water=5, low_water=2)
    calls: list[str] = []
    seqr.add_pressure_listener(lambda: calls.append("pause"), lambda: calls.append("resume"))
    await seqr.start()
    journal.gate.clear()
    for _ in range(5):
        seqr.submit(Add(amount=1))
    assert not seqr.backlogged and calls == []
    seqr.submit(Add(amount=1))
    assert seqr.backlogged and calls == ["pause"]
    waiter = asyncio.ensure_future(seqr.wait_ready())
    await asyncio.sleep(0)
    assert not waiter.done()
    journal.gate.set()
    await asyncio.wait_for(waiter, TIMEOUT)
    assert calls == ["pause", "resume"] and not seqr.backlogged
    await seqr.stop()
    await journal.close()


async def test_failed_commit_releases_nothing_and_stops_everything(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal)
    released: list[Any] = []
    failures: list[BaseException] = []
    seqr.subscribe(lambda seq, ts, cmd, events: released.append(seq))
    failed = asyncio.Event()
    seqr.on_failure(failures.append)
    seqr.on_failure(lambda _exc: failed.set())
    seqr.submit(Add(amount=1))
    await seqr.start()
    await _flushed(seqr)
    journal.gate.clear()
    journal.fail_with = JournalWriteFailed("disk full (test)")
    seqr.submit(Add(amount=2))
    seqr.after_commit(lambda: released.append("reply"))
    journal.gate.set()
    await asyncio.wait_for(failed.wait(), TIMEOUT)
    assert released == [1]  # the failed batch's outputs never leave
    assert isinstance(failures[0], JournalWriteFailed)
    assert seqr.failed is failures[0] and seqr.committed_seq == 1
    with pytest.raises(JournalFailed, match="disk full"):
        seqr.submit(Add(amount=3))
    with pytest.raises(JournalFailed):
        seqr.record_outbound("S", 1, b"x", admin=False)
    with pytest.raises(JournalFailed):
        seqr.after_commit(lambda: None)
    with pytest.raises(JournalFailed):
        await seqr.wait_ready()
    late: list[BaseException] = []
    seqr.on_failure(late.append)  # a listener added after the failure hears of it at once
    assert late == failures
    await seqr.stop()
    await journal.close()


async def test_disk_full_on_a_real_database(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    await journal._writer.execute("PRAGMA max_page_count = 30")
    seqr = _seq(ManualClock(), journal, snapshot_every_commands=10**9)
    failures: list[BaseException] = []
    released: list[int] = []
    seqr.on_failure(failures.append)
    seqr.subscribe(lambda seq, ts, cmd, events: released.append(seq))
    await seqr.start()
    with pytest.raises(JournalFailed):
        for _ in range(10_000):
            seqr.submit(Add(amount=1, pad=b"p" * 2000))
            await asyncio.sleep(0)
    assert failures and "full" in str(failures[0])
    assert released == list(range(1, seqr.committed_seq + 1))
    await seqr.stop()
    committed = seqr.committed_seq
    await journal.close()
    journal = await Journal.open(db_path, create=False)
    assert journal.last_seq == committed  # exactly what was acknowledged is on disk
    await journal.close()


async def test_ts_never_goes_backwards(db_path: Path) -> None:
    class BackwardsClock(ManualClock):
        def __init__(self) -> None:
            super().__init__()
            self.values = [100, 90, 95, 120]

        def now_ns(self) -> int:
            return self.values.pop(0)

    journal = await _open(db_path)
    seqr = _seq(BackwardsClock(), journal)  # type: ignore[arg-type]
    stamps = [seqr.submit(Add(amount=1))[1][0].ts for _ in range(4)]
    assert stamps == [100, 100, 100, 120]
    await seqr.stop()
    await journal.close()


async def test_snapshots_by_count_and_time_and_at_stop(db_path: Path) -> None:
    clock = ManualClock()
    journal = await _open(db_path)
    seqr = _seq(clock, journal, snapshot_every_commands=3, snapshot_every_ns=1_000)
    await seqr.start()
    for _ in range(4):
        seqr.submit(Add(amount=2))
    await _flushed(seqr)
    assert seqr.committed_seq == 4
    assert set(await journal.snapshot_hashes()) == {3}
    clock.advance(1_000)
    seqr.submit(Add(amount=2))  # seq 5: due by time
    await _flushed(seqr)
    assert set(await journal.snapshot_hashes()) == {3, 5}
    seqr.submit(Add(amount=2))
    await seqr.stop()  # final snapshot at seq 6
    snap = await journal.latest_snapshot()
    assert snap is not None and snap.seq == 6
    assert StandInEngine.restore(snap.data).total == 12
    assert snap.state_hash == StandInEngine(12, 6).state_hash()
    await journal.close()


async def test_stop_flushes_and_refuses_later_work(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal)
    seqr.record_session_seqs("S", next_in=5, next_out=9, ts_logon=77)
    done: list[int] = []
    for _ in range(3):
        seqr.submit(Add(amount=1))
    seqr.after_commit(lambda: done.append(seqr.committed_seq))
    await seqr.stop()  # never started: stop starts, flushes, stops
    assert done == [3] and journal.last_seq == 3
    assert await journal.load_session_seqs("S") == (5, 9, 77)
    with pytest.raises(SequencerStopped):
        seqr.submit(Add(amount=1))
    await journal.close()


async def test_session_reset_applies_in_order_within_a_batch(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal)
    seqr.record_outbound("S", 1, b"a", admin=False)
    seqr.record_outbound("S", 2, b"b", admin=False)
    seqr.record_session_reset("S")
    seqr.record_outbound("S", 1, b"logon", admin=True)
    seqr.record_session_seqs("S", next_in=2, next_out=3)
    seqr.record_session_seqs("S", next_in=2, next_out=2)
    await seqr.stop()
    assert await journal.read_outbound("S", 0, 0, 10) == [(1, True, b"logon")]
    assert await journal.load_session_seqs("S") == (2, 2, 0)
    await journal.close()


async def test_continues_numbering_after_reopen(db_path: Path) -> None:
    clock = ManualClock()
    journal = await _open(db_path)
    seqr = _seq(clock, journal)
    for _ in range(3):
        seqr.submit(Add(amount=1))
    await seqr.stop()
    await journal.close()
    journal = await _open(db_path)
    seqr = _seq(ManualClock(start_ns=1), journal)  # a clock behind the journal's last ts
    seq, events = seqr.submit(Add(amount=1))
    assert seq == 4 and events[0].ts == journal.last_ts
    await seqr.stop(snapshot=False)
    await journal.close()


async def test_records_after_a_full_batch_share_the_commands_transaction(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal, max_batch=2)
    for _ in range(3):
        seq, _events = seqr.submit(Add(amount=1))
        seqr.record_outbound("S", seq, b"er%d" % seq, admin=False)
    await seqr.stop(snapshot=False)
    assert journal.batches == [[1, 2], [3]]
    assert journal.stored == [[1, 2], [3]]  # the reply to seq 2 went with seq 2
    await journal.close()


async def test_a_failing_listener_does_not_fail_submit_or_the_commit_loop(db_path: Path) -> None:
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal, high_water=1, low_water=0)

    def boom() -> None:
        raise RuntimeError("listener bug")

    def failing_subscriber(seq: int, ts: int, cmd: Any, events: Any) -> None:
        raise RuntimeError("subscriber bug")

    seqr.add_pressure_listener(boom, boom)
    released: list[int] = []
    seqr.subscribe(failing_subscriber)
    seqr.subscribe(lambda seq, ts, cmd, events: released.append(seq))
    seqr.after_commit(boom)
    await seqr.start()
    seqr.submit(Add(amount=1))
    seqr.submit(Add(amount=1))  # crosses high water: the pause listener raises, submit does not
    await _flushed(seqr)
    assert released == [1, 2] and not seqr.backlogged
    seqr.submit(Add(amount=1))
    await _flushed(seqr)
    assert released == [1, 2, 3]
    await seqr.stop()
    await journal.close()


async def test_a_failing_subscriber_never_silences_the_later_ones(db_path: Path) -> None:
    """Every subscriber of a command gets it, whichever raises; each failure is logged with
    the command's seq (DESIGN rule 7: a failing subscriber is isolated and logged)."""
    journal = await _open(db_path)
    seqr = _seq(ManualClock(), journal)
    got: dict[str, list[int]] = {"first": [], "last": []}

    def first(seq: int, ts: int, cmd: Any, events: Any) -> None:
        got["first"].append(seq)

    def raises_on_two(seq: int, ts: int, cmd: Any, events: Any) -> None:
        if seq == 2:
            raise RuntimeError("subscriber bug")

    def last(seq: int, ts: int, cmd: Any, events: Any) -> None:
        got["last"].append(seq)

    for fn in (first, raises_on_two, last):
        seqr.subscribe(fn)
    await seqr.start()
    with structlog.testing.capture_logs() as logs:
        for _ in range(3):
            seqr.submit(Add(amount=1))
        await _flushed(seqr)
    assert got == {"first": [1, 2, 3], "last": [1, 2, 3]}
    failures = [e for e in logs if e["event"] == "sequencer_subscriber_failed"]
    assert [e["seq"] for e in failures] == [2]
    assert "raises_on_two" in failures[0]["subscriber"]
    await seqr.stop()
    await journal.close()
