"""Fixtures for order-entry tests: the real journal, sequencer, gateway and `OrderEntry` on a temp
SQLite file with the embedded default instruments and demo sessions (ALPHA-MM, BRAVO-MM), and
the acceptor tests' FIX client speaking through 127.0.0.1."""

from __future__ import annotations

import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.gateway.conftest import DICTIONARY, FixClient
from venue.clock import LiveClock
from venue.config import (
    GatewayConfig,
    HeartbeatConfig,
    SessionConfig,
    account_commands,
    instrument_from_config,
    load_config,
)
from venue.core import AddInstrument
from venue.fix.codec import FixMessage, format_utc_timestamp
from venue.gateway import Gateway
from venue.gateway.order_entry import OrderEntry, gateway_sender
from venue.journal.recovery import recover
from venue.sequencer import Sequencer

DEFAULT = load_config(None)


def demo_sessions(**over: Any) -> list[SessionConfig]:
    return [
        msgspec.structs.replace(
            s, heartbeat=HeartbeatConfig(min_seconds=1, max_seconds=60), **over.get(s.name, {})
        )
        for s in DEFAULT.sessions
    ]


@dataclass
class Running:
    gateway: Gateway
    sequencer: Sequencer
    journal: Any
    order_entry: OrderEntry

    @property
    def port(self) -> int:
        return self.gateway.port

    def live_orders(self, session: str) -> int:
        return len(self.sequencer.engine.by_session.get(session, {}))

    async def stop(self) -> None:
        await self.gateway.stop()
        await self.sequencer.stop()
        await self.journal.close()


VenueFactory = Callable[..., Awaitable[Running]]


@pytest.fixture
async def venue_factory(tmp_path: Path) -> AsyncIterator[VenueFactory]:
    running: list[Running] = []

    async def start(sessions: list[SessionConfig] | None = None, db: Path | None = None) -> Running:
        clock = LiveClock()
        engine, journal, _ = await recover(
            db or tmp_path / "venue.db", synchronous="NORMAL", clock=clock
        )
        sequencer = Sequencer(engine, journal, clock)
        await sequencer.start()
        for i in DEFAULT.instruments:
            if i.symbol not in engine.markets:
                sequencer.submit(AddInstrument(instrument=instrument_from_config(i)))
        for cmd in account_commands(DEFAULT, engine.accounts):  # as venue.app does at start-up
            sequencer.submit(cmd)
        sessions = sessions if sessions is not None else demo_sessions()
        order_entry = OrderEntry(sequencer=sequencer, sessions=sessions)
        gateway = Gateway(
            config=GatewayConfig(host="127.0.0.1", port=0),
            sessions=sessions,
            sequencer=sequencer,
            journal=journal,
            clock=clock,
            dictionary=DICTIONARY,
            application=order_entry,
        )
        order_entry.attach(gateway_sender(gateway))
        await gateway.start()
        r = Running(gateway, sequencer, journal, order_entry)
        running.append(r)
        return r

    yield start
    for r in running:
        with contextlib.suppress(Exception):
            await r.stop()


class Trader(FixClient):
    """A FIX client with order-entry helpers; `expect` skips heartbeats."""

    def __init__(self, port: int, name: str) -> None:
        super().__init__(port, sender=name.encode(), target=b"VENUE")

    async def new_order(
        self,
        cl_ord_id: str,
        side: str,
        qty: str,
        price: str | None,
        *,
        symbol: str = "BTC-PERP",
        **extra: str,
    ) -> None:
        body = [
            (11, cl_ord_id.encode()),
            (55, symbol.encode()),
            (54, side.encode()),
            (60, format_utc_timestamp(time.time_ns())),
            (38, qty.encode()),
            (40, b"2" if price is not None else b"1"),
        ]
        if price is not None:
            body.append((44, price.encode()))
        body += [(int(k.lstrip("t")), v.encode()) for k, v in extra.items()]
        await self.send(b"D", body)

    async def cancel(self, cl_ord_id: str, orig: str, *, order_id: str | None = None) -> None:
        body = [(41, orig.encode()), (11, cl_ord_id.encode())]
        if order_id is not None:
            body.append((37, order_id.encode()))
        body += [(55, b"BTC-PERP"), (54, b"1"), (60, format_utc_timestamp(time.time_ns()))]
        await self.send(b"F", body)

    async def replace(self, cl_ord_id: str, orig: str, qty: str, price: str) -> None:
        body = [
            (41, orig.encode()),
            (11, cl_ord_id.encode()),
            (55, b"BTC-PERP"),
            (54, b"2"),
            (60, format_utc_timestamp(time.time_ns())),
            (38, qty.encode()),
            (40, b"2"),
            (44, price.encode()),
        ]
        await self.send(b"G", body)

    async def expect(self, msg_type: bytes) -> FixMessage:
        return await self.receive(msg_type)


@pytest.fixture
async def traders() -> AsyncIterator[Callable[[int, str], Trader]]:
    made: list[Trader] = []

    def make(port: int, name: str) -> Trader:
        t = Trader(port, name)
        made.append(t)
        return t

    yield make
    for t in made:
        await t.close()
