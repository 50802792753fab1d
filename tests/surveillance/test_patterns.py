"""Each pattern: a scenario that must alert (with the documented evidence) and a near miss that
must not; and the normal market-making flow (tests/surveillance/flows.py) that must not alert.

Scenarios run the real core `Engine`; the surveillance engine sees exactly the rows the
sequencer would journal."""

from __future__ import annotations

from typing import Any

import pytest

from tests.surveillance.flows import market_making, market_making_market
from tests.surveillance.market import Market, instrument
from venue.config_surveillance import (
    MarkingConfig,
    SpoofingConfig,
    StuffingConfig,
    SurveillanceConfig,
    WashConfig,
)
from venue.core import (
    ApplyFunding,
    ExpireInstrument,
    InstrumentKind,
    OrderFilled,
    Side,
    TimeInForce,
)
from venue.surveillance import Alert, Surveillance

BUY, SELL = Side.BUY, Side.SELL


def surveil(m: Market, **cfg: Any) -> list[Alert]:
    engine = Surveillance(SurveillanceConfig(**cfg))
    alerts: dict[str, Alert] = {}
    for row in m.rows:
        engine.feed(*row)
        for a in engine.take():
            alerts[a.alert_id] = a
    return list(alerts.values())


def fill_seqs(m: Market) -> list[int]:
    return [seq for seq, _, _, events in m.rows if any(type(e) is OrderFilled for e in events)]


# -- wash trades ---------------------------------------------------------------------------------


def trade(m: Market, seller: str, buyer: str, price: int = 1000, qty: int = 2) -> int:
    """`seller` rests an ask, `buyer` lifts it with an IOC; the seq of the trade."""
    m.order(seller, SELL, price, qty)
    m.order(buyer, BUY, price, qty, tif=TimeInForce.IOC)
    return m.seq


@pytest.mark.parametrize(
    ("seller", "buyer", "relation"),
    [
        ("A-1", "A-1", "same account"),
        ("A-1", "A-2", "same firm"),
        ("P-1", "Q-1", "affiliated firms"),
    ],
)
def test_wash_trade_alerts_for_each_kind_of_common_owner(
    seller: str, buyer: str, relation: str
) -> None:
    m = Market({"A": ["A-1", "A-2"], "P": ["P-1"], "Q": ["Q-1"], "Z": ["Z-1"]})
    trade(m, "Z-1", "A-1")  # an ordinary trade first: no alert
    seq = trade(m, seller, buyer)
    alerts = surveil(m, affiliated_firms=[["P", "Q"]])
    assert len(alerts) == 1, alerts
    a = alerts[0]
    owner = "P+Q" if relation == "affiliated firms" else "A"
    assert (a.pattern, a.owner, a.instrument) == ("wash_trade", owner, "X-PERP")
    assert a.evidence == [seq] and a.alert_id == f"{seq}.1"
    assert relation in a.detail
    assert a.score == 100


def test_wash_trades_of_unrelated_or_unaffiliated_firms_do_not_alert() -> None:
    m = Market({"P": ["P-1"], "Q": ["Q-1"], "Z": ["Z-1"]})
    trade(m, "P-1", "Q-1")
    trade(m, "Z-1", "P-1")
    assert surveil(m) == []  # P and Q are not declared affiliated here


def test_wash_trades_of_one_owner_within_the_window_join_one_alert() -> None:
    m = Market({"A": ["A-1", "A-2"]})
    first = trade(m, "A-1", "A-2")
    m.advance_ms(10_000)
    second = trade(m, "A-2", "A-1")
    m.advance_ms(61_000)  # past window_seconds = 60 after the last one: a new alert
    third = trade(m, "A-1", "A-2")
    alerts = surveil(m, wash=WashConfig(window_seconds=60, min_trades=1))
    assert [a.evidence for a in alerts] == [[first, second], [third]]
    assert alerts[0].alert_id == f"{first}.1" and alerts[1].alert_id == f"{third}.1"


