"""The journal file on disk before SQLite opens it: existence, identity and permission checks,
and the writer lock.

Invariants:
- A database is created only when the file does not exist and `create=True`; an existing file
  that is empty, not SQLite, or not a regular readable and writable file is an error, never
  re-initialised; a stray write-ahead log without its database is refused.
- Private: the venue creates the database file, its lock file and its marker 0600 (SQLite gives
  -wal and -shm the database file's mode), and `check_private` refuses a journal whose files
  (database, -wal, -shm, lock, marker) group or others may read or write, as ssh does for keys.
- One writer: `lock` takes an exclusive flock on `<path>.lock` (the kernel drops it when the
  process dies, so a crash never leaves a stale lock).
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from pathlib import Path

from venue.journal.errors import JournalCorrupt, JournalMissing, JournalUnreadable, JournalUnsafe


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


FILE_MODE = 0o600
DIR_MODE = 0o700
SIDE_FILES = ("-wal", "-shm", ".lock", ".state")  # beside the database, same name + suffix


def journal_files(path: Path) -> list[Path]:
    """The database and the files SQLite and the venue keep beside it."""
    return [path, *(path.with_name(path.name + s) for s in SIDE_FILES)]


def check_private(path: Path) -> None:
    """Raise JournalUnsafe when a journal file exists that group or others may read or write
    (or execute: like ssh, anything but the owner's bits). Root bypasses permissions, so the
    mode bits are what is checked, whoever runs the venue."""
    loose: list[tuple[Path, int]] = []
    for p in journal_files(path):
        try:
            mode = p.stat().st_mode & 0o777
        except FileNotFoundError:
            continue
        except OSError as exc:
            raise JournalUnreadable(f"journal file {p} cannot be examined: {exc}") from exc
        if mode & 0o077:
            loose.append((p, mode))
    if loose:
        names = ", ".join(f"{p} (mode {m:04o})" for p, m in loose)
        fix = " ".join(str(p) for p, _ in loose)
        raise JournalUnsafe(
            f"journal files are accessible by other users: {names}; "
            f"they hold every stored FIX message. Fix: chmod 600 {fix}"
        )


def create_file(path: Path) -> None:
    """Create the empty database file 0600 before SQLite opens it (SQLite accepts an empty
    file as a new database and gives -wal and -shm this file's mode)."""
    try:
        os.close(os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, FILE_MODE))
    except OSError as exc:
        raise JournalUnreadable(f"journal {path} cannot be created: {exc}") from exc


def check_file(path: Path, *, create: bool, writable: bool = True) -> bool:
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
    if writable and not os.access(path, os.R_OK | os.W_OK):
        raise JournalUnreadable(f"journal {path} is not readable and writable by this user")
    if not writable and not os.access(path, os.R_OK):
        raise JournalUnreadable(f"journal {path} is not readable by this user")
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
        fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, FILE_MODE)
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


def held(path: Path) -> bool:
    """Whether a venue process holds the journal's writer lock now (it is running)."""
    lock_path = path.with_name(path.name + ".lock")
    try:
        fd = os.open(lock_path, os.O_RDONLY)
    except OSError:
        return False  # no lock file: no venue ever opened it for writing here
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return True
    else:
        fcntl.flock(fd, fcntl.LOCK_UN)
        return False
    finally:
        os.close(fd)


def unlock(fd: int | None) -> None:
    if fd is not None:
        with contextlib.suppress(OSError):
            os.close(fd)
