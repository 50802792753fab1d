"""`Sequencer.subscribe_applied`: the pre-commit hook drop copies ride on. It runs inside
`submit`, once per command, in sequence order, and what it records commits in the same
transaction as the command."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

from venue.clock import ManualClock
from venue.core import AddInstrument, NewOrder
from venue.core.types import Instrument, InstrumentKind, Side
from venue.journal import Batch
from venue.journal.recovery import recover
from venue.sequencer import Sequencer

BTC = Instrument(
    symbol="BTC-PERP",
    kind=InstrumentKind.PERPETUAL,
    tick_size="0.5",
    lot_size="0.001",
    multiplier="1",
    ref_price=120_000,
    band_ppb=0,
    max_order_qty=100_000,
)


def order(cl: str) -> NewOrder:
    return NewOrder(
        session="S",
        firm="F",
        account="A",
        cl_ord_id=cl,
        symbol="BTC-PERP",
        side=Side.BUY,
        price=100_000,
        qty=1,
    )


async def committed(seq: Sequencer) -> None:
    done = asyncio.Event()
    seq.after_commit(done.set)
    await asyncio.wait_for(done.wait(), 5)


async def test_hook_runs_in_submit_and_its_records_share_the_command_batch(
    tmp_path: Path,
) -> None:
    clock = ManualClock()
    engine, journal, _ = await recover(tmp_path / "v.db", clock=clock)
    batches: list[Batch] = []
    real_commit = journal.commit

    async def spy(batch: Batch) -> None:
        batches.append(batch)
        await real_commit(batch)

    journal.commit = spy  # type: ignore[method-assign]
    seq = Sequencer(engine, journal, clock, max_batch=2)
    calls: list[tuple[int, int, Any, list[Any]]] = []

    def hook(s: int, ts: int, cmd: Any, events: list[Any]) -> None:
        assert seq.committed_seq < s  # before commit
        calls.append((s, ts, cmd, events))
        seq.record_outbound("DC", s, b"copy-%d" % s, admin=False)

    seq.subscribe_applied(hook)
    seq.subscribe_applied(lambda *a: (_ for _ in ()).throw(RuntimeError("a buggy hook")))
    await seq.start()
    results = [seq.submit(AddInstrument(instrument=BTC))]
    for n in range(5):
        clock.advance(1_000)
        results.append(seq.submit(order(f"c{n}")))
    assert [c[0] for c in calls] == [s for s, _ in results] == list(range(1, 7))
    assert [c[3] for c in calls] == [ev for _, ev in results]
    assert all(c[1] == c[2].ts for c in calls)
    await committed(seq)
    # max_batch=2: several transactions, each holding the copies of exactly its own commands
    assert len([b for b in batches if b.rows]) >= 3
    for b in batches:
        row_seqs = [r[0] for r in b.rows]
        copy_seqs = [op[1] for op in b.store_ops if isinstance(op, tuple)]
        assert copy_seqs == row_seqs
    await seq.stop()
    rows = await journal.read_outbound("DC", 1, 6, 100)
    assert [r[0] for r in rows] == list(range(1, 7))
    await journal.close()


async def test_hook_is_not_called_for_replayed_commands(tmp_path: Path) -> None:
    clock = ManualClock()
    engine, journal, _ = await recover(tmp_path / "v.db", clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    seq.submit(AddInstrument(instrument=BTC))
    seq.submit(order("c1"))
    await seq.stop()
    await journal.close()

    engine, journal, last = await recover(tmp_path / "v.db", clock=clock)
    assert last == 2
    seq = Sequencer(engine, journal, clock)
    seen: list[int] = []
    seq.subscribe_applied(lambda s, *_: seen.append(s))
    await seq.start()
    clock.advance(1_000)
    seq.submit(order("c2"))
    assert seen == [3]
    await seq.stop()
    await journal.close()
