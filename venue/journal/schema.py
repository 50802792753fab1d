"""Opening the journal database: connections, identity and version checks, pragmas, the schema
and its migrations, and the read-only connection used on evidence.

Invariants:
- Schema version 4: packed outbound runs (2), each session's last Logon time in `fix_session`
  (3), each journal row's chain hash (4, see `chain`) and each session's last accepted signed
  Logon (SendingTime, MsgSeqNum) in `fix_session` (4, the replay guard's state), and the
  `archived` table (4, rows moved to archive files, see `archive`). A version 1,
  2 or 3 file is migrated in one transaction when the venue opens it for writing (its rows are
  chained then); opened otherwise it is refused with the schema version error, as are other
  versions.
- An existing file is never re-initialised: one that is not a venue journal (application id)
  or lacks a table is `JournalCorrupt`.
- A read-only open (`connect_readonly`) writes no byte and changes no mtime of the database,
  its -wal or its -shm, including a crashed database's (see `connect_readonly`).
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any, cast
from urllib.parse import quote

import aiosqlite

from venue.journal import outbound
from venue.journal.chain import fill_chain
from venue.journal.errors import JournalCorrupt, JournalError, JournalUnreadable

APPLICATION_ID = 0x56454E55  # "VENU": marks a venue journal among SQLite files
SCHEMA_VERSION = 4
JOURNAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes of WAL kept after a checkpoint
WAL_AUTOCHECKPOINT_PAGES = 16384  # the writer's own checkpoint, only if those fall behind
STATEMENT_CACHE = 64  # multi-row statements of 2**k rows for three heads, and the rest

SCHEMA = """
CREATE TABLE journal (
    seq INTEGER PRIMARY KEY,
    ts INTEGER NOT NULL,
    cmd BLOB NOT NULL,
    events BLOB NOT NULL,
    chain BLOB NOT NULL
);
CREATE TABLE archived (
    first_seq INTEGER PRIMARY KEY,
    last_seq INTEGER NOT NULL,
    last_ts INTEGER NOT NULL,
    chain BLOB NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL
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
# Version 3 added the last Logon time (a daily reset that passed while the venue was down).
_ADD_LAST_LOGON = "ALTER TABLE fix_session ADD COLUMN last_logon INTEGER NOT NULL DEFAULT 0"
# Version 4 added the chain hash; `fill_chain` computes it for the rows already there.
_ADD_CHAIN = "ALTER TABLE journal ADD COLUMN chain BLOB NOT NULL DEFAULT x''"
# Version 4 also added the last accepted signed Logon's (SendingTime, MsgSeqNum).
_ADD_LOGON_GUARD = (
    "ALTER TABLE fix_session ADD COLUMN logon_sending_time INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE fix_session ADD COLUMN logon_seq INTEGER NOT NULL DEFAULT 0"
)
# Version 4 also added the record of journal archives (`archive`).
_ADD_ARCHIVED = (
    "CREATE TABLE archived (first_seq INTEGER PRIMARY KEY, last_seq INTEGER NOT NULL,"
    " last_ts INTEGER NOT NULL, chain BLOB NOT NULL, file TEXT NOT NULL, sha256 TEXT NOT NULL)"
)
_TO_4 = _ADD_CHAIN + ";" + _ADD_LOGON_GUARD + ";" + _ADD_ARCHIVED
_MIGRATIONS = {
    1: outbound.MIGRATE_FROM_1 + ";" + _ADD_LAST_LOGON + ";" + _TO_4,
    2: _ADD_LAST_LOGON + ";" + _TO_4,
    3: _TO_4,
}
TABLES = ("journal", "archived", "snapshots", "fix_session", "fix_outbound_runs")


def describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}"


def classify(path: Path, exc: sqlite3.DatabaseError) -> JournalError:
    text = str(exc)
    if "not a database" in text or "malformed" in text or "corrupt" in text:
        return JournalCorrupt(f"journal {path} is corrupt or truncated: {text}")
    return JournalUnreadable(f"journal {path} cannot be read: {describe(exc)}")


async def run_on_db_thread(conn: aiosqlite.Connection, fn: Callable[..., Any], *args: Any) -> Any:
    """Run `fn(sqlite3_connection, *args)` on aiosqlite's database thread, in its queue order,
    and return its result. Uses aiosqlite's internal `_execute` / `_conn` (no public API runs a
    function there); every commit in tests/journal goes through here, so an aiosqlite change
    shows at once."""
    execute = cast(Callable[..., Awaitable[Any]], conn._execute)
    return await execute(fn, conn._conn, *args)