def test_wash_min_trades_is_a_threshold() -> None:
    m = Market({"A": ["A-1", "A-2"]})
    trade(m, "A-1", "A-2")
    trade(m, "A-1", "A-2")
    assert surveil(m, wash=WashConfig(min_trades=3)) == []
    third = trade(m, "A-1", "A-2")
    alerts = surveil(m, wash=WashConfig(min_trades=3))
    assert len(alerts) == 1 and alerts[0].alert_id == f"{third}.1"
    assert len(alerts[0].evidence) == 3


# -- spoofing and layering ---------------------------------------------------------------------


def quiet_book(m: Market) -> None:
    """A two-sided book of 5-lot orders (bids 995..999, asks 1001..1005): usual size 5."""
    for i in range(5):
        m.order("MM-1", BUY, 999 - i, 5)
        m.order("MM-2", SELL, 1001 + i, 5)
    for i in range(20):
        oid = m.order("MM-1", BUY, 990 - i, 5)
        m.cancel("MM-1", oid)


def test_spoofing_alerts_a_large_order_cancelled_fast_after_an_opposite_fill() -> None:
    m = Market({"MM": ["MM-1", "MM-2"], "SP": ["SP-1"]})
    quiet_book(m)
    m.advance_ms(1_000)
    spoof = m.order("SP-1", SELL, 1002, 40)  # 8x the usual 5 lots, 1 tick behind the touch
    placed = m.seq
    m.advance_ms(300)
    m.order("SP-1", BUY, 1001, 5, tif=TimeInForce.IOC)  # lifts the ask: the other side
    bought = m.seq
    m.advance_ms(300)
    m.cancel("SP-1", spoof)
    alerts = surveil(m)
    assert len(alerts) == 1, alerts
    a = alerts[0]
    assert (a.pattern, a.owner, a.instrument) == ("spoofing", "SP", "X-PERP")
    assert a.evidence == [placed, bought, m.seq]
    assert a.score == 40 * 100 // (4 * 5)


def test_layering_several_levels_cancelled_together_is_one_alert() -> None:
    m = Market({"MM": ["MM-1", "MM-2"], "SP": ["SP-1"]})
    quiet_book(m)
    m.advance_ms(1_000)
    for px in (1002, 1003, 1004):
        m.order("SP-1", SELL, px, 30)
    m.advance_ms(200)
    m.order("SP-1", BUY, 1001, 5, tif=TimeInForce.IOC)
    m.advance_ms(200)
    m.mass_cancel("SP-1")
    alerts = surveil(m)
    assert [a.pattern for a in alerts] == ["spoofing"]
    assert len(alerts[0].evidence) == 5  # three orders, the fill, the mass cancel


@pytest.mark.parametrize(
    "variant", ["slow cancel", "usual size", "far from the touch", "no opposite fill"]
)
def test_spoofing_near_misses_do_not_alert(variant: str) -> None:
    m = Market({"MM": ["MM-1", "MM-2"], "SP": ["SP-1"]})
    quiet_book(m)
    m.advance_ms(1_000)
    qty = 5 if variant == "usual size" else 40
    price = 1020 if variant == "far from the touch" else 1002
    spoof = m.order("SP-1", SELL, price, qty)
    m.advance_ms(300)
    if variant != "no opposite fill":
        m.order("SP-1", BUY, 1001, 5, tif=TimeInForce.IOC)
    m.advance_ms(2_500 if variant == "slow cancel" else 300)
    m.cancel("SP-1", spoof)
    assert surveil(m, spoofing=SpoofingConfig(max_lifetime_ms=2_000)) == []


# -- quote stuffing ----------------------------------------------------------------------------


def test_quote_stuffing_by_message_rate() -> None:
    m = Market({"QS": ["QS-1"], "MM": ["MM-1"]})
    m.at_ms(10_000)
    first = m.seq + 1
    for _ in range(110):  # 220 messages within 200 ms
        oid = m.order("QS-1", BUY, 990, 1)
        m.cancel("QS-1", oid)
        m.advance_ms(0.9)
    alerts = surveil(m, stuffing=StuffingConfig(window_ms=1_000, max_messages=200))
    assert [(a.pattern, a.owner) for a in alerts] == [("quote_stuffing", "QS")]
    assert alerts[0].evidence[0] == first
    assert alerts[0].alert_id == f"{first + 200}.1"  # the 201st message


