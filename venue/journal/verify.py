"""`venue journal verify --db PATH`: replay the whole journal from empty and compare.

Every row's chain hash is recomputed from the first row on and must equal the stored one
(rows moved to archive files by `venue journal archive` are read from those files, each
checked against the SHA-256 the journal recorded, and the chain runs on across them);
every command is applied to a fresh `Engine`; the events it produces must equal the events
stored with it; the journal must reach as far as its durable marker proves; and the state
hash at every stored snapshot's seq must equal the stored hash (the final state hash is checked
that way too: the sequencer writes a snapshot at a clean stop).

Invariants:
- Read only: the database is opened with `readonly=True` (it may run beside a live venue, or
  on a crashed database kept as evidence): no byte of the database, its -wal or -shm, or the
  marker is written, no mtime changes, no checkpoint runs.
- Exit status: 0 when everything is identical; 1 at the first divergence (chain hash, event,
  state hash, sequence gap, ts going backwards, undecodable row), naming its sequence number,
  or when the journal is shorter than its marker proves (LOST); 2 when the
  database cannot be opened or is corrupt (SQLite `quick_check`).
- Runs as `python -m venue.journal.verify --db PATH` and through `main(argv)`.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

import msgspec

from venue.core import Engine
from venue.journal import archive, marker
from venue.journal.chain import GENESIS, ChainCheck
from venue.journal.errors import (
    JournalCorrupt,
    JournalDiverged,
    JournalError,
    JournalGap,
    JournalLost,
)
from venue.journal.recovery import EventCheck, Replayer, loss
from venue.journal.store import Journal

EXIT_OK = 0
EXIT_DIVERGED = 1
EXIT_UNREADABLE = 2


Diverged = JournalDiverged  # the name callers used before it moved to `errors`


class VerifyResult(msgspec.Struct, frozen=True, kw_only=True):
    commands: int
    last_seq: int
    snapshots_checked: int
    final_state_hash: str
    final_hash_stored: bool  # a snapshot exists at the last seq, so the final hash was compared
    chain_hash: str  # hex, the chain hash at last_seq (every row's was recomputed and equal)
    marker: str  # what the durable marker says, and that the journal reaches it


class _SnapshotHashes:
    """`on_row` part: the state hash at every stored snapshot's seq must be the stored one."""

    def __init__(self, engine: Engine, hashes: dict[int, str], where: str) -> None:
        self._engine = engine
        self.hashes = hashes
        self._where = where
        self.checked = 0

    def __call__(self, seq: int) -> None:
        expected = self.hashes.get(seq)
        if expected is not None:
            actual = self._engine.state_hash()
            if actual != expected:
                raise JournalDiverged(
                    f"journal {self._where}: seq {seq}: state hash after replay is {actual}, "
                    f"the snapshot stored {expected}",
                    seq=seq,
                )
            self.checked += 1


async def verify(path: str) -> VerifyResult:
    """Replay `path` from empty, checking the whole chain, every event, every snapshot's hash and
    the durable marker. Raises JournalDiverged, ChainBroken, JournalLost, or JournalError when
    it cannot be read. Opens the file read-only: nothing beside it is written."""
    # The marker first: a live venue notes a seq only after committing it, so the journal
    # read after this reaches at least that far unless rows were really lost.
    state = marker.read(Path(path))
    journal = await Journal.open(path, create=False, readonly=True)
    try:
        problem = await journal.quick_check()
        if problem is not None:
            raise JournalCorrupt(f"journal {path} fails SQLite quick_check: {problem}")
        engine = Engine()
        snapshots = _SnapshotHashes(engine, await journal.snapshot_hashes(), path)
        events = EventCheck(path)

        def on_row(row: tuple[Any, ...], replayed: list[Any]) -> None:
            events(row, replayed)
            snapshots(row[0])

        chain = ChainCheck(after_seq=0, after_hash=GENESIS, where=path)
        replayer = Replayer(engine, after_seq=0, after_ts=0, where=path, on_row=on_row)

        def on_chunk(rows: list[Any]) -> None:
            chain(rows)
            replayer(rows)

        for record in await journal.archives():  # the rows moved to archive files come first
            rows = archive.read(
                archive.directory(Path(path)) / record.file, record, prev_chain=chain.head
            )
            for part in _chunks(rows, 4096):
                on_chunk(part)
        # rows an archive holds that are still in the database (deletion under way) are skipped
        await journal.scan(journal.base[0], on_chunk, with_chain=True)
        if replayer.last_seq < journal.last_seq:  # beyond: a live venue committed meanwhile
            raise JournalGap(
                f"journal {path}: replay stopped at seq {replayer.last_seq}, "
                f"but the journal ends at seq {journal.last_seq}",
                expected_seq=replayer.last_seq + 1,
                found_seq=None,
            )
        if state is None:
            marked = "no durable marker beside the journal"
        else:
            lost = await loss(journal, state, last_seq=replayer.last_seq)
            if lost:
                raise JournalLost(f"journal {path}: {lost}")
            marked = f"reaches its marker ({state.state} at seq {state.seq})"
        return VerifyResult(
            commands=replayer.last_seq,
            last_seq=replayer.last_seq,
            snapshots_checked=snapshots.checked,
            final_state_hash=engine.state_hash(),
            final_hash_stored=replayer.last_seq in snapshots.hashes,
            chain_hash=chain.head.hex(),
            marker=marked,
        )
    finally:
        await journal.close()


def _chunks(rows: Iterator[list[Any]], size: int) -> Iterator[list[Any]]:
    part: list[Any] = []
    for row in rows:
        part.append(row)
        if len(part) == size:
            yield part
            part = []
    if part:
        yield part


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
    except JournalDiverged as exc:
        print(f"DIVERGED at seq {exc.seq}: {exc}", file=sys.stderr)
        return EXIT_DIVERGED
    except JournalLost as exc:
        print(f"LOST: {exc}", file=sys.stderr)
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
        f"{result.final_state_hash} at seq {result.last_seq} ({final}); chain intact, "
        f"hash {result.chain_hash} at seq {result.last_seq}; {result.marker}"
    )
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
