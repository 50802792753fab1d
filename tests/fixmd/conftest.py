"""Fixtures for FIX market-data tests: the real journal, sequencer, gateway, order entry and
`FixMarketData` (with its `LevelFeed`, built before the first submit) behind a `RoleRouter`, on a
temp SQLite file, and a FIX client that keeps a book from W and X messages."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.conftest import DICTIONARY, FixClient, session_config
from tests.marketdata.harness import FIRMS, SYMBOLS, instrument, md_config
from venue import core
from venue.clock import LiveClock
from venue.config import GatewayConfig, SessionConfig
from venue.core import AddInstrument, Engine, Side
from venue.fix.codec import FixMessage
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.validate import group_instances, validate
from venue.gateway import Gateway
from venue.gateway.marketdata_fix import FixMarketData
from venue.gateway.order_entry import OrderEntry, gateway_sender
from venue.gateway.roles import RoleRouter
from venue.journal.recovery import recover
from venue.marketdata import MarketDataPublisher
from venue.marketdata.levels import LevelFeed
from venue.sequencer import Sequencer

TIMEOUT = 10.0
Book = dict[tuple[bytes, bytes], tuple[bytes, bytes]]
"""(MDEntryType, MDEntryPx) -> (MDEntrySize, NumberOfOrders), per symbol."""


def md_sessions() -> list[SessionConfig]:
    return [
        session_config(name="MD1", client_comp_id="MD1", role="marketdata"),
        session_config(name="MD2", client_comp_id="MD2", role="marketdata"),
        session_config(name="T1", client_comp_id="T1", role="trading", fix_marketdata=True),
        session_config(name="T2", client_comp_id="T2", role="trading", accounts=["ALPHA-1"]),
        session_config(name="DC1", client_comp_id="DC1", role="dropcopy", dropcopy_firms=["ALPHA"]),
    ]


@dataclass
class Running:
    gateway: Gateway
    sequencer: Sequencer
    journal: Any
    md: FixMarketData

    @property
    def port(self) -> int:
        return self.gateway.port

    @property
    def engine(self) -> Engine:
        return self.sequencer.engine

    def submit(self, cmd: Any) -> list[Any]:
        return self.sequencer.submit(cmd)[1]

    async def committed(self) -> None:
        done = asyncio.Event()
        self.sequencer.after_commit(done.set)
        await asyncio.wait_for(done.wait(), TIMEOUT)

    def spec(self, symbol: str) -> InstrumentSpec:
        return InstrumentSpec(self.engine.markets[symbol].instrument)

    def engine_book(self, symbol: str, depth: int = 0, *, trades: bool = False) -> Book:
        """The engine's aggregated levels in the client's form (best `depth` per side)."""
        spec = self.spec(symbol)
        mkt = self.engine.markets[symbol]
        out: Book = {}
        for entry_type, side in ((b"0", mkt.bids), (b"1", mkt.asks)):
            for n, key in enumerate(reversed(side.keys)):
                if depth and n == depth:
                    break
                price = side.sign * key
                orders = side.levels[price].orders
                qty = sum(o.qty - o.cum_qty for o in orders)
                out[(entry_type, spec.price_text(price))] = (
                    spec.qty_text(qty),
                    b"%d" % len(orders),
                )
        return out

    async def stop(self) -> None:
        await self.gateway.stop()
        await self.sequencer.stop()
        await self.journal.close()


VenueFactory = Callable[..., Awaitable[Running]]


def add_accounts(sequencer: Sequencer) -> None:
    """The harness's accounts, funded, where the core has accounts (the derivatives release)."""
    add_account = getattr(core, "AddAccount", None)
    deposit = getattr(core, "Deposit", None)
    if add_account is None or deposit is None:
        return
    for firm, account, _session in FIRMS:
        sequencer.submit(add_account(firm=firm, account=account, max_leverage=100))
        sequencer.submit(deposit(account=account, amount=10**15))


