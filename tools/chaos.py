"""Crash recovery with real clients, many seeds: `python tools/chaos.py --seeds 100`.

Each seed runs `tests/reliability/chaos.py`'s harness: a subprocess venue (`venue run`, or
the test driver with `--driver`) SIGKILLed `--kills`
times under a live flow (two trading sessions, two drop-copy sessions, kills in the middle of
group commits and of resends), then every check listed there. Prints one JSON line per seed and
a JSON summary (stdout); the exit status is 1 when any seed failed, and the summary lists the
failed seeds. Replay one with `--start SEED --seeds 1` (the plan is the seed's; the wall-clock
interleaving is not reproducible, so a rare failure may need a few replays).

Invariants: each seed uses its own directory under `--workdir` (kept for failed seeds, removed
for passed ones unless `--keep`); at most `--jobs` venues run at once; only 127.0.0.1 is used.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.chaos import Outcome, run_seed  # noqa: E402 -- after the path set-up


async def main_async(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="venue-chaos-"))
    gate = asyncio.Semaphore(args.jobs)
    results: list[Outcome] = []
    t0 = time.monotonic()

    async def one(seed: int) -> None:
        async with gate:
            d = workdir / f"seed-{seed}"
            try:
                out = await run_seed(
                    seed, d, kills=args.kills, pause=args.pause, app=not args.driver
                )
            except Exception as exc:  # the harness itself broke: still a failed seed
                out = Outcome(seed=seed, ok=False, kills=args.kills, failures=[repr(exc)])
            results.append(out)
            print(json.dumps(out.as_json()), flush=True)
            if out.ok and not args.keep:
                shutil.rmtree(d, ignore_errors=True)

    await asyncio.gather(*(one(s) for s in range(args.start, args.start + args.seeds)))
    failed = sorted(o.seed for o in results if not o.ok)
    summary = {
        "summary": True,
        "seeds": len(results),
        "passed": len(results) - len(failed),
        "failed_seeds": failed,
        "kills": sum(o.kills for o in results),
        "reports": sum(o.reports for o in results),
        "copies": sum(o.copies for o in results),
        "fills": sum(o.fills for o in results),
        "resent": sum(o.resent for o in results),
        "seconds": round(time.monotonic() - t0, 1),
        "workdir": str(workdir),
    }
    print(json.dumps(summary), flush=True)
    return 1 if failed else 0


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--seeds", type=int, default=50, help="how many seeds")
    p.add_argument("--start", type=int, default=1, help="first seed")
    p.add_argument("--kills", type=int, default=4, help="SIGKILLs per seed")
    p.add_argument("--jobs", type=int, default=4, help="seeds run at once")
    p.add_argument("--pause", type=float, default=0.004, help="max seconds between orders")
    p.add_argument("--workdir", help="where the seeds' databases go (default: a temp dir)")
    p.add_argument(
        "--driver", action="store_true", help="tests.reliability.venue_driver, not `venue run`"
    )
    p.add_argument("--keep", action="store_true", help="keep passed seeds' directories")
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
