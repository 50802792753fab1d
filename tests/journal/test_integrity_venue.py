"""Journal integrity with the real `venue run` process and its real SQLite files: a bit flipped
in an acknowledged command after the newest snapshot, a write-ahead log deleted, damaged or
truncated after `kill -9`, `venue journal verify` on a crashed database, and the journal
files' permissions. Each fault must be refused at start-up with exit 4 and one line."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import msgspec
import pytest

from tests.venue_process import VenueProcess, start_venue, write_config
from venue.admin.client import AdminClient
from venue.admin.journaltools import AuditFilter, read_audit
from venue.core import Command, Deposit

EXIT_JOURNAL = 4
_decode_cmd = msgspec.msgpack.Decoder(Command).decode


def _ready(cfg: Path, cwd: Path, *args: str) -> VenueProcess:
    venue = start_venue(cfg, cwd=cwd, args=args)
    try:
        venue.wait_ready(timeout=60)
    except BaseException:
        venue.kill()
        raise
    return venue


def _deposit(socket: Path, amount: str) -> None:
    """An admin deposit: answered only once its command is committed (acknowledged)."""
    with AdminClient(str(socket)) as client:
        response = client.request("account.deposit", account="ALPHA-1", amount=amount)
    assert response.error is None, response.error


def _crashed_with_tail(tmp_path: Path, amounts: list[str]) -> Path:
    """A journal with a snapshot (clean stop), then acknowledged deposits, then `kill -9`."""
    cfg = write_config(tmp_path)
    venue = _ready(cfg, tmp_path)
    assert venue.terminate() == 0  # the clean stop writes the newest snapshot
    venue = _ready(cfg, tmp_path)
    try:
        for amount in amounts:
            _deposit(tmp_path / "admin.sock", amount)
    finally:
        venue.kill()  # SIGKILL: no clean-up, the -wal holds the tail
    return cfg


def _refused(cfg: Path, cwd: Path) -> str:
    """Run the venue, which must refuse to start: exit 4 and one `venue: journal:` line."""
    venue = start_venue(cfg, cwd=cwd)
    code = venue.wait_ready_or_exit()
    if code is None:
        venue.kill()
        pytest.fail("the venue started on a damaged journal:\n" + venue.stderr)
    assert code == EXIT_JOURNAL, venue.stderr
    lines = [line for line in venue.lines if line.startswith("venue: journal:")]
    assert len(lines) == 1, venue.stderr
    assert "Traceback" not in venue.stderr
    return lines[0]


def _files(db: Path) -> dict[str, tuple[int, int, str] | None]:
    out: dict[str, tuple[int, int, str] | None] = {}
    for suffix in ("", "-wal", "-shm"):
        p = db.with_name(db.name + suffix)
        if p.exists():
            st = p.stat()
            out[suffix] = (st.st_size, st.st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        else:
            out[suffix] = None
    return out


def test_a_bit_flipped_in_an_acknowledged_command_after_the_snapshot_stops_venue_run(
    tmp_path: Path,
) -> None:
    cfg = _crashed_with_tail(tmp_path, ["119.989", "7"])
    db = tmp_path / "venue.db"
    units = (119_989_000).to_bytes(4, "big")
    conn = sqlite3.connect(db)
    try:
        (snap_seq,) = conn.execute("SELECT max(seq) FROM snapshots").fetchone()
        rows = conn.execute("SELECT seq, cmd FROM journal WHERE seq > ?", (snap_seq,)).fetchall()
        ((seq, cmd),) = [(s, bytes(c)) for s, c in rows if b"\xce" + units in c]
        at = cmd.index(b"\xce" + units) + 1
        changed = cmd[:at] + bytes([cmd[at] ^ 1]) + cmd[at + 1 :]  # bit 24 of the amount
        flipped = _decode_cmd(changed)  # still a valid command, with another amount
        assert isinstance(flipped, Deposit) and flipped.amount == 119_989_000 ^ (1 << 24)
        conn.execute("UPDATE journal SET cmd = ? WHERE seq = ?", (changed, seq))
        conn.commit()
    finally:
        conn.close()
    line = _refused(cfg, tmp_path)
    assert f"seq {seq}:" in line
    assert "does not match its chain hash" in line


def test_damage_before_the_snapshot_is_logged_and_shown_by_status(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    venue = _ready(cfg, tmp_path)
    _deposit(tmp_path / "admin.sock", "1")
    assert venue.terminate() == 0  # the clean stop's snapshot covers every row
    db = tmp_path / "venue.db"
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT seq, cmd FROM journal").fetchall()
        seq, cmd = [(s, bytes(c)) for s, c in rows if b"Deposit" in c][-1]  # the admin one
        (snap_seq,) = conn.execute("SELECT max(seq) FROM snapshots").fetchone()
        assert seq < snap_seq
        changed = bytes(cmd[:-1]) + bytes([cmd[-1] ^ 1])
        conn.execute("UPDATE journal SET cmd = ? WHERE seq = ?", (changed, seq))
        conn.commit()
    finally:
        conn.close()
    venue = _ready(cfg, tmp_path)  # the live state comes from the snapshot: it starts
    try:
        line = json.loads(venue.wait_line('"journal_history_damaged"'))
        assert line["level"] == "error"
        assert f"seq {seq}:" in line["detail"]
        with AdminClient(str(tmp_path / "admin.sock")) as client:
            status = client.request("status").result
        assert status["journal"]["history_check"]["state"] == "damaged"
        shown = subprocess.run(
            [
                sys.executable,
                "-m",
                "venue.admin.cli",
                "--socket",
                str(tmp_path / "admin.sock"),
                "status",
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert shown.returncode == 0, shown.stderr
        assert f"DAMAGED: journal {db}: seq {seq}:" in shown.stdout
    finally:
        assert venue.terminate() == 0


@pytest.mark.parametrize("fault", ["deleted", "header damaged", "truncated"])
def test_a_lost_write_ahead_log_after_kill_9_is_detected(tmp_path: Path, fault: str) -> None:
    cfg = _crashed_with_tail(tmp_path, [str(n) for n in range(1, 9)])
    db = tmp_path / "venue.db"
    wal = db.with_name("venue.db-wal")
    size = wal.stat().st_size
    assert size > 32
    if fault == "deleted":
        wal.unlink()
    elif fault == "header damaged":
        with wal.open("r+b") as fh:
            fh.seek(24)  # salt-1: the header's checksum no longer matches
            byte = fh.read(1)
            fh.seek(24)
            fh.write(bytes([byte[0] ^ 0xFF]))
    else:
        with wal.open("r+b") as fh:
            fh.truncate(size // 2)
    line = _refused(cfg, tmp_path)
    assert "committed commands are missing" in line
    assert "--accept-journal-loss" in line
    assert _refused(cfg, tmp_path) == line  # refused again: nothing was changed by refusing

    venue = _ready(cfg, tmp_path, "--accept-journal-loss")
    assert venue.terminate() == 0
    assert "journal_loss_accepted" in venue.stderr
    audit = asyncio.run(read_audit(str(db), AuditFilter(action="journal.")))
    assert len(audit) == 1
    assert audit[0]["action"] == "journal.accept_loss"
    assert "committed commands are missing" in audit[0]["detail"]
    venue = _ready(cfg, tmp_path)  # the accepted state is the new baseline
    assert venue.terminate() == 0


def test_journal_verify_never_writes_on_a_crashed_database(tmp_path: Path) -> None:
    _crashed_with_tail(tmp_path, ["1", "2", "3"])
    db = tmp_path / "venue.db"
    before = _files(db)
    assert before["-wal"] is not None and before["-wal"][0] > 0
    assert before["-shm"] is not None

    def verify() -> str:
        proc = subprocess.run(
            [sys.executable, "-m", "venue", "journal", "verify", "--db", str(db)],
            capture_output=True,
            text=True,
            timeout=120,
            cwd=tmp_path,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr
        return proc.stdout

    assert "OK:" in verify()
    assert _files(db) == before  # bytes and mtimes of db, -wal and -shm unchanged
    db.with_name("venue.db-shm").unlink()  # a -wal without its index: read from a copy
    before = _files(db)
    assert "OK:" in verify()
    assert _files(db) == before
    assert sorted(p.name for p in tmp_path.glob("venue.db*")) == [
        "venue.db",
        "venue.db-wal",
        "venue.db.lock",
        "venue.db.state",
    ]


def _journal_in(tmp_path: Path, directory: Path) -> Path:
    cfg = write_config(tmp_path)
    text = cfg.read_text().replace(str(tmp_path / "venue.db"), str(directory / "venue.db"))
    cfg.write_text(text)
    return cfg


def test_journal_files_are_created_private(tmp_path: Path) -> None:
    jdir = tmp_path / "journal"
    cfg = _journal_in(tmp_path, jdir)
    venue = _ready(cfg, tmp_path)
    try:
        assert jdir.stat().st_mode & 0o777 == 0o700  # created by the venue
        names = {"venue.db", "venue.db-wal", "venue.db-shm", "venue.db.lock", "venue.db.state"}
        # beside them: fixlog/ (the sessions' FIX message files, a private directory) and
        # the surveillance process's alerts file (its -wal/-shm while it writes) and its log
        theirs = {p.name for p in jdir.iterdir() if p.name.startswith("surveillance.db")}
        assert {"surveillance.db", "surveillance.db.log"} <= theirs
        assert {p.name for p in jdir.iterdir()} - theirs == {*names, "fixlog"}
        modes = {p.name: p.stat().st_mode & 0o777 for p in jdir.iterdir()}
        assert modes == {**dict.fromkeys(names | theirs, 0o600), "fixlog": 0o700}
    finally:
        assert venue.terminate() == 0
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in jdir.iterdir() if p.is_file())
    assert all(p.stat().st_mode & 0o777 == 0o600 for p in (jdir / "fixlog").iterdir())


@pytest.mark.parametrize(("name", "mode"), [("venue.db", 0o644), ("venue.db.lock", 0o640)])
def test_venue_refuses_journal_files_others_can_use(tmp_path: Path, name: str, mode: int) -> None:
    cfg = write_config(tmp_path)
    venue = _ready(cfg, tmp_path)
    assert venue.terminate() == 0
    target = tmp_path / name
    target.chmod(mode)
    line = _refused(cfg, tmp_path)
    assert f"{target} (mode {mode:04o})" in line
    assert f"chmod 600 {target}" in line
    target.chmod(0o600)  # the fix the line names
    venue = _ready(cfg, tmp_path)
    assert venue.terminate() == 0


@pytest.fixture
def shared_dir() -> Iterator[Path]:
    """A directory another user can reach (pytest's own tmp_path is 0700: a test there that
    another user cannot read a file would pass for the wrong reason)."""
    path = Path(tempfile.mkdtemp(prefix="venue-perm-"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@pytest.mark.skipif(
    os.getuid() != 0 or shutil.which("setpriv") is None,
    reason="needs root and setpriv to read as another user",
)
def test_another_user_cannot_read_the_journal(tmp_path: Path, shared_dir: Path) -> None:
    jdir = shared_dir / "journal"
    cfg = _journal_in(tmp_path, jdir)
    venue = _ready(cfg, tmp_path)
    try:
        jdir.chmod(0o755)  # let the other user reach the files: their own modes must stop it
        control = jdir / "control"
        control.write_text("readable")
        control.chmod(0o644)

        def read_as_nobody(p: Path) -> subprocess.CompletedProcess[bytes]:
            ids = ["--reuid=65534", "--regid=65534", "--clear-groups"]
            return subprocess.run(
                ["setpriv", *ids, "cat", str(p)], capture_output=True, timeout=30, check=False
            )

        assert read_as_nobody(control).stdout == b"readable"  # the test can tell
        for p in jdir.iterdir():
            if p != control:
                r = read_as_nobody(p)
                assert r.returncode != 0, p
                assert b"Permission denied" in r.stderr, p
        control.unlink()
    finally:
        assert venue.terminate() == 0
