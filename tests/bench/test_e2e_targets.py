"""The e2e report's `ratios` (tools/bench/e2e_targets.py): each target read from the runs it
names, `None` where a run is missing, and the max-rate search on a made-up latency curve."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "tools" / "bench"))

from e2e_targets import ratios, search_max_rate


def run(target: str, mode: str, ops: float, *, rate: float | None = None, **kw: Any) -> dict:
    r = {"target": target, "mode": mode, "rate": rate, "orders_per_s": ops, **kw}
    if target == "venue":
        r.setdefault("sync", "NORMAL")
    return r


def test_each_ratio_comes_from_the_runs_it_names() -> None:
    report = {
        "runs": [
            run("venue", "closed", 20_000, venue_cpu_us_per_order=40.0),
            run("venue", "closed", 9_000, sync="FULL", venue_cpu_us_per_order=70.0),
            run("venue", "open", 1000, rate=1000.0, latency_us={"p50": 150.0, "p99": 450.0}),
            run(
                "venue",
                "open",
                9990,
                rate=10000.0,
                venue_cpu_us_per_order=80.0,
                latency_us={"p50": 300.0, "p99": 2500.0},
            ),
        ],
        "floor": [
            run("floor+commit", "closed", 80_000),
            run("floor+commit", "open", 1000, rate=1000.0, latency_us={"p50": 100.0}),
        ],
        "peer": [
            run("quickfix", "closed", 13_000),
            run("quickfix-fair", "closed", 5_000),
            run("quickfix-fair", "open", 1000, rate=1000.0, latency_us={"p99": 300.0}),
        ],
    }
    r = ratios(report)
    assert r["venue_over_floor_commit_closed"] == {
        "value": 0.25,
        "target": 0.5,
        "at_least": True,
        "met": False,
    }
    assert r["cpu_ratio_open_10k_over_closed"]["value"] == 2.0  # 80 / 40, NORMAL only
    assert r["p50_ratio_open_1k"]["value"] == 1.5
    assert r["p50_ratio_open_1k"]["met"] is True
    assert r["p99_us_open_1k"]["met"] is True
    assert r["p99_us_open_10k"] == {
        "value": 2500.0,
        "target": 1000.0,
        "at_least": False,
        "met": False,
    }
    assert r["venue_over_fair_peer_closed"]["value"] == 4.0  # the fair peer, not the lean one
    assert r["p99_open_1k_over_fair_peer"]["value"] == 1.5
    assert r["max_rate_p99_under_1ms"] == {"value": None, "over_closed_loop": None}


def test_a_missing_run_gives_none_not_a_guess() -> None:
    r = ratios({"runs": [run("venue", "closed", 20_000)]})
    assert r["venue_over_floor_commit_closed"]["value"] is None
    assert r["venue_over_floor_commit_closed"]["met"] is None


def test_the_search_finds_the_last_rate_within_the_bound() -> None:
    def probe(rate: float) -> dict[str, Any]:  # p99 crosses 1 ms at 13,000/s
        return {"latency_us": {"p99": 500.0 if rate <= 13_000 else 5000.0}, "unanswered": 0}

    found = search_max_rate(probe, steps=6)
    assert 12_000 <= found["max_rate_p99_under_1ms"] <= 13_000
    assert [p["rate"] for p in found["probes"]][:5] == [1000, 2000, 4000, 8000, 16000]


def test_no_rate_qualifies_when_the_first_misses() -> None:
    found = search_max_rate(lambda rate: {"latency_us": {"p99": 2000.0}})
    assert found["max_rate_p99_under_1ms"] is None
