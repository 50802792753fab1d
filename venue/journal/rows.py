"""Read the committed journal as decoded rows, for consumers that are not the venue (DESIGN.md
section 10: surveillance, reports): `read_rows_decoded(path, on_row, ...)`.

Invariants:
- Read only: the file is opened with `create=False, exclusive=False`, beside a running venue or
  alone, and nothing is written.
- Rows moved to archive files (`venue journal archive`) are read from those files first, so
  a consumer sees every row from the first whatever was archived.
- `on_row(seq, ts, cmd, events)` sees the rows with `after_seq < seq <= until_seq` (no upper
  bound when `until_seq` is None) and, when given, `from_ts <= ts < until_ts`, in seq order,
  with the events stored beside each command (not replayed: `venue journal verify` proves those
  equal to a replay).
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

import msgspec

from venue.core import Command, Event
from venue.journal import archive
from venue.journal.chain import GENESIS
from venue.journal.store import Journal

__all__ = ["RowSink", "read_rows_decoded", "scan_all"]

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
            await scan_all(journal, on_chunk, after_seq=after_seq, with_events=True)
        return journal.last_seq
    finally:
        await journal.close()


async def scan_all(
    journal: Journal,
    on_chunk: Callable[[list[Any]], None],
    *,
    after_seq: int = 0,
    with_events: bool = False,
) -> None:
    """`Journal.scan` over every row after `after_seq`, those `venue journal archive` moved to
    archive files first (each file checked against its recorded SHA-256 and the chain as it is
    read): rows of (seq, ts, cmd) or, `with_events`, (seq, ts, cmd, events)."""
    width = 4 if with_events else 3
    prev = GENESIS
    folder = archive.directory(Path(journal.path))
    for record in await journal.archives():
        if record.last_seq > after_seq:
            rows = archive.read(folder / record.file, record, prev_chain=prev)
            on_chunk([row[:width] for row in rows if row[0] > after_seq])
        prev = record.chain
    await journal.scan(max(after_seq, journal.base[0]), on_chunk, with_events=with_events)
