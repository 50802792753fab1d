"""The journal database on its own: opening rules, faults at open, one-transaction batches,
the FIX session store and outbound message store."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path
from typing import Any

import pytest

from venue.journal import (
    Batch,
    Journal,
    JournalCorrupt,
    JournalMissing,
    JournalUnreadable,
    JournalWriteFailed,
    Snapshot,
    store,
)
from venue.journal.store import Synchronous


def _batch(first: int, n: int, *, ts: int = 100) -> Batch:
    batch = Batch()
    batch.rows = [(s, ts + s, b"cmd%d" % s, b"ev%d" % s) for s in range(first, first + n)]
    return batch


async def test_create_then_reopen_keeps_rows(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    assert (journal.last_seq, journal.last_ts) == (0, 0)
    await journal.commit(_batch(1, 5))
    assert (journal.last_seq, journal.last_ts) == (5, 105)
    await journal.close()
    journal = await Journal.open(db_path, create=False, synchronous="NORMAL")
    try:
        assert (journal.last_seq, journal.last_ts) == (5, 105)
        seen: list[tuple[int, int, bytes]] = []
        await journal.scan(2, seen.extend, chunk=2)
        assert [r[0] for r in seen] == [3, 4, 5]
        assert seen[0] == (3, 103, b"cmd3")
        full: list[tuple[int, int, bytes, bytes]] = []
        await journal.scan(0, full.extend, with_events=True)
        assert full[-1] == (5, 105, b"cmd5", b"ev5")
        chained: list[tuple[int, int, bytes, bytes, bytes]] = []
        await journal.scan(4, chained.extend, with_chain=True)
        assert chained[-1][:4] == (5, 105, b"cmd5", b"ev5")
        assert chained[-1][4] == journal.last_chain == await journal.chain_hash_at(5)
        assert await journal.quick_check() is None
    finally:
        await journal.close()


async def test_missing_file_without_create_is_an_error(db_path: Path) -> None:
    with pytest.raises(JournalMissing, match="does not exist"):
        await Journal.open(db_path, create=False)
    assert not db_path.exists()  # nothing was created


async def test_empty_file_is_not_reinitialised(db_path: Path) -> None:
    db_path.write_bytes(b"")
    with pytest.raises(JournalCorrupt, match="empty"):
        await Journal.open(db_path, create=True)
    assert db_path.read_bytes() == b""


async def test_garbage_file_is_corrupt(db_path: Path) -> None:
    db_path.write_bytes(b"this is not a database at all" * 100)
    with pytest.raises(JournalCorrupt, match="not an SQLite database"):
        await Journal.open(db_path)


async def test_other_sqlite_file_is_not_a_journal(db_path: Path) -> None:
    conn = sqlite3.connect(db_path)
    conn.execute("CREATE TABLE t (x)")
    conn.commit()
    conn.close()
    db_path.chmod(0o600)
    with pytest.raises(JournalCorrupt, match="not a venue journal"):
        await Journal.open(db_path)


async def test_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(JournalUnreadable, match="not a regular file"):
        await Journal.open(tmp_path)


async def test_missing_directory_is_unreadable(tmp_path: Path) -> None:
    with pytest.raises(JournalUnreadable, match="does not exist"):
        await Journal.open(tmp_path / "nope" / "venue.db")


async def test_header_damage_is_corrupt(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    await journal.commit(_batch(1, 50))
    await journal.close()
    data = bytearray(db_path.read_bytes())
    data[16:24] = b"\xff" * 8  # page size and format bytes
    db_path.write_bytes(bytes(data))
    with pytest.raises(JournalCorrupt):
        await Journal.open(db_path)


async def test_truncated_file_is_reported(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    for first in range(1, 3000, 100):
        await journal.commit(_batch(first, 100))
    await journal.close()
    size = db_path.stat().st_size
    with db_path.open("r+b") as fh:
        fh.truncate(size // 2)
    with pytest.raises(JournalCorrupt, match="corrupt or truncated"):
        journal = await Journal.open(db_path, create=False)
        try:
            await journal.scan(0, lambda rows: None)
        finally:
            await journal.close()


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
async def test_batch_is_one_transaction(db_path: Path, synchronous: Synchronous) -> None:
    journal = await Journal.open(db_path, synchronous=synchronous)
    try:
        await journal.commit(_batch(1, 3))
        bad = _batch(4, 2)
        bad.rows.append((5, 1, b"dup", b"dup"))  # duplicate seq: the whole batch must fail
        bad.store_ops.append(("S1", 1, 0, b"msg"))
        bad.session_seqs["S1"] = (2, 2, 0)
        with pytest.raises(JournalWriteFailed, match=r"seq 4\.\.5"):
            await journal.commit(bad)
        assert journal.last_seq == 3
        rows: list[tuple[int, int, bytes]] = []
        await journal.scan(0, rows.extend)
        assert [r[0] for r in rows] == [1, 2, 3]
        assert await journal.read_outbound("S1", 1, 0, 10) == []
        assert await journal.load_session_seqs("S1") is None
        await journal.commit(_batch(4, 1))  # the connection is usable again
        assert journal.last_seq == 4
    finally:
        await journal.close()


async def test_fix_store_ops_apply_in_order(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    try:
        batch = Batch()
        batch.store_ops = [("S1", 1, 1, b"logon"), ("S1", 2, 0, b"er"), ("S2", 1, 1, b"x")]
        batch.session_seqs["S1"] = (2, 3, 0)
        await journal.commit(batch)
        assert await journal.read_outbound("S1", 1, 0, 10) == [
            (1, True, b"logon"),
            (2, False, b"er"),
        ]
        batch = Batch()
        batch.store_ops = [("S1", 3, 0, b"old"), "S1", ("S1", 1, 1, b"logon2")]
        batch.session_seqs["S1"] = (5, 6, 0)
        batch.session_seqs["S1"] = (1, 2, 9)  # last write in a batch wins
        await journal.commit(batch)
        assert await journal.read_outbound("S1", 1, 0, 10) == [(1, True, b"logon2")]
        assert await journal.read_outbound("S2", 1, 0, 10) == [(1, True, b"x")]
        assert await journal.load_session_seqs("S1") == (1, 2, 9)
        assert await journal.load_session_seqs("nobody") is None
    finally:
        await journal.close()


async def test_read_outbound_pages_through_a_range(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    try:
        batch = Batch()
        batch.store_ops = [("S", s, int(s % 5 == 0), b"m%d" % s) for s in range(1, 101)]
        await journal.commit(batch)
        got: list[int] = []
        begin = 10
        while True:
            page = await journal.read_outbound("S", begin, 55, 7)
            if not page:
                break
            assert len(page) <= 7
            got.extend(seq for seq, _, _ in page)
            begin = page[-1][0] + 1
        assert got == list(range(10, 56))
        tail = await journal.read_outbound("S", 98, 0, 100)
        assert [(s, a) for s, a, _ in tail] == [(98, False), (99, False), (100, True)]
    finally:
        await journal.close()


async def test_snapshots_keep_the_newest(db_path: Path) -> None:
    journal = await Journal.open(db_path, keep_snapshots=2)
    try:
        for seq in (1, 2, 3):
            batch = _batch(seq, 1)
            batch.snapshot = Snapshot(seq, 100 + seq, f"h{seq}", b"state%d" % seq)
            await journal.commit(batch)
        assert await journal.latest_snapshot() == Snapshot(3, 103, "h3", b"state3")
        assert await journal.snapshot_hashes() == {2: "h2", 3: "h3"}
    finally:
        await journal.close()


@pytest.mark.parametrize(("synchronous", "on_loop_thread"), [("NORMAL", True), ("FULL", False)])
async def test_commits_run_on_the_loop_thread_at_normal_only(
    db_path: Path, monkeypatch: pytest.MonkeyPatch, synchronous: Synchronous, on_loop_thread: bool
) -> None:
    """NORMAL writes only to the page cache: run here, no hand-over. FULL fsyncs: never here."""
    threads: list[int] = []
    flagged: list[bool] = []  # `committing_on_thread` while the transaction ran
    write_batch = store._write_batch

    def spy(*args: Any) -> Any:
        threads.append(threading.get_ident())
        flagged.append(journal.committing_on_thread)
        return write_batch(*args)

    monkeypatch.setattr(store, "_write_batch", spy)
    journal = await Journal.open(db_path, synchronous=synchronous)
    try:
        for first in (1, 3):
            await journal.commit(_batch(first, 2))
        assert len(threads) == 2
        assert flagged == [not on_loop_thread] * 2
        assert not journal.committing_on_thread
        assert (threads[0] == threading.get_ident()) is on_loop_thread
        assert threads[0] == threads[1]  # one thread for all of them, in order
        assert [r[0] for r in await journal.read_rows([1, 2, 3, 4])] == [1, 2, 3, 4]
    finally:
        await journal.close()


async def test_a_normal_commit_made_while_a_checkpoint_runs_goes_to_the_database_thread(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """It may wait behind the checkpoint's WAL sync: that wait must not hold the loop."""
    threads: list[int] = []
    write_batch = store._write_batch

    def spy(*args: Any) -> Any:
        threads.append(threading.get_ident())
        return write_batch(*args)

    monkeypatch.setattr(store, "_write_batch", spy)
    monkeypatch.setattr(store, "CHECKPOINT_EVERY", 2)
    journal = await Journal.open(db_path, synchronous="NORMAL")
    try:
        await journal.commit(_batch(1, 2))  # no checkpoint yet: here; then one starts
        await journal.commit(_batch(3, 2))  # made while it runs: on the database thread
        assert threads[0] == threading.get_ident() != threads[1]
        assert [r[0] for r in await journal.read_rows([1, 2, 3, 4])] == [1, 2, 3, 4]
    finally:
        await journal.close()


