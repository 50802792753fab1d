"""The alerts file: surveillance alerts and their case handling, in their own SQLite database
(default `var/surveillance.db`), apart from the journal and the core's state.

Tables: `alerts` (one row per alert id, with its evidence as a JSON list of journal seqs and its
case `status`, `open` or `closed`), `case_notes` (who did what to a case, when, with a note),
`meta` (`last_seq`: the highest journal seq the engine that writes here has processed).

Invariants:
- An alert reported again (more evidence joined it) updates its figures but never its status
  or notes: closing a case is the operators' decision, not the engine's.
- Writes are short transactions (WAL mode, `synchronous=NORMAL`); the venue's engine and the
  `venue-admin` CLI may write the same file, one waits for the other (busy timeout).
- A file that exists but is not an alerts database is an error, never re-initialised; a new
  file is created 0600.
"""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from venue.surveillance.alerts import Alert

__all__ = ["AlertStore", "AlertStoreError"]

APPLICATION_ID = 0x56534156  # "VSAV": marks a venue surveillance alerts file
_SCHEMA = """
CREATE TABLE alerts (
    alert_id TEXT PRIMARY KEY,
    opened_seq INTEGER NOT NULL,
    opened_rank INTEGER NOT NULL,
    pattern TEXT NOT NULL,
    owner TEXT NOT NULL,
    instrument TEXT NOT NULL,
    ts_from INTEGER NOT NULL,
    ts_to INTEGER NOT NULL,
    score INTEGER NOT NULL,
    evidence TEXT NOT NULL,
    evidence_count INTEGER NOT NULL,
    detail TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT 'open'
);
CREATE INDEX alerts_by_time ON alerts (ts_to);
CREATE TABLE case_notes (
    alert_id TEXT NOT NULL REFERENCES alerts (alert_id),
    ts INTEGER NOT NULL,
    operator TEXT NOT NULL,
    action TEXT NOT NULL,
    note TEXT NOT NULL
);
CREATE TABLE meta (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""
_UPSERT = """
INSERT INTO alerts (alert_id, opened_seq, opened_rank, pattern, owner, instrument, ts_from,
                    ts_to, score, evidence, evidence_count, detail)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (alert_id) DO UPDATE SET ts_from = excluded.ts_from, ts_to = excluded.ts_to,
    score = excluded.score, evidence = excluded.evidence,
    evidence_count = excluded.evidence_count, detail = excluded.detail
