"""Smoke test of tools/bench/inbound.py (the in-process inbound-path benchmark): a couple of
small rounds run, every order is answered, nothing is refused. No assertion on speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_inbound_bench_runs_and_answers_everything() -> None:
    cmd = [sys.executable, str(REPO / "tools" / "bench" / "inbound.py")]
    cmd += ["--orders", "64", "--repeat", "1"]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    assert report["unanswered"] == 0
    assert report["other_replies"] == 0
    assert report["order_rejects"] == 0
    assert set(report["by_type_median_us"]) <= {"D", "F", "G"}
    assert report["inbound_median_us"] > 0 and report["total_cpu_us"] > 0
