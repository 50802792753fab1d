"""Bad input against the real running venue: the process stays up, healthy sessions stay healthy.

One `venue run` process (module-scoped) serves every test here. Each test logs a healthy
session on, runs a monitor that keeps doing TestRequest → Heartbeat round trips, runs one kind
of abuse from other connections, and then checks that the process is still running, that
every round trip completed (each within a generous bound, `ROUND_TRIP_BOUND`), and, where the
rules say so, that the venue cut the abusive connection off.

Abuse from logged-on sessions is in `test_bad_input_session.py`. The helpers (`FixClient`,
`HealthMonitor`, `venue_config`, ...) are shared with the other tests that run a real venue.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterator, Sequence
from pathlib import Path

import pytest

from tests.venue_process import VenueProcess, start_venue, write_config
from venue.fix.codec import FixMessage, Framer, encode, format_utc_timestamp

ROUND_TRIP_BOUND = 5.0  # seconds: generous; a stalled loop or a blocked session exceeds it
CUT_OFF_BOUND = 20.0  # seconds for the venue to close an abusive connection
SOH = b"\x01"


# --- configuration and process ------------------------------------------------------------------


def extra_sessions(prefix: str, count: int) -> str:
    """`count` loopback-only trading sessions PREFIX-1..PREFIX-count of firm ALPHA."""
    return "".join(
        f"""
