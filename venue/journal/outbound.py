"""The outbound FIX message store, packed: one row per run of consecutive sequence numbers.

Table `fix_outbound_runs` (session, first_seq, last_seq, admin, ends, data): the messages of
one session with seqs first_seq..last_seq (consecutive, all present), concatenated in `data`;
`admin` holds one '0'/'1' per message and `ends` each message's end offset in `data` as 10
decimal digits. The view `fix_outbound (session, seq, admin, data)` unpacks them in SQL, one
message per row, for tools and tests. A batch's messages therefore cost a handful of inserts
(one per session it wrote to) instead of one per message.

Invariants:
- The runs of one session never overlap, and every stored message is in exactly one run.
- Storing a message under a seq already stored replaces it (INSERT OR REPLACE semantics): the
  runs it touches are read back, merged with the new messages and rewritten, all inside the
  batch's transaction. `tops` (session -> highest stored seq, kept by the writer) shows without
  a query that a run lies above everything stored, the only case in practice (outbound seqs
  only grow between two resets).
- A reset deletes the session's runs, in order with the stores around it. A trim (resend
  retention) deletes the runs that end below a seq, after the batch's stores.
- Everything here runs on the writer's database thread inside the batch's transaction, except
  `split_run`, a pure function used by the reader.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from itertools import accumulate, chain
from typing import Any

SCHEMA = """
CREATE TABLE fix_outbound_runs (
    session TEXT NOT NULL,
    first_seq INTEGER NOT NULL,
    last_seq INTEGER NOT NULL,
    admin TEXT NOT NULL,
    ends TEXT NOT NULL,
    data BLOB NOT NULL
);
CREATE UNIQUE INDEX fix_outbound_runs_last ON fix_outbound_runs (session, last_seq);
CREATE VIEW fix_outbound (session, seq, admin, data) AS
WITH RECURSIVE msg (session, seq, last_seq, k, flags, ends, blob) AS (
    SELECT session, first_seq, last_seq, 0, admin, ends, data FROM fix_outbound_runs
    UNION ALL
    SELECT session, seq + 1, last_seq, k + 1, flags, ends, blob FROM msg WHERE seq < last_seq
)
SELECT session, seq, CAST(substr(flags, k + 1, 1) AS INTEGER),
    coalesce(substr(blob,
        1 + (CASE k WHEN 0 THEN 0 ELSE CAST(substr(ends, 10 * k - 9, 10) AS INTEGER) END),
        CAST(substr(ends, 10 * k + 1, 10) AS INTEGER)
        - (CASE k WHEN 0 THEN 0 ELSE CAST(substr(ends, 10 * k - 9, 10) AS INTEGER) END)), X'')
FROM msg;
"""

# Schema version 1 kept one row per message in a table named fix_outbound (now the view).
MIGRATE_FROM_1 = (
    "ALTER TABLE fix_outbound RENAME TO fix_outbound_v1;"
    + SCHEMA
    + """;
INSERT INTO fix_outbound_runs (session, first_seq, last_seq, admin, ends, data)
    SELECT session, seq, seq, CAST(admin AS TEXT), printf('%010d', length(data)), data
    FROM fix_outbound_v1;
