"""Section 12 of fix_specs/RULES_OF_ENGAGEMENT.md (drop copy) cannot rot: its example messages
are valid against the dictionary and are byte for byte what the mapping builds."""

from __future__ import annotations

import re
from pathlib import Path

import msgspec

from tests.dropcopy.conftest import account_setup
from venue.config import instrument_from_config, load_config
from venue.core import AddInstrument, Engine
from venue.core.types import Side
from venue.fix.codec import FixMessage, Framer, encode, parse_utc_timestamp
from venue.fix.dictionary import load_dictionary
from venue.fix.mapping import SessionContext, decode, instrument_table
from venue.fix.mapping_dropcopy import CopyContext, copies
from venue.fix.mapping_trades import (
    TradeQuery,
    TradeRecord,
    TradeSide,
    decode_trade_request,
    trade_capture_report,
)
from venue.fix.validate import validate
from venue.gateway import dropcopy

DOC = Path(__file__).resolve().parents[2] / "fix_specs" / "RULES_OF_ENGAGEMENT.md"
TEXT = DOC.read_text(encoding="utf-8")
SECTION = TEXT[TEXT.index("## 12. Drop copy") :]


def frames(kind: str, text: str = TEXT) -> list[FixMessage]:
    out: list[FixMessage] = []
    for block in re.findall(r"```" + kind + r"\n(.*?)```", text, flags=re.S):
        for line in block.strip().splitlines():
            (item,) = Framer().feed(line.strip().replace("|", "\x01").encode())
            assert isinstance(item, FixMessage), (line, item)
            out.append(item)
    return out


def again(msg: FixMessage, body: list[tuple[int, bytes]]) -> bytes:
    return encode(
        msg.msg_type,
        begin_string=b"FIX.4.4",
        sender=msg.get(49) or b"",
        target=msg.get(56) or b"",
        seq=int(msg.get(34) or 0),
        sending_time=msg.get(52) or b"",
        body=body,
    )


def test_examples_are_valid() -> None:
    msgs = frames("fix-dropcopy")
    assert [m.msg_type for m in msgs] == [b"8", b"AD", b"AE"]
    d = load_dictionary()
    for m in msgs:
        assert validate(m, d) is None, m


def test_the_copy_example_is_the_copy_of_the_order_example() -> None:
    _, nos, _, _ = frames("fix-example")
    (copy, _, _) = frames("fix-dropcopy")
    cfg = load_config(None)
    instruments = [instrument_from_config(i) for i in cfg.instruments]
    engine = Engine()
    for inst in instruments:
        engine.apply(AddInstrument(ts=1, instrument=inst))
    for cmd in account_setup():
        engine.apply(msgspec.structs.replace(cmd, ts=1))
    ctx = SessionContext(session="ALPHA-MM", firm="ALPHA", accounts=("ALPHA-1", "ALPHA-2"))
    table = instrument_table(instruments)
    cmd = decode(nos, ctx, table)
    events = engine.apply(msgspec.structs.replace(cmd, ts=1_795_242_600_001_000_000))
    comp_ids = {s.name: s.client_comp_id for s in cfg.sessions}
    (made,) = copies(1, events, CopyContext(specs=table, comp_ids=comp_ids))
    assert again(copy, made.body) == copy.raw


def test_the_trade_capture_examples() -> None:
    (_, ad, ae) = frames("fix-dropcopy")
    q = decode_trade_request(ad)
    assert isinstance(q, TradeQuery)
    start = parse_utc_timestamp(b"20261121-06:00:00")
    end = parse_utc_timestamp(b"20261121-06:59:59.999")
    assert start is not None and end is not None
    assert (q.from_trade_id, q.from_ts, q.to_ts) == (1, start, end + 999_999)
    cfg = load_config(None)
    table = instrument_table([instrument_from_config(i) for i in cfg.instruments])
    ts = parse_utc_timestamp(b"20261121-06:31:00.004")
    assert ts is not None
    side = TradeSide(Side.SELL, 1, 3, "A-1001", "ALPHA", "ALPHA-1", "ALPHA-MM", False)
    rec = TradeRecord(1, 5, ts, "BTC-PERP", 120_001, 100, (side,))
    body = trade_capture_report(
        rec,
        rec.sides,
        table["BTC-PERP"],
        trade_request_id=b"T-1",
        total=1,
        last=True,
        comp_ids={"ALPHA-MM": "ALPHA-MM"},
    )
    assert again(ae, body) == ae.raw


def test_the_refused_types_are_the_documented_ones() -> None:
    m = re.search(r"Order entry and order questions \(([^)]*)\)", SECTION)
    assert m is not None
    listed = {t.strip().encode() for t in m.group(1).split(",")}
    assert listed == set(dropcopy._ORDER_ENTRY_TYPES)
