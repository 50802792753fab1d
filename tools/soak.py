"""Soak the venue: `python tools/soak.py --sessions 200 --cycles 50 --orders 20`.

Runs `tests/reliability/soak.py`: a subprocess venue with `--sessions` extra trading sessions
(generated: no credentials, loopback only, cancel on disconnect), each of which connects, logs
on (recovering with ordinary resend), trades `--orders` random orders/cancels/replaces,
disconnects, and does it again `--cycles` times (a bounded run). Every `--interval` seconds
it samples the venue's RSS, open file descriptors, journal size (database + WAL), its event-loop
lag (the venue measures a 10 ms timer's lateness, and the CPU time its loop thread used in the
worst interval: a stall with little CPU is the process waiting for a core on a loaded machine)
and a probe session's TestRequest → Heartbeat round trip. Prints one JSON line per sample, then
a JSON summary with the memory curve (start, steady state, end), the growth after warm-up, over
the last half and per 1000 cycles, and the longest loop stall. Exit 1 if the venue died or a
session saw a problem. `VENUE_MEMSTATS=1` in the environment makes the venue print where its
memory is (SQLite, malloc, Python objects) to `<workdir>/venue.log` every 5 s;
`VENUE_TRACEMALLOC=1` (slow) the source lines whose allocations grew most.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
from dataclasses import asdict
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.soak import Sample, run_soak  # noqa: E402 -- after the path set-up


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--sessions", type=int, default=200)
    p.add_argument("--cycles", type=int, default=20, help="connect/trade/disconnect per session")
    p.add_argument("--orders", type=int, default=20, help="orders per cycle")
    p.add_argument("--interval", type=float, default=2.0, help="seconds between samples")
    p.add_argument("--pause", type=float, default=0.01, help="max seconds between orders")
    p.add_argument("--connect-limit", type=int, default=50, help="logons in flight at once")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir", help="where the database goes (default: a temp dir)")
    a = p.parse_args()

    def show(s: Sample) -> None:
        print(json.dumps({"sample": asdict(s)}), flush=True)

    result = asyncio.run(
        run_soak(
            Path(a.workdir or tempfile.mkdtemp(prefix="venue-soak-")),
            sessions=a.sessions,
            cycles=a.cycles,
            orders=a.orders,
            interval=a.interval,
            connect_limit=a.connect_limit,
            pause=a.pause,
            seed=a.seed,
            on_sample=show,
        )
    )
    print(json.dumps({"summary": result.summary()}), flush=True)
    return 0 if result.alive and not result.problems else 1


if __name__ == "__main__":
    sys.exit(main())
