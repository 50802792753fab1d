"""venue.journal: the SQLite journal, snapshots, FIX session store and crash recovery.

Invariants: see `store` (what is written and how durably), `recovery` (how start-up rebuilds and
checks the state) and `verify` (full replay check). Imports only `venue.core`, stdlib, msgspec
and aiosqlite; time enters as arguments.
"""

from venue.journal.errors import (
    JournalCorrupt,
    JournalError,
    JournalFailed,
    JournalGap,
    JournalMissing,
    JournalUnreadable,
    JournalWriteFailed,
    SnapshotMismatch,
)
from venue.journal.recovery import recover
from venue.journal.store import Batch, Journal, RecoveryReport, Snapshot, Synchronous

__all__ = [
    "Batch",
    "Journal",
    "JournalCorrupt",
    "JournalError",
    "JournalFailed",
    "JournalGap",
    "JournalMissing",
    "JournalUnreadable",
    "JournalWriteFailed",
    "RecoveryReport",
    "Snapshot",
    "SnapshotMismatch",
    "Synchronous",
    "recover",
]
