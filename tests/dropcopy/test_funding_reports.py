"""Funding payments reach the account's trading sessions and its drop copies as CollateralReport
(35=BA), RoE section 14: the body validates against fix_specs/FIX44.xml with the venue's own
validator, each payer and receiver gets its own report with the payment, the rate, the mark and
the balance after, flat positions get none, a broker sees only its firms' reports, and a
trading session that was not logged on gets its report by resend after its Logon."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tests.dropcopy.conftest import Broker, Running, sessions, start_venue
from tests.gateway.conftest import DICTIONARY
from venue.core import (
    ApplyFunding,
    FundingApplied,
    FundingPayment,
    NewOrder,
    SetMarkPrice,
    Side,
)
from venue.core.types import Instrument, InstrumentKind
from venue.fix.codec import Framer, encode
from venue.fix.mapping_dropcopy import CopyContext, copies
from venue.fix.mapping_num import InstrumentSpec
from venue.fix.mapping_positions import funding_report
from venue.fix.validate import group_instances, validate
from venue.gateway.funding import FundingReports

BTC = Instrument(
    symbol="BTC-PERP",
    kind=InstrumentKind.PERPETUAL,
    tick_size="0.5",
    lot_size="0.001",
    multiplier="1",
    ref_price=120_000,
    band_ppb=0,
    max_order_qty=100_000,
)
TS = 1_795_248_000_000_000_000  # 2026-11-21T08:00:00Z
EVENT = FundingApplied(
    ts=TS,
    symbol="BTC-PERP",
    rate_ppb=100_000,
    mark=120_010,
    payments=[
        FundingPayment("ALPHA-1", 1_000, -6_000_500, 93_999_500),
        FundingPayment("ALPHA-2", 0, 0, 5_000_000),
        FundingPayment("BRAVO-1", -1_000, 6_000_500, 106_000_500),
    ],
    to_insurance_fund=0,
)


def as_message(msg_type: bytes, body: list[tuple[int, bytes]]) -> Any:
    raw = encode(
        msg_type,
        begin_string=b"FIX.4.4",
        sender=b"VENUE",
        target=b"X",
        seq=1,
        sending_time=b"20261121-08:00:00.000",
        body=body,
    )
    (m,) = Framer().feed(raw)
    return m


def test_the_report_validates_and_says_what_was_paid() -> None:
    spec = InstrumentSpec(BTC)
    long = as_message(b"BA", funding_report(7, EVENT, EVENT.payments[0], spec))
    assert validate(long, DICTIONARY) is None
    assert [long.get(t) for t in (908, 910, 1, 55, 53, 54, 15)] == [
        b"F7-ALPHA-1",
        b"3",
        b"ALPHA-1",
        b"BTC-PERP",
        b"1",  # 1 000 lots of 0.001
        b"1",  # long
        b"USD",
    ]
    # 1 BTC x 60 005 USD x 0.01 % = 6.0005 USD paid, at the funding time
    assert [long.get(t) for t in (5013, 5014, 5003, 5010)] == [
        b"-6.0005",
        b"0.0001",
        b"60005",
        b"93.9995",
    ]
    assert (long.get(768), long.get(769), long.get(770)) == (b"1", b"20261121-08:00:00.000", b"1")
    short = as_message(b"BA", funding_report(7, EVENT, EVENT.payments[2], spec))
    assert validate(short, DICTIONARY) is None
    assert (short.get(54), short.get(5013)) == (b"2", b"6.0005")


def test_drop_copies_carry_parties_and_skip_flat_positions() -> None:
    ctx = CopyContext(
        specs={"BTC-PERP": InstrumentSpec(BTC)},
        comp_ids={},
        account_firm={"ALPHA-1": "ALPHA", "ALPHA-2": "ALPHA", "BRAVO-1": "BRAVO"},
    )
    made = copies(7, [EVENT], ctx)
    assert [(c.firm, c.account, c.msg_type) for c in made] == [
        ("ALPHA", "ALPHA-1", b"BA"),
        ("BRAVO", "BRAVO-1", b"BA"),
    ]
    for c in made:
        m = as_message(c.msg_type, c.body)
        assert validate(m, DICTIONARY) is None, m
        parties = group_instances(m, 453, DICTIONARY)
        assert [(p[448], p[452]) for p in parties] == [
            (c.firm.encode(), b"1"),
            (c.account.encode(), b"24"),
        ]


def order(account: str, side: Side, qty: int, cl: str) -> NewOrder:
    firm = account.split("-", maxsplit=1)[0]
    return NewOrder(
        session=f"{firm}-MM",
        firm=firm,
        account=account,
        cl_ord_id=cl,
        symbol="BTC-PERP",
        side=side,
        price=120_000,
        qty=qty,
    )


async def test_payments_reach_trading_sessions_and_drop_copies(
    tmp_path: Path, people: Callable[..., Any]
) -> None:
    venue: Running = await start_venue(tmp_path / "venue.db", sessions())
    reports = FundingReports(sequencer=venue.sequencer, sessions=sessions())
    reports.attach(venue.gateway.send)
    try:
        alpha: Broker = people(Broker, venue.port, "ALPHA-MM")
        alpha_dc: Broker = people(Broker, venue.port, "ALPHA-DC")
        await alpha.start()
        await alpha_dc.start()
        seq = venue.sequencer
        seq.submit(order("BRAVO-1", Side.SELL, 1_000, "s1"))
        seq.submit(order("ALPHA-1", Side.BUY, 1_000, "b1"))
        seq.submit(SetMarkPrice(symbol="BTC-PERP", price=120_010))
        funding_seq, events = seq.submit(ApplyFunding(symbol="BTC-PERP", rate_ppb=100_000))
        applied = events[0]
        assert isinstance(applied, FundingApplied)
        assert {p.account: p.amount for p in applied.payments} == {
            "ALPHA-1": -6_000_500,
            "BRAVO-1": 6_000_500,
        }
        # ALPHA-MM: its order's report, then the funding report
        got = [m for m in await alpha.collect(2) if m.msg_type == b"BA"]
        assert len(got) == 1
        (ba,) = got
        assert validate(ba, DICTIONARY) is None
        assert [ba.get(t) for t in (908, 1, 5013, 5014)] == [
            b"F%d-ALPHA-1" % funding_seq,
            b"ALPHA-1",
            b"-6.0005",
            b"0.0001",
        ]
        # ALPHA-DC: copies of ALPHA-1's order (new, fill) and of its funding only
        got = [m for m in await alpha_dc.collect(3) if m.msg_type == b"BA"]
        assert [m.get(1) for m in got] == [b"ALPHA-1"]
        assert validate(got[0], DICTIONARY) is None
        # BRAVO-MM was not logged on: its report waits in the store and comes by resend
        bravo: Broker = people(Broker, venue.port, "BRAVO-MM")
        await bravo.start()
        got = [m for m in await bravo.collect(3) if m.msg_type == b"BA"]
        assert [(m.get(1), m.get(5013), m.get(54)) for m in got] == [(b"BRAVO-1", b"6.0005", b"2")]
        assert reports.reports_sent == 2
    finally:
        await venue.stop()


def test_the_rules_of_engagement_example_is_what_the_venue_sends() -> None:
    doc = Path(__file__).resolve().parents[2] / "fix_specs" / "RULES_OF_ENGAGEMENT.md"
    (block,) = re.findall(r"```fix-funding\n(.*?)```", doc.read_text(encoding="utf-8"), re.S)
    (example,) = Framer().feed(block.strip().replace("|", "\x01").encode())
    assert validate(example, DICTIONARY) is None
    ev = FundingApplied(
        ts=TS,
        symbol="BTC-PERP",
        rate_ppb=100_000,
        mark=120_010,
        payments=[FundingPayment("ALPHA-1", 1_000, -6_000_500, 9_993_999_500)],
        to_insurance_fund=0,
    )
    body = funding_report(1234, ev, ev.payments[0], InstrumentSpec(BTC))
    header = {8, 9, 10, 34, 35, 49, 52, 56}
    assert [(t, v) for t, v in example.fields if t not in header] == body
