"""Fixtures for drop-copy tests: the real journal, sequencer, gateway, order entry and drop copy
(behind the role router, as the app wires them) on a temp SQLite file that a test can stop and
start again; traders from the order-entry tests and a broker client that recovers gaps with
ResendRequest and keeps every application message it accepted, in sequence order."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.gateway.conftest import DICTIONARY, TIMEOUT, FixClient
from tests.orderentry.conftest import DEFAULT, Trader
from venue.clock import LiveClock
from venue.config import GatewayConfig, HeartbeatConfig, SessionConfig, instrument_from_config
from venue.core import AddInstrument, commands
from venue.fix.codec import FixMessage
from venue.gateway import Gateway
from venue.gateway.dropcopy import DropCopy
from venue.gateway.order_entry import OrderEntry, gateway_sender
from venue.gateway.roles import RoleRouter
from venue.journal.recovery import recover
from venue.sequencer import Sequencer

HEADER = frozenset({8, 9, 10, 34, 35, 43, 49, 52, 56, 97, 122})
FIRMS = {"ALPHA": ["ALPHA-1", "ALPHA-2"], "BRAVO": ["BRAVO-1"]}


def account_setup() -> list[Any]:
    """Accounts with money, when the core has accounts (AddAccount, Deposit); else nothing."""
    add = getattr(commands, "AddAccount", None)
    deposit = getattr(commands, "Deposit", None)
    if add is None or deposit is None:
        return []
    out: list[Any] = []
    for firm, accounts in FIRMS.items():
        for acct in accounts:
            out.append(add(firm=firm, account=acct, max_leverage=10))
            out.append(deposit(account=acct, amount=10**15))
    return out


def sessions() -> list[SessionConfig]:
    """The demo sessions (no cancel on disconnect, so flows are deterministic) plus a second
    ALPHA broker and a BRAVO broker."""
    hb = HeartbeatConfig(min_seconds=1, max_seconds=60)
    out = [
        msgspec.structs.replace(s, heartbeat=hb, cancel_on_disconnect=False)
        for s in DEFAULT.sessions
    ]
    (alpha_dc,) = [s for s in out if s.name == "ALPHA-DC"]
    out.append(msgspec.structs.replace(alpha_dc, name="ALPHA-DC2", client_comp_id="ALPHA-DC2"))
    out.append(
        msgspec.structs.replace(
            alpha_dc,
            name="BRAVO-DC",
            client_comp_id="BRAVO-DC",
            firm="BRAVO",
            dropcopy_firms=["BRAVO"],
        )
    )
    return out


@dataclass
class Running:
    gateway: Gateway
    sequencer: Sequencer
    journal: Any
    order_entry: OrderEntry
    dropcopy: DropCopy

    @property
    def port(self) -> int:
        return self.gateway.port

    async def stop(self) -> None:
        await self.dropcopy.close()
        await self.gateway.stop()
        await self.sequencer.stop()
        await self.journal.close()


VenueFactory = Callable[[], Awaitable[Running]]


async def start_venue(db: Path, configs: list[SessionConfig]) -> Running:
    """What `venue.app.Venue.start` does, with the drop copy wired in (see the report)."""
    clock = LiveClock()
    engine, journal, _ = await recover(db, synchronous="NORMAL", clock=clock)
    sequencer = Sequencer(engine, journal, clock)
    await sequencer.start()
    for i in DEFAULT.instruments:
        if i.symbol not in engine.markets:
            sequencer.submit(AddInstrument(instrument=instrument_from_config(i)))
    if sequencer.last_seq <= len(DEFAULT.instruments):  # a new database
        for cmd in account_setup():
            sequencer.submit(cmd)
    order_entry = OrderEntry(sequencer=sequencer, sessions=configs)
    dropcopy = DropCopy(sequencer=sequencer, sessions=configs)
    await dropcopy.load(journal)
    router = RoleRouter(configs, default=order_entry)
    router.register(dropcopy, roles=["dropcopy"])
    gateway = Gateway(
        config=GatewayConfig(host="127.0.0.1", port=0),
        sessions=configs,
        sequencer=sequencer,
        journal=journal,
        clock=clock,
        dictionary=DICTIONARY,
        application=router,
    )
    order_entry.attach(gateway_sender(gateway))
    dropcopy.attach(gateway.send)
    await gateway.start()
    return Running(gateway, sequencer, journal, order_entry, dropcopy)


@pytest.fixture
async def venue_factory(tmp_path: Path) -> AsyncIterator[VenueFactory]:
    """`await start()` opens the venue on the test's database (again after a stop)."""
    running: list[Running] = []

    async def start() -> Running:
        r = await start_venue(tmp_path / "venue.db", sessions())
        running.append(r)
        return r

    yield start
    for r in running:
        with contextlib.suppress(Exception):
            await r.stop()


