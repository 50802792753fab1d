"""The venue as the e2e benchmark runs it: `venue.app.Venue` exactly as `venue run` serves it
(accounts created at start-up by the app), plus two things for the benchmark:

1. `gc.freeze()` after start-up (the recovered state and code objects leave the GC's view;
   proposed for `venue/app.py` too);
2. with VENUE_STAGE_TIMINGS=N (N > 0), sampled per-stage timers by time slices: the run is cut
   into slices of `SLICE_MS`; in each cycle of N slices, stage k is timed during slice k only
   (one stage at a time, so no timer sits inside another stage's measurement), and the other
   slices run the production code with nothing installed. A timed stage wraps its function with
   a timer (the thread's CPU time, so other processes on the core do not inflate it; the
   commit await in wall time) for its slice and puts the original back afterwards; the
   sequencer's number of commands during those slices gives a per-command figure. At shutdown
   one JSON line `{"event": "stage_timings", ...}` goes to stderr with, per stage, the calls
   timed, their mean in nanoseconds and `per_command_ns` (mean x calls per command).

    python tools/bench/e2e_serve.py --config venue.toml

Invariants: the venue code paths are the production ones; while a stage is not being timed its
function is the original (no wrapper, no counter: the instrumentation costs nothing between
slices); only one stage is wrapped at a time; nothing here runs unless this script is the entry
point.
"""

from __future__ import annotations

import argparse
import asyncio
import functools
import gc
import json
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import uvloop  # noqa: E402

from venue import log  # noqa: E402
from venue.app import Venue  # noqa: E402
from venue.config import load_config  # noqa: E402

SLICE_MS = 4  # one stage is timed for this long, then the next (or none)


class Stage:
    """One timed function: `install()` puts the timing wrapper in place, `remove()` the original.
    `calls`/`total_ns` count the calls timed; `commands` the sequencer's commands meanwhile."""

    __slots__ = ("_install", "_remove", "calls", "commands", "name", "total_ns")

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.total_ns = 0
        self.commands = 0
        self._install: Callable[[], None] = lambda: None
        self._remove: Callable[[], None] = lambda: None

    def install(self) -> None:
        self._install()

    def remove(self) -> None:
        self._remove()

    def timer(self, fn: Callable[..., Any]) -> Callable[..., Any]:
        """The timing wrapper of `fn`: the thread's CPU time for a plain function (a core
        shared with other processes does not inflate it), wall time for a coroutine function
        (what its await costs), less the clock's own cost (`CLOCK_COST`)."""
        st = self

        if asyncio.iscoroutinefunction(fn):
            wall = time.perf_counter_ns
            wall_cost = CLOCK_COST[wall]

            @functools.wraps(fn)
            async def timed_async(*a: Any, **k: Any) -> Any:
                t = wall()
                try:
                    return await fn(*a, **k)
                finally:
                    st.calls += 1
                    st.total_ns += max(0, wall() - t - wall_cost)

            return timed_async

        cpu = time.thread_time_ns
        cpu_cost = CLOCK_COST[cpu]

        @functools.wraps(fn)
        def timed(*a: Any, **k: Any) -> Any:
            t = cpu()
            try:
                return fn(*a, **k)
            finally:
                st.calls += 1
                st.total_ns += max(0, cpu() - t - cpu_cost)

        return timed

    def figures(self) -> dict[str, Any]:
        mean = self.total_ns // self.calls if self.calls else 0
        per_command = self.total_ns // self.commands if self.commands else 0
        return {
            "calls": self.calls,
            "timed": self.calls,
            "mean_ns": mean,
            "commands": self.commands,
            "per_command_ns": per_command,
        }


STAGES: dict[str, Stage] = {}
CLOCK_COST: dict[Callable[[], int], int] = {}


