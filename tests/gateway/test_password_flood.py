"""A flood of wrong-password Logons does not hold up other sessions (RoE section 2).

A real `venue run` process with ten password sessions: 300 wrong-password Logons in 5 s from
many connections (`password_flood_driver.py`, a process of its own) while a healthy session
keeps doing TestRequest → Heartbeat round trips.
Checked: every round trip completes within `ROUND_TRIP_BOUND`, the venue lives, every attempt
is answered by a Logout or is still waiting out its back-off, and no attempt is accepted.
The healthy session's round-trip p50/p99 without and with the flood are printed as one JSON
line (run with `-s` to see them); tests do not assert speed. That scrypt never runs on the
loop thread and that excess attempts are refused before any check is asserted in
`test_logon_limits.py`, where the checks can be observed.
"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.test_bad_input import HealthMonitor, stop, venue_config
from tests.venue_process import REPO, VenueProcess, start_venue
from venue.gateway.auth import hash_password

SESSIONS = 10
ATTEMPTS = 300
FLOOD_SECONDS = 5.0
PASSWORD_SESSIONS = "".join(
    f"""
[[sessions]]
name = "PWD-{i}"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "PWD-{i}"
firm = "BRAVO"
accounts = ["BRAVO-1"]
[sessions.auth]
method = "password"
password_hash = "{hash_password("the real one")}"
lockout_failures = 0
"""
    for i in range(SESSIONS)
)


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VenueProcess, int]]:
    tmp: Path = tmp_path_factory.mktemp("password_flood")
    proc = start_venue(venue_config(tmp, sessions=PASSWORD_SESSIONS), cwd=tmp)
    try:
        ready = proc.wait_ready()
        yield proc, int(ready["fix_port"])
        assert proc.proc.poll() is None, "the venue died:\n" + proc.stderr
        assert proc.terminate() == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        stop(proc)


def percentiles(rtts_ns: list[int]) -> dict[str, float]:
    ms = sorted(r / 1e6 for r in rtts_ns)
    return {
        "p50_ms": round(statistics.median(ms), 2),
        "p99_ms": round(ms[min(len(ms) - 1, int(len(ms) * 0.99))], 2),
        "n": len(ms),
    }


async def test_a_password_flood_does_not_hold_up_a_healthy_session(
    venue: tuple[VenueProcess, int],
) -> None:
    proc, port = venue
    quiet = await HealthMonitor.start(port, "BRAVO-MM")
    await asyncio.sleep(3)  # a sample of quiet round trips (measurement, not synchronisation)
    quiet_rtts = await quiet.stop()

    monitor = await HealthMonitor.start(port, "BRAVO-MM")
    try:
        driver = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.gateway.password_flood_driver",
            "--port",
            str(port),
            "--sessions",
            str(SESSIONS),
            "--attempts",
            str(ATTEMPTS),
            "--seconds",
            str(FLOOD_SECONDS),
            cwd=REPO,
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(driver.communicate(), 60)
    finally:
        flood_rtts = await monitor.stop()
    assert driver.returncode == 0
    assert proc.proc.poll() is None, "the venue died:\n" + proc.stderr
    answers: dict[str, int] = json.loads(out)
    report = {
        "quiet": percentiles(quiet_rtts),
        "flood": percentiles(flood_rtts),
        "attempts": answers,
    }
    print("password_flood " + json.dumps(report))
    assert "ACCEPTED" not in answers
    expected = {
        "password invalid",
        "too many Logons being checked: try again later",
        "waiting",
    }
    assert set(answers) <= expected and sum(answers.values()) == ATTEMPTS, answers
