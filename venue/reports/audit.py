"""Audit export of admin actions: the journal's `RecordAdminAction` rows (what the admin server
records for every operator action) as CSV, each with the hashes an auditor needs to check that
the row is the one in the journal.

Columns: seq, time (UTC, microseconds), operator, action, detail, `command_sha256` (SHA-256 of
the row's stored command bytes), `events_sha256` (of its stored events bytes), `chain` (the
journal's chained row hash, hex) and `prev_chain` (the previous row's), so that with the row's
stored bytes an auditor recomputes `chain` by the journal's rule (`venue.journal.chain`:
BLAKE2b-256, person `venue-journal`, over prev_chain, seq and ts as 8-byte big-endian, the
command's length as 4-byte big-endian, the command and the events) and, with the whole
journal, follows the chain from any row to the head. A journal file without a `chain` column
(older than schema version 4, never opened by a newer venue) leaves both empty.

Invariants:
- Read only: the file is opened with SQLite's `mode=ro`; nothing is written.
- The `chain` column is filled from the journal's own hash chain as soon as the journal has one
  (DESIGN.md section 5); with a journal without it, the export says so on its first line.
"""

from __future__ import annotations

import csv
import hashlib
import sqlite3
from pathlib import Path
from typing import TextIO
from urllib.parse import quote

import msgspec

from venue.core import Command, RecordAdminAction
from venue.journal import JournalMissing, JournalUnreadable
from venue.reports.format import utc_us

__all__ = ["AUDIT_COLUMNS", "audit_export", "audit_rows"]

AUDIT_COLUMNS = [
    "seq",
    "time_utc",
    "operator",
    "action",
    "detail",
    "command_sha256",
    "events_sha256",
    "chain",
    "prev_chain",
]
_decode = msgspec.msgpack.Decoder(Command).decode


def audit_rows(
    path: str, *, since_ns: int | None = None, until_ns: int | None = None
) -> tuple[bool, list[list[object]]]:
    """(whether the journal has a hash chain, the CSV rows)."""
    p = Path(path)
    if not p.exists():
        raise JournalMissing(f"journal {path} does not exist")
    try:
        conn = sqlite3.connect(f"file:{quote(str(p.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as exc:
        raise JournalUnreadable(f"journal {path} cannot be opened: {exc}") from exc
    try:
        cols = {str(r[1]) for r in conn.execute("PRAGMA table_info(journal)")}
        chained = "chain" in cols
        sql = "SELECT seq, ts, cmd, events"
        if chained:
            sql += ", chain, (SELECT p.chain FROM journal p WHERE p.seq = journal.seq - 1)"
        sql += " FROM journal WHERE instr(cmd, ?) > 0 ORDER BY seq"
        rows: list[list[object]] = []
        for r in conn.execute(sql, (b"RecordAdminAction",)):
            seq, ts, raw, events = int(r[0]), int(r[1]), bytes(r[2]), bytes(r[3])
            cmd = _decode(raw)
            if not isinstance(cmd, RecordAdminAction):
                continue
            if (since_ns is not None and ts < since_ns) or (until_ns is not None and ts > until_ns):
                continue
            rows.append(
                [
                    seq,
                    utc_us(ts),
                    cmd.operator,
                    cmd.action,
                    cmd.detail,
                    hashlib.sha256(raw).hexdigest(),
                    hashlib.sha256(events).hexdigest(),
                    bytes(r[4]).hex() if chained else "",
                    _prev_chain(r[5]) if chained else "",
                ]
            )
    except sqlite3.Error as exc:
        raise JournalUnreadable(f"journal {path} cannot be read: {exc}") from exc
    finally:
        conn.close()
    return chained, rows


def _prev_chain(value: bytes | None) -> str:
    """The previous row's chain hash; the genesis (32 zero bytes) before seq 1."""
    return bytes(value).hex() if value is not None else bytes(32).hex()


async def audit_export(
    path: str, out: TextIO, *, since_ns: int | None = None, until_ns: int | None = None
) -> None:
    chained, rows = audit_rows(path, since_ns=since_ns, until_ns=until_ns)
    if not chained:
        out.write("# this journal has no hash chain: the chain column is empty\n")
    w = csv.writer(out, lineterminator="\n")
    w.writerow(AUDIT_COLUMNS)
    w.writerows(rows)
