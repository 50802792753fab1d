"""Journal archives: rows moved out of the database into a compressed file that continues the
hash chain, so `venue journal verify` still checks every row from the first.

File format (`<first>-<last>.vja`, an xz stream of the standard library's `lzma`): frames of a
4-byte big-endian length and one msgpack value each:

    header   ["venue-journal-archive/1", first_seq, prev_chain]   prev_chain = chain(first-1)
    row      [seq, ts, cmd, events, chain]                         one per journal row, in order
    trailer  ["end", last_seq, last_chain, rows]

The database records each adopted archive in its `archived` table (first_seq, last_seq, the
chain hash at last_seq, the file's name beside the database in `<db>.archive/`, its SHA-256):
the journal's rows then start after the newest archive's last_seq, and the chain at that seq is
the archive's.

Invariants:
- An archive is written completely (all frames, fsync, then renamed into place) before any
  row is removed from the database; a file that exists under its final name is whole.
- Writing checks every row against its stored chain hash, from the given `prev_chain`: a
  damaged row is never archived (`ChainBroken`); so an archive's chain continues exactly.
- Reading checks the header, every row's chain, the trailer (last seq, hash, row count) and
  that nothing follows it; the caller compares the file's SHA-256 and its end with the
  database's record. Nothing here writes the database.
- Only rows up to a stored snapshot are archived (the caller's rule): start-up never needs
  an archived row.
"""

from __future__ import annotations

import hashlib
import lzma
import os
import sqlite3
import struct
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import Any

import msgspec

from venue.journal.chain import GENESIS, ChainCheck
from venue.journal.errors import JournalCorrupt
from venue.journal.schema import readonly_uri

FORMAT = "venue-journal-archive/1"
SUFFIX = ".vja"
_LEN = struct.Struct(">I")
_encode = msgspec.msgpack.Encoder().encode
_decode = msgspec.msgpack.Decoder().decode


class ArchiveRecord(msgspec.Struct, frozen=True, kw_only=True):
    """What the database keeps of an adopted archive (a row of `archived`)."""

    first_seq: int
    last_seq: int
    last_ts: int  # the ts of the row at last_seq (the journal continues after it)
    chain: bytes  # the chain hash at last_seq
    file: str  # the file's name in the archive directory
    sha256: str


def directory(db: Path) -> Path:
    """Where the archives of journal `db` live: `<db>.archive/` beside it."""
    return db.with_name(db.name + ".archive")


def file_name(first_seq: int, last_seq: int) -> str:
    return f"{first_seq:012d}-{last_seq:012d}{SUFFIX}"


def _frame(out: lzma.LZMAFile, value: Any) -> None:
    data = _encode(value)
    out.write(_LEN.pack(len(data)))
    out.write(data)


def write(
    db: Path, rows: Iterable[list[Any]], *, first_seq: int, prev_chain: bytes
) -> ArchiveRecord:
    """Write `rows` ((seq, ts, cmd, events, chain), ascending from `first_seq`, checked against
    the chain from `prev_chain`) into a new archive beside `db`; returns its record. The file is
    0600 in a 0700 directory, fsynced and renamed into place only when complete."""
    folder = directory(db)
    folder.mkdir(mode=0o700, exist_ok=True)
    check = ChainCheck(after_seq=first_seq - 1, after_hash=prev_chain, where=str(db))
    tmp = folder / f".writing-{os.getpid()}"
    last_ts = 0
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        with os.fdopen(fd, "wb") as raw:
            with lzma.open(raw, "wb", preset=6) as out:
                _frame(out, [FORMAT, first_seq, prev_chain])
                for row in rows:
                    check([row])
                    last_ts = int(row[1])
                    _frame(out, [row[0], row[1], bytes(row[2]), bytes(row[3]), bytes(row[4])])
                if check.rows == 0:
                    raise JournalCorrupt(f"journal {db}: nothing to archive after {first_seq - 1}")
                _frame(out, ["end", check.head_seq, check.head, check.rows])
            raw.flush()
            os.fsync(raw.fileno())
        name = file_name(first_seq, check.head_seq)
        final = folder / name
        os.replace(tmp, final)
        dir_fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return ArchiveRecord(
        first_seq=first_seq,
        last_seq=check.head_seq,
        last_ts=last_ts,
        chain=check.head,
        file=name,
        sha256=sha256(final),
    )


