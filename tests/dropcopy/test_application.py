"""`DropCopy` without sockets: entitlement by single account, copies made before `attach`,
the trade index rebuilt by `load` without duplicating what the hook indexed, and requests."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import msgspec

from tests.dropcopy.conftest import account_setup
from venue.clock import ManualClock
from venue.config import SessionConfig
from venue.core import AddInstrument, NewOrder
from venue.core.types import Instrument, InstrumentKind, Side
from venue.fix.codec import FixMessage, encode, parse_frame
from venue.gateway.application import Outbound
from venue.gateway.dropcopy import DropCopy
from venue.journal.recovery import recover
from venue.sequencer import Sequencer

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


def session(name: str, role: str, firm: str, **kw: Any) -> SessionConfig:
    return SessionConfig(
        name=name, role=role, venue_comp_id="VENUE", client_comp_id=name, firm=firm, **kw
    )  # type: ignore[arg-type]


SESSIONS = [
    session("A", "trading", "ALPHA", accounts=["ALPHA-1"]),
    session("B", "trading", "BRAVO", accounts=["BRAVO-1"]),
    session("ACCT-DC", "dropcopy", "ALPHA", dropcopy_accounts=["BRAVO-1"]),
]


def order(s: str, firm: str, account: str, cl: str, side: Side) -> NewOrder:
    return NewOrder(
        session=s,
        firm=firm,
        account=account,
        cl_ord_id=cl,
        symbol="BTC-PERP",
        side=side,
        price=120_000,
        qty=10,
    )


def msg(msg_type: bytes, body: list[tuple[int, bytes]]) -> FixMessage:
    raw = encode(
        msg_type,
        begin_string=b"FIX.4.4",
        sender=b"ACCT-DC",
        target=b"VENUE",
        seq=5,
        sending_time=b"20261121-06:30:00.000",
        body=body,
    )
    m = parse_frame(raw)
    assert isinstance(m, FixMessage)
    return m


async def open_venue(db: Path) -> Sequencer:
    clock = ManualClock()
    engine, journal, _ = await recover(db, clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    return seq


async def close(seq: Sequencer) -> None:
    await seq.stop()
    await seq.journal.close()


async def test_single_account_entitlement_and_copies_before_attach(tmp_path: Path) -> None:
    seq = await open_venue(tmp_path / "v.db")
    dc = DropCopy(sequencer=seq, sessions=SESSIONS)
    seq.submit(AddInstrument(instrument=BTC))
    for cmd in account_setup():
        seq.submit(cmd)
    seq.submit(order("A", "ALPHA", "ALPHA-1", "a1", Side.SELL))  # not entitled: ALPHA's
    seq.submit(order("B", "BRAVO", "BRAVO-1", "b1", Side.BUY))  # new + fill: BRAVO-1's
    sent: list[Outbound] = []
    dc.attach(sent.extend)  # late: the copies made so far are sent now, in order
    seq.submit(order("B", "BRAVO", "BRAVO-1", "b2", Side.BUY))
    assert [(o.session, dict(o.body)[150], dict(o.body)[1]) for o in sent] == [
        ("ACCT-DC", b"0", b"BRAVO-1"),
        ("ACCT-DC", b"F", b"BRAVO-1"),
        ("ACCT-DC", b"0", b"BRAVO-1"),
    ]
    # trade capture: the broker sees only the BRAVO-1 side of the ALPHA/BRAVO trade
    assert dc.on_message("ACCT-DC", msg(b"AD", [(568, b"q"), (569, b"0")]), 0) == []
    await dc.wait_idle()  # answered through `send`, from the journal, after the commit
    (ae,) = sent[3:]
    body = dict(ae.body)
    assert (ae.msg_type, body[552], body[1], body[54]) == (b"AE", b"1", b"BRAVO-1", b"1")
    await close(seq)


async def test_load_rebuilds_the_index_without_duplicates(tmp_path: Path) -> None:
    seq = await open_venue(tmp_path / "v.db")
    seq.submit(AddInstrument(instrument=BTC))
    for cmd in account_setup():
        seq.submit(cmd)
    for k in range(3):
        seq.submit(order("A", "ALPHA", "ALPHA-1", f"a{k}", Side.SELL))
        seq.submit(order("B", "BRAVO", "BRAVO-1", f"b{k}", Side.BUY))
    await close(seq)

    seq = await open_venue(tmp_path / "v.db")
    dc = DropCopy(sequencer=seq, sessions=SESSIONS, send=lambda out: None)
    seq.submit(order("A", "ALPHA", "ALPHA-1", "a3", Side.SELL))
    seq.submit(order("B", "BRAVO", "BRAVO-1", "b3", Side.BUY))  # indexed by the hook
    assert await dc.load(seq.journal) == 3  # the ones before the hook, not the live one
    replies = await dc.trade_capture("ACCT-DC", msg(b"AD", [(568, b"q"), (569, b"0")]))
    ids = [dict(r.body)[880] for r in replies]
    assert len(ids) == 4 and len(set(ids)) == 4 and ids == sorted(ids, key=int)
    await close(seq)


async def test_requests_outside_the_role(tmp_path: Path) -> None:
    seq = await open_venue(tmp_path / "v.db")
    dc = DropCopy(sequencer=seq, sessions=SESSIONS, send=lambda out: None)
    new_order = msg(b"D", [(11, b"x")])
    (rej,) = dc.on_message("ACCT-DC", new_order, 0)
    assert (rej.msg_type, dict(rej.body)[380], dict(rej.body)[379]) == (b"j", b"6", b"x")
    (rej,) = dc.on_message("ACCT-DC", msg(b"AN", []), 0)
    assert dict(rej.body)[380] == b"3"
    (rej,) = dc.on_message("A", msg(b"AD", [(568, b"q"), (569, b"0")]), 0)
    assert dict(rej.body)[380] == b"6"  # not a drop-copy session
    (rej,) = await dc.trade_capture("ACCT-DC", msg(b"AD", [(568, b"q"), (569, b"0")]))
    assert (dict(rej.body)[380], dict(rej.body)[58]) == (b"0", b"no trades match the request")
    assert msgspec.json.encode(dc.sessions) == b'["ACCT-DC"]'
    await close(seq)


async def test_index_bound_refuses_what_it_no_longer_holds(tmp_path: Path) -> None:
    seq = await open_venue(tmp_path / "v.db")
    dc = DropCopy(sequencer=seq, sessions=SESSIONS, send=lambda out: None, max_trades=2)
    seq.submit(AddInstrument(instrument=BTC))
    for cmd in account_setup():
        seq.submit(cmd)
    for k in range(5):
        seq.submit(order("A", "ALPHA", "ALPHA-1", f"a{k}", Side.SELL))
        seq.submit(order("B", "BRAVO", "BRAVO-1", f"b{k}", Side.BUY))
    (rej,) = await dc.trade_capture("ACCT-DC", msg(b"AD", [(568, b"q"), (569, b"0")]))
    assert rej.msg_type == b"j" and b"no longer held" in dict(rej.body)[58]
    held = await dc.trade_capture("ACCT-DC", msg(b"AD", [(568, b"q"), (569, b"0"), (880, b"4-")]))
    assert [dict(r.body)[880] for r in held] == [b"4", b"5"]
    await close(seq)


async def test_liquidation_and_auto_deleveraging_are_copied(tmp_path: Path) -> None:
    from venue.core.commands import AddAccount, Deposit, Liquidate, SetMarkPrice
    from venue.core.events import AdlExecuted

    seq = await open_venue(tmp_path / "v.db")
    sessions = [*SESSIONS, session("B-DC", "dropcopy", "BRAVO", dropcopy_firms=["BRAVO"])]
    sessions.append(session("A-DC", "dropcopy", "ALPHA", dropcopy_firms=["ALPHA"]))
    sent: list[Outbound] = []
    dc = DropCopy(sequencer=seq, sessions=sessions, send=sent.extend)
    seq.submit(AddInstrument(instrument=BTC))
    seq.submit(AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10))
    seq.submit(Deposit(account="ALPHA-1", amount=7_000 * 10**6))  # 7 000 USD
    seq.submit(AddAccount(firm="BRAVO", account="BRAVO-1", max_leverage=10))
    seq.submit(Deposit(account="BRAVO-1", amount=10**12))
    seq.submit(msgspec.structs.replace(order("B", "BRAVO", "BRAVO-1", "b1", Side.SELL), qty=1000))
    buy = order("A", "ALPHA", "ALPHA-1", "a1", Side.BUY)
    seq.submit(msgspec.structs.replace(buy, qty=1000))  # ALPHA-1 long 1 BTC at 10x
    resting = order("A", "ALPHA", "ALPHA-1", "a2", Side.BUY)
    seq.submit(msgspec.structs.replace(resting, price=100_000, qty=1))
    seq.submit(SetMarkPrice(symbol="BTC-PERP", price=1))  # the long is deep under water
    sent.clear()
    _, events = seq.submit(Liquidate(account="ALPHA-1"))
    adl = [ev for ev in events if type(ev) is AdlExecuted]
    assert adl, events
    to_alpha = [dict(o.body) for o in sent if o.session == "A-DC"]
    to_bravo = [dict(o.body) for o in sent if o.session == "B-DC"]
    assert any(b.get(58) == b"canceled: account liquidated" for b in to_alpha)
    assert [b[17] for b in to_alpha if b[17].startswith(b"A")] == [
        b"A%d-1" % ev.trade_id for ev in adl
    ]
    assert [b[17] for b in to_bravo if b[17].startswith(b"A")] == [
        b"A%d-2" % ev.trade_id for ev in adl
    ]
    ad = msg(b"AD", [(568, b"q"), (569, b"0"), (880, b"%d" % adl[0].trade_id)])
    (ae,) = await dc.trade_capture("B-DC", ad)
    assert (dict(ae.body)[1], dict(ae.body)[37]) == (b"BRAVO-1", b"NONE")
    await close(seq)


async def test_final_settlement_is_copied_once_per_closed_position(tmp_path: Path) -> None:
    from venue.core.commands import AddAccount, Deposit, ExpireInstrument, SettleInstrument
    from venue.core.events import PositionSettled
    from venue.fix.dictionary import load_dictionary
    from venue.fix.validate import validate

    future = msgspec.structs.replace(
        BTC, symbol="BTC-27MAR27", kind=InstrumentKind.FUTURE, expiry_ts=2_000_000_000 * 10**9
    )
    seq = await open_venue(tmp_path / "v.db")
    sessions = [*SESSIONS, session("B-DC", "dropcopy", "BRAVO", dropcopy_firms=["BRAVO"])]
    sessions.append(session("A-DC", "dropcopy", "ALPHA", dropcopy_firms=["ALPHA"]))
    sent: list[Outbound] = []
    DropCopy(sequencer=seq, sessions=sessions, send=sent.extend)
    seq.submit(AddInstrument(instrument=future))
    for firm, account in (("ALPHA", "ALPHA-1"), ("BRAVO", "BRAVO-1")):
        seq.submit(AddAccount(firm=firm, account=account, max_leverage=10))
        seq.submit(Deposit(account=account, amount=10**12))
    sell = msgspec.structs.replace(
        order("B", "BRAVO", "BRAVO-1", "b1", Side.SELL), symbol=future.symbol
    )
    buy = msgspec.structs.replace(
        order("A", "ALPHA", "ALPHA-1", "a1", Side.BUY), symbol=future.symbol
    )
    seq.submit(msgspec.structs.replace(sell, qty=1500))
    seq.submit(msgspec.structs.replace(buy, qty=1500))  # ALPHA-1 long 1.5, BRAVO-1 short 1.5
    seq.submit(ExpireInstrument(symbol=future.symbol))
    sent.clear()
    settle_seq, events = seq.submit(SettleInstrument(symbol=future.symbol, price=121_000))
    settled = {ev.account: ev for ev in events if type(ev) is PositionSettled}
    assert {a: (ev.side, ev.qty) for a, ev in settled.items()} == {
        "ALPHA-1": (Side.SELL, 1500),
        "BRAVO-1": (Side.BUY, 1500),
    }
    by_session = {o.session: dict(o.body) for o in sent}
    # each broker sees only its entitled accounts (ACCT-DC is entitled to BRAVO-1 alone)
    assert sorted((name, body[1]) for name, body in by_session.items()) == [
        ("A-DC", b"ALPHA-1"),
        ("ACCT-DC", b"BRAVO-1"),
        ("B-DC", b"BRAVO-1"),
    ]
    alpha, bravo = by_session["A-DC"], by_session["B-DC"]
    assert (alpha[1], alpha[54], alpha[32], alpha[31]) == (b"ALPHA-1", b"2", b"1.5", b"60500")
    assert (bravo[1], bravo[54], bravo[17]) == (b"BRAVO-1", b"1", b"S%d-BRAVO-1" % settle_seq)
    assert (alpha[150], alpha[39], alpha[37], alpha[58]) == (
        b"F",
        b"2",
        b"NONE",
        b"final settlement",
    )
    d = load_dictionary()
    for out in sent:
        raw = encode(
            out.msg_type,
            begin_string=b"FIX.4.4",
            sender=b"VENUE",
            target=b"DC",
            seq=2,
            sending_time=b"20261121-06:30:00.000",
            body=out.body,
        )
        parsed = parse_frame(raw)
        assert isinstance(parsed, FixMessage)
        assert validate(parsed, d) is None
    await close(seq)
