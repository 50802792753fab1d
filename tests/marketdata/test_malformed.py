"""Bad input to the re-request and snapshot servers is ignored or answered, never harmful."""

from __future__ import annotations

import asyncio
import random
import struct
import time
from pathlib import Path
from typing import Any

from tests.marketdata.harness import TIMEOUT, Venue, engine_view, run_flow, start_feed
from venue.clock import ManualClock
from venue.marketdata import fetch_snapshot
from venue.marketdata.framing import (
    LOGIN_ACCEPTED,
    LOGIN_REJECTED,
    SEQUENCED,
    UNSEQUENCED,
    SoupReader,
    decode_packet,
    encode_login_request,
    encode_request,
    session_bytes,
    soup,
)
from venue.marketdata.messages import decode
from venue.marketdata.snapshot import encode_snapshot_request


class _Collect(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.queue: asyncio.Queue[bytes] = asyncio.Queue()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.queue.put_nowait(data)


async def test_malformed_rerequests_are_ignored_and_caps_hold(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue, max_rerequest_messages=5)
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        _Collect, remote_addr=("127.0.0.1", pub.rerequest_port)
    )
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(20), 100)
        sess = session_bytes(pub.session)
        bad = [  # (asyncio does not send empty datagrams, so b"" cannot be tried here)
            b"x",
            sess + struct.pack(">Q", 1),  # truncated
            encode_request(sess, 1, 1) + b"!",  # trailing byte
            encode_request(b"OTHERSESS ", 1, 1),  # another session
            encode_request(sess, 0, 1),  # seq 0
            encode_request(sess, 1, 0),  # count 0
            encode_request(sess, pub.next_seq, 1),  # not sequenced yet
            encode_request(sess, 2**64 - 1, 0xFFFE),
            bytes(random.Random(0).randbytes(20)),
        ]
        for data in bad:
            transport.sendto(data)
        transport.sendto(encode_request(sess, 3, 0xFFFE))  # valid, capped at 5
        reply = await asyncio.wait_for(proto.queue.get(), TIMEOUT)
        session, seq, count, bodies = decode_packet(reply)
        assert (session, seq, count) == (sess, 3, 5)
        assert bodies == pub.messages(3, 5)
        assert proto.queue.empty()
        assert pub.rerequests_ignored == len(bad)
        assert pub.rerequests_answered == 1
        # the feed goes on unharmed
        await run_flow(venue, random.Random(21), 100)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.books.view() == engine_view(venue.engine)
    finally:
        transport.close()
        await client.stop()
        await pub.stop()
        await venue.close()


async def _exchange(port: int, data: bytes) -> list[tuple[int, bytes]]:
    """Send `data`, collect SoupBinTCP packets until the server closes the connection
    (every exchange below ends with a close: a refusal, or our own Logout Request)."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(data)
    parser = SoupReader()
    out: list[tuple[int, bytes]] = []
    try:
        async with asyncio.timeout(TIMEOUT):
            while chunk := await reader.read(65536):
                out.extend(parser.feed(chunk))
        out.append((-1, b""))  # closed by the server
    finally:
        writer.close()
    return [p for p in out if p[0] != ord("H")]  # server heartbeats may come at any time


async def test_snapshot_server_bad_logins_and_requests(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue)
    port = pub.snapshot_port
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(22), 200)
        # not a login: closed without an answer
        assert await _exchange(port, soup(UNSEQUENCED, encode_snapshot_request())) == [(-1, b"")]
        # garbage, a zero length, an oversized length: closed
        assert await _exchange(port, b"\x00\x00") == [(-1, b"")]
        assert await _exchange(port, b"\xff\xff" + b"L" * 100) == [(-1, b"")]
        # a login of the wrong size, or with control characters: closed
        assert await _exchange(port, soup(ord("L"), b"short")) == [(-1, b"")]
        assert await _exchange(port, soup(ord("L"), b"\x01" * 46)) == [(-1, b"")]
        # another session: Login Rejected 'S'
        got = await _exchange(port, encode_login_request(session="NOSUCHSESS"))
        assert got == [(LOGIN_REJECTED, b"S"), (-1, b"")]
        served = pub.snapshots_served
        # a good login, then a malformed request (answered with Debug), then a good one
        got = await _exchange(
            port,
            encode_login_request("me", "pw", pub.session)
            + soup(UNSEQUENCED, b"Q\x00\x05abc")
            + soup(UNSEQUENCED, encode_snapshot_request(["BTC-PERP"]))
            + soup(ord("O")),  # Logout Request: the server closes
        )
        kinds = [k for k, _ in got]
        assert kinds[0] == LOGIN_ACCEPTED and kinds[1] == ord("+")
        assert SEQUENCED in kinds and kinds[-1] == -1
        assert decode(got[-2][1]).next_seq == pub.next_seq  # type: ignore[union-attr]
        assert pub.snapshots_served == served + 1
        # the server and the feed are unharmed
        session, msgs, next_seq = await fetch_snapshot("127.0.0.1", port)
        assert session == pub.session and next_seq == pub.next_seq and msgs
        await run_flow(venue, random.Random(23), 100)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_rerequest_budget_per_second(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue, max_rerequest_messages=5)
    loop = asyncio.get_running_loop()
    transport, proto = await loop.create_datagram_endpoint(
        _Collect, remote_addr=("127.0.0.1", pub.rerequest_port)
    )
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(24), 100)
        assert pub.rerequest_budget_per_s == 50
        pub._budget_start = time.monotonic_ns()  # a fresh one-second window for this test
        pub._budget_left = 50
        sess = session_bytes(pub.session)
        for _ in range(12):  # 12 x 5 messages asked, 50 allowed per second
            transport.sendto(encode_request(sess, 1, 5))
        for _ in range(10):
            await asyncio.wait_for(proto.queue.get(), TIMEOUT)
        async with asyncio.timeout(TIMEOUT):  # the last two requests are read after the replies
            while pub.rerequests_ignored < 2:
                await asyncio.sleep(0)
        assert pub.rerequests_answered == 10 and pub.rerequests_ignored == 2
    finally:
        transport.close()
        await client.stop()
        await pub.stop()
        await venue.close()
