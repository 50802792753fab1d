"""Read the committed journal as decoded rows, for consumers that are not the venue (DESIGN.md
section 10: surveillance, reports): `read_rows_decoded(path, on_row, ...)`.

Invariants:
- Read only: the file is opened with `create=False, exclusive=False`, beside a running venue or
  alone, and nothing is written.
- `on_row(seq, ts, cmd, events)` sees the rows with `after_seq < seq <= until_seq` (no upper
  bound when `until_seq` is None) and, when given, `from_ts <= ts < until_ts`, in seq order,
  with the events stored beside each command (not replayed: `venue journal verify` proves those
  equal to a replay).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import msgspec

from venue.core import Command, Event
from venue.journal.store import Journal

__all__ = ["RowSink", "read_rows_decoded"]

RowSink = Callable[[int, int, Command, list[Event]], None]
_decode_cmd = msgspec.msgpack.Decoder(Command).decode
_decode_events = msgspec.msgpack.Decoder(list[Event]).decode


class _Done(Exception):
    """Raised from inside the scan once past `until_seq` / `until_ts`."""


async def read_rows_decoded(
    path: str,
    on_row: RowSink,
    *,
    after_seq: int = 0,
    until_seq: int | None = None,
    from_ts: int | None = None,
    until_ts: int | None = None,
) -> int:
    """Feed the selected rows to `on_row`; returns the journal's last committed seq."""
    journal = await Journal.open(path, create=False, exclusive=False)
    top = until_seq if until_seq is not None else 1 << 62
    lo_ts = from_ts if from_ts is not None else -(1 << 62)
    hi_ts = until_ts if until_ts is not None else 1 << 62

    def on_chunk(rows: list[Any]) -> None:
        for seq, ts, cmd, events in rows:
            if seq > top or ts >= hi_ts:
                raise _Done
            if ts >= lo_ts:
                on_row(seq, ts, _decode_cmd(cmd), _decode_events(events))

    try:
        with contextlib.suppress(_Done):
            await journal.scan(after_seq, on_chunk, with_events=True)
        return journal.last_seq
    finally:
        await journal.close()
