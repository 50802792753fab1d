"""Fixtures for acceptor tests: a real venue core (Journal + Sequencer + Gateway) on a temp
SQLite file, and a small asyncio FIX client that speaks through 127.0.0.1."""

from __future__ import annotations

import asyncio
import contextlib
import ssl
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from venue.clock import LiveClock
from venue.config import GatewayConfig, HeartbeatConfig, ResetConfig, SessionConfig
from venue.fix.codec import FixMessage, Framer, Garbled, encode, format_utc_timestamp
from venue.fix.dictionary import load_dictionary
from venue.gateway import Gateway
from venue.journal.recovery import recover
from venue.sequencer import Sequencer

DICTIONARY = load_dictionary()
TIMEOUT = 5.0


def session_config(**kw: Any) -> SessionConfig:
    base: dict[str, Any] = {
        "name": "MM1",
        "role": "trading",
        "venue_comp_id": "VENUE",
        "client_comp_id": "MM1",
        "firm": "ALPHA",
        "heartbeat": HeartbeatConfig(min_seconds=1, max_seconds=60),
        "reset": ResetConfig(on_logon=False),
    }
    base.update(kw)
    return SessionConfig(**base)


@dataclass
class Running:
    gateway: Gateway
    sequencer: Sequencer
    journal: Any

    @property
    def port(self) -> int:
        return self.gateway.port

    def status(self, name: str = "MM1") -> dict[str, object]:
        return next(s for s in self.gateway.session_status() if s["name"] == name)

    async def stop(self) -> None:
        await self.gateway.stop()
        await self.sequencer.stop()
        await self.journal.close()


VenueFactory = Callable[..., Awaitable[Running]]


@pytest.fixture
async def start_venue(tmp_path: Path) -> AsyncIterator[VenueFactory]:
    running: list[Running] = []

    async def start(
        sessions: list[SessionConfig] | None = None,
        db: Path | None = None,
        ssl_context: ssl.SSLContext | None = None,
        sequencer_kw: dict[str, Any] | None = None,
        application: Any = None,
        **gateway_kw: Any,
    ) -> Running:
        clock = LiveClock()
        engine, journal, _ = await recover(
            db or tmp_path / "venue.db", synchronous="NORMAL", clock=clock
        )
        sequencer = Sequencer(engine, journal, clock, **(sequencer_kw or {}))
        await sequencer.start()
        gw_cfg = GatewayConfig(host="127.0.0.1", port=0, **gateway_kw)
        gateway = Gateway(
            config=gw_cfg,
            sessions=sessions if sessions is not None else [session_config()],
            sequencer=sequencer,
            journal=journal,
            clock=clock,
            dictionary=DICTIONARY,
            ssl_context=ssl_context,
            application=application,
        )
        await gateway.start()
        r = Running(gateway, sequencer, journal)
        running.append(r)
        return r

    yield start
    for r in running:
        with contextlib.suppress(Exception):
            await r.stop()


class FixClient:
    """A test counterparty: numbers its messages, reads whole frames, checks nothing itself."""

    def __init__(self, port: int, sender: bytes = b"MM1", target: bytes = b"VENUE") -> None:
        self.port = port
        self.sender = sender
        self.target = target
        self.next_out = 1
        self.framer = Framer()
        self.inbox: list[FixMessage] = []
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def connect(self, ssl_context: ssl.SSLContext | None = None) -> FixClient:
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1",
            self.port,
            ssl=ssl_context,
            server_hostname="127.0.0.1" if ssl_context is not None else None,
        )
        return self

    async def send(
        self, msg_type: bytes, body: list[tuple[int, bytes]] | None = None, *, seq: int = 0
    ) -> None:
        assert self.writer is not None
        if seq == 0:
            seq = self.next_out
            self.next_out += 1
        data = encode(
            msg_type,
            begin_string=b"FIX.4.4",
            sender=self.sender,
            target=self.target,
            seq=seq,
            sending_time=format_utc_timestamp(time.time_ns()),
            body=body or [],
        )
        self.writer.write(data)
        await self.writer.drain()

    async def logon(self, hb: int = 30, *, reset: bool = False) -> FixMessage:
        body = [(98, b"0"), (108, b"%d" % hb)]
        if reset:
            body.append((141, b"Y"))
        await self.send(b"A", body)
        return await self.receive(b"A")

    async def order(self, cl_ord_id: bytes) -> None:
        await self.send(
            b"D",
            [
                (11, cl_ord_id),
                (21, b"1"),
                (55, b"BTC-PERP"),
                (54, b"1"),
                (60, format_utc_timestamp(time.time_ns())),
                (38, b"1"),
                (40, b"2"),
                (44, b"60000"),
            ],
        )

    async def read(self, timeout: float = TIMEOUT) -> FixMessage:
        """The next message (heartbeats included)."""
        assert self.reader is not None
        while not self.inbox:
            data = await asyncio.wait_for(self.reader.read(65536), timeout)
            if not data:
                raise ConnectionError("closed by the venue")
            for item in self.framer.feed(data):
                assert not isinstance(item, Garbled), item
                self.inbox.append(item)
        return self.inbox.pop(0)

    async def receive(self, msg_type: bytes, timeout: float = TIMEOUT) -> FixMessage:
        """The next message of `msg_type`, skipping heartbeats."""
        while True:
            m = await self.read(timeout)
            if m.msg_type == msg_type:
                return m
            if m.msg_type != b"0":
                raise AssertionError(f"expected 35={msg_type!r}, got {m!r}")

    async def closed(self, timeout: float = TIMEOUT) -> bytes:
        """Wait for the venue to close; returns whatever arrived before."""
        assert self.reader is not None
        got = b""
        while True:
            try:
                data = await asyncio.wait_for(self.reader.read(65536), timeout)
            except ConnectionResetError:
                return got
            if not data:
                return got
            got += data

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.writer = None


@pytest.fixture
async def clients() -> AsyncIterator[Callable[..., FixClient]]:
    made: list[FixClient] = []

    def make(port: int, **kw: Any) -> FixClient:
        c = FixClient(port, **kw)
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


async def wait_until(predicate: Callable[[], bool], timeout: float = TIMEOUT) -> None:
    """Wait for a condition the test cannot await directly (state inside the gateway)."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        await asyncio.sleep(0.01)
