"""The benchmarks measure something, and say so when they do not (tools/bench/verdict.py).

`tools/bench/marketdata.py` once reported a burst speed over 50,000 commands that the core had
all refused (the flow's accounts did not exist): 0 feed messages, 0 packets. Each benchmark now
checks its own counts; these tests run the small versions for real and feed the checks a run
that produced nothing. No assertion on speed.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
BENCH = REPO / "tools" / "bench"
sys.path.insert(0, str(BENCH))

import marketdata  # noqa: E402 - the benchmark module, from its own directory


def run_bench(name: str, *args: str) -> tuple[int, dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, str(BENCH / name), *args],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=REPO,
    )
    return out.returncode, json.loads(out.stdout)


def test_the_marketdata_bench_puts_every_phase_on_the_feed() -> None:
    rc, result = run_bench("marketdata.py", "--rate", "2000", "--seconds", "0.5", "--burst", "3000")
    assert rc == 0 and "error" not in result, result
    for phase in ("paced", "burst"):
        r = result[phase]
        assert r["rejected_orders"] == 0, r
        # every new order, cancel and replace of the flow changes the book: at least one
        # message per command reaches the feed
        assert r["messages"] >= r["commands"], r
        assert 0 < r["packets"] <= r["messages"], r
    assert result["received_packets"] == result["sent_packets"] > 0


def _result(messages: int, packets: int, rejected: int) -> dict[str, Any]:
    phase = {"commands": 100, "messages": messages, "packets": packets}
    phase["rejected_orders"] = rejected
    return {
        "paced": dict(phase),
        "burst": dict(phase),
        "received_packets": packets * 2,
        "sent_packets": packets * 2,
        "feed_book_inconsistencies": 0,
    }


def test_a_run_that_put_nothing_on_the_feed_is_an_error() -> None:
    assert marketdata.run_checks(_result(120, 10, 0)).problems == []
    problems = marketdata.run_checks(_result(0, 0, 100)).problems
    assert any("no feed messages" in p for p in problems)
    assert any("no packets" in p for p in problems)
    assert any("refused by the core" in p for p in problems)


def test_lost_packets_are_an_error() -> None:
    result = _result(120, 10, 0)
    result["received_packets"] -= 1
    assert any("received" in p for p in marketdata.run_checks(result).problems)


def test_an_error_exits_non_zero_with_the_error_in_the_json(capsys: Any) -> None:
    from verdict import Checks

    checks = Checks()
    checks.expect(True, "never shown")
    checks.expect(False, "phase x produced nothing")
    assert checks.emit({"bench": "x"}) == 1
    printed = json.loads(capsys.readouterr().out)
    assert printed == {"bench": "x", "error": "phase x produced nothing"}
    assert Checks().emit({"bench": "y"}) == 0
