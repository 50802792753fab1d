"""End-to-end benchmark of the venue through real FIX sessions; prints one JSON object.

    python tools/bench/e2e.py [--sessions 4] [--window 16] [--seconds 5] [--rate 10000]
                              [--mode both|closed|open] [--sync NORMAL,FULL] [--pin] [--peer]
                              [--stage-every 64] [--closed-stages off|on|both]
    python tools/bench/e2e.py --mode open --rate 1000,10000 --floor   # the harness floor
    python tools/bench/e2e.py --connect 127.0.0.1:9878 --key BENCH1=bench1.pem ...
    python tools/bench/e2e.py --simulate            # a lively book against `make run`

By default the benchmark starts the venue itself (`python -m venue run` on a generated
venue.toml, sessions with fresh Ed25519 keys, accounts with an ample balance), once per
(journal level, mode), and drives a market maker's flow (quotes near the touch, moves,
cancels, IOCs that trade) from N signed sessions:

- closed loop: a window of W orders in flight per session: the maximum sustained throughput;
- open loop: a fixed rate, evenly spaced; latency from the *scheduled* send time to the first
  ExecutionReport (or OrderCancelReject) for that ClOrdID, so stalls are not hidden.

Figures: orders/s (answered, over the measured window after warm-up), ExecutionReports/s,
latency p50/p90/p99/p99.9/max (µs), the venue process's CPU seconds per order (utime+stime
from /proc/<pid>/stat over the window) and those of its event-loop thread alone
(`venue_loop_cpu_us_per_order`: all but the journal's database thread), and the venue's own
per-stage timings (its `stage_timings` log line at shutdown, when the venue collects them:
`--stage-every N` times one stage at a time for 1/N of the run, see e2e_serve.py).
Closed-loop runs, the throughput figure, run with the stage timers off by default
(`--closed-stages off`; `on` times them, `both` runs twice: untimed for the figures, timed for
the stages); the report's `headline` is the untimed closed-loop run (NORMAL if it ran).
`--pin` puts the generator on CPU 0 and the venue on CPU 1. `--busy-poll-us N` runs the venue
with `gateway.busy_poll_us = N` (its CPU figures then include the spinning). `--peer` also
drives the QuickFIX C++ acceptor (tools/bench/peer_quickfix.py, `make bench-peer`) with the
same flow and reports the ratio.
`--floor` also drives tools/bench/floor.py, a Python acceptor that answers each order and
does nothing else, three ways: alone (`floor`), committing each read to SQLite at NORMAL
before answering (`floor+commit`) and at FULL (`floor+commit-full`): a bound no venue in this
language doing as much per order can beat on this harness, to read the venue's figures against.

Invariants: the generator is a separate process from the venue; everything it generates lives
in a temporary directory removed at exit; it talks to 127.0.0.1 only unless told otherwise.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e_client import Counts, Driver, Flow, Instrument, Session, instrument  # noqa: E402
from e2e_targets import ratios, search_max_rate  # noqa: E402
from e2e_venue import VenueProcess, cpu_seconds, write_setup  # noqa: E402
from verdict import Checks  # noqa: E402

from venue.config import load_config  # noqa: E402
from venue.gateway.auth import load_private_key  # noqa: E402


def default_instruments() -> list[Instrument]:
    return [
        instrument(i.symbol, i.tick_size, i.lot_size, i.ref_price)
        for i in load_config(None).instruments
    ]


def loop_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of the venue's main thread (the event loop: everything but
    the journal's database thread), from /proc/<pid>/task/<pid>/stat."""
    with open(f"/proc/{pid}/task/{pid}/stat", "rb") as f:
        stat = f.read()
    fields = stat[stat.rindex(b")") + 2 :].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def percentiles(samples: list[int]) -> dict[str, float]:
    if not samples:
        return {}
    s = sorted(samples)
    n = len(s)

    def at(q: float) -> float:
        return round(s[min(n - 1, int(q * n))] / 1000, 1)

    return {
        "p50": at(0.50),
        "p90": at(0.90),
        "p99": at(0.99),
        "p99.9": at(0.999),
        "max": round(s[-1] / 1000, 1),
        "samples": n,
    }


