"""`venue-admin top`: a refreshing view of sessions, message rates, books and the journal.

Invariants:
- Rates are computed here from the counters of two consecutive `top` answers and the venue's
  monotonic clock between them (messages per second, commands per second); the first frame
  has no rates.
- `--iterations N` stops after N frames (tests and scripts); 0 runs until interrupted.
  With `--json` each frame is one JSON line; on a terminal the screen is redrawn in place
  (rich Live), otherwise frames are printed one after the other.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Callable
from typing import Any

from venue.admin import render

__all__ = ["frame", "run_top"]


def _rate(now: int, before: int, dt_ns: int) -> float | None:
    if dt_ns <= 0:
        return None
    return round((now - before) * 1e9 / dt_ns, 1)


def frame(cur: dict[str, Any], prev: dict[str, Any] | None) -> dict[str, Any]:
    """One frame: the venue's answer plus rates against the previous one."""
    dt = cur["mono_ns"] - prev["mono_ns"] if prev is not None else 0
    before = {s["name"]: s for s in prev["sessions"]} if prev is not None else {}
    sessions = []
    for s in cur["sessions"]:
        p = before.get(s["name"])
        row = dict(s)
        row["in_per_s"] = _rate(s["messages_in"], p["messages_in"], dt) if p else None
        row["out_per_s"] = _rate(s["messages_out"], p["messages_out"], dt) if p else None
        sessions.append(row)
    j = dict(cur["journal"])
    j["commands_per_s"] = (
        _rate(j["last_seq"], prev["journal"]["last_seq"], dt) if prev is not None else None
    )
    return {
        "now_ns": cur["now_ns"],
        "journal": j,
        "sessions": sessions,
        "instruments": cur["instruments"],
    }


def _renderable(f: dict[str, Any]) -> Any:
    j = f["journal"]
    head = (
        f"{render.ts_text(f['now_ns'])}  seq {j['last_seq']} (committed {j['committed_seq']}, "
        f"queue {j['uncommitted']})  commit wait {render.duration(j['commit_wait_ns'])}  "
        f"{j['commands_per_s'] if j['commands_per_s'] is not None else '-'} cmd/s"
        f"{'  BACKLOGGED' if j['backlogged'] else ''}"
    )
    sessions = render.table_text(
        "sessions",
        ["name", "state", "peer", "in/s", "out/s", "next_in", "next_out", "throttle_hits"],
        [
            [
                s["name"],
                s["state"],
                s["peer"],
                s["in_per_s"],
                s["out_per_s"],
                s["next_in"],
                s["next_out"],
                s["throttle_hits"],
            ]
            for s in f["sessions"]
        ],
    )
    books = render.table_text(
        "books",
        ["symbol", "state", "best_bid", "best_ask", "live_orders"],
        [
            [i["symbol"], i["state"], i["best_bid"], i["best_ask"], i["live_orders"]]
            for i in f["instruments"]
        ],
    )
    try:
        from rich.console import Group  # noqa: PLC0415 -- optional dependency
    except ModuleNotFoundError:
        return f"{head}\n{sessions}\n{books}"
    return Group(head, sessions, books)


def run_top(
    fetch: Callable[[], Any],
    *,
    iterations: int,
    interval: float,
    as_json: bool,
    sleep: Callable[[float], None],
) -> int:
    prev: dict[str, Any] | None = None
    live: Any = None
    stack = contextlib.ExitStack()
    if not as_json and sys.stdout.isatty():
        with contextlib.suppress(ModuleNotFoundError):
            from rich.live import Live  # noqa: PLC0415 -- optional dependency

            live = stack.enter_context(Live(auto_refresh=False))
    n = 0
    with stack:
        try:
            while True:
                cur = fetch()
                f = frame(cur, prev)
                prev = cur
                if as_json:
                    render.print_json(f)
                elif live is not None:
                    live.update(_renderable(f), refresh=True)
                else:
                    render.emit(_renderable(f))
                n += 1
                if iterations and n >= iterations:
                    return 0
                sleep(interval)
        except KeyboardInterrupt:
            return 0
