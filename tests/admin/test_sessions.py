"""venue-admin session commands against an in-process venue: results, --json, exit codes,
refusals (destructive action without --yes, set-seq on a logged-on session)."""

from __future__ import annotations

import asyncio
import os
import pty
import sys

import pytest

from tests.admin.conftest import AdminVenue
from tests.gateway.conftest import wait_until
from tests.orderentry.conftest import Trader
from tests.venue_process import REPO
from venue.admin.cli import (
    EXIT_NOT_CONFIRMED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
)
from venue.config import AuthConfig


def _slot(av: AdminVenue, name: str):  # type: ignore[no-untyped-def]
    assert av.venue.gateway is not None
    return av.venue.gateway.slots[name]


async def _logged_on(av: AdminVenue, name: str = "ALPHA-MM") -> Trader:
    t = Trader(av.venue.fix_port, name)
    await t.connect()
    await t.logon()
    return t


async def test_sessions_table_and_json(admin_venue: AdminVenue) -> None:
    t = await _logged_on(admin_venue)
    try:
        r = await admin_venue.cli("--json", "sessions")
        assert r.code == EXIT_OK, r.stderr
        rows = {s["name"]: s for s in r.json()}
        assert set(rows) == {"ALPHA-MM", "BRAVO-MM", "ALPHA-DC"}
        alpha = rows["ALPHA-MM"]
        assert alpha["state"] == "active"
        assert alpha["peer"].startswith("127.0.0.1:")
        assert alpha["next_in"] == 2 and alpha["next_out"] == 2
        assert alpha["messages_in"] >= 1 and alpha["last_in_ns"] > 0
        assert "throttle_hits" in alpha
        assert rows["BRAVO-MM"]["peer"] is None
        r = await admin_venue.cli("sessions")
        assert r.code == EXIT_OK
        assert "ALPHA-MM" in r.stdout and "active" in r.stdout
    finally:
        await t.close()


