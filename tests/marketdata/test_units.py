"""Pure parts: message layouts, MoldUDP64 / SoupBinTCP framing, the translator's rules."""

from __future__ import annotations

import contextlib

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.marketdata.harness import instrument
from venue.core import (
    AddAccount,
    AddInstrument,
    Deposit,
    Engine,
    NewOrder,
    ReplaceOrder,
    Side,
    TimeInForce,
)
from venue.marketdata.book import BookError, FeedBook
from venue.marketdata.framing import (
    END_OF_SESSION,
    MAX_PACKET,
    MalformedPacket,
    PacketBuilder,
    SoupReader,
    decode_packet,
    decode_request,
    encode_login_request,
    encode_packet,
    parse_login_request,
    session_bytes,
    soup,
)
from venue.marketdata.messages import (
    LENGTHS,
    SIDE_BUY,
    SIDE_SELL,
    AddOrderMsg,
    DefinitionMsg,
    DeleteOrderMsg,
    ExecutedMsg,
    MalformedMessage,
    ModifyOrderMsg,
    StatusMsg,
    decode,
    encode_add,
    encode_definition_msg,
    encode_delete,
    encode_executed,
    encode_modify,
    encode_snapshot_complete,
    encode_status,
)
from venue.marketdata.publisher import MessageHistory, derive_session
from venue.marketdata.translate import FeedTranslator

u16 = st.integers(0, 2**16 - 1)
u64 = st.integers(0, 2**64 - 1)
i64 = st.integers(-(2**63), 2**63 - 1)
sides = st.sampled_from([SIDE_BUY, SIDE_SELL])


@given(u16, u64, u64, sides, i64, i64)
def test_add_roundtrip(loc: int, ts: int, oid: int, side: int, px: int, qty: int) -> None:  # noqa: PLR0917
    body = encode_add(loc, ts, oid, side, px, qty)
    assert len(body) == LENGTHS[body[0]] == 36
    assert decode(body) == AddOrderMsg(loc, ts, oid, side, px, qty)


@given(u16, u64, u64, u64, i64, i64, sides)
def test_executed_roundtrip(  # noqa: PLR0917
    loc: int, ts: int, oid: int, tid: int, px: int, qty: int, side: int
) -> None:
    body = encode_executed(loc, ts, oid, tid, px, qty, side)
    assert decode(body) == ExecutedMsg(loc, ts, oid, tid, px, qty, side)


@given(u16, u64, u64, i64, i64, st.booleans())
def test_modify_delete_status_roundtrip(  # noqa: PLR0917
    loc: int, ts: int, oid: int, px: int, qty: int, kept: bool
) -> None:
    assert decode(encode_modify(loc, ts, oid, px, qty, kept)) == ModifyOrderMsg(
        loc, ts, oid, px, qty, kept
    )
    assert decode(encode_delete(loc, ts, oid)) == DeleteOrderMsg(loc, ts, oid)
    assert decode(encode_status(loc, ts, "halted")) == StatusMsg(loc, ts, "halted")


def test_definition_roundtrip() -> None:
    d = DefinitionMsg(
        7,
        123,
        "BTC-27MAR27",
        "future",
        "0.5",
        "0.001",
        "1",
        122000,
        50_000_000,
        10**6,
        1_806_048_000_000_000_000,
        "open",
    )
    body = encode_definition_msg(d)
    assert len(body) == 153
    assert decode(body) == d


@given(st.binary(max_size=200))
def test_decode_garbage_raises_only_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedMessage):
        decode(data)


@given(st.binary(max_size=300))
def test_decode_packet_garbage_raises_only_malformed(data: bytes) -> None:
    with contextlib.suppress(MalformedPacket):
        decode_packet(data)
    with contextlib.suppress(MalformedPacket):
        decode_request(data)


@given(st.binary(max_size=300))
def test_soup_reader_and_login_garbage(data: bytes) -> None:
    try:
        for _kind, payload in SoupReader(max_packet=100).feed(data):
            parse_login_request(payload)
    except MalformedPacket:
        pass


def test_packet_builder_never_exceeds_max_packet() -> None:
    builder = PacketBuilder()
    sess = session_bytes("TEST")
    packets = []
    body = encode_add(1, 2, 3, SIDE_BUY, 4, 5)
    for seq in range(1, 1001):
        if builder.messages and not builder.fits(body):
            packets.append(builder.take(sess))
        builder.add(seq, body)
    packets.append(builder.take(sess))
    assert all(len(p) <= MAX_PACKET for _, _, p in packets)
    assert max(len(p) for _, _, p in packets) > MAX_PACKET - 40
    expected = 1
    for first, count, packet in packets:
        session, seq, n, bodies = decode_packet(packet)
        assert (session, seq, n, first) == (sess, expected, count, expected)
        assert bodies == [body] * count
        expected += count
    assert expected == 1001


def test_heartbeat_and_end_of_session_frames() -> None:
    sess = session_bytes("S1")
    assert decode_packet(encode_packet(sess, 9, [], 0)) == (sess, 9, 0, [])
    assert decode_packet(encode_packet(sess, 9, [], END_OF_SESSION)) == (
        sess,
        9,
        END_OF_SESSION,
        [],
    )
    with pytest.raises(MalformedPacket):
        decode_packet(encode_packet(sess, 9, [], 0) + b"x")


