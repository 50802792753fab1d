"""Journal archives (`venue journal archive`, venue.journal.archive): rows up to a snapshot move
into a compressed file that continues the hash chain; `venue journal verify` still replays and
checks every row from the first, start-up still recovers, a damaged or missing archive is
found; a running venue adopts an archive through its admin socket and deletes the archived
rows while it keeps committing."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.journal.test_recovery import _build
from tests.venue_process import REPO, start_venue, write_config
from venue.admin.client import AdminClient
from venue.admin.journaltools import AuditFilter, read_audit
from venue.journal import recover
from venue.journal.archive import directory
from venue.journal.rows import read_rows_decoded
from venue.journal.verify import main as verify_main


def _archive(db: Path, *args: str, socket: Path | None = None) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "venue", "journal", "archive", "--db", str(db), *args]
    if socket is not None:
        cmd += ["--socket", str(socket)]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120, cwd=REPO, check=False)


def _seqs(db: Path) -> tuple[int, int, int]:
    conn = sqlite3.connect(db)
    try:
        first, last = conn.execute("SELECT min(seq), max(seq) FROM journal").fetchone()
        (archived,) = conn.execute("SELECT coalesce(max(last_seq), 0) FROM archived").fetchone()
        return int(first or 0), int(last or 0), int(archived)
    finally:
        conn.close()


def _state_hash(db: Path) -> str:
    async def run() -> str:
        engine, journal, _ = await recover(db, create=False)
        await journal.close()
        return engine.state_hash()

    return asyncio.run(run())


def test_archived_rows_leave_the_database_and_verify_still_checks_every_row(
    tmp_path: Path,
) -> None:
    db = tmp_path / "venue.db"
    final_hash = asyncio.run(_build(db, 300, snapshot_every=100))
    assert verify_main(["--db", str(db)]) == 0
    size_before = db.stat().st_size

    done = _archive(db, "--upto", "200")
    assert done.returncode == 0, done.stderr
    assert "archived seq 1..200" in done.stdout
    assert _seqs(db) == (201, 300, 200)
    (file,) = directory(db).iterdir()
    assert file.name == "000000000001-000000000200.vja"
    assert file.stat().st_mode & 0o777 == 0o600 and directory(db).stat().st_mode & 0o777 == 0o700
    assert verify_main(["--db", str(db)]) == 0  # rows 1..200 replayed from the archive
    assert _state_hash(db) == final_hash  # start-up does not need archived rows
    conn = sqlite3.connect(db)
    conn.execute("VACUUM")
    conn.close()
    assert db.stat().st_size < size_before

    # a second archive continues the chain from the first one's end
    asyncio.run(_build(db, 450, snapshot_every=100))
    done = _archive(db)  # up to the newest snapshot: the clean stop's, at 450
    assert done.returncode == 0, done.stderr
    assert _seqs(db) == (0, 0, 450)  # every row archived: the journal continues after 450
    assert verify_main(["--db", str(db)]) == 0
    asyncio.run(_build(db, 470, snapshot_every=100))  # seqs go on from 451
    assert _seqs(db) == (451, 470, 450)
    assert verify_main(["--db", str(db)]) == 0


def test_journal_consumers_read_the_archived_rows_first(tmp_path: Path) -> None:
    """Surveillance and reports read through `read_rows_decoded`: after an archive they still
    see every row from the first, in order."""
    db = tmp_path / "venue.db"
    asyncio.run(_build(db, 250, snapshot_every=100))
    assert _archive(db, "--upto", "200").returncode == 0

    def read(after: int) -> list[int]:
        seqs: list[int] = []
        asyncio.run(
            read_rows_decoded(str(db), lambda seq, _ts, _c, _e: seqs.append(seq), after_seq=after)
        )
        return seqs

    assert read(0) == list(range(1, 251))
    assert read(150) == list(range(151, 251))
    assert read(220) == list(range(221, 251))


@pytest.mark.parametrize("damage", ["flip", "delete", "truncate"])
def test_a_damaged_or_missing_archive_fails_verify(tmp_path: Path, damage: str) -> None:
    db = tmp_path / "venue.db"
    asyncio.run(_build(db, 200, snapshot_every=100))
    assert _archive(db, "--upto", "100").returncode == 0
    (file,) = directory(db).iterdir()
    data = file.read_bytes()
    if damage == "flip":
        file.write_bytes(data[:50] + bytes([data[50] ^ 1]) + data[51:])
    elif damage == "delete":
        file.unlink()
    else:
        file.write_bytes(data[: len(data) // 2])
    assert verify_main(["--db", str(db)]) != 0


def test_what_cannot_be_archived_is_refused_and_nothing_changes(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    asyncio.run(_build(db, 200, snapshot_every=100))
    before = _seqs(db)
    refused = _archive(db, "--upto", "150")
    assert refused.returncode == 4 and "not a stored snapshot" in refused.stderr
    assert _archive(db, "--upto", "100").returncode == 0
    again = _archive(db, "--upto", "100")
    assert again.returncode == 4 and "archived already" in again.stderr
    assert before[1] == _seqs(db)[1] == 200
    assert verify_main(["--db", str(db)]) == 0


def test_a_running_venue_adopts_an_archive_and_keeps_trading(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    socket = tmp_path / "admin.sock"
    db = tmp_path / "venue.db"
    venue = start_venue(cfg, cwd=tmp_path)
    try:
        venue.wait_ready(timeout=60)
        with AdminClient(str(socket)) as client:
            for amount in ("1", "2"):
                r = client.request("account.deposit", account="ALPHA-1", amount=amount)
                assert r.error is None, r.error
            snap = client.request("snapshot.now")
            assert snap.error is None, snap.error
            r = client.request("account.deposit", account="ALPHA-1", amount="3")
            assert r.error is None
        done = _archive(db, socket=socket)
        assert done.returncode == 0, done.stderr
        _first, last, archived = _seqs(db)
        assert archived > 0
        deadline = time.monotonic() + 30  # the venue deletes the archived rows in chunks
        while _seqs(db)[0] <= archived and _seqs(db)[0] != 0:
            assert time.monotonic() < deadline, "archived rows still in the database"
            time.sleep(0.05)
        with AdminClient(str(socket)) as client:  # it trades on after the adoption
            r = client.request("account.deposit", account="ALPHA-1", amount="4")
            assert r.error is None, r.error
            audit = client.request("status")
            assert audit.error is None
        assert venue.terminate() == 0
    finally:
        venue.kill()
    first, last_after, archived_after = _seqs(db)
    assert archived_after == archived and last_after > last
    assert first == archived + 1  # the archived rows were deleted from the database
    assert verify_main(["--db", str(db)]) == 0
    conn = sqlite3.connect(db)
    try:
        actions = [bytes(r[0]) for r in conn.execute("SELECT cmd FROM journal")]
    finally:
        conn.close()
    assert any(b"journal.archive" in cmd for cmd in actions)  # the adoption is audited
    # the audit still lists the actions whose rows now live in the archive file
    audit = asyncio.run(read_audit(str(db), AuditFilter(action="account.deposit")))
    assert [a["seq"] <= archived for a in audit] == [True, True, False, False]
    venue = start_venue(cfg, cwd=tmp_path)  # and it starts again on the archived journal
    try:
        venue.wait_ready(timeout=60)
        assert venue.terminate() == 0
    finally:
        venue.kill()
