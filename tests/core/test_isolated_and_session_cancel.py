"""The two small core commands of the gateway issue: `AdjustIsolatedMargin` (money moves between
the balance and an isolated position's margin, conserved; never below maintenance, never more
than available) and `CancelSessionOrders` (one command cancels the resting orders of several
sessions, nothing else). Worked in whole USD on the derivatives tests' instrument: IMR 10 %,
maintenance 5 % of notional below 50,000 USD."""

from __future__ import annotations

import msgspec

from tests.core.deriv_helpers import SYM, USD, Venue
from venue.core import (
    AccountCommandRejected,
    AdjustIsolatedMargin,
    CancelSessionOrders,
    Engine,
    IsolatedMarginChanged,
    OrderCanceled,
    SetMarginMode,
    Side,
)
from venue.core.types import CancelReason, RejectReason


def isolated_short(v: Venue) -> None:
    """A sells 10 at 1000 isolated (margin 10 % x 10,000 = 1,000 USD) to B (cross)."""
    v.account("A", 5_000, leverage=10)
    v.account("B", 50_000, leverage=10)
    v.apply(SetMarginMode(account="A", symbol=SYM, isolated=True))
    v.trade("B", "A", 1000, 10)
    assert v.engine.accounts["A"].positions[SYM].margin == 1_000 * USD


def adjust(v: Venue, account: str, usd: float) -> list[object]:
    return list(v.apply(AdjustIsolatedMargin(account=account, symbol=SYM, amount=int(usd * USD))))


def refused(events: list[object]) -> RejectReason:
    (e,) = events
    assert isinstance(e, AccountCommandRejected), e
    return e.reason


def test_adding_and_removing_isolated_margin_conserves_money() -> None:
    v = Venue()
    isolated_short(v)
    before = v.balance("A")
    (e,) = adjust(v, "A", 500)
    assert isinstance(e, IsolatedMarginChanged)
    assert (e.delta, e.margin, e.balance) == (500 * USD, 1_500 * USD, before - 500 * USD)
    v.check()
    # Maintenance at mark 1000: 5 % x 10,000 = 500 USD. Keep exactly 500: allowed; 1 less: no.
    assert refused(adjust(v, "A", -1_000.000001)) is RejectReason.INSUFFICIENT_MARGIN
    (e,) = adjust(v, "A", -1_000)
    assert isinstance(e, IsolatedMarginChanged) and e.margin == 500 * USD
    v.check()
    # A loss counts: mark 1020 (short loses 200), margin + uPnL = 300 < 500: nothing removable.
    v.mark(1020)
    assert refused(adjust(v, "A", -1)) is RejectReason.INSUFFICIENT_MARGIN


def test_refusals_change_nothing() -> None:
    v = Venue()
    isolated_short(v)
    a = v.engine.accounts["A"]
    available = min(a.balance, v.engine.margin.available(a))
    state = v.engine.state_hash()
    assert refused(adjust(v, "A", available / USD + 1)) is RejectReason.WITHDRAWAL_EXCEEDS_AVAILABLE
    assert refused(adjust(v, "A", -1_000.000001)) is RejectReason.INVALID_AMOUNT  # > allocated
    assert refused(adjust(v, "A", 0)) is RejectReason.INVALID_AMOUNT
    assert refused(adjust(v, "B", 1)) is RejectReason.INVALID_STATE_CHANGE  # cross position
    assert refused(adjust(v, "NOPE", 1)) is RejectReason.UNKNOWN_ACCOUNT
    assert v.engine.state_hash() == state
    (e,) = adjust(v, "A", available / USD)  # all that is available: allowed
    assert isinstance(e, IsolatedMarginChanged)
    v.check()


def test_a_restored_copy_gives_the_same_events_and_hash() -> None:
    v = Venue()
    v.shadow = Engine.restore(v.engine.snapshot())  # each command must give the same events
    isolated_short(v)
    adjust(v, "A", 250)
    adjust(v, "A", -100)
    assert v.shadow.state_hash() == v.engine.state_hash()
    restored = Engine.restore(v.engine.snapshot())  # the margin moved is part of the state
    assert restored.accounts["A"].positions[SYM].margin == 1_150 * USD


def test_cancel_session_orders_cancels_those_sessions_only() -> None:
    v = Venue()
    v.account("A", 50_000)
    v.account("B", 50_000)
    v.account("C", 50_000)
    for who, price in (("A", 990), ("B", 980), ("A", 970), ("C", 960)):
        v.order(who, Side.BUY, price, 1)
    events = v.apply(CancelSessionOrders(sessions=["S-A", "S-C", "S-NONE"]))
    assert [(e.session, e.reason) for e in events if isinstance(e, OrderCanceled)] == [
        ("S-A", CancelReason.VENUE_RESTART),
        ("S-A", CancelReason.VENUE_RESTART),
        ("S-C", CancelReason.VENUE_RESTART),
    ]
    assert len(events) == 3
    assert [o.session for o in v.engine.orders.values()] == ["S-B"]
    v.check()
    assert msgspec.msgpack.decode(
        msgspec.msgpack.encode(CancelSessionOrders(sessions=["S-A"])), type=CancelSessionOrders
    ).sessions == ["S-A"]
