"""The journal's hash chain and durable marker with the real core and real SQLite files: the
hashes follow the documented formula, a change to any row stops start-up (after the newest
snapshot) or is found by the background history check (before it), replay that differs from
the stored events stops start-up, older files are chained by the migration, and a journal
shorter than its marker proves is refused unless the loss is accepted."""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from pathlib import Path

import msgspec
import pytest

from tests.journal.test_recovery import _build, _decode_events, _sql, _verify
from venue.journal import Batch, Journal, JournalCorrupt, recover
from venue.journal.chain import GENESIS
from venue.journal.errors import ChainBroken, JournalDiverged, JournalLost
from venue.journal.history import HistoryCheck
from venue.journal.marker import marker_path
from venue.journal.marker import read as read_marker
from venue.journal.recovery import _first_difference


def _documented_chain(rows: list[tuple[int, int, bytes, bytes]]) -> list[bytes]:
    """chain(n) = BLAKE2b-256(person "venue-journal")(chain(n-1) || int64be seq || int64be ts
    || uint32be len(cmd) || cmd || events), chain(0) = 32 zero bytes (chain.py docstring)."""
    out, prev = [], bytes(32)
    for seq, ts, cmd, events in rows:
        data = prev + struct.pack(">q", seq) + struct.pack(">q", ts)
        data += struct.pack(">I", len(cmd)) + cmd + events
        prev = hashlib.blake2b(data, digest_size=32, person=b"venue-journal").digest()
        out.append(prev)
    return out


def _rows(db: Path) -> list[tuple[int, int, bytes, bytes, bytes]]:
    conn = sqlite3.connect(db)
    try:
        return conn.execute(
            "SELECT seq, ts, cmd, events, chain FROM journal ORDER BY seq"
        ).fetchall()
    finally:
        conn.close()


def _flip(db: Path, seq: int, column: str, byte: int, bit: int) -> None:
    conn = sqlite3.connect(db)
    try:
        (blob,) = conn.execute(f"SELECT {column} FROM journal WHERE seq = ?", (seq,)).fetchone()
        data = bytearray(blob)
        data[byte] ^= 1 << bit
        conn.execute(f"UPDATE journal SET {column} = ? WHERE seq = ?", (bytes(data), seq))
        conn.commit()
    finally:
        conn.close()


async def test_every_row_carries_the_documented_chain_hash(db_path: Path) -> None:
    await _build(db_path, 120, snapshot_every=50)
    rows = _rows(db_path)
    assert [r[4] for r in rows] == _documented_chain([r[:4] for r in rows])
    journal = await Journal.open(db_path, create=False)
    try:
        assert journal.head == (120, rows[-1][4])
        assert await journal.chain_hash_at(0) == GENESIS
        assert await journal.chain_hash_at(77) == rows[76][4]
        assert await journal.chain_hash_at(121) is None
        batch = Batch()
        batch.rows = [(121, 10**12, b"c121", b"e121"), (122, 10**12, b"c122", b"e122")]
        await journal.commit(batch)
        expected = _documented_chain([r[:4] for r in rows] + batch.rows)
        assert batch.chain == expected[-1] == journal.last_chain  # what a replica may carry
        assert await journal.chain_hash_at(121) == expected[-2]
    finally:
        await journal.close()


