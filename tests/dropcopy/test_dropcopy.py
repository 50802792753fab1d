"""Drop copy over real FIX sessions on 127.0.0.1: a broker sees exactly its firm's flow, in
journal order; a broker that drops out and a venue restart in the middle change nothing of what
it ends up with; trade capture reports match the fills; a broker cannot trade."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.dropcopy.conftest import Broker, Running, Trader, VenueFactory, body_of
from venue.fix.codec import FixMessage

People = Callable[..., Any]

ALPHA_PER_ROUND = 5  # new, fill, replaced, post-only reject, canceled
BRAVO_PER_ROUND = 4  # new + fill (taker), new, canceled


class Log:
    """Every ExecutionReport each trader received, in order."""

    def __init__(self) -> None:
        self.alpha: list[FixMessage] = []
        self.bravo: list[FixMessage] = []


async def ers(t: Trader, n: int, into: list[FixMessage]) -> list[FixMessage]:
    got = [await t.expect(b"8") for _ in range(n)]
    into += got
    return got


async def trade_round(alpha: Trader, bravo: Trader, k: int, log: Log) -> None:
    """ALPHA rests a sell, BRAVO takes part of it, ALPHA replaces it, BRAVO rests a bid that
    makes ALPHA's post-only sell rejected, then both cancel."""
    await alpha.new_order(f"a{k}", "2", "1", "60000.5", t1="ALPHA-2")
    (new,) = await ers(alpha, 1, log.alpha)
    assert new.get(150) == b"0", new
    await bravo.new_order(f"b{k}", "1", "0.4", "60001")
    b_new, b_fill = await ers(bravo, 2, log.bravo)
    (a_fill,) = await ers(alpha, 1, log.alpha)
    assert (b_new.get(150), b_fill.get(150), a_fill.get(150)) == (b"0", b"F", b"F")
    await alpha.replace(f"a{k}r", f"a{k}", "2", "60002")
    (rep,) = await ers(alpha, 1, log.alpha)
    assert rep.get(150) == b"5"
    await bravo.new_order(f"b{k}x", "1", "0.1", "59990")
    (rest,) = await ers(bravo, 1, log.bravo)
    assert rest.get(150) == b"0"
    await alpha.new_order(f"a{k}p", "2", "0.1", "59990", t18="6")
    (rej,) = await ers(alpha, 1, log.alpha)
    assert rej.get(150) == b"8" and (rej.get(17) or b"").startswith(b"R")  # journaled
    await alpha.cancel(f"a{k}c", f"a{k}r")
    (cxl,) = await ers(alpha, 1, log.alpha)
    await bravo.cancel(f"b{k}xc", f"b{k}x")
    (b_cxl,) = await ers(bravo, 1, log.bravo)
    assert (cxl.get(150), b_cxl.get(150)) == (b"4", b"4")


def assert_copies_of(copies: list[FixMessage], own: list[FixMessage], comp_id: bytes) -> None:
    """Each copy is the owner's report (same fields, same order) plus who it came from."""
    assert len(copies) == len(own)
    for c, r in zip(copies, own, strict=True):
        cb, rb = body_of(c), body_of(r)
        assert cb[: len(rb)] == rb
        extra = dict(cb[len(rb) :])
        assert (extra[797], extra[5002], extra[453]) == (b"Y", comp_id, b"3")
    seqs = [c.get_int(34) for c in copies]
    assert len(set(seqs)) == len(seqs)


async def trading(people: People, port: int) -> tuple[Trader, Trader]:
    alpha: Trader = people(Trader, port, "ALPHA-MM")
    bravo: Trader = people(Trader, port, "BRAVO-MM")
    for t in (alpha, bravo):
        await t.connect()
        await t.logon()
    return alpha, bravo


async def reconnect(t: Trader, port: int) -> None:
    await t.close()
    t.port = port
    t.framer = type(t.framer)()
    t.inbox = []
    await t.connect()
    await t.logon()


async def test_a_broker_sees_exactly_its_firms_flow(
    venue_factory: VenueFactory, people: People
) -> None:
    venue = await venue_factory()
    alpha_dc: Broker = people(Broker, venue.port, "ALPHA-DC")
    bravo_dc: Broker = people(Broker, venue.port, "BRAVO-DC")
    await alpha_dc.start()
    await bravo_dc.start()
    alpha, bravo = await trading(people, venue.port)
    log = Log()
    for k in range(2):
        await trade_round(alpha, bravo, k, log)
    a = await alpha_dc.collect(len(log.alpha))
    b = await bravo_dc.collect(len(log.bravo))
    assert_copies_of(a, log.alpha, b"ALPHA-MM")
    assert_copies_of(b, log.bravo, b"BRAVO-MM")
    assert {c.get(448) for c in a} == {b"ALPHA"} and {c.get(1) for c in a} == {
        b"ALPHA-1",
        b"ALPHA-2",
    }
    assert {c.get(448) for c in b} == {b"BRAVO"}
    # nothing more is queued for either broker: a TestRequest is answered next
    for broker in (alpha_dc, bravo_dc):
        await broker.send(b"1", [(112, b"probe")])
        hb = await broker.read()
        assert (hb.msg_type, hb.get(112)) == (b"0", b"probe")