def run_flow(
    host: str,
    port: int,
    creds: list[tuple[str, Any]],
    *,
    mode: str,
    args: argparse.Namespace,
    pid: int | None,
    target: str = "VENUE",
) -> dict[str, Any]:
    """Log on every session, run one mode, drain, mass-cancel, log out; the figures."""
    flow = Flow(default_instruments(), args.seed)
    sessions = [
        Session(host, port, sender=comp, target=target, key=key, flow=flow, tag=f"{i:x}")
        for i, (comp, key) in enumerate(creds)
    ]
    for s in sessions:
        s.logon()
    driver = Driver(sessions)
    clock = time.perf_counter_ns
    t0 = clock()
    warm_ns = int(args.warmup * 1e9)
    total = args.warmup + args.seconds
    late = 0
    # the measured window starts after warm-up: snapshot the counters and CPU then
    if mode == "closed":
        driver.closed_loop(args.window, args.warmup, t0 + warm_ns, max_orders=args.orders)
    else:
        late += driver.open_loop(args.rate, args.warmup, t0 + warm_ns)
    before = Counts()
    for s in sessions:
        before.add(s.counts)
    cpu0 = cpu_seconds(pid) if pid else None
    loop0 = loop_cpu_seconds(pid) if pid else None
    gen0 = time.process_time()
    t1 = clock()
    if mode == "closed":
        driver.closed_loop(args.window, args.seconds, t1, max_orders=args.orders)
    else:
        late += driver.open_loop(args.rate, args.seconds, t1)
    t2 = clock()
    after = Counts()
    for s in sessions:
        after.add(s.counts)
    cpu1 = cpu_seconds(pid) if pid else None
    loop1 = loop_cpu_seconds(pid) if pid else None
    gen1 = time.process_time()
    driver.drain(10.0)
    final = Counts()
    for s in sessions:
        final.add(s.counts)
    unanswered = sum(len(s.pending) for s in sessions)
    latencies = [x for s in sessions for x in s.latencies]
    if args.mass_cancel:
        driver.send_all(lambda s: s.mass_cancel())
    driver.close()
    window_s = (t2 - t1) / 1e9
    answered = after.answered - before.answered
    result: dict[str, Any] = {
        "mode": mode,
        "sessions": len(sessions),
        "window": args.window if mode == "closed" else None,
        "rate": args.rate if mode == "open" else None,
        "seconds": round(window_s, 3),
        "warmup_seconds": args.warmup,
        "orders_per_s": round(answered / window_s) if window_s else 0,
        "reports_per_s": round((after.reports - before.reports) / window_s) if window_s else 0,
        "latency_us": percentiles(latencies),
        "counts": vars(final),
        "unanswered": unanswered,
    }
    if mode == "open":
        result["late_sends_over_1ms"] = late
    if answered:  # the generator's own CPU: near 1 s per second means it is the limit
        result["generator_cpu_us_per_order"] = round((gen1 - gen0) / answered * 1e6, 1)
        result["generator_cpu_busy"] = round((gen1 - gen0) / window_s, 2)
    if cpu0 is not None and cpu1 is not None and answered:
        result["venue_cpu_s"] = round(cpu1 - cpu0, 3)
        result["venue_cpu_us_per_order"] = round((cpu1 - cpu0) / answered * 1e6, 1)
    if loop0 is not None and loop1 is not None and answered:
        result["venue_loop_cpu_us_per_order"] = round((loop1 - loop0) / answered * 1e6, 1)
    del total
    return result


def free_udp_socket() -> socket.socket:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    return s