[[sessions]]
name = "{prefix}-{i}"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "{prefix}-{i}"
firm = "ALPHA"
accounts = ["ALPHA-1"]
"""
        for i in range(1, count + 1)
    )


FLOOD_SESSION = """
[[sessions]]
name = "FLOOD"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "FLOOD"
firm = "ALPHA"
accounts = ["ALPHA-1"]
[sessions.throttle]
messages_per_second = 200
burst = 400
abuse_seconds = 2
"""


def venue_config(tmp_path: Path, *, sessions: str = "", **gateway: int) -> Path:
    """The embedded default on an ephemeral port, with some [gateway] numbers replaced."""
    path = write_config(tmp_path, extra=sessions)
    text = path.read_text()
    for key, value in gateway.items():
        head, sep, tail = text.partition(f"\n{key} = ")
        assert sep, f"{key} is not in the default configuration"
        _, _, rest = tail.partition("\n")
        text = f"{head}\n{key} = {value}\n{rest}"
    path.write_text(text)
    return path


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VenueProcess, int]]:
    tmp = tmp_path_factory.mktemp("bad_input")
    cfg = venue_config(
        tmp,
        sessions=extra_sessions("ABUSE", 16) + FLOOD_SESSION,
        logon_timeout_seconds=2,
        slow_consumer_seconds=1,
        outbound_buffer_limit=262144,
    )
    proc = start_venue(cfg, cwd=tmp)
    try:
        ready = proc.wait_ready()
        yield proc, int(ready["fix_port"])
        assert proc.proc.poll() is None, "the venue died:\n" + proc.stderr
        assert proc.terminate() == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        stop(proc)


def stop(proc: VenueProcess) -> None:
    proc.kill()
    if proc.proc.stderr is not None:
        proc.proc.stderr.close()


def rss_kib(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


# --- a small FIX client -------------------------------------------------------------------------


class FixClient:
    """A test FIX initiator over asyncio streams; answers TestRequests by itself."""

    def __init__(
        self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter, sender: str
    ) -> None:
        self.reader, self.writer = reader, writer
        self.sender = sender.encode()
        self.next_seq = 1
        self.framer = Framer(max_message_size=1 << 22)
        self.inbox: asyncio.Queue[FixMessage] = asyncio.Queue()
        self.closed = asyncio.Event()
        self.received = 0
        self.seqs: list[int] = []  # MsgSeqNum (34) of every message received, in order
        self.logout: FixMessage | None = None  # the venue's Logout, once one arrives
        self._test_req = 0
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def connect(
        cls,
        port: int,
        sender: str,
        *,
        rcvbuf: int | None = None,
        read: bool = True,
        tls: ssl.SSLContext | None = None,
    ) -> FixClient:
        if rcvbuf is None:
            reader, writer = await asyncio.open_connection("127.0.0.1", port, ssl=tls)
        else:
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
            sock.setblocking(False)
            await asyncio.get_running_loop().sock_connect(sock, ("127.0.0.1", port))
            reader, writer = await asyncio.open_connection(sock=sock, limit=rcvbuf)
        client = cls(reader, writer, sender)
        if read:
            client.start_reading()
        return client

    def start_reading(self) -> None:
        self._task = asyncio.create_task(self._read())

    def stop_reading(self) -> None:
        if self._task is not None:
            self._task.cancel()
            self._task = None

    async def _read(self) -> None:
        try:
            while data := await self.reader.read(1 << 16):
                for item in self.framer.feed(data):
                    if not isinstance(item, FixMessage):
                        continue
                    self.received += 1
                    self.seqs.append(int(item.get(34) or b"0"))
                    if item.msg_type == b"5":
                        self.logout = item
                    if item.msg_type == b"1" and not self.writer.is_closing():
                        self.send(b"0", [(112, item.get(112) or b"")])
                    self.inbox.put_nowait(item)
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed.set()

    def frame(
        self, msg_type: bytes, body: Sequence[tuple[int, bytes]] = (), seq: int | None = None
    ) -> bytes:
        """A frame with the next MsgSeqNum (consumed), or with `seq` (nothing consumed)."""
        if seq is None:
            seq = self.next_seq
            self.next_seq += 1
        return encode(
            msg_type,
            begin_string=b"FIX.4.4",
            sender=self.sender,
            target=b"VENUE",
            seq=seq,
            sending_time=format_utc_timestamp(time.time_ns()),
            body=body,
        )

    def send(self, msg_type: bytes, body: Sequence[tuple[int, bytes]] = ()) -> None:
        self.writer.write(self.frame(msg_type, body))

    async def expect(
        self,
        msg_types: bytes | tuple[bytes, ...],
        timeout: float = ROUND_TRIP_BOUND,
        where: Callable[[FixMessage], bool] | None = None,
    ) -> FixMessage:
        """The next message of one of `msg_types` (others are skipped) within `timeout`."""
        wanted = (msg_types,) if isinstance(msg_types, bytes) else msg_types
        async with asyncio.timeout(timeout):
            while True:
                get = asyncio.ensure_future(self.inbox.get())
                closed = asyncio.ensure_future(self.closed.wait())
                done, _ = await asyncio.wait({get, closed}, return_when=asyncio.FIRST_COMPLETED)
                if get not in done:
                    get.cancel()
                    closed.cancel()
                    if self.inbox.empty():
                        raise ConnectionError(f"{self.sender!r}: connection closed")
                    continue
                closed.cancel()
                msg = get.result()
                if msg.msg_type in wanted and (where is None or where(msg)):
                    return msg

    async def logon(self, heartbeat: int = 30) -> FixMessage:
        self.send(b"A", [(98, b"0"), (108, b"%d" % heartbeat), (141, b"Y")])
        return await self.expect(b"A")

    async def round_trip(self, timeout: float = ROUND_TRIP_BOUND) -> int:
        """TestRequest → Heartbeat with the same TestReqID; returns the time taken in ns."""
        self._test_req += 1
        req_id = b"%s-%d" % (self.sender, self._test_req)
        start = time.monotonic_ns()
        self.send(b"1", [(112, req_id)])
        await self.expect(b"0", timeout, where=lambda m: m.get(112) == req_id)
        return time.monotonic_ns() - start

    async def wait_closed_by_venue(self, timeout: float = CUT_OFF_BOUND) -> None:
        """Read (and drop) everything until the venue closes the connection."""
        if self._task is None:
            self.start_reading()
        async with asyncio.timeout(timeout):
            await self.closed.wait()

    async def close(self) -> None:
        self.stop_reading()
        self.writer.close()
        with contextlib.suppress(ConnectionError, OSError):
            await self.writer.wait_closed()


class HealthMonitor:
    """Keeps a healthy session doing round trips until stopped; remembers every result."""

    def __init__(self, client: FixClient) -> None:
        self.client = client
        self.rtts_ns: list[int] = []
        self.error: BaseException | None = None
        self._stop = asyncio.Event()
        self._progress = asyncio.Event()  # set after every completed round trip
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, port: int, sender: str) -> HealthMonitor:
        client = await FixClient.connect(port, sender)
        await client.logon()
        monitor = cls(client)
        monitor._task = asyncio.create_task(monitor._run())
        return monitor

    async def _run(self) -> None:
        try:
            while not self._stop.is_set():
                self.rtts_ns.append(await self.client.round_trip())
                self._progress.set()
                with contextlib.suppress(TimeoutError):
                    async with asyncio.timeout(0.02):  # pace: ~50 round trips a second at most
                        await self._stop.wait()
        except (TimeoutError, ConnectionError, OSError) as exc:
            self.error = exc

    async def stop(self, *, more: int = 2) -> list[int]:
        """Stop after `more` further round trips (a late stall is caught too); check them all."""
        assert self._task is not None
        target = len(self.rtts_ns) + more
        while len(self.rtts_ns) < target and not self._task.done():
            self._progress.clear()
            progress = asyncio.ensure_future(self._progress.wait())
            await asyncio.wait(
                {self._task, progress}, timeout=2 * ROUND_TRIP_BOUND, return_when="FIRST_COMPLETED"
            )
            progress.cancel()
            if not progress.done() and not self._task.done():
                break  # no progress at all: the checks below report it
        self._stop.set()
        assert self._task is not None
        await self._task
        self.client.send(b"5")
        with contextlib.suppress(TimeoutError, ConnectionError):
            await self.client.expect(b"5")
        await self.client.close()
        assert self.error is None, f"healthy session failed: {self.error!r}"
        assert len(self.rtts_ns) >= target, "the healthy session stopped making round trips"
        assert max(self.rtts_ns) <= ROUND_TRIP_BOUND * 1e9
        return self.rtts_ns


async def under_abuse(
    venue: tuple[VenueProcess, int],
    abuse: Callable[[int], Awaitable[None]],
    *,
    healthy: str = "BRAVO-MM",
) -> list[int]:
    """Run `abuse(port)` while a healthy session does round trips; check both afterwards."""
    proc, port = venue
    monitor = await HealthMonitor.start(port, healthy)
    try:
        await abuse(port)
    finally:
        rtts = await monitor.stop()
    assert proc.proc.poll() is None, "the venue died:\n" + proc.stderr
    return rtts


# --- raw (not logged on) abuse ------------------------------------------------------------------


async def raw_connection(port: int, payload: bytes) -> FixClient:
    client = await FixClient.connect(port, "NOBODY")
    client.writer.write(payload)
    return client


def logon_frame(sender: bytes = b"ABUSE-1") -> bytes:
    """A well-formed Logon frame from `sender`."""
    return encode(
        b"A",
        begin_string=b"FIX.4.4",
        sender=sender,
        target=b"VENUE",
        seq=1,
        sending_time=format_utc_timestamp(time.time_ns()),
        body=[(98, b"0"), (108, b"30")],
    )


def with_body_length(frame: bytes, delta: int) -> bytes:
    head, _, rest = frame.partition(b"\x019=")
    length, _, tail = rest.partition(SOH)
    return b"%s\x019=%d\x01%s" % (head, int(length) + delta, tail)


def with_checksum(frame: bytes, checksum: bytes) -> bytes:
    return frame[: frame.rindex(b"10=") + 3] + checksum + SOH


def no_logon_accepted(client: FixClient) -> None:
    while not client.inbox.empty():
        assert client.inbox.get_nowait().msg_type != b"A", "garbage was accepted as a Logon"


GARBAGE: dict[str, bytes] = {
    "random bytes": os.urandom(5000),
    "text lines": b"GET / HTTP/1.1\r\nHost: venue\r\n\r\n" * 50,
    "only SOH": SOH * 5000,
    "begin string only": b"8=FIX.4.4\x01" * 500,
    "no end": b"8=FIX.4.4\x019=5\x0135=A\x01" + b"x" * 100,
    "truncated logon": logon_frame()[:40],
    "body length too long": with_body_length(logon_frame(), +7),
    "body length too short": with_body_length(logon_frame(), -7),
    "body length not a number": logon_frame().replace(b"\x019=", b"\x019=abc", 1),
    "negative body length": with_body_length(logon_frame(), -10_000),
    "bad checksum": with_checksum(logon_frame(), b"000"),
    "checksum not digits": with_checksum(logon_frame(), b"abc"),
    "non-ASCII CompID": logon_frame(b"\xc3\xa9\xff\xfe"),
    "empty SenderCompID": logon_frame(b""),
    "empty values": b"8=FIX.4.4\x019=20\x0135=\x0149=\x0156=\x0134=\x01\x0110=000\x01",
    "unknown BeginString": logon_frame().replace(b"FIX.4.4", b"FIX.9.9", 1),
    "tag without value or =": b"8=FIX.4.4\x019=12\x0135=A\x0149\x01\x0110=123\x01",
}


async def test_garbage_before_logon_costs_only_that_connection(
    venue: tuple[VenueProcess, int],
) -> None:
    """Every kind of garbage at once, each on its own connection; each one is closed."""
    outcome: dict[str, str] = {}

    async def one(port: int, kind: str) -> None:
        client = await raw_connection(port, GARBAGE[kind])
        try:
            await client.wait_closed_by_venue()  # logon_timeout_seconds = 2 at the latest
            no_logon_accepted(client)
            outcome[kind] = "closed"
        except TimeoutError:
            outcome[kind] = "still open"
        except AssertionError as exc:
            outcome[kind] = str(exc)
        finally:
            await client.close()

    async def abuse(port: int) -> None:
        await asyncio.gather(*(one(port, kind) for kind in GARBAGE))

    await under_abuse(venue, abuse)
    assert outcome == dict.fromkeys(GARBAGE, "closed")


async def test_huge_claimed_body_length_is_cut_off(venue: tuple[VenueProcess, int]) -> None:
    proc, _ = venue
    rss_before = rss_kib(proc.proc.pid)

    async def abuse(port: int) -> None:
        client = await raw_connection(port, b"8=FIX.4.4\x019=999999999\x0135=A\x01")
        try:
            with contextlib.suppress(ConnectionError, OSError):
                for _ in range(64):  # 4 MiB, far beyond max_message_size (64 KiB)
                    client.writer.write(b"x" * 65536)
                    await client.writer.drain()
            await client.wait_closed_by_venue()
            no_logon_accepted(client)
        finally:
            await client.close()

    await under_abuse(venue, abuse)
    assert rss_kib(proc.proc.pid) - rss_before < 64 * 1024  # nothing was sized by the claim


async def test_a_logon_split_into_single_bytes_still_works(
    venue: tuple[VenueProcess, int],
) -> None:
    async def abuse(port: int) -> None:
        client = await FixClient.connect(port, "ABUSE-2")
        try:
            frame = client.frame(b"A", [(98, b"0"), (108, b"30"), (141, b"Y")])
            for i in range(len(frame)):
                client.writer.write(frame[i : i + 1])
                await client.writer.drain()
            await client.expect(b"A")
            await client.round_trip()
        finally:
            await client.close()

    await under_abuse(venue, abuse)


async def test_hundreds_of_connections_that_never_log_on(venue: tuple[VenueProcess, int]) -> None:
    async def abuse(port: int) -> None:
        clients = await asyncio.gather(*(FixClient.connect(port, "IDLE") for _ in range(300)))
        try:
            # the venue closes each one after logon_timeout_seconds (2 s here)
            await asyncio.gather(*(c.wait_closed_by_venue() for c in clients))
            for c in clients:
                assert c.received == 0  # never answer an unidentified peer
        finally:
            await asyncio.gather(*(c.close() for c in clients))

    await under_abuse(venue, abuse)