async def test_disconnect_and_restart_change_nothing(
    venue_factory: VenueFactory, people: People
) -> None:
    venue: Running = await venue_factory()
    steady: Broker = people(Broker, venue.port, "ALPHA-DC")
    flaky: Broker = people(Broker, venue.port, "ALPHA-DC2")
    await steady.start()
    await flaky.start()
    alpha, bravo = await trading(people, venue.port)
    log = Log()
    await trade_round(alpha, bravo, 0, log)
    await trade_round(alpha, bravo, 1, log)
    await flaky.collect(3)  # mid-flow: it has some of round 0, then its network dies
    await flaky.leave()
    await trade_round(alpha, bravo, 2, log)
    await steady.collect(len(log.alpha))

    # the venue stops in the middle and comes back from the same database
    await steady.leave()
    await venue.stop()
    venue = await venue_factory()
    for t in (alpha, bravo):
        await reconnect(t, venue.port)
    await steady.start(venue.port)
    await trade_round(alpha, bravo, 3, log)
    await flaky.start(venue.port)
    await trade_round(alpha, bravo, 4, log)
    total = 5 * ALPHA_PER_ROUND
    assert len(log.alpha) == total and len(log.bravo) == 5 * BRAVO_PER_ROUND
    s = await steady.collect(total)
    f = await flaky.collect(total)
    assert_copies_of(s, log.alpha, b"ALPHA-MM")
    assert_copies_of(f, log.alpha, b"ALPHA-MM")
    assert [body_of(m) for m in s] == [body_of(m) for m in f]
    assert not steady.held and not flaky.held
    # nothing was copied twice or re-copied by the restart: one number per copy, in order
    assert [m.get(17) for m in s] == [m.get(17) for m in log.alpha]
    assert venue.dropcopy.copies_sent == 2 * 2 * ALPHA_PER_ROUND + 2 * BRAVO_PER_ROUND


def trade_request(req_id: bytes, *fields: tuple[int, bytes]) -> list[tuple[int, bytes]]:
    return [(568, req_id), (569, b"0"), *fields]


async def reports(broker: Broker, req_id: bytes, *fields: tuple[int, bytes]) -> list[FixMessage]:
    start = len(broker.accepted)
    await broker.request(b"AD", trade_request(req_id, *fields))
    first = (await broker.collect(start + 1))[start]
    if first.msg_type == b"j":
        return [first]
    total = int(first.get(748) or b"0")
    got = (await broker.collect(start + total))[start:]
    assert [m.msg_type for m in got] == [b"AE"] * total
    assert [m.get(912) for m in got] == [b"N"] * (total - 1) + [b"Y"]
    assert {m.get(568) for m in got} == {req_id}
    return got


async def test_trade_capture_reports_match_the_fills_and_survive_a_restart(
    venue_factory: VenueFactory, people: People
) -> None:
    venue = await venue_factory()
    alpha, bravo = await trading(people, venue.port)
    log = Log()
    for k in range(3):
        await trade_round(alpha, bravo, k, log)
    await venue.stop()
    venue = await venue_factory()  # the trade index is rebuilt from the journal
    for t in (alpha, bravo):
        await reconnect(t, venue.port)
    await trade_round(alpha, bravo, 3, log)
    alpha_dc: Broker = people(Broker, venue.port, "ALPHA-DC")
    bravo_dc: Broker = people(Broker, venue.port, "BRAVO-DC")
    await alpha_dc.start()
    await bravo_dc.start()
    await alpha_dc.collect(len(log.alpha))  # the copies first (resent after the Logon)
    await bravo_dc.collect(len(log.bravo))

    fills = [m for m in log.alpha if m.get(150) == b"F"]
    assert len(fills) == 4
    aes = await reports(alpha_dc, b"all")
    assert len(aes) == len(fills)
    for ae, fill in zip(aes, fills, strict=True):
        assert (ae.get(880), ae.get(571), ae.get(31), ae.get(32), ae.get(60)) == (
            fill.get(880),
            fill.get(880),
            fill.get(31),
            fill.get(32),
            fill.get(60),
        )
        assert (ae.get(552), ae.get(54), ae.get(37), ae.get(11), ae.get(1)) == (
            b"1",  # ALPHA's broker sees only ALPHA's side of a trade with BRAVO
            fill.get(54),
            fill.get(37),
            fill.get(11),
            fill.get(1),
        )
    b_fills = [m for m in log.bravo if m.get(150) == b"F"]
    b_aes = await reports(bravo_dc, b"bravo")
    assert [(m.get(880), m.get(37), m.get(1)) for m in b_aes] == [
        (m.get(880), m.get(37), m.get(1)) for m in b_fills
    ]

    ids = [int(m.get(880) or b"0") for m in fills]
    ranged = await reports(alpha_dc, b"range", (880, b"%d-%d" % (ids[1], ids[2])))
    assert [m.get(880) for m in ranged] == [fills[1].get(880), fills[2].get(880)]
    (one,) = await reports(alpha_dc, b"one", (880, b"%d" % ids[3]))
    assert one.get(880) == fills[3].get(880)
    when = fills[2].get(60) or b""
    day = (75, when[:8])
    timed = await reports(alpha_dc, b"time", (580, b"2"), day, (60, when), day, (60, when))
    assert fills[2].get(880) in [m.get(880) for m in timed]
    assert {m.get(60) for m in timed} == {when}
    (none,) = await reports(alpha_dc, b"none", (880, b"%d-" % (ids[3] + 100)))
    assert (none.msg_type, none.get(380), none.get(379)) == (b"j", b"0", b"none")
    (bad,) = await reports(alpha_dc, b"bad", (880, b"x"))
    assert (bad.msg_type, bad.get(380)) == (b"j", b"0")


async def test_a_broker_cannot_enter_orders(venue_factory: VenueFactory, people: People) -> None:
    venue = await venue_factory()
    broker: Broker = people(Broker, venue.port, "ALPHA-DC")
    await broker.start()
    await broker.order(b"x1")
    (rej,) = await broker.collect(1)
    assert (rej.msg_type, rej.get(372), rej.get(380), rej.get(379)) == (b"j", b"D", b"6", b"x1")
    assert not venue.sequencer.engine.orders
