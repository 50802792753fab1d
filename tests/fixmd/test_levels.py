"""LevelFeed: the feed translator's book as price levels equals the engine's book after every
command of random flows, and the changes it notes cover every level that changed."""

from __future__ import annotations

import random

import msgspec
import pytest

from tests.marketdata.harness import FIRMS, SYMBOLS, instrument, random_command
from venue import core
from venue.core import AddInstrument, Engine, Side
from venue.marketdata.levels import LevelFeed
from venue.marketdata.translate import FeedTranslator

Levels = dict[tuple[Side, int], tuple[int, int]]


def engine_levels(engine: Engine, symbol: str) -> Levels:
    mkt = engine.markets[symbol]
    out: Levels = {}
    for side, book in ((Side.BUY, mkt.bids), (Side.SELL, mkt.asks)):
        for price, lvl in book.levels.items():
            out[(side, price)] = (sum(o.qty - o.cum_qty for o in lvl.orders), len(lvl.orders))
    return out


def feed_levels(feed: LevelFeed, symbol: str) -> Levels:
    return {
        (side, p): (q, n) for side in (Side.BUY, Side.SELL) for p, q, n in feed.levels(symbol, side)
    }


def setup_engine() -> tuple[Engine, int]:
    engine = Engine()
    ts = 1
    for i, symbol in enumerate(SYMBOLS):
        engine.apply(AddInstrument(ts=ts, instrument=instrument(symbol, 1000 * (i + 1))))
    add_account = getattr(core, "AddAccount", None)
    deposit = getattr(core, "Deposit", None)
    if add_account is not None and deposit is not None:
        for firm, account, _ in FIRMS:
            engine.apply(add_account(ts=ts, firm=firm, account=account, max_leverage=100))
            engine.apply(deposit(ts=ts, account=account, amount=10**15))
    return engine, ts


@pytest.mark.parametrize("seed", range(4))
def test_levels_equal_the_engine_after_every_command(seed: int) -> None:
    engine, ts = setup_engine()
    feed = LevelFeed(engine, ts)
    before = {s: engine_levels(engine, s) for s in SYMBOLS}
    rng = random.Random(seed)
    traded = 0
    for n in range(600):
        ts += 1
        cmd = msgspec.structs.replace(random_command(rng, engine, n), ts=ts)
        events = engine.apply(cmd)
        feed.on_command(ts, events)
        changes = feed.take_changes()
        traded += len(changes.trades)
        for symbol in SYMBOLS:
            now = engine_levels(engine, symbol)
            assert feed_levels(feed, symbol) == now, (n, cmd)
            moved = {
                k for k in now.keys() | before[symbol].keys() if now.get(k) != before[symbol].get(k)
            }
            assert moved <= set(changes.levels.get(symbol, {})), (n, cmd)
            before[symbol] = now
    assert feed.inconsistencies == 0
    assert traded > 0


def test_levels_depth_and_last_trade() -> None:
    engine, ts = setup_engine()
    feed = LevelFeed(engine, ts)
    for n, (side, price, qty, firm) in enumerate(
        [
            (Side.BUY, 990, 3, 0),
            (Side.BUY, 990, 2, 0),
            (Side.BUY, 985, 7, 0),
            (Side.SELL, 990, 1, 1),
        ]
    ):
        f, account, session = FIRMS[firm]
        cmd = core.NewOrder(
            ts=ts + n + 1, session=session, firm=f, account=account, cl_ord_id=f"o{n}",
            symbol="BTC-PERP", side=side, ord_type=core.OrdType.LIMIT, price=price, qty=qty,
        )  # fmt: skip
        feed.on_command(cmd.ts, engine.apply(cmd))
    assert feed.levels("BTC-PERP", Side.BUY) == [(990, 4, 2), (985, 7, 1)]
    assert feed.levels("BTC-PERP", Side.BUY, 1) == [(990, 4, 2)]
    assert feed.levels("BTC-PERP", Side.SELL) == []
    assert feed.level("BTC-PERP", Side.BUY, 985) == (7, 1)
    assert feed.level("BTC-PERP", Side.BUY, 986) is None
    trade = feed.last_trade("BTC-PERP")
    assert trade is not None
    assert (trade.price, trade.qty, trade.aggressor) == (990, 1, Side.SELL)
    assert feed.last_trade("ETH-PERP") is None
    assert feed.levels("NOPE", Side.BUY) == [] and not feed.has("NOPE")
    assert feed.symbols() == list(SYMBOLS)


def test_shared_translation_and_tracking_off() -> None:
    """A feed sharing another translator's book (as the publisher's) shows what a feed of its
    own shows, translating nothing itself; with tracking off it notes nothing, and turning it
    back on starts from no change."""
    engine, ts = setup_engine()
    own = LevelFeed(engine, ts)
    source = FeedTranslator()
    source.preamble(engine, ts)
    shared = LevelFeed(engine, ts, shared=source)
    assert source.book is shared._book  # the noting book took the source's place
    rng = random.Random(7)
    for n in range(300):
        ts += 1
        cmd = msgspec.structs.replace(random_command(rng, engine, n), ts=ts)
        events = engine.apply(cmd)
        own.on_command(ts, events)
        shared.on_command(ts, events)  # nothing: the source translates
        source.on_command(ts, events)
        if n == 100:
            shared.track(False)
        if n == 200:
            shared.track(True)
        a, b = own.take_changes(), shared.take_changes()
        if 100 < n <= 200:  # tracking was off while this command was translated
            assert not b.levels and not b.trades
        else:
            assert (a.levels, a.trades) == (b.levels, b.trades), n
        for symbol in SYMBOLS:
            assert (
                feed_levels(shared, symbol)
                == feed_levels(own, symbol)
                == engine_levels(engine, symbol)
            )
    assert shared.inconsistencies == own.inconsistencies == 0
