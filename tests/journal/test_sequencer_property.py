"""Property test of the sequencer's release rule with random interleavings of submits, records,
after_commit callbacks, commit completions and (sometimes) a failed commit."""

from __future__ import annotations

import asyncio
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.journal.standin import Add, StandInEngine
from venue.clock import ManualClock
from venue.journal import Batch, JournalFailed, JournalWriteFailed
from venue.sequencer import Sequencer


class FakeJournal:
    """Duck-typed journal: commits wait for the test to let one through."""

    def __init__(self, fail_at_commit: int | None) -> None:
        self.last_seq = 0
        self.last_ts = 0
        self.recovery = None
        self.committed_rows: set[int] = set()
        self.committed_store: set[tuple[str, int]] = set()
        self.batch_sizes: list[int] = []
        self.permits = asyncio.Semaphore(0)
        self.commits = 0
        self.fail_at_commit = fail_at_commit

    async def commit(self, batch: Batch) -> None:
        await self.permits.acquire()
        self.commits += 1
        if self.commits == self.fail_at_commit:
            raise JournalWriteFailed("injected")
        self.batch_sizes.append(len(batch.rows))
        self.committed_rows.update(row[0] for row in batch.rows)
        self.committed_store.update(
            (op[0], op[1]) for op in batch.store_ops if isinstance(op, tuple)
        )


OPS = st.lists(
    st.sampled_from(["submit", "record", "after", "commit", "yield"]), min_size=1, max_size=80
)


@settings(max_examples=150, deadline=None)
@given(ops=OPS, max_batch=st.integers(1, 5), fail_at=st.none() | st.integers(1, 6))
def test_outputs_leave_only_after_commit_and_in_queue_order(
    ops: list[str], max_batch: int, fail_at: int | None
) -> None:
    asyncio.run(_scenario(ops, max_batch, fail_at))


async def _scenario(ops: list[str], max_batch: int, fail_at: int | None) -> None:
    journal = FakeJournal(fail_at)
    seqr = Sequencer(
        StandInEngine(),  # type: ignore[arg-type]
        journal,  # type: ignore[arg-type]
        ManualClock(),
        max_batch=max_batch,
        high_water=3,
        low_water=1,
        snapshot_every_commands=10**9,
    )
    queued: list[Any] = []  # what was queued for release, in order
    released: list[Any] = []
    violations: list[str] = []
    failed = asyncio.Event()
    seqr.on_failure(lambda _exc: failed.set())

    def on_commit(seq: int, ts: int, cmd: Any, events: Any) -> None:
        if seq not in journal.committed_rows:
            violations.append(f"seq {seq} released before commit")
        released.append(("cmd", seq))

    seqr.subscribe(on_commit)
    await seqr.start()
    outbound = 0
    for op in ops:
        try:
            if op == "submit":
                seq, _ = seqr.submit(Add(amount=1))
                queued.append(("cmd", seq))
            elif op == "record":
                outbound += 1
                seqr.record_outbound("S", outbound, b"m", admin=False)
            elif op == "after":
                mark = ("cb", len(queued), seqr.last_seq, outbound)

                def callback(mark: tuple[Any, ...] = mark) -> None:
                    _tag, _n, last_seq, last_out = mark
                    if any(s not in journal.committed_rows for s in range(1, last_seq + 1)):
                        violations.append(f"callback {mark} before its commands committed")
                    if any(("S", o) not in journal.committed_store for o in range(1, last_out + 1)):
                        violations.append(f"callback {mark} before its records committed")
                    released.append(mark)

                seqr.after_commit(callback)
                queued.append(mark)
            elif op == "commit":
                journal.permits.release()
            await asyncio.sleep(0)
        except JournalFailed:
            assert failed.is_set()
    stopper = asyncio.ensure_future(seqr.stop(snapshot=False))
    while not stopper.done():
        journal.permits.release()
        await asyncio.sleep(0)
    await stopper
    if failed.is_set():
        assert released == queued[: len(released)]  # a prefix, in order; nothing after
    else:
        assert released == queued  # everything left, in exactly the queued order
    assert not violations, violations
    assert all(size <= max_batch for size in journal.batch_sizes)
    assert seqr.committed_seq <= seqr.last_seq
