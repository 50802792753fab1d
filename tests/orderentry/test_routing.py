"""`OrderEntry.on_message` in process: what it answers a trading session's order with is the
mapping's replies for order-entry sessions only (a report for a session that is not one, here
a resting order entered by a session this order entry does not serve, is left out), in event
order, and its answers are `Outbound` messages."""

from __future__ import annotations

from tests.orderentry.conftest import VenueFactory, demo_sessions
from venue.core import NewOrder, Side
from venue.fix.codec import FixMessage, Framer
from venue.gateway.application import Outbound

ST = b"20260101-00:00:00.000"


def order_message(sender: bytes, seq: int, body: bytes) -> FixMessage:
    inner = b"35=D\x0149=%s\x0156=VENUE\x0134=%d\x0152=%s\x01%s" % (sender, seq, ST, body)
    raw = b"8=FIX.4.4\x019=%d\x01%s" % (len(inner), inner)
    raw += b"10=%03d\x01" % (sum(raw) & 255)
    (msg,) = Framer().feed(raw)
    assert isinstance(msg, FixMessage)
    return msg


async def test_replies_for_sessions_not_served_are_left_out(venue_factory: VenueFactory) -> None:
    alpha_only = [s for s in demo_sessions() if s.name == "ALPHA-MM"]
    venue = await venue_factory(sessions=alpha_only)
    venue.sequencer.submit(  # as a session order entry does not serve (another gateway's)
        NewOrder(
            session="BRAVO-MM",
            firm="BRAVO",
            account="BRAVO-1",
            cl_ord_id="b1",
            symbol="BTC-PERP",
            side=Side.SELL,
            price=120_000,
            qty=2,
        )
    )
    body = b"11=a1\x0155=BTC-PERP\x0154=1\x0160=%s\x0138=0.001\x0140=2\x0144=60000\x01" % ST
    out = venue.order_entry.on_message("ALPHA-MM", order_message(b"ALPHA-MM", 2, body), 1)
    assert all(type(o) is Outbound for o in out)
    assert [(o.session, o.msg_type) for o in out] == [("ALPHA-MM", b"8"), ("ALPHA-MM", b"8")]
    assert [dict(o.body)[150] for o in out] == [b"0", b"F"]  # accepted, then filled
    (resting,) = venue.sequencer.engine.by_session["BRAVO-MM"].values()
    assert resting.cum_qty == 1  # it traded too: its report is the one left out

    body = b"11=a2\x0155=BTC-PERP\x0154=1\x0160=%s\x0138=0.001\x0140=2\x0144=59000\x01" % ST
    out = venue.order_entry.on_message("ALPHA-MM", order_message(b"ALPHA-MM", 3, body), 2)
    assert [(o.session, dict(o.body)[150], dict(o.body)[11]) for o in out] == [
        ("ALPHA-MM", b"0", b"a2")
    ]
