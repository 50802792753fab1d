"""Smoke tests of the quoting benchmarks at tiny sizes (no assertion on speed): the core's
quoting flow (tools/bench/core.py) trades and is not mostly refused; the e2e mass-quote run
(tools/bench/e2e.py --quotes) gets every MassQuote acknowledged through real FIX."""

from __future__ import annotations

import importlib.util
import json
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]


def test_core_quoting_flow() -> None:
    sys.path.insert(0, str(REPO / "tools" / "bench"))
    spec = importlib.util.spec_from_file_location("bench_core", REPO / "tools/bench/core.py")
    assert spec is not None and spec.loader is not None
    core = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(core)
    q = core.quoting(300, 1, 1)
    assert q["quote_entries"] == 10 * q["mass_quotes"] > 0
    assert q["fills"] > 0
    assert q["refused_entries"] * 10 <= q["quote_entries"]
    assert q["entries_per_s"] > 0


def test_e2e_mass_quote_run() -> None:
    cmd = [sys.executable, str(REPO / "tools" / "bench" / "e2e.py"), "--sessions", "2"]
    cmd += ["--warmup", "0", "--sync", "NORMAL", "--mode", "closed", "--window", "4"]
    cmd += ["--orders", "100", "--seconds", "30", "--quotes"]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=120, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    report = json.loads(out.stdout)
    (run,) = [r for r in report["runs"] if r.get("quotes")]
    counts = run["counts"]
    assert run["unanswered"] == 0 and counts["answered"] == counts["sent"] == 100
    assert counts["quote_entries"] == 100 * run["quote_entries_per_message"]
    assert counts["other"] == 0 and run["venue_exit"] == 0 and "venue_errors" not in run
    assert "NORMAL" in report["quote_entries_over_orders"]