def run_venue(
    args: argparse.Namespace, sync: str, mode: str, tmp: Path, stage_every: int
) -> dict[str, Any]:
    directory = tmp / f"{sync}-{mode}-{args.rate:g}-{stage_every}"
    directory.mkdir()
    md = None if args.no_marketdata else free_udp_socket()
    config, creds = write_setup(
        directory,
        sessions=args.sessions,
        synchronous=sync,
        marketdata_port=md.getsockname()[1] if md else None,
        surveillance=not args.no_surveillance,
        busy_poll_us=args.busy_poll_us,
        metrics=args.metrics,
        fixlog=args.fixlog,
    )
    venue = VenueProcess(
        config,
        cpu=1 if args.pin else None,
        env={"VENUE_STAGE_TIMINGS": str(stage_every)} if stage_every else None,
    )
    try:
        ready = venue.wait_ready()
        result = run_flow(
            "127.0.0.1", int(ready["fix_port"]), creds, mode=mode, args=args, pid=venue.pid
        )
    finally:
        code = venue.stop()
        if md is not None:
            md.close()
    result = {"target": "venue", "sync": sync, "stage_every": stage_every, **result}
    if args.busy_poll_us:
        result["busy_poll_us"] = args.busy_poll_us
    result["venue_exit"] = code
    stages = venue.records("stage_timings")
    if stages:
        result["stages"] = {k: v for k, v in stages[-1].items() if k not in ("timestamp", "level")}
    errors = [line for line in venue.lines if '"level": "error"' in line or "Traceback" in line]
    if errors:
        result["venue_errors"] = errors[:5]
    return result


# target -> (script, arguments); "{dir}" is the run's own directory
EXTERNAL = {
    "quickfix": ("peer_quickfix.py", ["--dir", "{dir}"]),
    "quickfix-fair": ("peer_quickfix.py", ["--dir", "{dir}", "--fair"]),
    "floor": ("floor.py", []),
    "floor+commit": ("floor.py", ["--commit", "{dir}/floor.db"]),
    "floor+commit-full": ("floor.py", ["--commit", "{dir}/floor.db", "--sync", "FULL"]),
}


def run_external(args: argparse.Namespace, mode: str, tmp: Path, target: str) -> dict[str, Any]:
    """Drive a comparison server (the QuickFIX peer, the floor) that prints `{"port": N}`."""
    script, extra = EXTERNAL[target]
    directory = tmp / f"{target}-{mode}-{args.rate:g}"
    directory.mkdir()
    comps = [f"BENCH{i + 1}" for i in range(args.sessions)]
    cmd = [sys.executable, str(Path(__file__).with_name(script))]
    cmd += ["--sessions", ",".join(comps), *[a.replace("{dir}", str(directory)) for a in extra]]
    if args.pin:
        cmd = ["taskset", "-c", "1", *cmd]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        line = proc.stdout.readline()
        if not line:
            raise RuntimeError(
                f"{target} did not start: " + (proc.stderr.read() if proc.stderr else "")
            )
        port = int(json.loads(line)["port"])
        creds = [(c, None) for c in comps]
        result = run_flow("127.0.0.1", port, creds, mode=mode, args=args, pid=proc.pid)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
    return {"target": target, **result}


def simulate(args: argparse.Namespace) -> int:
    """A lively book for `make run`: the demo sessions at a gentle open-loop rate, forever."""
    host, _, port = (args.connect or "127.0.0.1:9878").partition(":")
    creds = [(c, None) for c in ("ALPHA-MM", "BRAVO-MM")]
    flow = Flow(default_instruments(), args.seed)
    sessions = [
        Session(host, int(port), sender=c, flow=flow, tag=f"S{i}") for i, (c, _) in enumerate(creds)
    ]
    for s in sessions:
        s.logon()
    driver = Driver(sessions)
    print(json.dumps({"simulating": [c for c, _ in creds], "rate": args.rate}), flush=True)
    try:
        while not any(s.closed for s in sessions):
            driver.open_loop(args.rate, 10.0, 0)
            for s in sessions:
                s.latencies.clear()
    except KeyboardInterrupt:
        pass
    driver.send_all(lambda s: s.mass_cancel())
    driver.drain(2.0)
    driver.close()
    total = Counts()
    for s in sessions:
        total.add(s.counts)
    print(json.dumps({"simulated": vars(total)}), flush=True)
    return 0


def stage_settings(args: argparse.Namespace, mode: str) -> list[int]:
    """The stage-timer settings to run a mode with (closed loop: untimed unless asked)."""
    if mode != "closed" or not args.stage_every:
        return [args.stage_every]
    return {"off": [0], "on": [args.stage_every], "both": [0, args.stage_every]}[args.closed_stages]


