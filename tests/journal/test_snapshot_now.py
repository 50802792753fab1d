"""`Sequencer.snapshot_now`: an operator's snapshot is written by the next commit and restores."""

from __future__ import annotations

import asyncio
from pathlib import Path

from tests.journal.standin import Add, StandInEngine
from venue.clock import ManualClock
from venue.journal import Journal
from venue.sequencer import Sequencer


async def test_snapshot_now_is_committed_at_the_last_applied_seq(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    seqr = Sequencer(StandInEngine(), journal, ManualClock(), snapshot_every_commands=10**9)  # type: ignore[arg-type]
    await seqr.start()
    for n in range(5):
        seqr.submit(Add(amount=n))  # type: ignore[arg-type]
    taken = seqr.snapshot_now()
    assert taken == 5
    done = asyncio.Event()
    seqr.after_commit(done.set)
    await asyncio.wait_for(done.wait(), timeout=5)
    snap = await journal.latest_snapshot()
    assert snap is not None
    assert snap.seq == taken
    await seqr.stop(snapshot=False)
    await journal.close()
