"""The journal file on disk before SQLite opens it: existence and identity checks, and the
writer lock.

Invariants:
- A database is created only when the file does not exist and `create=True`; an existing file
  that is empty, not SQLite, or not a regular readable and writable file is an error, never
  re-initialised; a stray write-ahead log without its database is refused.
- One writer: `lock` takes an exclusive flock on `<path>.lock` (the kernel drops it when the
  process dies, so a crash never leaves a stale lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from venue.journal.errors import JournalCorrupt, JournalMissing, JournalUnreadable


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def check_file(path: Path, *, create: bool) -> bool:
    """True when a new database is to be created. Raises for a missing or unusable file."""
    if not path.exists():
        if not create:
            raise JournalMissing(
                f"journal {path} does not exist (create a new one only on first run, when told to)"
            )
        if not path.parent.is_dir():
            raise JournalUnreadable(f"journal {path}: directory {path.parent} does not exist")
        wal = path.with_name(path.name + "-wal")
        if wal.exists():
            # SQLite would replay a stray WAL into the new file: someone removed the database
            # but not its log. Refuse rather than build a journal out of another one's pages.
            raise JournalCorrupt(
                f"journal {path} does not exist but its write-ahead log {wal} does "
                f"(database deleted without its -wal file?)"
            )
        return True
    if not path.is_file():
        raise JournalUnreadable(f"journal {path} is not a regular file")
    if not os.access(path, os.R_OK | os.W_OK):
        raise JournalUnreadable(f"journal {path} is not readable and writable by this user")
    try:
        size = path.stat().st_size
        with path.open("rb") as fh:
            header = fh.read(16)
    except OSError as exc:
        raise JournalUnreadable(f"journal {path} cannot be read: {_describe(exc)}") from exc
    if size == 0:
        raise JournalCorrupt(f"journal {path} is empty (0 bytes): truncated or not a journal")
    if header != b"SQLite format 3\x00":
        raise JournalCorrupt(f"journal {path} is not an SQLite database (bad file header)")
    return False


def lock(path: Path) -> int:
    """Take the journal's writer lock (flock on a side file; the kernel drops it when the
    process dies, so a crash never leaves a stale lock)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o644)
    except OSError as exc:
        raise JournalUnreadable(f"journal {path}: cannot create lock file: {exc}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError as exc:
        holder = os.read(fd, 32).decode(errors="replace").strip() or "unknown"
        os.close(fd)
        raise JournalUnreadable(
            f"journal {path} is in use by another venue process (pid {holder}, lock {lock_path})"
        ) from exc
    os.ftruncate(fd, 0)
    os.write(fd, str(os.getpid()).encode())
    return fd


def unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
