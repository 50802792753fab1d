"""`venue journal verify --db PATH`: replay the whole journal from empty and compare.

Every command is applied to a fresh `Engine`; the events it produces must equal the events
stored with it, and the state hash at every stored snapshot's seq must equal the stored hash
(the final state hash is checked that way too: the sequencer writes a snapshot at a clean stop).

Invariants:
- Read only: the database is opened with `create=False, exclusive=False` (it may run beside a
  live venue) and nothing is written.
- Exit status: 0 when everything is identical; 1 at the first divergence (event, state hash,
  sequence gap, ts going backwards, undecodable row), naming its sequence number; 2 when the
  database cannot be opened or is corrupt (SQLite `quick_check`).
- Runs as `python -m venue.journal.verify --db PATH` and through `main(argv)`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence
from typing import Any

import msgspec

from venue.core import Engine, Event
from venue.journal.errors import JournalCorrupt, JournalError, JournalGap
from venue.journal.recovery import Replayer
from venue.journal.store import Journal

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_UNREADABLE = 2


class Diverged(Exception):
    """The replay differs from the journal at `seq`."""

    def __init__(self, seq: int, message: str) -> None:
        super().__init__(message)
        self.seq = seq


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    commands: int
    last_seq: int
    snapshots_checked: int
    final_state_hash: str
    final_hash_stored: bool  # a snapshot exists at the last seq, so the final hash was compared


class _Checker:
    def __init__(self, engine: Engine, hashes: dict[int, str]) -> None:
        self._engine = engine
        self._hashes = hashes
        self._encode = msgspec.msgpack.Encoder().encode
        self._decode_events = msgspec.msgpack.Decoder(list[Event]).decode
        self.snapshots_checked = 0

    def __call__(self, row: tuple[Any, ...], events: list[Any]) -> None:
        seq = row[0]
        stored = row[3]
        if self._encode(events) != stored:
            try:
                stored_events = self._decode_events(stored)
            except msgspec.DecodeError as exc:
                raise Diverged(seq, f"seq {seq}: stored events do not decode: {exc}") from exc
            if stored_events != events:
                raise Diverged(
                    seq,
                    f"seq {seq}: replay produced {events!r}, the journal holds {stored_events!r}",
                )
        expected_hash = self._hashes.get(seq)
        if expected_hash is not None:
            actual = self._engine.state_hash()
            if actual != expected_hash:
                raise Diverged(
                    seq,
                    f"seq {seq}: state hash after replay is {actual}, "
                    f"the snapshot stored {expected_hash}",
                )
            self.snapshots_checked += 1


async def verify(path: str) -> VerifyResult:
    """Replay `path` from empty. Raises Diverged, or JournalError when it cannot be read."""
    journal = await Journal.open(path, create=False, exclusive=False)
    try:
        problem = await journal.quick_check()
        if problem is not None:
            raise JournalCorrupt(f"journal {path} fails SQLite quick_check: {problem}")
        hashes = await journal.snapshot_hashes()
        engine = Engine()
        checker = _Checker(engine, hashes)
        replayer = Replayer(engine, after_seq=0, after_ts=0, where=path, on_row=checker)
        await journal.scan(0, replayer, with_events=True)
        if replayer.last_seq != journal.last_seq:
            raise JournalGap(
                f"journal {path}: replay stopped at seq {replayer.last_seq}, "
                f"but the journal ends at seq {journal.last_seq}",
                expected_seq=replayer.last_seq + 1,
                found_seq=None,
            )
        return VerifyResult(
            commands=replayer.last_seq,
            last_seq=replayer.last_seq,
            snapshots_checked=checker.snapshots_checked,
            final_state_hash=engine.state_hash(),
            final_hash_stored=replayer.last_seq in hashes,
        )
    finally:
        await journal.close()


def main(argv: Sequence[str]) -> int:
    """`venue journal verify --db PATH`; returns the exit status (see module docstring)."""
    parser = argparse.ArgumentParser(
        prog="venue journal verify",
        description="Replay the journal from empty and compare every event and the state hash.",
    )
    parser.add_argument("--db", required=True, help="path of the journal database")
    args = parser.parse_args(list(argv))
    try:
        result = asyncio.run(verify(args.db))
    except Diverged as exc:
        print(f"DIVERGED at seq {exc.seq}: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except JournalGap as exc:
        print(f"DIVERGED at seq {exc.expected_seq}: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except JournalCorrupt as exc:
        if exc.seq is not None:
            print(f"DIVERGED at seq {exc.seq}: {exc}", file=sys.stderr)
            return EXIT_DIVERGED
        print(f"CORRUPT: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    except JournalError as exc:
        print(f"ERROR: {exc}", file=sys.stderr)
        return EXIT_UNREADABLE
    final = "compared with the stored snapshot" if result.final_hash_stored else "no stored hash"
    print(
        f"OK: {result.commands} commands replayed, every event identical; "
        f"{result.snapshots_checked} snapshot hashes identical; final state hash "
        f"{result.final_state_hash} at seq {result.last_seq} ({final})"
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
