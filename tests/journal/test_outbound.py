"""The packed outbound store: runs per (session, batch), read back exactly as stored one by one;
re-stored seqs replace (INSERT OR REPLACE semantics); resets; the one-message view; migration
of a schema version 1 file."""

from __future__ import annotations

import asyncio
import itertools
import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from venue.journal import Batch, Journal, JournalCorrupt
from venue.journal.schema import APPLICATION_ID, SCHEMA_VERSION

Model = dict[str, dict[int, tuple[bool, bytes]]]


def _runs(path: Path) -> list[tuple[str, int, int]]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute(
            "SELECT session, first_seq, last_seq FROM fix_outbound_runs ORDER BY session, first_seq"
        ).fetchall()
    finally:
        con.close()
    return [(str(s), int(f), int(la)) for s, f, la in rows]


def _view(path: Path) -> dict[str, dict[int, tuple[bool, bytes]]]:
    con = sqlite3.connect(path)
    try:
        rows = con.execute("SELECT session, seq, admin, data FROM fix_outbound").fetchall()
    finally:
        con.close()
    out: Model = {}
    for session, seq, admin, data in rows:
        out.setdefault(session, {})[seq] = (bool(admin), bytes(data))
    return out


async def test_a_batch_writes_one_run_per_session_and_reads_back_each_message(
    db_path: Path,
) -> None:
    journal = await Journal.open(db_path)
    try:
        batch = Batch()
        for seq in range(1, 21):
            batch.store_ops.append(("A", seq, int(seq == 1), b"a%d" % seq))
            batch.store_ops.append(("B", seq + 100, 0, b"b" * seq))
        await journal.commit(batch)
        assert _runs(db_path) == [("A", 1, 20), ("B", 101, 120)]
        assert await journal.read_outbound("A", 5, 7, 10) == [
            (5, False, b"a5"),
            (6, False, b"a6"),
            (7, False, b"a7"),
        ]
        assert await journal.read_outbound("A", 1, 0, 2) == [(1, True, b"a1"), (2, False, b"a2")]
        assert await journal.read_outbound("B", 118, 0, 10) == [
            (118, False, b"b" * 18),
            (119, False, b"b" * 19),
            (120, False, b"b" * 20),
        ]
        assert await journal.read_outbound("B", 1, 100, 10) == []
        assert await journal.read_outbound("A", 1, 0, 0) == []
    finally:
        await journal.close()


async def test_restored_seqs_replace_the_stored_ones_without_overlapping_runs(
    db_path: Path,
) -> None:
    journal = await Journal.open(db_path)
    try:
        first = Batch()
        first.store_ops = [("S", s, 0, b"old%d" % s) for s in range(1, 11)]
        await journal.commit(first)
        second = Batch()
        second.store_ops = [("S", 5, 1, b"new5"), ("S", 6, 0, b"new6"), ("S", 12, 0, b"m12")]
        await journal.commit(second)
        got = await journal.read_outbound("S", 1, 0, 100)
        want = [(s, False, b"old%d" % s) for s in range(1, 11)]
        want[4], want[5] = (5, True, b"new5"), (6, False, b"new6")
        assert got == [*want, (12, False, b"m12")]
        runs = _runs(db_path)
        for (_, _, last), (_, nxt, _) in itertools.pairwise(runs):
            assert last < nxt
    finally:
        await journal.close()
    # the highest stored seq per session is reloaded at open: a later store still merges
    journal = await Journal.open(db_path)
    try:
        again = Batch()
        again.store_ops = [("S", 3, 0, b"again3")]
        await journal.commit(again)
        assert await journal.read_outbound("S", 3, 3, 10) == [(3, False, b"again3")]
        assert len(await journal.read_outbound("S", 1, 0, 100)) == 11
    finally:
        await journal.close()


