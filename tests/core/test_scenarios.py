"""Scenario tables: order types, time in force, STP modes, replace rules, halts, mass cancel."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.core.helpers import SYMBOL, book_view, instrument, names, new_engine, order
from venue.core import (
    CancelOrder,
    CancelReason,
    CancelRejected,
    Engine,
    Event,
    ExpireOrders,
    Halt,
    InstrumentKind,
    MassCancel,
    MassCancelCompleted,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    OrdType,
    RejectReason,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
    Side,
    StpMode,
    TimeInForce,
)

BUY, SELL = Side.BUY, Side.SELL


def seeded() -> Engine:
    """Asks: 1001 x3 (id 1, S2), 1002 x4 (id 2, S2). Bids: 999 x5 (id 3, S2)."""
    engine = new_engine()
    for cl, side, px, qty in (("a1", SELL, 1001, 3), ("a2", SELL, 1002, 4), ("b1", BUY, 999, 5)):
        engine.apply(order(cl, side, px, qty, session="S2", account="A2"))
    return engine


def cancels(events: list[Event]) -> list[tuple[int, CancelReason]]:
    return [(e.order_id, e.reason) for e in events if isinstance(e, OrderCanceled)]


def fills(events: list[Event]) -> list[tuple[int, int, int, bool]]:
    return [
        (e.order_id, e.last_px, e.last_qty, e.aggressor)
        for e in events
        if isinstance(e, OrderFilled)
    ]


# ---------------------------------------------------------------- order types and TIF

TIF_CASES: list[tuple[str, dict[str, Any], list[str], list[tuple[int, CancelReason]]]] = [
    # name, order fields, event names, cancels
    (
        "gtc_rests_after_partial",
        {"side": BUY, "price": 1001, "qty": 5},
        ["OrderAccepted", "OrderFilled", "OrderFilled"],
        [],
    ),
    (
        "ioc_remainder_canceled",
        {"side": BUY, "price": 1001, "qty": 5, "tif": TimeInForce.IOC},
        ["OrderAccepted", "OrderFilled", "OrderFilled", "OrderCanceled"],
        [(4, CancelReason.IOC_REMAINDER)],
    ),
    (
        "ioc_without_liquidity_canceled",
        {"side": BUY, "price": 1000, "qty": 5, "tif": TimeInForce.IOC},
        ["OrderAccepted", "OrderCanceled"],
        [(4, CancelReason.IOC_REMAINDER)],
    ),
    (
        "fok_fills_across_levels",
        {"side": BUY, "price": 1002, "qty": 7, "tif": TimeInForce.FOK},
        ["OrderAccepted"] + ["OrderFilled"] * 4,
        [],
    ),
    (
        "market_sweeps_then_remainder_canceled",
        {"side": BUY, "ord_type": OrdType.MARKET, "price": 0, "qty": 9},
        ["OrderAccepted"] + ["OrderFilled"] * 4 + ["OrderCanceled"],
        [(4, CancelReason.MARKET_REMAINDER)],
    ),
    (
        "post_only_rests",
        {"side": BUY, "price": 1000, "qty": 1, "post_only": True},
        ["OrderAccepted"],
        [],
    ),
    (
        "day_rests",
        {"side": SELL, "price": 1003, "qty": 1, "tif": TimeInForce.DAY},
        ["OrderAccepted"],
        [],
    ),
    (
        "gtd_rests",
        {"side": SELL, "price": 1003, "qty": 1, "tif": TimeInForce.GTD, "expire_ts": 500},
        ["OrderAccepted"],
        [],
    ),
]


@pytest.mark.parametrize(
    ("fields", "expected", "expected_cancels"),
    [c[1:] for c in TIF_CASES],
    ids=[c[0] for c in TIF_CASES],
)
def test_order_types_and_tif(
    fields: dict[str, Any], expected: list[str], expected_cancels: list[tuple[int, CancelReason]]
) -> None:
    engine = seeded()
    events = engine.apply(order("x", **fields))
    assert names(events) == expected
    assert cancels(events) == expected_cancels
    engine.validate_internal_state()


def test_fill_event_content() -> None:
    engine = seeded()
    events = engine.apply(order("x", BUY, 1002, 5))
    taker = [e for e in events if isinstance(e, OrderFilled) and e.aggressor]
    assert [(e.last_px, e.last_qty, e.cum_qty, e.leaves_qty) for e in taker] == [
        (1001, 3, 3, 2),
        (1002, 2, 5, 0),
    ]
    assert taker[-1].cum_notional == 1001 * 3 + 1002 * 2
    assert len({e.exec_id for e in events}) == len(events)  # each report its own exec id
    assert [e.trade_id for e in taker] == [1, 2]
    assert book_view(engine)[1] == [(2, 1002, 2)]


def test_market_order_never_trades_beyond_band() -> None:
    engine = new_engine()
    engine.apply(order("s1", SELL, 1050, 2, session="S2"))  # at the band edge
    engine.apply(order("s2", SELL, 1040, 2, session="S2"))
    engine.apply(order("ref", SELL, 1000, 1, session="S2"))
    engine.apply(order("hit", BUY, 1000, 1))  # trade at 1000: reference stays 1000
    engine.apply(SetReferencePrice(symbol=SYMBOL, ref_price=995))  # band now 946..1044
    events = engine.apply(order("m", BUY, 0, 10, ord_type=OrdType.MARKET))
    assert [f[1] for f in fills(events) if f[3]] == [1040]
    assert cancels(events) == [(5, CancelReason.MARKET_REMAINDER)]
    assert book_view(engine)[1] == [(1, 1050, 2)]


def test_expire_orders_gtd_and_day() -> None:
    engine = new_engine()
    engine.apply(order("gtd", SELL, 1003, 1, tif=TimeInForce.GTD, expire_ts=500))
    engine.apply(order("day", SELL, 1004, 1, tif=TimeInForce.DAY))
    engine.apply(order("gtc", SELL, 1005, 1))
    assert engine.apply(ExpireOrders(ts=499)) == []
    assert cancels(engine.apply(ExpireOrders(ts=500))) == [(1, CancelReason.EXPIRED)]
    assert cancels(engine.apply(ExpireOrders(ts=501, include_day=True))) == [
        (2, CancelReason.EXPIRED)
    ]
    assert book_view(engine)[1] == [(3, 1005, 1)]


# ---------------------------------------------------------------- self-trade prevention

STP_CASES = [
    # mode, event names, cancels (order_id, reason), resting asks after
    (
        StpMode.CANCEL_RESTING,
        ["OrderAccepted", "OrderCanceled", "OrderFilled", "OrderFilled"],
        [(1, CancelReason.SELF_TRADE)],
        [(2, 1002, 2)],
    ),
    (
        StpMode.CANCEL_AGGRESSOR,
        ["OrderAccepted", "OrderCanceled"],
        [(4, CancelReason.SELF_TRADE)],
        [(1, 1001, 3), (2, 1002, 4)],
    ),
    (
        StpMode.CANCEL_BOTH,
        ["OrderAccepted", "OrderCanceled", "OrderCanceled"],
        [(1, CancelReason.SELF_TRADE), (4, CancelReason.SELF_TRADE)],
        [(2, 1002, 4)],
    ),
]


@pytest.mark.parametrize(("mode", "expected", "expected_cancels", "asks"), STP_CASES)
def test_self_trade_prevention(
    mode: StpMode,
    expected: list[str],
    expected_cancels: list[tuple[int, CancelReason]],
    asks: list[tuple[int, int, int]],
) -> None:
    engine = new_engine()
    engine.apply(order("own", SELL, 1001, 3, stp_id=7))
    engine.apply(order("other", SELL, 1002, 4, firm="F2", session="S3", stp_id=7))
    engine.apply(order("b", BUY, 990, 1))
    events = engine.apply(order("x", BUY, 1002, 2, session="S2", stp_id=7, stp_mode=mode))
    assert names(events) == expected
    assert cancels(events) == expected_cancels
    assert book_view(engine)[1] == asks
    engine.validate_internal_state()


def test_stp_id_is_per_firm() -> None:
    engine = new_engine()
    engine.apply(order("own", SELL, 1001, 3, firm="F2", session="S3", stp_id=7))
    events = engine.apply(order("x", BUY, 1001, 1, stp_id=7))
    assert names(events) == ["OrderAccepted", "OrderFilled", "OrderFilled"]


def test_fok_counts_stp() -> None:
    engine = new_engine()
    engine.apply(order("own", SELL, 1001, 3, stp_id=7))
    engine.apply(order("other", SELL, 1002, 4, session="S3", firm="F2"))
    fok = {"tif": TimeInForce.FOK, "session": "S2", "stp_id": 7}
    before = engine.state_hash()
    rejected = engine.apply(order("x", BUY, 1002, 2, **fok))
    assert isinstance(rejected[0], OrderRejected)
    assert rejected[0].reason == RejectReason.FOK_NOT_FILLABLE
    assert engine.state_hash() == before
    events = engine.apply(order("y", BUY, 1002, 4, stp_mode=StpMode.CANCEL_RESTING, **fok))
    assert cancels(events) == [(1, CancelReason.SELF_TRADE)]
    assert [f[:3] for f in fills(events)] == [(3, 1002, 4), (2, 1002, 4)]


# ---------------------------------------------------------------- replace rules

REPLACE_CASES = [
    # name, (price, qty) for order 1 (ask 1001 x3, ahead of order 4 at 1001), priority kept,
    # asks after (order_id, price, leaves)
    ("qty_down_keeps_priority", (1001, 2), True, [(1, 1001, 2), (4, 1001, 1), (2, 1002, 4)]),
    ("same_qty_keeps_priority", (1001, 3), True, [(1, 1001, 3), (4, 1001, 1), (2, 1002, 4)]),
    ("qty_up_loses_priority", (1001, 5), False, [(4, 1001, 1), (1, 1001, 5), (2, 1002, 4)]),
    ("price_change_loses_priority", (1002, 3), False, [(4, 1001, 1), (2, 1002, 4), (1, 1002, 3)]),
]


@pytest.mark.parametrize(
    ("new", "kept", "asks"), [c[1:] for c in REPLACE_CASES], ids=[c[0] for c in REPLACE_CASES]
)
def test_replace_priority(
    new: tuple[int, int], kept: bool, asks: list[tuple[int, int, int]]
) -> None:
    engine = seeded()
    engine.apply(order("a3", SELL, 1001, 1, session="S2"))
    events = engine.apply(
        ReplaceOrder(
            session="S2", firm="F1", cl_ord_id="r1", orig_cl_ord_id="a1", price=new[0], qty=new[1]
        )
    )
    assert isinstance(events[0], OrderReplaced)
    assert events[0].priority_kept is kept
    assert events[0].orig_cl_ord_id == "a1"
    assert book_view(engine)[1] == asks
    engine.validate_internal_state()


def test_replace_that_crosses_trades_and_keeps_index_order() -> None:
    engine = seeded()
    engine.apply(order("b2", BUY, 998, 2, session="S2"))
    events = engine.apply(
        ReplaceOrder(session="S2", firm="F1", cl_ord_id="r", orig_cl_ord_id="b1", price=1001, qty=5)
    )
    assert names(events) == ["OrderReplaced", "OrderFilled", "OrderFilled"]
    assert book_view(engine)[0] == [(3, 1001, 2), (4, 998, 2)]
    engine.validate_internal_state()


def test_replace_after_partial_fill() -> None:
    engine = seeded()
    engine.apply(order("x", BUY, 1001, 2))  # order 1: cum 2, leaves 1
    before = engine.state_hash()
    low = ReplaceOrder(
        session="S2", firm="F1", cl_ord_id="r", orig_cl_ord_id="a1", price=1001, qty=2
    )
    rejected = engine.apply(low)
    assert isinstance(rejected[0], CancelRejected)
    assert rejected[0].reason == RejectReason.REPLACE_QTY_NOT_ABOVE_CUM_QTY
    assert (rejected[0].cum_qty, rejected[0].leaves_qty) == (2, 1)
    assert engine.state_hash() == before
    ok = engine.apply(
        ReplaceOrder(session="S2", firm="F1", cl_ord_id="r", orig_cl_ord_id="a1", price=1001, qty=6)
    )
    assert isinstance(ok[0], OrderReplaced)
    assert (ok[0].cum_qty, ok[0].leaves_qty) == (2, 4)


# ---------------------------------------------------------------- cancel, entitlement, halts


def test_cancel_by_order_id_from_another_session_of_the_firm() -> None:
    engine = seeded()
    events = engine.apply(CancelOrder(session="S1", firm="F1", cl_ord_id="c", order_id=1))
    assert isinstance(events[0], OrderCanceled)
    assert (events[0].cl_ord_id, events[0].orig_cl_ord_id) == ("c", "a1")
    assert events[0].request_session == "S1"
    assert events[0].session == "S2"


@pytest.mark.parametrize(
    "cmd",
    [
        CancelOrder(session="S3", firm="F2", cl_ord_id="c", order_id=1),
        CancelOrder(session="S2", firm="F2", cl_ord_id="c", orig_cl_ord_id="a1"),
        ReplaceOrder(session="S3", firm="F2", cl_ord_id="c", order_id=1, price=1001, qty=1),
        MassCancel(session="S3", firm="F2"),
    ],
)
def test_a_firm_never_touches_another_firms_orders(cmd: Any) -> None:
    engine = seeded()
    before = book_view(engine)
    events = engine.apply(cmd)
    assert book_view(engine) == before
    if isinstance(events[0], CancelRejected):
        assert events[0].reason == RejectReason.UNKNOWN_ORDER


MASS_CASES = [
    ({}, [1, 2, 3, 4, 5]),
    ({"side": SELL}, [1, 2]),
    ({"account": "A1"}, [4]),
    ({"account": "A2", "side": BUY}, [3]),
    ({"symbol": "ETH-PERP"}, [5]),
    ({"session_only": True}, [4, 5]),
]


@pytest.mark.parametrize(("filters", "canceled"), MASS_CASES)
def test_mass_cancel_filters(filters: dict[str, Any], canceled: list[int]) -> None:
    from tests.core.helpers import instrument

    engine = new_engine(instrument(), instrument("ETH-PERP"))
    for cl, side, px, qty in (("a1", SELL, 1001, 3), ("a2", SELL, 1002, 4), ("b1", BUY, 999, 5)):
        engine.apply(order(cl, side, px, qty, session="S2", account="A2"))
    engine.apply(order("mine", BUY, 998, 1, session="S1", account="A1"))
    engine.apply(order("eth", BUY, 998, 1, session="S1", account="A3", symbol="ETH-PERP"))
    engine.apply(order("f2", BUY, 998, 1, session="S3", firm="F2"))
    events = engine.apply(MassCancel(session="S1", firm="F1", cl_ord_id="m", **filters))
    assert sorted(o for o, _ in cancels(events)) == sorted(canceled)
    done = events[-1]
    assert isinstance(done, MassCancelCompleted)
    assert done.canceled_count == len(canceled)
    engine.validate_internal_state()


def test_halt_rejects_orders_allows_cancels_and_resume_reopens() -> None:
    engine = seeded()
    engine.apply(Halt(symbol=SYMBOL))
    rejected = engine.apply(order("x", BUY, 1001, 1))
    assert isinstance(rejected[0], OrderRejected)
    assert rejected[0].reason == RejectReason.INSTRUMENT_HALTED
    replace = ReplaceOrder(
        session="S2", firm="F1", cl_ord_id="r", orig_cl_ord_id="a1", price=1001, qty=1
    )
    refused = engine.apply(replace)
    assert isinstance(refused[0], CancelRejected)
    assert refused[0].reason == RejectReason.INSTRUMENT_HALTED
    cxl = engine.apply(CancelOrder(session="S2", firm="F1", cl_ord_id="c", orig_cl_ord_id="a1"))
    assert isinstance(cxl[0], OrderCanceled)
    assert len(book_view(engine)[1]) == 1  # the halt kept the other resting orders
    engine.apply(Resume(symbol=SYMBOL))
    assert isinstance(engine.apply(order("y", BUY, 1002, 1))[0], OrderAccepted)


def test_instrument_query_reports_current_reference_and_state() -> None:
    engine = seeded()
    assert engine.instrument("NOPE") is None
    engine.apply(order("x", BUY, 1001, 1))
    engine.apply(Halt(symbol=SYMBOL))
    inst = engine.instrument(SYMBOL)
    assert inst is not None
    assert (inst.ref_price, inst.state) == (1001, "halted")


def test_a_dated_future_stops_trading_at_its_expiry_time_for_replaces_too() -> None:
    """RoE section 5: a dated future stops trading at its expiry time. Between that time and
    the risk monitor's ExpireInstrument, a replace that would cross must be refused like a
    new order at the same time (issue 17 item 2: replaces checked only the state)."""
    fut = "BTC-FUT"
    expiry = 1_000
    engine = new_engine(instrument(), instrument(fut, kind=InstrumentKind.FUTURE, expiry_ts=expiry))
    engine.apply(order("a1", SELL, 1001, 3, symbol=fut, session="S2", account="A2"))
    engine.apply(order("b1", BUY, 999, 2, symbol=fut))
    before = engine.state_hash()
    late = ReplaceOrder(
        ts=expiry, session="S1", firm="F1", cl_ord_id="b2", orig_cl_ord_id="b1", price=1001, qty=2
    )
    out = engine.apply(late)
    assert [(type(e), getattr(e, "reason", None)) for e in out] == [
        (CancelRejected, RejectReason.INSTRUMENT_EXPIRED)
    ]
    assert engine.state_hash() == before  # nothing traded, nothing changed
    new = engine.apply(order("b3", BUY, 1001, 2, symbol=fut, ts=expiry))
    assert [(type(e), getattr(e, "reason", None)) for e in new] == [
        (OrderRejected, RejectReason.INSTRUMENT_EXPIRED)
    ]
    # One tick earlier both may trade.
    early = msgspec.structs.replace(late, ts=expiry - 1)
    assert names(engine.apply(early)) == ["OrderReplaced", "OrderFilled", "OrderFilled"]
