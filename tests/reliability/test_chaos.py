"""Crash recovery end to end (issue 11): a few seeds of the chaos harness in `make test`.

Each seed SIGKILLs a subprocess venue three times under a live flow of two trading sessions and
two drop-copy sessions, then checks everything `tests/reliability/chaos.py` lists. A failure
names its seed; replay it with `python tools/chaos.py --start SEED --seeds 1`.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.reliability.chaos import check, run_seed

SEEDS = [1, 4, 9]


@pytest.mark.slow
@pytest.mark.parametrize("seed", SEEDS)
async def test_crash_recovery_keeps_every_promise(seed: int, tmp_path: Path) -> None:
    out = await run_seed(seed, tmp_path / f"seed-{seed}")
    assert out.ok, f"chaos seed {seed} failed: {out.as_json()}"
    assert out.fills > 0 and out.copies > 0  # the flow traded, and the brokers watched it


@pytest.mark.slow
async def test_the_checks_catch_a_lost_copy_and_a_forged_report(tmp_path: Path) -> None:
    """The harness is not vacuous: a missing drop copy and a report the venue never sent (not
    in the outbound store, ExecID not journaled) are both failures."""
    out = await run_seed(1, tmp_path / "seed", kills=1)
    assert out.ok, out.as_json()
    by_name = {c.name: c for c in out.clients}
    dc = by_name["ALPHA-DC"]
    (first,) = [m for m in dc.accepted if m.msg_type == b"8"][:1]
    dc.accepted.remove(first)
    failures = await check(tmp_path / "seed" / "venue.db", out.clients, out)
    assert any("ALPHA-DC" in f and "missing" in f for f in failures), failures
    dc.accepted.insert(0, first)
    trader = by_name["ALPHA-MM"]
    forged = type(first)(
        first.raw, [(34, b"999999"), (17, b"424242"), *first.fields[1:]], first.msg_type
    )
    trader.seen.append(forged)
    failures = await check(tmp_path / "seed" / "venue.db", out.clients, out)
    assert any("not in the outbound store" in f for f in failures), failures
