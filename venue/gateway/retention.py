"""Resend retention: how far back each session's outbound message store reaches.

A session with `resend_retention_messages = N` keeps its newest N outbound messages for
resend; older ones are deleted from the journal's store (a `store_trims` entry of the next
batch, see `venue.journal.outbound.TRIM`). A ResendRequest that reaches below what is kept is
answered with a SequenceReset-GapFill over the missing numbers, as for any number the store
lacks (`venue.fix.store.ResendPlan`).

Invariants:
- Nothing at or above `next_out - N` is ever trimmed: the newest N messages stay.
- Trims are batched: one is asked only once `N // 8` (at least 1) more messages fell out of
  the window, so a busy session costs one small DELETE per N/8 messages, not one per message.
- A sequence reset (next_out back to 1) restarts the count; a trim never runs against numbers
  of a previous sequence (the reset itself deleted that store).
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class _Slot(Protocol):
    name: str
    trimmed_below: int

    @property
    def keep(self) -> int: ...

    @property
    def next_out(self) -> int: ...


def trims_due(slots: Iterable[_Slot]) -> list[tuple[str, int]]:
    """(session, below) for each session whose store should drop messages below `below` now;
    marks them as asked (`trimmed_below`)."""
    due: list[tuple[str, int]] = []
    for slot in slots:
        keep = slot.keep
        if keep <= 0:
            continue
        below = slot.next_out - keep
        if below < slot.trimmed_below:  # the sequence was reset: count from the new one
            slot.trimmed_below = 0
        if below - slot.trimmed_below >= max(1, keep // 8):
            slot.trimmed_below = below
            due.append((slot.name, below))
    return due
