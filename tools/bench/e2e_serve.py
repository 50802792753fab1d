"""The venue as the e2e benchmark runs it: `venue.app.Venue` exactly as `venue run` serves it
(accounts created at start-up by the app), plus two things for the benchmark:

1. `gc.freeze()` after start-up (the recovered state and code objects leave the GC's view;
   proposed for `venue/app.py` too);
2. with VENUE_STAGE_TIMINGS=N (N > 0), sampled per-stage timers: every Nth call of each hot-path
   function is timed with `perf_counter_ns` by a wrapper installed here (no venue module is
   changed); at shutdown one JSON line `{"event": "stage_timings", ...}` goes to stderr with,
   per stage, the number of calls, how many were timed and their mean in nanoseconds.

    python tools/bench/e2e_serve.py --config venue.toml

Invariants: the venue code paths are the production ones; the wrappers only add a counter
test per call (and a clock read every Nth call); nothing here runs unless this script is the
entry point.
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


class Stage:
    __slots__ = ("calls", "name", "timed", "total_ns")

    def __init__(self, name: str) -> None:
        self.name = name
        self.calls = 0
        self.timed = 0
        self.total_ns = 0

    def figures(self) -> dict[str, Any]:
        mean = self.total_ns // self.timed if self.timed else 0
        return {"calls": self.calls, "timed": self.timed, "mean_ns": mean}


STAGES: dict[str, Stage] = {}


def _wrap(owner: Any, attr: str, stage: str, every: int) -> None:
    fn: Callable[..., Any] = getattr(owner, attr)
    st = STAGES.setdefault(stage, Stage(stage))
    clock = time.perf_counter_ns

    if asyncio.iscoroutinefunction(fn):

        @functools.wraps(fn)
        async def timed_async(*a: Any, **k: Any) -> Any:
            st.calls += 1
            t = clock()
            try:
                return await fn(*a, **k)
            finally:
                st.timed += 1
                st.total_ns += clock() - t

        setattr(owner, attr, timed_async)
        return

    @functools.wraps(fn)
    def timed(*a: Any, **k: Any) -> Any:
        st.calls += 1
        if st.calls % every:
            return fn(*a, **k)
        t = clock()
        try:
            return fn(*a, **k)
        finally:
            st.timed += 1
            st.total_ns += clock() - t

    setattr(owner, attr, timed)


def install_stage_timers(every: int) -> None:
    from venue.core.engine import Engine
    from venue.fix.codec import Framer
    from venue.fix.session import Session
    from venue.gateway import order_entry
    from venue.gateway.connection import Connection
    from venue.journal.store import Journal
    from venue.sequencer import Sequencer

    _wrap(Framer, "feed", "parse (Framer.feed, per read)", every)
    _wrap(Session, "on_message", "session (Session.on_message)", every)
    _wrap(order_entry, "decode", "decode (mapping.decode)", every)
    _wrap(Engine, "apply", "apply (Engine.apply)", every)
    _wrap(order_entry, "replies", "encode body (mapping.replies, per command)", every)
    _wrap(Session, "send_application", "encode frame (Session.send_application)", every)
    _wrap(Sequencer, "record_outbound", "store (Sequencer.record_outbound)", every)
    _wrap(Journal, "commit", "commit (Journal.commit await, per batch)", every)
    _wrap(Connection, "_write", "write (Connection._write)", every)
    _wrap(Connection, "data_received", "read (Connection.data_received, whole pump)", every)


async def serve(config: Path) -> int:
    sys.setswitchinterval(0.0002)  # as venue.app._serve
    cfg = load_config(str(config))
    venue = Venue(cfg)
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, venue.stopped.set)
    await venue.start()
    gc.freeze()
    await venue.stopped.wait()
    await venue.stop()
    if STAGES:
        record = {"event": "stage_timings", "every": int(os.environ["VENUE_STAGE_TIMINGS"])}
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
    if every > 0:
        install_stage_timers(every)
    return int(uvloop.run(serve(args.config)))


if __name__ == "__main__":
    sys.exit(main())
