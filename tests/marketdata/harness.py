"""A real venue core for the market-data tests: Engine + Journal (temp SQLite) + Sequencer,
random order flows through `submit`, and the engine's book in the feed book's view format."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path
from typing import Any

from venue.clock import ManualClock
from venue.config import MarketDataConfig
from venue.core import (
    AddAccount,
    AddInstrument,
    CancelOrder,
    Deposit,
    Engine,
    ExpireOrders,
    Halt,
    Instrument,
    InstrumentKind,
    MassCancel,
    NewOrder,
    OrdType,
    ReplaceOrder,
    Resume,
    Side,
    StpMode,
    TimeInForce,
)
from venue.core.quote_types import MassQuote, QuoteEntry
from venue.journal import Journal, recover
from venue.marketdata import FeedHandler, MarketDataPublisher
from venue.sequencer import Sequencer

TIMEOUT = 10.0
SYMBOLS = ("BTC-PERP", "ETH-PERP")
FIRMS = (("ALPHA", "ALPHA-1", "ALPHA-MM"), ("BRAVO", "BRAVO-1", "BRAVO-MM"))


def instrument(symbol: str, ref_price: int) -> Instrument:
    return Instrument(
        symbol=symbol,
        kind=InstrumentKind.PERPETUAL,
        tick_size="0.5",
        lot_size="0.001",
        multiplier="1",
        ref_price=ref_price,
        band_ppb=0,
        max_order_qty=1_000_000,
    )


class PreCommitSequencer(Sequencer):
    """The sequencer plus the hook the publisher's pre_commit mode uses (proposed for
    venue.sequencer): `subscribe_applied(fn(seq, ts, cmd, events))`, called in `submit`
    right after the engine applied the command, before it is committed."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._applied: list[Any] = []

    def subscribe_applied(self, fn: Any) -> None:
        self._applied.append(fn)

    def submit(self, cmd: Any) -> tuple[int, list[Any]]:
        seq, events = super().submit(cmd)
        for fn in self._applied:
            fn(seq, self._last_ts, cmd, events)
        return seq, events


class Venue:
    """Engine, journal and sequencer on one SQLite file; `reopen` recovers from it."""

    def __init__(self, path: Path, clock: ManualClock, *, pre_commit: bool = False) -> None:
        self.path = path
        self.clock = clock
        self.pre_commit = pre_commit
        self.engine: Engine
        self.journal: Journal
        self.sequencer: Sequencer

    async def open(self) -> Venue:
        self.engine, self.journal, _ = await recover(self.path, clock=self.clock)
        cls = PreCommitSequencer if self.pre_commit else Sequencer
        self.sequencer = cls(self.engine, self.journal, self.clock)
        await self.sequencer.start()
        return self

    async def close(self) -> None:
        await self.sequencer.stop()
        await self.journal.close()

    def submit(self, cmd: Any) -> list[Any]:
        self.clock.advance(1_000)
        return self.sequencer.submit(cmd)[1]

    async def committed(self) -> None:
        done = asyncio.Event()
        self.sequencer.after_commit(done.set)
        await asyncio.wait_for(done.wait(), TIMEOUT)

    def add_instruments(self) -> None:
        for i, sym in enumerate(SYMBOLS):
            self.submit(AddInstrument(instrument=instrument(sym, 1000 * (i + 1))))
        for firm, account, _ in FIRMS:  # the core requires known accounts
            self.submit(AddAccount(firm=firm, account=account, max_leverage=100))
            self.submit(Deposit(account=account, amount=10**15))


def add_accounts(engine: Engine) -> None:
    """The FIRMS' accounts with an ample balance, applied straight to `engine`."""
    for firm, account, _ in FIRMS:
        engine.apply(AddAccount(firm=firm, account=account, max_leverage=100))
        engine.apply(Deposit(account=account, amount=10**15))


def engine_view(engine: Engine) -> dict[str, Any]:
    """{symbol: (bids, asks)} in `FeedBook.view()` form."""
    out: dict[str, Any] = {}
    for symbol, mkt in engine.markets.items():
        sides = []
        for side in (mkt.bids, mkt.asks):
            sides.append(
                [
                    (
                        side.sign * key,
                        [
                            (o.order_id, o.qty - o.cum_qty)
                            for o in side.levels[side.sign * key].orders
                        ],
                    )
                    for key in reversed(side.keys)
                ]
            )
        out[symbol] = (sides[0], sides[1])
    return out


