"""Drop-copy and trade-capture mapping without sockets: copies equal the owner's reports plus
who they came from, every body validates against the dictionary, trade requests decode."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest

from tests.dropcopy.conftest import account_setup
from venue.core import AddInstrument, CancelOrder, Engine, NewOrder, ReplaceOrder
from venue.core.events import (
    AdlExecuted,
    FundingApplied,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
    PositionSettled,
)
from venue.core.types import Instrument, InstrumentKind, Side
from venue.fix.codec import FixMessage, encode, parse_frame, parse_utc_timestamp
from venue.fix.dictionary import load_dictionary
from venue.fix.mapping_dropcopy import COPIERS, CopyContext, Entitlement, copies
from venue.fix.mapping_num import instrument_table
from venue.fix.mapping_out import replies
from venue.fix.mapping_trades import (
    TradeQuery,
    TradeRefusal,
    decode_trade_request,
    trade_capture_report,
    trade_records,
)
from venue.fix.validate import validate

T0 = 1_795_242_600_000_000_000  # 2026-11-21 06:30:00 UTC
BTC = Instrument(
    symbol="BTC-PERP",
    kind=InstrumentKind.PERPETUAL,
    tick_size="0.5",
    lot_size="0.001",
    multiplier="1",
    ref_price=120_000,
    band_ppb=50_000_000,
    max_order_qty=100_000,
)
TABLE = instrument_table([BTC])
COMP_IDS = {"ALPHA-MM": "ALPHA-CID", "BRAVO-MM": "BRAVO-MM"}
CTX = CopyContext(specs=TABLE, comp_ids=COMP_IDS)


def new(
    session: str, firm: str, account: str, cl: str, *, side: Side, qty: int, px: int
) -> NewOrder:
    return NewOrder(
        session=session,
        firm=firm,
        account=account,
        cl_ord_id=cl,
        symbol="BTC-PERP",
        side=side,
        price=px,
        qty=qty,
    )


def flow() -> list[tuple[int, list[Any]]]:
    """(seq, events) of: ALPHA rests, BRAVO takes part, ALPHA replaces, cancels, a reject."""
    e = Engine()
    e.apply(AddInstrument(ts=T0, instrument=BTC))
    for cmd in account_setup():
        e.apply(msgspec.structs.replace(cmd, ts=T0))
    cmds: list[Any] = [
        new("ALPHA-MM", "ALPHA", "ALPHA-2", "a1", side=Side.SELL, qty=1000, px=120_001),
        new("BRAVO-MM", "BRAVO", "BRAVO-1", "b1", side=Side.BUY, qty=400, px=120_002),
        ReplaceOrder(
            session="ALPHA-MM",
            firm="ALPHA",
            cl_ord_id="a2",
            orig_cl_ord_id="a1",
            symbol="BTC-PERP",
            price=120_004,
            qty=2000,
        ),
        CancelOrder(session="ALPHA-MM", firm="ALPHA", cl_ord_id="a3", orig_cl_ord_id="a2"),
        new("BRAVO-MM", "BRAVO", "BRAVO-1", "b2", side=Side.BUY, qty=0, px=120_002),
    ]
    out = []
    for n, cmd in enumerate(cmds, start=2):
        out.append((n, e.apply(msgspec.structs.replace(cmd, ts=T0 + n * 1_000_000))))
    return out


def fix(msg_type: bytes, body: list[tuple[int, bytes]]) -> FixMessage:
    raw = encode(
        msg_type,
        begin_string=b"FIX.4.4",
        sender=b"VENUE",
        target=b"ALPHA-DC",
        seq=3,
        sending_time=b"20261121-06:30:00.000",
        body=body,
    )
    msg = parse_frame(raw)
    assert isinstance(msg, FixMessage)
    return msg


def test_copies_are_the_owner_reports_plus_origin() -> None:
    seen: set[type] = set()
    for seq, events in flow():
        own = [r for r in replies(seq, events, TABLE) if r.msg_type == b"8"]
        made = copies(seq, events, CTX)
        assert len(made) == len(own)
        for c, r in zip(made, own, strict=True):
            assert c.body[: len(r.body)] == r.body
            extra = c.body[len(r.body) :]
            tags = [t for t, _ in extra]
            assert tags[0] == 453 and tags[-2:] == [797, 5002]
            session = r.session
            assert dict(extra)[5002] == COMP_IDS[session].encode()
            ids = [v for t, v in extra if t == 448]
            roles = [v for t, v in extra if t == 452]
            assert ids == [c.firm.encode(), c.account.encode(), COMP_IDS[session].encode()]
            assert roles == [b"1", b"24", b"36"]
        seen |= {type(ev) for ev in events}
    assert {OrderAccepted, OrderFilled, OrderReplaced, OrderCanceled, OrderRejected} <= seen


def test_the_copied_event_types() -> None:
    order_events = {OrderAccepted, OrderFilled, OrderCanceled, OrderReplaced, OrderRejected}
    assert set(COPIERS) == order_events | {AdlExecuted, PositionSettled, FundingApplied}


ADL = AdlExecuted(
    ts=T0 + 5_000_000,
    trade_id=77,
    symbol="BTC-PERP",
    account="ALPHA-1",
    counterparty="BRAVO-1",
    side=Side.SELL,
    price=119_000,
    qty=250,
    rank=1,
)
FIRMS = {"ALPHA-1": "ALPHA", "BRAVO-1": "BRAVO"}


def test_auto_deleveraging_copies_one_per_side_for_each_firm() -> None:
    ctx = CopyContext(specs=TABLE, comp_ids=COMP_IDS, account_firm=FIRMS)
    liquidated, counter = copies(9, [ADL], ctx)
    assert (liquidated.firm, liquidated.account, counter.firm, counter.account) == (
        "ALPHA",
        "ALPHA-1",
        "BRAVO",
        "BRAVO-1",
    )
    a, b = dict(liquidated.body), dict(counter.body)
    assert (a[37], a[17], a[150], a[39], a[54], a[31], a[32], a[880]) == (
        b"NONE",
        b"A77-1",
        b"F",
        b"2",
        b"2",
        b"59500",
        b"0.25",
        b"77",
    )
    first_party = next(v for t, v in counter.body if t == 448)
    assert (b[17], b[54], b[1], first_party) == (b"A77-2", b"1", b"BRAVO-1", b"BRAVO")
    assert 5002 not in a and b"36" not in [v for t, v in liquidated.body if t == 452]
    d = load_dictionary()
    for c in (liquidated, counter):
        assert validate(fix(c.msg_type, c.body), d) is None


def test_auto_deleveraging_is_a_trade_record() -> None:
    (rec,) = trade_records(9, [ADL], FIRMS)
    assert (rec.trade_id, rec.last_px, rec.last_qty) == (77, 119_000, 250)
    assert [(s.firm, s.account, s.side, s.order_id) for s in rec.sides] == [
        ("ALPHA", "ALPHA-1", Side.SELL, 0),
        ("BRAVO", "BRAVO-1", Side.BUY, 0),
    ]
    body = trade_capture_report(
        rec, rec.sides, TABLE["BTC-PERP"], trade_request_id=b"r", total=1, last=True, comp_ids={}
    )
    assert validate(fix(b"AE", body), load_dictionary()) is None
    assert [v for t, v in body if t == 37] == [b"NONE", b"NONE"] and 11 not in dict(body)


def test_every_copy_and_report_validates_against_the_dictionary() -> None:
    d = load_dictionary()
    for seq, events in flow():
        for c in copies(seq, events, CTX):
            msg = fix(c.msg_type, c.body)
            assert validate(msg, d) is None, msg
        recs = trade_records(seq, events)
        for n, rec in enumerate(recs, start=1):
            body = trade_capture_report(
                rec,
                rec.sides,
                TABLE.get(rec.symbol),
                trade_request_id=b"r1",
                total=len(recs),
                last=n == len(recs),
                comp_ids=COMP_IDS,
            )
            msg = fix(b"AE", body)
            assert validate(msg, d) is None, msg


def test_entitlement_by_firm_or_single_account() -> None:
    ent = Entitlement(firms=frozenset({"ALPHA"}), accounts=frozenset({"BRAVO-1"}))
    assert ent.sees("ALPHA", "ALPHA-1")
    assert ent.sees("BRAVO", "BRAVO-1")
    assert not ent.sees("BRAVO", "BRAVO-2")
    assert not ent.sees("CHARLIE", "")
    assert not Entitlement(firms=frozenset(), accounts=frozenset({""})).sees("X", "")


def test_trade_records_pair_the_two_sides() -> None:
    (rec,) = [r for seq, ev in flow() for r in trade_records(seq, ev)]
    assert (rec.seq, rec.symbol, rec.last_px, rec.last_qty) == (3, "BTC-PERP", 120_001, 400)
    aggressor, resting = rec.sides
    assert (aggressor.firm, aggressor.side, aggressor.aggressor) == ("BRAVO", Side.BUY, True)
    assert (resting.firm, resting.cl_ord_id, resting.aggressor) == ("ALPHA", "a1", False)
    body = dict(
        trade_capture_report(
            rec,
            rec.sides[1:],
            TABLE["BTC-PERP"],
            trade_request_id=b"q",
            total=1,
            last=True,
            comp_ids=COMP_IDS,
        )
    )
    assert (body[571], body[880], body[31], body[32], body[552], body[54], body[1]) == (
        b"%d" % rec.trade_id,
        b"%d" % rec.trade_id,
        b"60000.5",
        b"0.4",
        b"1",
        b"2",
        b"ALPHA-2",
    )


def ad(*fields: tuple[int, bytes]) -> FixMessage:
    return fix(b"AD", [(568, b"r1"), (569, b"0"), *fields])


def query(*fields: tuple[int, bytes]) -> TradeQuery:
    q = decode_trade_request(ad(*fields))
    assert isinstance(q, TradeQuery), q
    return q


def test_trade_request_ranges() -> None:
    big = 2**63 - 1
    q = query()
    assert (q.from_trade_id, q.to_trade_id, q.from_ts, q.to_ts) == (0, big, 0, big)
    assert (query((880, b"7")).from_trade_id, query((880, b"7")).to_trade_id) == (7, 7)
    assert (query((880, b"7-9")).from_trade_id, query((880, b"7-9")).to_trade_id) == (7, 9)
    assert query((880, b"7-")).to_trade_id == big
    t = parse_utc_timestamp(b"20261121-06:30:05.123")
    assert t is not None
    one = query((580, b"1"), (75, b"20261121"), (60, b"20261121-06:30:05.123"))
    assert (one.from_ts, one.to_ts) == (t, big)
    two = query(
        (580, b"2"),
        (75, b"20261121"),
        (60, b"20261121-06:30:00"),
        (75, b"20261121"),
        (60, b"20261121-06:30:05.123"),
    )
    assert (two.from_ts, two.to_ts) == (t - 5_123_000_000, t + 999_999)
    day = query((580, b"1"), (75, b"20261121"))
    assert day.to_ts - day.from_ts == 86_400 * 10**9 - 1
    assert query((55, b"BTC-PERP")).symbol == "BTC-PERP"


@pytest.mark.parametrize(
    "fields",
    [
        [(880, b"9-7")],
        [(880, b"x")],
        [(880, b"-3")],
        [(263, b"1")],
        [(580, b"1"), (75, b"20261121"), (60, b"2026-11-21")],
        [(580, b"1"), (75, b"2026112")],
        [(580, b"1"), (60, b"20261121-06:30:05")],
        [(580, b"2"), (75, b"20261121"), (60, b"20261121-06:30:05"), (75, b"20261120")],
        [(580, b"3"), (75, b"20261121"), (75, b"20261122"), (75, b"20261123")],
    ],
)
def test_trade_request_refusals(fields: list[tuple[int, bytes]]) -> None:
    r = decode_trade_request(ad(*fields))
    assert isinstance(r, TradeRefusal) and r.trade_request_id == b"r1" and r.text


def test_trade_request_type_must_be_all_or_matching() -> None:
    msg = fix(b"AD", [(568, b"r1"), (569, b"2")])
    assert isinstance(decode_trade_request(msg), TradeRefusal)
