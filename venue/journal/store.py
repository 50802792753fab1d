"""The journal database: one SQLite file in WAL mode, opened through aiosqlite.

Tables: `journal` (seq, ts, command, events; msgspec msgpack bytes), `snapshots` (seq, ts,
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
- Journal rows are appended with contiguous sequence numbers and never updated or deleted;
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
- Schema version 4: packed runs (2), each session's last Logon time in `fix_session` (3) and
  the (SendingTime, MsgSeqNum) of its last accepted signed Logon (4, the replay guard's state).
  A version 1, 2 or 3 file is migrated in one transaction when the venue opens it for writing
  (`exclusive`); opened otherwise (`venue journal verify`) it is refused with the schema
  version error, as are other versions.
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
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Any, Literal, NamedTuple, cast

import aiosqlite

from venue.journal import outbound
from venue.journal.errors import (
    JournalCorrupt,
    JournalError,
    JournalUnreadable,
    JournalWriteFailed,
)
from venue.journal.files import check_file as _check_file
from venue.journal.files import lock as _lock
from venue.journal.files import unlock as _unlock

Synchronous = Literal["FULL", "NORMAL"]
APPLICATION_ID = 0x56454E55  # "VENU": marks a venue journal among SQLite files
SCHEMA_VERSION = 4
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes of WAL kept after a checkpoint
CHECKPOINT_EVERY = 2048  # journal rows + stored messages committed between two checkpoints
# (at NORMAL a checkpoint first syncs the WAL's unsynced pages, and commits wait on that file
# meanwhile: 16384 gave ~50 ms commit stalls every few seconds, 2048 under 10 ms at the same
# throughput; 1024 cost ~6% throughput for no shorter stalls)
WAL_AUTOCHECKPOINT_PAGES = 16384  # the writer's own checkpoint, only if those fall behind
STATEMENT_CACHE = 64  # multi-row statements of 2**k rows for three heads, and the rest

_SCHEMA = """
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    cmd BLOB NOT NULL,
    events BLOB NOT NULL
);
CREATE TABLE snapshots (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    state_hash TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE TABLE fix_session (
    session TEXT PRIMARY KEY,
    next_in INTEGER NOT NULL,
    next_out INTEGER NOT NULL,
    last_logon INTEGER NOT NULL DEFAULT 0,
    logon_sending_time INTEGER NOT NULL DEFAULT 0,
    logon_seq INTEGER NOT NULL DEFAULT 0
) WITHOUT ROWID;
"""
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


class Batch:
    """What one transaction writes. The sequencer fills it; `Journal.commit` writes it."""

    __slots__ = ("logon_guards", "rows", "session_seqs", "snapshot", "store_ops")

    def __init__(self) -> None:
        self.rows: list[JournalRow] = []
        self.store_ops: list[StoreOp] = []  # in recording order: resets and inserts interleave
        # session -> (next_in, next_out, last Logon ts)
        self.session_seqs: dict[str, tuple[int, int, int]] = {}
        # session -> (SendingTime ns, MsgSeqNum) of its last accepted signed Logon
        self.logon_guards: dict[str, tuple[int, int]] = {}
        self.snapshot: Snapshot | None = None

    def has_writes(self) -> bool:
        return bool(
            self.rows or self.store_ops or self.session_seqs or self.logon_guards or self.snapshot
        )


_READ_CHUNK = 512  # seqs per `read_rows` statement (a power of two)
_RUNS_PER_FETCH = 32  # stored runs fetched at a time by `read_outbound`
_UPSERT_SESSION = "INSERT INTO fix_session (session, next_in, next_out, last_logon)"
_UPSERT_TAIL = (
    " ON CONFLICT (session) DO UPDATE SET next_in = excluded.next_in,"
    " next_out = excluded.next_out, last_logon = excluded.last_logon"
)
# Version 3 added the last Logon time (a daily reset that passed while the venue was down).
_ADD_LAST_LOGON = "ALTER TABLE fix_session ADD COLUMN last_logon INTEGER NOT NULL DEFAULT 0"
# Version 4 added the last accepted signed Logon's (SendingTime, MsgSeqNum): the replay guard.
_ADD_LOGON_GUARD = (
    "ALTER TABLE fix_session ADD COLUMN logon_sending_time INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE fix_session ADD COLUMN logon_seq INTEGER NOT NULL DEFAULT 0"
)
_MIGRATIONS = {
    1: ";".join((outbound.MIGRATE_FROM_1, _ADD_LAST_LOGON, _ADD_LOGON_GUARD)),
    2: _ADD_LAST_LOGON + ";" + _ADD_LOGON_GUARD,
    3: _ADD_LOGON_GUARD,
}
# A session without a row yet starts at 1/1 (what `load_session_seqs` None means).
_UPSERT_GUARD = (
    "INSERT INTO fix_session (session, next_in, next_out, logon_sending_time, logon_seq)"
    " VALUES (?, 1, 1, ?, ?) ON CONFLICT (session) DO UPDATE SET"
    " logon_sending_time = excluded.logon_sending_time, logon_seq = excluded.logon_seq"
)
_INSERT_SNAPSHOT = "INSERT INTO snapshots (seq, ts, state_hash, data) VALUES (?, ?, ?, ?)"


def _write_batch(
    db: sqlite3.Connection, batch: Batch, keep_snapshots: int, tops: dict[str, int]
) -> None:
    """Runs on the database thread: the whole batch as one transaction, rolled back on error.
    `tops` (session -> highest stored outbound seq) is updated only once it committed."""
    changed: dict[str, int] = {}
    try:
        db.execute("BEGIN IMMEDIATE")
        if batch.rows:
            outbound.insert_rows(db, "INSERT INTO journal (seq, ts, cmd, events)", batch.rows, 4)
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


async def _run_on_db_thread(
    conn: aiosqlite.Connection, fn: Callable[..., None], *args: Any
) -> None:
    """Run `fn(sqlite3_connection, *args)` on aiosqlite's database thread, in its queue order.
    Uses aiosqlite's internal `_execute` / `_conn` (no public API runs a function there);
    every commit in tests/journal goes through here, so an aiosqlite change shows at once."""
    execute = cast(Callable[..., Awaitable[None]], conn._execute)
    await execute(fn, conn._conn, *args)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


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
        self.recovery: RecoveryReport | None = None

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
    ) -> Journal:
        """Open (or, only when the file is absent and `create`, create) the journal at `path`.
        `exclusive` holds a lock (`<path>.lock`) so a second venue process cannot open the same
        journal for writing; readers such as `venue journal verify` pass `exclusive=False`."""
        if synchronous not in ("FULL", "NORMAL"):
            raise JournalError(f"synchronous must be FULL or NORMAL, not {synchronous!r}")
        path = Path(path)
        is_new = _check_file(path, create=create)
        lock_fd = _lock(path) if exclusive else None
        try:
            writer = await _connect(path)
        except BaseException:
            _unlock(lock_fd)
            raise
        reader: aiosqlite.Connection | None = None
        try:
            await _configure(
                writer, path, synchronous=synchronous, is_new=is_new, migrate=exclusive
            )
            reader = await _connect(path)
            await reader.execute("PRAGMA query_only = ON")
            journal = cls(
                path, writer, reader, synchronous=synchronous, keep_snapshots=keep_snapshots
            )
            journal._lock_fd = lock_fd
            async with writer.execute(
                "SELECT seq, ts FROM journal ORDER BY seq DESC LIMIT 1"
            ) as cur:
                last = await cur.fetchone()
            if last is not None:
                journal.last_seq, journal.last_ts = int(last[0]), int(last[1])
            async with writer.execute(outbound.TOPS) as cur:
                journal._tops = {str(r[0]): int(r[1]) for r in await cur.fetchall()}
        except sqlite3.DatabaseError as exc:
            await _close_quietly(writer, reader)
            _unlock(lock_fd)
            raise _classify(path, exc) from exc
        except BaseException:
            await _close_quietly(writer, reader)
            _unlock(lock_fd)
            raise
        return journal

    async def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        if self._checkpoint is not None:
            with contextlib.suppress(Exception):
                await self._checkpoint
        await _close_quietly(self._writer, self._reader)
        _unlock(self._lock_fd)
        self._lock_fd = None

    @property
    def path(self) -> Path:
        return self._path

    @property
    def synchronous(self) -> Synchronous:
        return self._synchronous

    # -- writing ---------------------------------------------------------------------------

    async def commit(self, batch: Batch) -> None:
        """Write `batch` in one transaction. Raises `JournalWriteFailed`; then nothing is saved.

        At NORMAL, unless a checkpoint is running, the transaction runs here, on the calling
        thread, and this returns without suspending; otherwise it runs as one call on the
        database thread (one hand-over instead of one per statement)."""
        if not batch.has_writes():
            return
        try:
            if self._inline and self._checkpoint is None:
                _write_batch(self._writer._conn, batch, self._keep_snapshots, self._tops)
            else:
                self.committing_on_thread = True
                try:
                    await _run_on_db_thread(
                        self._writer, _write_batch, batch, self._keep_snapshots, self._tops
                    )
                finally:
                    self.committing_on_thread = False
        except (sqlite3.Error, ValueError, OSError) as exc:
            first = batch.rows[0][0] if batch.rows else None
            last = batch.rows[-1][0] if batch.rows else None
            where = f"seq {first}..{last}" if first is not None else "FIX store changes"
            raise JournalWriteFailed(
                f"journal {self._path}: commit of {where} failed: {_describe(exc)}"
            ) from exc
        if batch.rows:
            self.last_seq, self.last_ts = batch.rows[-1][0], batch.rows[-1][1]
        self._since_checkpoint += len(batch.rows) + len(batch.store_ops)
        if self._since_checkpoint >= CHECKPOINT_EVERY and self._checkpoint is None:
            self._since_checkpoint = 0
            self._checkpoint = asyncio.get_running_loop().create_task(
                self._run_checkpoint(), name="journal-checkpoint"
            )

    async def _run_checkpoint(self) -> None:
        """A passive WAL checkpoint on the reading connection's thread (never the writer's)."""
        try:
            async with self._reader.execute("PRAGMA wal_checkpoint(PASSIVE)") as cur:
                await cur.fetchall()
            self.checkpoints += 1
        except (sqlite3.Error, ValueError):
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
        chunk: int = 16384,
    ) -> None:
        """Call `on_chunk(rows)` for the journal rows with seq > after_seq, ascending, in chunks
        of (seq, ts, cmd) or (seq, ts, cmd, events). One cursor; the next chunk is fetched on the
        database thread while `on_chunk` works on the current one."""
        cols = "seq, ts, cmd, events" if with_events else "seq, ts, cmd"
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


# -- helpers -----------------------------------------------------------------------------------


async def _connect(path: Path) -> aiosqlite.Connection:
    try:
        return await aiosqlite.connect(
            path,
            isolation_level=None,
            cached_statements=STATEMENT_CACHE,
            check_same_thread=False,  # NORMAL commits run on the loop's thread (see module)
        )
    except sqlite3.DatabaseError as exc:
        raise _classify(path, exc) from exc
    except (sqlite3.Error, OSError) as exc:
        raise JournalUnreadable(f"journal {path} cannot be opened: {_describe(exc)}") from exc


async def _configure(
    conn: aiosqlite.Connection,
    path: Path,
    *,
    synchronous: Synchronous,
    is_new: bool,
    migrate: bool,
) -> None:
    """Check an existing file's identity and version (migrating version 1 when `migrate`),
    set the pragmas and, for a new file, create the schema."""
    version = SCHEMA_VERSION
    if not is_new:
        async with conn.execute("PRAGMA application_id") as cur:
            app_row = await cur.fetchone()
        async with conn.execute("PRAGMA user_version") as cur:
            version_row = await cur.fetchone()
        app_id = 0 if app_row is None else int(app_row[0])
        version = 0 if version_row is None else int(version_row[0])
        if app_id != APPLICATION_ID:
            raise JournalCorrupt(f"journal {path} is an SQLite file but not a venue journal")
        if version != SCHEMA_VERSION and not (version in _MIGRATIONS and migrate):
            how = " (it is migrated when the venue opens it)" if version in _MIGRATIONS else ""
            raise JournalCorrupt(
                f"journal {path} has schema version {version}, this venue reads "
                f"{SCHEMA_VERSION}{how}"
            )
    async with conn.execute("PRAGMA journal_mode = WAL") as cur:
        mode_row = await cur.fetchone()
    if mode_row is None or str(mode_row[0]).lower() != "wal":
        raise JournalUnreadable(f"journal {path}: cannot switch to WAL mode ({mode_row})")
    await conn.execute(f"PRAGMA synchronous = {synchronous}")
    await conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    await conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    await conn.execute("PRAGMA cache_size = -65536")  # 64 MiB
    if is_new:
        await _in_transaction(conn, _SCHEMA + outbound.SCHEMA, f"application_id = {APPLICATION_ID}")
    elif version != SCHEMA_VERSION:  # an older version, opened for writing: migrate
        await _in_transaction(conn, _MIGRATIONS[version], None)
    async with conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"
    ) as cur:
        names = [str(r[0]) for r in await cur.fetchall()]
    missing = {"journal", "snapshots", "fix_session", "fix_outbound_runs"} - set(names)
    if missing:
        raise JournalCorrupt(f"journal {path} lacks tables {sorted(missing)}")


async def _in_transaction(conn: aiosqlite.Connection, script: str, pragma: str | None) -> None:
    """Run `script`'s statements, `PRAGMA <pragma>` and set the schema version, in one
    transaction (rolled back on error)."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        for statement in script.split(";"):
            if statement.strip():
                await conn.execute(statement)
        if pragma is not None:
            await conn.execute(f"PRAGMA {pragma}")
        await conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        await conn.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(sqlite3.Error, ValueError):
            await conn.execute("ROLLBACK")
        raise


def _classify(path: Path, exc: sqlite3.DatabaseError) -> JournalError:
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return JournalCorrupt(f"journal {path} is corrupt or truncated: {text}")
    return JournalUnreadable(f"journal {path} cannot be read: {_describe(exc)}")


async def _close_quietly(*conns: aiosqlite.Connection | None) -> None:
    for conn in conns:
        if conn is None:
            continue
        # closing after a failure: the first error is the one reported
        with contextlib.suppress(sqlite3.Error, ValueError):
            await conn.close()
