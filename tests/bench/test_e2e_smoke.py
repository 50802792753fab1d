"""Smoke test of the end-to-end load generator (tools/bench/e2e.py) against the real venue
subprocess: a few hundred orders of the market-maker flow in each mode, every order answered,
the counts add up. No assertion on speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

REPO = Path(__file__).resolve().parents[2]


def run_e2e(*args: str) -> dict[str, Any]:
    cmd = [sys.executable, str(REPO / "tools" / "bench" / "e2e.py"), "--sessions", "2"]
    cmd += ["--warmup", "0", "--sync", "NORMAL", *args]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=90, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def check_counts(run: dict[str, Any]) -> None:
    counts = run["counts"]
    assert run["unanswered"] == 0, run
    assert counts["answered"] == counts["sent"] > 0, run
    # every order is answered by an ExecutionReport or (cancel/replace) a 35=9
    assert counts["reports"] + counts["cancel_rejects"] >= counts["answered"], run
    assert counts["other"] == 0, run  # no session Reject (3) nor BusinessMessageReject (j)
    assert counts["order_rejects"] == 0, run  # the flow is valid: nothing refused
    assert counts["fills"] > 0, run  # the IOCs trade against the quotes
    assert run["venue_exit"] == 0, run
    assert "venue_errors" not in run, run
    assert run["latency_us"]["samples"] > 0
    stages = run["stages"]
    assert stages["commands"] >= counts["sent"]  # the venue's own count of commands
    apply = stages["apply (Engine.apply)"]
    assert apply["calls"] == apply["timed"] <= apply["commands"] <= stages["commands"]


@pytest.mark.parametrize("mode", ["closed", "open"])
def test_every_order_gets_its_report_and_the_counts_add_up(mode: str) -> None:
    if mode == "closed":
        report = run_e2e(
            "--mode",
            "closed",
            "--closed-stages",
            "on",
            "--window",
            "8",
            "--orders",
            "300",
            "--seconds",
            "30",
        )
    else:
        report = run_e2e("--mode", "open", "--rate", "300", "--seconds", "1")
    (run,) = report["runs"]
    assert run["mode"] == mode
    if mode == "closed":
        assert run["counts"]["sent"] == 300
    check_counts(run)


def test_the_floor_answers_every_order_in_each_of_its_three_ways() -> None:
    """`--floor` alone (no venue run): the bare acceptor, with a NORMAL commit and with FULL."""
    report = run_e2e("--sync", "", "--floor", "--mode", "closed", "--orders", "200")
    assert report["runs"] == []
    runs = report["floor"]
    assert [r["target"] for r in runs] == ["floor", "floor+commit", "floor+commit-full"]
    for run in runs:
        counts = run["counts"]
        assert run["unanswered"] == 0, run
        assert counts["answered"] == counts["sent"] == 200, run
        assert counts["reports"] == 200, run  # one ExecutionReport per order, nothing else
        assert counts["other"] == counts["order_rejects"] == counts["cancel_rejects"] == 0, run
