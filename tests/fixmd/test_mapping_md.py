"""venue.fix.mapping_md: MarketDataRequest decoding (every refusal, in the documented order)
and W/X/Y bodies that validate against the venue's dictionary."""

from __future__ import annotations

import pytest

from tests.marketdata.harness import instrument
from venue.fix.codec import FixMessage, Framer, encode
from venue.fix.dictionary import load_dictionary
from venue.fix.mapping_md import (
    CHANGE,
    DELETE,
    NEW,
    MarketDataQuery,
    MarketDataRefusal,
    decode_market_data_request,
    incremental_refresh,
    level_entry,
    reject_body,
    snapshot_full_refresh,
    trade_entry,
)
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.validate import validate

D = load_dictionary()
SYMBOLS = {"BTC-PERP", "ETH-PERP"}
SPEC = InstrumentSpec(instrument("BTC-PERP", 1000))


def message(msg_type: bytes, body: list[tuple[int, bytes]]) -> FixMessage:
    raw = encode(
        msg_type,
        begin_string=b"FIX.4.4",
        sender=b"VENUE",
        target=b"MD1",
        seq=1,
        sending_time=b"20261121-07:00:00.000",
        body=body,
    )
    (m,) = Framer().feed(raw)
    assert isinstance(m, FixMessage)
    return m


def request(
    *,
    md_req_id: bytes = b"r1",
    kind: bytes = b"1",
    depth: bytes = b"0",
    extra: list[tuple[int, bytes]] | None = None,
    types: tuple[bytes, ...] = (b"0", b"1"),
    symbols: tuple[bytes, ...] = (b"BTC-PERP",),
) -> FixMessage:
    body = [(262, md_req_id), (263, kind), (264, depth), *(extra or [])]
    body += [(267, b"%d" % len(types)), *((269, t) for t in types)]
    body += [(146, b"%d" % len(symbols)), *((55, s) for s in symbols)]
    return message(b"V", body)


def test_a_subscription() -> None:
    m = request(types=(b"0", b"1", b"2", b"0"), symbols=(b"ETH-PERP", b"BTC-PERP", b"ETH-PERP"))
    assert validate(m, D) is None
    q = decode_market_data_request(m, SYMBOLS)
    assert q == MarketDataQuery(
        md_req_id=b"r1",
        subscription_request_type=1,
        market_depth=0,
        entry_types=(b"0", b"1", b"2"),
        symbols=("ETH-PERP", "BTC-PERP"),
    )
    assert q.bids and q.offers and q.trades


def test_unsubscribe_needs_only_the_id() -> None:
    q = decode_market_data_request(request(kind=b"2", depth=b"-5", symbols=(b"NOPE",)), SYMBOLS)
    assert q == MarketDataQuery(md_req_id=b"r1", subscription_request_type=2)


@pytest.mark.parametrize(
    ("kw", "reason"),
    [
        ({"kind": b"7"}, b"4"),
        ({"depth": b"-1"}, b"5"),
        ({"depth": b"x"}, b"5"),
        ({"extra": [(265, b"0")]}, b"6"),
        ({"extra": [(266, b"N")]}, b"7"),
        ({"extra": [(286, b"1")]}, b"B"),
        ({"extra": [(547, b"Y")]}, b"C"),
        ({"extra": [(386, b"1"), (336, b"1")]}, b"9"),
        ({"types": (b"0", b"4")}, b"8"),
        ({"types": ()}, b"8"),
        ({"symbols": (b"BTC-PERP", b"DOGE-PERP")}, b"0"),
        ({"symbols": ()}, b"0"),
        ({"depth": b"-1", "symbols": (b"NOPE",)}, b"5"),  # the first check that fails wins
    ],
)
def test_refusals(kw: dict[str, object], reason: bytes) -> None:
    r = decode_market_data_request(request(**kw), SYMBOLS)  # type: ignore[arg-type]
    assert isinstance(r, MarketDataRefusal)
    assert r.reason == reason
    y = message(b"Y", r.body())
    assert validate(y, D) is None
    assert (y.get(262), y.get(281)) == (b"r1", reason)


def test_snapshot_ignores_the_update_type_and_a_long_id_is_refused() -> None:
    q = decode_market_data_request(request(kind=b"0", extra=[(265, b"0")]), SYMBOLS)
    assert isinstance(q, MarketDataQuery)
    r = decode_market_data_request(request(md_req_id=b"x" * 65), SYMBOLS)
    assert isinstance(r, MarketDataRefusal)
    assert r.reason is None
    assert 281 not in dict(r.body())


def test_bodies_validate() -> None:
    entries = [
        level_entry(None, b"0", SPEC, 999, 1500, 2),
        level_entry(None, b"1", SPEC, 1001, 1, 1),
        trade_entry(False, SPEC, 1_795_242_600_001_000_000, 7, 1000, 3),
    ]
    w = message(b"W", snapshot_full_refresh(b"r1", SPEC, entries))
    assert validate(w, D) is None
    assert w.get_all(270) == [b"499.5", b"500.5", b"500"]
    assert w.get_all(271) == [b"1.5", b"0.001", b"0.003"]
    assert (w.get(272), w.get(273), w.get(880)) == (b"20261121", b"06:30:00.001", b"7")
    empty = message(b"W", snapshot_full_refresh(b"r1", SPEC, []))
    assert validate(empty, D) is None
    incs = [
        level_entry(NEW, b"0", SPEC, 999, 2, 1),
        level_entry(CHANGE, b"1", SPEC, 1001, 5, 3),
        level_entry(DELETE, b"1", SPEC, 1003, 0, 0),
        trade_entry(True, SPEC, 1, 8, 1001, 1),
    ]
    x = message(b"X", incremental_refresh(b"r1", incs))
    assert validate(x, D) is None
    assert x.get_all(279) == [b"0", b"1", b"2", b"0"]
    assert x.get_all(55) == [b"BTC-PERP"] * 4
    assert len(x.get_all(271)) == 3  # a delete carries no size
    y = message(b"Y", reject_body(b"r1", b"0", "unknown symbol"))
    assert validate(y, D) is None
