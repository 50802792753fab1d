"""Venue for the reliability tools, run as a subprocess:
`python -m tests.reliability.venue_driver --db PATH [--sessions N] [--rate R] [--lag]`.

It starts the venue as the drop-copy tests wire it (journal with synchronous=NORMAL, sequencer,
order entry, drop copy behind the role router, gateway on an ephemeral 127.0.0.1 port, the demo
accounts funded on a new database), prints `PORT <n>` (flushed) and serves until it is killed.
`venue run` does not wire drop copy and accounts yet, which is why the tools use this.

`--sessions N` adds N trading sessions `S000`..: no credentials (loopback only), firms ALPHA
and BRAVO in turn, cancel on disconnect, throttle `--rate` messages per second. `--lag` prints
`LAG <max_us> <mean_us> <busy_us>` once a second: how late a 10 ms timer fired on the venue's
loop (the loop's stall, measured from inside) and the loop thread's CPU time in that worst
interval (a stall the loop caused itself, rather than waiting for a CPU).

Diagnostics (environment): `VENUE_MEMSTATS=1` prints where the memory is every 5 s,
`VENUE_TRACEMALLOC=1` (slow; `VENUE_TRACEMALLOC_WARMUP=S` for the baseline) the source lines
whose allocations grew most, `VENUE_SLOW_CALLBACK_MS=N` asyncio's log of callbacks that held
the loop N ms or more; all on stderr.

Invariants:
- Nothing is written to stdout but the `PORT` line and `LAG` lines; logs go to stderr.
- The same database can be opened again after a SIGKILL (recovery replays the journal tail).
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import json
import os
import sys
import time
import tracemalloc
from pathlib import Path

import msgspec

from tests.dropcopy.conftest import sessions, start_venue
from venue import log
from venue.config import HeartbeatConfig, SessionConfig, ThrottleConfig

_tasks: list[asyncio.Task[None]] = []


def extra_sessions(n: int, rate: int) -> list[SessionConfig]:
    (template,) = [s for s in sessions() if s.name == "ALPHA-MM"]
    firms = [("ALPHA", ["ALPHA-1", "ALPHA-2"]), ("BRAVO", ["BRAVO-1"])]
    out = []
    for i in range(n):
        firm, accounts = firms[i % 2]
        out.append(
            msgspec.structs.replace(
                template,
                name=f"S{i:03d}",
                client_comp_id=f"S{i:03d}",
                firm=firm,
                accounts=accounts,
                cancel_on_disconnect=True,
                heartbeat=HeartbeatConfig(min_seconds=1, max_seconds=120),
                throttle=ThrottleConfig(messages_per_second=rate, burst=2 * rate),
            )
        )
    return out


async def lag_probe(period: float = 0.01) -> None:
    """Sleep `period` again and again; how late each wake-up is = the loop's stall. Also the
    CPU time the loop's thread used during the latest wake-up (`busy`): a late wake-up with
    little busy time is the process waiting for a CPU (a loaded machine), not the loop
    blocked by its own work. Prints `LAG <max_us> <mean_us> <busy_us of that max>`."""
    worst = worst_busy = total = count = 0
    next_print = time.monotonic() + 1
    while True:
        t = time.monotonic()
        cpu = time.thread_time()
        await asyncio.sleep(period)
        late = int((time.monotonic() - t - period) * 1e6)
        if late > worst:
            worst, worst_busy = late, int((time.thread_time() - cpu) * 1e6)
        total, count = total + late, count + 1
        if time.monotonic() >= next_print:
            print(f"LAG {worst} {total // max(count, 1)} {worst_busy}", flush=True)
            worst = worst_busy = total = count = 0
            next_print += 1


class _MallInfo2(ctypes.Structure):
    _fields_ = [
        (name, ctypes.c_size_t)
        for name in (
            "arena",
            "ordblks",
            "smblks",
            "hblks",
            "hblkhd",
            "usmblks",
            "fsmblks",
            "uordblks",
            "fordblks",
            "keepcost",
        )
    ]


def native_memory() -> dict[str, int]:
    """Where the process's memory is, in KiB: SQLite's own allocations (page caches,
    statements), glibc malloc (in use, free but kept by the arenas, mmapped blocks), and the
    Python objects the garbage collector tracks. Empty values when a library is missing."""
    out: dict[str, int] = {"gc_objects": len(gc.get_objects())}
    with contextlib.suppress(OSError, AttributeError, TypeError):
        sqlite = ctypes.CDLL(ctypes.util.find_library("sqlite3"))
        sqlite.sqlite3_memory_used.restype = ctypes.c_int64
        sqlite.sqlite3_memory_highwater.restype = ctypes.c_int64
        out["sqlite_kb"] = sqlite.sqlite3_memory_used() // 1024
        out["sqlite_high_kb"] = sqlite.sqlite3_memory_highwater(0) // 1024
        cur, high = ctypes.c_int64(), ctypes.c_int64()
        sqlite.sqlite3_status64(2, ctypes.byref(cur), ctypes.byref(high), 0)  # PAGECACHE_OVERFLOW
        out["sqlite_page_cache_kb"] = cur.value // 1024
        sqlite.sqlite3_status64(9, ctypes.byref(cur), ctypes.byref(high), 0)  # MALLOC_COUNT
        out["sqlite_allocations"] = cur.value
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL("libc.so.6")
        libc.mallinfo2.restype = _MallInfo2
        mi = libc.mallinfo2()
        out["malloc_in_use_kb"] = (mi.uordblks + mi.hblkhd) // 1024
        out["malloc_free_kept_kb"] = mi.fordblks // 1024
        out["malloc_mmapped_kb"] = mi.hblkhd // 1024
    if tracemalloc.is_tracing():
        out["python_traced_kb"] = tracemalloc.get_traced_memory()[0] // 1024
    return out


async def memory_report(period: float = 10.0, *, trace: bool = True) -> None:
    """With VENUE_TRACEMALLOC=1: every `period` seconds, the 12 source lines whose allocations
    grew most since the first report, on stderr (what a soak's RSS growth is made of).
    With VENUE_MEMSTATS=1 (or with tracing): a `MEMSTATS {json}` line on stderr every
    `period` seconds (`native_memory`: SQLite, malloc, Python objects)."""
    if trace:
        tracemalloc.start(1)
        # VENUE_TRACEMALLOC_WARMUP=S: compare with the allocations S seconds in (after warm-up)
        await asyncio.sleep(float(os.environ.get("VENUE_TRACEMALLOC_WARMUP", "0")))
    first = tracemalloc.take_snapshot() if trace else None
    while True:
        await asyncio.sleep(period)
        stats = native_memory()
        print("MEMSTATS", json.dumps(stats), file=sys.stderr, flush=True)
        if first is not None:
            top = tracemalloc.take_snapshot().compare_to(first, "lineno")[:12]
            print("TRACEMALLOC", *(str(t) for t in top), sep="\n  ", file=sys.stderr, flush=True)


async def run(db: Path, n: int, rate: int, lag: bool) -> None:
    sys.setswitchinterval(0.0002)  # as `venue run` does: the journal thread gets the GIL often
    if os.environ.get("VENUE_TRACEMALLOC") == "1":
        _tasks.append(asyncio.create_task(memory_report()))
    elif os.environ.get("VENUE_MEMSTATS") == "1":
        _tasks.append(asyncio.create_task(memory_report(5.0, trace=False)))
    log.configure(level="warning", stream=sys.stderr)
    slow_ms = os.environ.get("VENUE_SLOW_CALLBACK_MS")
    if slow_ms:  # asyncio debug mode: log every callback that holds the loop this long
        loop = asyncio.get_running_loop()
        loop.set_debug(True)
        loop.slow_callback_duration = float(slow_ms) / 1000
    venue = await start_venue(db, sessions() + extra_sessions(n, rate))
    print(f"PORT {venue.port}", flush=True)
    if lag:
        await lag_probe()
    await asyncio.Event().wait()


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--db", required=True)
    p.add_argument("--sessions", type=int, default=0)
    p.add_argument("--rate", type=int, default=1000)
    p.add_argument("--lag", action="store_true")
    a = p.parse_args()
    asyncio.run(run(Path(a.db), a.sessions, a.rate, a.lag))


if __name__ == "__main__":
    main()
