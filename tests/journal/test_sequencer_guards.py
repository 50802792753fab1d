"""Sequencer operations beyond the commit loop: an operator snapshot, and refusing a command the
journal cannot hold before it changes anything."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

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


async def test_a_command_the_journal_cannot_hold_is_refused_before_it_is_applied(
    db_path: Path,
) -> None:
    journal = await Journal.open(db_path)
    engine = StandInEngine()
    seqr = Sequencer(engine, journal, ManualClock())  # type: ignore[arg-type]
    await seqr.start()
    seqr.submit(Add(amount=1))  # type: ignore[arg-type]
    before = engine.state_hash()
    with pytest.raises(ValueError, match="cannot be journaled"):
        seqr.submit(Add(amount=2**70))  # type: ignore[arg-type]
    assert engine.state_hash() == before
    assert seqr.last_seq == 1
    seqr.submit(Add(amount=2))  # type: ignore[arg-type]
    assert seqr.last_seq == 2
    await seqr.stop(snapshot=False)
    await journal.close()