_ops = st.lists(
    st.one_of(
        st.tuples(
            st.sampled_from(["S1", "S2"]),
            st.integers(min_value=1, max_value=40),
            st.integers(min_value=0, max_value=1),
            st.binary(min_size=0, max_size=12),
        ),
        st.sampled_from(["S1", "S2"]),
    ),
    max_size=30,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(_ops, min_size=1, max_size=5),
    begin=st.integers(min_value=0, max_value=45),
    end=st.integers(min_value=0, max_value=45),
    limit=st.integers(min_value=1, max_value=50),
)
def test_the_packed_store_answers_as_one_row_per_message(
    batches: list[list[tuple[str, int, int, bytes] | str]], begin: int, end: int, limit: int
) -> None:
    """Any mix of stores (ascending, repeated or out of order seqs) and resets, over several
    batches and a reopen: every read equals a model keeping one message per (session, seq)."""

    async def run(path: Path) -> None:
        model: Model = {}
        journal = await Journal.open(path)
        try:
            for k, ops in enumerate(batches):
                batch = Batch()
                batch.store_ops = list(ops)
                batch.rows.append((k + 1, k + 1, b"c", b"e"))
                await journal.commit(batch)
                for op in ops:
                    if isinstance(op, str):
                        model.pop(op, None)
                    else:
                        model.setdefault(op[0], {})[op[1]] = (bool(op[2]), op[3])
                if k == len(batches) // 2:  # reopen midway: the tops are reloaded
                    await journal.close()
                    journal = await Journal.open(path)
            upper = end if end > 0 else 10**9
            for session in ("S1", "S2"):
                stored = model.get(session, {})
                want = [(s, *stored[s]) for s in sorted(stored) if begin <= s <= upper][:limit]
                assert await journal.read_outbound(session, begin, end, limit) == want
                runs = [r for r in _runs(path) if r[0] == session]
                for (_, _, last), (_, nxt, _) in itertools.pairwise(runs):
                    assert last < nxt
            assert {s: m for s, m in _view(path).items() if m} == {
                s: m for s, m in model.items() if m
            }
        finally:
            await journal.close()

    with tempfile.TemporaryDirectory() as tmp:
        asyncio.run(run(Path(tmp) / "venue.db"))


def _make_version_1(path: Path) -> None:
    con = sqlite3.connect(path, isolation_level=None)
    try:
        con.execute("PRAGMA journal_mode = WAL")
        con.executescript(
            """
            CREATE TABLE journal (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,
                cmd BLOB NOT NULL, events BLOB NOT NULL);
            CREATE TABLE snapshots (seq INTEGER PRIMARY KEY, ts INTEGER NOT NULL,
                state_hash TEXT NOT NULL, data BLOB NOT NULL);
            CREATE TABLE fix_session (session TEXT PRIMARY KEY, next_in INTEGER NOT NULL,
                next_out INTEGER NOT NULL) WITHOUT ROWID;
            CREATE TABLE fix_outbound (session TEXT NOT NULL, seq INTEGER NOT NULL,
                admin INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (session, seq))
                WITHOUT ROWID;
            """
        )
        con.executemany(
            "INSERT INTO fix_outbound VALUES (?, ?, ?, ?)",
            [("S", s, int(s == 1), b"m%d" % s) for s in range(1, 6)],
        )
        con.execute("INSERT INTO fix_session VALUES ('S', 3, 6)")
        con.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        con.execute("PRAGMA user_version = 1")
    finally:
        con.close()
    path.chmod(0o600)  # made by sqlite3 (0644): the venue refuses journal files others can read


async def test_a_version_1_file_is_migrated_when_opened_for_writing(db_path: Path) -> None:
    _make_version_1(db_path)
    with pytest.raises(JournalCorrupt, match="schema version 1"):
        await Journal.open(db_path, create=False, exclusive=False)
    journal = await Journal.open(db_path, create=False)
    try:
        assert await journal.read_outbound("S", 1, 0, 10) == [
            (1, True, b"m1"),
            *[(s, False, b"m%d" % s) for s in range(2, 6)],
        ]
        assert await journal.load_session_seqs("S") == (3, 6, 0)  # no Logon time known
        batch = Batch()
        batch.store_ops = [("S", 6, 0, b"m6"), ("S", 3, 0, b"re3")]
        await journal.commit(batch)
        got = await journal.read_outbound("S", 3, 6, 10)
        assert got == [(3, False, b"re3"), (4, False, b"m4"), (5, False, b"m5"), (6, False, b"m6")]
    finally:
        await journal.close()
    con = sqlite3.connect(db_path)
    try:
        assert con.execute("PRAGMA user_version").fetchone() == (SCHEMA_VERSION,)
    finally:
        con.close()