def _ratios(runs: list[dict[str, Any]], peer_runs: list[dict[str, Any]]) -> dict[str, float]:
    """The venue's orders/s (NORMAL) over the peer's, per (mode, rate)."""
    ratios = {}
    for p in peer_runs:
        name = "closed" if p["mode"] == "closed" else f"open@{p['rate']:g}"
        mine = [
            r
            for r in runs
            if (r["mode"], r["rate"]) == (p["mode"], p["rate"]) and r["sync"] == "NORMAL"
        ]
        if mine and p["orders_per_s"]:
            ratios[name] = round(mine[0]["orders_per_s"] / p["orders_per_s"], 2)
    return ratios


def _headline(runs: list[dict[str, Any]]) -> dict[str, Any] | None:
    """The closed-loop throughput figures of the untimed run (NORMAL preferred)."""
    closed = [r for r in runs if r.get("mode") == "closed" and not r.get("stage_every")]
    closed.sort(key=lambda r: r.get("sync") != "NORMAL")
    if not closed:
        return None
    r = closed[0]
    keys = (
        "sync",
        "orders_per_s",
        "venue_cpu_us_per_order",
        "venue_loop_cpu_us_per_order",
        "latency_us",
        "stage_every",
    )
    return {k: r.get(k) for k in keys}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=4)
    parser.add_argument("--window", type=int, default=16, help="closed loop: in flight/session")
    parser.add_argument(
        "--rate", default="10000", help="open loop: orders/s (a comma-separated list: one run each)"
    )
    parser.add_argument("--seconds", type=float, default=5.0, help="measured time per run")
    parser.add_argument("--warmup", type=float, default=1.0)
    parser.add_argument("--orders", type=int, default=0, help="closed loop: stop after N sent")
    parser.add_argument("--mode", choices=("both", "closed", "open"), default="both")
    parser.add_argument("--sync", default="NORMAL,FULL", help="journal levels to run")
    parser.add_argument("--pin", action="store_true", help="generator on CPU 0, venue on CPU 1")
    parser.add_argument(
        "--peer",
        action="store_true",
        help="also drive the QuickFIX peers: lean (no validation, memory store) and fair "
        "(the venue's dictionary validated, a file store)",
    )
    parser.add_argument(
        "--search-max-rate",
        action="store_true",
        help="find the highest even rate with p99 <= 1 ms (venue, NORMAL, open loop)",
    )
    parser.add_argument(
        "--floor", action="store_true", help="also drive floor.py, without and with a commit"
    )
    parser.add_argument("--no-marketdata", action="store_true", help="venue without its feed")
    parser.add_argument(
        "--no-metrics", dest="metrics", action="store_false", help="venue without [metrics]"
    )
    parser.add_argument(
        "--no-fixlog", dest="fixlog", action="store_false", help="venue without its FIX log"
    )
    parser.add_argument(
        "--no-surveillance", action="store_true", help="venue without its surveillance task"
    )
    parser.add_argument(
        "--busy-poll-us", type=int, default=0, help="venue's gateway.busy_poll_us (0: off)"
    )
    parser.add_argument("--no-mass-cancel", dest="mass_cancel", action="store_false")
    parser.add_argument(
        "--stage-every", type=int, default=64, help="venue stage timers: 1/N of the run, 0=off"
    )
    parser.add_argument(
        "--closed-stages",
        choices=("off", "on", "both"),
        default="off",
        help="closed loop: stage timers off (the throughput figure), on, or both (two runs)",
    )
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--connect", help="HOST:PORT of a running venue (with --key)")
    parser.add_argument("--key", action="append", default=[], help="COMPID=PEMFILE (repeat)")
    parser.add_argument("--venue-pid", type=int, help="with --connect: venue pid for CPU figures")
    parser.add_argument("--simulate", action="store_true", help="lively book against make run")
    args = parser.parse_args(argv)
    rates = [float(r) for r in str(args.rate).split(",") if r.strip()]
    args.rate = rates[0]
    if args.simulate:
        if argv is None and "--rate" not in sys.argv:
            args.rate = 50.0
        return simulate(args)
    if args.pin:
        os.sched_setaffinity(0, {0})
    modes = ("closed", "open") if args.mode == "both" else (args.mode,)
    plan = [(m, r) for m in modes for r in (rates if m == "open" else rates[:1])]
    report: dict[str, Any] = {
        "benchmark": "e2e",
        "host": {
            "cpus": os.cpu_count(),
            "loadavg_before": [round(x, 2) for x in os.getloadavg()],
            "python": platform.python_version(),
            "pinned": args.pin,
        },
        "runs": [],
    }
    if args.connect:
        host, _, port = args.connect.partition(":")
        creds = []
        for item in args.key:
            comp, _, path = item.partition("=")
            creds.append((comp, load_private_key(Path(path).read_bytes())))
        for mode, rate in plan:
            args.rate = rate
            report["runs"].append(
                {
                    "target": args.connect,
                    **run_flow(host, int(port), creds, mode=mode, args=args, pid=args.venue_pid),
                }
            )
    else:
        with tempfile.TemporaryDirectory(prefix="venue-e2e-") as tmp:
            for sync in [s.strip().upper() for s in args.sync.split(",") if s.strip()]:
                for mode, rate in plan:
                    args.rate = rate
                    for every in stage_settings(args, mode):
                        report["runs"].append(run_venue(args, sync, mode, Path(tmp), every))
            if args.peer:
                peer_runs = []
                for target in ("quickfix", "quickfix-fair"):
                    for mode, rate in plan:
                        args.rate = rate
                        peer_runs.append(run_external(args, mode, Path(tmp), target))
                report["peer"] = peer_runs
                report["venue_over_quickfix_orders_per_s"] = _ratios(
                    report["runs"], [p for p in peer_runs if p["target"] == "quickfix"]
                )
            if args.floor:
                floor_runs = []
                for target in ("floor", "floor+commit", "floor+commit-full"):
                    for mode, rate in plan:
                        args.rate = rate
                        floor_runs.append(run_external(args, mode, Path(tmp), target))
                report["floor"] = floor_runs
            if args.search_max_rate:
                report["max_rate_search"] = search(args, Path(tmp))
        report["ratios"] = ratios(report)
    headline = _headline(report["runs"])
    if headline:
        report["headline"] = headline
    report["host"]["loadavg_after"] = [round(x, 2) for x in os.getloadavg()]
    return report_checks(report).emit(report, indent=2)


