"""The MoldUDP64 publisher: committed events → sequenced feed messages → UDP packets, with the
re-request server and the SoupBinTCP snapshot server.

Wiring (by `venue.app`): construct it right after the `Sequencer`, before the first `submit`;
`await start()` once the other ports may open; `await stop()` after `Sequencer.stop()` (which
releases the last commits) and before the journal closes.

Two stages: translation (events → numbered feed messages) and release (frames, sends, keeps
them for re-requests). By default both run after commit, once per commit batch: `on_commit`
(the `Sequencer.subscribe` callback) only notes a command's events until the last command of
its batch, which translates the batch in one pass and releases it. With `pre_commit=True` the
translation runs at submit time (`on_applied`, through `Sequencer.subscribe_applied`), so after
commit only framing and sendto remain on the release path.

Invariants:
- Output only after durable: a message leaves (live, re-request, snapshot) only once the
  command that produced it has committed: `released_next` only moves in `on_commit`, live
  packets and the re-request history hold released messages only, and a snapshot is sent only
  when `released_next` has reached its next_seq. The session preamble is taken at
  construction, when the engine holds only committed state (construction raises otherwise).
- Feed sequence numbers are contiguous from 1 within a session; each start of the venue is a
  new session (see fix_specs/MARKET_DATA.md, "Sessions and restarts"), except a replicated
  standby's promotion, which continues the primary's session (`resume`, from
  `marketdata.shadow`): same session, next sequence number, book and re-request history.
- The publisher's `FeedBook` is always exactly the result of every message numbered so far
  (`next_seq - 1`), so a snapshot built from it between two commands is consistent at a feed
  sequence boundary.
- Packets are at most 1,400 bytes. A full packet leaves at once; the partial packet leaves
  after the last command of each commit batch, so a batch costs few sendto calls and no
  message ever waits for a later batch (with `flush="command"`: after every command).
- Commands are translated in sequence order, each exactly once; the translator's book (the
  snapshot source) moves only with `next_seq`, so a snapshot between two batches is consistent.
  Nothing here awaits on the hot path; sends go through the loop's non-blocking datagram
  transport.
- History for re-requests is bounded by `history_messages`; a re-request is capped at
  `max_rerequest_messages`, and all re-requests together at `rerequest_budget_per_s`
  messages per second (10 × the cap); a malformed, foreign-session, out-of-history or
  over-budget re-request is ignored and counted, never answered otherwise, never raises.
"""

from __future__ import annotations

import asyncio
import contextlib
import ipaddress
import os
import socket
import struct
import time
from collections import deque
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, Literal, NamedTuple

from venue.log import get_logger
from venue.marketdata.framing import (
    END_OF_SESSION,
    MAX_PACKET,
    MOLD_HEADER,
    MalformedPacket,
    PacketBuilder,
    decode_request,
    encode_packet,
    session_bytes,
)
from venue.marketdata.messages import encode_snapshot_complete
from venue.marketdata.snapshot import SnapshotServer
from venue.marketdata.translate import FeedTranslator

if TYPE_CHECKING:
    from venue.clock import Clock
    from venue.config_marketdata import MarketDataConfig
    from venue.core import Command, Event
    from venue.sequencer import Sequencer

__all__ = ["FeedResume", "MarketDataPublisher", "MessageHistory", "derive_session"]

_log = get_logger("venue.marketdata")
_B36 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_LENGTH_PREFIX = [n.to_bytes(2, "big") for n in range(MAX_PACKET)]
"""MoldUDP64's u16 length prefix of a message of each possible size (as `encode_packet`)."""
_SEQ_COUNT = struct.Struct(">QH")  # MOLD_HEADER after its session field


def derive_session(now_ns: int) -> str:
    """YYMMDD + the tenth of a second of the UTC day in base 36 (4 chars, 0000-IINZ): 10
    characters, a new one every 100 ms, so even a crash loop never reuses a session."""
    seconds, rest = divmod(now_ns, 1_000_000_000)
    dt = datetime.fromtimestamp(seconds, UTC)
    tenths = (dt.hour * 3600 + dt.minute * 60 + dt.second) * 10 + rest // 100_000_000
    digits = ""
    for _ in range(4):
        tenths, r = divmod(tenths, 36)
        digits = _B36[r] + digits
    return dt.strftime("%y%m%d") + digits


