"""The snapshot server: SoupBinTCP 3.0 over TCP, answering Snapshot Requests from the
publisher's own book.

Conversation (fix_specs/MARKET_DATA.md, "Snapshot server"): Login Request → Login Accepted
(session = the feed session, sequence number 1) or Login Rejected; then any number of Snapshot
Requests (an Unsequenced Data packet) each answered by Sequenced Data packets (definitions,
resting orders, then Snapshot Complete naming the feed sequence number to continue from);
server heartbeats after a second of silence; End of Session when the venue stops.

Invariants:
- A snapshot is built synchronously by `take_snapshot` (no await between reading the book and
  reading its next_seq), so it is consistent at a feed sequence boundary; it is written only
  once `wait_released(next_seq)` says every message it includes is committed, in one piece,
  and drained with a time limit (a slow reader is disconnected, nobody else waits).
- Bad input never hurts anyone else: a first packet that is not a well-formed Login Request,
  an oversized packet or a silent client (no login within `login_timeout_s`, nothing for
  `idle_timeout_s` after it) costs that connection only. A requested session other than the
  current one is answered Login Rejected 'S'. A malformed Snapshot Request is answered with a
  Debug packet and the connection stays up.
- At most `max_connections` at once; more are closed at once.
"""

from __future__ import annotations

import asyncio
import contextlib
import struct
import time
from collections import deque
from collections.abc import Awaitable, Callable

from venue.log import get_logger
from venue.marketdata.framing import (
    DEBUG,
    END_OF_SESSION_SOUP,
    LOGIN_REJECTED,
    LOGIN_REQUEST,
    LOGOUT_REQUEST,
    REJECT_SESSION_UNAVAILABLE,
    SEQUENCED,
    SERVER_HEARTBEAT,
    UNSEQUENCED,
    MalformedPacket,
    SoupReader,
    encode_login_accepted,
    parse_login_request,
    soup,
)
from venue.marketdata.messages import SYMBOL_LEN

__all__ = [
    "SNAPSHOT_REQUEST",
    "SnapshotServer",
    "encode_snapshot_request",
    "parse_snapshot_request",
]

_log = get_logger("venue.marketdata.snapshot")
SNAPSHOT_REQUEST = ord("Q")
_U16 = struct.Struct(">H")
MAX_CLIENT_PACKET = 3 + 64 * SYMBOL_LEN + 8

TakeSnapshot = Callable[[list[str] | None], tuple[list[bytes], int]]


def encode_snapshot_request(symbols: list[str] | None = None) -> bytes:
    """The payload of a Snapshot Request (send it as SoupBinTCP Unsequenced Data)."""
    names = symbols or []
    return (
        bytes((SNAPSHOT_REQUEST,))
        + _U16.pack(len(names))
        + b"".join(s.encode("utf-8")[:SYMBOL_LEN].ljust(SYMBOL_LEN, b" ") for s in names)
    )


def parse_snapshot_request(payload: bytes) -> list[str] | None:
    """Symbols asked for, or None for every instrument."""
    if len(payload) < 3 or payload[0] != SNAPSHOT_REQUEST:
        raise MalformedPacket("not a snapshot request")
    (count,) = _U16.unpack_from(payload, 1)
    if len(payload) != 3 + count * SYMBOL_LEN:
        raise MalformedPacket(f"snapshot request for {count} symbols of {len(payload)} bytes")
    if count == 0:
        return None
    return [
        payload[3 + i * SYMBOL_LEN : 3 + (i + 1) * SYMBOL_LEN]
        .rstrip(b" ")
        .decode("utf-8", "replace")
        for i in range(count)
    ]


class _Conn:
    __slots__ = ("last_write", "writer")

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self.writer = writer
        self.last_write = time.monotonic()

    def write(self, data: bytes) -> None:
        self.writer.write(data)
        self.last_write = time.monotonic()


