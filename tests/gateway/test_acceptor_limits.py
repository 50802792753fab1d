"""The acceptor's limits over real sockets: inbound throttle (reject, then Logout on sustained
abuse) and the slow-consumer cut-off."""

from __future__ import annotations

import asyncio
import contextlib
import socket
from collections.abc import Callable

from tests.gateway.conftest import FixClient, VenueFactory, session_config, wait_until
from venue.config import ThrottleConfig
from venue.core import ExpireOrders
from venue.journal import JournalWriteFailed


async def test_throttle_rejects_then_logs_out_sustained_abuse(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    throttle = ThrottleConfig(messages_per_second=5, burst=1, abuse_seconds=1)
    venue = await start_venue([session_config(throttle=throttle)])
    c = await clients(venue.port).connect()
    await c.logon()
    await c.order(b"A")
    await c.order(b"B")
    er = await c.receive(b"8")
    assert er.get(11) == b"A"
    bmr = await c.receive(b"j")
    assert bmr.get(372) == b"D"
    assert b"throttle" in (bmr.get(58) or b"")

    stop = asyncio.Event()

    async def flood() -> None:
        n = 0
        while not stop.is_set():
            n += 1
            with contextlib.suppress(ConnectionError):
                await c.order(b"F%d" % n)
            await asyncio.sleep(0.02)  # pace the flood: ~50 messages a second for a 1/s limit

    task = asyncio.create_task(flood())
    try:
        while (m := await c.read(timeout=5)).msg_type != b"5":
            assert m.msg_type in (b"8", b"j", b"0")
        assert b"throttle" in (m.get(58) or b"")
        # Still flooding, no Logout reply: cut off after the Logout timeout all the same.
        await c.closed(timeout=10)
        await wait_until(lambda: venue.status()["state"] == "disconnected")
    finally:
        stop.set()
        await task
    hits = venue.status()["throttle_hits"]
    assert isinstance(hits, int)
    assert hits >= 2


async def test_slow_consumer_is_cut_off(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue(outbound_buffer_limit=64 * 1024, slow_consumer_seconds=1)
    c = clients(venue.port)
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.setblocking(False)
    await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", venue.port))
    c.reader, c.writer = await asyncio.open_connection(sock=sock)
    await c.logon()
    big = b"X" * 16_000
    with contextlib.suppress(ConnectionError):
        for _ in range(1000):  # ~16 MB of Heartbeats owed to a client that never reads
            await c.send(b"1", [(112, big)])
            if venue.status()["slow_consumer_cuts"]:
                break
    await wait_until(lambda: venue.status()["slow_consumer_cuts"] == 1, timeout=10)
    await wait_until(lambda: venue.status()["state"] == "disconnected")


async def test_sequencer_back_pressure_pauses_reading(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue(sequencer_kw={"high_water": 1, "low_water": 0})
    c = await clients(venue.port).connect()
    await c.logon()
    for _ in range(3):
        venue.sequencer.submit(ExpireOrders())
    assert venue.gateway.reading_paused  # crossing high water paused every connection
    await c.send(b"1", [(112, b"DURING")])  # waits in the socket while reading is paused
    hb = await c.receive(b"0")  # answered once the backlog committed and reading resumed
    assert hb.get(112) == b"DURING"
    assert not venue.gateway.reading_paused


async def test_journal_failure_cuts_every_connection_before_any_reply(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon()

    async def failing_commit(batch: object) -> None:
        raise JournalWriteFailed("disk on fire (test)")

    venue.journal.commit = failing_commit
    await c.send(b"1", [(112, b"NEVER-ANSWERED")])
    assert await c.closed() == b""  # the Heartbeat was never committed, so never sent
    await wait_until(lambda: venue.status()["state"] == "disconnected")
