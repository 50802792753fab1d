"""Bad input at the TLS layer of a real venue: the process stays up, healthy sessions too.

Connections that send garbage instead of a ClientHello, stop half way through a handshake, or
never start one must cost only themselves, and must be closed by the venue, not held forever.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from typing import Any

from tests.gateway.test_auth_venue import connect, tls_venue
from tests.gateway.test_bad_input import CUT_OFF_BOUND, ROUND_TRIP_BOUND, FixClient

__all__ = ["tls_venue"]


async def raw_tcp(port: int, payload: bytes) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(payload)
    return reader, writer


async def closed_by_venue(reader: asyncio.StreamReader, timeout: float = CUT_OFF_BOUND) -> bool:
    try:
        async with asyncio.timeout(timeout):
            while await reader.read(65536):
                pass
    except TimeoutError:
        return False
    except (ConnectionError, OSError):
        pass
    return True


async def healthy_round_trips(venue: Any, stop: asyncio.Event) -> int:
    client = await connect(venue, "BRAVO-MM")
    count = 0
    try:
        client.send(b"A", [(98, b"0"), (108, b"30"), (141, b"Y")])
        await client.expect(b"A")
        while not stop.is_set():
            await client.round_trip(ROUND_TRIP_BOUND)
            count += 1
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(0.02):
                    await stop.wait()
        await client.round_trip(ROUND_TRIP_BOUND)
        return count + 1
    finally:
        await client.close()


# A TLS record header claiming a handshake of 16 KiB, then only a few bytes of it.
PARTIAL_CLIENT_HELLO = b"\x16\x03\x01\x40\x00\x01\x00\x3f\xfc\x03\x03" + os.urandom(20)

TLS_GARBAGE = {
    "FIX in clear text": b"8=FIX.4.4\x019=5\x0135=A\x0110=000\x01",
    "random bytes": os.urandom(4096),
    "HTTP": b"GET / HTTP/1.1\r\nHost: venue\r\n\r\n",
}


async def test_garbage_instead_of_a_client_hello(tls_venue: Any) -> None:
    proc, port, _ = tls_venue
    stop = asyncio.Event()
    healthy = asyncio.create_task(healthy_round_trips(tls_venue, stop))
    try:
        conns = await asyncio.gather(*(raw_tcp(port, g) for g in TLS_GARBAGE.values()))
        closed = await asyncio.gather(*(closed_by_venue(r) for r, _ in conns))
        assert dict(zip(TLS_GARBAGE, closed, strict=True)) == dict.fromkeys(TLS_GARBAGE, True)
        for _, w in conns:
            w.close()
    finally:
        stop.set()
        assert await healthy >= 1
    assert proc.proc.poll() is None


async def test_handshakes_that_never_finish_are_closed(tls_venue: Any) -> None:
    proc, port, _ = tls_venue
    stop = asyncio.Event()
    healthy = asyncio.create_task(healthy_round_trips(tls_venue, stop))
    conns: list[tuple[asyncio.StreamReader, asyncio.StreamWriter]] = []
    try:
        conns += await asyncio.gather(*(raw_tcp(port, b"") for _ in range(100)))
        conns += await asyncio.gather(*(raw_tcp(port, PARTIAL_CLIENT_HELLO) for _ in range(100)))
        closed = await asyncio.gather(*(closed_by_venue(r) for r, _ in conns))
        assert all(closed), f"{closed.count(False)} of {len(closed)} still open"
    finally:
        for _, w in conns:
            w.close()
        stop.set()
        assert await healthy >= 1
    assert proc.proc.poll() is None


async def test_a_tls_client_that_stops_reading_does_not_stall_others(tls_venue: Any) -> None:
    proc, _, _ = tls_venue
    stop = asyncio.Event()
    healthy = asyncio.create_task(healthy_round_trips(tls_venue, stop))
    client: FixClient = await connect(tls_venue, "ALPHA-MM")
    try:
        client.send(b"A", [(98, b"0"), (108, b"30"), (141, b"Y")])
        await client.expect(b"A")
        client.stop_reading()
        big_id = b"q" * 30_000
        with contextlib.suppress(ConnectionError, OSError, TimeoutError):
            async with asyncio.timeout(CUT_OFF_BOUND):
                for _ in range(2000):
                    client.send(b"1", [(112, big_id)])
                    await client.writer.drain()
        await client.wait_closed_by_venue()
    finally:
        await client.close()
        stop.set()
        assert await healthy >= 1
    assert proc.proc.poll() is None
