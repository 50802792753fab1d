"""The engine's collaborators on their own (`venue.core.engine` composes them): each takes an
`EngineState` and explicit inputs, so it can be driven without an `Engine`."""

from __future__ import annotations

from tests.core.deriv_helpers import USD, x_instrument
from venue.core.accounts import Account
from venue.core.book import Market, Order
from venue.core.events import Event, OrderFilled
from venue.core.ledger import Ledger
from venue.core.matching import Matching
from venue.core.risk import Margin
from venue.core.state import EngineState
from venue.core.types import OrdType, RejectReason, Side, StpMode, TimeInForce


def _state() -> EngineState:
    state = EngineState()
    state.markets["X-PERP"] = Market(x_instrument())  # 1 tick x 1 lot = 1 USD, IMR 10 %
    for name in ("A", "B"):
        acct = state.accounts[name] = Account("F", name, "", 10, "")
        acct.balance = 1_000 * USD
    return state


def _order(order_id: int, account: str, side: Side, price: int, qty: int) -> Order:
    return Order(
        order_id, f"S-{account}", "F", account, f"c{order_id}", "X-PERP", side,
        OrdType.LIMIT, TimeInForce.GTC, price, qty, 0, 0, 0, False, False, 0,
        StpMode.CANCEL_AGGRESSOR,
    )  # fmt: skip


def test_matching_alone_trades_in_price_time_priority_and_moves_no_money() -> None:
    state = _state()
    mkt = state.markets["X-PERP"]
    for i, price in ((1, 1001), (2, 1000), (3, 1000)):
        o = _order(i, "A", Side.SELL, price, 2)
        mkt.asks.add(o)
        state.index(o)
    taker = _order(4, "B", Side.BUY, 1001, 5)
    events: list[Event] = []
    stopped = Matching(state).match(mkt, taker, mkt.asks, -1001, 10, events)
    fills = [(e.order_id, e.last_px, e.last_qty) for e in events if isinstance(e, OrderFilled)]
    assert not stopped
    assert fills == [
        (4, 1000, 2),
        (2, 1000, 2),
        (4, 1000, 2),
        (3, 1000, 2),
        (4, 1001, 1),
        (1, 1001, 1),
    ]
    assert list(state.orders) == [1] and mkt.ref_price == 1001
    assert state.accounts["A"].balance == state.accounts["B"].balance == 1_000 * USD  # R2's job


def test_ledger_settles_the_fills_matching_emitted() -> None:
    state = _state()
    mkt = state.markets["X-PERP"]
    o = _order(1, "A", Side.SELL, 1000, 3)
    mkt.asks.add(o)
    state.index(o)
    events: list[Event] = []
    Matching(state).match(mkt, _order(2, "B", Side.BUY, 1000, 3), mkt.asks, -1000, 10, events)
    Ledger(state, Margin(state)).settle(mkt, events, 0)
    assert state.accounts["B"].positions["X-PERP"].size == 3
    assert state.accounts["A"].positions["X-PERP"].size == -3
    assert state.accounts["A"].orders == {} and state.accounts["A"].exposure == {}


def test_margin_alone_decides_r1() -> None:
    state = _state()
    mkt = state.markets["X-PERP"]
    margin = Margin(state)
    acct = state.accounts["A"]
    # 1,000 USD covers 10 % of 10 lots at 1,000 (1,000 USD), not of 11.
    assert margin.pre_trade(mkt, _order(1, "A", Side.BUY, 1000, 10), 10, acct) is None
    refused = margin.pre_trade(mkt, _order(2, "A", Side.BUY, 1000, 11), 10, acct)
    assert refused == RejectReason.INSUFFICIENT_MARGIN
    assert margin.pre_trade(mkt, _order(3, "Z", Side.BUY, 1000, 1), 10, None) == (
        RejectReason.UNKNOWN_ACCOUNT
    )
    assert margin.below_maintenance(acct) == (False, [])
