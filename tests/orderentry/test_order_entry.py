"""Order entry over real FIX sessions on 127.0.0.1: life cycles, fills across firms, cancel and
replace races, reject paths, entitlements, cancel on disconnect, the kill switch, status and
security list requests."""

from __future__ import annotations

import time
from collections.abc import Callable

import pytest

from tests.gateway.conftest import wait_until
from tests.orderentry.conftest import Trader, VenueFactory, demo_sessions
from venue.fix.codec import encode, format_utc_timestamp

Traders = Callable[[int, str], Trader]


async def logged_on(traders: Traders, port: int, name: str) -> Trader:
    t = traders(port, name)
    await t.connect()
    await t.logon()
    return t


async def test_order_rests_then_trades_partially_across_firms(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")

    await alpha.new_order("a1", "2", "1.5", "60000.5", t1="ALPHA-2", t18="6")
    new = await alpha.expect(b"8")
    assert (new.get(150), new.get(39), new.get(11), new.get(1)) == (b"0", b"0", b"a1", b"ALPHA-2")
    assert (new.get(38), new.get(44), new.get(151), new.get(18)) == (
        b"1.5",
        b"60000.5",
        b"1.5",
        b"6",
    )
    order_id = new.get(37)
    assert order_id is not None and order_id.isdigit()

    await bravo.new_order("b1", "1", "0.5", "60001")
    b_new = await bravo.expect(b"8")
    b_fill = await bravo.expect(b"8")
    a_fill = await alpha.expect(b"8")
    assert (b_new.get(150), b_fill.get(150), a_fill.get(150)) == (b"0", b"F", b"F")
    assert (b_fill.get(39), b_fill.get(31), b_fill.get(32), b_fill.get(1057)) == (
        b"2",
        b"60000.5",
        b"0.5",
        b"Y",
    )
    assert (a_fill.get(39), a_fill.get(151), a_fill.get(14), a_fill.get(6)) == (
        b"1",
        b"1",
        b"0.5",
        b"60000.5",
    )
    assert a_fill.get(37) == order_id
    assert a_fill.get(880) == b_fill.get(880)
    assert len({new.get(17), b_new.get(17), b_fill.get(17), a_fill.get(17)}) == 4

    await alpha.replace("a2", "a1", "2", "60002")
    rep = await alpha.expect(b"8")
    assert (rep.get(150), rep.get(39), rep.get(11), rep.get(41), rep.get(151)) == (
        b"5",
        b"1",
        b"a2",
        b"a1",
        b"1.5",
    )

    await alpha.cancel("a3", "a2")
    cxl = await alpha.expect(b"8")
    assert (cxl.get(150), cxl.get(39), cxl.get(41), cxl.get(14), cxl.get(151)) == (
        b"4",
        b"4",
        b"a2",
        b"0.5",
        b"0",
    )
    assert venue.live_orders("ALPHA-MM") == 0


async def test_cancel_of_a_filled_order_is_too_late(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")
    await alpha.new_order("a1", "2", "1", "60000")
    order_id = (await alpha.expect(b"8")).get(37)
    await bravo.new_order("b1", "1", "1", "60000")
    await bravo.expect(b"8")
    await bravo.expect(b"8")
    fill = await alpha.expect(b"8")
    assert fill.get(39) == b"2"
    # the cancel raced the fill and lost: by OrderID it is "too late", by ClOrdID "unknown"
    await alpha.cancel("a2", "a1", order_id=order_id.decode() if order_id else "")
    rej = await alpha.expect(b"9")
    assert (rej.get(434), rej.get(102), rej.get(11), rej.get(41)) == (b"1", b"0", b"a2", b"a1")
    await alpha.cancel("a3", "a1")
    rej = await alpha.expect(b"9")
    assert rej.get(102) == b"1"
    await alpha.replace("a4", "a1", "2", "60000")
    rej = await alpha.expect(b"9")
    assert (rej.get(434), rej.get(102)) == (b"2", b"1")


async def test_reject_paths(venue_factory: VenueFactory, traders: Traders) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    cases = [
        ({"price": "60000.25"}, b"8", b"103", b"99"),  # off tick
        ({"qty": "0.0001"}, b"8", b"103", b"13"),  # off lot
        ({"t1": "BRAVO-1"}, b"8", b"103", b"15"),  # not entitled
        ({"symbol": "DOGE-PERP"}, b"8", b"103", b"1"),  # unknown symbol
        ({"price": "90000"}, b"8", b"103", b"99"),  # outside the band (core)
        ({"t59": "6"}, b"j", b"380", b"5"),  # GTD without ExpireTime
        ({"t59": "2"}, b"8", b"103", b"11"),  # a FIX TimeInForce the venue does not support
        ({"t8000": "7"}, b"3", b"373", b"5"),  # not in the dictionary: the session layer's Reject
    ]
    for n, (over, msg_type, tag, value) in enumerate(cases):
        args = {"qty": "1", "price": "60000", **over}
        qty, price = args.pop("qty"), args.pop("price")
        await alpha.new_order(f"r{n}", "1", qty, price, **args)
        reply = await alpha.expect(msg_type)
        assert reply.get(int(tag)) == value, (over, reply)
        if msg_type == b"8":
            assert (reply.get(150), reply.get(39), reply.get(11)) == (b"8", b"8", f"r{n}".encode())
            assert reply.get(58)
    # a duplicate ClOrdID while the first order lives
    await alpha.new_order("dup", "1", "1", "59000")
    assert (await alpha.expect(b"8")).get(150) == b"0"
    await alpha.new_order("dup", "1", "1", "59000")
    rej = await alpha.expect(b"8")
    assert (rej.get(150), rej.get(103)) == (b"8", b"6")
    # a message type order entry does not support
    await alpha.send(b"AD", [(568, b"t1"), (569, b"0")])
    assert (await alpha.expect(b"j")).get(380) == b"3"


async def test_entitlements(venue_factory: VenueFactory, traders: Traders) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")
    await alpha.new_order("a1", "2", "1", "60500")
    order_id = (await alpha.expect(b"8")).get(37) or b""
    # BRAVO cannot cancel, replace or even see ALPHA's order
    await bravo.cancel("x1", "a1", order_id=order_id.decode())
    assert (await bravo.expect(b"9")).get(102) == b"1"
    await bravo.replace("x2", "a1", "1", "60000")
    assert (await bravo.expect(b"9")).get(102) == b"1"
    await bravo.send(b"H", [(11, b"a1"), (37, order_id), (55, b"BTC-PERP"), (54, b"2")])
    status = await bravo.expect(b"8")
    assert (status.get(150), status.get(39), status.get(103)) == (b"I", b"8", b"5")
    await bravo.send(b"q", [(11, b"m1"), (530, b"7"), (60, format_utc_timestamp(time.time_ns()))])
    report = await bravo.expect(b"r")
    assert (report.get(531), report.get(533)) == (b"7", b"0")
    assert venue.live_orders("ALPHA-MM") == 1
    # ALPHA sees its own order
    await alpha.send(b"H", [(11, b"a1"), (55, b"BTC-PERP"), (54, b"2"), (790, b"s1")])
    status = await alpha.expect(b"8")
    assert (status.get(150), status.get(39), status.get(37), status.get(790)) == (
        b"I",
        b"0",
        order_id,
        b"s1",
    )


async def test_mass_status_and_mass_cancel(venue_factory: VenueFactory, traders: Traders) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    for n, px in enumerate(["59000", "59500", "59900"]):
        await alpha.new_order(f"o{n}", "1", "1", px)
        await alpha.expect(b"8")
    await alpha.send(b"AF", [(584, b"ms1"), (585, b"7")])
    reports = [await alpha.expect(b"8") for _ in range(3)]
    assert [r.get(11) for r in reports] == [b"o0", b"o1", b"o2"]
    assert [r.get(912) for r in reports] == [b"N", b"N", b"Y"]
    assert {r.get(911) for r in reports} == {b"3"}
    now = format_utc_timestamp(time.time_ns())
    await alpha.send(b"q", [(11, b"m1"), (530, b"1"), (55, b"BTC-PERP"), (60, now)])
    cancels = [await alpha.expect(b"8") for _ in range(3)]
    assert {c.get(150) for c in cancels} == {b"4"}
    report = await alpha.expect(b"r")
    assert (report.get(11), report.get(530), report.get(531), report.get(533)) == (
        b"m1",
        b"1",
        b"1",
        b"3",
    )


async def test_mass_cancel_with_an_account_cancels_only_that_accounts_orders(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    """RoE section 6: Account (1) filters an OrderMassCancelRequest (it used to be refused by
    the dictionary with 35=3 373=2 before the venue read it)."""
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    for cl_ord_id, account in (("k1", "ALPHA-1"), ("k2", "ALPHA-2"), ("k3", "ALPHA-1")):
        await alpha.new_order(cl_ord_id, "1", "1", "59000", t1=account)
        assert (await alpha.expect(b"8")).get(39) == b"0"
    now = format_utc_timestamp(time.time_ns())
    await alpha.send(b"q", [(11, b"m1"), (530, b"7"), (1, b"ALPHA-1"), (60, now)])
    cancels = [await alpha.expect(b"8") for _ in range(2)]
    assert sorted((c.get(11), c.get(150), c.get(1)) for c in cancels) == [
        (b"k1", b"4", b"ALPHA-1"),
        (b"k3", b"4", b"ALPHA-1"),
    ]
    report = await alpha.expect(b"r")
    assert (report.get(531), report.get(533)) == (b"7", b"2")
    assert [o.cl_ord_id for o in venue.sequencer.engine.by_session["ALPHA-MM"].values()] == ["k2"]


async def test_security_list(venue_factory: VenueFactory, traders: Traders) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    await alpha.send(b"x", [(320, b"sl1"), (559, b"4")])
    sl = await alpha.expect(b"y")
    assert (sl.get(320), sl.get(560), sl.get(146)) == (b"sl1", b"0", b"3")
    assert sl.get_all(55) == [b"BTC-PERP", b"ETH-PERP", b"BTC-27MAR27"]
    assert sl.get_all(969) == [b"0.5", b"0.05", b"0.5"]
    await alpha.send(b"x", [(320, b"sl2"), (559, b"0"), (55, b"NOPE")])
    assert (await alpha.expect(b"y")).get(560) == b"2"


async def test_cancel_on_disconnect(venue_factory: VenueFactory, traders: Traders) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")
    await alpha.new_order("a1", "2", "1", "60500")
    await alpha.expect(b"8")
    await bravo.new_order("b1", "1", "1", "59500")
    await bravo.expect(b"8")
    await alpha.close()  # connection dropped, no Logout
    await wait_until(lambda: venue.live_orders("ALPHA-MM") == 0)
    assert venue.live_orders("BRAVO-MM") == 1


async def test_cancel_on_disconnect_off_by_logon_tag(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    venue = await venue_factory()
    alpha = traders(venue.port, "ALPHA-MM")
    await alpha.connect()
    await alpha.send(b"A", [(98, b"0"), (108, b"30"), (5001, b"N")])
    await alpha.expect(b"A")
    await alpha.new_order("a1", "2", "1", "60500")
    await alpha.expect(b"8")
    await alpha.close()
    await wait_until(lambda: venue.gateway.slots["ALPHA-MM"].connection is None)
    assert venue.live_orders("ALPHA-MM") == 1


async def test_clean_logout_keeps_orders_unless_configured(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    await alpha.new_order("a1", "2", "1", "60500")
    await alpha.expect(b"8")
    await alpha.send(b"5")
    await alpha.expect(b"5")
    await alpha.closed()
    await wait_until(lambda: venue.gateway.slots["ALPHA-MM"].connection is None)
    assert venue.live_orders("ALPHA-MM") == 1


async def test_kill_switch(venue_factory: VenueFactory, traders: Traders) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")
    await alpha.new_order("a1", "2", "1", "60500", t1="ALPHA-1")
    await alpha.new_order("a2", "2", "1", "60600", t1="ALPHA-2")
    await alpha.new_order("a3", "2", "1", "3100", symbol="ETH-PERP", t1="ALPHA-2")
    await bravo.new_order("b1", "1", "1", "59500")
    for _ in range(3):
        await alpha.expect(b"8")
    await bravo.expect(b"8")
    oe = venue.order_entry
    assert oe.cancel_all(account="ALPHA-2", symbol="BTC-PERP", operator="ops") == 1
    assert (await alpha.expect(b"8")).get(11) == b"a2"
    assert oe.cancel_all(firm="BRAVO", operator="ops") == 1
    assert (await bravo.expect(b"8")).get(150) == b"4"
    assert oe.cancel_all(session="ALPHA-MM", operator="ops") == 2
    got = {(await alpha.expect(b"8")).get(11) for _ in range(2)}
    assert got == {b"a1", b"a3"}
    assert oe.cancel_all() == 0
    with pytest.raises(ValueError):
        oe.cancel_all(session="NOPE")


async def test_reports_survive_a_restart_by_resend(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    """Reports sent while connected are stored: after a restart, a ResendRequest gets them."""
    venue = await venue_factory(demo_sessions())
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")  # venue seq 1
    await alpha.new_order("a1", "2", "1", "60500")  # ER seq 2
    first = await alpha.expect(b"8")
    await alpha.close()
    await wait_until(lambda: venue.gateway.slots["ALPHA-MM"].connection is None)
    db = venue.journal.path
    await venue.stop()
    again = await venue_factory(demo_sessions(), db=db)
    alpha2 = traders(again.port, "ALPHA-MM")
    alpha2.next_out = alpha.next_out
    await alpha2.connect()
    await alpha2.logon()
    await alpha2.send(b"2", [(7, b"2"), (16, b"2")])
    resent = await alpha2.expect(b"8")
    assert (resent.get(43), resent.get(17), resent.get(37)) == (b"Y", first.get(17), first.get(37))


async def test_fill_while_disconnected_is_delivered_by_resend(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    sessions = demo_sessions(**{"ALPHA-MM": {"cancel_on_disconnect": False}})
    venue = await venue_factory(sessions)
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")  # venue seq 1
    await alpha.new_order("a1", "2", "1", "60000")  # ER seq 2
    await alpha.expect(b"8")
    await alpha.close()
    await wait_until(lambda: venue.gateway.slots["ALPHA-MM"].connection is None)
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")
    await bravo.new_order("b1", "1", "1", "60000")
    await bravo.expect(b"8")
    await bravo.expect(b"8")
    alpha2 = traders(venue.port, "ALPHA-MM")
    alpha2.next_out = alpha.next_out
    await alpha2.connect()
    logon = await alpha2.logon()
    assert logon.get(34) == b"4"  # the fill took seq 3 while ALPHA was away
    await alpha2.send(b"2", [(7, b"3"), (16, b"3")])
    fill = await alpha2.expect(b"8")
    assert (fill.get(34), fill.get(150), fill.get(43)) == (b"3", b"F", b"Y")


async def test_reports_of_commands_submitted_elsewhere_are_routed(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    """An expiry submitted by someone else (risk monitor, scheduler) reaches the owner session
    through the sequencer's subscriber, after commit."""
    from venue.core import ExpireOrders

    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    await alpha.new_order("d1", "1", "1", "59000", t59="0")
    await alpha.new_order("g1", "1", "1", "59000", t59="1")
    await alpha.expect(b"8")
    await alpha.expect(b"8")
    venue.sequencer.submit(ExpireOrders(include_day=True))
    expired = await alpha.expect(b"8")
    assert (expired.get(150), expired.get(39), expired.get(11)) == (b"C", b"C", b"d1")
    assert venue.live_orders("ALPHA-MM") == 1


async def test_poss_resend_of_an_order_already_seen_is_ignored(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    await alpha.new_order("p1", "1", "1", "59000")
    assert (await alpha.expect(b"8")).get(150) == b"0"

    async def poss_resend(cl_ord_id: bytes) -> None:
        assert alpha.writer is not None
        now = format_utc_timestamp(time.time_ns())
        body = [(11, cl_ord_id), (55, b"BTC-PERP"), (54, b"1"), (60, now), (38, b"1")]
        body += [(40, b"2"), (44, b"59000")]
        raw = encode(
            b"D",
            begin_string=b"FIX.4.4",
            sender=b"ALPHA-MM",
            target=b"VENUE",
            seq=alpha.next_out,
            sending_time=now,
            body=body,
            extra_header=[(97, b"Y")],
        )
        alpha.next_out += 1
        alpha.writer.write(raw)
        await alpha.writer.drain()

    await poss_resend(b"p1")  # already seen: ignored, no answer
    await poss_resend(b"p2")  # not seen: processed normally
    nxt = await alpha.expect(b"8")
    assert (nxt.get(11), nxt.get(150)) == (b"p2", b"0")
    assert venue.live_orders("ALPHA-MM") == 2


async def test_replace_and_request_refusals(venue_factory: VenueFactory, traders: Traders) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    await alpha.new_order("a1", "2", "1", "60500")
    await alpha.expect(b"8")
    await alpha.replace("a2", "a1", "1", "60500.2")  # off the tick
    rej = await alpha.expect(b"9")
    assert (rej.get(434), rej.get(102), rej.get(39)) == (b"2", b"99", b"8")
    assert b"tick" in (rej.get(58) or b"")
    await alpha.replace("a2", "a1", "1.0005", "60500")  # off the lot
    assert (await alpha.expect(b"9")).get(102) == b"99"
    # a replace naming another instrument than the order's is refused, not re-scaled
    now = format_utc_timestamp(time.time_ns())
    body = [(41, b"a1"), (11, b"a3"), (55, b"ETH-PERP"), (54, b"2"), (60, now)]
    await alpha.send(b"G", [*body, (38, b"1"), (40, b"2"), (44, b"3000")])
    rej = await alpha.expect(b"9")
    assert (rej.get(434), rej.get(102), rej.get(39)) == (b"2", b"99", b"0")
    await alpha.replace("a4", "a1", "0.5", "60500")  # a good one: quantity down, priority kept
    rep = await alpha.expect(b"8")
    assert (rep.get(150), rep.get(38), rep.get(151)) == (b"5", b"0.5", b"0.5")
    # unsupported mass cancel type; mass status with nothing to report
    await alpha.send(b"q", [(11, b"m1"), (530, b"3"), (60, now)])
    report = await alpha.expect(b"r")
    assert (report.get(531), report.get(532)) == (b"0", b"0")
    await alpha.send(b"AF", [(584, b"s1"), (585, b"1"), (55, b"ETH-PERP")])
    status = await alpha.expect(b"8")
    assert (status.get(150), status.get(911), status.get(912)) == (b"I", b"0", b"Y")
    assert venue.live_orders("ALPHA-MM") == 1