@pytest.fixture(params=["own", "shared"])
async def md_venue(tmp_path: Path, request: pytest.FixtureRequest) -> AsyncIterator[VenueFactory]:
    """`own`: the level feed translates by itself; `shared`: it shares the translation of a
    feed publisher (built first, as `venue.app` wires them when the feed is enabled; never
    started here: its packets stay in its outbox)."""
    running: list[Running] = []
    shared = request.param == "shared"

    async def start(sessions: list[SessionConfig] | None = None, **md_kw: Any) -> Running:
        clock = LiveClock()
        engine, journal, _ = await recover(tmp_path / "venue.db", synchronous="NORMAL", clock=clock)
        sequencer = Sequencer(engine, journal, clock)
        sessions = sessions if sessions is not None else md_sessions()
        # as venue.app should wire it: right after the sequencer, before the first submit
        publisher = MarketDataPublisher(md_config(9), sequencer, clock) if shared else None
        md = FixMarketData(
            sequencer=sequencer,
            sessions=sessions,
            levels=LevelFeed(
                engine,
                clock.now_ns(),
                shared=publisher.committed_translator if publisher is not None else None,
            ),
            **md_kw,
        )
        await sequencer.start()
        for i, symbol in enumerate(SYMBOLS):
            sequencer.submit(AddInstrument(instrument=instrument(symbol, 1000 * (i + 1))))
        add_accounts(sequencer)
        order_entry = OrderEntry(sequencer=sequencer, sessions=sessions)
        router = RoleRouter(sessions, default=order_entry)
        router.register(md, roles=["marketdata", "trading", "dropcopy"], msg_types=[b"V"])
        gateway = Gateway(
            config=GatewayConfig(host="127.0.0.1", port=0),
            sessions=sessions,
            sequencer=sequencer,
            journal=journal,
            clock=clock,
            dictionary=DICTIONARY,
            application=router,
        )
        order_entry.attach(gateway_sender(gateway))
        md.attach(gateway.send)
        await gateway.start()
        r = Running(gateway, sequencer, journal, md)
        running.append(r)
        return r

    yield start
    for r in running:
        with contextlib.suppress(Exception):
            await r.stop()


def check_valid(m: FixMessage) -> None:
    """Every message the venue sends validates against its own dictionary."""
    assert validate(m, DICTIONARY) is None, m


class MdClient(FixClient):
    """A market-data client: subscribes and keeps one book per symbol from W and X."""

    def __init__(self, port: int, name: str) -> None:
        super().__init__(port, sender=name.encode(), target=b"VENUE")
        self.books: dict[bytes, Book] = {}
        self.trades: list[dict[int, bytes]] = []
        self.last_trade: dict[bytes, dict[int, bytes]] = {}

    async def request(
        self,
        md_req_id: str,
        symbols: list[str],
        *,
        kind: bytes = b"1",
        depth: int | bytes = 0,
        types: tuple[bytes, ...] = (b"0", b"1", b"2"),
        extra: list[tuple[int, bytes]] | None = None,
    ) -> None:
        body: list[tuple[int, bytes]] = [
            (262, md_req_id.encode()),
            (263, kind),
            (264, depth if isinstance(depth, bytes) else b"%d" % depth),
        ]
        if kind == b"1" and all(t != 265 for t, _ in extra or []):
            body.append((265, b"1"))
        body += extra or []
        body.append((267, b"%d" % len(types)))
        body += [(269, t) for t in types]
        body.append((146, b"%d" % len(symbols)))
        body += [(55, s.encode()) for s in symbols]
        await self.send(b"V", body)

    def apply(self, m: FixMessage) -> None:
        check_valid(m)
        entries = group_instances(m, 268, DICTIONARY)
        if m.msg_type == b"W":
            symbol = m.get(55) or b""
            book = self.books[symbol] = {}
            for e in entries:
                if e[269] == b"2":
                    self.last_trade[symbol] = e
                else:
                    book[(e[269], e[270])] = (e[271], e[346])
            return
        assert m.msg_type == b"X", m
        for e in entries:
            symbol = e[55]
            if e[269] == b"2":
                assert e[279] == b"0"
                self.trades.append(e)
                self.last_trade[symbol] = e
                continue
            book = self.books[symbol]
            key = (e[269], e[270])
            if e[279] == b"2":
                assert key in book, e
                del book[key]
            elif e[279] == b"0":
                assert key not in book, e
                book[key] = (e[271], e[346])
            else:
                assert key in book, e
                assert book[key] != (e[271], e[346]), e
                book[key] = (e[271], e[346])

    async def until(self, done: Callable[[], bool], timeout: float = TIMEOUT) -> None:
        """Apply W/X messages until `done()` (or fail after `timeout`)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not done():
            left = deadline - loop.time()
            if left <= 0:
                raise AssertionError("timed out waiting for the market data to converge")
            m = await self.read(left)
            if m.msg_type in (b"W", b"X"):
                self.apply(m)
            elif m.msg_type != b"0":
                raise AssertionError(f"unexpected {m!r}")


def side_of(entry_type: bytes) -> Side:
    return Side.BUY if entry_type == b"0" else Side.SELL


@pytest.fixture
async def clients() -> AsyncIterator[Callable[[int, str], MdClient]]:
    made: list[MdClient] = []

    def make(port: int, name: str) -> MdClient:
        c = MdClient(port, name)
        made.append(c)
        return c

    yield make
    for c in made:
        await c.close()
