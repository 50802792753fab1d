"""Password guessing is slowed and stopped (RoE section 2): back-off per session and per
(session, address) before any check, lock-out with audited lifting, bounded password checks.

The unit tests drive `LogonLimits` with explicit times; the others run a real gateway on
127.0.0.1 with a recorder around `verify_password` that notes when and on which thread every
scrypt check runs, and how many run at once.
"""

from __future__ import annotations

import asyncio
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest

from tests.gateway.conftest import FixClient, VenueFactory, session_config, wait_until
from venue.config import AuthConfig
from venue.core.events import AdminActionRecorded
from venue.gateway import auth as auth_module
from venue.gateway.auth import hash_password
from venue.gateway.logon_limits import LogonLimits

S = 1_000_000_000
STORED = hash_password("s3cret", n=2**12)
LOCKING = AuthConfig(
    method="password",
    password_hash=STORED,
    lockout_failures=3,
    lockout_window_seconds=60,
    lockout_seconds=1,
)


# --- LogonLimits, pure ---------------------------------------------------------------------


def limits() -> LogonLimits:
    return LogonLimits(base_delay_ns=S // 2, max_delay_ns=8 * S, decay_ns=60 * S)


def test_backoff_is_per_session_and_a_success_elsewhere_does_not_clear_it() -> None:
    lim = limits()
    lim.record_failure("A", "10.0.0.1", 0, LOCKING)
    lim.record_success("B", "10.0.0.1")  # another session, same address
    assert lim.delay_ns("A", "10.0.0.1", 0) == S // 2
    assert lim.delay_ns("B", "10.0.0.1", 0) == 0


def test_the_session_key_slows_guesses_from_every_address() -> None:
    lim = limits()
    for i in range(3):
        lim.record_failure("A", f"10.0.0.{i}", 0, AuthConfig())
    assert lim.delay_ns("A", "192.0.2.7", 0) == 2 * S  # 3 failures of A, from anywhere
    lim.record_success("A", "10.0.0.1")  # clears that address's key only
    assert lim.delay_ns("A", "10.0.0.1", 0) == 2 * S


def test_lockout_after_n_failures_in_the_window_then_unlock_or_expiry() -> None:
    lim = limits()
    assert not lim.record_failure("A", "ip", 0, LOCKING)
    assert not lim.record_failure("A", "ip", 61 * S, LOCKING)  # the first left the window
    assert not lim.record_failure("A", "ip", 62 * S, LOCKING)
    assert lim.refusal("A", 62 * S) is None
    assert lim.record_failure("A", "ip", 63 * S, LOCKING)  # 3 within 60 s: locked
    assert "locked" in (lim.refusal("A", 63 * S) or "")
    assert lim.locked_until_ns("A") == 64 * S
    assert lim.expired(64 * S - 1) == []
    assert lim.expired(64 * S) == ["A"]
    assert lim.refusal("A", 64 * S) is None
    for t in range(3):
        lim.record_failure("A", "ip", 100 * S + t, LOCKING)
    assert lim.unlock("A")
    assert lim.refusal("A", 100 * S) is None
    assert lim.delay_ns("A", "other", 100 * S) == 0  # the session's back-off is forgotten too
    assert not lim.unlock("A")
    never = AuthConfig(lockout_failures=0)
    assert not any(lim.record_failure("B", "ip", t, never) for t in range(100))


def test_cooldown_refuses_until_its_end() -> None:
    lim = limits()
    lim.start_cooldown("A", 10 * S)
    assert "cool-down" in (lim.refusal("A", 10 * S - 1) or "")
    assert lim.refusal("A", 10 * S) is None


# --- through a real gateway --------------------------------------------------------------


@dataclass
class Checks:
    """When, on which thread, and how many at once `verify_password` ran."""

    calls: list[tuple[float, int]] = field(default_factory=list)
    running: int = 0
    most: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


@pytest.fixture
def checks(monkeypatch: pytest.MonkeyPatch) -> Iterator[Checks]:
    seen = Checks()
    real = auth_module.verify_password

    def recorded(password: bytes, stored: str) -> bool:
        with seen.lock:
            seen.calls.append((time.monotonic(), threading.get_ident()))
            seen.running += 1
            seen.most = max(seen.most, seen.running)
        try:
            time.sleep(0.05)  # a check as slow as production's scrypt (N=2**14)
            return real(password, stored)
        finally:
            with seen.lock:
                seen.running -= 1

    monkeypatch.setattr(auth_module, "verify_password", recorded)
    yield seen


def logon_body(password: bytes) -> list[tuple[int, bytes]]:
    return [(98, b"0"), (108, b"30"), (554, password)]


async def attempt(port: int, sender: bytes, password: bytes) -> tuple[bytes, bytes, float]:
    """One Logon on a new connection: (MsgType, Text, seconds until the answer)."""
    client = FixClient(port, sender=sender)
    await client.connect()
    try:
        start = time.monotonic()
        await client.send(b"A", logon_body(password))
        reply = await client.read(timeout=10)
        return reply.msg_type, reply.get(58) or b"", time.monotonic() - start
    finally:
        await client.close()


def audits(venue: object) -> list[AdminActionRecorded]:
    found: list[AdminActionRecorded] = []

    def on_commit(_seq: int, _ts: int, _cmd: object, events: list[object]) -> None:
        found.extend(e for e in events if isinstance(e, AdminActionRecorded))

    venue.sequencer.subscribe(on_commit)  # type: ignore[attr-defined]
    return found


async def test_a_good_logon_of_another_session_does_not_clear_the_backoff(
    start_venue: VenueFactory, checks: Checks
) -> None:
    auth = AuthConfig(method="password", password_hash=STORED, lockout_failures=0)
    venue = await start_venue(
        [session_config(auth=auth), session_config(name="OPEN", client_comp_id="OPEN")]
    )
    for _ in range(2):
        msg_type, text, _ = await attempt(venue.port, b"MM1", b"wrong")
        assert (msg_type, text) == (b"5", b"password invalid")
        other = FixClient(venue.port, sender=b"OPEN")
        await other.connect()
        await other.logon(reset=True)  # a good Logon of another session, same address
        await other.close()
    # MM1 has two failures: its next attempt waits 1 s (0.5 s, doubled) before the check
    msg_type, _, waited = await attempt(venue.port, b"MM1", b"wrong")
    assert msg_type == b"5" and waited >= 0.9


async def test_while_a_backoff_runs_a_good_password_waits_before_its_check(
    start_venue: VenueFactory, checks: Checks
) -> None:
    venue = await start_venue([session_config(auth=LOCKING)])
    assert (await attempt(venue.port, b"MM1", b"wrong"))[:2] == (b"5", b"password invalid")
    sent = time.monotonic()
    msg_type, _, waited = await attempt(venue.port, b"MM1", b"s3cret")
    assert msg_type == b"A"
    assert waited >= 0.45  # the back-off of one failure: 0.5 s, and a success waits it too
    assert len(checks.calls) == 2
    assert checks.calls[1][0] - sent >= 0.45  # the check itself came after the wait
    loop_thread = threading.get_ident()
    assert all(thread != loop_thread for _, thread in checks.calls)  # scrypt never on the loop


async def test_parallel_guesses_run_at_most_k_checks_and_the_rest_are_refused_early(
    start_venue: VenueFactory, checks: Checks
) -> None:
    auth = AuthConfig(method="password", password_hash=STORED, lockout_failures=0)
    venue = await start_venue([session_config(auth=auth)], password_checks=1)
    answers = await asyncio.gather(*(attempt(venue.port, b"MM1", b"guess") for _ in range(20)))
    texts = [text for _, text, _ in answers]
    assert all(msg_type == b"5" for msg_type, _, _ in answers)
    assert checks.most == 1  # never more than `password_checks` at once
    busy = texts.count(b"too many Logons being checked: try again later")
    assert busy >= 1 and busy + texts.count(b"password invalid") == 20
    assert len(checks.calls) == 20 - busy  # a refused attempt cost no check
    assert venue.gateway.password_checks.refused == busy


async def test_lockout_refuses_even_the_right_password_then_lifts_after_its_time(
    start_venue: VenueFactory, checks: Checks
) -> None:
    venue = await start_venue([session_config(auth=LOCKING)])
    venue.gateway.logon_limits = LogonLimits(base_delay_ns=1_000_000, max_delay_ns=2_000_000)
    recorded = audits(venue)
    for _ in range(3):
        assert (await attempt(venue.port, b"MM1", b"wrong"))[:2] == (b"5", b"password invalid")
    calls = len(checks.calls)
    msg_type, text, _ = await attempt(venue.port, b"MM1", b"s3cret")
    assert msg_type == b"5" and b"locked" in text
    assert len(checks.calls) == calls  # refused before its password was looked at
    assert venue.status()["locked_until_ns"] != 0
    await wait_until(lambda: any(a.action == "session.unlock" for a in recorded))
    lock, unlock = recorded
    assert (lock.operator, lock.action) == ("venue", "session.lock")
    assert (unlock.operator, unlock.action) == ("venue", "session.unlock")
    assert '"session":"MM1"' in unlock.detail
    assert (await attempt(venue.port, b"MM1", b"s3cret"))[0] == b"A"


def test_refusals_before_the_credentials_count_for_that_address_only() -> None:
    """Nobody outside allowed_addresses (or guessing nothing) can slow or lock a session."""
    lim = limits()
    for _ in range(5):
        assert not lim.record_failure("A", "203.0.113.9", 0, LOCKING, credentials=False)
    assert lim.refusal("A", 0) is None
    assert lim.delay_ns("A", "10.0.0.1", 0) == 0
    assert lim.delay_ns("A", "203.0.113.9", 0) == 8 * S  # 5 failures: 0.5 s * 2**4