async def test_session_show(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli("--json", "session", "show", "BRAVO-MM")
    assert r.code == EXIT_OK, r.stderr
    d = r.json()
    assert d["name"] == "BRAVO-MM" and d["firm"] == "BRAVO" and d["role"] == "trading"
    assert d["next_in"] == 1 and d["next_out"] == 1 and d["enabled"] is True
    assert d["accounts"] == ["BRAVO-1"] and d["auth_method"] == "none"
    r = await admin_venue.cli("session", "show", "BRAVO-MM")
    assert r.code == EXIT_OK and "BRAVO-MM" in r.stdout
    r = await admin_venue.cli("session", "show", "NOPE")
    assert r.code == EXIT_NOT_FOUND
    assert "unknown session" in r.stderr


async def test_logout_needs_yes_then_logs_out(admin_venue: AdminVenue) -> None:
    t = await _logged_on(admin_venue)
    try:
        r = await admin_venue.cli("session", "logout", "ALPHA-MM")
        assert r.code == EXIT_NOT_CONFIRMED
        assert "--yes" in r.stderr
        assert _slot(admin_venue, "ALPHA-MM").session.logged_on
        r = await admin_venue.cli(
            "--json", "--yes", "--operator", "alice", "session", "logout", "ALPHA-MM"
        )
        assert r.code == EXIT_OK, r.stderr
        assert r.json()["result"] is True
        logout = await t.receive(b"5")
        assert b"root/alice" in (logout.get(58) or b"")
    finally:
        await t.close()


async def test_disconnect(admin_venue: AdminVenue) -> None:
    t = await _logged_on(admin_venue)
    try:
        r = await admin_venue.cli("--json", "-y", "session", "disconnect", "ALPHA-MM")
        assert r.code == EXIT_OK, r.stderr
        assert r.json()["result"] is True
        await t.closed()
        await wait_until(lambda: _slot(admin_venue, "ALPHA-MM").connection is None)
        r = await admin_venue.cli("--json", "-y", "session", "disconnect", "ALPHA-MM")
        assert r.code == EXIT_OK and r.json()["result"] is False  # nothing to disconnect
    finally:
        await t.close()


async def test_disable_refuses_logon_enable_allows(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli("session", "disable", "BRAVO-MM")
    assert r.code == EXIT_NOT_CONFIRMED
    r = await admin_venue.cli("--yes", "session", "disable", "BRAVO-MM")
    assert r.code == EXIT_OK, r.stderr
    t = Trader(admin_venue.venue.fix_port, "BRAVO-MM")
    await t.connect()
    try:
        await t.send(b"A", [(98, b"0"), (108, b"30")])
        refusal = await t.receive(b"5")
        assert b"disabled" in (refusal.get(58) or b"")
    finally:
        await t.close()
    r = await admin_venue.cli("--json", "session", "enable", "BRAVO-MM")  # not destructive
    assert r.code == EXIT_OK, r.stderr
    assert r.json()["result"] is False  # the previous setting
    t = await _logged_on(admin_venue, "BRAVO-MM")
    await t.close()


async def test_set_seq_refused_while_logged_on_unless_forced(admin_venue: AdminVenue) -> None:
    t = await _logged_on(admin_venue)
    try:
        r = await admin_venue.cli(
            "-y", "session", "set-seq", "ALPHA-MM", "--next-in", "10", "--next-out", "20"
        )
        assert r.code == EXIT_REFUSED
        assert "log it out first" in r.stderr
        assert _slot(admin_venue, "ALPHA-MM").session.next_in == 2
        r = await admin_venue.cli("session", "set-seq", "ALPHA-MM", "--next-out", "20")
        assert r.code == EXIT_NOT_CONFIRMED
        r = await admin_venue.cli(
            "--json", "-y", "session", "set-seq", "ALPHA-MM", "--next-out", "20", "--force"
        )
        assert r.code == EXIT_OK, r.stderr
        assert r.json()["result"] == {"next_in": 2, "next_out": 20, "forced": True}
    finally:
        await t.close()


async def test_set_seq_and_reset_when_logged_out(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli(
        "--json", "-y", "session", "set-seq", "BRAVO-MM", "--next-in", "7", "--next-out", "9"
    )
    assert r.code == EXIT_OK, r.stderr
    session = _slot(admin_venue, "BRAVO-MM").session
    assert (session.next_in, session.next_out) == (7, 9)
    assert admin_venue.venue.journal is not None
    assert (await admin_venue.venue.journal.load_session_seqs("BRAVO-MM") or ())[:2] == (
        7,
        9,
    )  # durable
    r = await admin_venue.cli("-y", "session", "set-seq", "BRAVO-MM", "--next-in", "0")
    assert r.code == EXIT_USAGE
    r = await admin_venue.cli("-y", "session", "set-seq", "BRAVO-MM")
    assert r.code == EXIT_USAGE
    r = await admin_venue.cli("-y", "session", "reset", "BRAVO-MM")
    assert r.code == EXIT_OK, r.stderr
    assert (session.next_in, session.next_out) == (1, 1)
    r = await admin_venue.cli("-y", "session", "reset", "NOPE")
    assert r.code == EXIT_NOT_FOUND


async def test_reset_refused_while_logged_on(admin_venue: AdminVenue) -> None:
    t = await _logged_on(admin_venue)
    try:
        r = await admin_venue.cli("-y", "session", "reset", "ALPHA-MM")
        assert r.code == EXIT_REFUSED
    finally:
        await t.close()


def _read_until(fd: int, marker: bytes, timeout: float = 30.0) -> bytes:
    """Read the terminal's output until `marker` (select with a deadline, no sleeps)."""
    import select
    import time

    data = b""
    deadline = time.monotonic() + timeout
    while marker not in data:
        left = deadline - time.monotonic()
        assert left > 0, data
        ready, _, _ = select.select([fd], [], [], left)
        if ready:
            data += os.read(fd, 4096)
    return data


@pytest.mark.parametrize(("answer", "expected"), [(b"y\n", EXIT_OK), (b"n\n", EXIT_NOT_CONFIRMED)])
async def test_a_terminal_is_asked_to_confirm(
    admin_venue: AdminVenue, answer: bytes, expected: int
) -> None:
    master, slave = pty.openpty()
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "venue.admin.cli",
        "--socket",
        admin_venue.socket,
        "session",
        "disable",
        "BRAVO-MM",
        stdin=slave,
        stdout=asyncio.subprocess.PIPE,
        stderr=slave,
        cwd=str(REPO),
    )
    os.close(slave)
    try:
        loop = asyncio.get_running_loop()
        prompt = await loop.run_in_executor(None, _read_until, master, b"[y/N]")
        assert b"disable session BRAVO-MM?" in prompt
        os.write(master, answer)
        await asyncio.wait_for(proc.communicate(), 60)
    finally:
        os.close(master)
    assert proc.returncode == expected
    assert _slot(admin_venue, "BRAVO-MM").config.enabled is (expected != EXIT_OK)


async def test_sessions_show_a_lockout_and_unlock_lifts_it_audited(
    admin_venue: AdminVenue,
) -> None:
    gw = admin_venue.venue.gateway
    assert gw is not None
    auth = AuthConfig(lockout_failures=2, lockout_window_seconds=60, lockout_seconds=3600)
    now = gw.clock.now_ns()
    gw.logon_limits.record_failure("BRAVO-MM", "192.0.2.1", now, auth)
    assert gw.logon_limits.record_failure("BRAVO-MM", "192.0.2.1", now, auth)  # locked
    gw.logon_limits.start_cooldown("ALPHA-DC", now + 3600 * 10**9)
    r = await admin_venue.cli("sessions")
    assert r.code == EXIT_OK
    assert "locked until" in r.stdout and "cool-down until" in r.stdout
    rows = {s["name"]: s for s in (await admin_venue.cli("--json", "sessions")).json()}
    assert rows["BRAVO-MM"]["locked_until_ns"] == now + 3600 * 10**9
    assert rows["ALPHA-MM"]["locked_until_ns"] == rows["ALPHA-MM"]["cooldown_until_ns"] == 0
    r = await admin_venue.cli("--operator", "alice", "--json", "session", "unlock", "BRAVO-MM")
    assert r.code == EXIT_OK, r.stderr
    assert r.json()["result"] is True
    assert gw.logon_limits.refusal("BRAVO-MM", gw.clock.now_ns()) is None
    audit = (await admin_venue.cli("--json", "audit", "--action", "session.unlock")).json()
    assert [(a["operator"], a["action"]) for a in audit] == [("root/alice", "session.unlock")]
    assert (await admin_venue.cli("session", "unlock", "NOBODY")).code == EXIT_NOT_FOUND
