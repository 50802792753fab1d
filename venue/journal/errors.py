"""Errors of the journal: every start-up or commit problem has its own class and a clear message.

Invariants:
- Every error raised out of `venue.journal` is a `JournalError`; the message names the database
  file and the problem (and the sequence number when one is involved), so the app can print it
  and exit non-zero without a traceback.
- Nothing is repaired, dropped or overwritten silently: a problem found at start-up stops it
  (a lost journal tail only with the operator's explicit, journaled acceptance).
"""

from __future__ import annotations


class JournalError(Exception):
    """Base class: a problem with the journal database. `str(exc)` is the operator message."""


class JournalMissing(JournalError):
    """The database file does not exist and creating one was not asked for (`create=False`)."""


class JournalUnreadable(JournalError):
    """The database file exists but cannot be opened (permissions, a directory, I/O error)."""


class JournalCorrupt(JournalError):
    """The file is not a venue journal, is truncated, or a stored row does not decode
    (`seq` then names the row)."""

    def __init__(self, message: str, *, seq: int | None = None) -> None:
        super().__init__(message)
        self.seq = seq


class JournalGap(JournalError):
    """The journal's sequence numbers are not contiguous (a row is missing or out of place)."""

    def __init__(self, message: str, *, expected_seq: int, found_seq: int | None) -> None:
        super().__init__(message)
        self.expected_seq = expected_seq
        self.found_seq = found_seq


class SnapshotMismatch(JournalError):
    """A snapshot does not restore, or restores to a state whose hash is not the stored one."""

    def __init__(self, message: str, *, snapshot_seq: int) -> None:
        super().__init__(message)
        self.snapshot_seq = snapshot_seq


class JournalWriteFailed(JournalError):
    """A batch could not be committed (disk full, I/O error). Nothing of the batch is durable."""


class JournalFailed(JournalError):
    """The sequencer refuses work: an earlier commit failed, so nothing new can be made durable."""


class ChainBroken(JournalCorrupt):
    """A stored row does not match its chain hash (it changed after it was written), or the
    chained rows are not contiguous. `seq` names the first such row."""

    def __init__(self, message: str, *, seq: int) -> None:
        super().__init__(message, seq=seq)


class JournalDiverged(JournalError):
    """Replaying the command at `seq` gives other events (or another state hash) than those
    stored: the state the journal describes is not the state replay rebuilds."""

    def __init__(self, message: str, *, seq: int) -> None:
        super().__init__(message)
        self.seq = seq


class JournalLost(JournalError):
    """The journal ends before the seq its durable marker proves was committed (a write-ahead
    log deleted, truncated or damaged after a crash), or it is not the journal the marker was
    written for. Start-up refuses unless the loss is accepted explicitly."""


class JournalUnsafe(JournalError):
    """A journal file is readable or writable by other users (the message says how to fix it)."""
