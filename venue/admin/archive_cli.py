"""`venue journal archive`: move the journal's rows up to a snapshot into an archive file.

    venue journal archive --db var/venue.db [--upto SEQ] [--socket var/venue-admin.sock]

The archive is written from the database opened read-only (`venue.journal.archive.prepare`),
then adopted: by the running venue over its admin socket when one holds the journal (it checks
the archive continues its chain, records it with an audit record and deletes the archived rows
in small transactions while it trades), or here, in one transaction, when none runs.

Invariants:
- Nothing is removed from the database before the archive file is complete and fsynced.
- Exit status: 0 adopted; 2 usage; 4 the journal or archive refused it (message on stderr);
  5 a running venue could not be reached.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from venue.admin.client import AdminClient, AdminForbidden, AdminUnavailable
from venue.journal import Batch, Journal, JournalError
from venue.journal.archive import ArchiveRecord, adoptable, prepare
from venue.journal.files import held

EXIT_OK, EXIT_JOURNAL, EXIT_UNAVAILABLE = 0, 4, 5


def add_parser(sub: argparse._SubParsersAction[argparse.ArgumentParser]) -> None:
    p = sub.add_parser(
        "archive",
        help="move the journal's rows up to a snapshot into a compressed archive file",
    )
    p.add_argument("--db", default="var/venue.db", help="the journal database")
    p.add_argument("--upto", type=int, help="a stored snapshot's seq (default: the newest)")
    p.add_argument(
        "--socket",
        default="var/venue-admin.sock",
        help="the running venue's admin socket, used when a venue holds the journal",
    )
    p.set_defaults(func=main)


def main(args: argparse.Namespace) -> int:
    db = Path(args.db)
    try:
        record = prepare(db, upto=args.upto)
    except JournalError as exc:
        print(f"venue journal archive: {exc}", file=sys.stderr)
        return EXIT_JOURNAL
    where = db.with_name(db.name + ".archive") / record.file
    live = held(db)  # a running venue adopts it itself, deleting rows while it trades
    code = _adopt_live(record, args.socket) if live else asyncio.run(_adopt_here(db, record))
    if code == EXIT_OK:
        print(f"archived seq {record.first_seq}..{record.last_seq} into {where}")
    return code


def _adopt_live(record: ArchiveRecord, socket: str) -> int:
    try:
        with AdminClient(socket) as client:
            response = client.request(
                "journal.adopt_archive",
                first_seq=record.first_seq,
                last_seq=record.last_seq,
                last_ts=record.last_ts,
                chain=record.chain.hex(),
                file=record.file,
                sha256=record.sha256,
            )
    except (AdminUnavailable, AdminForbidden, OSError) as exc:
        print(
            f"venue journal archive: a venue holds the journal, but its admin socket "
            f"{socket} did not answer ({exc}); the archive file is written, nothing removed",
            file=sys.stderr,
        )
        return EXIT_UNAVAILABLE
    if not response.ok:
        message = response.error.message if response.error else "refused"
        print(f"venue journal archive: {message}", file=sys.stderr)
        return EXIT_JOURNAL
    return EXIT_OK


async def _adopt_here(db: Path, record: ArchiveRecord) -> int:
    try:
        journal = await Journal.open(db, create=False)
    except JournalError as exc:
        print(f"venue journal archive: {exc}", file=sys.stderr)
        return EXIT_JOURNAL
    try:
        why = adoptable(
            record,
            base=journal.base[0],
            chain_at_last=await journal.chain_hash_at(record.last_seq),
            db=db,
        )
        if why:
            print(f"venue journal archive: archive not adopted: {why}", file=sys.stderr)
            return EXIT_JOURNAL
        batch = Batch()
        batch.archive = record
        batch.journal_trim = record.last_seq  # no venue runs: every archived row at once
        await journal.commit(batch)
    except JournalError as exc:
        print(f"venue journal archive: {exc}", file=sys.stderr)
        return EXIT_JOURNAL
    finally:
        await journal.close()
    return EXIT_OK