def search(args: argparse.Namespace, tmp: Path) -> dict[str, Any]:
    """The highest even rate at which the venue (NORMAL) keeps p99 within 1 ms."""
    seen: list[float] = []

    def probe(rate: float) -> dict[str, Any]:
        args.rate = rate
        seen.append(rate)
        sub = tmp / f"search-{len(seen)}"
        sub.mkdir()
        return run_venue(args, "NORMAL", "open", sub, args.stage_every)

    return search_max_rate(probe)


def report_checks(report: dict[str, Any]) -> Checks:
    """A run that answered nothing, left orders unanswered, or whose venue failed measures
    nothing: say so instead of reporting its speed."""
    checks = Checks()
    every = report["runs"] + report.get("peer", []) + report.get("floor", [])
    checks.expect(bool(every), "no run")
    for r in every:
        name = f"{r.get('target')} {r.get('sync', '')} {r['mode']}@{r.get('rate') or ''}"
        counts = r.get("counts", {})
        checks.expect(r.get("orders_per_s", 0) > 0, f"{name}: no order answered")
        checks.expect(r.get("unanswered", 0) == 0, f"{name}: {r.get('unanswered')} unanswered")
        checks.expect(
            counts.get("answered") == counts.get("sent"),
            f"{name}: sent {counts.get('sent')}, answered {counts.get('answered')}",
        )
        if r.get("target") == "venue":
            checks.expect(r.get("venue_exit") == 0, f"{name}: venue exit {r.get('venue_exit')}")
            checks.expect("venue_errors" not in r, f"{name}: the venue logged errors")
    return checks


if __name__ == "__main__":
    sys.exit(main())