DROP TABLE fix_outbound_v1;
"""
)

TOPS = "SELECT session, max(last_seq) FROM fix_outbound_runs GROUP BY session"
READ = (
    "SELECT first_seq, admin, ends, data FROM fix_outbound_runs "
    "WHERE session = ? AND last_seq >= ? AND first_seq <= ? ORDER BY last_seq"
)
_INSERT = "INSERT INTO fix_outbound_runs (session, first_seq, last_seq, admin, ends, data)"
_VARIABLES_PER_STATEMENT = 8192  # well under SQLite's bound-variable limit (32766)
_RESET = "DELETE FROM fix_outbound_runs WHERE session = ?"
# Resend retention: the runs that end below a seq (a run across it is kept whole, so at least
# everything from that seq on stays; a resend of what is gone is answered with a gap fill).
TRIM = "DELETE FROM fix_outbound_runs WHERE session = ? AND last_seq < ?"
_OVERLAPPING = (
    "SELECT rowid, first_seq, admin, ends, data FROM fix_outbound_runs "
    "WHERE session = ? AND last_seq >= ? AND first_seq <= ?"
)
_DELETE_ROW = "DELETE FROM fix_outbound_runs WHERE rowid = ?"
_FLAGS = bytes.maketrans(b"\x00\x01", b"01")  # admin 0/1 -> '0'/'1'
_Run = tuple[str, int, int, str, str, bytes]  # a row of fix_outbound_runs


def insert_rows(
    db: sqlite3.Connection, head: str, rows: Sequence[Sequence[Any]], width: int, tail: str = ""
) -> None:
    """`head VALUES (..),(..) tail` for `rows` of `width` columns, in as few statements as the
    bound-variable limit allows rather than `executemany`: the database thread then releases and
    retakes the GIL once per statement instead of once per row, and each retake may wait for
    the event loop thread (busy applying commands) to let go of it.
    Statements hold 2**k rows only: SQLite keeps every distinct statement prepared (about 360
    bytes per row), so one statement per row count would grow memory with every new batch size;
    powers of two bound the cached statements to about 14 per head."""
    per = 1 << ((_VARIABLES_PER_STATEMENT // width).bit_length() - 1)
    marks = "(" + ",".join("?" * width) + ")"
    start, n = 0, len(rows)
    while start < n:
        size = min(per, 1 << ((n - start).bit_length() - 1))
        part = rows[start : start + size]
        sql = f"{head} VALUES {','.join([marks] * size)}{tail}"
        db.execute(sql, list(chain.from_iterable(part)))
        start += size


def _pack(session: str, first: int, flags: list[int], datas: list[bytes]) -> _Run:
    ends = ("%010d" * len(datas)) % tuple(accumulate(map(len, datas)))
    admin = bytes(flags).translate(_FLAGS).decode()
    return (session, first, first + len(datas) - 1, admin, ends, b"".join(datas))


def split_run(first: int, admin: str, ends: str, data: bytes) -> list[tuple[int, bool, bytes]]:
    """The messages of one run: (seq, admin, data), ascending."""
    out: list[tuple[int, bool, bytes]] = []
    start = 0
    for k in range(len(admin)):
        end = int(ends[10 * k : 10 * k + 10])
        out.append((first + k, admin[k] == "1", data[start:end]))
        start = end
    return out


def write_store_ops(
    db: sqlite3.Connection, ops: Sequence[Any], tops: dict[str, int], changed: dict[str, int]
) -> None:
    """Apply a batch's store operations (outbound (session, seq, admin, data) tuples and
    session resets) in order. `changed` receives the new highest stored seq of every session
    touched (0: none stored); the caller folds it into `tops` once the transaction commits."""
    open_runs: dict[str, tuple[int, list[int], list[bytes]]] = {}  # session -> (first, ...)
    ready: list[_Run] = []
    for op in ops:
        if type(op) is str:
            _flush(db, open_runs, ready, tops, changed)
            db.execute(_RESET, (op,))
            changed[op] = 0
            continue
        session, seq, admin, data = op
        run = open_runs.get(session)
        if run is not None and seq == run[0] + len(run[2]):
            run[1].append(admin)
            run[2].append(data)
        else:
            if run is not None:
                ready.append(_pack(session, run[0], run[1], run[2]))
            open_runs[session] = (seq, [admin], [data])
    _flush(db, open_runs, ready, tops, changed)


def _flush(
    db: sqlite3.Connection,
    open_runs: dict[str, tuple[int, list[int], list[bytes]]],
    ready: list[_Run],
    tops: dict[str, int],
    changed: dict[str, int],
) -> None:
    for session, (first, flags, datas) in open_runs.items():
        ready.append(_pack(session, first, flags, datas))
    open_runs.clear()
    plain: list[_Run] = []
    for run in ready:
        session, first, last = run[0], run[1], run[2]
        top = changed.get(session)
        if top is None:
            top = tops.get(session, 0)
        if first > top:
            plain.append(run)
            changed[session] = last
        else:  # rewrites stored seqs: insert what is pending first, then merge this one
            if plain:
                insert_rows(db, _INSERT, plain, 6)
                plain = []
            _merge(db, run)
            if last > top:
                changed[session] = last
    ready.clear()
    if plain:
        insert_rows(db, _INSERT, plain, 6)


def _merge(db: sqlite3.Connection, run: _Run) -> None:
    """Store `run` over the stored runs it overlaps: their messages, replaced where `run` has
    the same seq, rewritten as runs of consecutive seqs."""
    session, first, last = run[0], run[1], run[2]
    messages: dict[int, tuple[bool, bytes]] = {}
    for rowid, old_first, admin, ends, data in db.execute(
        _OVERLAPPING, (session, first, last)
    ).fetchall():
        for seq, flag, msg in split_run(old_first, admin, ends, bytes(data)):
            messages[seq] = (flag, msg)
        db.execute(_DELETE_ROW, (rowid,))
    for seq, flag, msg in split_run(first, run[3], run[4], run[5]):
        messages[seq] = (flag, msg)
    rows: list[_Run] = []
    start = prev = -1
    flags: list[int] = []
    datas: list[bytes] = []
    for seq in sorted(messages):
        if seq != prev + 1 and datas:
            rows.append(_pack(session, start, flags, datas))
            flags, datas = [], []
        if not datas:
            start = seq
        flag, msg = messages[seq]
        flags.append(1 if flag else 0)
        datas.append(msg)
        prev = seq
    if datas:
        rows.append(_pack(session, start, flags, datas))
    insert_rows(db, _INSERT, rows, 6)
