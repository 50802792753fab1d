"""Issue 19 item 12: logs for people. The mark price's periodic command is logged at debug
(with a periodic summary), a clean stop ends with the journal closed at its seq, and every
session's FIX messages go to their own rotated file under the journal's directory."""

from __future__ import annotations

import json
import logging
import stat
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import structlog

from tests.venue_process import REPO, VenueProcess, write_config
from venue.gateway.fixlog import FixMessageLog
from venue.risk import monitor

pytestmark = pytest.mark.slow


def _start(config: Path, cwd: Path, *extra: str) -> VenueProcess:
    proc = subprocess.Popen(
        [sys.executable, "-m", "venue", "run", "--config", str(config), *extra],
        cwd=cwd,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    return VenueProcess(proc)


def _events(venue: VenueProcess) -> list[dict[str, object]]:
    return [json.loads(line) for line in venue.lines if line.startswith("{")]


@pytest.fixture
def debug_logs() -> Iterator[None]:
    """Let debug lines through whatever level an earlier test configured."""
    saved = structlog.get_config()
    structlog.configure(wrapper_class=structlog.make_filtering_bound_logger(logging.DEBUG))
    try:
        yield
    finally:
        structlog.configure(**saved)


def test_fix_message_log_and_clean_stop_line(tmp_path: Path) -> None:
    venue = _start(write_config(tmp_path), tmp_path)
    try:
        port = venue.wait_ready()["fix_port"]
        client = subprocess.run(
            [
                *(sys.executable, str(REPO / "tools" / "fixclient.py"), "--port", str(port)),
                *("--sender", "ALPHA-MM", "--heartbeat", "1"),
                *("-c", "sell BTC-PERP 0.001 @ 61000 id=L1", "-c", "wait 2.5"),
            ],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            stdin=subprocess.DEVNULL,
        )
        assert client.returncode == 0 and "ER NEW" in client.stdout, client.stdout
    finally:
        assert venue.terminate() == 0
    last = _events(venue)[-1]
    assert last["event"] == "journal_closed", last
    assert isinstance(last["seq"], int) and last["seq"] > 0
    logdir = tmp_path / "fixlog"
    assert stat.S_IMODE(logdir.stat().st_mode) == 0o700
    log = logdir / "ALPHA-MM.log"
    assert stat.S_IMODE(log.stat().st_mode) == 0o600
    lines = log.read_text().splitlines()
    kinds = [(line.split()[1], line.split("|35=")[1].split("|")[0]) for line in lines]
    assert ("in", "A") in kinds and ("out", "A") in kinds
    assert ("in", "D") in kinds and ("out", "8") in kinds and ("in", "5") in kinds
    assert all(k != "0" for _, k in kinds), "heartbeats are filtered by default"
    assert all(line.split()[2].startswith("8=FIX.4.4|9=") for line in lines)
    assert all("\x01" not in line and line.endswith("|") for line in lines)


def test_fix_message_log_rotates(tmp_path: Path) -> None:
    import asyncio

    async def run() -> None:
        log = FixMessageLog(tmp_path, max_bytes=4096, backups=2)
        msg = b"8=FIX.4.4\x019=5\x0135=D\x01" + b"58=" + b"x" * 300 + b"\x0110=000\x01"
        for _ in range(40):
            log.add("S1", "in", msg)
            log.flush()
        log.add("S1", "in", b"8=FIX.4.4\x019=5\x0135=0\x0110=000\x01")  # a heartbeat
        log.close()

    asyncio.run(run())
    assert "|35=0|" not in (tmp_path / "S1.log").read_text()  # heartbeats left out
    names = sorted(p.name for p in tmp_path.iterdir())
    assert names == ["S1.log", "S1.log.1", "S1.log.2"]
    for p in tmp_path.iterdir():
        assert stat.S_IMODE(p.stat().st_mode) == 0o600 and p.stat().st_size <= 4096 + 400


async def test_periodic_mark_price_is_debug(debug_logs: None) -> None:
    """run_monitor logs the mark's periodic SetMarkPrice at debug, anything else at info, and
    a summary line once a minute (the issue: 53 of 93 lines of a short run were marks)."""
    from types import SimpleNamespace

    from venue.clock import ManualClock
    from venue.core.commands import ApplyFunding, SetMarkPrice

    clock = ManualClock()
    rounds = [
        [SetMarkPrice(symbol="BTC-PERP", price=1), ApplyFunding(symbol="BTC-PERP", rate_ppb=5)],
        [SetMarkPrice(symbol="BTC-PERP", price=2)],
    ]

    class Sequencer:
        async def wait_ready(self) -> None:
            if not rounds:
                raise RuntimeError("stop here")
            clock.advance(monitor.SUMMARY_EVERY_NS // 2)

        def submit(self, cmd: object) -> tuple[int, list[object]]:
            return 7, []

    mon = SimpleNamespace(config=SimpleNamespace(tick_ms=0), due=lambda _now: rounds.pop(0))
    with structlog.testing.capture_logs() as logs:
        await monitor.run_monitor(mon, Sequencer(), clock)  # type: ignore[arg-type]
    levels = [(e["event"], e.get("command"), e["log_level"]) for e in logs]
    assert levels == [
        ("risk_command", "SetMarkPrice", "debug"),
        ("risk_command", "ApplyFunding", "info"),
        ("risk_command", "SetMarkPrice", "debug"),
        ("risk_summary", None, "info"),
        ("risk_monitor_stopped", None, "error"),
    ]
    assert logs[3]["commands"] == {"ApplyFunding": 1, "SetMarkPrice": 2}


def test_risk_summary_line(debug_logs: None) -> None:
    s = monitor._Summary(0)
    with structlog.testing.capture_logs() as logs:
        s.count("SetMarkPrice")
        s.count("SetMarkPrice")
        s.count("ApplyFunding")
        s.maybe_log(monitor.SUMMARY_EVERY_NS - 1)
        assert logs == []
        s.maybe_log(monitor.SUMMARY_EVERY_NS)
        s.maybe_log(2 * monitor.SUMMARY_EVERY_NS)  # nothing counted since: no line
    assert logs == [
        {
            "event": "risk_summary",
            "log_level": "info",
            "seconds": 60,
            "commands": {"ApplyFunding": 1, "SetMarkPrice": 2},
            "component": "venue.risk.monitor",
        }
    ]


async def test_a_huge_message_is_logged_clipped(tmp_path: Path) -> None:
    """A flood of 30 KB messages must not make the FIX log hold or write them whole (it once
    grew the venue by 315 MiB under tests/gateway/test_bad_input_session.py's flood)."""
    from venue.gateway.fixlog import MAX_LOGGED, FixMessageLog

    log = FixMessageLog(tmp_path, max_bytes=1 << 20, backups=1)
    small = b"8=FIX.4.4\x019=5\x0135=1\x01112=A\x0110=000\x01"
    big = b"8=FIX.4.4\x019=30000\x0135=1\x01112=" + b"z" * 30_000 + b"\x0110=000\x01"
    log.add("S", "in", small + big + small)
    log.flush()
    log.close()
    lines = (tmp_path / "S.log").read_bytes().splitlines()
    assert len(lines) == 3
    assert len(lines[1]) < MAX_LOGGED + 200 and b"(%d bytes)" % len(big) in lines[1]
    assert lines[0].endswith(b"112=A|10=000|") and lines[2].endswith(b"112=A|10=000|")