async def test_a_bit_flipped_in_a_command_after_the_snapshot_stops_start_up(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _build(db_path, final=False)  # snapshots at 250 and 500, tail 501..600
    cmd = _rows(db_path)[576][2]
    _flip(db_path, 577, "cmd", len(cmd) - 1, 0)  # the last field: still decodes
    with pytest.raises(ChainBroken, match="seq 577: the stored row") as info:
        await recover(db_path, create=False)
    assert info.value.seq == 577
    assert await _verify(db_path) == 1
    assert "DIVERGED at seq 577" in capsys.readouterr().err


async def test_replay_that_differs_from_the_stored_events_stops_start_up(db_path: Path) -> None:
    """Rows intact (chain recomputed), but the stored events are not what replay gives: the
    engine or the file disagrees, and start-up must not guess which."""
    await _build(db_path, final=False)
    (stored,) = [r[3] for r in _rows(db_path) if r[0] == 530]
    events = _decode_events(stored)
    assert events
    changed = msgspec.msgpack.encode([msgspec.structs.replace(events[0], ts=events[0].ts + 1)])
    _sql(db_path, "UPDATE journal SET events = ? WHERE seq = 530", changed, rechain=True)
    with pytest.raises(
        JournalDiverged, match="seq 530: replay gives other events than stored: event 0: replayed"
    ) as info:
        await recover(db_path, create=False)
    assert info.value.seq == 530
    assert "\n" not in str(info.value)


async def test_a_row_changed_before_the_snapshot_is_found_in_the_background(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _build(db_path, final=False)
    clean = HistoryCheck(db_path, until_seq=500)
    await clean.run()
    assert (clean.state, clean.rows) == ("ok", 500)
    _flip(db_path, 123, "events", 0, 0)
    _engine, journal, last = await recover(db_path, create=False)  # the live state is right
    try:
        assert last == 600
        report = journal.recovery
        assert report is not None and report.snapshot_seq == 500
        check = HistoryCheck(db_path, until_seq=report.snapshot_seq)
        await check.run()
        assert check.state == "damaged"
        assert "seq 123" in check.detail
        assert check.status()["state"] == "damaged"
    finally:
        await journal.close()
    assert await _verify(db_path) == 1
    assert "DIVERGED at seq 123" in capsys.readouterr().err


async def test_an_older_file_is_chained_when_migrated(db_path: Path) -> None:
    await _build(db_path, 80, snapshot_every=30)
    before = _rows(db_path)
    conn = sqlite3.connect(db_path)
    conn.executescript(
        "ALTER TABLE journal DROP COLUMN chain;"
        "ALTER TABLE fix_session DROP COLUMN logon_sending_time;"
        "ALTER TABLE fix_session DROP COLUMN logon_seq;"
        "DROP TABLE archived;"
        "PRAGMA user_version = 3;"
    )
    conn.close()
    with pytest.raises(JournalCorrupt, match="schema version 3"):
        await Journal.open(db_path, create=False, readonly=True)
    _engine, journal, last = await recover(db_path, create=False)
    await journal.close()
    assert last == 80
    assert _rows(db_path) == before
    assert await _verify(db_path) == 0


async def test_the_marker_follows_commits_and_records_a_clean_stop(db_path: Path) -> None:
    await _build(db_path, 40, snapshot_every=10**6)
    state = read_marker(db_path)
    assert state is not None
    assert (state.state, state.seq, state.chain) == ("stopped", 40, _rows(db_path)[-1][4])
    _engine, journal, _last = await recover(db_path, create=False)
    try:
        running = read_marker(db_path)
        assert running is not None and (running.state, running.seq) == ("running", 40)
        batch = Batch()
        batch.rows = [(41, 10**15, b"c", b"e")]
        await journal.commit(batch)
        noted = read_marker(db_path)  # written before the commit returned
        assert noted is not None and (noted.state, noted.seq) == ("running", 41)
        assert noted.chain == batch.chain
    finally:
        await journal.close()
    assert marker_path(db_path).stat().st_mode & 0o777 == 0o600


async def test_a_journal_shorter_than_its_marker_is_refused_unless_accepted(
    db_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    await _build(db_path, 60, snapshot_every=10**6, final=False)
    _sql(db_path, "DELETE FROM journal WHERE seq > 45")  # a lost tail: what remains is intact
    with pytest.raises(
        JournalLost, match=r"ends at seq 45, but its marker .* proves seq 60"
    ) as info:
        await recover(db_path, create=False)
    assert "--accept-journal-loss" in str(info.value)
    assert "\n" not in str(info.value)
    assert await _verify(db_path) == 1
    assert "LOST" in capsys.readouterr().err
    _engine, journal, last = await recover(db_path, create=False, accept_loss=True)
    try:
        assert last == 45
        assert journal.recovery is not None and "15 committed commands are missing" in (
            journal.recovery.lost
        )
    finally:
        await journal.close()
    state = read_marker(db_path)
    assert state is not None and state.seq == 45  # the accepted loss is the new baseline
    _, journal, _ = await recover(db_path, create=False)
    await journal.close()


async def test_another_journal_at_the_marker_seq_is_refused(db_path: Path) -> None:
    await _build(db_path, 30, snapshot_every=10**6)
    other = db_path.with_name("other.db")
    await _build(other, 31, snapshot_every=10**6)
    _sql(other, "UPDATE journal SET ts = ts + 1 WHERE seq = 30", rechain=True)
    for suffix in ("", "-wal", "-shm"):  # the other journal put in its place, marker kept
        src = other.with_name(other.name + suffix)
        if src.exists():
            src.replace(db_path.with_name(db_path.name + suffix))
    with pytest.raises(JournalLost, match=r"chain hash at seq 30 .* not the journal the venue"):
        await recover(db_path, create=False)


async def test_a_deleted_journal_with_its_marker_left_is_refused(db_path: Path) -> None:
    await _build(db_path, 20, snapshot_every=10**6)
    db_path.unlink()
    with pytest.raises(JournalLost, match="ends at seq 0"):
        await recover(db_path)


def test_the_divergence_message_names_the_first_differing_event() -> None:
    a = [1, 2, 3]
    assert _first_difference(a, [1, 5, 3]) == "event 1: replayed 2, stored 5"
    assert _first_difference(a[:2], a) == "replayed 2 events, stored 3; the first stored only: 3"
    assert _first_difference([*a, 4], a) == (
        "replayed 4 events, stored 3; the first replayed only: 4"
    )
