"""Reading a journal as evidence: never write a byte beside it.

Invariants:
- `readable_copy` returns the database itself when SQLite can read it without writing (see
  `schema.readonly_uri`); only a -wal without its -shm cannot be read that way (SQLite would
  have to create the index), so then the database and its -wal are copied into a private
  temporary directory (0700, files 0600) and the copy is read; the cleanup removes it.
- The original files are only read: their bytes and mtimes stay as they were.
"""

from __future__ import annotations

import shutil
import sqlite3
import tempfile
from collections.abc import Callable
from pathlib import Path


def readable_copy(path: Path) -> tuple[Path, Callable[[], None]]:
    """(the file to open read-only, the cleanup to call when done)."""
    wal = path.with_name(path.name + "-wal")
    shm = path.with_name(path.name + "-shm")
    if not wal.exists() or shm.exists():
        return path, lambda: None
    tmp = Path(tempfile.mkdtemp(prefix="venue-verify-"))  # mkdtemp: mode 0700
    copy = tmp / path.name
    with path.open("rb") as src, copy.open("xb") as dst:
        copy.chmod(0o600)
        shutil.copyfileobj(src, dst)
    wal_copy = tmp / wal.name
    with wal.open("rb") as src, wal_copy.open("xb") as dst:
        wal_copy.chmod(0o600)
        shutil.copyfileobj(src, dst)
    # Opened read-write once, the copy takes its log in (the original is not touched).
    con = sqlite3.connect(copy)
    try:
        con.execute("SELECT count(*) FROM sqlite_schema").fetchone()
    finally:
        con.close()
    return copy, lambda: shutil.rmtree(tmp, ignore_errors=True)
