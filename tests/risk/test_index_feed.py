"""Index feed sources (CSV, random walk), the in-process feed and the tool's dry run."""

from __future__ import annotations

import itertools
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.risk.test_monitor import PERP, Harness, h, perp
from venue.core import AddInstrument, IndexPriceSet
from venue.risk.index import IndexTick, csv_ticks, feed_in_process, random_walk
from venue.risk.pricing import decimal_to_ticks

REPO = Path(__file__).resolve().parents[2]
WALK = ["walk", "--symbol", "BTC-PERP", "--start", "60000", "--tick", "0.5"]
__all__ = ["h"]  # the fixture, shared with test_monitor


def test_csv_rows_header_comments_and_blank_lines(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("delay_ms,symbol,price\n# a comment\n\n0,BTC-PERP,60000\n250,BTC-PERP,60000.5\n")
    assert list(csv_ticks(f)) == [
        IndexTick(0, "BTC-PERP", "60000"),
        IndexTick(250, "BTC-PERP", "60000.5"),
    ]


def test_csv_bad_row_names_the_line(tmp_path: Path) -> None:
    f = tmp_path / "p.csv"
    f.write_text("0,BTC-PERP,1\nx,BTC-PERP\n")
    with pytest.raises(ValueError, match=r"p\.csv:2"):
        list(csv_ticks(f))


def test_random_walk_is_seeded_exact_and_on_the_tick() -> None:
    a = list(itertools.islice(random_walk("BTC-PERP", "60000", "0.5", seed=7), 200))
    b = list(itertools.islice(random_walk("BTC-PERP", "60000", "0.5", seed=7), 200))
    assert a == b
    assert a[0].price == "60000"
    ticks = [decimal_to_ticks(t.price, "0.5") for t in a]
    assert all(abs(x - y) <= 10 for x, y in itertools.pairwise(ticks))
    assert min(ticks) >= 1
    small = list(itertools.islice(random_walk("X", "0.05", "0.05", step_ticks=1000), 50))
    assert all(decimal_to_ticks(t.price, "0.05") >= 1 for t in small)


async def test_feed_in_process_submits_sequenced_index_prices(h: Harness) -> None:
    await h.submit(AddInstrument(instrument=perp()))
    slept: list[float] = []

    async def no_sleep(seconds: float) -> None:
        slept.append(seconds)

    ticks = [IndexTick(0, PERP, "60000"), IndexTick(500, PERP, "60000.5")]
    assert await feed_in_process(h.seq, ticks, sleep=no_sleep) == 2
    await h.flush()
    prices = [e.price for e in h.events(IndexPriceSet) if isinstance(e, IndexPriceSet)]
    assert prices == [120_000, 120_001]
    assert slept == [0.5]
    # a price off the tick stops the feed; nothing of it is submitted
    with pytest.raises(ValueError):
        await feed_in_process(h.seq, [IndexTick(0, PERP, "1.25")], sleep=no_sleep)


def test_tool_dry_run_prints_the_walk() -> None:
    out = subprocess.run(
        [sys.executable, "tools/index_feed.py", "--dry-run", "--count", "3", *WALK],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    lines = [json.loads(line) for line in out.stdout.splitlines()]
    assert len(lines) == 3
    assert lines[0] == {"symbol": "BTC-PERP", "price": "60000"}


def test_tool_without_a_venue_says_so(tmp_path: Path) -> None:
    out = subprocess.run(
        [
            sys.executable,
            "tools/index_feed.py",
            "--admin-socket",
            str(tmp_path / "none.sock"),
            *WALK,
        ],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert out.returncode == 2
    assert "no venue is listening" in out.stderr
