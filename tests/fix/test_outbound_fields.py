"""Outbound ExecutionReports as ``Fields``: the bytes on the wire are those of the list builders.

- ``Fields`` reads as the (tag, value) pairs it stands for (iteration, indexing, slicing,
  ``len``, equality with lists, ``dict``);
- ``FrameEncoder.frame`` of a ``Fields`` writes what it writes for the same pairs as a list
  (and what ``encode`` writes);
- ``mapping_out.cancel_reject`` gives the fields of its list builder before ``Fields``;
- ``mapping_exec.report`` gives, for random events of every kind and variant (limit and
  market, with and without OrigClOrdID, ExpireTime, ExecInst; with and without an instrument
  spec), exactly the fields of the list builders the venue used before ``Fields`` (restated
  below as the reference), and ``execution_report`` is the same as a new list.
"""

from __future__ import annotations

import random
from typing import Any

from tests.fix.test_mapping import BTC
from venue.core.events import (
    CancelRejected,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from venue.core.types import CancelReason, OrdType, RejectReason, Side, TimeInForce
from venue.fix import mapping_exec as mx
from venue.fix.codec import encode, format_utc_timestamp
from venue.fix.encoder import Fields, FrameEncoder, Layout
from venue.fix.mapping_exec import Body, execution_report, report
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_out import CXL_REJ_REASON, cancel_reject, replies

SPEC = InstrumentSpec(BTC)
T0 = 1_795_242_600_000_000_000

# --- the reference: the list builders of the hot reports before Fields ----------------------


def ref_fill(ev: OrderFilled, spec: InstrumentSpec | None) -> Body:
    qty, px, symbol = mx._texts(spec, ev.symbol)
    body = [
        (37, b"%d" % ev.order_id),
        (11, ev.cl_ord_id.encode("latin-1")),
        (17, b"%d" % ev.exec_id),
        (150, b"F"),
        (39, b"1" if ev.leaves_qty else b"2"),
        (1, ev.account.encode("latin-1")),
        (55, symbol),
        (54, mx._SIDE[ev.side]),
        (38, qty(ev.qty)),
        (40, mx._ORD_TYPE[ev.ord_type]),
        (44, px(ev.price)),
        (59, mx._TIF[ev.tif]),
        (31, px(ev.last_px)),
        (32, qty(ev.last_qty)),
        (880, b"%d" % ev.trade_id),
        (1057, b"Y" if ev.aggressor else b"N"),
        (151, qty(ev.leaves_qty)),
        (14, qty(ev.cum_qty)),
        (6, mx._avg(spec, ev.cum_notional, ev.cum_qty)),
        (60, format_utc_timestamp(ev.ts)),
    ]
    if ev.ord_type != OrdType.LIMIT:
        del body[10]
    return body


def ref_accepted(ev: OrderAccepted, spec: InstrumentSpec | None) -> Body:
    body = mx._order_fields(ev, spec, b"%d" % ev.exec_id, b"0", b"0")
    body += [
        (151, mx._qty(spec, ev.qty)),
        (14, b"0"),
        (6, b"0"),
        (60, format_utc_timestamp(ev.ts)),
    ]
    return body


def ref_canceled(ev: OrderCanceled, spec: InstrumentSpec | None) -> Body:
    status = b"C" if ev.reason == CancelReason.EXPIRED else b"4"
    qty, px, symbol = mx._texts(spec, ev.symbol)
    body = [
        (37, b"%d" % ev.order_id),
        (11, ev.cl_ord_id.encode("latin-1")),
        (17, b"%d" % ev.exec_id),
        (150, status),
        (39, status),
        (1, ev.account.encode("latin-1")),
        (55, symbol),
        (54, mx._SIDE[ev.side]),
        (38, qty(ev.qty)),
        (40, mx._ORD_TYPE[ev.ord_type]),
        (44, px(ev.price)),
        (59, mx._TIF[ev.tif]),
        (151, b"0"),
        (14, qty(ev.cum_qty)),
        (6, mx._avg(spec, ev.cum_notional, ev.cum_qty)),
        (60, format_utc_timestamp(ev.ts)),
        (58, mx.CANCEL_REASON_TEXT.get(ev.reason, b"canceled")),
    ]
    if ev.ord_type != OrdType.LIMIT:
        del body[10]
    if ev.orig_cl_ord_id:
        body.insert(2, (41, ev.orig_cl_ord_id.encode("latin-1")))
    return body


def ref_replaced(ev: OrderReplaced, spec: InstrumentSpec | None) -> Body:
    cum_qty, leaves = ev.cum_qty, ev.leaves_qty
    qty, px, symbol = mx._texts(spec, ev.symbol)
    return [
        (37, b"%d" % ev.order_id),
        (11, ev.cl_ord_id.encode("latin-1")),
        (41, ev.orig_cl_ord_id.encode("latin-1")),
        (17, b"%d" % ev.exec_id),
        (150, b"5"),
        (39, (b"2" if not leaves else b"1") if cum_qty > 0 else b"0"),
        (1, ev.account.encode("latin-1")),
        (55, symbol),
        (54, mx._SIDE[ev.side]),
        (38, qty(ev.qty)),
        (40, mx._ORD_TYPE[ev.ord_type]),
        (44, px(ev.price)),
        (59, mx._TIF[ev.tif]),
        (151, qty(leaves)),
        (14, qty(cum_qty)),
        (6, mx._avg(spec, ev.cum_notional, cum_qty)),
        (60, format_utc_timestamp(ev.ts)),
    ]


def reference(ev: Any, spec: InstrumentSpec | None, seq: int) -> Body:
    tp = type(ev)
    if tp is OrderFilled:
        return ref_fill(ev, spec)
    if tp is OrderAccepted:
        return ref_accepted(ev, spec)
    if tp is OrderCanceled:
        return ref_canceled(ev, spec)
    if tp is OrderReplaced:
        return ref_replaced(ev, spec)
    return mx._rejected(ev, spec, b"R%d" % seq)


# --- random events ----------------------------------------------------------------------------


def random_event(rnd: random.Random) -> Any:
    r = rnd.randrange
    common: dict[str, Any] = {
        "ts": T0 + r(0, 10**12),
        "session": rnd.choice(["MM1", "MM2"]),
        "firm": "F",
        "account": rnd.choice(["ACC-1", "acc%2"]),
        "cl_ord_id": rnd.choice(["c1", "ORD-000001234", "x%d", "é"]),
        "symbol": "BTC-PERP",
        "side": rnd.choice(list(Side)),
        "ord_type": rnd.choice([OrdType.LIMIT, OrdType.LIMIT, OrdType.MARKET]),
        "tif": rnd.choice(list(TimeInForce)),
        "price": r(1, 10**7),
        "qty": r(1, 10**6),
    }
    cum_qty = r(0, common["qty"] + 1)
    kind = r(5)
    if kind == 0:
        return OrderAccepted(
            order_id=r(1, 10**9),
            exec_id=r(1, 10**9),
            expire_ts=rnd.choice([0, 0, T0 + r(1, 10**12)]),
            post_only=r(3) == 0,
            reduce_only=r(3) == 0,
            **common,
        )
    if kind == 1:
        return OrderFilled(
            order_id=r(1, 10**9),
            exec_id=r(1, 10**9),
            trade_id=r(1, 10**9),
            last_px=r(1, 10**7),
            last_qty=r(1, 10**6),
            cum_qty=cum_qty,
            leaves_qty=common["qty"] - cum_qty,
            cum_notional=cum_qty * r(1, 10**7),
            aggressor=r(2) == 0,
            **common,
        )
    if kind == 2:
        return OrderCanceled(
            order_id=r(1, 10**9),
            exec_id=r(1, 10**9),
            orig_cl_ord_id=rnd.choice(["", "o1"]),
            request_session=rnd.choice(["", "MM1", "MM3"]),
            cum_qty=cum_qty,
            cum_notional=cum_qty * r(1, 10**7),
            reason=rnd.choice(list(CancelReason)),
            **common,
        )
    if kind == 3:
        return OrderReplaced(
            order_id=r(1, 10**9),
            exec_id=r(1, 10**9),
            orig_cl_ord_id="o1",
            request_session=rnd.choice(["", "MM1", "MM3"]),
            cum_qty=cum_qty,
            leaves_qty=common["qty"] - cum_qty,
            cum_notional=cum_qty * r(1, 10**7),
            priority_kept=r(2) == 0,
            **common,
        )
    return OrderRejected(reason=rnd.choice(list(RejectReason)), **common)


def test_reports_are_the_fields_of_the_list_builders() -> None:
    rnd = random.Random(7)
    enc = FrameEncoder(begin_string=b"FIX.4.4", sender=b"VENUE", target=b"MM1")
    for i in range(4000):
        ev = random_event(rnd)
        spec = SPEC if i % 5 else None
        want = reference(ev, spec, i)
        got = report(ev, spec, seq=i)
        assert type(got) is Fields
        assert list(got) == want
        assert execution_report(ev, spec, seq=i) == want
        now = ev.ts + rnd.randrange(0, 3_000_000)
        assert enc.frame(b"8", i + 1, now, got) == enc.frame(b"8", i + 1, now, want)


def test_replies_send_fields_shared_by_both_sessions() -> None:
    rnd = random.Random(3)
    for _ in range(200):
        ev = random_event(rnd)
        out = replies(9, [ev], {"BTC-PERP": SPEC})
        assert [r.body for r in out] == [reference(ev, SPEC, 9)] * len(out)
        assert all(type(r.body) is Fields and r.body is out[0].body for r in out)


def test_fields_read_as_their_pairs() -> None:
    pairs = [(37, b"1"), (11, b"c"), (58, b"100%")]
    f = Fields.of(pairs)
    assert list(f) == pairs and f == pairs and pairs == f and f == tuple(pairs)
    assert f != pairs[:2] and f != "x"
    assert len(f) == 3 and f[1] == (11, b"c") and f[-1] == (58, b"100%") and f[:2] == pairs[:2]
    assert dict(f) == dict(pairs) and (11, b"c") in f
    assert f == Fields(Layout.of((37, 11, 58)), (b"1", b"c", b"100%"))
    assert Fields.of(pairs).layout is f.layout  # one shared layout per tag sequence
    assert Fields.of([]) == [] and list(Fields.of([])) == []
    assert repr(f) == f"Fields({pairs!r})"


def test_frame_of_fields_is_frame_of_pairs() -> None:
    enc = FrameEncoder(begin_string=b"FIX.4.4", sender=b"V%s", target=b"M%d")
    for pairs in (
        [],
        [(58, b"a%sb")],
        [(37, b"1"), (58, b"\xff" * 600)],  # beyond the ASCII checksum shortcut
        [(t, b"%d" % t) for t in range(1, 200)],
    ):
        f = Fields.of(pairs)
        for now in (T0, T0 + 1, T0 + 1_000_000):
            want = encode(
                b"8",
                begin_string=b"FIX.4.4",
                sender=b"V%s",
                target=b"M%d",
                seq=42,
                sending_time=format_utc_timestamp(now),
                body=pairs,
            )
            assert enc.frame(b"8", 42, now, f) == want == enc.frame(b"8", 42, now, pairs)


def test_frame_encoder_beyond_its_remembered_layouts() -> None:
    enc = FrameEncoder(begin_string=b"FIX.4.4", sender=b"V", target=b"M")
    for n in range(300):  # more layouts than either cache holds
        layout = Layout((1000 + n, 58))
        f = Fields(layout, (b"%d" % n, b"t"))
        want = encode(
            b"8",
            begin_string=b"FIX.4.4",
            sender=b"V",
            target=b"M",
            seq=n,
            sending_time=format_utc_timestamp(T0),
            body=list(f),
        )
        assert enc.frame(b"8", n, T0, f) == want


def ref_cancel_reject(ev: CancelRejected) -> Body:
    if ev.order_id and (ev.leaves_qty or ev.cum_qty):
        status = mx._ord_status(ev.cum_qty, ev.leaves_qty)
    else:
        status = b"8"
    return [
        (37, b"%d" % ev.order_id if ev.order_id else b"NONE"),
        (11, ev.cl_ord_id.encode("latin-1")),
        (41, ev.orig_cl_ord_id.encode("latin-1") or b"NONE"),
        (39, status),
        (60, format_utc_timestamp(ev.ts)),
        (434, b"2" if ev.is_replace else b"1"),
        (102, b"%d" % CXL_REJ_REASON.get(ev.reason, 99)),
        (58, mx.REJECT_TEXT.get(ev.reason, ev.reason.name.lower()).encode("latin-1", "replace")),
    ]


def test_cancel_rejects_are_the_fields_of_the_list_builder() -> None:
    rnd = random.Random(5)
    for _ in range(2000):
        ev = CancelRejected(
            ts=T0 + rnd.randrange(10**12),
            session="MM1",
            firm="F",
            cl_ord_id=rnd.choice(["c2", "é%"]),
            orig_cl_ord_id=rnd.choice(["", "c1"]),
            order_id=rnd.choice([0, rnd.randrange(1, 10**9)]),
            symbol="BTC-PERP",
            is_replace=rnd.random() < 0.5,
            reason=rnd.choice(list(RejectReason)),
            cum_qty=rnd.choice([0, rnd.randrange(1, 100)]),
            leaves_qty=rnd.choice([0, rnd.randrange(1, 100)]),
        )
        assert cancel_reject(ev) == ref_cancel_reject(ev)
        assert [r.body for r in replies(3, [ev], {})] == [ref_cancel_reject(ev)]


def test_transact_time_per_millisecond_is_the_full_format() -> None:
    for ts in (T0, T0 + 1, T0 + 999_999, T0 + 1_000_000, T0 + 1_000_001, T0 - 1, 0, -1, 5, T0):
        assert mx._transact_time(ts) == format_utc_timestamp(ts)
