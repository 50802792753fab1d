"""One validation ladder for new orders, replaces and quote sides (venue.core.orders.entry_refusal):
the same request fault gets the same reason whichever way it enters the book.

Regression: a replace used to check only the instrument's state, not its expiry time, so a
dated future's resting order could be replaced (and trade) at or after `expiry_ts` until the
ExpireInstrument command ran; new orders were already refused there (RoE section 5: orders at
or after the expiry time are refused as expired)."""

from __future__ import annotations

from tests.core.helpers import instrument, new_engine, order
from tests.core.test_quotes import ack, entry, mq
from venue.core import InstrumentKind, ReplaceOrder, Side
from venue.core.events import CancelRejected, OrderRejected
from venue.core.types import RejectReason as R

EXPIRY = 1_000


def future_engine():  # type: ignore[no-untyped-def]
    return new_engine(instrument("BTC-FUT", kind=InstrumentKind.FUTURE, expiry_ts=EXPIRY))


def test_new_order_replace_and_quote_all_refuse_at_the_expiry_time() -> None:
    engine = future_engine()
    engine.apply(order("rest", Side.BUY, 999, 1, ts=10, symbol="BTC-FUT"))
    (rej,) = engine.apply(order("late", Side.BUY, 999, 1, ts=EXPIRY, symbol="BTC-FUT"))
    assert isinstance(rej, OrderRejected) and rej.reason == R.INSTRUMENT_EXPIRED
    replace = ReplaceOrder(
        ts=EXPIRY, session="S1", firm="F1", cl_ord_id="r", orig_cl_ord_id="rest", price=1001, qty=1
    )
    (cxl,) = engine.apply(replace)
    assert isinstance(cxl, CancelRejected) and cxl.reason == R.INSTRUMENT_EXPIRED
    events = engine.apply(mq("q", entry("e", (998, 1), symbol="BTC-FUT"), ts=EXPIRY))
    assert ack(events).entries[0].reason == R.INSTRUMENT_EXPIRED


def test_same_fault_same_reason_in_each_path() -> None:
    engine = new_engine()
    engine.apply(order("rest", Side.BUY, 999, 1))
    for qty, price, reason in (
        (11, 999, R.QTY_ABOVE_MAXIMUM),
        (1, 900, R.PRICE_OUTSIDE_BAND),
        (1, -5, R.INVALID_PRICE),
    ):
        (o,) = engine.apply(order("n", Side.BUY, price, qty))
        assert isinstance(o, OrderRejected) and o.reason == reason
        (c,) = engine.apply(
            ReplaceOrder(ts=20, session="S1", firm="F1", cl_ord_id="r", orig_cl_ord_id="rest",
                         price=price, qty=qty)
        )  # fmt: skip
        assert isinstance(c, CancelRejected) and c.reason == reason
        events = engine.apply(mq("q", entry("e", (price, qty))))
        assert ack(events).entries[0].reason == reason
