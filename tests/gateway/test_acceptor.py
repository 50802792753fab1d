"""The acceptor over real sockets on 127.0.0.1: logon, heartbeats, resend after reconnect,
duplicate logon, logon timeout, persistence of sequence numbers across a restart."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable
from pathlib import Path

from tests.gateway.conftest import FixClient, VenueFactory, session_config, wait_until
from venue.config import ResetConfig
from venue.fix.codec import format_utc_timestamp


async def test_logon_and_order_rejected_before_order_entry_opens(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    reply = await c.logon(hb=30)
    assert (reply.get(34), reply.get(49), reply.get(56), reply.get(108)) == (
        b"1",
        b"VENUE",
        b"MM1",
        b"30",
    )
    status = venue.status()
    assert status["state"] == "active"
    assert set(status) >= {
        "name",
        "state",
        "peer",
        "next_in",
        "next_out",
        "last_in_ns",
        "last_out_ns",
        "messages_in",
        "messages_out",
        "throttle_hits",
        "slow_consumer_cuts",
    }
    assert str(status["peer"]).startswith("127.0.0.1:")
    await c.order(b"ORD-1")
    er = await c.receive(b"8")
    assert (er.get(150), er.get(39), er.get(11), er.get(37)) == (b"8", b"8", b"ORD-1", b"NONE")
    assert (er.get(55), er.get(54), er.get(38), er.get(40)) == (b"BTC-PERP", b"1", b"1", b"2")
    assert (er.get(14), er.get(151), er.get(6)) == (b"0", b"0", b"0")
    assert er.get(58) == b"order entry opens with the order-entry release"
    now = format_utc_timestamp(time.time_ns())
    cancel = [(41, b"ORD-1"), (11, b"C-1"), (54, b"1"), (55, b"BTC-PERP"), (60, now)]
    await c.send(b"F", cancel)
    bmr = await c.receive(b"j")
    assert (bmr.get(380), bmr.get(372), bmr.get(45)) == (b"3", b"F", b"3")
    await c.send(b"5")
    await c.receive(b"5")
    assert await c.closed() == b""


async def test_heartbeat_on_idle_and_test_request(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon(hb=1)
    hb = await c.read(timeout=3)
    assert (hb.msg_type, hb.get(34)) == (b"0", b"2")
    await c.send(b"1", [(112, b"PING")])
    while (m := await c.read(timeout=3)).get(112) != b"PING":
        assert m.msg_type == b"0"


async def test_resend_after_reconnect(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon()  # venue seq 1
    await c.order(b"A")  # ER seq 2
    await c.order(b"B")  # ER seq 3
    await c.receive(b"8")
    await c.receive(b"8")
    await c.send(b"5")  # venue Logout seq 4
    await c.receive(b"5")
    await c.closed()
    c2 = clients(venue.port)
    c2.next_out = c.next_out
    await c2.connect()
    again = await c2.logon()
    assert again.get(34) == b"5"
    await c2.send(b"2", [(7, b"1"), (16, b"0")])
    got = [await c2.read() for _ in range(4)]
    summary = [(m.msg_type, m.get(34), m.get(36), m.get(43)) for m in got]
    assert summary == [
        (b"4", b"1", b"2", b"Y"),
        (b"8", b"2", None, b"Y"),
        (b"8", b"3", None, b"Y"),
        (b"4", b"4", b"6", b"Y"),
    ]
    assert got[1].get(11) == b"A"
    assert got[1].get(122) is not None
    assert got[2].get(11) == b"B"


async def test_duplicate_logon_is_refused_without_disturbing_the_first(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    first = await clients(venue.port).connect()
    await first.logon()
    second = await clients(venue.port).connect()
    await second.send(b"A", [(98, b"0"), (108, b"30")])
    assert await second.closed() == b""
    await first.send(b"1", [(112, b"STILL-THERE")])
    hb = await first.receive(b"0")
    assert (hb.get(112), hb.get(34)) == (b"STILL-THERE", b"2")
    assert venue.status()["state"] == "active"


async def test_unknown_comp_ids_are_closed_without_a_word(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port, sender=b"NOBODY").connect()
    await c.send(b"A", [(98, b"0"), (108, b"30")])
    assert await c.closed() == b""


async def test_disabled_session_gets_logout_with_reason(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue([session_config(enabled=False)])
    c = await clients(venue.port).connect()
    await c.send(b"A", [(98, b"0"), (108, b"30")])
    logout = await c.read()
    assert (logout.msg_type, logout.get(58)) == (b"5", b"session disabled")
    assert await c.closed() == b""
    assert venue.status()["next_out"] == 1  # a refusal takes no sequence number


async def test_logon_timeout(start_venue: VenueFactory, clients: Callable[..., FixClient]) -> None:
    venue = await start_venue(logon_timeout_seconds=1)
    c = await clients(venue.port).connect()
    assert await c.closed(timeout=5) == b""


async def test_first_message_not_logon_disconnects(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.send(b"0")
    assert await c.closed() == b""


async def test_sequence_numbers_survive_a_restart(
    start_venue: VenueFactory, clients: Callable[..., FixClient], tmp_path: Path
) -> None:
    db = tmp_path / "restart.db"
    venue = await start_venue(db=db)
    c = await clients(venue.port).connect()
    await c.logon()
    await c.order(b"A")
    await c.receive(b"8")
    # Written only after commit, and committed with the numbers it took.
    assert (await venue.journal.load_session_seqs("MM1") or ())[:2] == (3, 3)
    await c.send(b"5")
    await c.receive(b"5")
    await c.closed()
    before = venue.status()
    assert (before["next_in"], before["next_out"]) == (4, 4)
    await venue.stop()

    venue2 = await start_venue(db=db)
    after = venue2.status()
    assert (after["next_in"], after["next_out"]) == (4, 4)
    c2 = clients(venue2.port)
    c2.next_out = 4
    await c2.connect()
    reply = await c2.logon()
    assert reply.get(34) == b"4"
    # The stored ExecutionReport survives the restart too.
    await c2.send(b"2", [(7, b"2"), (16, b"2")])
    er = await c2.read()
    assert (er.msg_type, er.get(34), er.get(43), er.get(11)) == (b"8", b"2", b"Y", b"A")


async def test_reset_on_logon_starts_both_sides_at_one(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue([session_config(reset=ResetConfig(on_logon=True))])
    c = await clients(venue.port).connect()
    await c.logon()
    await c.send(b"5")
    await c.receive(b"5")
    await c.closed()
    c2 = clients(venue.port)
    await c2.connect()
    reply = await c2.logon()
    assert reply.get(34) == b"1"
    await wait_until(lambda: venue.status()["next_in"] == 2)


async def test_address_not_allowed_gets_logout_with_reason(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue([session_config(allowed_addresses=["10.0.0.0/8"])])
    c = await clients(venue.port).connect()
    await c.send(b"A", [(98, b"0"), (108, b"30")])
    logout = await c.read()
    assert (logout.msg_type, logout.get(58)) == (b"5", b"address not allowed")
    assert await c.closed() == b""


async def test_a_daily_reset_that_passed_while_the_venue_was_down_applies_at_logon(
    start_venue: VenueFactory, clients: Callable[..., FixClient], tmp_path: Path
) -> None:
    db = tmp_path / "daily.db"
    # A reset time twelve hours away: none passes while the test runs.
    daily = time.strftime("%H:%M", time.gmtime(time.time() + 12 * 3600))
    sessions = [session_config(reset=ResetConfig(daily_at=daily))]
    venue = await start_venue(sessions, db=db)
    c = await clients(venue.port).connect()
    t_logon = time.time_ns()
    await c.logon()
    await c.send(b"5")
    await c.receive(b"5")
    await c.closed()
    saved = await venue.journal.load_session_seqs("MM1")
    assert saved is not None and saved[:2] == (3, 3)
    assert t_logon <= saved[2] <= time.time_ns()  # the Logon's time is saved with the numbers
    await venue.stop()

    # The venue stays down for a day: its reset time passes meanwhile.
    con = sqlite3.connect(db)
    with con:
        con.execute("UPDATE fix_session SET last_logon = last_logon - 86400000000000")
    con.close()
    venue2 = await start_venue(sessions, db=db)
    assert (venue2.status()["next_in"], venue2.status()["next_out"]) == (3, 3)
    c2 = await clients(venue2.port).connect()  # a client that reset on schedule: seq 1
    reply = await c2.logon()
    assert reply.msg_type == b"A" and reply.get(34) == b"1"
    await wait_until(lambda: venue2.status()["next_in"] == 2)
