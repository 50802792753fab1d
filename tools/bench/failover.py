"""Failover figures: RTO, acknowledged orders lost, duplicate ExecIDs, and the latency cost of
replication; prints one JSON object.

    python tools/bench/failover.py [--rate 1000] [--seconds 5] [--seeds 3] [--ttl-ms 2000]
    python tools/bench/failover.py --smoke        # small sizes: checks the tool works

Starts a 3-node NATS JetStream cluster on 127.0.0.1 from the pip-installed `nats-server`, then:

1. Latency: the same open-loop flow as tools/bench/e2e.py (signed sessions, a market maker's
   orders evenly spaced at `--rate` orders/s, latency from the scheduled send to the first
   ExecutionReport) against `venue run` twice in the same run: without replication, and as a
   replicated primary (with a standby following). `replication_p50_added_us` is the difference
   of the two p50s. `publish_ack_us` is the stream's acknowledgement time for one message
   alone (what each batch waits for): the added latency on a quiet machine.
2. Failover, `--seeds` times (tests/replication/scenario.py): a primary and a standby, two
   trading and two drop-copy sessions under load, the primary SIGKILLed at a random moment.
   `rto_s` is from the kill to the first ExecutionReport a client that logged on to the standby
   receives (median and max over seeds); `acked_lost` counts ExecutionReports clients received
   from the old primary that the new primary's journal does not hold; `duplicate_exec_ids`
   counts ExecIDs reported twice (other than as PossDup resends).

On one machine the three NATS nodes, both venues and the clients share the CPUs: the RTO is
dominated by the lease TTL (the standby may take over only once it expired) plus the time to
notice it (`lease_renew_ms`), and the added latency by the publish round trip to the stream's
leader and its replication to a second node (loopback here; a LAN hop or two on three machines).

Invariants: everything lives in a temporary directory removed at exit; only 127.0.0.1 is used;
the NATS cluster and every venue started are stopped at exit.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e import run_flow  # noqa: E402 -- after the path set-up
from e2e_venue import write_setup  # noqa: E402

from tests.replication.cluster import NatsCluster  # noqa: E402
from tests.replication.harness import replication_table  # noqa: E402
from tests.replication.scenario import run_seed  # noqa: E402
from tests.venue_process import VenueProcess, start_venue  # noqa: E402


def latency_run(
    args: argparse.Namespace, tmp: Path, cluster: NatsCluster, replicated: bool
) -> dict[str, Any]:
    name = "replicated" if replicated else "single"
    directory = tmp / name
    directory.mkdir()
    config, creds = write_setup(
        directory, sessions=args.sessions, synchronous=args.sync, marketdata_port=None
    )
    procs: list[VenueProcess] = []
    try:
        if replicated:
            text = config.read_text()
            stream = f"BENCH{int(time.time())}"
            standby_dir = directory / "standby"
            standby_dir.mkdir()
            standby = config.with_name("standby.toml")
            standby.write_text(
                text.replace(str(directory / "venue.db"), str(standby_dir / "venue.db")).replace(
                    str(directory / "admin.sock"), str(standby_dir / "admin.sock")
                )
                + replication_table(cluster.servers, "standby", "standby", stream=stream)
            )
            config.write_text(
                text + replication_table(cluster.servers, "primary", "primary", stream=stream)
            )
        procs.append(start_venue(config, cwd=ROOT))
        ready = procs[0].wait_ready(timeout=60)
        if replicated:
            procs.append(start_venue(standby, cwd=ROOT))
        result = run_flow(
            "127.0.0.1",
            int(ready["fix_port"]),
            creds,
            mode="open",
            args=args,
            pid=procs[0].proc.pid,
        )
    finally:
        for p in procs:
            p.terminate()
    return {
        "run": name,
        "latency_us": result["latency_us"],
        "orders_per_s": result["orders_per_s"],
        "unanswered": result["unanswered"],
    }


async def publish_rtt(cluster: NatsCluster, count: int) -> dict[str, float]:
    """The stream's acknowledgement time for one 2 KB message with the conditions a primary
    sets (expected last sequence, message id), one at a time: what replication adds per batch."""
    import nats
    from nats.js.api import StreamConfig

    nc = await nats.connect(cluster.servers)
    try:
        js = nc.jetstream()
        await js.add_stream(StreamConfig(name="RTT", subjects=["rtt"], num_replicas=3))
        last, samples = 0, []
        for i in range(count):
            t = time.perf_counter_ns()
            headers = {"Nats-Expected-Last-Sequence": str(last), "Nats-Msg-Id": str(i)}
            last = (await js.publish("rtt", b"x" * 2000, headers=headers)).seq
            samples.append(time.perf_counter_ns() - t)
        await js.delete_stream("RTT")
    finally:
        await nc.close()
    samples.sort()
    return {
        "p50": round(samples[len(samples) // 2] / 1000, 1),
        "p99": round(samples[min(len(samples) - 1, len(samples) * 99 // 100)] / 1000, 1),
    }


async def failover_runs(
    args: argparse.Namespace, tmp: Path, cluster: NatsCluster
) -> dict[str, Any]:
    outs = []
    for seed in range(args.start, args.start + args.seeds):
        outs.append(await run_seed(seed, tmp / f"seed-{seed}", cluster.servers, ttl_ms=args.ttl_ms))
    rtos = [o.rto_s for o in outs if o.rto_s]
    lost = sum(
        sum("is not in the outbound store" in f or "live orders" in f for f in o.failures)
        for o in outs
    )
    return {
        "seeds": len(outs),
        "passed": sum(o.ok for o in outs),
        "rto_s": round(statistics.median(rtos), 3) if rtos else None,
        "rto_s_max": round(max(rtos), 3) if rtos else None,
        "acked_lost": lost,
        "duplicate_exec_ids": sum(o.duplicate_exec_ids for o in outs),
        "failures": [f for o in outs for f in o.failures][:10],
    }


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--rate", type=float, default=1000.0, help="open loop orders/s")
    p.add_argument("--seconds", type=float, default=5.0, help="measured time per latency run")
    p.add_argument("--warmup", type=float, default=1.0)
    p.add_argument("--sessions", type=int, default=2)
    p.add_argument("--sync", default="NORMAL", choices=("NORMAL", "FULL"))
    p.add_argument("--seeds", type=int, default=3, help="failover runs")
    p.add_argument("--start", type=int, default=1)
    p.add_argument("--ttl-ms", type=int, default=2000, help="lease TTL")
    p.add_argument("--seed", type=int, default=1, help="the latency flow's seed")
    p.add_argument("--smoke", action="store_true", help="tiny sizes, to check the tool works")
    args = p.parse_args(argv)
    # what run_flow reads besides the above
    args.window, args.orders, args.mass_cancel = 16, 0, True
    if args.smoke:
        args.rate, args.seconds, args.warmup, args.seeds = 200.0, 1.0, 0.3, 1
    tmp = Path(tempfile.mkdtemp(prefix="venue-failover-"))
    cluster = NatsCluster(tmp / "nats")
    cluster.start()
    try:
        single = latency_run(args, tmp, cluster, replicated=False)
        replicated = latency_run(args, tmp, cluster, replicated=True)
        failover = asyncio.run(failover_runs(args, tmp, cluster))
        rtt = asyncio.run(publish_rtt(cluster, 100 if args.smoke else 1000))
    finally:
        cluster.stop()
        shutil.rmtree(tmp, ignore_errors=True)
    p50 = (single["latency_us"].get("p50"), replicated["latency_us"].get("p50"))
    report = {
        "rto_s": failover["rto_s"],
        "rto_s_max": failover["rto_s_max"],
        "acked_lost": failover["acked_lost"],
        "duplicate_exec_ids": failover["duplicate_exec_ids"],
        "failover": failover,
        "rate": args.rate,
        "e2e_p50_us": {"off": p50[0], "on": p50[1]},
        "e2e_p99_us": {
            "off": single["latency_us"].get("p99"),
            "on": replicated["latency_us"].get("p99"),
        },
        "replication_p50_added_us": round(p50[1] - p50[0], 1) if None not in p50 else None,
        "publish_ack_us": rtt,
        "latency_runs": [single, replicated],
        "lease_ttl_ms": args.ttl_ms,
        "note": "one machine: 3 NATS nodes, 2 venues and the clients share the CPUs",
    }
    print(json.dumps(report, indent=1))
    return 0 if failover["passed"] == failover["seeds"] else 1


if __name__ == "__main__":
    sys.exit(main())