def sha256(path: Path) -> str:
    h = hashlib.sha256()
    with path.open("rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def read(path: Path, record: ArchiveRecord, *, prev_chain: bytes) -> Iterator[list[Any]]:
    """The rows of the archive at `path`, each checked against the chain from `prev_chain`
    (the hash before `record.first_seq`); raises `JournalCorrupt` (or `ChainBroken`) when the
    file is not the archive `record` describes."""
    where = f"archive {path}"
    if not path.exists():
        raise JournalCorrupt(
            f"{where} is missing (the journal's rows up to seq {record.last_seq} are only there)"
        )
    if sha256(path) != record.sha256:
        raise JournalCorrupt(f"{where}: its SHA-256 is not the one the journal recorded")
    check = ChainCheck(after_seq=record.first_seq - 1, after_hash=prev_chain, where=where)
    try:
        with lzma.open(path, "rb") as f:
            header = _next(f, where)
            if header != [FORMAT, record.first_seq, prev_chain]:
                raise JournalCorrupt(f"{where}: the header does not continue the journal")
            while True:
                value = _next(f, where)
                if value and value[0] == "end":
                    if value != ["end", record.last_seq, record.chain, check.rows]:
                        raise JournalCorrupt(f"{where}: the trailer does not match the record")
                    if f.read(1):
                        raise JournalCorrupt(f"{where}: data after the trailer")
                    return
                check([value])
                yield value
    except (lzma.LZMAError, EOFError, msgspec.DecodeError, ValueError, TypeError) as exc:
        raise JournalCorrupt(f"{where} is damaged: {exc}") from exc


def _next(f: lzma.LZMAFile, where: str) -> Any:
    head = f.read(_LEN.size)
    if len(head) != _LEN.size:
        raise JournalCorrupt(f"{where} ends early (no trailer)")
    (n,) = _LEN.unpack(head)
    data = f.read(n)
    if len(data) != n:
        raise JournalCorrupt(f"{where} ends inside a frame")
    return _decode(data)


def prepare(db: Path, *, upto: int | None) -> ArchiveRecord:
    """Write the archive of the journal rows after its newest archive up to `upto` (a stored
    snapshot's seq; None: the newest snapshot), reading `db` read-only (a live venue may be
    writing it). Returns the record to adopt; the database is not changed."""
    try:
        con = sqlite3.connect(readonly_uri(db), uri=True)
    except sqlite3.Error as exc:
        raise JournalCorrupt(f"journal {db} cannot be opened: {exc}") from exc
    try:
        newest = con.execute(
            "SELECT last_seq, chain FROM archived ORDER BY last_seq DESC LIMIT 1"
        ).fetchone()
        base, prev = (int(newest[0]), bytes(newest[1])) if newest else (0, GENESIS)
        snapshots = [int(r[0]) for r in con.execute("SELECT seq FROM snapshots ORDER BY seq")]
        if upto is None:
            if not snapshots:
                raise JournalCorrupt(f"journal {db} has no snapshot to archive up to")
            upto = snapshots[-1]
        if upto not in snapshots:
            raise JournalCorrupt(
                f"journal {db}: seq {upto} is not a stored snapshot's "
                f"(snapshots: {', '.join(map(str, snapshots)) or 'none'})"
            )
        if upto <= base:
            raise JournalCorrupt(f"journal {db}: rows up to seq {base} are archived already")
        cur = con.execute(
            "SELECT seq, ts, cmd, events, chain FROM journal WHERE seq > ? AND seq <= ?"
            " ORDER BY seq",
            (base, upto),
        )
        rows = (list(r) for batch in iter(lambda: cur.fetchmany(4096), []) for r in batch)
        record = write(db, rows, first_seq=base + 1, prev_chain=prev)
    except sqlite3.Error as exc:
        raise JournalCorrupt(f"journal {db} cannot be read: {exc}") from exc
    finally:
        con.close()
    if record.last_seq != upto:
        raise JournalCorrupt(f"journal {db}: rows {record.last_seq + 1}..{upto} are missing")
    return record


def adoptable(record: ArchiveRecord, *, base: int, chain_at_last: bytes | None, db: Path) -> str:
    """Why the journal cannot adopt `record` now ("" when it can): it must continue the newest
    archive, end at a row whose chain hash it holds, and be the file it names."""
    if record.first_seq != base + 1:
        return f"the archive starts at seq {record.first_seq}, the journal's rows at {base + 1}"
    if chain_at_last is None:
        return f"the journal has no row at seq {record.last_seq}"
    if chain_at_last != record.chain:
        return f"the archive's chain hash at seq {record.last_seq} is not the journal's"
    path = directory(db) / record.file
    if record.file != file_name(record.first_seq, record.last_seq) or not path.is_file():
        return f"no archive file {path}"
    if sha256(path) != record.sha256:
        return f"archive {path}: its SHA-256 is not the one given"
    return ""