async def test_a_version_2_file_gains_the_last_logon_column(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    batch = Batch()
    batch.session_seqs["S"] = (4, 7, 123)
    await journal.commit(batch)
    await journal.close()
    con = sqlite3.connect(db_path)  # make it a version 2 file: fix_session without last_logon
    try:
        con.executescript(
            "CREATE TABLE old (session TEXT PRIMARY KEY, next_in INTEGER NOT NULL,"
            " next_out INTEGER NOT NULL) WITHOUT ROWID;"
            "INSERT INTO old SELECT session, next_in, next_out FROM fix_session;"
            "DROP TABLE fix_session; ALTER TABLE old RENAME TO fix_session;"
            "ALTER TABLE journal DROP COLUMN chain;"
            "DROP TABLE archived;"
            "PRAGMA user_version = 2;"
        )
    finally:
        con.close()
    with pytest.raises(JournalCorrupt, match="schema version 2"):
        await Journal.open(db_path, create=False, exclusive=False)
    journal = await Journal.open(db_path, create=False)
    try:
        assert await journal.load_session_seqs("S") == (4, 7, 0)
    finally:
        await journal.close()


async def test_the_last_signed_logon_survives_a_reopen_and_a_version_3_file_gains_it(
    db_path: Path,
) -> None:
    journal = await Journal.open(db_path)
    batch = Batch()
    batch.session_seqs["S"] = (4, 7, 123)
    batch.logon_guards["S"] = (1_700_000_000_000_000_000, 4)
    batch.logon_guards["NEW"] = (5, 1)  # a session without numbers yet starts at 1/1
    await journal.commit(batch)
    batch = Batch()
    batch.session_seqs["S"] = (5, 8, 124)  # saving the numbers keeps the guard
    await journal.commit(batch)
    await journal.close()
    journal = await Journal.open(db_path, create=False)
    try:
        assert await journal.load_logon_guards() == {
            "S": (1_700_000_000_000_000_000, 4),
            "NEW": (5, 1),
        }
        assert await journal.load_session_seqs("S") == (5, 8, 124)
        assert await journal.load_session_seqs("NEW") == (1, 1, 0)
    finally:
        await journal.close()
    con = sqlite3.connect(db_path)  # make it a version 3 file: fix_session without the guard
    try:
        con.executescript(
            "CREATE TABLE old (session TEXT PRIMARY KEY, next_in INTEGER NOT NULL,"
            " next_out INTEGER NOT NULL, last_logon INTEGER NOT NULL DEFAULT 0) WITHOUT ROWID;"
            "INSERT INTO old SELECT session, next_in, next_out, last_logon FROM fix_session;"
            "DROP TABLE fix_session; ALTER TABLE old RENAME TO fix_session;"
            "ALTER TABLE journal DROP COLUMN chain;"
            "DROP TABLE archived;"
            "PRAGMA user_version = 3;"
        )
    finally:
        con.close()
    with pytest.raises(JournalCorrupt, match="schema version 3"):
        await Journal.open(db_path, create=False, exclusive=False)
    journal = await Journal.open(db_path, create=False)
    try:
        assert await journal.load_session_seqs("S") == (5, 8, 124)
        assert await journal.load_logon_guards() == {}
    finally:
        await journal.close()


def test_multi_row_statements_hold_powers_of_two_rows() -> None:
    """Every distinct statement stays prepared in SQLite's cache: row counts are powers of two,
    so batches of any size reuse a handful of statements (the soak's memory stays flat)."""
    import sqlite3

    from venue.journal.outbound import insert_rows

    db = sqlite3.connect(":memory:")
    db.execute("CREATE TABLE t (a, b)")
    seen: list[int] = []
    db.set_trace_callback(
        lambda sql: seen.append(sql.count("),(") + 1) if "INSERT" in sql else None
    )
    insert_rows(db, "INSERT INTO t (a, b)", [(i, i) for i in range(29)], 2)
    assert seen == [16, 8, 4, 1]
    assert db.execute("SELECT count(*), sum(a) FROM t").fetchone() == (29, sum(range(29)))