def calibrate() -> None:
    """What one reading of each clock adds to an interval (the median of back-to-back pairs)."""
    for clock in (time.perf_counter_ns, time.thread_time_ns):
        pairs = []
        for _ in range(2001):
            t = clock()
            pairs.append(clock() - t)
        CLOCK_COST[clock] = sorted(pairs)[len(pairs) // 2]


def _attr_stage(owner: Any, attr: str, name: str) -> None:
    """A stage that swaps `owner.attr` (a class's method or a module's function)."""
    original = owner.__dict__[attr] if attr in getattr(owner, "__dict__", {}) else None
    if original is None:
        original = getattr(owner, attr)
    st = STAGES.setdefault(name, Stage(name))
    timed = st.timer(original)
    st._install = lambda: setattr(owner, attr, timed)
    st._remove = lambda: setattr(owner, attr, original)


def _subscriber_stage(subscribers: list[Any], index: int, name: str) -> None:
    """A stage that swaps one entry of the sequencer's subscriber list (bound methods, read
    afresh at every release)."""
    original = subscribers[index]
    st = STAGES.setdefault(name, Stage(name))
    timed = st.timer(original)

    def install() -> None:
        if subscribers[index] is original:
            subscribers[index] = timed

    def remove() -> None:
        if subscribers[index] is timed:
            subscribers[index] = original

    st._install = install
    st._remove = remove


def define_stages() -> None:
    from venue.core.engine import Engine
    from venue.fix.codec import Framer
    from venue.fix.session import Session
    from venue.gateway import order_entry
    from venue.gateway.connection import Connection
    from venue.journal.store import Journal
    from venue.sequencer import Sequencer

    _attr_stage(Framer, "feed", "parse (Framer.feed, per read)")
    _attr_stage(Session, "on_message", "session (Session.on_message)")
    _attr_stage(order_entry, "decode", "decode (mapping.decode)")
    _attr_stage(Engine, "apply", "apply (Engine.apply)")
    _attr_stage(order_entry, "replies", "encode body (mapping.replies, per command)")
    _attr_stage(Session, "send_application", "encode frame (Session.send_application)")
    _attr_stage(Sequencer, "record_outbound", "store (Sequencer.record_outbound)")
    _attr_stage(Journal, "commit", "commit (Journal.commit await, per batch)")
    _attr_stage(Connection, "_write", "write (Connection._write)")
    _attr_stage(Connection, "_flush", "flush (Connection._flush, one write per pass)")
    _attr_stage(Connection, "_pump", "pump (Connection._pump, after parse)")
    _attr_stage(Sequencer, "_release", "release (Sequencer._release, per batch)")


def define_subscriber_stages(venue: Venue) -> None:
    """Each committed-command subscriber (market data, order entry, risk, expiry, ...)."""
    subscribers = venue.sequencer._subscribers  # the benchmark's business only
    for i, fn in enumerate(subscribers):
        owner = type(getattr(fn, "__self__", fn)).__name__
        name = getattr(fn, "__name__", "?")
        _subscriber_stage(subscribers, i, f"subscriber ({owner}.{name}, per command)")


async def rotate(venue: Venue, every: int) -> None:
    """Time stage k during slice k of every cycle of `every` slices (never two at once)."""
    stages = list(STAGES.values())
    cycle = max(every, len(stages))
    seq = venue.sequencer
    slot = 0
    try:
        while True:
            st = stages[slot] if slot < len(stages) else None
            if st is None:
                await asyncio.sleep((cycle - slot) * SLICE_MS / 1000)
                slot = 0
                continue
            before = seq.last_seq
            st.install()
            try:
                await asyncio.sleep(SLICE_MS / 1000)
            finally:
                st.remove()
                st.commands += seq.last_seq - before
            slot += 1
    except asyncio.CancelledError:
        pass


async def serve(config: Path, every: int) -> int:
    sys.setswitchinterval(0.0002)  # as venue.app._serve
    cfg = load_config(str(config))
    venue = Venue(cfg)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, venue.stopped.set)
    await venue.start()
    gc.freeze()
    rotator = None
    if every > 0:
        calibrate()
        define_stages()
        define_subscriber_stages(venue)
        rotator = loop.create_task(rotate(venue, every), name="stage-timers")
    await venue.stopped.wait()
    if rotator is not None:
        rotator.cancel()
        await rotator
    commands = venue.sequencer.last_seq
    await venue.stop()
    if STAGES:
        record: dict[str, Any] = {
            "event": "stage_timings",
            "every": every,
            "slice_ms": SLICE_MS,
            "commands": commands,
            "clock": "thread CPU time (commit: wall time), less the clock's own cost",
            "clock_cost_ns": {c.__name__: n for c, n in CLOCK_COST.items()},
        }
        record.update({name: st.figures() for name, st in STAGES.items()})
        print(json.dumps(record), file=sys.stderr, flush=True)
    return 0


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--config", required=True, type=Path)
    parser.add_argument("--log-level", default="info")
    args = parser.parse_args()
    log.configure(level=args.log_level)
    every = int(os.environ.get("VENUE_STAGE_TIMINGS", "0") or 0)
    return int(uvloop.run(serve(args.config, every)))


if __name__ == "__main__":
    sys.exit(main())
