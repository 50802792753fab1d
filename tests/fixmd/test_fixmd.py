"""FIX market data over real TCP: snapshots equal the engine's book, incremental refreshes keep a
client's book equal to it through random order flows, unsubscribe, conflation, trades, every
MarketDataRequestReject reason and the entitlement checks."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest

from tests.fixmd.conftest import MdClient, Running, VenueFactory, check_valid
from tests.gateway.conftest import wait_until
from tests.marketdata.harness import SYMBOLS, random_command
from venue.core import NewOrder, OrdType, Side, TimeInForce
from venue.fix.codec import format_utc_timestamp

Clients = Callable[[int, str], MdClient]


def order(n: int, side: Side, price: int, qty: int, *, firm: str = "ALPHA") -> NewOrder:
    return NewOrder(
        session=f"{firm}-MM",
        firm=firm,
        account=f"{firm}-1",
        cl_ord_id=f"o{n}",
        symbol="BTC-PERP",
        side=side,
        ord_type=OrdType.LIMIT,
        price=price,
        qty=qty,
        tif=TimeInForce.GTC,
    )


async def logged_on(clients: Clients, venue: Running, name: str) -> MdClient:
    c = clients(venue.port, name)
    await c.connect()
    await c.logon()
    return c


async def test_snapshot_equals_the_engine_book(md_venue: VenueFactory, clients: Clients) -> None:
    venue = await md_venue()
    for n, (side, price, qty) in enumerate(
        [(Side.BUY, 990, 3), (Side.BUY, 990, 2), (Side.BUY, 985, 7), (Side.SELL, 1010, 4)]
    ):
        venue.submit(order(n, side, price, qty))
    venue.submit(order(9, Side.SELL, 990, 1, firm="BRAVO"))  # trades 1 lot at 990
    await venue.committed()
    c = await logged_on(clients, venue, "MD1")
    await c.request("snap1", ["BTC-PERP", "ETH-PERP"], kind=b"0")
    for symbol in ("BTC-PERP", "ETH-PERP"):
        w = await c.receive(b"W")
        assert w.get(55) == symbol.encode() and w.get(262) == b"snap1"
        c.apply(w)
        assert c.books[symbol.encode()] == venue.engine_book(symbol)
    book = c.books[b"BTC-PERP"]
    assert list(book) == [(b"0", b"495"), (b"0", b"492.5"), (b"1", b"505")]  # best first
    assert book[(b"0", b"495")] == (b"0.004", b"2")
    trade = c.last_trade[b"BTC-PERP"]
    assert (trade[270], trade[271], trade[880]) == (b"495", b"0.001", b"1")
    assert trade[272] + b"-" + trade[273] <= format_utc_timestamp(venue.sequencer.journal.last_ts)
    assert b"ETH-PERP" not in c.last_trade
    assert venue.md.subscriptions("MD1") == []  # a snapshot request leaves nothing behind


@pytest.mark.parametrize("seed", [1, 2, 3])
async def test_increments_keep_client_books_equal_to_the_engine(
    md_venue: VenueFactory, clients: Clients, seed: int
) -> None:
    venue = await md_venue()
    rng = random.Random(seed)
    full = await logged_on(clients, venue, "MD1")
    top = await logged_on(clients, venue, "MD2")
    both = list(SYMBOLS)
    await full.request("full", both)
    await top.request("top2", both, depth=2, types=(b"0", b"1"))
    for c in (full, top):
        await c.until(lambda c=c: len(c.books) == 2)
    for n in range(400):
        venue.submit(random_command(rng, venue.engine, n))
        if n % 17 == 16:
            await venue.committed()
            if n % 85 == 84:  # mid-flow, once everything so far is out, the books agree
                await full.until(
                    lambda: all(full.books[s.encode()] == venue.engine_book(s) for s in both)
                )
    await venue.committed()
    await full.until(lambda: all(full.books[s.encode()] == venue.engine_book(s) for s in both))
    await top.until(lambda: all(top.books[s.encode()] == venue.engine_book(s, 2) for s in both))
    assert full.trades, "the flow should have traded"
    assert top.trades == []  # not asked for
    ids = [int(t[880]) for t in full.trades]
    assert len(ids) == len(set(ids))
    for s in both:  # per instrument, in the order they happened
        mine = [int(t[880]) for t in full.trades if t[55] == s.encode()]
        assert mine == sorted(mine)
    assert venue.md.flushes > 0


async def test_conflation_one_entry_per_level_per_batch(
    md_venue: VenueFactory, clients: Clients
) -> None:
    venue = await md_venue()
    c = await logged_on(clients, venue, "MD1")
    await c.request("b", ["BTC-PERP"], types=(b"0",))
    await c.until(lambda: b"BTC-PERP" in c.books)
    for n in range(10):  # one synchronous stretch: one commit batch
        venue.submit(order(n, Side.BUY, 980, 1))
    venue.submit(order(99, Side.SELL, 1020, 1))  # not watched (bids only)
    await venue.committed()
    x = await c.receive(b"X")
    check_valid(x)
    assert x.get(268) == b"1"
    assert [x.get(t) for t in (279, 269, 55, 270, 271, 346)] == [
        b"0", b"0", b"BTC-PERP", b"490", b"0.01", b"10",
    ]  # fmt: skip


async def test_unsubscribe_stops_updates(md_venue: VenueFactory, clients: Clients) -> None:
    venue = await md_venue()
    c = await logged_on(clients, venue, "MD1")
    await c.request("s1", ["BTC-PERP"])
    await c.until(lambda: b"BTC-PERP" in c.books)
    assert venue.md.subscriptions("MD1") == [b"s1"]
    await c.request("s1", ["BTC-PERP"], kind=b"2")
    await wait_until(lambda: venue.md.subscriptions("MD1") == [])
    venue.submit(order(1, Side.BUY, 980, 1))
    await venue.committed()
    # An X for s1 would have been queued before this request is read: the next message is W.
    await c.request("probe", ["BTC-PERP"], kind=b"0")
    w = await c.receive(b"W")
    assert w.get(262) == b"probe"
    # The MDReqID can be used again.
    await c.request("s1", ["BTC-PERP"])
    assert (await c.receive(b"W")).get(262) == b"s1"


async def test_reject_reasons(md_venue: VenueFactory, clients: Clients) -> None:
    venue = await md_venue(max_subscriptions=2)
    c = await logged_on(clients, venue, "MD1")

    async def rejected(md_req_id: str, symbols: list[str], **kw: object) -> dict[int, bytes]:
        await c.request(md_req_id, symbols, **kw)  # type: ignore[arg-type]
        y = await c.receive(b"Y")
        check_valid(y)
        assert y.get(262) == md_req_id.encode()
        return {t: v for t, v in y.fields if t in (281, 58)}

    assert (await rejected("r0", ["BTC-PERP", "NOPE-PERP"]))[281] == b"0"
    assert (await rejected("r5", ["BTC-PERP"], depth=b"-1"))[281] == b"5"
    assert (await rejected("r6", ["BTC-PERP"], extra=[(265, b"0")]))[281] == b"6"
    assert (await rejected("r7", ["BTC-PERP"], extra=[(266, b"N")]))[281] == b"7"
    assert (await rejected("r8", ["BTC-PERP"], types=(b"0", b"4")))[281] == b"8"
    assert (await rejected("r9", ["BTC-PERP"], extra=[(386, b"1"), (336, b"X")]))[281] == b"9"
    assert (await rejected("rB", ["BTC-PERP"], extra=[(286, b"1")]))[281] == b"B"
    assert (await rejected("rC", ["BTC-PERP"], extra=[(547, b"Y")]))[281] == b"C"
    no_such = await rejected("never", ["BTC-PERP"], kind=b"2")
    assert 281 not in no_such and b"no subscription" in no_such[58]
    await c.request("a", ["BTC-PERP"])
    await c.receive(b"W")
    assert (await rejected("a", ["ETH-PERP"]))[281] == b"1"  # duplicate MDReqID
    assert (await rejected("a", ["ETH-PERP"], kind=b"0"))[281] == b"1"
    await c.request("b", ["ETH-PERP"])
    await c.receive(b"W")
    assert (await rejected("c", ["ETH-PERP"]))[281] == b"2"  # over max_subscriptions
    # 263 outside the dictionary's enum never reaches the application: session Reject 373=5
    # (MDReqRejReason 4 is unit-tested in test_mapping_md.py).
    await c.request("r4", ["BTC-PERP"], kind=b"5")
    reject = await c.receive(b"3")
    assert (reject.get(371), reject.get(373)) == (b"263", b"5")
    assert venue.md.subscriptions("MD1") == [b"a", b"b"]


async def test_entitlements(md_venue: VenueFactory, clients: Clients) -> None:
    venue = await md_venue()
    dc = await logged_on(clients, venue, "DC1")
    await dc.request("d", ["BTC-PERP"])
    bmr = await dc.receive(b"j")
    check_valid(bmr)
    assert (bmr.get(372), bmr.get(379), bmr.get(380)) == (b"V", b"d", b"6")
    assert venue.md.subscriptions("DC1") == []
    t2 = await logged_on(clients, venue, "T2")  # trading, fix_marketdata off
    await t2.request("t", ["BTC-PERP"])
    y = await t2.receive(b"Y")
    assert (y.get(262), y.get(281)) == (b"t", b"3")
    t1 = await logged_on(clients, venue, "T1")  # trading, fix_marketdata on
    await t1.request("t", ["BTC-PERP"])
    assert (await t1.receive(b"W")).get(262) == b"t"
    md = await logged_on(clients, venue, "MD1")
    await md.send(
        b"D",
        [
            (11, b"x1"),
            (55, b"BTC-PERP"),
            (54, b"1"),
            (60, format_utc_timestamp(venue.sequencer.journal.last_ts)),
            (38, b"1"),
            (40, b"2"),
            (44, b"500"),
        ],
    )
    bmr = await md.receive(b"j")
    assert (bmr.get(372), bmr.get(380)) == (b"D", b"6")
    assert venue.engine.orders == {}


async def test_subscriptions_end_with_the_connection(
    md_venue: VenueFactory, clients: Clients
) -> None:
    venue = await md_venue()
    c = await logged_on(clients, venue, "MD1")
    await c.request("s", ["BTC-PERP"])
    await c.until(lambda: b"BTC-PERP" in c.books)
    await c.close()
    await wait_until(lambda: venue.md.subscriptions("MD1") == [])
    venue.submit(order(1, Side.BUY, 980, 1))
    await venue.committed()
    assert venue.md.x_sent == 0


async def test_a_large_batch_is_split_over_several_x(
    md_venue: VenueFactory, clients: Clients
) -> None:
    venue = await md_venue(max_entries=2)
    c = await logged_on(clients, venue, "MD1")
    await c.request("big", ["BTC-PERP"], types=(b"0", b"1"))
    await c.until(lambda: b"BTC-PERP" in c.books)
    for n in range(5):  # five new levels in one commit batch
        venue.submit(order(n, Side.BUY, 980 - n, 1))
    await venue.committed()
    sizes = []
    while sum(sizes) < 5:
        x = await c.receive(b"X")
        c.apply(x)
        sizes.append(int(x.get(268) or 0))
    assert sizes == [2, 2, 1]
    assert c.books[b"BTC-PERP"] == venue.engine_book("BTC-PERP")


async def test_shared_views_late_subscribers_and_leavers(
    md_venue: VenueFactory, clients: Clients
) -> None:
    """Subscriptions of the same shape share their entries: one that joins mid-flow, one that
    leaves mid-flow and one with a different depth all stay exact."""
    venue = await md_venue()
    rng = random.Random(7)
    first = await logged_on(clients, venue, "MD1")
    late = await logged_on(clients, venue, "T1")
    other = await logged_on(clients, venue, "MD2")
    await first.request("a", ["BTC-PERP"])
    await first.request("b", ["BTC-PERP"], depth=3)
    await other.request("c", ["BTC-PERP"], depth=3)
    await first.until(lambda: b"BTC-PERP" in first.books)
    await other.until(lambda: b"BTC-PERP" in other.books)
    for n in range(300):
        venue.submit(random_command(rng, venue.engine, n))
        if n % 20 == 19:
            await venue.committed()
        if n == 100:
            await late.request("late", ["BTC-PERP"])  # joins the full-book view of "a"
        if n == 200:
            await first.request("b", ["BTC-PERP"], kind=b"2")  # leaves the depth-3 view
    await venue.committed()
    await late.until(lambda: late.books.get(b"BTC-PERP") == venue.engine_book("BTC-PERP"))
    await other.until(lambda: other.books[b"BTC-PERP"] == venue.engine_book("BTC-PERP", 3))
    assert venue.md.subscriptions("MD1") == [b"a"]


async def test_trades_only(md_venue: VenueFactory, clients: Clients) -> None:
    venue = await md_venue()
    c = await logged_on(clients, venue, "MD1")
    await c.request("t", ["BTC-PERP"], types=(b"2",))
    w = await c.receive(b"W")
    assert w.get(268) == b"0"
    venue.submit(order(1, Side.BUY, 1000, 2))
    venue.submit(order(2, Side.BUY, 1001, 1))  # a level change only: nothing for "t"
    await venue.committed()
    venue.submit(order(3, Side.SELL, 1000, 3, firm="BRAVO"))  # trades 1 @ 1001, 2 @ 1000
    await venue.committed()
    x = await c.receive(b"X")
    c.apply(x)
    assert [(t[270], t[271]) for t in c.trades] == [(b"500.5", b"0.001"), (b"500", b"0.002")]
    assert x.get_all(269) == [b"2", b"2"]
