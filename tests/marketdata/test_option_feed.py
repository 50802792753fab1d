"""The feed carries option series: the definition `R` (kind option) followed by the terms
`O` (underlying, CFI, put/call, strike), the model figures `K` and the mark `M` from
`SetOptionMarks`; a snapshot of the feed book repeats `O` and `K`; a late joiner's preamble
(built from engine state) carries them too. Layouts: fix_specs/MARKET_DATA.md."""

from __future__ import annotations

from venue.config import configured_options, load_config
from venue.core import AddInstrument, Engine, SetOptionMarks
from venue.marketdata.book import FeedBook
from venue.marketdata.messages import (
    DefinitionMsg,
    MarkPriceMsg,
    OptionMarksMsg,
    OptionTermsMsg,
    decode,
)
from venue.marketdata.translate import FeedTranslator

MARKS = SetOptionMarks(
    ts=3,
    symbol="BTC-26MAR27-60000-C",
    price=5_123,
    iv_ppb=650_000_000,
    bid_iv_ppb=640_000_000,
    ask_iv_ppb=660_000_000,
    delta=512_000_000,
    gamma=21_000,
    vega=123_450_000,
    theta=-45_600_000,
)
FIGURES = (
    5_123,
    650_000_000,
    640_000_000,
    660_000_000,
    512_000_000,
    21_000,
    123_450_000,
    -45_600_000,
)


def _engine() -> Engine:
    e = Engine()
    for inst in configured_options(load_config()):
        e.apply(AddInstrument(ts=2, instrument=inst))
    return e


def test_definitions_terms_and_marks_on_the_feed() -> None:
    t = FeedTranslator()
    e = Engine()
    inst = configured_options(load_config())[2]  # BTC-26MAR27-60000-C
    bodies = t.on_command(2, e.apply(AddInstrument(ts=2, instrument=inst)))
    d, terms = (decode(b) for b in bodies)
    assert isinstance(d, DefinitionMsg) and d.kind == "option" and d.symbol == inst.symbol
    assert terms == OptionTermsMsg(1, 2, "BTC", "OCEICS", "call", 120_000)
    bodies = t.on_command(3, e.apply(MARKS))
    assert [decode(b) for b in bodies] == [
        MarkPriceMsg(1, 3, 5_123),
        OptionMarksMsg(1, 3, *FIGURES),
    ]
    snap = [decode(b) for b in t.book.snapshot_messages(9)]
    assert OptionTermsMsg(1, 2, "BTC", "OCEICS", "call", 120_000) in snap
    assert OptionMarksMsg(1, 3, *FIGURES) in snap
    # A client book built from the messages keeps the same.
    client = FeedBook()
    for m in snap:
        client.apply(m)
    assert client.by_symbol[inst.symbol].option_marks == OptionMarksMsg(1, 3, *FIGURES)
    assert t.inconsistencies == 0


def test_preamble_carries_terms_and_marks() -> None:
    e = _engine()
    e.apply(MARKS)
    t = FeedTranslator()
    msgs = [decode(b) for b in t.preamble(e, 5)]
    terms = [m for m in msgs if isinstance(m, OptionTermsMsg)]
    assert len(terms) == 6 and [m.put_call for m in terms[:2]] == ["call", "put"]
    assert OptionMarksMsg(3, 5, *FIGURES) in msgs
