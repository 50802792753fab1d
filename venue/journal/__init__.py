"""venue.journal: the SQLite journal, snapshots, FIX session store and crash recovery.

Invariants: see `store` (what is written and how durably), `chain` (the hash chain over the
rows), `marker` (the durable marker beside the file), `recovery` (how start-up rebuilds and
checks the state), `history` (the background check of the rows before the snapshot), `verify`
(full replay check, read-only), `files` and `schema` (opening, permissions, migration).
Imports only `venue.core`, stdlib, msgspec and aiosqlite; time enters as arguments.
"""

from venue.journal.errors import (
    ChainBroken,
    JournalCorrupt,
    JournalDiverged,
    JournalError,
    JournalFailed,
    JournalGap,
    JournalLost,
    JournalMissing,
    JournalUnreadable,
    JournalUnsafe,
    JournalWriteFailed,
    SnapshotMismatch,
)
from venue.journal.recovery import recover
from venue.journal.store import Batch, Journal, RecoveryReport, Snapshot, Synchronous

__all__ = [
    "Batch",
    "ChainBroken",
    "Journal",
    "JournalCorrupt",
    "JournalDiverged",
    "JournalError",
    "JournalFailed",
    "JournalGap",
    "JournalLost",
    "JournalMissing",
    "JournalUnreadable",
    "JournalUnsafe",
    "JournalWriteFailed",
    "RecoveryReport",
    "Snapshot",
    "SnapshotMismatch",
    "Synchronous",
    "recover",
]
