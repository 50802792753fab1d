"""venue-admin journal verify, audit, snapshot now and top against an in-process venue."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.admin.conftest import AdminVenue
from venue.admin.cli import EXIT_DIVERGED, EXIT_OK, EXIT_UNAVAILABLE, EXIT_USAGE
from venue.journal import JournalWriteFailed


async def test_journal_verify(admin_venue: AdminVenue, tmp_path: Path) -> None:
    assert (await admin_venue.cli("-y", "instrument", "halt", "ETH-PERP")).code == EXIT_OK
    r = await admin_venue.cli("--json", "journal", "verify")
    assert r.code == EXIT_OK, r.stderr
    result = r.json()
    assert result["ok"] is True and result["last_seq"] >= 5
    assert result["db"] == str(tmp_path / "venue.db")
    r = await admin_venue.cli("journal", "verify")
    assert r.code == EXIT_OK and "OK" in r.stdout
    r = await admin_venue.cli("--json", "journal", "verify", "--db", str(tmp_path / "none.db"))
    assert r.code == EXIT_DIVERGED
    assert r.json()["ok"] is False


async def test_audit_lists_admin_actions_with_filters(admin_venue: AdminVenue) -> None:
    cli = admin_venue.cli
    assert (await cli("--operator", "alice", "-y", "instrument", "halt", "BTC-PERP")).code == 0
    assert (await cli("--operator", "bob", "instrument", "resume", "BTC-PERP")).code == 0
    assert (await cli("--operator", "bob", "-y", "session", "disable", "BRAVO-MM")).code == 0
    r = await cli("--json", "audit")
    assert r.code == EXIT_OK, r.stderr
    rows = r.json()
    assert [(a["operator"], a["action"]) for a in rows] == [
        ("root/alice", "instrument.halt"),
        ("root/bob", "instrument.resume"),
        ("root/bob", "session.disable"),
    ]
    detail = json.loads(rows[2]["detail"])
    assert detail == {"result": True, "session": "BRAVO-MM"}  # result: it was enabled before
    assert [a["action"] for a in (await cli("--json", "audit", "--by", "root/bob")).json()] == [
        "instrument.resume",
        "session.disable",
    ]
    assert len((await cli("--json", "audit", "--by", "root")).json()) == 3
    assert len((await cli("--json", "audit", "--action", "instrument.")).json()) == 2
    assert (await cli("--json", "audit", "--since", "2100-01-01T00:00:00Z")).json() == []
    assert len((await cli("--json", "audit", "--until", "2100-01-01")).json()) == 3
    r = await cli("audit", "--since", "yesterday")
    assert r.code == EXIT_USAGE
    r = await cli("audit")
    assert r.code == EXIT_OK and "session.disable" in r.stdout


async def test_snapshot_now(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli("--json", "snapshot", "now")
    assert r.code == EXIT_OK, r.stderr
    snapshot_seq = r.json()["snapshot_seq"]
    journal = admin_venue.venue.journal
    assert journal is not None
    latest = await journal.latest_snapshot()
    assert latest is not None and latest.seq == snapshot_seq


async def test_top_bounded(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli("--json", "top", "--iterations", "3", "--interval", "0.01")
    assert r.code == EXIT_OK, r.stderr
    frames = [json.loads(line) for line in r.stdout.splitlines()]
    assert len(frames) == 3
    assert frames[0]["journal"]["commands_per_s"] is None
    assert frames[2]["journal"]["commands_per_s"] is not None
    first = {s["name"]: s for s in frames[0]["sessions"]}
    assert first["ALPHA-MM"]["in_per_s"] is None
    last = {s["name"]: s for s in frames[2]["sessions"]}
    assert last["ALPHA-MM"]["in_per_s"] == 0.0
    options = {f"BTC-26MAR27-{k}-{r}" for k in (55000, 60000, 65000) for r in "CP"}
    assert {i["symbol"] for i in frames[2]["instruments"]} == {
        "BTC-PERP",
        "ETH-PERP",
        "BTC-27MAR27",
        *options,  # the embedded option chain
    }
    r = await admin_venue.cli("top", "--iterations", "1")
    assert r.code == EXIT_OK and "books" in r.stdout and "sessions" in r.stdout


async def test_status_table(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli("status")
    assert r.code == EXIT_OK, r.stderr
    assert "uptime" in r.stdout and "BTC-PERP" in r.stdout and "insurance fund" in r.stdout
    r = await admin_venue.cli("--json", "status")
    s = r.json()
    assert s["sessions"] == {"configured": 3, "logged_on": []}
    assert s["journal"]["committed_seq"] == s["journal"]["last_seq"]
    assert s["uptime_ns"] > 0 and s["insurance_fund"] == {"units": 0, "usd": "0"}


async def test_failed_journal_status_still_answers_actions_unavailable(
    admin_venue: AdminVenue, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = admin_venue.venue.journal
    assert journal is not None

    async def failing_commit(batch: object) -> None:
        raise JournalWriteFailed("disk on fire (test)")

    monkeypatch.setattr(journal, "commit", failing_commit)
    r = await admin_venue.cli("account", "deposit", "ALPHA-1", "1")
    assert r.code == EXIT_UNAVAILABLE
    r = await admin_venue.cli("--json", "status")
    assert r.code == EXIT_OK, r.stderr
    assert "disk on fire" in r.json()["journal"]["failed"]
    r = await admin_venue.cli("-y", "instrument", "halt", "BTC-PERP")
    assert r.code == EXIT_UNAVAILABLE and "journal failed" in r.stderr
