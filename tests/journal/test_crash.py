"""Crash tests: a real subprocess (crash_driver.py) runs the real Sequencer + Journal + Engine
and is SIGKILLed at random points; restarting must recover exactly the committed prefix."""

from __future__ import annotations

import os
import random
import select
import subprocess
import sys
import time
from pathlib import Path

import msgspec
import pytest

from tests.journal.crash_driver import SESSION
from tests.journal.workload import command_for
from venue.core import Command, Engine
from venue.journal import recover
from venue.journal.verify import main as verify_main

ROOT = Path(__file__).resolve().parents[2]
DEADLINE_S = 30.0  # per driver run; a hung driver fails the test instead of hanging it
COUNT = 1200
_decode = msgspec.msgpack.Decoder(Command).decode


class Run:
    def __init__(self, ready_seq: int, released: list[int], done: bool) -> None:
        self.ready_seq = ready_seq
        self.released = released
        self.done = done


def _drive(db: Path, seed: int, *, kill_after: int | None, synchronous: str) -> Run:
    """Run the driver; SIGKILL it once `kill_after` outputs were released (None: run to end)."""
    cmd = [sys.executable, "-m", "tests.journal.crash_driver", "--db", str(db), "--seed",
           str(seed), "--count", str(COUNT), "--synchronous", synchronous]  # fmt: skip
    proc = subprocess.Popen(cmd, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    fd = proc.stdout.fileno()
    buf = b""
    lines: list[str] = []
    released = 0
    killed = False
    end = time.monotonic() + DEADLINE_S
    try:
        while True:
            remaining = end - time.monotonic()
            assert remaining > 0, f"driver timed out; output so far: {lines[-5:]}"
            ready, _, _ = select.select([fd], [], [], remaining)
            if not ready:
                continue
            chunk = os.read(fd, 65536)
            if not chunk:
                break
            buf += chunk
            *complete, buf = buf.split(b"\n")
            for raw in complete:
                line = raw.decode()
                lines.append(line)
                if line.startswith("R "):
                    released += 1
                    if kill_after is not None and released >= kill_after and not killed:
                        proc.kill()  # SIGKILL: no clean-up runs in the driver
                        killed = True
    finally:
        proc.kill()
        rc = proc.wait()
        err = proc.stderr.read().decode()
        proc.stdout.close()
        proc.stderr.close()
    assert lines and lines[0].startswith("READY"), f"driver failed (rc={rc}): {err}"
    if not killed:
        assert rc == 0, err
    seqs = [int(line[2:]) for line in lines if line.startswith("R ")]
    return Run(int(lines[0].split()[1]), seqs, "DONE" in lines)


async def _check(db: Path, seed: int, released_so_far: list[int]) -> int:
    engine, journal, last_seq = await recover(db, create=False)
    try:
        # every output released before the kill is durable
        assert not released_so_far or max(released_so_far) <= last_seq
        # the journal holds exactly commands 1..last_seq of the stream, each once, in order
        rows: list[tuple[int, int, bytes]] = []
        await journal.scan(0, rows.extend)
        assert [r[0] for r in rows] == list(range(1, last_seq + 1))
        full = Engine()
        for seq, ts, data in rows:
            cmd = _decode(data)
            assert msgspec.structs.replace(cmd, ts=0) == command_for(seed, seq)
            assert cmd.ts == ts
            full.apply(cmd)
        # snapshot + tail (recover) equals a full replay of the committed prefix
        assert engine.state_hash() == full.state_hash()
        # the FIX store committed with the journal: same last sequence number
        stored = await journal.read_outbound(SESSION, 1, 0, 10**6)
        assert [s for s, _, _ in stored] == list(range(1, last_seq + 1))
        if last_seq:
            assert await journal.load_session_seqs(SESSION) == (last_seq + 1, last_seq + 1, 0)
    finally:
        await journal.close()
    return last_seq


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(12))
async def test_sigkill_at_random_points_recovers_the_committed_prefix(
    tmp_path: Path, seed: int
) -> None:
    rnd = random.Random(seed)
    db = tmp_path / "crash.db"
    synchronous = "FULL" if seed % 4 == 0 else "NORMAL"
    released: list[int] = []
    last_seq = 0
    for _kill in range(2):
        run = _drive(db, seed, kill_after=rnd.randint(1, 400), synchronous=synchronous)
        assert run.ready_seq == last_seq  # restart resumes exactly where the journal ends
        assert run.released == sorted(set(run.released))  # released in order, never twice
        released.extend(run.released)
        last_seq = await _check(db, seed, released)
        if run.done:
            break
    run = _drive(db, seed, kill_after=None, synchronous=synchronous)
    assert run.done and run.ready_seq == last_seq
    released.extend(run.released)
    assert released == sorted(set(released))
    assert await _check(db, seed, released) == COUNT


def test_verify_accepts_a_crashed_and_restarted_journal(tmp_path: Path) -> None:
    db = tmp_path / "crash.db"
    _drive(db, 99, kill_after=150, synchronous="NORMAL")
    assert verify_main(["--db", str(db)]) == 0
    _drive(db, 99, kill_after=None, synchronous="NORMAL")
    assert verify_main(["--db", str(db)]) == 0
