"""Bad input from logged-on sessions of the real running venue (see test_bad_input.py).

Bad frames, a flood and a client that stops reading, each from its own logged-on session
while a healthy session keeps doing round trips: the process stays up, the healthy session
stays healthy, and the abuser at worst loses its own connection.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import time

from tests.gateway.test_bad_input import (
    CUT_OFF_BOUND,
    FixClient,
    rss_kib,
    under_abuse,
    venue,
    with_body_length,
    with_checksum,
)
from tests.venue_process import VenueProcess

__all__ = ["venue"]


async def logged_on(port: int, sender: str, **kw: int | None) -> FixClient:
    client = await FixClient.connect(port, sender, **kw)  # type: ignore[arg-type]
    await client.logon()
    return client


async def survives_or_is_cut_off(client: FixClient) -> str:
    """After bad input: "alive" (answers a TestRequest), "logged out" or "cut off" by the venue.

    A Logout from the venue is answered, like a well-behaved client would, and then the venue
    must close the connection within `CUT_OFF_BOUND`.
    """
    try:
        await client.round_trip()
    except (ConnectionError, TimeoutError):
        pass
    else:
        return "alive"
    if client.logout is not None and not client.closed.is_set():
        with contextlib.suppress(ConnectionError, OSError):
            client.send(b"5")
    await client.wait_closed_by_venue()
    return "cut off" if client.logout is None else "logged out"


LOGGED_ON_BAD_INPUT = [
    "bad checksum",
    "wrong body length",
    "non-ASCII values",
    "empty values",
    "garbage",
    "huge claimed length",
]


def bad_input(client: FixClient, kind: str) -> None:
    seq = client.next_seq  # garbled frames do not consume a sequence number
    if kind == "bad checksum":
        client.writer.write(with_checksum(client.frame(b"1", [(112, b"x")], seq=seq), b"999"))
    elif kind == "wrong body length":
        client.writer.write(with_body_length(client.frame(b"1", [(112, b"x")], seq=seq), -3))
    elif kind == "non-ASCII values":
        client.send(b"D", [(11, b"\xff\xfe\xc3\xa9"), (55, b"\x80BTC"), (54, b"1")])
    elif kind == "empty values":
        client.send(b"D", [(11, b""), (55, b""), (54, b""), (38, b""), (40, b"")])
    elif kind == "garbage":
        client.writer.write(os.urandom(3000).replace(b"8=", b"8:"))
    else:
        client.writer.write(b"8=FIX.4.4\x019=999999999\x0135=D\x01" + b"y" * 200_000)


async def test_bad_input_from_logged_on_sessions(venue: tuple[VenueProcess, int]) -> None:
    """Each kind from its own logged-on session, all at once: answered, or cut off alone."""
    outcome: dict[str, str] = {}

    async def one(port: int, kind: str, sender: str) -> None:
        client = await logged_on(port, sender)
        try:
            bad_input(client, kind)
            outcome[kind] = await survives_or_is_cut_off(client)
        except TimeoutError:
            outcome[kind] = "neither answered nor cut off"
        finally:
            await client.close()

    async def abuse(port: int) -> None:
        await asyncio.gather(
            *(one(port, kind, f"ABUSE-{10 + i}") for i, kind in enumerate(LOGGED_ON_BAD_INPUT))
        )

    await under_abuse(venue, abuse)
    allowed = {"alive", "logged out", "cut off"}
    assert set(outcome.values()) <= allowed, str(sorted(outcome.items()))
    assert outcome["huge claimed length"] in ("logged out", "cut off")


FLOOD_SECONDS = 4.0  # past abuse_seconds (2): covers the throttle, the abuse Logout and after


async def test_a_flood_of_messages(venue: tuple[VenueProcess, int]) -> None:
    """The throttle's read pause pushes back on the flooder alone; abuse ends in a Logout.

    (Before the gateway paused throttled connections, a flood of 180k messages stalled other
    sessions' round trips for 5-6 s; after the abuse Logout, reading went on unthrottled.)
    """

    async def abuse(port: int) -> None:
        client = await logged_on(port, "FLOOD")
        try:
            sent = 0
            deadline = time.monotonic() + FLOOD_SECONDS
            with contextlib.suppress(ConnectionError, OSError):
                while time.monotonic() < deadline and not client.closed.is_set():
                    client.writer.write(b"".join(client.frame(b"0") for _ in range(500)))
                    with contextlib.suppress(TimeoutError):
                        async with asyncio.timeout(max(0.0, deadline - time.monotonic())):
                            await client.writer.drain()  # TCP back-pressure from the venue
                    sent += 500
            assert sent > 2000  # more than the burst: the throttle had to act
            # throttled for longer than abuse_seconds: the venue ends the session
            assert await survives_or_is_cut_off(client) in ("logged out", "cut off")
        finally:
            await client.close()

    await under_abuse(venue, abuse)


async def test_a_client_that_stops_reading_is_cut_off(venue: tuple[VenueProcess, int]) -> None:
    proc, _ = venue
    rss_before = rss_kib(proc.proc.pid)

    async def abuse(port: int) -> None:
        client = await logged_on(port, "ABUSE-5", rcvbuf=4096)
        client.stop_reading()
        try:
            big_id = b"z" * 30_000  # each Heartbeat echoes it: ~30 KB out per ~30 KB in
            with contextlib.suppress(ConnectionError, OSError):
                async with asyncio.timeout(CUT_OFF_BOUND):
                    for _ in range(3000):
                        client.send(b"1", [(112, big_id)])
                        await client.writer.drain()
            await client.wait_closed_by_venue()  # outbound_buffer_limit 256 KiB for 1 s
        finally:
            await client.close()

    await under_abuse(venue, abuse)
    assert rss_kib(proc.proc.pid) - rss_before < 256 * 1024


async def test_the_venue_is_still_fine_afterwards(venue: tuple[VenueProcess, int]) -> None:
    """Last in this module: a fresh session logs on and round-trips after all of the above."""
    proc, port = venue
    client = await logged_on(port, "ABUSE-8")
    try:
        for _ in range(10):
            await client.round_trip()
    finally:
        await client.close()
    assert proc.proc.poll() is None