"""
_COLUMNS = (
    "alert_id, pattern, owner, instrument, ts_from, ts_to, score, evidence, evidence_count,"
    " detail, status"
)


class AlertStoreError(Exception):
    """The alerts file cannot be opened, or a case command does not apply."""


class AlertStore:
    """One connection to the alerts file. `AlertStore.open(path)`; `close()` when done."""

    def __init__(self, conn: sqlite3.Connection, path: Path) -> None:
        self._conn = conn
        self.path = path

    @classmethod
    def open(cls, path: str | Path, *, create: bool = True) -> AlertStore:
        p = Path(path)
        exists = p.exists()
        if not exists and not create:
            raise AlertStoreError(f"alerts file {p} does not exist")
        if not exists:
            p.parent.mkdir(parents=True, exist_ok=True)
            os.close(os.open(p, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
        empty = p.stat().st_size == 0  # new, or created by a start that stopped right there
        try:
            conn = sqlite3.connect(p, isolation_level=None, timeout=10.0)
            conn.execute("PRAGMA journal_mode = WAL")
            conn.execute("PRAGMA synchronous = NORMAL")
            app_id = conn.execute("PRAGMA application_id").fetchone()[0]
            if app_id == 0 and empty:
                conn.executescript(
                    f"BEGIN IMMEDIATE; {_SCHEMA} PRAGMA application_id = {APPLICATION_ID}; COMMIT;"
                )
            elif app_id != APPLICATION_ID:
                conn.close()
                raise AlertStoreError(f"{p} is not a venue surveillance alerts file")
        except sqlite3.DatabaseError as exc:
            raise AlertStoreError(f"alerts file {p} cannot be opened: {exc}") from exc
        return cls(conn, p)

    def close(self) -> None:
        self._conn.close()

    # -- the engine's writes ---------------------------------------------------------------------

    def save(self, alerts: Iterable[Alert], last_seq: int) -> None:
        """Insert or update `alerts` and record `last_seq` processed, in one transaction."""
        rows = []
        for a in alerts:
            seq, _, rank = a.alert_id.partition(".")
            rows.append(
                (
                    a.alert_id,
                    int(seq),
                    int(rank),
                    a.pattern,
                    a.owner,
                    a.instrument,
                    a.ts_from,
                    a.ts_to,
                    a.score,
                    json.dumps(a.evidence),
                    a.evidence_count,
                    a.detail,
                )
            )
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            self._conn.executemany(_UPSERT, rows)
            self._conn.execute(
                "INSERT INTO meta (key, value) VALUES ('last_seq', ?) "
                "ON CONFLICT (key) DO UPDATE SET value = max(value, excluded.value)",
                (last_seq,),
            )

    def last_seq(self) -> int:
        row = self._conn.execute("SELECT value FROM meta WHERE key = 'last_seq'").fetchone()
        return 0 if row is None else int(row[0])

    # -- case handling ---------------------------------------------------------------------------

    def alerts(
        self,
        *,
        since_ns: int | None = None,
        pattern: str | None = None,
        status: str | None = None,
    ) -> list[dict[str, Any]]:
        """Alerts (ascending by the seq that opened them) whose time range ends at or after
        `since_ns`, of `pattern`, in `status`."""
        where: list[str] = []
        args: list[int | str] = []
        if since_ns is not None:
            where.append("ts_to >= ?")
            args.append(since_ns)
        if pattern is not None:
            where.append("pattern = ?")
            args.append(pattern)
        if status is not None:
            where.append("status = ?")
            args.append(status)
        sql = f"SELECT {_COLUMNS} FROM alerts"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY opened_seq, opened_rank"
        return [_row(r) for r in self._conn.execute(sql, args)]

    def show(self, alert_id: str) -> dict[str, Any]:
        row = self._conn.execute(
            f"SELECT {_COLUMNS} FROM alerts WHERE alert_id = ?", (alert_id,)
        ).fetchone()
        if row is None:
            raise AlertStoreError(f"unknown alert {alert_id!r}")
        out = _row(row)
        out["notes"] = [
            {"ts": r[0], "operator": r[1], "action": r[2], "note": r[3]}
            for r in self._conn.execute(
                "SELECT ts, operator, action, note FROM case_notes WHERE alert_id = ? "
                "ORDER BY rowid",
                (alert_id,),
            )
        ]
        return out

    def close_case(self, alert_id: str, *, operator: str, note: str, ts: int) -> dict[str, Any]:
        """Close the alert's case with a note (required). Raises AlertStoreError when the
        alert is unknown or already closed."""
        if not note.strip():
            raise AlertStoreError("closing a case needs a note saying why")
        with self._conn:
            self._conn.execute("BEGIN IMMEDIATE")
            row = self._conn.execute(
                "SELECT status FROM alerts WHERE alert_id = ?", (alert_id,)
            ).fetchone()
            if row is None:
                raise AlertStoreError(f"unknown alert {alert_id!r}")
            if row[0] == "closed":
                raise AlertStoreError(f"alert {alert_id} is already closed")
            self._conn.execute(
                "UPDATE alerts SET status = 'closed' WHERE alert_id = ?", (alert_id,)
            )
            self._conn.execute(
                "INSERT INTO case_notes (alert_id, ts, operator, action, note) "
                "VALUES (?, ?, ?, 'close', ?)",
                (alert_id, ts, operator, note),
            )
        return self.show(alert_id)


def _row(r: tuple[Any, ...]) -> dict[str, Any]:
    return {
        "alert_id": r[0],
        "pattern": r[1],
        "owner": r[2],
        "instrument": r[3],
        "ts_from": r[4],
        "ts_to": r[5],
        "score": r[6],
        "evidence": json.loads(r[7]),
        "evidence_count": r[8],
        "detail": r[9],
        "status": r[10],
    }