def test_soup_login_roundtrip_and_split_reads() -> None:
    data = encode_login_request("user", "secret", "SESS", 42) + soup(ord("R"))
    reader = SoupReader()
    got = [p for i in range(len(data)) for p in reader.feed(data[i : i + 1])]
    assert [k for k, _ in got] == [ord("L"), ord("R")]
    assert parse_login_request(got[0][1]) == ("user", "secret", "SESS", 42)


def test_snapshot_complete_is_not_a_book_update() -> None:
    with pytest.raises(BookError):
        FeedBook().apply(decode(encode_snapshot_complete(1, 2, 3)))


def _kinds(msgs: list[bytes]) -> list[str]:
    return [chr(m[0]) for m in msgs]


def test_translator_rules_for_aggressors_and_replaces() -> None:
    engine = Engine()
    engine.apply(AddAccount(firm="F", account="A", max_leverage=100))
    engine.apply(Deposit(account="A", amount=10**15))
    tr = FeedTranslator()
    ts = 0

    def run(cmd: object) -> list[bytes]:
        nonlocal ts
        ts += 1
        events = engine.apply(cmd)  # type: ignore[arg-type]
        return tr.on_command(ts, events)

    def order(cl: str, side: Side, price: int, qty: int, **kw: object) -> NewOrder:
        return NewOrder(
            session="S",
            firm="F",
            account="A",
            cl_ord_id=cl,
            symbol="X",
            side=side,
            price=price,
            qty=qty,
            **kw,  # type: ignore[arg-type]
        )

    assert _kinds(run(AddInstrument(instrument=instrument("X", 100)))) == ["R"]
    assert _kinds(run(order("a", Side.SELL, 101, 5))) == ["A"]
    assert _kinds(run(order("b", Side.SELL, 102, 5))) == ["A"]
    # an aggressor that trades then rests: executions on the resting order, then its A
    msgs = run(order("c", Side.BUY, 101, 7))
    assert _kinds(msgs) == ["E", "A"]
    e = decode(msgs[0])
    assert isinstance(e, ExecutedMsg) and (e.qty, e.price, e.aggressor_side) == (5, 101, SIDE_BUY)
    # an IOC that trades and does not rest: no A
    assert _kinds(run(order("d", Side.SELL, 100, 1, tif=TimeInForce.IOC))) == ["E"]
    # replace keeping priority (qty down): one U, priority kept
    m = decode(
        run(
            ReplaceOrder(
                session="S", firm="F", cl_ord_id="b2", orig_cl_ord_id="b", price=102, qty=4
            )
        )[0]
    )
    assert isinstance(m, ModifyOrderMsg) and m.priority_kept and m.qty == 4
    # replace losing priority without trading: one U, priority lost
    m = decode(
        run(
            ReplaceOrder(
                session="S", firm="F", cl_ord_id="b3", orig_cl_ord_id="b2", price=103, qty=4
            )
        )[0]
    )
    assert isinstance(m, ModifyOrderMsg) and not m.priority_kept and m.price == 103
    # replace that crosses: D before the execution, A for the remainder
    msgs = run(
        ReplaceOrder(session="S", firm="F", cl_ord_id="b4", orig_cl_ord_id="b3", price=101, qty=6)
    )
    assert _kinds(msgs) == ["D", "E", "A"]
    assert tr.inconsistencies == 0
    view = tr.book.view()["X"]
    assert view == ([], [(101, [(2, 5)])])


def test_message_history_ring() -> None:
    h = MessageHistory(5)
    h.extend([b"1", b"2", b"3"])
    assert (h.first, h.next_seq) == (1, 4)
    assert [h.get(s) for s in range(1, 4)] == [b"1", b"2", b"3"]
    h.extend([str(i).encode() for i in range(4, 13)])
    assert (h.first, h.next_seq) == (8, 13)
    assert [h.get(s) for s in range(8, 13)] == [b"8", b"9", b"10", b"11", b"12"]


def test_derived_session_names() -> None:
    day = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
    assert derive_session(day) == "2601010000"
    assert derive_session(day + 86_399_900_000_000) == "260101IINZ"  # last tenth of the day
    tenths = {derive_session(day + i * 100_000_000) for i in range(1000)}
    assert len(tenths) == 1000  # a new session name every 100 ms


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32))
def test_translated_stream_rebuilds_the_engine_book(seed: int) -> None:
    """Property: for random flows, (1) the translator's own book, (2) a book built by decoding
    every message, and (3) a book rebuilt from a snapshot of (1) all equal the engine's book,
    checked every few commands."""
    import random

    from tests.marketdata.harness import SYMBOLS, add_accounts, engine_view, random_command

    rng = random.Random(seed)
    engine = Engine()
    add_accounts(engine)
    tr = FeedTranslator()
    client = FeedBook()
    for i, sym in enumerate(SYMBOLS):
        for body in tr.on_command(
            0, engine.apply(AddInstrument(instrument=instrument(sym, 1000 * (i + 1))))
        ):
            client.apply(decode(body))
    for n in range(300):
        ts = n + 1
        cmd = msgspec.structs.replace(random_command(rng, engine, n), ts=ts)
        for body in tr.on_command(ts, engine.apply(cmd)):
            client.apply(decode(body))
        if n % 10 == 9:
            want = engine_view(engine)
            assert tr.book.view() == want
            assert client.view() == want
            rebuilt = FeedBook()
            for body in tr.book.snapshot_messages(ts):
                rebuilt.apply(decode(body))
            assert rebuilt.view() == want
            client.validate()
    assert tr.inconsistencies == 0
