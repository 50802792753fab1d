"""Index price `I`, mark price `M` and funding `F` on the MoldUDP64 feed: layouts, translation
from the core's events, the publisher's book and snapshots, a new session's preamble, and a
feed handler receiving them live and through a snapshot."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.marketdata.harness import TIMEOUT, Venue, instrument, start_feed
from venue import core
from venue.clock import ManualClock
from venue.core import AddInstrument, Engine
from venue.marketdata import fetch_snapshot
from venue.marketdata.book import FeedBook
from venue.marketdata.messages import (
    LENGTHS,
    FundingMsg,
    IndexPriceMsg,
    MalformedMessage,
    MarkPriceMsg,
    decode,
    encode_funding,
    encode_index_price,
    encode_mark_price,
)
from venue.marketdata.translate import FeedTranslator

SetIndexPrice = getattr(core, "SetIndexPrice", None)
SetMarkPrice = getattr(core, "SetMarkPrice", None)
ApplyFunding = getattr(core, "ApplyFunding", None)
needs_derivatives = pytest.mark.skipif(
    SetIndexPrice is None or SetMarkPrice is None or ApplyFunding is None,
    reason="the core has no index/mark/funding commands",
)


def test_layouts_round_trip() -> None:
    i = encode_index_price(3, 1_000, 60_001)
    m = encode_mark_price(3, 2_000, -5)
    f = encode_funding(3, 3_000, -125_000, 60_000)
    assert (len(i), len(m), len(f)) == (19, 19, 27)
    assert (i[:1], m[:1], f[:1]) == (b"I", b"M", b"F")
    assert (LENGTHS[ord("I")], LENGTHS[ord("M")], LENGTHS[ord("F")]) == (19, 19, 27)
    assert i == b"I\x00\x03" + (1_000).to_bytes(8, "big") + (60_001).to_bytes(8, "big")
    assert decode(i) == IndexPriceMsg(3, 1_000, 60_001)
    assert decode(m) == MarkPriceMsg(3, 2_000, -5)
    assert decode(f) == FundingMsg(3, 3_000, -125_000, 60_000)
    for body in (i[:-1], f + b"\x00"):
        with pytest.raises(MalformedMessage):
            decode(body)


@needs_derivatives
def test_translation_book_snapshot_and_preamble() -> None:
    assert SetIndexPrice is not None and SetMarkPrice is not None and ApplyFunding is not None
    engine = Engine()
    engine.apply(AddInstrument(ts=1, instrument=instrument("BTC-PERP", 1000)))
    t = FeedTranslator()
    t.preamble(engine, 1)
    out: list[bytes] = []
    for ts, cmd in (
        (2, SetIndexPrice(symbol="BTC-PERP", price=1001, source="test")),
        (3, SetMarkPrice(symbol="BTC-PERP", price=1002)),
        (4, ApplyFunding(symbol="BTC-PERP", rate_ppb=100_000)),
        (5, SetIndexPrice(symbol="NOPE", price=1)),  # rejected by the core: nothing
    ):
        out += t.on_command(ts, engine.apply(msgspec.structs.replace(cmd, ts=ts)))
    assert [decode(b) for b in out] == [
        IndexPriceMsg(1, 2, 1001),
        MarkPriceMsg(1, 3, 1002),
        FundingMsg(1, 4, 100_000, 1002),
    ]
    book = t.book.by_symbol["BTC-PERP"]
    assert book.index_price == IndexPriceMsg(1, 2, 1001)
    assert book.funding == FundingMsg(1, 4, 100_000, 1002)
    snap = [decode(b) for b in t.book.snapshot_messages(9)]
    assert snap[1:] == [  # after the definition, with their own times
        IndexPriceMsg(1, 2, 1001),
        MarkPriceMsg(1, 3, 1002),
        FundingMsg(1, 4, 100_000, 1002),
    ]
    client = FeedBook()
    for b in t.book.snapshot_messages(9):
        client.apply(decode(b))
    assert client.by_symbol["BTC-PERP"].mark_price == MarkPriceMsg(1, 3, 1002)
    # a new session's preamble names the index (with its own time) and the mark
    fresh = FeedTranslator()
    preamble = [decode(b) for b in fresh.preamble(engine, 7)]
    assert preamble[1:] == [IndexPriceMsg(1, 2, 1001), MarkPriceMsg(1, 7, 1002)]
    assert t.inconsistencies == 0


@needs_derivatives
async def test_feed_handler_receives_prices_live_and_by_snapshot(tmp_path: Path) -> None:
    assert SetIndexPrice is not None and SetMarkPrice is not None and ApplyFunding is not None
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue)
    try:
        venue.add_instruments()
        venue.submit(SetIndexPrice(symbol="BTC-PERP", price=1003, source="test"))
        venue.submit(SetMarkPrice(symbol="BTC-PERP", price=1004))
        venue.submit(ApplyFunding(symbol="BTC-PERP", rate_ppb=-50_000))
        await venue.committed()
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        live = client.books.by_symbol["BTC-PERP"]
        assert live.index_price is not None and live.index_price.price == 1003
        assert live.mark_price is not None and live.mark_price.price == 1004
        assert live.funding is not None
        assert (live.funding.rate_ppb, live.funding.mark) == (-50_000, 1004)
        assert client.books.by_symbol["ETH-PERP"].index_price is None
        _, msgs, _ = await fetch_snapshot("127.0.0.1", pub.snapshot_port, ["BTC-PERP"])
        kinds = [decode(b) for b in msgs]
        assert [type(m) for m in kinds[:4]] == [
            type(kinds[0]), IndexPriceMsg, MarkPriceMsg, FundingMsg,
        ]  # fmt: skip
        assert client.errors == 0 and pub.translator.inconsistencies == 0
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()