def test_quote_stuffing_rate_below_the_limit_does_not_alert() -> None:
    m = Market({"QS": ["QS-1"]})
    for _ in range(100):  # 200 messages per second, at the limit
        oid = m.order("QS-1", BUY, 990, 1)
        m.cancel("QS-1", oid)
        m.advance_ms(10)
    assert surveil(m, stuffing=StuffingConfig(window_ms=1_000, max_messages=200)) == []


def test_quote_stuffing_by_order_to_trade_ratio() -> None:
    cfg = StuffingConfig(otr_window_seconds=60, otr_min_messages=300, max_order_to_trade=100)
    m = Market({"QS": ["QS-1"], "MM": ["MM-1"]})
    m.order("MM-1", SELL, 1001, 5)
    m.order("QS-1", BUY, 1001, 1, tif=TimeInForce.IOC)  # one trade
    for _ in range(160):  # 320 messages over 32 s: 5 per second
        oid = m.order("QS-1", BUY, 990, 1)
        m.cancel("QS-1", oid)
        m.advance_ms(200)
    m.advance_ms(1_000)
    m.order("QS-1", BUY, 990, 1)  # a message in a later second closes the last one
    alerts = surveil(m, stuffing=cfg)
    assert [(a.pattern, a.owner) for a in alerts] == [("quote_stuffing", "QS")]
    assert "for 1 trade(s)" in alerts[0].detail
    # the same flow with a trade every 50 messages is a ratio of 50: no alert
    m2 = Market({"QS": ["QS-1"], "MM": ["MM-1"]})
    for i in range(160):
        if i % 25 == 0:
            m2.order("MM-1", SELL, 1001, 1)
            m2.order("QS-1", BUY, 1001, 1, tif=TimeInForce.IOC)
        oid = m2.order("QS-1", BUY, 990, 1)
        m2.cancel("QS-1", oid)
        m2.advance_ms(200)
    m2.advance_ms(1_000)
    m2.order("QS-1", BUY, 990, 1)
    assert surveil(m2, stuffing=cfg) == []


# -- marking the close -------------------------------------------------------------------------


def push_price(m: Market, buyer: str, start: int, steps: int) -> list[int]:
    """`buyer` lifts one-lot asks at start+1 .. start+steps: the last price rises."""
    seqs = []
    for i in range(1, steps + 1):
        m.order("MM-1", SELL, start + i, 1)
        m.order(buyer, BUY, start + i, 1, tif=TimeInForce.IOC)
        seqs.append(m.seq)
        m.advance_ms(5_000)
    return seqs


def test_marking_before_a_funding_time_alerts() -> None:
    m = Market({"MM": ["MM-1"], "MK": ["MK-1"]})
    m.order("MM-1", SELL, 1000, 1)
    m.order("MK-1", BUY, 1000, 1, tif=TimeInForce.IOC)  # last price 1000, long before
    m.advance_ms(600_000)
    trades = push_price(m, "MK-1", 1000, 10)  # +10 ticks = 100 bps within a minute
    m.do(ApplyFunding(symbol="X-PERP", rate_ppb=0))
    alerts = surveil(m, marking=MarkingConfig(window_seconds=300, min_move_bps=50))
    assert [(a.pattern, a.owner) for a in alerts] == [("marking_the_close", "MK")]
    assert alerts[0].evidence == [*trades, m.seq]
    assert alerts[0].score == 200  # 100 bps against a 50 bps threshold
    assert "funding" in alerts[0].detail


