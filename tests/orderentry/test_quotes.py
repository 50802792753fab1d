"""Mass quoting over real FIX sessions on 127.0.0.1 (RoE "Mass quotes"): MassQuote with
per-entry refusals and QuoteResponseLevel, fills of quotes as ExecutionReports, QuoteStatus
requests, QuoteCancel, limits, cancel on disconnect and the kill switch. Every message the
venue sends here is checked against fix_specs/FIX44.xml with the project's validator."""

from __future__ import annotations

from collections.abc import Callable

from tests.gateway.conftest import DICTIONARY, wait_until
from tests.orderentry.conftest import Trader, VenueFactory, demo_sessions
from venue.config import QuotingConfig
from venue.fix.codec import FixMessage, Framer, encode
from venue.fix.validate import validate

Traders = Callable[[int, str], Trader]
Entry = tuple[str, str, str | None, str | None, str | None, str | None]


async def logged_on(traders: Traders, port: int, name: str) -> Trader:
    t = traders(port, name)
    await t.connect()
    await t.logon()
    return t


async def got(t: Trader, msg_type: bytes) -> FixMessage:
    """The next `msg_type` message, checked against the published dictionary."""
    m = await t.expect(msg_type)
    assert validate(m, DICTIONARY) is None, m
    return m


async def mass_quote(
    t: Trader, quote_id: str, entries: list[Entry], *, level: str = "2", account: str = ""
) -> None:
    """`entries`: (QuoteEntryID, Symbol, BidPx, BidSize, OfferPx, OfferSize), None = absent."""
    body = [(117, quote_id.encode()), (301, level.encode())]
    if account:
        body.append((1, account.encode()))
    body += [(296, b"1"), (302, b"S1"), (304, b"%d" % len(entries)), (295, b"%d" % len(entries))]
    for entry_id, symbol, bid_px, bid_size, offer_px, offer_size in entries:
        body += [(299, entry_id.encode()), (55, symbol.encode())]
        for tag, value in ((132, bid_px), (133, offer_px), (134, bid_size), (135, offer_size)):
            if value is not None:
                body.append((tag, value.encode()))
    await t.send(b"i", body)


def entries_of(ack: FixMessage) -> list[tuple[bytes, bytes | None]]:
    """(QuoteEntryID, QuoteEntryRejectReason or None) per acknowledged entry."""
    out: list[tuple[bytes, bytes | None]] = []
    for tag, value in ack.fields:
        if tag == 299:
            out.append((value, None))
        elif tag == 368:
            out[-1] = (out[-1][0], value)
    return out


