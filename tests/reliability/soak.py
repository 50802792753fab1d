"""Soak: many sessions connecting, trading, disconnecting and reconnecting against a subprocess
venue, with the venue's RSS, open file descriptors, journal size and event-loop lag sampled
over time (`run_soak`; `tools/soak.py` prints it as JSON, tests/reliability/test_soak_short.py
runs a short one).

Each session (`S000`.. from `tests.reliability.venue_driver --sessions N`, cancel on
disconnect, so the books stay bounded) runs `cycles` times: connect and log on without a reset
(the chaos harness's client recovers with ordinary resend), settle, send `orders` random
orders/cancels/replaces, settle, drop the connection. A probe session (ALPHA-MM) measures the
TestRequest → Heartbeat round trip at every sample; the venue reports its own loop lag (a
10 ms timer's lateness) once a second.

Invariants: at most `connect_limit` logons are in flight at once; every session's problems
(sequence faults, a settle that timed out) are collected, never raised; only 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import statistics
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from tests.reliability.chaos import ROOT, Client

PAGE = os.sysconf("SC_PAGE_SIZE")


@dataclass
class Sample:
    t: float
    rss_kb: int
    fds: int
    journal_bytes: int
    loop_lag_max_ms: float
    loop_busy_ms: float  # the loop thread's CPU time in its worst interval of the window
    probe_rtt_ms: float | None
    cycles_done: int
    reports: int


@dataclass
class SoakResult:
    samples: list[Sample] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    cycles_done: int = 0
    cycles_planned: int = 0
    alive: bool = True
    max_loop_lag_ms: float = 0.0
    max_loop_busy_ms: float = 0.0  # the worst stall's own CPU time (the rest: no CPU to run)

    def summary(self) -> dict[str, Any]:
        s = self.samples
        if not s:
            return {"samples": 0}
        third = max(1, len(s) // 3)
        steady = s[third:]
        half = s[len(s) // 2]
        per_kcycle = None
        if s[-1].cycles_done > steady[0].cycles_done:
            grown = s[-1].rss_kb - steady[0].rss_kb
            per_kcycle = round(1000 * grown / (s[-1].cycles_done - steady[0].cycles_done), 1)
        rtts = [x.probe_rtt_ms for x in s if x.probe_rtt_ms is not None]
        return {
            "samples": len(s),
            "seconds": round(s[-1].t, 1),
            "cycles_done": self.cycles_done,
            "cycles_planned": self.cycles_planned,
            "reports": s[-1].reports,
            "rss_kb": {
                "start": s[0].rss_kb,
                "steady_first": steady[0].rss_kb,
                "steady_median": int(statistics.median(x.rss_kb for x in steady)),
                "max": max(x.rss_kb for x in s),
                "end": s[-1].rss_kb,
            },
            "rss_growth_after_warmup_kb": s[-1].rss_kb - steady[0].rss_kb,
            "rss_growth_last_half_kb": s[-1].rss_kb - half.rss_kb,
            "rss_kb_per_1000_cycles_after_warmup": per_kcycle,
            "fds": {"start": s[0].fds, "max": max(x.fds for x in s), "end": s[-1].fds},
            "journal_bytes": {"start": s[0].journal_bytes, "end": s[-1].journal_bytes},
            "max_loop_lag_ms": self.max_loop_lag_ms,
            "max_loop_busy_ms": self.max_loop_busy_ms,
            "probe_rtt_ms": {
                "median": round(statistics.median(rtts), 2) if rtts else None,
                "max": round(max(rtts), 2) if rtts else None,
            },
            "alive": self.alive,
            "problems": len(self.problems),
            "first_problems": self.problems[:5],
        }


def _rss_kb(pid: int) -> int:
    with open(f"/proc/{pid}/statm") as f:
        return int(f.read().split()[1]) * PAGE // 1024


def _fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def _journal_bytes(db: Path) -> int:
    return sum(p.stat().st_size for p in db.parent.glob(db.name + "*") if p.is_file())


async def run_soak(
    workdir: Path,
    *,
    sessions: int = 200,
    cycles: int = 5,
    orders: int = 20,
    interval: float = 1.0,
    connect_limit: int = 50,
    pause: float = 0.01,
    seed: int = 1,
    on_sample: Any = None,
) -> SoakResult:
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "venue.db"
    for p in workdir.glob("venue.db*"):
        p.unlink()
    result = SoakResult(cycles_planned=sessions * cycles)
    with (workdir / "venue.log").open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reliability.venue_driver",
            "--db",
            str(db),
            "--sessions",
            str(sessions),
            "--lag",
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    assert proc.stdout is not None
    line = await asyncio.wait_for(proc.stdout.readline(), 60)
    if not line.startswith(b"PORT "):
        raise RuntimeError(f"venue did not start (exit {await proc.wait()})")
    port = int(line.split()[1])
    lag_since_sample = [0.0, 0.0]  # worst lag in the window, its busy CPU time

    async def read_lag() -> None:
        assert proc.stdout is not None
        while line := await proc.stdout.readline():
            if line.startswith(b"LAG "):
                parts = line.split()
                ms = int(parts[1]) / 1000
                busy = int(parts[3]) / 1000 if len(parts) > 3 else ms
                if ms > lag_since_sample[0]:
                    lag_since_sample[0], lag_since_sample[1] = ms, busy
                result.max_loop_lag_ms = max(result.max_loop_lag_ms, ms)
                result.max_loop_busy_ms = max(result.max_loop_busy_ms, busy)

    rng = random.Random(seed)
    gate = asyncio.Semaphore(connect_limit)
    clients = [
        Client(f"S{i:03d}", random.Random(rng.getrandbits(32)), keep=False) for i in range(sessions)
    ]
    for i, c in enumerate(clients):
        c.account = b"ALPHA-1" if i % 2 == 0 else b"BRAVO-1"

    async def session(c: Client) -> None:
        for _ in range(cycles):
            try:
                async with gate:
                    await c.connect(port)
                    await c.settle(30)
                for _ in range(orders):
                    c.act()
                    await asyncio.sleep(c.rng.uniform(0, pause))
                await c.settle(30)
                result.cycles_done += 1
            except (TimeoutError, ConnectionError, OSError) as exc:
                result.problems.append(f"{c.name}: {exc!r} {c.describe()[:300]}")
            finally:
                await c.close()
        result.problems += [f"{c.name}: {p}" for p in c.problems[:3]]

    probe = Client("ALPHA-MM", random.Random(seed), keep=False)
    t0 = time.monotonic()

    async def sample() -> None:
        rtt: float | None = None
        with contextlib.suppress(TimeoutError, ConnectionError):
            t = time.monotonic()
            await probe.settle(10)
            rtt = (time.monotonic() - t) * 1000
        s = Sample(
            t=round(time.monotonic() - t0, 2),
            rss_kb=_rss_kb(proc.pid),
            fds=_fds(proc.pid),
            journal_bytes=_journal_bytes(db),
            loop_lag_max_ms=lag_since_sample[0],
            loop_busy_ms=lag_since_sample[1],
            probe_rtt_ms=round(rtt, 2) if rtt is not None else None,
            cycles_done=result.cycles_done,
            reports=sum(c.received for c in clients),
        )
        lag_since_sample[0] = lag_since_sample[1] = 0.0
        result.samples.append(s)
        if on_sample is not None:
            on_sample(s)

    lag_task = asyncio.create_task(read_lag())
    try:
        await probe.connect(port)
        await probe.settle(10)
        await sample()
        work = asyncio.gather(*(session(c) for c in clients))
        while not work.done():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.shield(work), interval)
            await sample()
        await work
        await sample()
        result.alive = proc.returncode is None
    finally:
        await probe.close()
        if proc.returncode is None:
            proc.kill()
        await proc.wait()
        lag_task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await lag_task
    return result