def test_marking_before_a_future_expiry_alerts_and_small_or_early_moves_do_not() -> None:
    fut = instrument("X-FUT", kind=InstrumentKind.FUTURE, expiry_ts=0)
    m = Market({"MM": ["MM-1"], "MK": ["MK-1"], "OK": ["OK-1"]}, [fut])
    m.order("MM-1", SELL, 1000, 1, symbol="X-FUT")
    m.order("MK-1", BUY, 1000, 1, symbol="X-FUT", tif=TimeInForce.IOC)

    def lift(buyer: str, px: int) -> int:
        m.order("MM-1", SELL, px, 1, symbol="X-FUT")
        m.order(buyer, BUY, px, 1, symbol="X-FUT", tif=TimeInForce.IOC)
        return m.seq

    early = lift("OK-1", 1010)  # 100 bps, but 10 minutes before expiry
    m.advance_ms(600_000)
    small = lift("OK-1", 1012)  # 2 ticks: 19 bps
    m.advance_ms(1_000)
    moved = [lift("MK-1", 1012 + 3 * i) for i in range(1, 3)]  # +6 ticks = 59 bps
    m.do(ExpireInstrument(symbol="X-FUT"))
    alerts = surveil(m, marking=MarkingConfig(window_seconds=300, min_move_bps=50))
    assert [(a.pattern, a.owner, a.instrument) for a in alerts] == [
        ("marking_the_close", "MK", "X-FUT")
    ]
    assert alerts[0].evidence == [*moved, m.seq]
    assert early not in alerts[0].evidence and small not in alerts[0].evidence
    assert "expiry" in alerts[0].detail


# -- normal market making ----------------------------------------------------------------------


def test_normal_market_making_raises_no_alert() -> None:
    """Two-sided quoting with frequent replaces and cancels, IOCs that trade, funding times
    (every 2 s of the flow, so the marking pattern is judged often): no alert at all.
    (tools/bench/surveil.py runs the same flow for 400,000 rows.)"""
    m = market_making_market(sessions=4)
    market_making(m, 8_000, rate_per_s=1_000, funding_every_s=2)
    assert len(fill_seqs(m)) > 800  # the flow trades
    assert surveil(m) == []


def test_same_journal_same_alerts() -> None:
    m = Market({"A": ["A-1", "A-2"], "MM": ["MM-1", "MM-2"], "SP": ["SP-1"]})
    trade(m, "A-1", "A-2")
    quiet_book(m)
    spoof = m.order("SP-1", SELL, 1002, 40)
    m.order("SP-1", BUY, 1001, 5, tif=TimeInForce.IOC)
    m.cancel("SP-1", spoof)
    first, second = surveil(m), surveil(m)
    assert first == second and len(first) == 2


def test_marking_needs_a_one_sided_owner_and_a_net_move() -> None:
    """Two-sided taking (a market maker's bid-ask bounce) moves the last price up and down:
    not marking, however large the sum of its moves; a one-sided push that others take back
    within the window leaves no net move: not marking either."""
    cfg = MarkingConfig(window_seconds=300, min_move_bps=50, min_side_share_pct=80)
    m = Market({"MM": ["MM-1"], "TW": ["TW-1"], "MK": ["MK-1"], "OT": ["OT-1"]})
    m.order("MM-1", SELL, 1000, 1)
    m.order("TW-1", BUY, 1000, 1, tif=TimeInForce.IOC)
    m.advance_ms(600_000)
    for i in range(1, 11):  # TW lifts 1000+i+1, then hits a bid at 1000+i: net +1 a round
        m.order("MM-1", SELL, 1000 + i + 1, 1)
        m.order("TW-1", BUY, 1000 + i + 1, 1, tif=TimeInForce.IOC)
        m.order("MM-1", BUY, 1000 + i, 1)
        m.order("TW-1", SELL, 1000 + i, 1, tif=TimeInForce.IOC)
        m.advance_ms(1_000)
    m.do(ApplyFunding(symbol="X-PERP", rate_ppb=0))
    # the window moved +10 ticks (100 bps), all of it TW's taking, but TW took both sides
    assert surveil(m, marking=cfg) == []
    m2 = Market({"MM": ["MM-1"], "MK": ["MK-1"], "OT": ["OT-1"]})
    m2.order("MM-1", SELL, 1000, 1)
    m2.order("OT-1", BUY, 1000, 1, tif=TimeInForce.IOC)
    m2.advance_ms(600_000)
    push_price(m2, "MK-1", 1000, 10)  # +100 bps by MK alone...
    m2.order("MM-1", BUY, 1001, 1)
    m2.order("OT-1", SELL, 1001, 1, tif=TimeInForce.IOC)  # ...taken back by OT: net +1 tick
    m2.do(ApplyFunding(symbol="X-PERP", rate_ppb=0))
    assert surveil(m2, marking=cfg) == []
