"""Replay a journal file into a fresh core `Engine` up to a cut-off, showing every row to the
report builders with the engine as it is right after that row.

Invariants:
- Read only (the journal is opened with `create=False, exclusive=False`); the engine is fed the
  stored, stamped commands in seq order from seq 1, so it is exactly the venue's state at each
  seq. A gap in the seqs is an error (`JournalGap`), never skipped.
- Rows with `seq <= until_seq` and `ts < until_ts` are applied (either bound may be None); the
  replay stops at the first row past either bound.
- `at_ts`/`on_reach`: `on_reach(engine, seq)` is called once, before the first row with
  `ts >= at_ts` is applied (or after the last row applied, if there is none): the state at the
  start of a period.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable
from typing import Any

import msgspec

from venue.core import Command, Engine, Event
from venue.journal import Journal, JournalGap
from venue.journal.rows import scan_all

__all__ = ["ReplaySink", "replay"]

ReplaySink = Callable[[int, int, Command, list[Event]], None]
_decode = msgspec.msgpack.Decoder(Command).decode


class _Done(Exception):
    pass


async def replay(
    path: str,
    on_row: ReplaySink | None = None,
    *,
    until_seq: int | None = None,
    until_ts: int | None = None,
    at_ts: int | None = None,
    on_reach: Callable[[Engine, int], None] | None = None,
) -> tuple[Engine, int, int]:
    """(engine after the last row applied, its seq, its ts); seq and ts 0 for none."""
    engine = Engine()
    apply = engine.apply
    top_seq = until_seq if until_seq is not None else 1 << 62
    top_ts = until_ts if until_ts is not None else 1 << 62
    reach = at_ts if at_ts is not None and on_reach is not None else None
    last = [0, 0]

    def on_chunk(rows: list[Any]) -> None:
        nonlocal reach
        for seq, ts, raw in rows:
            if seq > top_seq or ts >= top_ts:
                raise _Done
            if seq != last[0] + 1:
                raise JournalGap(
                    f"journal {path} has a gap: expected seq {last[0] + 1}, found seq {seq}",
                    expected_seq=last[0] + 1,
                    found_seq=seq,
                )
            if reach is not None and ts >= reach:
                assert on_reach is not None
                on_reach(engine, last[0])
                reach = None
            cmd = _decode(raw)
            events = apply(cmd)
            last[0], last[1] = seq, ts
            if on_row is not None:
                on_row(seq, ts, cmd, events)

    journal = await Journal.open(path, create=False, exclusive=False)
    try:
        with contextlib.suppress(_Done):
            await scan_all(journal, on_chunk)
    finally:
        await journal.close()
    if reach is not None and on_reach is not None:
        on_reach(engine, last[0])
    return engine, last[0], last[1]