def body_of(msg: FixMessage) -> list[tuple[int, bytes]]:
    """The message without its header and trailer (what must not change on a resend)."""
    return [(t, v) for t, v in msg.fields if t not in HEADER]


class Broker(FixClient):
    """A drop-copy client that checks sequence numbers the way a FIX engine does: it accepts
    message N only after N-1, holds later ones, asks for gaps with ResendRequest, applies
    SequenceReset-GapFill and drops PossDup messages it already has."""

    def __init__(self, port: int, name: str) -> None:
        super().__init__(port, sender=name.encode(), target=b"VENUE")
        self.expected = 1
        self.accepted: list[FixMessage] = []  # application messages, in sequence order
        self.held: dict[int, FixMessage] = {}
        self.resending = False
        self.logon_seq = 0  # the MsgSeqNum of our last Logon
        self.resend_asks: list[FixMessage] = []  # the venue's ResendRequests, not yet answered

    @property
    def copies(self) -> list[FixMessage]:
        return [m for m in self.accepted if m.msg_type == b"8"]

    async def start(self, port: int | None = None) -> None:
        """Connect, log on, and ask for whatever was missed meanwhile."""
        if port is not None:
            self.port = port
        self.framer = type(self.framer)()
        self.inbox = []
        self.held = {}
        await self.connect()
        self.logon_seq = self.next_out
        await self.send(b"A", [(98, b"0"), (108, b"30")])
        logon = await self.read()
        assert logon.msg_type == b"A", logon
        seq = logon.get_int(34) or 0
        if seq > self.expected:
            self.held[seq] = logon
            await self.send(b"2", [(7, b"%d" % self.expected), (16, b"0")])
            self.resending = True
        else:
            assert seq == self.expected, (seq, self.expected)
            self.expected += 1

    def _accept(self, msg: FixMessage) -> None:
        if msg.msg_type == b"4":
            new_seq = msg.get_int(36) or 0
            assert new_seq >= self.expected, msg
            self.expected = new_seq
            for seq in [s for s in self.held if s < new_seq]:
                del self.held[seq]  # the gap fill covers it (our Logon's number, for one)
            return
        if msg.msg_type == b"2":
            self.resend_asks.append(msg)
        elif msg.msg_type not in (b"0", b"1", b"A", b"5"):
            self.accepted.append(msg)
        self.expected += 1

    def _handle(self, msg: FixMessage) -> None:
        seq = msg.get_int(34) or 0
        if msg.msg_type == b"4" and msg.get(123) != b"Y":
            self.expected = msg.get_int(36) or 0  # SequenceReset-Reset: no gap recovery
            return
        if seq < self.expected:
            assert msg.get(43) == b"Y", f"a number seen twice without PossDup: {msg!r}"
            return
        if seq > self.expected:
            self.held[seq] = msg
            return
        self._accept(msg)
        while self.expected in self.held:
            self._accept(self.held.pop(self.expected))
        if self.resending and not self.held:
            self.resending = False

    async def collect(self, n: int, timeout: float = TIMEOUT) -> list[FixMessage]:
        """Read until `n` application messages have been accepted in all; return them."""
        while len(self.accepted) < n:
            self._handle(await self.read(timeout))
        assert len(self.accepted) == n, [m.msg_type for m in self.accepted[n:]]
        return self.accepted

    async def answer_resend_requests(self) -> None:
        """What the venue lost of ours in a crash is not resent: it is gap-filled (through our
        Logon, which the venue has processed already)."""
        while self.resend_asks:
            ask = self.resend_asks.pop(0)
            begin = ask.get_int(7) or 1
            new_seq = self.logon_seq + 1 if begin <= self.logon_seq else self.next_out
            await self.send(b"4", [(123, b"Y"), (36, b"%d" % new_seq)], seq=begin)

    async def until_heartbeat(self, test_req_id: bytes, timeout: float = TIMEOUT) -> None:
        """Read (answering ResendRequests) until the Heartbeat answering our TestRequest."""
        while True:
            msg = await self.read(timeout)
            self._handle(msg)
            await self.answer_resend_requests()
            if msg.msg_type == b"0" and msg.get(112) == test_req_id and not self.held:
                return

    async def request(self, msg_type: bytes, body: list[tuple[int, bytes]]) -> None:
        await self.send(msg_type, body)

    async def leave(self) -> None:
        """Drop the connection without a Logout (a broker whose network died)."""
        await self.close()


@pytest.fixture
async def people() -> AsyncIterator[Callable[..., Any]]:
    """`people(Trader | Broker, port, name)` makes a client that is closed after the test."""
    made: list[FixClient] = []

    def make(kind: type[FixClient], port: int, name: str) -> Any:
        c = kind(port, name)  # type: ignore[call-arg]
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()


__all__ = [
    "Broker",
    "Running",
    "Trader",
    "VenueFactory",
    "account_setup",
    "body_of",
    "sessions",
    "start_venue",
]
