"""`journal.adopt_archive`: a running venue takes over an archive written beside its journal.

`venue journal archive` (the CLI process) writes the archive file from the database opened
read-only, the heavy part, off the venue's loop; the venue then only checks it continues its
chain and is the file named (`venue.journal.archive.adoptable`, the hashing on a worker thread),
adopts it in one transaction with its audit record, and deletes the archived rows from the
database in chunks of `TRIM_CHUNK` rows, one chunk per transaction, in the background.

Invariants:
- Nothing is adopted that does not continue the journal's chain exactly at its newest archive
  and end at a row the journal holds with the same chain hash.
- The answer comes once the adoption is durable; the deletion continues after it and is
  resumed by the next adoption if the venue stops first (rows already archived that are still
  in the database are only a cost, never a second truth: readers start after the archive).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from pathlib import Path

from venue.core.commands import RecordAdminAction
from venue.journal import JournalFailed
from venue.journal.archive import ArchiveRecord, adoptable
from venue.log import get_logger
from venue.sequencer import Sequencer, SequencerStopped

TRIM_CHUNK = 5000  # rows deleted per transaction: a few milliseconds of a live commit

_log = get_logger("venue.admin")


class Archiving:
    """The adopt operation and the background deletion it starts."""

    def __init__(self, sequencer: Sequencer, committed: Callable[[], Awaitable[object]]) -> None:
        self._sequencer = sequencer
        self._committed = committed
        self._trim: asyncio.Task[None] | None = None

    async def adopt(self, record: ArchiveRecord, operator: str) -> tuple[str, dict[str, object]]:
        """("", answer) once adopted, or (why not, {}) when refused."""
        journal = self._sequencer.journal
        at_last = await journal.chain_hash_at(record.last_seq)
        why = await asyncio.to_thread(
            adoptable, record, base=journal.base[0], chain_at_last=at_last, db=Path(journal.path)
        )
        if why:
            return why, {}
        self._sequencer.record_archive(record)
        detail = {"first_seq": record.first_seq, "last_seq": record.last_seq, "file": record.file}
        text = json.dumps(detail, sort_keys=True, separators=(",", ":"))
        self._sequencer.submit(
            RecordAdminAction(operator=operator, action="journal.archive", detail=text)
        )
        await self._committed()
        left = await journal.archived_rows_left()
        if self._trim is None or self._trim.done():
            self._trim = asyncio.create_task(self._delete_archived(), name="journal-trim")
        return "", {**detail, "rows_to_delete": left}

    async def _delete_archived(self) -> None:
        journal = self._sequencer.journal
        try:
            while await journal.archived_rows_left():
                self._sequencer.record_journal_trim(TRIM_CHUNK)
                await self._committed()
        except (JournalFailed, SequencerStopped) as exc:  # stopping: the next adoption resumes
            _log.warning("journal_archived_rows_not_deleted", error=str(exc))
            return
        _log.info("journal_archived_rows_deleted", until_seq=journal.base[0])
