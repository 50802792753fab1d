"""Statistics `S` on the MoldUDP64 feed (fix_specs/MARKET_DATA.md section 3.11): the layout byte
for byte, translation from the core's `StatisticsPublished`, and the reusable feed handler
(`venue.marketdata.FeedHandler`) receiving mark, index, funding rate, predicted rate, next
funding time and open interest live and through a snapshot."""

from __future__ import annotations

from pathlib import Path

import msgspec
import pytest

from tests.marketdata.harness import TIMEOUT, Venue, instrument, start_feed
from venue.clock import ManualClock
from venue.core import (
    AddAccount,
    AddInstrument,
    ApplyFunding,
    Deposit,
    Engine,
    NewOrder,
    PublishStatistics,
    SetIndexPrice,
    SetMarkPrice,
    Side,
)
from venue.marketdata import fetch_snapshot
from venue.marketdata.messages import (
    LENGTHS,
    MalformedMessage,
    StatisticsMsg,
    decode,
    encode_statistics,
)
from venue.marketdata.translate import FeedTranslator

NEXT = 1_767_254_400_000_000_000  # 2026-01-01T08:00:00Z


def test_layout_round_trip() -> None:
    msg = StatisticsMsg(2, 1_000, 120_010, 120_000, -125_000, 900, 250_000, NEXT, 1_500)
    body = encode_statistics(msg)
    assert len(body) == LENGTHS[ord("S")] == 67
    field = [
        b"S",
        (2).to_bytes(2, "big"),
        (1_000).to_bytes(8, "big"),
        (120_010).to_bytes(8, "big"),
        (120_000).to_bytes(8, "big"),
        (-125_000).to_bytes(8, "big", signed=True),
        (900).to_bytes(8, "big"),
        (250_000).to_bytes(8, "big"),
        NEXT.to_bytes(8, "big"),
        (1_500).to_bytes(8, "big"),
    ]
    assert body == b"".join(field)
    assert decode(body) == msg
    for bad in (body[:-1], body + b"\x00"):
        with pytest.raises(MalformedMessage):
            decode(bad)


def _trade(n: int, qty: int) -> list[NewOrder]:
    """ALPHA-1 buys `qty` lots from BRAVO-1 at 1000 ticks."""
    common = {"symbol": "BTC-PERP", "price": 1_000, "qty": qty}
    return [
        NewOrder(
            session="BRAVO-MM",
            firm="BRAVO",
            account="BRAVO-1",
            cl_ord_id=f"s{n}",
            side=Side.SELL,
            **common,  # type: ignore[arg-type]
        ),
        NewOrder(
            session="ALPHA-MM",
            firm="ALPHA",
            account="ALPHA-1",
            cl_ord_id=f"b{n}",
            side=Side.BUY,
            **common,  # type: ignore[arg-type]
        ),
    ]


def test_translation_from_the_core_event() -> None:
    engine = Engine()
    cmds = [
        AddInstrument(instrument=instrument("BTC-PERP", 1_000)),
        AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=100),
        AddAccount(firm="BRAVO", account="BRAVO-1", max_leverage=100),
        Deposit(account="ALPHA-1", amount=10**12),
        Deposit(account="BRAVO-1", amount=10**12),
        *_trade(1, 7),
        SetIndexPrice(symbol="BTC-PERP", price=999),
        SetMarkPrice(symbol="BTC-PERP", price=1_001),
        ApplyFunding(symbol="BTC-PERP", rate_ppb=20_000),
    ]
    t = FeedTranslator()
    t.preamble(engine, 1)
    for ts, cmd in enumerate(cmds, start=2):
        t.on_command(ts, engine.apply(msgspec.structs.replace(cmd, ts=ts)))
    funded = len(cmds) + 1
    ts = funded + 1
    cmd = PublishStatistics(ts=ts, symbol="BTC-PERP", predicted_rate_ppb=-3, next_funding_ts=NEXT)
    (body,) = t.on_command(ts, engine.apply(cmd))
    assert decode(body) == StatisticsMsg(1, ts, 1_001, 999, 20_000, funded, -3, NEXT, 7)
    assert t.book.by_symbol["BTC-PERP"].statistics == decode(body)
    assert t.inconsistencies == 0


async def test_feed_handler_receives_statistics_live_and_by_snapshot(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue)
    try:
        venue.add_instruments()
        for cmd in _trade(1, 4):
            venue.submit(cmd)
        venue.submit(SetIndexPrice(symbol="BTC-PERP", price=1_003, source="test"))
        venue.submit(SetMarkPrice(symbol="BTC-PERP", price=1_004))
        venue.submit(ApplyFunding(symbol="BTC-PERP", rate_ppb=-50_000))
        funded = venue.clock.now_ns()
        venue.submit(
            PublishStatistics(symbol="BTC-PERP", predicted_rate_ppb=75_000, next_funding_ts=NEXT)
        )
        at = venue.clock.now_ns()
        await venue.committed()
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        expected = StatisticsMsg(1, at, 1_004, 1_003, -50_000, funded, 75_000, NEXT, 4)
        assert client.books.by_symbol["BTC-PERP"].statistics == expected
        assert client.books.by_symbol["ETH-PERP"].statistics is None
        _, msgs, _ = await fetch_snapshot("127.0.0.1", pub.snapshot_port, ["BTC-PERP"])
        assert expected in [decode(b) for b in msgs]
        assert client.errors == 0 and pub.translator.inconsistencies == 0
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()
