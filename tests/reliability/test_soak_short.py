"""A short soak (issue 11): 200 sessions log on, trade, drop the connection and come back; the
venue stays up, answers the probe, every cycle completes without a sequence fault, and the file
descriptors the sessions used are closed again. The long run is `tools/soak.py`; memory and
loop-lag figures are printed there (tests assert no speed and no size)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.soak import run_soak


@pytest.mark.slow
async def test_two_hundred_sessions_come_and_go(tmp_path: Path) -> None:
    result = await run_soak(tmp_path, sessions=200, cycles=2, orders=10, interval=2.0)
    summary = result.summary()
    assert result.alive, summary
    assert result.problems == [], summary
    assert result.cycles_done == result.cycles_planned == 400
    assert result.samples[-1].probe_rtt_ms is not None  # the probe session still gets answers
    assert result.samples[-1].fds <= result.samples[0].fds + 2, summary  # sockets all closed
    assert result.samples[-1].reports > 0
