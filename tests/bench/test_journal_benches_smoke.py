"""Smoke tests of tools/bench/startup.py and the chain figures of tools/bench/journal.py at
small sizes: they run, the journal they build recovers and passes the history check, the real
`venue run` gets ready on it, and every figure is reported. No assertion on speed."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]


def _run(tool: str, *args: str) -> dict[str, Any]:
    cmd = [sys.executable, str(REPO / "tools" / "bench" / tool), *args]
    out = subprocess.run(cmd, check=False, capture_output=True, text=True, timeout=300, cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    report: dict[str, Any] = json.loads(out.stdout)
    return report


def test_startup_bench_builds_recovers_and_runs_the_venue() -> None:
    r = _run("startup.py", "--commands", "3000", "--tail", "500")
    assert r["journal"]["commands"] == 3000 and r["journal"]["snapshot_seq"] == 2500
    assert (r["last_seq"], r["replayed"], r["history_rows"]) == (3000, 500, 2500)
    assert set(r["steps_seconds"]) == {
        "quick_check",
        "snapshot_restore",
        "tail_replay_checked",
        "tail_replay_unchecked",
    }
    run = r["venue_run"]
    assert run["history_event"] == "journal_history_checked"
    assert run["spawn_to_ready_seconds"] > 0 and run["exit"] == 0


def test_journal_bench_reports_the_chain_cost() -> None:
    r = _run(
        "journal.py",
        "--commands",
        "600",
        "--batch-commands",
        "600",
        "--batch-only",
        "--modes",
        "NORMAL",
    )
    chain = r["chain"]
    assert chain["hash"] == "blake2b-256" and chain["link_us_per_command"] > 0
    assert set(chain["normal"]) == {
        f"{what}_us_per_command_{name}"
        for what in ("cpu", "wall")
        for name in ("with_chain_and_marker", "without_chain", "without_chain_and_marker")
    }
