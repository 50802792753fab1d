"""The journal database: one SQLite file in WAL mode, opened through aiosqlite.

Tables: `journal` (seq, ts, command, events: msgspec msgpack bytes; chain: the row's chain
hash, see `chain`), `snapshots` (seq, ts,
state hash, engine snapshot bytes), `fix_session` (next inbound / outbound FIX sequence numbers
per session) and `fix_outbound_runs`, the outbound FIX message store for ResendRequest: one row
per run of consecutive sequence numbers of one session written by one batch (first/last seq,
one '0'/'1' admin flag per message, each message's end offset as 10 decimal digits, the
messages concatenated), so a batch writes a handful of rows instead of one per message. The
view `fix_outbound (session, seq, admin, data)` shows it one message per row (for tools and
tests; `read_outbound` splits the runs itself).

Invariants:
- One `Batch` is one transaction: its journal rows, FIX store changes (in the order they were
  recorded), session sequence numbers and snapshot commit together or not at all. So the journal
  and the FIX store never disagree.
- Journal rows are appended with contiguous sequence numbers and never updated; they are
  deleted only once an archive holding them was adopted (`archive`, `archived` table), oldest
  first, and the journal's chain then starts from that archive's end (`base`);
  snapshots are only added (the oldest beyond `keep_snapshots` are pruned in the same
  transaction that adds a newer one).
- A database is created only when the file does not exist and `create=True`; an existing file
  that is empty, not SQLite, not a venue journal or of another schema version is an error,
  never re-initialised.
- Reads for the gateway (`load_session_seqs`, `load_logon_guards`, `read_outbound`) use a
  second connection, so they see committed data only and never wait behind a commit (WAL
  readers do not block the writer).
- Where a commit runs: at `NORMAL` on the calling thread (the event loop's), at `FULL` on the
  writer's database thread. A NORMAL commit only writes to the OS page cache (no fsync): tens
  of microseconds, less than handing it to another thread costs (a thread wake-up, a GIL
  hand-over and a loop wake-up: about 40 us of CPU per commit where loop and database thread
  share a core, and a wait for the GIL while the loop is busy). A FULL commit waits for an
  fsync, which must never hold the loop. Neither may a NORMAL commit made while a background
  checkpoint runs (it can wait milliseconds behind the checkpoint's WAL sync, see
  `CHECKPOINT_EVERY`): those go to the database thread too. Commits run one at a time, in
  order (the caller awaits each), and the writer's thread runs nothing else once open.
- WAL checkpoints run on that second connection's thread, off the commit path: one passive
  checkpoint after every `CHECKPOINT_EVERY` journal rows and stored messages committed, never
  two at once; the writer's own automatic checkpoint is only a bound (`WAL_AUTOCHECKPOINT_PAGES`)
  should those fall behind. A checkpoint that fails (busy) is simply caught up by the next
  one: committed data never depends on it. A gateway read may wait behind one checkpoint.
- The runs of one session never overlap: a message stored again under a seq already stored
  (INSERT OR REPLACE semantics) rewrites the runs it touches, merged, in the same transaction.
  The writer keeps each session's highest stored seq (`_tops`) to tell, without a query, that a
  run lies above everything stored (always, in practice: outbound seqs only grow until a reset).
- Every journal row is written with its chain hash, computed in the batch's transaction from
  the previous row's (`head`); `head` advances only once the transaction committed, and
  `Batch.chain` then holds the hash at the batch's last row (what a replica may carry).
- Schema version 4 (see `schema`): opening, configuration and migration live there; it also
  keeps each session's last accepted signed Logon (SendingTime, MsgSeqNum), the replay guard's
  state. A
  `readonly` open (`venue journal verify`) writes nothing beside the file (see
  `schema.readonly_uri`) and is refused for an older version.
- Once `mark_running` armed the durable marker (`marker`), every commit notes its last seq and
  chain hash there before it returns, background checkpoints fsync it, and `close` records a
  clean stop after a final checkpoint that moved everything into the database file.
- One writer: `Journal.open` (exclusive by default) locks `<path>.lock`, so two venue processes
  never write one journal.
- Time enters as arguments (`ts`), this module reads no clock.

Durability (`synchronous`):
- `FULL`: SQLite syncs the WAL at every commit. A committed batch survives a power loss or an
  OS crash. Costs one fsync per commit (group commit amortises it over the batch).
- `NORMAL`: the WAL is synced only at checkpoints. A committed batch survives the process being
  killed (the data is in the OS page cache), but a power loss or kernel crash may lose the last
  batches that were already acknowledged. The file itself stays consistent either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple

import aiosqlite

from venue.journal import outbound, schema
from venue.journal.archive import ArchiveRecord
from venue.journal.chain import GENESIS, link_rows
from venue.journal.errors import JournalError, JournalUnreadable, JournalWriteFailed
from venue.journal.evidence import readable_copy
from venue.journal.files import check_file as _check_file
from venue.journal.files import check_private as _check_private
from venue.journal.files import create_file as _create_file
from venue.journal.files import lock as _lock
from venue.journal.files import unlock as _unlock
from venue.journal.marker import Marker, marker_path
from venue.journal.schema import classify as _classify
from venue.journal.schema import close_quietly as _close_quietly
from venue.journal.schema import describe as _describe
from venue.journal.schema import run_on_db_thread as _run_on_db_thread

Synchronous = Literal["FULL", "NORMAL"]
CHECKPOINT_EVERY = 2048  # journal rows + stored messages committed between two checkpoints
# (at NORMAL a checkpoint first syncs the WAL's unsynced pages, and commits wait on that file
# meanwhile: 16384 gave ~50 ms commit stalls every few seconds, 2048 under 10 ms at the same
# throughput; 1024 cost ~6% throughput for no shorter stalls)

JournalRow = tuple[int, int, bytes, bytes]  # (seq, ts, cmd, events)
OutboundRow = tuple[str, int, int, bytes]  # (session, seq, admin 0/1, data)
StoreOp = OutboundRow | str  # an outbound message to store, or a session whose store is reset


class Snapshot(NamedTuple):
    seq: int
    ts: int
    state_hash: str
    data: bytes


class RecoveryReport(NamedTuple):
    """What start-up did (set by `recover` on `Journal.recovery`; the app logs it)."""

    snapshot_seq: int  # 0: no snapshot, replayed from empty
    last_seq: int
    replayed: int  # commands applied on top of the snapshot
    duration_ns: int  # 0 when no clock was given
    lost: str = ""  # a journal loss the operator accepted (--accept-journal-loss), else ""


class Batch:
    """What one transaction writes. The sequencer fills it; `Journal.commit` writes it."""

    __slots__ = (
        "archive",
        "chain",
        "journal_trim",
        "logon_guards",
        "rows",
        "session_seqs",
        "snapshot",
        "store_ops",
        "store_trims",
    )

    def __init__(self) -> None:
        self.rows: list[JournalRow] = []
        self.store_ops: list[StoreOp] = []  # in recording order: resets and inserts interleave
        # session -> (next_in, next_out, last Logon ts)
        self.session_seqs: dict[str, tuple[int, int, int]] = {}
        # session -> (SendingTime ns, MsgSeqNum) of its last accepted signed Logon
        self.logon_guards: dict[str, tuple[int, int]] = {}
        # session -> drop its stored outbound runs that end below this seq (resend retention)
        self.store_trims: dict[str, int] = {}
        self.snapshot: Snapshot | None = None
        self.archive: ArchiveRecord | None = None  # an archive file to adopt (see `archive`)
        self.journal_trim = 0  # delete up to this many archived rows still in the database
        self.chain = b""  # set by the commit: the chain hash after the batch's last row

    def has_writes(self) -> bool:
        return bool(
            self.rows
            or self.store_ops
            or self.session_seqs
            or self.logon_guards
            or self.store_trims
            or self.snapshot
            or self.archive
            or self.journal_trim
        )


_READ_CHUNK = 512  # seqs per `read_rows` statement (a power of two)
_RUNS_PER_FETCH = 32  # stored runs fetched at a time by `read_outbound`
_UPSERT_SESSION = "INSERT INTO fix_session (session, next_in, next_out, last_logon)"
_UPSERT_TAIL = (
    " ON CONFLICT (session) DO UPDATE SET next_in = excluded.next_in,"
    " next_out = excluded.next_out, last_logon = excluded.last_logon"
)
# A session without a row yet starts at 1/1 (what `load_session_seqs` None means).
_UPSERT_GUARD = (
    "INSERT INTO fix_session (session, next_in, next_out, logon_sending_time, logon_seq)"
    " VALUES (?, 1, 1, ?, ?) ON CONFLICT (session) DO UPDATE SET"
    " logon_sending_time = excluded.logon_sending_time, logon_seq = excluded.logon_seq"
)
_INSERT_ROWS = "INSERT INTO journal (seq, ts, cmd, events, chain)"
_INSERT_SNAPSHOT = "INSERT INTO snapshots (seq, ts, state_hash, data) VALUES (?, ?, ?, ?)"
_ARCHIVED = "SELECT first_seq, last_seq, last_ts, chain, file, sha256 FROM archived"
# rows an adopted archive holds, still in the database: deleted a chunk per batch (see
# `Journal.trim_archived`), oldest first, so a live venue's commits stay short
_TRIM_ARCHIVED = (
    "DELETE FROM journal WHERE seq IN (SELECT seq FROM journal WHERE seq <= "
    "(SELECT coalesce(max(last_seq), 0) FROM archived) ORDER BY seq LIMIT ?)"
)


def _adopt(db: sqlite3.Connection, record: ArchiveRecord) -> None:
    """Record an archive (its rows are then read from the file) and drop the snapshots before
    its end (a state no start-up will restore from again)."""
    db.execute(
        "INSERT INTO archived (first_seq, last_seq, last_ts, chain, file, sha256)"
        " VALUES (?, ?, ?, ?, ?, ?)",
        (
            record.first_seq,
            record.last_seq,
            record.last_ts,
            record.chain,
            record.file,
            record.sha256,
        ),
    )
    db.execute("DELETE FROM snapshots WHERE seq < ?", (record.last_seq,))


def _record(row: Sequence[Any]) -> ArchiveRecord:
    return ArchiveRecord(
        first_seq=int(row[0]),
        last_seq=int(row[1]),
        last_ts=int(row[2]),
        chain=bytes(row[3]),
        file=str(row[4]),
        sha256=str(row[5]),
    )


def _write_batch(  # noqa: PLR0917 (aiosqlite's queue passes arguments positionally)
    db: sqlite3.Connection,
    batch: Batch,
    keep_snapshots: int,
    tops: dict[str, int],
    prev: bytes,
    marker: Marker | None,
) -> bytes:
    """Runs on the database thread: the whole batch as one transaction, rolled back on error.
    Returns the chain hash after its last row (`prev` without rows). `tops` (session -> highest
    stored outbound seq) is updated, and the marker noted, only once it committed."""
    changed: dict[str, int] = {}
    head = prev
    try:
        db.execute("BEGIN IMMEDIATE")
        if batch.rows:
            chained, head = link_rows(prev, batch.rows)
            outbound.insert_rows(db, _INSERT_ROWS, chained, 5)
        if batch.store_ops:
            outbound.write_store_ops(db, batch.store_ops, tops, changed)
        if batch.session_seqs:
            outbound.insert_rows(
                db,
                _UPSERT_SESSION,
                [(name, *seqs) for name, seqs in batch.session_seqs.items()],
                4,
                _UPSERT_TAIL,
            )
        if batch.logon_guards:
            db.executemany(
                _UPSERT_GUARD, [(name, *pair) for name, pair in batch.logon_guards.items()]
            )
        if batch.store_trims:
            db.executemany(outbound.TRIM, list(batch.store_trims.items()))
        if batch.archive is not None:
            _adopt(db, batch.archive)
        if batch.journal_trim:
            db.execute(_TRIM_ARCHIVED, (batch.journal_trim,))
        if batch.snapshot is not None:
            db.execute(_INSERT_SNAPSHOT, batch.snapshot)
            db.execute(
                "DELETE FROM snapshots WHERE seq NOT IN "
                "(SELECT seq FROM snapshots ORDER BY seq DESC LIMIT ?)",
                (keep_snapshots,),
            )
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise
    for session, top in changed.items():
        if top:
            tops[session] = top
        else:
            tops.pop(session, None)
    if marker is not None and batch.rows:
        marker.note(batch.rows[-1][0], head)
    return head


class Journal:
    """The venue's database. Open with `await Journal.open(path)`; close with `await close()`."""

    def __init__(
        self,
        path: Path,
        writer: aiosqlite.Connection,
        reader: aiosqlite.Connection,
        *,
        synchronous: Synchronous,
        keep_snapshots: int,
    ) -> None:
        self._path = path
        self._writer = writer
        self._reader = reader
        self._synchronous: Synchronous = synchronous
        self._keep_snapshots = keep_snapshots
        self._closed = False
        self._lock_fd: int | None = None
        self._since_checkpoint = 0  # rows + messages committed since the last checkpoint began
        self._checkpoint: asyncio.Task[None] | None = None  # the one in flight
        self.checkpoints = 0  # background checkpoints run (tests, tools/bench)
        self._inline = synchronous == "NORMAL"  # commits on the calling thread (see module)
        # True while a commit waits for the database thread: a loop that busy-polls meanwhile
        # would keep the GIL from the thread it waits for (gateway/busypoll)
        self.committing_on_thread = False
        # session -> highest outbound seq stored; read and written by the commits only
        self._tops: dict[str, int] = {}
        self.last_seq = 0  # highest committed sequence number (0: empty journal)
        self.last_ts = 0  # its ts (0: empty journal)
        self.last_chain = GENESIS  # the chain hash at last_seq
        # (seq, chain hash) where the database's own rows start after: the newest archive's end
        self.base: tuple[int, bytes] = (0, GENESIS)
        self.recovery: RecoveryReport | None = None
        self.readonly = False
        self._marker: Marker | None = None  # armed by mark_running
        self._on_close: Callable[[], None] | None = None  # removes a private evidence copy

    # -- opening and closing ---------------------------------------------------------------

    @classmethod
    async def open(
        cls,
        path: str | Path,
        *,
        synchronous: Synchronous = "FULL",
        create: bool = True,
        keep_snapshots: int = 3,
        exclusive: bool = True,
        readonly: bool = False,
    ) -> Journal:
        """Open (or, only when the file is absent and `create`, create) the journal at `path`.
        `exclusive` holds a lock (`<path>.lock`) so a second venue process cannot open the same
        journal for writing, and refuses journal files others may read (`files.check_private`).
        `readonly` (`venue journal verify`, audits) opens without writing a byte beside the
        file, even on a crashed database (see `schema.readonly_uri`)."""
        if synchronous not in ("FULL", "NORMAL"):
            raise JournalError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        path = Path(path)
        if readonly:
            return await cls._open_readonly(path)
        is_new = _check_file(path, create=create)
        if exclusive:
            _check_private(path)
        lock_fd = _lock(path) if exclusive else None
        if is_new:
            _create_file(path)
        writer: aiosqlite.Connection | None = None
        reader: aiosqlite.Connection | None = None
        try:
            writer = await schema.connect(path)
            await schema.configure(
                writer, path, synchronous=synchronous, is_new=is_new, migrate=exclusive
            )
            reader = await schema.connect(path)
            await reader.execute("PRAGMA query_only = ON")
            journal = cls(
                path, writer, reader, synchronous=synchronous, keep_snapshots=keep_snapshots
            )
            journal._lock_fd = lock_fd
            await journal._load_head(writer)
            async with writer.execute(outbound.TOPS) as cur:
                journal._tops = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
        except BaseException as exc:
            await _close_quietly(writer, reader)
            _unlock(lock_fd)
            if isinstance(exc, sqlite3.DatabaseError):
                raise _classify(path, exc) from exc
            raise
        return journal

    @classmethod
    async def _open_readonly(cls, path: Path) -> Journal:
        _check_file(path, create=False, writable=False)
        source, cleanup = readable_copy(path)
        conn: aiosqlite.Connection | None = None
        try:
            conn = await schema.connect_readonly(source)
            await schema.check_identity(conn, path, migrate=False)
            await schema.check_tables(conn, path)
            journal = cls(path, conn, conn, synchronous="FULL", keep_snapshots=0)
            journal.readonly = True
            journal._on_close = cleanup
            await journal._load_head(conn)
        except BaseException as exc:
            await _close_quietly(conn)
            cleanup()
            if isinstance(exc, sqlite3.DatabaseError):
                raise _classify(path, exc) from exc
            raise
        return journal

    async def _load_head(self, conn: aiosqlite.Connection) -> None:
        async with conn.execute(_ARCHIVED + " ORDER BY last_seq DESC LIMIT 1") as cur:
            newest = await cur.fetchone()
        if newest is not None:  # the journal continues after its newest archive
            base = _record(newest)
            self.base = (base.last_seq, base.chain)
            self.last_seq, self.last_ts, self.last_chain = base.last_seq, base.last_ts, base.chain
        async with conn.execute(
            "SELECT seq, ts, chain FROM journal ORDER BY seq DESC LIMIT 1"
        ) as cur:
            last = await cur.fetchone()
        if last is not None and int(last[0]) > self.last_seq:
            self.last_seq, self.last_ts = int(last[0]), int(last[1])
            self.last_chain = bytes(last[2])

    def mark_running(self) -> None:
        """Arm the durable marker (`<path>.state`): `running` at the last seq now, then noted by
        every commit (see `marker`). Called by recovery once the journal was checked."""
        try:
            if self._marker is None:
                self._marker = Marker(self._path)
            self._marker.running(self.last_seq, self.last_chain)
        except OSError as exc:
            raise JournalUnreadable(
                f"journal {self._path}: cannot write its marker {marker_path(self._path)}: {exc}"
            ) from exc

    async def close(self) -> None:
        """Close. With the marker armed, a final checkpoint moves everything into the database
        file; only when it completes is a clean stop recorded (else `running` stays)."""
        if self._closed:
            return
        self._closed = True
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        marker, self._marker = self._marker, None
        clean = marker is not None and await self._final_checkpoint()
        await _close_quietly(self._writer, self._reader)
        _unlock(self._lock_fd)
        self._lock_fd = None
        if marker is not None:
            if clean:
                # not written: the marker keeps `running` at the last seq, still true
                with contextlib.suppress(OSError):
                    marker.stopped(self.last_seq, self.last_chain)
            marker.close()
        if self._on_close is not None:
            self._on_close()
            self._on_close = None

    async def _final_checkpoint(self) -> bool:
        try:
            async with self._writer.execute("PRAGMA wal_checkpoint(TRUNCATE)") as cur:
                row = await cur.fetchone()
        except (sqlite3.Error, ValueError):
            return False
        return row is not None and int(row[0]) == 0 and int(row[1]) == int(row[2])

    @property
    def path(self) -> Path:
        return self._path

    @property
    def synchronous(self) -> Synchronous:
        return self._synchronous

    @property
    def head(self) -> tuple[int, bytes]:
        """(last committed seq, the chain hash at it); (0, GENESIS) for an empty journal."""
        return self.last_seq, self.last_chain

    async def chain_hash_at(self, seq: int) -> bytes | None:
        """The stored chain hash at `seq` (GENESIS at 0), None when the journal has no such
        row. What a replica or an archive continuing the chain compares with."""
        if seq == 0:
            return GENESIS
        if seq == self.last_seq:
            return self.last_chain
        if seq == self.base[0]:
            return self.base[1]
        try:
            async with self._reader.execute(
                "SELECT chain FROM journal WHERE seq = ?", (seq,)
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return None if row is None else bytes(row[0])

    # -- writing ---------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> None:
        """Write `batch` in one transaction. Raises `JournalWriteFailed`; then nothing is saved.

        At NORMAL, unless a checkpoint is running, the transaction runs here, on the calling
        thread, and this returns without suspending; otherwise it runs as one call on the
        database thread (one hand-over instead of one per statement)."""
        if not batch.has_writes():
            return
        if self.readonly:
            raise JournalWriteFailed(f"journal {self._path} is open read-only")
        args = (batch, self._keep_snapshots, self._tops, self.last_chain, self._marker)
        try:
            if self._inline and self._checkpoint is None:
                head = _write_batch(self._writer._conn, *args)
            else:
                self.committing_on_thread = True
                try:
                    head = await _run_on_db_thread(self._writer, _write_batch, *args)
                finally:
                    self.committing_on_thread = False
        except (sqlite3.Error, ValueError, OSError) as exc:
            first = batch.rows[0][0] if batch.rows else None
            last = batch.rows[-1][0] if batch.rows else None
            where = f"seq {first}..{last}" if first is not None else "FIX store changes"
            raise JournalWriteFailed(
                f"journal {self._path}: commit of {where} failed: {_describe(exc)}"
            ) from exc
        batch.chain = head
        if batch.rows:
            self.last_seq, self.last_ts = batch.rows[-1][0], batch.rows[-1][1]
            self.last_chain = head
        if batch.archive is not None:
            self.base = (batch.archive.last_seq, batch.archive.chain)
        self._since_checkpoint += len(batch.rows) + len(batch.store_ops)
        if self._since_checkpoint >= CHECKPOINT_EVERY and self._checkpoint is None:
            self._since_checkpoint = 0
            self._checkpoint = asyncio.get_running_loop().create_task(
                self._run_checkpoint(), name="journal-checkpoint"
            )

    async def _run_checkpoint(self) -> None:
        """A passive WAL checkpoint on the reading connection's thread (never the writer's),
        then the marker fsynced there (what it notes is then as durable as the WAL)."""
        try:
            async with self._reader.execute("PRAGMA wal_checkpoint(PASSIVE)") as cur:
                await cur.fetchall()
            self.checkpoints += 1
            marker = self._marker
            if marker is not None:
                await _run_on_db_thread(self._reader, lambda _db: marker.sync())
        except (sqlite3.Error, ValueError, OSError):
            pass  # busy or closing: the next one (or the writer's autocheckpoint) catches up
        finally:
            self._checkpoint = None

    # -- reads for the gateway (second connection) -----------------------------------------

    async def load_session_seqs(self, session: str) -> tuple[int, int, int] | None:
        """(next_in, next_out, last Logon ts; 0: unknown) saved for `session`, or None if the
        session never committed any."""
        try:
            async with self._reader.execute(
                "SELECT next_in, next_out, last_logon FROM fix_session WHERE session = ?",
                (session,),
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    async def load_logon_guards(self) -> dict[str, tuple[int, int]]:
        """Every session's last accepted signed Logon: (SendingTime ns, MsgSeqNum)."""
        try:
            async with self._reader.execute(
                "SELECT session, logon_sending_time, logon_seq FROM fix_session"
                " WHERE logon_sending_time > 0"
            ) as cur:
                rows = await cur.fetchall()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return {str(r[0]): (int(r[1]), int(r[2])) for r in rows}

    async def read_outbound(
        self, session: str, begin: int, end: int, limit: int
    ) -> list[tuple[int, bool, bytes]]:
        """Stored outbound messages with begin <= seq <= end (end 0: no upper bound), ascending,
        at most `limit` rows: (seq, admin, data). Page through big ranges in chunks."""
        upper = end if end > 0 else (1 << 63) - 1
        out: list[tuple[int, bool, bytes]] = []
        if limit <= 0:
            return out
        try:
            async with self._reader.execute(outbound.READ, (session, begin, upper)) as cur:
                while len(out) < limit:
                    runs = list(await cur.fetchmany(_RUNS_PER_FETCH))
                    for first, admin, ends, data in runs:
                        for msg in outbound.split_run(int(first), admin, ends, bytes(data)):
                            if begin <= msg[0] <= upper:
                                out.append(msg)
                    if len(runs) < _RUNS_PER_FETCH:
                        break
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return out[:limit]

    # -- archives ----------------------------------------------------------------------------

    async def archives(self) -> list[ArchiveRecord]:
        """The adopted archives, oldest first (their rows precede the database's own)."""
        try:
            async with self._reader.execute(_ARCHIVED + " ORDER BY first_seq") as cur:
                rows = await cur.fetchall()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return [_record(r) for r in rows]

    async def archived_rows_left(self) -> int:
        """Rows an adopted archive holds that are still in the database (to delete)."""
        try:
            async with self._reader.execute(
                "SELECT count(*) FROM journal WHERE seq <= ?", (self.base[0],)
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return 0 if row is None else int(row[0])

    # -- reads for recovery and verification -----------------------------------------------

    async def latest_snapshot(self) -> Snapshot | None:
        try:
            async with self._reader.execute(
                "SELECT seq, ts, state_hash, data FROM snapshots ORDER BY seq DESC LIMIT 1"
            ) as cur:
                row = await cur.fetchone()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        if row is None:
            return None
        return Snapshot(int(row[0]), int(row[1]), str(row[2]), bytes(row[3]))

    async def snapshot_hashes(self) -> dict[int, str]:
        """seq -> state hash of every stored snapshot (without the snapshot bytes)."""
        try:
            async with self._reader.execute("SELECT seq, state_hash FROM snapshots") as cur:
                rows = await cur.fetchall()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return {int(r[0]): str(r[1]) for r in rows}

    async def scan(
        self,
        after_seq: int,
        on_chunk: Callable[[list[Any]], None],
        *,
        with_events: bool = False,
        with_chain: bool = False,
        chunk: int = 16384,
    ) -> None:
        """Call `on_chunk(rows)` for the journal rows with seq > after_seq, ascending, in chunks
        of (seq, ts, cmd), (seq, ts, cmd, events) or, `with_chain`, (seq, ts, cmd, events, chain).
        One cursor; the next chunk is fetched on the database thread while `on_chunk` works on
        the current one."""
        cols = "seq, ts, cmd"
        if with_events or with_chain:
            cols += ", events, chain" if with_chain else ", events"
        try:
            cur = await self._reader.execute(
                f"SELECT {cols} FROM journal WHERE seq > ? ORDER BY seq",
                (after_seq,),
            )
            pending: asyncio.Future[Any] | None = None
            try:
                rows = await cur.fetchmany(chunk)
                while rows:
                    pending = asyncio.ensure_future(cur.fetchmany(chunk))
                    on_chunk(list(rows))
                    rows = await pending
                    pending = None
            finally:
                if pending is not None:  # on_chunk raised: let the prefetch finish, ignore it
                    with contextlib.suppress(Exception):
                        await pending
                await cur.close()
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc

    async def read_rows(self, seqs: Sequence[int]) -> list[JournalRow]:
        """The committed journal rows with these sequence numbers, ascending by seq (a seq not
        in the journal is simply absent). For point lookups such as trade capture requests."""
        wanted = sorted(set(seqs))
        out: list[JournalRow] = []
        try:
            for start in range(0, len(wanted), _READ_CHUNK):
                part = wanted[start : start + _READ_CHUNK]
                # padded to a power of two (repeating the last seq): few distinct statements
                # stay prepared on the reader connection, whatever the request sizes
                size = 1 << (len(part) - 1).bit_length()
                part += part[-1:] * (size - len(part))
                marks = ",".join("?" * size)
                async with self._reader.execute(
                    f"SELECT seq, ts, cmd, events FROM journal WHERE seq IN ({marks}) ORDER BY seq",
                    part,
                ) as cur:
                    rows = await cur.fetchall()
                out.extend((int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3])) for r in rows)
        except sqlite3.DatabaseError as exc:
            raise _classify(self._path, exc) from exc
        return out

    async def quick_check(self) -> str | None:
        """SQLite's `PRAGMA quick_check`: None when the file is sound, else the first problem."""
        try:
            async with self._reader.execute("PRAGMA quick_check(1)") as cur:
                row = await cur.fetchone()
        except sqlite3.DatabaseError as exc:
            return _describe(exc)
        result = "no result" if row is None else str(row[0])
        return None if result == "ok" else result
