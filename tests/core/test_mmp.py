"""Market-maker protection in the core (RoE "Market-maker protection"): the window, the two
limits, the cancel of the account's quotes on the underlying in the same command, the freeze,
the resets, determinism across a snapshot."""

from __future__ import annotations

import pytest

from tests.core.helpers import SYMBOL, instrument, names, new_engine, order
from tests.core.test_quotes import ack, apply_ok, entry, mq
from venue.core import Engine, Side
from venue.core.events import OrderCanceled
from venue.core.quote_types import MmpTriggered, ResetMmp, SetMmp
from venue.core.types import CancelReason
from venue.core.types import RejectReason as R

BUY, SELL = Side.BUY, Side.SELL
MS = 1_000_000


def protected(**kw: int) -> Engine:
    engine = new_engine(instrument(), instrument("BTC-27MAR27"), instrument("ETH-PERP"))
    limits = {"window_ms": 100, "max_qty": 5, "max_fills": 3, "freeze_ms": 0} | kw
    apply_ok(engine, SetMmp(ts=5, account="A1", underlying="BTC", **limits))
    apply_ok(
        engine,
        mq(
            "q",
            entry("b", (999, 4), (1001, 4)),
            entry("f", (999, 4), (1001, 4), symbol="BTC-27MAR27"),
            entry("e", (999, 4), (1001, 4), symbol="ETH-PERP"),
        ),
    )
    return engine


def hit(engine: Engine, ts: int, qty: int, symbol: str = SYMBOL) -> list[object]:
    return apply_ok(
        engine, order(f"t{ts}", SELL, 999, qty, ts=ts, session="S2", account="A2", symbol=symbol)
    )


def test_below_the_limits_nothing_happens() -> None:
    engine = protected()
    events = hit(engine, 10 * MS, 2)
    assert "MmpTriggered" not in names(events)
    assert len(engine.orders) == 6


def test_traded_quantity_limit_cancels_the_underlyings_quotes_in_the_same_command() -> None:
    engine = protected()
    hit(engine, 10 * MS, 2)
    events = hit(engine, 20 * MS, 3, symbol="BTC-27MAR27")  # 2 + 3 = 5 lots within 100 ms
    trig = events[-1]
    assert isinstance(trig, MmpTriggered)
    assert (trig.trigger, trig.traded_qty, trig.fills, trig.canceled_count) == ("qty", 5, 2, 4)
    assert (trig.frozen_until, trig.sessions) == (0, ["S1"])
    canceled = [e for e in events if isinstance(e, OrderCanceled)]
    assert {e.symbol for e in canceled} == {SYMBOL, "BTC-27MAR27"}
    assert all(e.reason == CancelReason.MMP for e in canceled)
    assert [o.symbol for o in engine.orders.values()] == [
        "ETH-PERP",
        "ETH-PERP",
    ]  # other underlying


def test_fill_count_limit_and_the_window() -> None:
    engine = protected()
    hit(engine, 10 * MS, 1)
    hit(engine, 20 * MS, 1)
    events = hit(engine, 111 * MS, 1)  # the first fill (10 ms) left the 100 ms window
    assert "MmpTriggered" not in names(events)
    events = hit(engine, 115 * MS, 1)  # 20, 111, 115 ms: three fills in the window
    trig = events[-1]
    assert isinstance(trig, MmpTriggered) and trig.trigger == "fills"


def test_frozen_until_reset_then_quotes_again() -> None:
    engine = protected(max_fills=1)
    hit(engine, 10 * MS, 1)
    before = engine.state_hash()
    events = apply_ok(engine, mq("q2", entry("b2", (999, 1), (1001, 1)), ts=20 * MS))
    assert ack(events).entries[0].reason == R.MMP_FROZEN
    assert engine.state_hash() == before  # a refused entry changes nothing
    events = apply_ok(engine, mq("q3", entry("x", (998, 1), symbol="ETH-PERP"), ts=21 * MS))
    assert ack(events).entries[0].reason is None  # another underlying quotes on
    apply_ok(engine, ResetMmp(ts=30 * MS, account="A1", underlying="BTC", session="S1"))
    events = apply_ok(engine, mq("q4", entry("b4", (999, 1), (1001, 1)), ts=31 * MS))
    assert ack(events).entries[0].reason is None


def test_freeze_time_ends_by_itself() -> None:
    engine = protected(max_fills=1, freeze_ms=50)
    events = hit(engine, 10 * MS, 1)
    trig = events[-1]
    assert isinstance(trig, MmpTriggered) and trig.frozen_until == 60 * MS
    events = apply_ok(engine, mq("q2", entry("b2", (999, 1)), ts=59 * MS))
    assert ack(events).entries[0].reason == R.MMP_FROZEN
    events = apply_ok(engine, mq("q3", entry("b3", (999, 1)), ts=60 * MS))
    assert ack(events).entries[0].reason is None


def test_orders_do_not_count_and_are_not_canceled() -> None:
    engine = protected(max_fills=1)
    apply_ok(engine, order("plain", BUY, 1000, 2, ts=6))  # A1's own order, not a quote
    events = apply_ok(engine, order("t", SELL, 1000, 1, ts=7 * MS, session="S2", account="A2"))
    assert "MmpTriggered" not in names(events)
    assert len(engine.orders) == 7  # the quotes and the rest of the order stay


@pytest.mark.parametrize(
    "bad",
    [
        {"window_ms": 100},  # no limit at all
        {"window_ms": -1, "max_qty": 1},
        {"window_ms": 100, "max_qty": 1, "underlying": ""},
        {"window_ms": 100, "max_qty": 1, "account": "NOPE"},
    ],
)
def test_bad_settings_are_refused(bad: dict[str, object]) -> None:
    engine = new_engine()
    before = engine.state_hash()
    fields: dict[str, object] = {"ts": 5, "account": "A1", "underlying": "BTC"} | bad
    events = engine.apply(SetMmp(**fields))  # type: ignore[arg-type]
    assert names(events) == ["AccountCommandRejected"]
    assert engine.state_hash() == before


def test_snapshot_keeps_protection_and_replays_the_same() -> None:
    engine = protected(max_qty=3)
    hit(engine, 10 * MS, 2)
    copy = Engine.restore(engine.snapshot())
    assert copy.state_hash() == engine.state_hash()
    cmd = order("t2", SELL, 999, 1, ts=20 * MS, session="S2", account="A2")
    assert engine.apply(cmd) == copy.apply(cmd)
    assert isinstance(engine.apply(order("z", BUY, 1, 1, ts=21 * MS)), list)
    assert names(copy.apply(mq("q", entry("b", (999, 1)), ts=22 * MS)))[-1] == "MassQuoteAcked"


def test_removing_protection_keeps_the_snapshot_encoding_unchanged() -> None:
    plain = new_engine()
    engine = new_engine()
    apply_ok(engine, SetMmp(ts=5, account="A1", underlying="BTC", window_ms=10, max_fills=1))
    apply_ok(engine, SetMmp(ts=6, account="A1", underlying="BTC", window_ms=0))
    assert engine.snapshot() == plain.snapshot()
