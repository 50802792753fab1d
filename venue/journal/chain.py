"""The journal's hash chain: every row carries a hash of the previous row's hash and its own
sequence number, ts, command and events, so a change to any stored row is detectable.

    chain(0) = GENESIS (32 zero bytes)
    chain(n) = BLAKE2b-256(person=b"venue-journal", key=none)(
                   chain(n-1) || int64be(seq) || int64be(ts) || uint32be(len(cmd)) || cmd || events)

BLAKE2b (RFC 7693, in the standard library's `hashlib`): a cryptographic hash with a 256-bit
digest, a personalisation string (this chain's hashes cannot be confused with any other use of
BLAKE2b) and, measured here, about as fast as SHA-256 for rows of a few hundred bytes. The
command's length is in the hashed bytes so the split between command and events is fixed.

Invariants:
- The chain is a pure function of the rows: `link` and `link_rows` read nothing else, so a
  standby, an archive continuing the chain in another file or an audit export compute the same
  hashes from the same rows (start from the hash at the seq they continue from).
- `ChainCheck` compares every row's stored hash with the one recomputed from the previous row's
  (the first from the hash it was given) and raises `ChainBroken` at the first difference,
  naming the seq (`JournalGap` for a missing row); it never skips a row and keeps the head
  (seq, hash) of what it checked.
- A journal migrated from schema version 3 or older had no chain: its rows were chained when
  the migration ran, so the chain proves nothing about changes made to them before that.
"""

from __future__ import annotations

import hashlib
import sqlite3
import struct
from collections.abc import Callable, Sequence
from typing import Any

from venue.journal.errors import ChainBroken, JournalGap

GENESIS = bytes(32)
DIGEST_SIZE = 32
PERSON = b"venue-journal"
_head = struct.Struct(">qqI").pack
_blake2b = hashlib.blake2b

ChainedRow = tuple[int, int, bytes, bytes, bytes]  # (seq, ts, cmd, events, chain)


def link(prev: bytes, seq: int, ts: int, cmd: bytes, events: bytes) -> bytes:
    """chain(seq) from chain(seq - 1) = `prev`."""
    return _blake2b(
        prev + _head(seq, ts, len(cmd)) + cmd + events, digest_size=DIGEST_SIZE, person=PERSON
    ).digest()


def link_rows(
    prev: bytes, rows: Sequence[tuple[int, int, bytes, bytes]]
) -> tuple[list[ChainedRow], bytes]:
    """The rows with their chain hashes appended, and the last hash (`prev` for no rows)."""
    out: list[ChainedRow] = []
    append = out.append
    head = _head
    blake = _blake2b
    for seq, ts, cmd, events in rows:
        prev = blake(
            prev + head(seq, ts, len(cmd)) + cmd + events, digest_size=DIGEST_SIZE, person=PERSON
        ).digest()
        append((seq, ts, cmd, events, prev))
    return out, prev


class ChainCheck:
    """Checks chunks of (seq, ts, cmd, events, chain, ...) rows in ascending seq order.
    `head_seq`/`head` are the last row checked (or where the check started)."""

    __slots__ = ("_where", "head", "head_seq", "rows")

    def __init__(self, *, after_seq: int, after_hash: bytes, where: str) -> None:
        self._where = where
        self.head_seq = after_seq
        self.head = after_hash
        self.rows = 0

    def __call__(self, rows: Sequence[Sequence[Any]]) -> None:
        prev = self.head
        expected = self.head_seq + 1
        head = _head
        blake = _blake2b
        for row in rows:
            seq, ts, cmd, events, stored = row[0], row[1], row[2], row[3], row[4]
            if seq != expected:
                raise JournalGap(
                    f"journal {self._where} has a gap: expected seq {expected}, found seq {seq}",
                    expected_seq=expected,
                    found_seq=seq,
                )
            prev = blake(
                prev + head(seq, ts, len(cmd)) + cmd + events,
                digest_size=DIGEST_SIZE,
                person=PERSON,
            ).digest()
            if prev != stored:
                raise ChainBroken(
                    f"journal {self._where}: seq {seq}: the stored row (command, events or ts) "
                    f"does not match its chain hash: it changed after it was written",
                    seq=seq,
                )
            expected = seq + 1
        self.rows += len(rows)
        self.head_seq = expected - 1
        self.head = prev


def chain_file(
    db: sqlite3.Connection,
    *,
    until_seq: int,
    where: str,
    stop: Callable[[], bool] = lambda: False,
    chunk: int = 4096,
    after: tuple[int, bytes] = (0, GENESIS),
) -> ChainCheck:
    """Check the chain of rows after `after` (seq, its hash: the newest archive's end, or the
    start) up to `until_seq` on a plain sqlite3 connection (a worker thread's,
    or the migration's). Returns the check (its head is the hash at `until_seq`); raises
    `ChainBroken`. `stop()` is asked between chunks: True ends the check early."""
    check = ChainCheck(after_seq=after[0], after_hash=after[1], where=where)
    cur = db.execute(
        "SELECT seq, ts, cmd, events, chain FROM journal WHERE seq > ? AND seq <= ? ORDER BY seq",
        (after[0], until_seq),
    )
    try:
        while not stop():
            rows = cur.fetchmany(chunk)
            if not rows:
                break
            check(rows)
    finally:
        cur.close()
    return check


def fill_chain(db: sqlite3.Connection, chunk: int = 4096) -> None:
    """Migration: compute the chain of every row of a journal written without one (inside the
    caller's transaction, on the connection's own thread)."""
    prev = GENESIS
    last = 0
    while True:
        rows = db.execute(
            "SELECT seq, ts, cmd, events FROM journal WHERE seq > ? ORDER BY seq LIMIT ?",
            (last, chunk),
        ).fetchall()
        if not rows:
            return
        chained, prev = link_rows(prev, rows)
        db.executemany(
            "UPDATE journal SET chain = ? WHERE seq = ?", [(r[4], r[0]) for r in chained]
        )
        last = int(rows[-1][0])
