"""Crash-test venue, run as a subprocess: `python -m tests.reliability.venue_driver --db PATH`.

It starts the venue as the drop-copy tests wire it (journal with synchronous=NORMAL, sequencer,
order entry, drop copy behind the role router, gateway on an ephemeral 127.0.0.1 port, the demo
accounts funded on a new database), prints `PORT <n>` (flushed) and serves until it is killed.
`venue run` does not wire drop copy and accounts yet, which is why the chaos harness uses this.

Invariants:
- Nothing is written to stdout but the one `PORT` line; logs go to stderr at warning level.
- The same database can be opened again after a SIGKILL (recovery replays the journal tail).
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.dropcopy.conftest import sessions, start_venue
from venue import log


async def run(db: Path) -> None:
    sys.setswitchinterval(0.0002)  # as `venue run` does: the journal thread gets the GIL often
    log.configure(level="warning", stream=sys.stderr)
    venue = await start_venue(db, sessions())
    print(f"PORT {venue.port}", flush=True)
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    asyncio.run(run(Path(p.parse_args().db)))


if __name__ == "__main__":
    main()