class MessageHistory:
    """The last `capacity` message bodies by sequence number: a ring with O(1) append and
    lookup (no trimming pauses). Holds seqs `first` .. `next_seq - 1`."""

    __slots__ = ("_base", "_cap", "_ring", "next_seq")

    def __init__(self, capacity: int, next_seq: int = 1) -> None:
        self._cap = capacity
        self._ring: list[bytes] = []
        self.next_seq = next_seq
        self._base = next_seq  # the seq in ring slot 0 (a standby's shadow starts mid-session)

    @property
    def first(self) -> int:
        return self.next_seq - len(self._ring)

    def extend(self, msgs: list[bytes]) -> None:
        ring, cap = self._ring, self._cap
        n = len(msgs)
        done = cap - len(ring)  # room left while the ring fills up
        if n <= done:  # all fit while the ring fills up
            ring += msgs
            self.next_seq += n
            return
        if done > 0:
            ring += msgs[:done]
        else:
            done = 0
        # the rest overwrites the oldest, in at most two runs (wrapping once)
        if n - done > cap:
            done = n - cap  # only the last `cap` messages are kept
        i = (self.next_seq + done - self._base) % cap
        k = min(cap - i, n - done)
        ring[i : i + k] = msgs[done : done + k]
        done += k
        if done < n:
            ring[: n - done] = msgs[done:]
        self.next_seq += n

    def get(self, seq: int) -> bytes:
        """The body of `seq`; the caller checks first <= seq < next_seq."""
        return self._ring[(seq - self._base) % self._cap]


class _Datagrams(asyncio.DatagramProtocol):
    def __init__(self, on_datagram: Callable[[bytes, Any], None] | None = None) -> None:
        self._on = on_datagram

    def datagram_received(self, data: bytes, addr: Any) -> None:
        if self._on is not None:
            self._on(data, addr)

    def error_received(self, exc: Exception) -> None:
        _log.warning("marketdata_udp_error", error=str(exc))


def _os_error_text(exc: OSError) -> str:
    """The OS's words for `exc` ("Address already in use"), however asyncio or uvloop wrapped
    it (uvloop's "could not bind" keeps the OS error as its cause)."""
    seen: BaseException | None = exc
    while seen is not None:
        errno = getattr(seen, "errno", None)
        if isinstance(errno, int):
            return os.strerror(errno)
        seen = seen.__cause__ or seen.__context__
    return str(exc) or type(exc).__name__


class FeedResume(NamedTuple):
    """Where a promoted standby's feed continues the primary's: its session, the translator
    (whose book is every message numbered so far) and the messages kept for re-requests
    (`history.next_seq` is the next feed sequence number)."""

    session: str
    translator: FeedTranslator
    history: MessageHistory


