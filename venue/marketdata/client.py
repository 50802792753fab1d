"""The feed handler: a reusable asyncio client that builds the venue's books from the feed.

It binds the feed port (unicast) or joins the multicast group, takes a snapshot over
SoupBinTCP, applies the incrementals from the snapshot's sequence number on, detects gaps and
re-requests them (MoldUDP64), and falls back to a new snapshot when re-requests do not close a
gap. A new feed session (the venue restarted) clears the books and rebuilds them from that
session's first message, which the venue makes a complete preamble (definitions and resting
orders).

Invariants:
- Messages are applied strictly in feed sequence order, each exactly once: `next_seq` is the
  next one to apply, anything later waits in a bounded buffer until the gap before it closes.
- While a snapshot is being fetched nothing is applied; live messages are buffered and those at
  or after the snapshot's next sequence number are applied afterwards.
- A packet that does not decode, or a message that contradicts the books, never raises out of
  the handler: the first is dropped and counted (a re-request fills the hole), the second
  counts an error and starts a resynchronisation by snapshot.
- With a `symbols` filter only those instruments are kept; messages of others are skipped.
- A packet of another session replaces the current session only once the current one has
  ended (its end-of-session packet was seen); otherwise the snapshot server decides which
  session is current, so a stray packet cannot wipe the books.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import socket
import time
from collections.abc import Callable
from typing import Any

from venue.log import get_logger
from venue.marketdata.book import BookError, FeedBook
from venue.marketdata.framing import (
    END_OF_SESSION,
    END_OF_SESSION_SOUP,
    LOGIN_ACCEPTED,
    LOGIN_REJECTED,
    LOGOUT_REQUEST,
    SEQUENCED,
    UNSEQUENCED,
    MalformedPacket,
    SoupReader,
    decode_packet,
    encode_login_request,
    encode_request,
    parse_login_accepted,
    session_bytes,
    soup,
)
from venue.marketdata.messages import (
    SNAPSHOT_COMPLETE,
    DefinitionMsg,
    FeedMessage,
    MalformedMessage,
    decode,
)
from venue.marketdata.snapshot import encode_snapshot_request

__all__ = ["FeedHandler", "SnapshotError", "fetch_snapshot"]

_log = get_logger("venue.marketdata.client")
MAX_BUFFERED = 1_000_000
MAX_REREQUEST = 0xFFFE


class SnapshotError(Exception):
    """The snapshot server refused the login, ended the session, or broke the protocol."""


async def fetch_snapshot(
    host: str,
    port: int,
    symbols: list[str] | None = None,
    *,
    session: str = "",
    timeout: float = 10.0,
) -> tuple[str, list[bytes], int]:
    """Log in, ask for a snapshot, log out. Returns (session, message bodies, next_seq): the
    bodies are definitions and resting orders, complete up to feed seq next_seq - 1."""

    async def run() -> tuple[str, list[bytes], int]:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            writer.write(encode_login_request(session=session))
            writer.write(soup(UNSEQUENCED, encode_snapshot_request(symbols)))
            parser = SoupReader()
            got_session = ""
            msgs: list[bytes] = []
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    raise SnapshotError("connection closed before the snapshot completed")
                for kind, payload in parser.feed(data):
                    if kind == LOGIN_ACCEPTED:
                        got_session, _ = parse_login_accepted(payload)
                    elif kind == LOGIN_REJECTED:
                        raise SnapshotError(f"login rejected: {payload!r}")
                    elif kind == END_OF_SESSION_SOUP:
                        raise SnapshotError("end of session during the snapshot")
                    elif kind == SEQUENCED:
                        if payload and payload[0] == SNAPSHOT_COMPLETE:
                            done = decode(payload)
                            writer.write(soup(LOGOUT_REQUEST))
                            return got_session, msgs, done.next_seq  # type: ignore[union-attr]
                        msgs.append(payload)
        finally:
            writer.close()
            with contextlib.suppress(Exception):
                await writer.wait_closed()

    try:
        async with asyncio.timeout(timeout):
            return await run()
    except (MalformedPacket, MalformedMessage) as exc:
        raise SnapshotError(str(exc)) from exc


class _Receiver(asyncio.DatagramProtocol):
    def __init__(self, on_packet: Callable[[bytes, bool], None], live: bool) -> None:
        self._on = on_packet
        self._live = live

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self._on(data, self._live)


class FeedHandler:
    """`await bind()` (optional, to learn the port), `await start()`, read `books`,
    `await stop()`. `wait_for_seq` / `wait_until` wait on progress; `resync()` forces a
    snapshot. See the module docstring for the guarantees."""

    def __init__(
        self,
        *,
        feed_host: str = "127.0.0.1",
        feed_port: int = 0,
        group: str | None = None,
        interface: str = "0.0.0.0",
        rerequest: tuple[str, int] | None = None,
        snapshot: tuple[str, int] | None = None,
        symbols: list[str] | None = None,
        rerequest_timeout_s: float = 0.25,
        rerequest_tries: int = 4,
        on_message: Callable[[int, FeedMessage], None] | None = None,
    ) -> None:
        self.feed_host = feed_host
        self.feed_port = feed_port
        self.group = group
        self.interface = interface
        self.rerequest_addr = rerequest
        self.snapshot_addr = snapshot
        self.symbols = set(symbols) if symbols else None
        self._symbol_list = symbols
        self._rr_timeout = rerequest_timeout_s
        self._rr_tries = rerequest_tries
        self.on_message = on_message
        self.books = FeedBook()
        self.session: str | None = None
        self.next_seq = 1
        self.ended = asyncio.Event()  # the current session's end-of-session was seen
        # Test hook: drop(first_seq, count) -> True drops that live (not re-requested) packet.
        self.drop: Callable[[int, int], bool] | None = None
        self.gaps = 0
        self.rerequests_sent = 0
        self.snapshots_taken = 0
        self.session_changes = 0
        self.last_packet_mono: float | None = None  # time.monotonic() of the last packet
        self.malformed_packets = 0
        self.foreign_packets = 0  # packets of an unexpected session (before the old one ended)
        self._foreign_check = -1e9
        self.errors = 0
        self.messages_applied = 0
        self._buffer: dict[int, bytes] = {}
        self._buffer_session: str | None = None
        self._known_next = 1  # the publisher has sequenced at least up to here - 1
        self._syncing = False
        self._started = False
        self._ended_sessions: set[str] = set()
        self._progress = asyncio.Event()
        self._resync_lock = asyncio.Lock()
        self._gap = asyncio.Event()
        self._feed: asyncio.DatagramTransport | None = None
        self._rr: asyncio.DatagramTransport | None = None
        self._task: asyncio.Task[None] | None = None

    # -- life cycle -------------------------------------------------------------------------

    async def bind(self) -> int:
        """Open the feed socket (bind the unicast port or join the group). Returns the port."""
        if self._feed is None:
            loop = asyncio.get_running_loop()
            sock = _feed_socket(self.feed_host, self.feed_port, self.group, self.interface)
            self._feed, _ = await loop.create_datagram_endpoint(
                lambda: _Receiver(self._on_packet, True), sock=sock
            )
            self.feed_port = int(self._feed.get_extra_info("sockname")[1])
        return self.feed_port

    async def start(self, *, snapshot: bool = True) -> None:
        """Bind, take the first snapshot (unless `snapshot` is False: then wait for a session's
        first packet and rebuild from its sequence 1), and start gap recovery."""
        await self.bind()
        loop = asyncio.get_running_loop()
        if self.rerequest_addr is not None and self._rr is None:
            self._rr, _ = await loop.create_datagram_endpoint(
                lambda: _Receiver(self._on_packet, False), remote_addr=self.rerequest_addr
            )
            with contextlib.suppress(OSError):
                self._rr.get_extra_info("socket").setsockopt(
                    socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024
                )
        self._started = True
        if snapshot and self.snapshot_addr is not None:
            await self.resync()
        self._task = loop.create_task(self._recover(), name="feed-handler-recovery")

    async def stop(self) -> None:
        self._started = False
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        for t in (self._feed, self._rr):
            if t is not None:
                t.close()
        self._feed = self._rr = None

    async def resync(self) -> None:
        """Take a snapshot and continue from the sequence number it names."""
        if self.snapshot_addr is None:
            raise SnapshotError("no snapshot server configured")
        async with self._resync_lock:  # one snapshot at a time
            await self._resync(*self.snapshot_addr)
        self._drain()

    async def _resync(self, host: str, port: int) -> None:
        self._syncing = True
        try:
            session, msgs, next_seq = await fetch_snapshot(host, port, self._symbol_list)
            self.books.clear()
            for body in msgs:
                self.books.apply(decode(body))
            self.snapshots_taken += 1
            if session != self.session and self.session is not None:
                self._ended_sessions.add(self.session)
                self.session_changes += 1
            self.session = session
            self.ended.clear()
            self.next_seq = next_seq
            self._known_next = max(
                next_seq, self._known_next if session == self._buffer_session else next_seq
            )
            if self._buffer_session != session:
                self._buffer.clear()
            self._buffer_session = session
            for s in [s for s in self._buffer if s < next_seq]:
                del self._buffer[s]
        finally:
            self._syncing = False

    async def wait_for_seq(self, next_seq: int, timeout: float = 5.0) -> None:
        """Wait until every message before `next_seq` has been applied."""
        await self.wait_until(lambda: self.next_seq >= next_seq, timeout)

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = 5.0) -> None:
        # asyncio.timeout, not wait_for: 3.11's wait_for can swallow a cancellation
        async with asyncio.timeout(timeout):
            while not predicate():
                self._progress.clear()
                await self._progress.wait()

    # -- packets ------------------------------------------------------------------------------

    def _on_packet(self, data: bytes, live: bool) -> None:
        self.last_packet_mono = time.monotonic()  # any packet, heartbeats too: the feed lives
        try:
            raw_session, seq, count, bodies = decode_packet(data)
            sess = raw_session.rstrip(b" ").decode("ascii")
        except (MalformedPacket, UnicodeDecodeError):
            self.malformed_packets += 1
            return
        if (
            live
            and self.drop is not None
            and count not in (0, END_OF_SESSION)
            and self.drop(seq, count)
        ):
            return
        if not self._started or sess in self._ended_sessions:
            return
        if self._syncing:
            if self._buffer_session != sess:
                self._buffer.clear()
                self._buffer_session = sess
                self._known_next = 1
        elif sess != self.session:
            if self.session is None or self.ended.is_set() or self.snapshot_addr is None:
                self._new_session(sess)
            else:
                # a session we did not see end: ask the snapshot server which one is current
                # (a stray or forged packet must not wipe the books)
                self.foreign_packets += 1
                now = time.monotonic()
                if now - self._foreign_check >= 1.0:
                    self._foreign_check = now
                    self._want_snapshot = True
                    self._gap.set()
                return
        if count == END_OF_SESSION:
            self._known_next = max(self._known_next, seq)
            if sess == self.session:
                self.ended.set()
        elif count == 0:
            self._known_next = max(self._known_next, seq)
        else:
            nxt = self.next_seq if sess == self.session else 1
            buffer = self._buffer
            for i, body in enumerate(bodies):
                if seq + i >= nxt and len(buffer) < MAX_BUFFERED:
                    buffer[seq + i] = body
            self._known_next = max(self._known_next, seq + len(bodies))
        if not self._syncing:
            self._drain()
        self._progress.set()

    def _new_session(self, sess: str) -> None:
        """The venue started a new session: its sequence 1 onwards rebuilds everything."""
        if self.session is not None:
            self._ended_sessions.add(self.session)
        _log.info("feed_new_session", old=self.session, new=sess)
        self.session = sess
        self.session_changes += 1
        self.books.clear()
        self.next_seq = 1
        self._known_next = 1
        self._buffer.clear()
        self._buffer_session = sess
        self.ended.clear()

    def _drain(self) -> None:
        buffer = self._buffer
        books = self.books
        on_message = self.on_message
        seq = self.next_seq
        symbols = self.symbols
        broken = False
        while seq in buffer:
            body = buffer.pop(seq)
            try:
                msg = decode(body)
                if symbols is not None and not self._wanted(msg):
                    seq += 1
                    continue
                books.apply(msg)
            except (BookError, MalformedMessage) as exc:
                self.errors += 1
                _log.warning("feed_inconsistent", seq=seq, error=str(exc))
                broken = True
                seq += 1
                break
            seq += 1
            self.messages_applied += 1
            if on_message is not None:
                on_message(seq - 1, msg)
        self.next_seq = seq
        self._progress.set()
        if broken:
            self._want_snapshot = True
            self._gap.set()
        elif self._known_next > seq:
            self._gap.set()

    def _wanted(self, msg: FeedMessage) -> bool:
        if type(msg) is DefinitionMsg:
            return msg.symbol in (self.symbols or ())
        return msg.locate in self.books.instruments

    # -- gap recovery -------------------------------------------------------------------------

    _want_snapshot = False

    async def _recover(self) -> None:
        while self._started:
            await self._gap.wait()
            self._gap.clear()
            if self._want_snapshot:
                await self._snapshot_quietly()
                continue
            tries = 0
            while self._known_next > self.next_seq and self.session is not None:
                if self._rr is None or tries >= self._rr_tries:
                    await self._snapshot_quietly()
                    break
                start = self.next_seq
                later = [s for s in self._buffer if s > start]
                end = min(later) if later else self._known_next
                count = min(end - start, MAX_REREQUEST)
                self.gaps += tries == 0
                self.rerequests_sent += 1
                self._rr.sendto(encode_request(session_bytes(self.session), start, count))
                try:
                    await self.wait_until(_advanced_past(self, start), self._rr_timeout)
                    tries = 0
                except TimeoutError:
                    tries += 1

    async def _snapshot_quietly(self) -> None:
        self._want_snapshot = False
        if self.snapshot_addr is None:
            return
        try:
            await self.resync()
        except (SnapshotError, OSError, TimeoutError, BookError, MalformedMessage) as exc:
            self.errors += 1
            _log.warning("feed_snapshot_failed", error=str(exc))
            await asyncio.sleep(self._rr_timeout)
            self._gap.set()


def _advanced_past(handler: FeedHandler, seq: int) -> Callable[[], bool]:
    return lambda: handler.next_seq > seq


def _feed_socket(host: str, port: int, group: str | None, interface: str) -> socket.socket:
    family = socket.AF_INET6 if ":" in (group or host) else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 8 * 1024 * 1024)
        if group is not None and ipaddress.ip_address(group).is_multicast:
            sock.bind((group, port))
            if family == socket.AF_INET:
                mreq = socket.inet_aton(group) + socket.inet_aton(interface)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP, mreq)
            else:
                mreq6 = socket.inet_pton(socket.AF_INET6, group) + (0).to_bytes(4, "little")
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP, mreq6)
        else:
            sock.bind((host, port))
    except BaseException:
        sock.close()
        raise
    return sock
