"""The performance targets of `e2e.py`, as ratios to what the same run measured.

Absolute figures move from machine to machine; the floor (`floor.py`) and the QuickFIX peers
run on the same machine in the same report, so each target is a ratio to one of them (or a
latency bound that the floor meets with room to spare). `ratios(report)` reads a finished
report; a figure whose runs are missing from it is `None` (not run), never a guess.

Invariants: only the venue's NORMAL runs are compared (FULL waits for the disk); every ratio
names its numerator first; `met` is `None` where the figure is `None`.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

# name -> (target, True when the figure must be at least the target, False at most)
TARGETS: dict[str, tuple[float, bool]] = {
    "venue_over_floor_commit_closed": (0.5, True),
    "cpu_ratio_open_10k_over_closed": (1.5, False),
    "p50_ratio_open_1k": (1.5, False),
    "p99_us_open_1k": (500.0, False),
    "p99_us_open_10k": (1000.0, False),
    "venue_over_fair_peer_closed": (3.0, True),
    "p99_open_1k_over_fair_peer": (1.0, False),
}


def _find(
    runs: list[dict[str, Any]], target: str, mode: str, rate: float | None = None
) -> dict[str, Any] | None:
    for r in runs:
        if r.get("target") != target or r.get("mode") != mode:
            continue
        if target == "venue" and r.get("sync") != "NORMAL":
            continue
        if mode == "open" and r.get("rate") != rate:
            continue
        if r.get("orders_per_s"):
            return r
    return None


def _ratio(a: float | None, b: float | None) -> float | None:
    if a is None or b is None or b == 0:
        return None
    return round(a / b, 3)


def _get(run: dict[str, Any] | None, *path: str) -> float | None:
    value: Any = run
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return float(value) if isinstance(value, int | float) else None


def ratios(report: dict[str, Any]) -> dict[str, Any]:
    """Every target's figure, its bound and whether it was met, from one report."""
    venue_runs = report.get("runs", [])
    others = report.get("floor", []) + report.get("peer", [])

    def venue(mode: str, rate: float | None = None) -> dict[str, Any] | None:
        return _find(venue_runs, "venue", mode, rate)

    def other(target: str, mode: str, rate: float | None = None) -> dict[str, Any] | None:
        return _find(others, target, mode, rate)

    closed = venue("closed")
    figures: dict[str, float | None] = {
        "venue_over_floor_commit_closed": _ratio(
            _get(closed, "orders_per_s"), _get(other("floor+commit", "closed"), "orders_per_s")
        ),
        "cpu_ratio_open_10k_over_closed": _ratio(
            _get(venue("open", 10000.0), "venue_cpu_us_per_order"),
            _get(closed, "venue_cpu_us_per_order"),
        ),
        "p50_ratio_open_1k": _ratio(
            _get(venue("open", 1000.0), "latency_us", "p50"),
            _get(other("floor+commit", "open", 1000.0), "latency_us", "p50"),
        ),
        "p99_us_open_1k": _get(venue("open", 1000.0), "latency_us", "p99"),
        "p99_us_open_10k": _get(venue("open", 10000.0), "latency_us", "p99"),
        "venue_over_fair_peer_closed": _ratio(
            _get(closed, "orders_per_s"), _get(other("quickfix-fair", "closed"), "orders_per_s")
        ),
        "p99_open_1k_over_fair_peer": _ratio(
            _get(venue("open", 1000.0), "latency_us", "p99"),
            _get(other("quickfix-fair", "open", 1000.0), "latency_us", "p99"),
        ),
    }
    out: dict[str, Any] = {}
    for name, value in figures.items():
        bound, at_least = TARGETS[name]
        met = None if value is None else (value >= bound if at_least else value <= bound)
        out[name] = {"value": value, "target": bound, "at_least": at_least, "met": met}
    search = report.get("max_rate_search")
    best = search.get("max_rate_p99_under_1ms") if search else None
    out["max_rate_p99_under_1ms"] = {
        "value": best,
        "over_closed_loop": _ratio(best, _get(closed, "orders_per_s")),
    }
    return out


def search_max_rate(
    probe: Callable[[float], dict[str, Any]],
    *,
    start: float = 1000.0,
    limit_us: float = 1000.0,
    steps: int = 4,
    ceiling: float = 200_000.0,
) -> dict[str, Any]:
    """The highest even rate whose p99 stays within `limit_us`: double from `start` until a
    rate misses (or `ceiling`), then bisect `steps` times. `probe(rate)` runs the venue's
    open loop at that rate and returns its run."""
    probes: list[dict[str, Any]] = []

    def ok(rate: float) -> bool:
        run = probe(rate)
        p99 = _get(run, "latency_us", "p99")
        good = p99 is not None and p99 <= limit_us and not run.get("unanswered")
        probes.append({"rate": rate, "p99_us": p99, "ok": good})
        return good

    if not ok(start):
        return {"max_rate_p99_under_1ms": None, "probes": probes}
    low, high = start, start * 2
    while high <= ceiling and ok(high):
        low, high = high, high * 2
    for _ in range(steps if high <= ceiling else 0):
        mid = round((low + high) / 2, -2)
        if mid in (low, high):
            break
        if ok(mid):
            low = mid
        else:
            high = mid
    return {"max_rate_p99_under_1ms": low, "probes": probes}