async def connect(path: Path) -> aiosqlite.Connection:
    try:
        return await aiosqlite.connect(
            path,
            isolation_level=None,
            cached_statements=STATEMENT_CACHE,
            check_same_thread=False,  # NORMAL commits run on the loop's thread (see store)
        )
    except sqlite3.DatabaseError as exc:
        raise classify(path, exc) from exc
    except (sqlite3.Error, OSError) as exc:
        raise JournalUnreadable(f"journal {path} cannot be opened: {describe(exc)}") from exc


def readonly_uri(path: Path) -> str:
    """The URI that reads `path` without writing anything beside it.

    `mode=ro` alone is not enough: the first connection to a crashed WAL database truncates and
    rebuilds its -shm (measured: bytes and mtime change), and it creates -wal and -shm when they
    are absent. So: with both -wal and -shm present, `readonly_shm=1` maps the -shm read-only
    (SQLite then reads the WAL into private memory when no other process holds the index);
    with no -wal, `immutable=1` (nothing is in a WAL to be missed, no lock or -shm is taken).
    A -wal without its -shm cannot be read without writing: `connect_readonly`'s caller copies
    the pair first (see `venue.journal.evidence`)."""
    wal = path.with_name(path.name + "-wal")
    base = "file:" + quote(str(path.resolve())) + "?mode=ro"
    if wal.exists():
        return base + "&readonly_shm=1"
    return base + "&immutable=1"


async def connect_readonly(path: Path) -> aiosqlite.Connection:
    try:
        conn = await aiosqlite.connect(
            readonly_uri(path), uri=True, isolation_level=None, check_same_thread=False
        )
        await conn.execute("PRAGMA query_only = ON")
        return conn
    except sqlite3.DatabaseError as exc:
        raise classify(path, exc) from exc
    except (sqlite3.Error, OSError) as exc:
        raise JournalUnreadable(f"journal {path} cannot be opened: {describe(exc)}") from exc


async def check_identity(conn: aiosqlite.Connection, path: Path, *, migrate: bool) -> int:
    """The file's schema version, after checking it is a venue journal this code reads (or,
    with `migrate`, can migrate)."""
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
            f"journal {path} has schema version {version}, this venue reads {SCHEMA_VERSION}{how}"
        )
    return version


async def check_tables(conn: aiosqlite.Connection, path: Path) -> None:
    async with conn.execute(
        "SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name"
    ) as cur:
        names = [str(r[0]) for r in await cur.fetchall()]
    missing = set(TABLES) - set(names)
    if missing:
        raise JournalCorrupt(f"journal {path} lacks tables {sorted(missing)}")


async def configure(
    conn: aiosqlite.Connection, path: Path, *, synchronous: str, is_new: bool, migrate: bool
) -> None:
    """Check an existing file's identity and version (migrating an older one when `migrate`),
    set the pragmas and, for a new file, create the schema."""
    version = SCHEMA_VERSION if is_new else await check_identity(conn, path, migrate=migrate)
    async with conn.execute("PRAGMA journal_mode = WAL") as cur:
        mode_row = await cur.fetchone()
    if mode_row is None or str(mode_row[0]).lower() != "wal":
        raise JournalUnreadable(f"journal {path}: cannot switch to WAL mode ({mode_row})")
    await conn.execute(f"PRAGMA synchronous = {synchronous}")
    await conn.execute(f"PRAGMA journal_size_limit = {JOURNAL_SIZE_LIMIT}")
    await conn.execute(f"PRAGMA wal_autocheckpoint = {WAL_AUTOCHECKPOINT_PAGES}")
    await conn.execute("PRAGMA cache_size = -65536")  # 64 MiB
    if is_new:
        await run_on_db_thread(conn, _in_transaction, SCHEMA + outbound.SCHEMA, True)
    elif version != SCHEMA_VERSION:  # an older version, opened for writing: migrate
        await run_on_db_thread(conn, _in_transaction, _MIGRATIONS[version], False)
    await check_tables(conn, path)


def _in_transaction(db: sqlite3.Connection, script: str, new: bool) -> None:
    """Run `script`'s statements, chain the journal's rows (a migration), mark the file as a
    venue journal of this version, in one transaction (rolled back on error)."""
    db.execute("BEGIN IMMEDIATE")
    try:
        for statement in script.split(";"):
            if statement.strip():
                db.execute(statement)
        if new:
            db.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        else:
            fill_chain(db)
        db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
        db.execute("COMMIT")
    except BaseException:
        if db.in_transaction:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
        raise


async def close_quietly(*conns: aiosqlite.Connection | None) -> None:
    seen: list[aiosqlite.Connection] = []
    for conn in conns:
        if conn is None or any(conn is s for s in seen):
            continue
        seen.append(conn)
        # closing after a failure: the first error is the one reported
        with contextlib.suppress(sqlite3.Error, ValueError):
            await conn.close()
