"""FIX ⇄ core mapping, outbound half: reports built from real engine events, routing, status
reports, and every outbound body validated against the dictionary."""

from __future__ import annotations

from typing import Any

import msgspec
import simplefix
from hypothesis import given
from hypothesis import strategies as st

from tests.fix.test_mapping import (
    ALPHA,
    BRAVO,
    BTC,
    FUT,
    T0,
    TABLE,
    as_dict,
    fix,
    nos,
    refusal,
)
from venue.config import account_commands, load_config
from venue.core import AddInstrument, CancelOrder, Engine, MassCancel, NewOrder, ReplaceOrder
from venue.core.events import (
    CancelRejected,
    MassCancelCompleted,
    MassCancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from venue.core.types import CancelReason, OrdType, RejectReason, Side, TimeInForce
from venue.fix.codec import FixMessage, encode, parse_frame, parse_utc_timestamp
from venue.fix.mapping import (
    SessionContext,
    decode,
    order_status_report,
    replies,
    security_list,
)

# ---------------------------------------------------------------------------------------------
# Outbound: reports from real engine events


def engine() -> Engine:
    e = Engine()
    e.apply(AddInstrument(ts=1, instrument=BTC))
    for cmd in account_commands(load_config(None)):  # the core requires known accounts
        e.apply(cmd)
    return e


def order(ctx: SessionContext, cl: str, side: str, qty: str, px: str, **over: str) -> NewOrder:
    cmd = decode(nos(t11=cl, t54=side, t38=qty, t44=px, t1=ctx.accounts[0], **over), ctx, TABLE)
    assert isinstance(cmd, NewOrder)
    return cmd


def apply(e: Engine, cmd: Any, ts: int = T0) -> list[Any]:

    return e.apply(msgspec.structs.replace(cmd, ts=ts))


def test_full_life_cycle_reports() -> None:
    e = engine()
    specs = TABLE
    ev = apply(e, order(ALPHA, "a1", "2", "1", "60000.5"))
    assert [type(x) for x in ev] == [OrderAccepted]
    (new,) = replies(1, ev, specs)
    assert (new.session, new.msg_type) == ("ALPHA-MM", b"8")
    b = as_dict(new.body)
    assert (b[150], b[39], b[37], b[17], b[11]) == (b"0", b"0", b"1", b"1", b"a1")
    assert (b[38], b[44], b[151], b[14], b[6], b[54], b[55]) == (
        b"1",
        b"60000.5",
        b"1",
        b"0",
        b"0",
        b"2",
        b"BTC-PERP",
    )
    assert b[60] == b"20261121-06:30:00.000"

    ev = apply(e, order(BRAVO, "b1", "1", "0.4", "60001"))
    out = replies(2, ev, specs)
    assert [(r.session, as_dict(r.body)[150]) for r in out] == [
        ("BRAVO-MM", b"0"),
        ("BRAVO-MM", b"F"),
        ("ALPHA-MM", b"F"),
    ]
    aggressor, resting = as_dict(out[1].body), as_dict(out[2].body)
    assert (aggressor[39], aggressor[31], aggressor[32], aggressor[1057]) == (
        b"2",
        b"60000.5",
        b"0.4",
        b"Y",
    )
    assert (resting[39], resting[151], resting[14], resting[6], resting[1057]) == (
        b"1",
        b"0.6",
        b"0.4",
        b"60000.5",
        b"N",
    )
    assert aggressor[880] == resting[880]
    assert aggressor[17] != resting[17]

    ev = apply(
        e,
        ReplaceOrder(
            session="ALPHA-MM",
            firm="ALPHA",
            cl_ord_id="a2",
            orig_cl_ord_id="a1",
            price=120_002,
            qty=2000,
        ),
    )
    (rep,) = replies(3, ev, specs)
    b = as_dict(rep.body)
    assert (b[150], b[39], b[11], b[41], b[44], b[38], b[151], b[14]) == (
        b"5",
        b"1",
        b"a2",
        b"a1",
        b"60001",
        b"2",
        b"1.6",
        b"0.4",
    )

    ev = apply(
        e, CancelOrder(session="ALPHA-MM", firm="ALPHA", cl_ord_id="a3", orig_cl_ord_id="a2")
    )
    (cxl,) = replies(4, ev, specs)
    b = as_dict(cxl.body)
    assert (b[150], b[39], b[11], b[41], b[151], b[14], b[6]) == (
        b"4",
        b"4",
        b"a3",
        b"a2",
        b"0",
        b"0.4",
        b"60000.5",
    )

    # the order is done: a second cancel is too late, by OrderID
    ev = apply(e, CancelOrder(session="ALPHA-MM", firm="ALPHA", cl_ord_id="a4", order_id=1))
    assert isinstance(ev[0], CancelRejected)
    (rej,) = replies(5, ev, specs)
    b = as_dict(rej.body)
    assert rej.msg_type == b"9"
    assert (b[434], b[102], b[39], b[37]) == (b"1", b"0", b"8", b"1")


def test_another_firm_is_answered_as_unknown() -> None:
    e = engine()
    apply(e, order(ALPHA, "a1", "2", "1", "60000.5"))
    ev = apply(e, CancelOrder(session="BRAVO-MM", firm="BRAVO", cl_ord_id="x", order_id=1))
    (rej,) = replies(2, ev, TABLE)
    assert rej.session == "BRAVO-MM"
    assert as_dict(rej.body)[102] == b"1"


def test_rejected_order_report_uses_the_journal_seq() -> None:
    e = engine()
    ev = apply(e, order(ALPHA, "a1", "2", "1", "90000"))  # outside the 5% band
    assert isinstance(ev[0], OrderRejected)
    (rep,) = replies(41, ev, TABLE)
    b = as_dict(rep.body)
    assert (b[150], b[39], b[103], b[17], b[37]) == (b"8", b"8", b"99", b"R41", b"NONE")
    assert b[58] == b"price outside the price band"
    assert b[44] == b"90000"


def test_ioc_remainder_and_expiry_and_mass_cancel_reports() -> None:
    e = engine()
    apply(e, order(ALPHA, "a1", "2", "0.1", "60000"))
    ev = apply(e, order(BRAVO, "b1", "1", "0.3", "60000", t59="3"))
    assert isinstance(ev[-1], OrderCanceled)
    b = as_dict(replies(2, ev, TABLE)[-1].body)
    assert (b[150], b[39], b[14], b[151], b[58]) == (
        b"4",
        b"4",
        b"0.1",
        b"0",
        b"IOC remainder canceled",
    )
    assert 41 not in b

    apply(e, order(ALPHA, "a2", "2", "1", "60010", t59="6", t126="20261121-07:00:00.000"))
    exp = OrderCanceled(
        ts=T0,
        order_id=9,
        exec_id=99,
        session="ALPHA-MM",
        firm="ALPHA",
        account="ALPHA-1",
        cl_ord_id="a2",
        orig_cl_ord_id="",
        request_session="",
        symbol="BTC-PERP",
        side=Side.SELL,
        ord_type=OrdType.LIMIT,
        tif=TimeInForce.GTD,
        price=120_020,
        qty=1000,
        cum_qty=0,
        cum_notional=0,
        reason=CancelReason.EXPIRED,
    )
    b = as_dict(replies(3, [exp], TABLE)[0].body)
    assert (b[150], b[39]) == (b"C", b"C")

    ev = apply(e, MassCancel(session="ALPHA-MM", firm="ALPHA", cl_ord_id="m1", session_only=True))
    assert isinstance(ev[-1], MassCancelCompleted)
    out = replies(4, ev, TABLE)
    assert [r.msg_type for r in out] == [b"8", b"r"]
    r = as_dict(out[-1].body)
    assert (r[11], r[37], r[530], r[531], r[533]) == (b"m1", b"MC4", b"7", b"7", b"1")
    # cancel on disconnect / kill switch (no ClOrdID): no report, only the cancels
    ev = apply(e, order(ALPHA, "a3", "2", "1", "60010"))
    ev = apply(e, MassCancel(session="ALPHA-MM", firm="ALPHA", session_only=True))
    assert [r.msg_type for r in replies(6, ev, TABLE)] == [b"8"]
    rej = MassCancelRejected(
        ts=T0,
        session="ALPHA-MM",
        firm="ALPHA",
        cl_ord_id="m2",
        symbol="NOPE",
        reason=RejectReason.UNKNOWN_INSTRUMENT,
    )
    r = as_dict(replies(7, [rej], TABLE)[0].body)
    assert (r[531], r[532]) == (b"0", b"1")


def test_cancel_by_another_session_of_the_same_firm_reaches_both() -> None:
    other = SessionContext(session="ALPHA-2", firm="ALPHA", accounts=("ALPHA-1",))
    e = engine()
    apply(e, order(ALPHA, "a1", "2", "1", "60000.5"))
    ev = apply(e, CancelOrder(session="ALPHA-2", firm="ALPHA", cl_ord_id="k", order_id=1))
    assert [r.session for r in replies(2, ev, TABLE)] == ["ALPHA-MM", "ALPHA-2"]
    assert other.firm == "ALPHA"


def test_replaced_with_priority_and_fills_after_replace() -> None:
    e = engine()
    apply(e, order(ALPHA, "a1", "2", "1", "60001"))
    apply(e, order(BRAVO, "b1", "1", "1", "60000"))
    ev = apply(
        e,
        ReplaceOrder(
            session="BRAVO-MM",
            firm="BRAVO",
            cl_ord_id="b2",
            orig_cl_ord_id="b1",
            price=120_002,
            qty=1000,
        ),
    )
    assert [type(x) for x in ev] == [OrderReplaced, OrderFilled, OrderFilled]
    out = replies(3, ev, TABLE)
    assert [as_dict(r.body)[150] for r in out] == [b"5", b"F", b"F"]
    assert as_dict(out[1].body)[11] == b"b2"


def test_order_status_reports() -> None:
    e = engine()
    apply(
        e, order(ALPHA, "a1", "2", "1", "60000.5", t59="6", t126="20261121-07:00:00.000", t18="6")
    )
    apply(e, order(BRAVO, "b1", "1", "0.25", "60000.5"))
    live = e.by_session["ALPHA-MM"]["a1"]
    b = as_dict(
        order_status_report(live, TABLE["BTC-PERP"], exec_id=b"I5", ts=T0, ord_status_req_id=b"s1")
    )
    assert (b[150], b[39], b[17], b[790], b[151], b[14], b[6], b[18], b[59]) == (
        b"I",
        b"1",
        b"I5",
        b"s1",
        b"0.75",
        b"0.25",
        b"60000.5",
        b"6",
        b"6",
    )
    assert parse_utc_timestamp(b[126]) == T0 + 30 * 60 * 10**9
    b = as_dict(
        order_status_report(None, None, exec_id=b"I6", ts=T0, cl_ord_id=b"zz", symbol=b"BTC-PERP")
    )
    assert (b[150], b[39], b[103], b[37], b[11]) == (b"I", b"8", b"5", b"NONE", b"zz")
    body = order_status_report(
        live,
        TABLE["BTC-PERP"],
        exec_id=b"I7",
        ts=T0,
        mass_status_req_id=b"ms",
        tot_num_reports=2,
        last_report=True,
    )
    assert body[2:5] == [(584, b"ms"), (911, b"2"), (912, b"Y")]


def test_bodies_encode_and_parse_with_simplefix() -> None:
    e = engine()
    events = apply(e, order(ALPHA, "a1", "2", "1", "60000.5"))
    events += apply(e, order(BRAVO, "b1", "1", "0.4", "60001"))
    for n, rep in enumerate(replies(9, events, TABLE), start=1):
        raw = encode(
            rep.msg_type,
            begin_string=b"FIX.4.4",
            sender=b"VENUE",
            target=rep.session.encode(),
            seq=n,
            sending_time=b"20261121-06:30:00.000",
            body=rep.body,
        )
        parser = simplefix.FixParser()
        parser.append_buffer(raw)
        m = parser.get_message()
        assert m is not None
        assert m.get(35) == b"8"
        for tag, value in rep.body:
            assert m.get(tag) == value


@given(
    ticks=st.integers(min_value=1, max_value=10**9),
    lots=st.integers(min_value=1, max_value=10**9),
    off=st.sampled_from(["", "1", "25", "0001"]),
)
def test_prices_and_quantities_on_the_grid_round_trip_and_off_grid_are_refused(
    ticks: int, lots: int, off: str
) -> None:
    spec = TABLE["BTC-PERP"]
    price = spec.price_text(ticks).decode()
    qty = spec.qty_text(lots).decode()
    cmd = decode(nos(t44=price, t38=qty), ALPHA, TABLE)
    assert isinstance(cmd, NewOrder)
    assert (cmd.price, cmd.qty) == (ticks, lots)
    if off:
        # append digits below the tick (0.5) / lot (0.001): never on the grid
        bad_price = price + ("" if "." in price else ".") + "0" + off
        r = refusal(decode(nos(t44=bad_price, t38=qty), ALPHA, TABLE))
        assert r.reason == "price_off_tick"
        bad_qty = qty + ("" if "." in qty else ".") + "000" + off
        r = refusal(decode(nos(t44=price, t38=bad_qty), ALPHA, TABLE))
        assert r.reason == "qty_off_lot"
    # the outbound side writes the same strings back
    e = engine()
    events = apply(e, msgspec_replace(cmd, qty=min(lots, 100_000), price=120_000))
    body = as_dict(replies(1, events, TABLE)[0].body)
    assert body[38] == spec.qty_text(min(lots, 100_000))


def msgspec_replace(cmd: NewOrder, **kw: int) -> NewOrder:

    return msgspec.structs.replace(cmd, **kw)


def test_every_outbound_body_is_valid_against_the_dictionary() -> None:
    from venue.fix.dictionary import load_dictionary
    from venue.fix.validate import validate

    dictionary = load_dictionary()

    def check(msg_type: bytes, body: list[tuple[int, bytes]]) -> None:
        raw = encode(
            msg_type,
            begin_string=b"FIX.4.4",
            sender=b"VENUE",
            target=b"ALPHA-MM",
            seq=3,
            sending_time=b"20261121-06:30:00.000",
            body=body,
        )
        msg = parse_frame(raw)
        assert isinstance(msg, FixMessage)
        assert validate(msg, dictionary) is None, msg

    e = engine()
    events = apply(e, order(ALPHA, "a1", "2", "1", "60000.5", t18="6"))
    events += apply(e, order(BRAVO, "b1", "1", "0.4", "60001"))
    events += apply(
        e,
        ReplaceOrder(
            session="ALPHA-MM",
            firm="ALPHA",
            cl_ord_id="a2",
            orig_cl_ord_id="a1",
            price=120_002,
            qty=2000,
        ),
    )
    events += apply(
        e, CancelOrder(session="ALPHA-MM", firm="ALPHA", cl_ord_id="a3", orig_cl_ord_id="a2")
    )
    events += apply(e, CancelOrder(session="ALPHA-MM", firm="ALPHA", cl_ord_id="a4", order_id=1))
    events += apply(e, order(ALPHA, "a5", "2", "1", "90000"))
    events += apply(e, order(ALPHA, "a6", "2", "1", "60010", t59="6", t126="20261121-07:00:00"))
    live_before = e.by_session["ALPHA-MM"]["a6"]
    events += apply(e, MassCancel(session="ALPHA-MM", firm="ALPHA", cl_ord_id="m1"))
    out = replies(9, events, TABLE)
    assert {r.msg_type for r in out} == {b"8", b"9", b"r"}
    for r in out:
        check(r.msg_type, r.body)
    check(b"y", security_list([BTC, FUT], security_req_id=b"r", security_response_id=b"r"))
    check(b"8", order_status_report(None, None, exec_id=b"I1", ts=T0, cl_ord_id=b"x"))
    check(
        b"8",
        order_status_report(
            None, None, exec_id=b"I2", ts=T0, mass_status_req_id=b"m", tot_num_reports=0
        ),
    )
    live = live_before
    check(
        b"8",
        order_status_report(
            live,
            TABLE["BTC-PERP"],
            exec_id=b"I3",
            ts=T0,
            ord_status_req_id=b"s",
            mass_status_req_id=b"m",
            tot_num_reports=1,
            last_report=True,
        ),
    )
    for msg in [
        nos(t44="60000.25"),
        nos(t44=None),
        fix(b"F", (41, "c"), (37, "Z"), (11, "d"), (55, "X"), (54, "1")),
        fix(b"G", (41, "c"), (11, "d"), (55, "X"), (54, "1"), (38, "1"), (44, "1")),
        fix(b"q", (11, "m"), (530, "3")),
        fix(b"x", (320, "r"), (559, "2")),
    ]:
        r = refusal(decode(msg, ALPHA, TABLE))
        check(r.msg_type, r.body(b"E1", T0))