def random_command(rng: random.Random, engine: Engine, n: int) -> Any:
    """One random command: mostly limit orders near the reference, cancels and replaces of
    live orders, some IOC/market/post-only/STP orders, rare mass cancels and halts."""
    firm, account, session = rng.choice(FIRMS)
    symbol = rng.choice(SYMBOLS)
    ref = 1000 * (SYMBOLS.index(symbol) + 1)
    live = [o for o in engine.orders.values() if o.firm == firm]
    halted = [s for s, m in engine.markets.items() if m.state == "halted"]
    if halted and rng.random() < 0.2:
        return Resume(symbol=halted[0])
    r = rng.random()
    if live and r < 0.15:
        o = rng.choice(live)
        return CancelOrder(session=session, firm=firm, cl_ord_id=f"c{n}", order_id=o.order_id)
    if live and r < 0.3:
        o = rng.choice(live)
        if rng.random() < 0.5:  # quantity down, same price: keeps priority
            qty = max(o.cum_qty + 1, o.qty - rng.randint(0, 3))
            price = o.price
        else:
            qty = o.cum_qty + rng.randint(1, 10)
            price = o.price + rng.randint(-8, 8)
        return ReplaceOrder(
            session=o.session,
            firm=firm,
            cl_ord_id=f"r{n}",
            order_id=o.order_id,
            price=max(1, price),
            qty=qty,
        )
    if r < 0.302:
        return MassCancel(session=session, firm=firm, cl_ord_id=f"m{n}", symbol=symbol)
    if r < 0.305 and not halted:
        return Halt(symbol=symbol)
    if r < 0.307:
        return ExpireOrders(include_day=True)
    if r < 0.37:  # a mass quote: quote sides are shown like orders
        entries = []
        for sym in rng.sample(SYMBOLS, k=rng.randint(1, len(SYMBOLS))):
            mid = 1000 * (SYMBOLS.index(sym) + 1)
            bid = mid - rng.randint(-3, 10)
            entries.append(
                QuoteEntry(
                    set_id="s",
                    entry_id=f"e{n}",
                    symbol=sym,
                    bid_px=bid,
                    bid_size=rng.randint(0, 5),
                    offer_px=bid + rng.randint(1, 10),
                    offer_size=rng.randint(0, 5),
                )
            )
        return MassQuote(
            session=session, firm=firm, account=account, quote_id=f"q{n}", entries=entries
        )
    side = rng.choice((Side.BUY, Side.SELL))
    kind = rng.random()
    tif, ord_type, price, post_only = TimeInForce.GTC, OrdType.LIMIT, 0, False
    if kind < 0.05:
        ord_type = OrdType.MARKET
        tif = TimeInForce.IOC
    else:
        away = rng.randint(-2, 12)  # mostly passive, sometimes crossing
        price = ref - away if side == Side.BUY else ref + away
        if kind < 0.12:
            tif = TimeInForce.IOC
        elif kind < 0.15:
            tif = TimeInForce.FOK
        elif kind < 0.2:
            post_only = True
        elif kind < 0.25:
            tif = TimeInForce.DAY
    return NewOrder(
        session=session,
        firm=firm,
        account=account,
        cl_ord_id=f"n{n}",
        symbol=symbol,
        side=side,
        ord_type=ord_type,
        price=price,
        qty=rng.randint(1, 10),
        tif=tif,
        post_only=post_only,
        stp_id=1 if rng.random() < 0.1 else 0,
        stp_mode=rng.choice(list(StpMode)),
    )


async def run_flow(venue: Venue, rng: random.Random, commands: int, *, every: int = 25) -> None:
    """Submit `commands` random commands, letting commits through every `every` commands."""
    for n in range(commands):
        venue.submit(random_command(rng, venue.engine, n + rng.randint(0, 10**9)))
        if n % every == every - 1:
            await venue.committed()
    await venue.committed()


def free_port(kind: int = socket.SOCK_DGRAM) -> int:
    with socket.socket(socket.AF_INET, kind) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def md_config(feed_port: int, **kw: Any) -> MarketDataConfig:
    base: dict[str, Any] = {
        "port": feed_port,
        "rerequest_port": 0,
        "snapshot_port": 0,
        "heartbeat_ms": 50,
    }
    base.update(kw)
    return MarketDataConfig(**base)


async def start_feed(
    venue: Venue, *, start_client: bool = True, **cfg: Any
) -> tuple[MarketDataPublisher, FeedHandler]:
    """A publisher on `venue` sending unicast to a freshly bound feed handler."""
    client = FeedHandler(feed_host="127.0.0.1", feed_port=0)
    port = await client.bind()
    pub = MarketDataPublisher(
        md_config(port, **cfg), venue.sequencer, venue.clock, pre_commit=venue.pre_commit
    )
    await pub.start()
    client.rerequest_addr = ("127.0.0.1", pub.rerequest_port)
    client.snapshot_addr = ("127.0.0.1", pub.snapshot_port)
    if start_client:
        await client.start()
    return pub, client
