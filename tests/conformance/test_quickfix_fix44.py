"""The 59 QuickFIX FIX 4.4 acceptor scripts, replayed against one running venue.

See /work/shared/conformance/README.md for the grammar, the comparison rules and the settings
(session ISLD/TW44, reset on every Logon, no credentials, loopback). One venue serves every
script, one script after another, each on new connections.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.conformance.harness import run_script
from tests.conformance.venue_thread import VenueThread
from venue.config import GatewayConfig, HeartbeatConfig, ResetConfig, SessionConfig

REPO_ROOT = Path(__file__).resolve().parents[2]
SCRIPTS_DIR = REPO_ROOT.parent / "shared" / "conformance" / "quickfix-fix44"
SCRIPTS = sorted(SCRIPTS_DIR.glob("*.def")) if SCRIPTS_DIR.is_dir() else []
SLOW = {"4a_NoDataSentDuringHeartBtInt", "6_SendTestRequest"}

# Scripts judged not applicable, with the reason (none so far).
NOT_APPLICABLE: dict[str, str] = {}


def _param(path: Path) -> object:
    marks = [pytest.mark.slow] if path.stem in SLOW else []
    return pytest.param(path, id=path.stem, marks=marks)


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[VenueThread]:
    session = SessionConfig(
        name="ISLD-TW44",
        role="trading",
        venue_comp_id="ISLD",
        client_comp_id="TW44",
        firm="TW",
        heartbeat=HeartbeatConfig(min_seconds=1, max_seconds=300),
        reset=ResetConfig(on_logon=True),
    )
    gateway = GatewayConfig(host="127.0.0.1", port=0, sending_time_tolerance_seconds=120)
    db = tmp_path_factory.mktemp("conformance") / "venue.db"
    thread = VenueThread(db, gateway, [session]).start()
    yield thread
    thread.stop()


@pytest.mark.skipif(not SCRIPTS, reason=f"conformance scripts not found in {SCRIPTS_DIR}")
@pytest.mark.parametrize("script", [_param(p) for p in SCRIPTS] or [None])
def test_script(script: Path, venue: VenueThread) -> None:
    if script.stem in NOT_APPLICABLE:
        pytest.skip(NOT_APPLICABLE[script.stem])
    run_script(script.read_bytes(), venue.port)
