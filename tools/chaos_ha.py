"""Failover with real clients, many seeds: `python tools/chaos_ha.py --seeds 50`.

Starts a 3-node NATS JetStream cluster on 127.0.0.1 (the pip-installed `nats-server`), then
runs `tests/replication/scenario.py`'s harness once per seed, one seed at a time: a primary
and a standby venue, two trading and two drop-copy sessions under a live flow, the primary
SIGKILLed at a random moment, the clients resuming on the standby, the old primary rejoining
as a standby and taking over again; then every check listed there (no acknowledged order
lost, no ExecID repeated, drop copies complete, both journals equal with the same state hash).
With `--nats-kill`, one NATS node is also killed (and restarted) during each seed's flow.

Prints one JSON line per seed and a JSON summary (stdout); exit status 1 when any seed failed,
the summary lists them. Replay one with `--start SEED --seeds 1` (the plan is the seed's, the
wall-clock interleaving is not reproducible).

Invariants: everything lives under `--workdir` (a temporary directory by default; a failed
seed's directory is kept); only 127.0.0.1 is used; the NATS cluster is stopped at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.replication.cluster import NatsCluster  # noqa: E402 -- after the path set-up
from tests.replication.scenario import HaOutcome, run_seed  # noqa: E402


async def main_async(args: argparse.Namespace) -> int:
    workdir = Path(args.workdir or tempfile.mkdtemp(prefix="venue-chaos-ha-"))
    cluster = NatsCluster(workdir / "nats")
    cluster.start()
    results: list[HaOutcome] = []
    t0 = time.monotonic()
    try:
        for seed in range(args.start, args.start + args.seeds):
            d = workdir / f"seed-{seed}"
            chaos = None
            if args.nats_kill:
                chaos = asyncio.create_task(_nats_chaos(cluster, random.Random(seed)))
            try:
                out = await run_seed(seed, d, cluster.servers, ttl_ms=args.ttl_ms)
            except Exception as exc:  # the harness itself broke: still a failed seed
                out = HaOutcome(seed=seed, failures=[repr(exc)])
            finally:
                if chaos is not None:
                    chaos.cancel()
                    await asyncio.gather(chaos, return_exceptions=True)
                    for i in range(cluster.n):
                        if cluster.procs[i] is None:
                            cluster.start_node(i)
                    cluster.wait_ready()
            results.append(out)
            print(json.dumps(out.as_json()), flush=True)
            if out.ok and not args.keep:
                shutil.rmtree(d, ignore_errors=True)
    finally:
        cluster.stop()
    failed = [o.seed for o in results if not o.ok]
    rtos = sorted(o.rto_s for o in results if o.ok)
    summary = {
        "summary": True,
        "seeds": len(results),
        "passed": len(results) - len(failed),
        "failed_seeds": failed,
        "rto_s_max": max(rtos) if rtos else None,
        "rto_s_median": rtos[len(rtos) // 2] if rtos else None,
        "duplicate_exec_ids": sum(o.duplicate_exec_ids for o in results),
        "seconds": round(time.monotonic() - t0, 1),
        "workdir": str(workdir),
    }
    print(json.dumps(summary), flush=True)
    return 1 if failed else 0


async def _nats_chaos(cluster: NatsCluster, rng: random.Random) -> None:
    """Kill one NATS node at a random moment and bring it back a little later."""
    await asyncio.sleep(rng.uniform(0.5, 3.0))
    node = rng.randrange(cluster.n)
    cluster.kill_node(node)
    await asyncio.sleep(rng.uniform(0.5, 3.0))
    cluster.start_node(node)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--seeds", type=int, default=20)
    p.add_argument("--start", type=int, default=1)
    p.add_argument("--ttl-ms", type=int, default=2000, help="lease TTL of the two venues")
    p.add_argument("--nats-kill", action="store_true", help="also kill a NATS node per seed")
    p.add_argument("--workdir", help="where seeds run (default: a new temporary directory)")
    p.add_argument("--keep", action="store_true", help="keep passed seeds' directories")
    return asyncio.run(main_async(p.parse_args()))


if __name__ == "__main__":
    sys.exit(main())