async def test_mass_quote_fills_status_and_cancel(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")
    await bravo.new_order("b0", "2", "1", "61000", symbol="BTC-27MAR27")
    await got(bravo, b"8")

    await mass_quote(
        alpha,
        "q1",
        [
            ("e1", "BTC-PERP", "59990", "1", "60010", "2"),
            ("e2", "ETH-PERP", "2999", "5", "3001", "5"),
            ("e3", "BTC-27MAR27", "61000", "1", "61010", "1"),  # bid at the best ask: crosses
            ("e4", "BTC-PERP-X", "1", "1", None, None),  # unknown symbol
            ("e5", "ETH-PERP", "2999.01", "1", None, None),  # off the 0.05 tick
        ],
    )
    ack = await got(alpha, b"b")
    assert (ack.get(117), ack.get(297), ack.get(1)) == (b"q1", b"0", b"ALPHA-1")
    assert entries_of(ack) == [
        (b"e1", None),
        (b"e2", None),
        (b"e3", b"8"),
        (b"e4", b"1"),
        (b"e5", b"8"),
    ]
    engine = venue.sequencer.engine
    assert len(engine.orders) == 5  # b0 and the two two-sided quotes

    # a fill of the quote: ClOrdID = QuoteEntryID, 299 and 117 set, on the quoting session
    await bravo.new_order("b1", "2", "0.4", "59990")
    await got(bravo, b"8")
    await got(bravo, b"8")
    fill = await got(alpha, b"8")
    assert (fill.get(150), fill.get(11), fill.get(299), fill.get(117)) == (
        b"F",
        b"e1",
        b"e1",
        b"q1",
    )
    assert (fill.get(54), fill.get(32), fill.get(151), fill.get(1057)) == (
        b"1",
        b"0.4",
        b"0.6",
        b"N",
    )

    # level 1: no acknowledgement when every entry is accepted; the update is quiet
    await mass_quote(alpha, "q2", [("e6", "BTC-PERP", "59990", "0.5", "60005", "2")], level="1")
    await alpha.send(b"a", [(649, b"st1"), (55, b"BTC-PERP")])
    report = await got(alpha, b"AI")  # the status arrives first: no ack was sent for q2
    assert (report.get(649), report.get(117), report.get(299), report.get(297)) == (
        b"st1",
        b"q2",
        b"e6",
        b"0",
    )
    assert (report.get(132), report.get(134), report.get(133), report.get(135)) == (
        b"59990",
        b"0.5",
        b"60005",
        b"2",
    )
    await alpha.send(b"a", [(649, b"st2")])
    symbols = {(await got(alpha, b"AI")).get(55) for _ in range(2)}
    assert symbols == {b"BTC-PERP", b"ETH-PERP"}

    # QuoteCancel type 1 (one instrument) then 4 (all), acknowledged with QuoteStatus 1 and 4
    await alpha.send(b"Z", [(117, b"c1"), (298, b"1"), (301, b"2"), (295, b"1"), (55, b"ETH-PERP")])
    ack = await got(alpha, b"b")
    assert (ack.get(297), ack.get(117)) == (b"1", b"c1")
    assert engine.quotes.live("ALPHA-MM", "ETH-PERP") == (None, None)
    await alpha.send(b"Z", [(117, b"c2"), (298, b"4"), (301, b"2")])
    assert (await got(alpha, b"b")).get(297) == b"4"
    assert engine.quotes.session_quotes("ALPHA-MM") == []
    await alpha.send(b"a", [(649, b"st3")])
    assert (await got(alpha, b"AI")).get(297) == b"9"


async def test_whole_message_refusals_and_limits(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    limits = {"quoting": QuotingConfig(max_entries_per_message=2, max_quoted_instruments=1)}
    venue = await venue_factory(demo_sessions(**{"ALPHA-MM": limits}))
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    three = [(f"e{i}", "BTC-PERP", "59990", "1", None, None) for i in range(3)]
    await mass_quote(alpha, "q1", three)
    ack = await got(alpha, b"b")
    assert (ack.get(297), ack.get(300)) == (b"5", b"3")
    await mass_quote(alpha, "q2", three[:1], account="BRAVO-1")  # not this session's account
    ack = await got(alpha, b"b")
    assert (ack.get(297), ack.get(300)) == (b"5", b"9")
    await mass_quote(
        alpha,
        "q3",
        [("a", "BTC-PERP", "59990", "1", None, None), ("b", "ETH-PERP", "2999", "1", None, None)],
        level="1",
    )
    ack = await got(alpha, b"b")  # level 1: only the refused entry is listed
    assert entries_of(ack) == [(b"b", b"3")]
    assert venue.sequencer.engine.orders and len(venue.sequencer.engine.orders) == 1


async def test_disconnect_and_kill_switch_pull_quotes(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    venue = await venue_factory()
    engine = venue.sequencer.engine
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    await mass_quote(alpha, "q1", [("e1", "BTC-PERP", "59990", "1", "60010", "1")])
    await got(alpha, b"b")
    assert venue.order_entry.cancel_all(session="ALPHA-MM", operator="ops") == 2
    canceled = [await got(alpha, b"8") for _ in range(2)]
    assert {(m.get(150), m.get(11), m.get(299)) for m in canceled} == {(b"4", b"e1", b"e1")}
    await mass_quote(alpha, "q2", [("e2", "BTC-PERP", "59990", "1", "60010", "1")])
    await got(alpha, b"b")
    assert len(engine.orders) == 2
    await alpha.close()
    await wait_until(lambda: not engine.orders)


async def test_drop_copy_sees_quote_sides(venue_factory: VenueFactory, traders: Traders) -> None:
    """The order-entry side stays quiet on placement; the drop-copy mapping shows the side
    with ClOrdID = QuoteEntryID (checked against the dictionary in tests/dropcopy too)."""
    from venue.fix.mapping_dropcopy import CopyContext, copies

    venue = await venue_factory()
    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    seen: list[tuple[int, list[object]]] = []
    venue.sequencer.subscribe(lambda seq, ts, cmd, events: seen.append((seq, events)))
    await mass_quote(alpha, "q1", [("e1", "BTC-PERP", "59990", "1", "60010", "1")])
    await got(alpha, b"b")
    await wait_until(lambda: bool(seen))
    ctx = CopyContext(specs=venue.order_entry._instruments(), comp_ids={})
    out = copies(seen[0][0], seen[0][1], ctx)  # type: ignore[arg-type]
    assert len(out) == 2
    for c in out:
        fields = dict(c.body)
        assert (fields[150], fields[11], fields[299], fields[117]) == (b"0", b"e1", b"e1", b"q1")
        raw = encode(
            b"8",
            begin_string=b"FIX.4.4",
            sender=b"VENUE",
            target=b"X",
            seq=1,
            sending_time=b"20261121-08:00:00.000",
            body=list(c.body),
        )
        (m,) = Framer().feed(raw)
        assert isinstance(m, FixMessage) and validate(m, DICTIONARY) is None


async def test_mmp_triggers_notifies_freezes_and_resets_over_fix(
    venue_factory: VenueFactory, traders: Traders
) -> None:
    from venue.config import MmpConfig
    from venue.config_quoting import mmp_commands

    protection = MmpConfig(account="ALPHA-1", underlying="BTC", window_ms=60_000, max_qty="0.5")
    sessions = demo_sessions(**{"ALPHA-MM": {"quoting": QuotingConfig(mmp=[protection])}})
    venue = await venue_factory(sessions)
    engine = venue.sequencer.engine
    instruments = [m.instrument for m in engine.markets.values()]
    (cmd,) = mmp_commands(sessions, instruments, engine.state.mmp)
    assert (cmd.max_qty, cmd.window_ms) == (500, 60_000)  # 0.5 in lots of 0.001
    venue.sequencer.submit(cmd)
    assert mmp_commands(sessions, instruments, engine.state.mmp) == []  # in force: not again

    alpha = await logged_on(traders, venue.port, "ALPHA-MM")
    bravo = await logged_on(traders, venue.port, "BRAVO-MM")
    await mass_quote(
        alpha,
        "q1",
        [
            ("p", "BTC-PERP", "59990", "1", "60010", "1"),
            ("f", "BTC-27MAR27", "60990", "1", "61010", "1"),
            ("e", "ETH-PERP", "2999", "1", "3001", "1"),
        ],
    )
    await got(alpha, b"b")
    await bravo.new_order("b1", "2", "0.5", "59990")  # reaches 0.5 traded on BTC
    fill = await got(alpha, b"8")
    assert fill.get(150) == b"F"
    canceled = [await got(alpha, b"8") for _ in range(4)]  # the BTC quotes, not ETH's
    assert {m.get(55) for m in canceled} == {b"BTC-PERP", b"BTC-27MAR27"}
    assert {m.get(150) for m in canceled} == {b"4"}
    status = await got(alpha, b"U2")
    assert (status.get(1), status.get(311), status.get(5201), status.get(5202)) == (
        b"ALPHA-1",
        b"BTC",
        b"1",
        b"1",
    )
    assert (status.get(5204), status.get(5205), status.get(5203)) == (b"0.5", b"1", None)
    assert [o.symbol for o in engine.orders.values() if o.account == "ALPHA-1"] == [
        "ETH-PERP",
        "ETH-PERP",
    ]

    await mass_quote(alpha, "q2", [("p2", "BTC-PERP", "59990", "1", None, None)], level="1")
    ack = await got(alpha, b"b")
    assert entries_of(ack) == [(b"p2", b"100")]  # frozen
    await alpha.send(b"U1", [(311, b"BTC")])
    reset = await got(alpha, b"U2")
    assert (reset.get(5201), reset.get(1)) == (b"2", b"ALPHA-1")
    await mass_quote(alpha, "q3", [("p3", "BTC-PERP", "59990", "1", None, None)], level="2")
    assert entries_of(await got(alpha, b"b")) == [(b"p3", None)]
