"""The background check of the journal's history: the rows up to the newest snapshot, which
start-up restores instead of replaying, are checked against their chain hashes after the venue
opened (the live state is right, but the operator must know when the file is damaged).

Invariants:
- Runs on a worker thread with its own read-only connection (`mode=ro`; the venue's own
  connections keep the WAL index), so it never holds the event loop: the loop only awaits it.
  `stop()` ends it between two chunks.
- It starts from the newest archive's end (rows before it are in archive files, which
  `venue journal verify` checks) and ends the chain at the stored hash of the snapshot's row,
  the hash start-up continued the tail's check from: when it passes, every row of the
  database has been checked.
- `state` is "pending", "running", "ok", "damaged" (`detail` names the first bad seq),
  "failed" (the file could not be read: `detail` says why) or "stopped"; it is what
  `venue-admin status` shows. Nothing here logs: the caller reports the outcome.
"""

from __future__ import annotations

import asyncio
import sqlite3
import threading
from pathlib import Path
from urllib.parse import quote

from venue.journal.chain import GENESIS, chain_file
from venue.journal.errors import ChainBroken, JournalGap


class HistoryCheck:
    def __init__(
        self, path: Path, *, until_seq: int, after: tuple[int, bytes] = (0, GENESIS)
    ) -> None:
        self.path = path
        self.until_seq = until_seq
        self.after = after  # the newest archive's end (seq, chain hash): rows start after it
        self.state = "pending"
        self.detail = ""
        self.rows = 0
        self._stop = threading.Event()

    def status(self) -> dict[str, object]:
        return {
            "state": self.state,
            "until_seq": self.until_seq,
            "rows_checked": self.rows,
            "detail": self.detail,
        }

    def stop(self) -> None:
        self._stop.set()

    async def run(self) -> None:
        self.state = "running"
        try:
            state, detail = await asyncio.to_thread(self._check)
        except asyncio.CancelledError:
            self._stop.set()
            self.state = "stopped"
            raise
        self.state, self.detail = state, detail

    def _check(self) -> tuple[str, str]:
        uri = "file:" + quote(str(self.path.resolve())) + "?mode=ro"
        try:
            db = sqlite3.connect(uri, uri=True, check_same_thread=False)
        except sqlite3.Error as exc:
            return "failed", f"journal {self.path} cannot be opened: {exc}"
        try:
            check = chain_file(
                db,
                until_seq=self.until_seq,
                where=str(self.path),
                stop=self._stop.is_set,
                after=self.after,
            )
        except (ChainBroken, JournalGap) as exc:
            return "damaged", str(exc)
        except sqlite3.Error as exc:
            return "failed", f"journal {self.path} cannot be read: {exc}"
        finally:
            db.close()
        self.rows = check.rows
        if self._stop.is_set():
            return "stopped", f"stopped after {check.rows} rows"
        if check.head_seq != self.until_seq:
            return "damaged", (
                f"journal {self.path}: rows {check.head_seq + 1}..{self.until_seq} are missing "
                f"before the snapshot at seq {self.until_seq}"
            )
        return "ok", f"rows {self.after[0] + 1}..{self.until_seq} match their chain hashes"