class MarketDataPublisher:
    """See the module docstring. Public attributes are read by tools, tests and benchmarks."""

    def __init__(
        self,
        config: MarketDataConfig,
        sequencer: Sequencer,
        clock: Clock,
        *,
        session: str | None = None,
        flush: Literal["batch", "command"] = "batch",
        pre_commit: bool = False,
        resume: FeedResume | None = None,
    ) -> None:
        if sequencer.last_seq != sequencer.committed_seq:
            raise RuntimeError(
                "construct the market data publisher before the first submit: "
                f"seq {sequencer.last_seq} is not committed yet"
            )
        self.config = config
        if resume is not None:  # a promoted standby continues the primary's session
            session = resume.session
        self.session = session or config.session or derive_session(clock.now_ns())
        self._session_b = session_bytes(self.session)
        self._clock = clock
        self.translator = resume.translator if resume is not None else FeedTranslator()
        first = resume.history.next_seq if resume is not None else 1
        self.next_seq = first  # next feed seq to assign (translation)
        self.released_next = first  # next feed seq not yet released (committed, framed, kept)
        self._unreleased: deque[bytes] = deque()  # bodies released_next .. next_seq - 1
        self._marks: deque[tuple[int, int]] = deque()  # (command seq, next_seq after it)
        self._batch: list[tuple[int, list[Event]]] = []  # committed, not yet translated
        self._released = asyncio.Event()
        self._release_waiters = 0
        self.release_waits = 0  # snapshots that waited for their messages to commit
        self.last_ts = clock.now_ns()
        self._history = (
            resume.history if resume is not None else MessageHistory(config.history_messages)
        )
        # The packet being filled: the session, a slot for the rest of the header, then the
        # length-prefixed bodies of seqs _pkt_first .. released_next - 1 (`_frame`,
        # `_send_packet`); empty when _pkt_first == released_next.
        self._parts: list[bytes] = [self._session_b, b""]
        self._pkt_first = first
        self._pkt_size = MOLD_HEADER.size
        self._outbox: list[bytes] = []  # packets sequenced before start()
        self._transport: asyncio.DatagramTransport | None = None
        self._rerequest: asyncio.DatagramTransport | None = None
        self._snapshot: SnapshotServer | None = None
        self._heartbeat_task: asyncio.Task[None] | None = None
        self._dest: tuple[Any, ...] = (config.destination, config.port)
        self._last_send = time.monotonic_ns()
        self._ended = False
        # Test hook: drop(first_seq, count) -> True drops that live packet (it stays in history).
        self.drop: Callable[[int, int], bool] | None = None
        # Benchmark hook: when a list, (seq, perf_counter_ns at the subscriber call, at the
        # return of the last send) is appended per command that produced messages.
        self.timing: list[tuple[int, int, int]] | None = None
        self._timing_pending: list[tuple[int, int]] = []
        self._flush_per_command = flush == "command"
        self._sequencer = sequencer
        self.packets_sent = 0
        # Time spent in the subscriber (translate, sequence, send), counted once a reader (the
        # benchmark) sets it to an int: None saves two clock reads per commit batch.
        self.busy_ns: int | None = None
        self.messages_sent = 0
        self.rerequests_answered = 0
        self.rerequests_ignored = 0
        self.rerequest_budget_per_s = 10 * config.max_rerequest_messages
        self._budget_left = self.rerequest_budget_per_s
        self._budget_start = time.monotonic_ns()
        if resume is None:  # a new session opens with the whole book
            preamble = self.translator.preamble(sequencer.engine, self.last_ts)
            self._unreleased.extend(preamble)
            self.next_seq += len(preamble)
            self._release(self.next_seq)  # committed state: released at once
            self._flush()
        self._pre_commit = pre_commit
        if pre_commit:
            subscribe_applied = getattr(sequencer, "subscribe_applied", None)
            if subscribe_applied is None:
                raise TypeError("pre_commit=True needs Sequencer.subscribe_applied")
            subscribe_applied(self.on_applied)
        sequencer.subscribe(self.on_commit)

    # -- life cycle -------------------------------------------------------------------------

    async def start(self) -> None:
        """Open the feed socket, the re-request server and the snapshot server; send what was
        sequenced so far; start heartbeats."""
        loop = asyncio.get_running_loop()
        cfg = self.config
        what = f"the feed socket (to {cfg.destination}:{cfg.port} via {cfg.interface})"
        try:
            sock = _feed_socket(cfg.destination, cfg.interface, cfg.ttl)
            transport, _ = await loop.create_datagram_endpoint(_Datagrams, sock=sock)
            self._transport = transport
            what = f"the re-request port udp {cfg.rerequest_host}:{cfg.rerequest_port}"
            family = socket.AF_INET6 if ":" in cfg.rerequest_host else socket.AF_INET
            self._rerequest, _ = await loop.create_datagram_endpoint(
                lambda: _Datagrams(self._on_rerequest),
                local_addr=(cfg.rerequest_host, cfg.rerequest_port),
                family=family,
            )
            what = f"the snapshot port tcp {cfg.snapshot_host}:{cfg.snapshot_port}"
            self._snapshot = SnapshotServer(
                host=cfg.snapshot_host,
                port=cfg.snapshot_port,
                session=self.session,
                take_snapshot=self.take_snapshot,
                wait_released=self.wait_released,
            )
            await self._snapshot.start()
        except BaseException as exc:  # e.g. a port in use: close what opened, the caller reports
            for t in (self._transport, self._rerequest):
                if t is not None:
                    t.close()
            self._transport = self._rerequest = None
            self._snapshot = None
            if isinstance(exc, OSError):  # name the port: asyncio's errors may carry no strerror
                raise OSError(exc.errno, f"{what}: {_os_error_text(exc)}") from exc
            raise
        outbox, self._outbox = self._outbox, []
        for packet in outbox:
            transport.sendto(packet, self._dest)
        self.packets_sent += len(outbox)  # every packet that left counts, the preamble too
        self._heartbeat_task = loop.create_task(self._heartbeats(), name="marketdata-heartbeat")
        _log.info(
            "marketdata_started",
            session=self.session,
            destination=f"{cfg.destination}:{cfg.port}",
            rerequest_port=self.rerequest_port,
            snapshot_port=self.snapshot_port,
            next_seq=self.next_seq,
        )

    async def stop(self) -> None:
        """Send what is pending, then the end-of-session packet; close the servers."""
        if self._batch and not self._ended:
            self._release_batch()
        self._flush()
        if self._heartbeat_task is not None:
            self._heartbeat_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._heartbeat_task
            self._heartbeat_task = None
        if not self._ended:
            self._ended = True
            eos = encode_packet(self._session_b, self.released_next, [], END_OF_SESSION)
            for _ in range(3):  # it is UDP: say it more than once
                self._send_raw(eos)
        if self._snapshot is not None:
            await self._snapshot.stop()
        if self._rerequest is not None:
            self._rerequest.close()
        if self._transport is not None:
            self._transport.close()
        _log.info("marketdata_stopped", session=self.session, next_seq=self.next_seq)

    @property
    def committed_translator(self) -> FeedTranslator | None:
        """The translator, for a reader of the committed book (`LevelFeed(shared=...)`), when
        it translates committed commands only (not with pre_commit: None). A reader that
        subscribes to the sequencer after this publisher sees the batch translated when its
        own callback runs for the batch's last command."""
        return None if self._pre_commit else self.translator

    @property
    def rerequest_port(self) -> int:
        return _bound_port(self._rerequest)

    @property
    def snapshot_port(self) -> int:
        return self._snapshot.port if self._snapshot is not None else 0

    @property
    def snapshots_served(self) -> int:
        return self._snapshot.snapshots_served if self._snapshot is not None else 0

    # -- hot path: committed commands --------------------------------------------------------

    def on_applied(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        """Translate and number one command's messages; nothing leaves until `on_commit`.
        Called before commit (pre_commit=True, from `subscribe_applied`)."""
        if self._ended:
            return
        msgs = self.translator.on_command(ts, events)
        if msgs:
            self.last_ts = ts
            self._unreleased.extend(msgs)
            self.next_seq += len(msgs)
            self._marks.append((seq, self.next_seq))

    def on_commit(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        """Sequencer subscriber (after commit). Without pre_commit, a command's events wait
        until the last command of its commit batch (the sequencer sets `committed_seq` to that
        command's seq before releasing the batch), which translates the whole batch in one pass
        and releases it: full packets leave at once, the partial one at the end (with
        `flush="command"`: every command is its own batch). With pre_commit, the messages of
        commands up to `seq` are released."""
        if self._ended:  # after stop(): this session is over, the next one's preamble has it
            return
        if not self._pre_commit:
            if events:
                self._batch.append((ts, events))
                if self.timing is not None:
                    self._timing_pending.append((seq, time.perf_counter_ns()))
            if not self._flush_per_command and seq < self._sequencer.committed_seq:
                return  # not the last command of its batch
            if self._batch:
                if self.busy_ns is None:
                    self._release_batch()
                else:
                    t0 = time.perf_counter_ns()
                    self._release_batch()
                    self.busy_ns += time.perf_counter_ns() - t0
            return
        t0 = time.perf_counter_ns()
        marks = self._marks
        if marks and marks[0][0] <= seq:
            upto = 0
            while marks and marks[0][0] <= seq:
                upto = marks.popleft()[1]
            self._release(upto)
            if self.timing is not None:
                self._timing_pending.append((seq, t0))
        if self._flush_per_command or seq >= self._sequencer.committed_seq:
            self._flush_now()
        if self.busy_ns is not None:
            self.busy_ns += time.perf_counter_ns() - t0

    def _release_batch(self) -> None:
        """Translate the committed commands waiting in `_batch` (one pass, in order), number
        their messages, release them (nothing is unreleased before: no pre_commit) and send
        the partial packet (`_flush_now`, inlined)."""
        batch, self._batch = self._batch, []
        translate = self.translator.translate
        out: list[bytes] = []
        n = 0
        for ts, events in batch:
            translate(out, ts, events)
            if len(out) != n:
                n = len(out)
                self.last_ts = ts
        if out:
            self.next_seq += n
            self._frame(out)
        if self._pkt_first != self.released_next:
            self._send_packet(self._pkt_first, self.released_next)
        if self.timing is not None and self._timing_pending:
            t = time.perf_counter_ns()
            self.timing.extend((seq, t0, t) for seq, t0 in self._timing_pending)
            self._timing_pending.clear()

    def _flush_now(self) -> None:
        self._flush()
        if self.timing is not None and self._timing_pending:
            t = time.perf_counter_ns()
            self.timing.extend((seq, t0, t) for seq, t0 in self._timing_pending)
            self._timing_pending.clear()

    def _release(self, upto: int) -> None:
        """Release the unreleased messages released_next .. upto - 1."""
        unreleased = self._unreleased
        self._frame([unreleased.popleft() for _ in range(upto - self.released_next)])

    def _frame(self, msgs: list[bytes]) -> None:
        """Frame `msgs` (numbered from released_next on) into packets (sending full ones) and
        keep them for re-requests."""
        parts = self._parts
        size = self._pkt_size
        first = self._pkt_first
        seq = self.released_next
        prefix = _LENGTH_PREFIX
        for body in msgs:  # this runs once per message: PacketBuilder's work, inlined
            n = len(body)
            if size + n + 2 > MAX_PACKET and seq != first:
                self._send_packet(first, seq)
                parts = self._parts
                size = MOLD_HEADER.size
                first = seq
            parts.append(prefix[n])
            parts.append(body)
            size += n + 2
            seq += 1
        self._pkt_first = first
        self._pkt_size = size
        self.released_next = seq
        self._history.extend(msgs)
        if self._release_waiters:
            self._released.set()

    async def wait_released(self, next_seq: int) -> None:
        """Wait until every message before `next_seq` is committed and released."""
        if self.released_next < next_seq:
            self.release_waits += 1
        self._release_waiters += 1
        try:
            while self.released_next < next_seq:
                self._released.clear()
                await self._released.wait()
        finally:
            self._release_waiters -= 1

    def _flush(self) -> None:
        if self._pkt_first != self.released_next:
            self._send_packet(self._pkt_first, self.released_next)

    def _send_packet(self, first: int, end: int) -> None:
        """Send the packet being filled (seqs first .. end - 1) and start an empty one."""
        parts = self._parts
        self._parts = [self._session_b, b""]
        self._pkt_first = end
        self._pkt_size = MOLD_HEADER.size
        count = end - first
        parts[1] = _SEQ_COUNT.pack(first, count)  # the header: session (parts[0]), seq, count
        self.messages_sent += count
        if self.drop is not None and self.drop(first, count):
            return
        data = b"".join(parts)
        self._last_send = time.monotonic_ns()  # `_send_raw`, inlined
        transport = self._transport
        if transport is None:
            self._outbox.append(data)
            return
        transport.sendto(data, self._dest)
        self.packets_sent += 1

    def _send_raw(self, data: bytes) -> None:
        self._last_send = time.monotonic_ns()
        if self._transport is None:
            self._outbox.append(data)
            return
        self._transport.sendto(data, self._dest)
        self.packets_sent += 1

    async def _heartbeats(self) -> None:
        interval_ns = self.config.heartbeat_ms * 1_000_000
        while True:
            wait_ns = self._last_send + interval_ns - time.monotonic_ns()
            if wait_ns > 0:
                await asyncio.sleep(wait_ns / 1e9)
                continue
            if self._pkt_first != self.released_next:  # never expected: batches end flushed
                self._flush_now()
                continue
            self._send_raw(encode_packet(self._session_b, self.released_next, [], 0))

    # -- re-requests -------------------------------------------------------------------------

    def history_range(self) -> tuple[int, int]:
        """(first, next): messages first..next-1 can be re-requested."""
        return self._history.first, self.released_next

    def _on_rerequest(self, data: bytes, addr: Any) -> None:
        try:
            session, seq, count = decode_request(data)
        except MalformedPacket:
            self.rerequests_ignored += 1
            return
        first, nxt = self.history_range()
        if session != self._session_b or seq < first or seq >= nxt:
            self.rerequests_ignored += 1
            return
        transport = self._rerequest
        if transport is None:
            return
        count = min(count, self.config.max_rerequest_messages, nxt - seq)
        # a budget of messages re-sent per second, shared by all requesters, so that a flood
        # of re-requests cannot take the loop away from trading
        now = time.monotonic_ns()
        if now - self._budget_start >= 1_000_000_000:
            self._budget_start = now
            self._budget_left = self.rerequest_budget_per_s
        if count > self._budget_left:
            self.rerequests_ignored += 1
            return
        self._budget_left -= count
        self.rerequests_answered += 1
        get = self._history.get
        packet = PacketBuilder()
        for s in range(seq, seq + count):
            body = get(s)
            if packet.messages and not packet.fits(body):
                transport.sendto(packet.take(self._session_b)[2], addr)
            packet.add(s, body)
        if packet.messages:
            transport.sendto(packet.take(self._session_b)[2], addr)

    def messages(self, seq: int, count: int) -> list[bytes]:
        """Message bodies seq..seq+count-1 still in history (for tests and tools)."""
        lo = max(seq, self._history.first)
        hi = min(seq + count, self.released_next)
        return [self._history.get(s) for s in range(lo, hi)]

    # -- snapshots ---------------------------------------------------------------------------

    def take_snapshot(self, symbols: list[str] | None = None) -> tuple[list[bytes], int]:
        """(messages, next_seq): the book of every instrument (or `symbols`), complete up to
        feed seq next_seq - 1, ending with the snapshot-complete message. Synchronous: it runs
        between two commands, so it sits on a feed sequence boundary. With pre_commit the book
        may be ahead of the commits: send it only after `wait_released(next_seq)`."""
        book = self.translator.book
        msgs = book.snapshot_messages(self.last_ts, symbols)
        count = (
            len(book.instruments)
            if symbols is None
            else len([s for s in symbols if s in book.by_symbol])
        )
        msgs.append(encode_snapshot_complete(self.last_ts, self.next_seq, count))
        return msgs, self.next_seq


def _feed_socket(destination: str, interface: str, ttl: int) -> socket.socket:
    addr = ipaddress.ip_address(destination)
    family = socket.AF_INET6 if addr.version == 6 else socket.AF_INET
    sock = socket.socket(family, socket.SOCK_DGRAM)
    try:
        sock.setblocking(False)
        if addr.is_multicast:
            if family == socket.AF_INET:
                sock.setsockopt(
                    socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton(interface)
                )
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_TTL, ttl)
                sock.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_LOOP, 1)
            else:
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_HOPS, ttl)
                sock.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_MULTICAST_LOOP, 1)
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, 4 * 1024 * 1024)
    except BaseException:
        sock.close()
        raise
    return sock


def _bound_port(transport: asyncio.BaseTransport | None) -> int:
    if transport is None:
        return 0
    sockname = transport.get_extra_info("sockname")
    return int(sockname[1]) if sockname else 0
