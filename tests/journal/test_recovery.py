"""Recovery and verification with the real core: replay determinism, snapshot + tail versus
full replay, and every start-up fault with its message."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path

import msgspec
import pytest

from tests.journal.workload import command_for
from venue.clock import ManualClock
from venue.core import Command, Engine, Event
from venue.journal import (
    JournalCorrupt,
    JournalGap,
    JournalMissing,
    SnapshotMismatch,
    recover,
)
from venue.journal.chain import fill_chain
from venue.journal.verify import main as verify_main
from venue.sequencer import Sequencer

ROOT = Path(__file__).resolve().parents[2]
N = 600
SEED = 7
_decode_cmd = msgspec.msgpack.Decoder(Command).decode
_decode_events = msgspec.msgpack.Decoder(list[Event]).decode


async def _build(db: Path, n: int = N, *, snapshot_every: int = 250, final: bool = True) -> str:
    """Run commands 1..n of the workload through a real sequencer; return the final hash."""
    clock = ManualClock()
    engine, journal, last = await recover(db, clock=clock)
    seqr = Sequencer(engine, journal, clock, max_batch=50, snapshot_every_commands=snapshot_every)
    await seqr.start()
    for i in range(last + 1, n + 1):
        clock.advance(1_000)
        seqr.submit(command_for(SEED, i))
    await seqr.stop(snapshot=final)
    await journal.close()
    return engine.state_hash()


async def _verify(db: Path) -> int:
    """`venue journal verify` runs its own event loop: call it from a thread in async tests."""
    return await asyncio.to_thread(verify_main, ["--db", str(db)])


def _sql(db: Path, statement: str, *params: object, rechain: bool = False) -> None:
    """Change the file behind the venue's back. `rechain`: and recompute every row's chain
    hash, as if the venue itself had written the changed row (to reach the checks behind the
    chain: decoding, ts order, replayed events)."""
    conn = sqlite3.connect(db)
    conn.execute(statement, params)
    if rechain:
        fill_chain(conn)
    conn.commit()
    conn.close()


async def test_recover_equals_full_replay_and_is_deterministic(db_path: Path) -> None:
    live_hash = await _build(db_path, final=False)  # snapshots at 250 and 500, tail of 100
    engine1, journal, last = await recover(db_path, create=False)
    assert journal.recovery is not None and journal.recovery.snapshot_seq == 500
    assert journal.recovery.replayed == 100 and last == N
    rows: list[tuple[int, int, bytes, bytes]] = []
    await journal.scan(0, rows.extend, with_events=True)
    await journal.close()
    assert engine1.state_hash() == live_hash
    # full replay from empty, twice: identical events to those stored, identical hashes
    hashes = []
    for _ in range(2):
        full = Engine()
        for _seq, _ts, cmd, events in rows:
            assert full.apply(_decode_cmd(cmd)) == _decode_events(events)
        hashes.append(full.state_hash())
    assert hashes == [live_hash, live_hash]
    engine2, journal, _ = await recover(db_path, create=False)
    await journal.close()
    assert engine2.state_hash() == live_hash
    assert await _verify(db_path) == 0


async def test_restart_continues_the_stream(db_path: Path) -> None:
    await _build(db_path, 300)
    final = await _build(db_path, N)  # recovers at 300 (snapshot at stop), continues
    reference = Engine()
    engine, journal, last = await recover(db_path, create=False)
    rows: list[tuple[int, int, bytes]] = []
    await journal.scan(0, rows.extend)
    await journal.close()
    for seq, _ts, cmd in rows:
        decoded = _decode_cmd(cmd)
        assert msgspec.structs.replace(decoded, ts=0) == command_for(SEED, seq)
        reference.apply(decoded)
    assert last == N and engine.state_hash() == final == reference.state_hash()


def test_verify_runs_as_a_module(db_path: Path) -> None:
    asyncio.run(_build(db_path, 100))
    proc = subprocess.run(
        [sys.executable, "-m", "venue.journal.verify", "--db", str(db_path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.startswith("OK: 100 commands") and "at seq 100" in proc.stdout


async def test_missing_database(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(JournalMissing, match="does not exist"):
        await recover(db_path, create=False)
    assert await _verify(db_path) == 2
    assert "does not exist" in capsys.readouterr().err
    assert not db_path.exists()


async def test_gap_in_sequence_numbers(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await _build(db_path, final=False)
    _sql(db_path, "DELETE FROM journal WHERE seq = 555")
    with pytest.raises(JournalGap, match="expected seq 555, found seq 556") as info:
        await recover(db_path, create=False)
    assert info.value.expected_seq == 555
    assert await _verify(db_path) == 1
    assert "DIVERGED at seq 555" in capsys.readouterr().err


async def test_gap_at_the_start_without_snapshot(db_path: Path) -> None:
    await _build(db_path, 50, snapshot_every=10**6, final=False)
    _sql(db_path, "DELETE FROM journal WHERE seq = 1")
    with pytest.raises(JournalGap, match="expected seq 1, found seq 2"):
        await recover(db_path, create=False)


async def test_snapshot_hash_mismatch(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await _build(db_path, final=False)
    _sql(db_path, "UPDATE snapshots SET state_hash = 'bad' WHERE seq = 500")
    with pytest.raises(
        SnapshotMismatch, match="snapshot at seq 500 restores to state hash"
    ) as info:
        await recover(db_path, create=False)
    assert info.value.snapshot_seq == 500
    assert await _verify(db_path) == 1
    assert "DIVERGED at seq 500" in capsys.readouterr().err


async def test_snapshot_that_does_not_restore(db_path: Path) -> None:
    await _build(db_path, final=False)
    _sql(db_path, "UPDATE snapshots SET data = ? WHERE seq = 500", b"\xc1garbage")
    with pytest.raises(SnapshotMismatch, match="snapshot at seq 500 does not restore"):
        await recover(db_path, create=False)


async def test_undecodable_command(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await _build(db_path, final=False)
    _sql(db_path, "UPDATE journal SET cmd = ? WHERE seq = 577", b"\xc1", rechain=True)
    with pytest.raises(JournalCorrupt, match="seq 577: the command does not decode") as info:
        await recover(db_path, create=False)
    assert info.value.seq == 577
    assert await _verify(db_path) == 1
    assert "DIVERGED at seq 577" in capsys.readouterr().err


async def test_verify_names_the_first_divergent_event(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _build(db_path, final=False)
    conn = sqlite3.connect(db_path)
    (stored,) = conn.execute("SELECT events FROM journal WHERE seq = 3").fetchone()
    conn.close()
    events = _decode_events(stored)
    assert events
    changed = msgspec.msgpack.encode([msgspec.structs.replace(events[0], ts=events[0].ts + 1)])
    _sql(db_path, "UPDATE journal SET events = ? WHERE seq = 3", changed)
    assert await _verify(db_path) == 1
    assert "DIVERGED at seq 3" in capsys.readouterr().err


async def test_ts_going_backwards_is_reported(db_path: Path) -> None:
    await _build(db_path, final=False)
    _sql(db_path, "UPDATE journal SET ts = 5 WHERE seq = 590", rechain=True)
    with pytest.raises(JournalCorrupt, match="seq 590 has ts 5 before"):
        await recover(db_path, create=False)


async def test_truncated_database(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    await _build(db_path, 2_000, snapshot_every=10**6, final=False)
    with db_path.open("r+b") as fh:
        fh.truncate(db_path.stat().st_size // 2)
    with pytest.raises(JournalCorrupt, match="corrupt or truncated"):
        await recover(db_path, create=False)
    assert await _verify(db_path) == 2
    assert "CORRUPT" in capsys.readouterr().err


async def test_not_a_database(db_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    db_path.write_bytes(b"\x00" * 4096)
    with pytest.raises(JournalCorrupt, match="not an SQLite database"):
        await recover(db_path)
    assert await _verify(db_path) == 2
    assert "not an SQLite database" in capsys.readouterr().err


async def test_damage_outside_the_replayed_tail_stops_start_up(db_path: Path) -> None:
    await _build(db_path, 2_000, snapshot_every=10**6, final=True)  # tail is empty
    size = db_path.stat().st_size
    page = 4096
    with db_path.open("r+b") as fh:
        fh.seek((size // page // 3) * page)
        fh.write(b"\xaa" * page)  # an old journal page: replay would never read it
    with pytest.raises(JournalCorrupt, match="quick_check"):
        await recover(db_path, create=False)
    _engine, journal, last = await recover(db_path, create=False, integrity_check=False)
    await journal.close()
    assert last == 2_000  # without the check, start-up would not notice
