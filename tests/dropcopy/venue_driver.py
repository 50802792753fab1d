"""Drop-copy crash driver, run as a subprocess: `python -m tests.dropcopy.venue_driver --db PATH`.

It starts the venue as the drop-copy tests wire it (journal, sequencer, order entry, drop copy,
gateway on an ephemeral 127.0.0.1 port), prints `PORT <n>` (flushed) and serves until it is
killed. The test SIGKILLs it in the middle of a flow and starts it again on the same database.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
from pathlib import Path

from tests.dropcopy.conftest import sessions, start_venue
from venue import log


async def run(db: Path) -> None:
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