@pytest.mark.parametrize("synchronous", ["FULL", "NORMAL"])
async def test_disk_full_fails_the_commit(db_path: Path, synchronous: Synchronous) -> None:
    journal = await Journal.open(db_path, synchronous=synchronous)
    try:
        await journal._writer.execute("PRAGMA max_page_count = 40")
        big = b"x" * 4000
        seq = 1
        with pytest.raises(JournalWriteFailed, match="full"):
            while seq < 1000:
                batch = Batch()
                batch.rows = [(seq, seq, big, b"")]
                await journal.commit(batch)
                seq += 1
        assert journal.last_seq == seq - 1
        rows: list[tuple[int, int, bytes]] = []
        await journal.scan(0, rows.extend)
        assert len(rows) == seq - 1
    finally:
        await journal.close()


async def test_a_stray_wal_without_its_database_is_refused(db_path: Path) -> None:
    wal = db_path.with_name(db_path.name + "-wal")
    wal.write_bytes(b"\x37\x7f\x06\x82" + b"\x00" * 28)
    with pytest.raises(JournalCorrupt, match="write-ahead log"):
        await Journal.open(db_path, create=True)
    assert not db_path.exists()


async def test_a_second_writer_is_refused_until_the_first_closes(db_path: Path) -> None:
    first = await Journal.open(db_path)
    try:
        with pytest.raises(JournalUnreadable, match=r"in use by another venue process \(pid"):
            await Journal.open(db_path)
        reader = await Journal.open(db_path, create=False, exclusive=False)
        await reader.close()
        batch = Batch()
        batch.rows = [(1, 5, b"c", b"e")]
        await first.commit(batch)
        readonly = await Journal.open(db_path, create=False, readonly=True)  # e.g. verify
        try:  # beside a live writer: sees what it committed, and cannot write
            assert readonly.head == first.head == (1, batch.chain)
            with pytest.raises(JournalWriteFailed, match="read-only"):
                await readonly.commit(batch)
        finally:
            await readonly.close()
    finally:
        await first.close()
    again = await Journal.open(db_path, create=False)
    await again.close()


async def test_read_rows_returns_the_asked_rows_in_order(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    try:
        await journal.commit(_batch(1, 1200))
        rows = await journal.read_rows([1100, 3, 3, 700, 5000])
        assert [r[0] for r in rows] == [3, 700, 1100]  # sorted, deduplicated, 5000 absent
        assert rows[1] == (700, 800, b"cmd700", b"ev700")
        assert await journal.read_rows([]) == []
    finally:
        await journal.close()
