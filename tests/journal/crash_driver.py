"""Crash-test driver, run as a subprocess: `python -m tests.journal.crash_driver --db PATH
--seed S --count N`.

It recovers the database (creating it on first run), then runs commands `last_seq + 1 .. N` of
the seeded workload through the real Sequencer and Journal. For each command it records a fake
outbound FIX message and session sequence numbers, and prints `R <seq>` (flushed) only when the
command's batch has committed: that is an output the venue "released". The test kills it with
SIGKILL at random points and checks what a restart recovers.
"""

from __future__ import annotations

import argparse
import asyncio
import sys

from tests.journal.workload import command_for
from venue.clock import LiveClock
from venue.journal import recover
from venue.sequencer import Sequencer

SESSION = "CRASH"


async def run(db: str, seed: int, count: int, synchronous: str) -> None:
    clock = LiveClock()
    engine, journal, last_seq = await recover(
        db,
        synchronous="FULL" if synchronous == "FULL" else "NORMAL",
        clock=clock,
        create=True,
    )
    sequencer = Sequencer(
        engine,
        journal,
        clock,
        max_batch=64,
        high_water=512,
        low_water=128,
        snapshot_every_commands=97,
        snapshot_every_ns=10**12,
    )
    out = sys.stdout
    print(f"READY {last_seq}", file=out, flush=True)

    def released(seq: int) -> None:
        out.write(f"R {seq}\n")
        out.flush()

    await sequencer.start()
    for i in range(last_seq + 1, count + 1):
        await sequencer.wait_ready()
        seq, events = sequencer.submit(command_for(seed, i))
        assert seq == i, (seq, i)
        sequencer.record_outbound(
            SESSION, seq, b"8=FIX.4.4|seq=%d|n=%d" % (seq, len(events)), admin=False
        )
        sequencer.record_session_seqs(SESSION, next_in=seq + 1, next_out=seq + 1)
        sequencer.after_commit(lambda seq=seq: released(seq))
        if i % 8 == 0:
            await asyncio.sleep(0)  # let the commit loop run, as a gateway's reads would
    await sequencer.stop()
    await journal.close()
    print("DONE", file=out, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", required=True)
    parser.add_argument("--seed", type=int, required=True)
    parser.add_argument("--count", type=int, required=True)
    parser.add_argument("--synchronous", default="NORMAL")
    args = parser.parse_args()
    asyncio.run(run(args.db, args.seed, args.count, args.synchronous))


if __name__ == "__main__":
    main()
