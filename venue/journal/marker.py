"""The durable marker beside the journal: `<db>.state`, one fixed-size line saying how far the
journal is known to reach, so a lost write-ahead log is noticed rather than silently rolling
back committed (and acknowledged) commands. A single SQLite file cannot vouch for its own tail.

    venue-journal-marker 1 <running|stopped> seq <20 digits> chain <64 hex> crc <8 hex>

Invariants:
- `running seq N chain H` is written (and fsynced) when the venue starts, after recovery; then,
  after every commit and before the commit returns (so before any of its output is released),
  the highest committed seq and its chain hash overwrite it in place (one pwrite, no fsync: it
  survives the process being killed, as the page cache does); it is fsynced after every
  background checkpoint (then it is as durable as the WAL at FULL).
- `stopped seq N chain H` is written and fsynced at a clean stop, after the final checkpoint
  moved everything into the database file.
- The marker never claims more than was committed: a commit that failed never reaches it.
- Written 0600 (see `files`); the write is one pwrite of a record of fixed size at offset 0,
  the CRC-32 at its end tells a torn or damaged record from a valid one.
"""

from __future__ import annotations

import contextlib
import os
import zlib
from pathlib import Path
from typing import NamedTuple

from venue.journal.errors import JournalLost

MAGIC = "venue-journal-marker 1"
FILE_MODE = 0o600


class MarkerState(NamedTuple):
    state: str  # "running" (unclean unless the venue is up) or "stopped" (clean stop)
    seq: int
    chain: bytes


def marker_path(db: Path) -> Path:
    return db.with_name(db.name + ".state")


def encode(state: str, seq: int, chain: bytes) -> bytes:
    body = f"{MAGIC} {state:<7} seq {seq:020d} chain {chain.hex():<64}"
    return f"{body} crc {zlib.crc32(body.encode()):08x}\n".encode()


RECORD_SIZE = len(encode("running", 0, bytes(32)))


def read(db: Path) -> MarkerState | None:
    """The marker of the journal at `db`, or None when there is none. Raises JournalLost when
    it exists but cannot be read or is damaged (nothing is proven then, and nothing assumed)."""
    path = marker_path(db)
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise JournalLost(f"journal marker {path} cannot be read: {exc}") from exc
    try:
        text = raw.decode("ascii")
        body, _, crc = text.rstrip("\n").rpartition(" crc ")
        parts = body[len(MAGIC) :].split()
        if (
            len(raw) != RECORD_SIZE
            or not body.startswith(MAGIC + " ")
            or int(crc, 16) != zlib.crc32(body.encode())
            or len(parts) != 5
            or parts[0] not in ("running", "stopped")
        ):
            raise ValueError("bad record")
        return MarkerState(parts[0], int(parts[2]), bytes.fromhex(parts[4]))
    except ValueError:
        raise JournalLost(
            f"journal marker {path} is damaged (it cannot say how far the journal reached); "
            f"if the journal is known to be complete, remove the marker or start with "
            f"--accept-journal-loss"
        ) from None


class Marker:
    """The open marker file of a running venue (see the module invariants)."""

    __slots__ = ("_fd", "path")

    def __init__(self, db: Path) -> None:
        self.path = marker_path(db)
        existed = self.path.exists()
        self._fd: int | None = os.open(self.path, os.O_RDWR | os.O_CREAT, FILE_MODE)
        if not existed:
            _sync_dir(self.path.parent)

    def running(self, seq: int, chain: bytes) -> None:
        """Start: `running`, fsynced."""
        self._write("running", seq, chain)
        if self._fd is not None:
            os.ftruncate(self._fd, RECORD_SIZE)  # whatever was there beyond one record goes
        self.sync()

    def note(self, seq: int, chain: bytes) -> None:
        """After a commit: `running` at its last seq (no fsync)."""
        self._write("running", seq, chain)

    def sync(self) -> None:
        if self._fd is not None:
            os.fsync(self._fd)

    def stopped(self, seq: int, chain: bytes) -> None:
        """A clean stop: `stopped`, fsynced, and the file closed."""
        self._write("stopped", seq, chain)
        self.sync()
        self.close()

    def close(self) -> None:
        if self._fd is not None:
            with contextlib.suppress(OSError):
                os.close(self._fd)
            self._fd = None

    def _write(self, state: str, seq: int, chain: bytes) -> None:
        if self._fd is not None:
            os.pwrite(self._fd, encode(state, seq, chain), 0)


def _sync_dir(directory: Path) -> None:
    """A new file's directory entry is durable only once its directory is synced."""
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
