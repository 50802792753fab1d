"""Mass quotes in the core: each rule of RoE "Mass quotes" as a scenario, with expected values
derived from the rule (one bid and one ask per session and instrument, passive, priority kept
only for size down at the same price, atomic entries, quote cancel types 1/3/4)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.core.helpers import SYMBOL, book_view, instrument, names, new_engine, order
from venue.core import Engine, Side
from venue.core.events import OrderAccepted, OrderCanceled, OrderFilled, OrderReplaced
from venue.core.quote_types import (
    MassQuote,
    MassQuoteAcked,
    QuoteCancel,
    QuoteEntry,
    QuotesCanceled,
)
from venue.core.quotes import parse_quote_key, quote_key, underlying
from venue.core.types import RejectReason as R

BUY, SELL = Side.BUY, Side.SELL


def entry(
    entry_id: str, bid: tuple[int, int] = (0, 0), ask: tuple[int, int] = (0, 0), **kw: Any
) -> QuoteEntry:
    fields: dict[str, Any] = {
        "set_id": "S",
        "entry_id": entry_id,
        "symbol": SYMBOL,
        "bid_px": bid[0],
        "bid_size": bid[1],
        "offer_px": ask[0],
        "offer_size": ask[1],
    }
    fields.update(kw)
    return QuoteEntry(**fields)


def mq(quote_id: str, *entries: QuoteEntry, session: str = "S1", **kw: Any) -> MassQuote:
    fields: dict[str, Any] = {
        "ts": 20,
        "session": session,
        "firm": "F1",
        "account": "A1",
        "quote_id": quote_id,
        "entries": list(entries),
        "response_level": 2,
    }
    fields.update(kw)
    return MassQuote(**fields)


def apply_ok(engine: Engine, cmd: Any) -> list[Any]:
    events = engine.apply(cmd)
    engine.validate_internal_state()
    return events


def ack(events: list[Any]) -> MassQuoteAcked:
    assert isinstance(events[-1], MassQuoteAcked)
    return events[-1]


def test_first_quote_rests_two_sides_passively() -> None:
    engine = new_engine()
    events = apply_ok(engine, mq("q1", entry("e1", (999, 3), (1001, 4))))
    assert names(events) == ["OrderAccepted", "OrderAccepted", "MassQuoteAcked"]
    bid, ask = events[0], events[1]
    assert isinstance(bid, OrderAccepted) and isinstance(ask, OrderAccepted)
    assert (bid.side, bid.price, bid.qty, bid.post_only) == (BUY, 999, 3, True)
    assert (ask.side, ask.price, ask.qty) == (SELL, 1001, 4)
    assert parse_quote_key(bid.cl_ord_id) == ("q1", "e1")
    assert ack(events).entries[0].reason is None
    assert book_view(engine) == ([(1, 999, 3)], [(2, 1001, 4)])


def test_size_down_at_same_price_keeps_priority_anything_else_goes_back() -> None:
    engine = new_engine()
    apply_ok(engine, mq("q1", entry("e1", (999, 5), (1001, 5))))  # ids 1 (bid), 2 (ask)
    apply_ok(engine, order("o1", BUY, 999, 1))  # 3: behind the quote's bid
    apply_ok(engine, order("o2", SELL, 1001, 1))  # 4: behind the quote's ask
    events = apply_ok(engine, mq("q2", entry("e2", (999, 2), (1001, 6))))
    bid, ask = events[0], events[1]
    assert isinstance(bid, OrderReplaced) and isinstance(ask, OrderReplaced)
    assert (bid.order_id, bid.qty, bid.priority_kept) == (1, 2, True)  # size down: kept
    assert (ask.order_id, ask.qty, ask.priority_kept) == (2, 6, False)  # size up: to the back
    assert parse_quote_key(bid.cl_ord_id) == ("q2", "e2")
    assert parse_quote_key(bid.orig_cl_ord_id) == ("q1", "e1")
    assert book_view(engine) == ([(1, 999, 2), (3, 999, 1)], [(4, 1001, 1), (2, 1001, 6)])
    # a price change goes to the back of its new level
    apply_ok(engine, order("o3", BUY, 998, 1))  # 5
    apply_ok(engine, mq("q3", entry("e3", (998, 2), (1001, 6))))
    assert book_view(engine)[0] == [(3, 999, 1), (5, 998, 1), (1, 998, 2)]


def test_size_zero_or_missing_side_withdraws_that_side() -> None:
    engine = new_engine()
    apply_ok(engine, mq("q1", entry("e1", (999, 5), (1001, 5))))
    events = apply_ok(engine, mq("q2", entry("e2", (999, 5))))  # no offer: withdrawn
    assert names(events) == ["OrderReplaced", "OrderCanceled", "MassQuoteAcked"]
    canceled = events[1]
    assert isinstance(canceled, OrderCanceled) and canceled.side == SELL
    assert book_view(engine) == ([(1, 999, 5)], [])
    events = apply_ok(engine, mq("q3", entry("e3", (999, 0), (0, 0))))
    assert names(events) == ["OrderCanceled", "MassQuoteAcked"]
    assert book_view(engine) == ([], [])
    assert engine.quotes.live("S1", SYMBOL) == (None, None)


def test_a_crossing_side_refuses_its_entry_only_and_leaves_the_old_quote() -> None:
    engine = new_engine(instrument(), instrument("ETH-PERP"))
    apply_ok(engine, order("o1", SELL, 1000, 1, session="S2", account="A2"))
    apply_ok(engine, mq("q1", entry("e1", (998, 1), (1002, 1))))  # ids 2, 3
    before = book_view(engine)
    events = apply_ok(
        engine,
        mq(
            "q2",
            entry("e2", (1000, 1), (1003, 1)),  # bid at the best ask: would take
            entry("e3", (990, 1), (1010, 1), symbol="ETH-PERP"),
        ),
    )
    results = ack(events).entries
    assert [r.reason for r in results] == [R.QUOTE_WOULD_CROSS, None]
    assert book_view(engine) == before  # e2 refused as a whole: the old quote stays
    assert names(events) == ["OrderAccepted", "OrderAccepted", "MassQuoteAcked"]
    assert not any(isinstance(e, OrderFilled) for e in events)


def test_the_sessions_own_opposite_quote_does_not_count_as_crossing() -> None:
    engine = new_engine()
    apply_ok(engine, mq("q1", entry("e1", (998, 1), (1000, 1))))
    # the bid moves to 1000 while the ask moves up: the old ask at 1000 is being replaced
    events = apply_ok(engine, mq("q2", entry("e2", (1000, 1), (1002, 1))))
    assert ack(events).entries[0].reason is None
    assert book_view(engine) == ([(1, 1000, 1)], [(2, 1002, 1)])


@pytest.mark.parametrize(
    ("quote", "reason"),
    [
        (entry("e", (1001, 1), (1001, 1)), R.INVALID_QUOTE),  # bid not below ask
        (entry("", (999, 1), (1001, 1)), R.INVALID_QUOTE),  # no QuoteEntryID
        (entry("e", (999, 1), (1001, 1), symbol="NOPE"), R.UNKNOWN_INSTRUMENT),
        (entry("e", (999, 11), (1001, 1)), R.QTY_ABOVE_MAXIMUM),
        (entry("e", (900, 1), (1001, 1)), R.PRICE_OUTSIDE_BAND),
        (entry("e", (0, 1), (1001, 1)), R.INVALID_PRICE),
        (entry("e", (999, 1), (1001, -1)), R.INVALID_QUANTITY),
        (entry("e", (999, 1), reason=R.PRICE_OFF_TICK), R.PRICE_OFF_TICK),  # from the edge
    ],
)
def test_entry_refusals_change_nothing(quote: QuoteEntry, reason: R) -> None:
    engine = new_engine()
    before = engine.state_hash()
    events = apply_ok(engine, mq("q", quote))
    assert names(events) == ["MassQuoteAcked"]
    assert ack(events).entries[0].reason == reason
    assert engine.state_hash() == before


def test_halted_instrument_refuses_new_quotes_but_allows_withdrawal() -> None:
    from venue.core.commands import Halt

    engine = new_engine()
    apply_ok(engine, mq("q1", entry("e1", (999, 1), (1001, 1))))
    apply_ok(engine, Halt(ts=15, symbol=SYMBOL))
    events = apply_ok(engine, mq("q2", entry("e2", (998, 1), (1001, 1))))
    assert ack(events).entries[0].reason == R.INSTRUMENT_HALTED
    events = apply_ok(engine, mq("q3", entry("e3")))
    assert ack(events).entries[0].reason is None
    assert book_view(engine) == ([], [])


def test_margin_refuses_an_entry_atomically() -> None:
    from venue.core.commands import AddAccount

    engine = new_engine(instrument(imr_ppb=100_000_000))  # 10 %
    engine.apply(AddAccount(ts=1, firm="F1", account="POOR", max_leverage=10))  # no money
    events = apply_ok(engine, mq("q", entry("e", (999, 1), (1001, 1)), account="POOR"))
    assert ack(events).entries[0].reason == R.INSUFFICIENT_MARGIN
    assert book_view(engine) == ([], [])


def test_quotes_per_session_limit() -> None:
    engine = new_engine(instrument(), instrument("ETH-PERP"))
    events = apply_ok(
        engine,
        mq(
            "q",
            entry("a", (999, 1), (1001, 1)),
            entry("b", (999, 1), (1001, 1), symbol="ETH-PERP"),
            max_quotes=1,
        ),
    )
    assert [r.reason for r in ack(events).entries] == [None, R.QUOTE_LIMIT_EXCEEDED]
    # updating the instrument already quoted stays allowed at the limit
    events = apply_ok(engine, mq("q2", entry("c", (998, 1), (1001, 1)), max_quotes=1))
    assert ack(events).entries[0].reason is None


def test_quote_fills_like_an_order_and_is_replaced_by_its_leaves() -> None:
    engine = new_engine()
    apply_ok(engine, mq("q1", entry("e1", (999, 5), (1001, 5))))
    events = apply_ok(engine, order("t", SELL, 999, 2, session="S2", account="A2"))
    maker = next(e for e in events if isinstance(e, OrderFilled) and not e.aggressor)
    assert (maker.order_id, maker.last_qty, maker.leaves_qty) == (1, 2, 3)
    assert parse_quote_key(maker.cl_ord_id) == ("q1", "e1")
    # new size 3 = the open quantity after the fill: same price, not above leaves: kept
    events = apply_ok(engine, mq("q2", entry("e2", (999, 3), (1001, 5))))
    bid = events[0]
    assert isinstance(bid, OrderReplaced)
    assert (bid.qty, bid.cum_qty, bid.leaves_qty, bid.priority_kept) == (5, 2, 3, True)
    # fully filled: the side is gone, the next entry places a new one
    apply_ok(engine, order("t2", SELL, 999, 3, session="S2", account="A2"))
    assert engine.quotes.live("S1", SYMBOL)[0] is None
    events = apply_ok(engine, mq("q3", entry("e3", (999, 1), (1001, 5))))
    assert isinstance(events[0], OrderAccepted)


def test_quote_cancel_types() -> None:
    engine = new_engine(instrument(), instrument("ETH-PERP"), instrument("BTC-27MAR27"))
    apply_ok(
        engine,
        mq(
            "q",
            entry("a", (999, 1), (1001, 1)),
            entry("b", (999, 1), (1001, 1), symbol="ETH-PERP"),
            entry("c", (999, 1), (1001, 1), symbol="BTC-27MAR27"),
        ),
    )
    assert underlying("BTC-27MAR27") == "BTC"
    events = apply_ok(
        engine,
        QuoteCancel(
            ts=30, session="S1", firm="F1", quote_id="x", cancel_type=1, symbols=["ETH-PERP"]
        ),
    )
    assert names(events) == ["OrderCanceled", "OrderCanceled", "QuotesCanceled"]
    assert {e.symbol for e in events[:2]} == {"ETH-PERP"}
    done = events[-1]
    assert isinstance(done, QuotesCanceled) and done.canceled_count == 2
    events = apply_ok(
        engine,
        QuoteCancel(
            ts=31, session="S1", firm="F1", quote_id="y", cancel_type=3, underlyings=["BTC"]
        ),
    )
    assert [e.order_id for e in events[:-1]] == [1, 2, 5, 6]  # ascending order_id
    events = apply_ok(
        engine, QuoteCancel(ts=32, session="S1", firm="F1", quote_id="z", cancel_type=4)
    )
    assert names(events) == ["QuotesCanceled"]
    assert engine.orders == {}


def test_other_sessions_quotes_are_independent_and_mass_cancel_pulls_quotes() -> None:
    from venue.core.commands import MassCancel

    engine = new_engine()
    apply_ok(engine, mq("q", entry("a", (999, 1), (1002, 1))))
    apply_ok(engine, mq("q", entry("a", (998, 1), (1001, 1)), session="S2", account="A2"))
    assert len(engine.orders) == 4
    apply_ok(engine, QuoteCancel(ts=40, session="S2", firm="F1", quote_id="x", cancel_type=4))
    assert book_view(engine) == ([(1, 999, 1)], [(2, 1002, 1)])
    events = apply_ok(engine, MassCancel(ts=41, session="S1", firm="F1", session_only=True))
    assert names(events) == ["OrderCanceled", "OrderCanceled", "MassCancelCompleted"]
    assert engine.orders == {}


def test_restore_rebuilds_the_quote_index() -> None:
    engine = new_engine(instrument(), instrument("ETH-PERP"))
    apply_ok(
        engine, mq("q", entry("a", (999, 1), (1002, 1)), entry("b", (999, 2), symbol="ETH-PERP"))
    )
    copy = Engine.restore(engine.snapshot())
    copy.validate_internal_state()
    assert copy.state_hash() == engine.state_hash()
    cmd = mq("q2", entry("a2", (999, 1), (1003, 1)), entry("b2", symbol="ETH-PERP"))
    assert engine.apply(cmd) == copy.apply(cmd)
    assert copy.state_hash() == engine.state_hash()


def test_quote_key_is_never_a_fix_value() -> None:
    key = quote_key("Q", "E", BUY, SYMBOL)
    assert "\x01" in key and parse_quote_key(key) == ("Q", "E")
    assert parse_quote_key("plain") is None
