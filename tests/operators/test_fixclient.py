"""tools/fixclient.py as a newcomer uses it, against a live venue."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.venue_process import REPO, start_venue, write_config

pytestmark = pytest.mark.slow


def _fixclient(port: int, *argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "fixclient.py"), "--port", str(port), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_fixclient_answers_a_resend_request_with_a_gap_fill(tmp_path: Path) -> None:
    """Issue 19 item 9: after a ResendRequest the client's orders got no answer. A client that
    logs on ahead of the venue's expected number (5 where 1 is expected) is asked to resend 1..;
    it gap-fills (an order sent meanwhile is named as not resent), and its next order is
    answered."""
    venue = start_venue(write_config(tmp_path), cwd=tmp_path)
    try:
        port = venue.wait_ready()["fix_port"]
        r = _fixclient(
            port,
            "--sender",
            "ALPHA-MM",
            "--no-reset",
            "--next-seq",
            "5",
            "-c",
            "buy BTC-PERP 0.001 @ 59000 id=G1",
            "-c",
            "wait 1",
            "-c",
            "buy BTC-PERP 0.001 @ 59000 id=G2",
            "--linger",
            "2",
        )
    finally:
        assert venue.terminate() == 0
    assert r.returncode == 0, r.stderr
    # G1 (seq 6) went out before the ResendRequest arrived: it is gap-filled, not resent
    resend = "-- venue asked to resend 1..infinity: sent a gap fill to 7; not resent: D(G1)"
    assert resend in r.stdout, r.stdout
    ers = [line for line in r.stdout.splitlines() if line.startswith("ER ")]
    assert len(ers) == 1 and "NEW" in ers[0] and "G2" in ers[0], r.stdout