class SnapshotServer:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        session: str,
        take_snapshot: TakeSnapshot,
        wait_released: Callable[[int], Awaitable[None]] | None = None,
        heartbeat_s: float = 1.0,
        login_timeout_s: float = 10.0,
        idle_timeout_s: float = 15.0,
        slow_consumer_s: float = 30.0,
        max_connections: int = 64,
    ) -> None:
        self.host = host
        self._port = port
        self.session = session
        self._take = take_snapshot
        self._wait_released = wait_released
        self._heartbeat_s = heartbeat_s
        self._login_timeout_s = login_timeout_s
        self._idle_timeout_s = idle_timeout_s
        self._slow_s = slow_consumer_s
        self._max = max_connections
        self._server: asyncio.Server | None = None
        self._conns: dict[asyncio.StreamWriter, _Conn] = {}
        self._tasks: set[asyncio.Task[None]] = set()
        self.snapshots_served = 0
        self.connections_refused = 0  # bad login, too many connections

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return 0
        return int(self._server.sockets[0].getsockname()[1])

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._on_connect, self.host, self._port)

    async def stop(self) -> None:
        """End of Session to every client, then close everything."""
        if self._server is not None:
            self._server.close()
        for conn in list(self._conns.values()):
            with contextlib.suppress(Exception):
                conn.write(soup(END_OF_SESSION_SOUP))
                conn.writer.close()
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(BaseException):
                await task
        if self._server is not None:
            with contextlib.suppress(Exception):
                await self._server.wait_closed()

    async def _on_connect(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            self._tasks.add(task)
        try:
            if len(self._conns) >= self._max:
                self.connections_refused += 1
                return
            conn = _Conn(writer)
            self._conns[writer] = conn
            await self._serve(reader, conn)
        except (ConnectionError, asyncio.IncompleteReadError, TimeoutError, MalformedPacket):
            pass
        finally:
            self._conns.pop(writer, None)
            if task is not None:
                self._tasks.discard(task)
            with contextlib.suppress(Exception):
                writer.close()

    async def _serve(self, reader: asyncio.StreamReader, conn: _Conn) -> None:
        parser = SoupReader(max_packet=MAX_CLIENT_PACKET)
        pending: deque[tuple[int, bytes]] = deque()

        async def next_packet(timeout: float) -> tuple[int, bytes] | None:
            while not pending:
                async with asyncio.timeout(timeout):
                    data = await reader.read(65536)
                if not data:
                    return None
                pending.extend(parser.feed(data))
            return pending.popleft()

        first = await next_packet(self._login_timeout_s)
        if first is None or first[0] != LOGIN_REQUEST:
            self.connections_refused += 1
            return
        try:
            _user, _password, session, _seq = parse_login_request(first[1])
        except MalformedPacket:
            self.connections_refused += 1
            return
        if session and session != self.session:
            self.connections_refused += 1
            conn.write(soup(LOGIN_REJECTED, REJECT_SESSION_UNAVAILABLE))
            await conn.writer.drain()
            return
        conn.write(encode_login_accepted(self.session, 1))
        beat = asyncio.get_running_loop().create_task(self._heartbeats(conn))
        try:
            while True:
                pkt = await next_packet(self._idle_timeout_s)
                if pkt is None:
                    return
                kind, payload = pkt
                if kind == LOGOUT_REQUEST:
                    return
                if kind == UNSEQUENCED:
                    try:
                        symbols = parse_snapshot_request(payload)
                    except MalformedPacket as exc:
                        conn.write(soup(DEBUG, f"ignored: {exc}".encode()[:200]))
                        continue
                    msgs, next_seq = self._take(symbols)
                    if self._wait_released is not None:
                        # the book may hold translated but uncommitted messages: the snapshot
                        # leaves only once everything it includes is committed
                        async with asyncio.timeout(self._slow_s):
                            await self._wait_released(next_seq)
                    conn.write(b"".join([soup(SEQUENCED, m) for m in msgs]))
                    self.snapshots_served += 1
                    async with asyncio.timeout(self._slow_s):
                        await conn.writer.drain()
                # client heartbeats ('R') and anything else only prove the client is alive
        finally:
            beat.cancel()

    async def _heartbeats(self, conn: _Conn) -> None:
        while True:
            wait = conn.last_write + self._heartbeat_s - time.monotonic()
            if wait > 0:
                await asyncio.sleep(wait)
                continue
            conn.write(soup(SERVER_HEARTBEAT))
