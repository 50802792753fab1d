"""RequestForPositions (AN) → PositionReport (AP) and CollateralInquiry (BB) → CollateralReport
(BA) over real TCP, through the role router, with entitlement checks. Every answer is
validated against the venue's dictionary."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from tests.gateway.conftest import DICTIONARY, FixClient
from tests.orderentry.conftest import DEFAULT, demo_sessions
from venue.clock import LiveClock
from venue.config import GatewayConfig, instrument_from_config
from venue.core import (
    AddAccount,
    AddInstrument,
    Deposit,
    NewOrder,
    SetIndexPrice,
    SetMarkPrice,
    Side,
)
from venue.fix.codec import FixMessage, format_utc_timestamp
from venue.fix.validate import validate
from venue.gateway import Gateway
from venue.gateway.order_entry import OrderEntry, gateway_sender
from venue.gateway.positions import MSG_TYPES, PositionsApplication
from venue.gateway.roles import RoleRouter
from venue.journal.recovery import recover
from venue.sequencer import Sequencer

USD = 1_000_000


@pytest.fixture
async def port(tmp_path: Path) -> AsyncIterator[int]:
    clock = LiveClock()
    engine, journal, _ = await recover(tmp_path / "v.db", synchronous="NORMAL", clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    for i in DEFAULT.instruments:
        seq.submit(AddInstrument(instrument=instrument_from_config(i)))
    for firm, account in (("ALPHA", "ALPHA-1"), ("ALPHA", "ALPHA-2"), ("BRAVO", "BRAVO-1")):
        seq.submit(AddAccount(firm=firm, account=account, max_leverage=10))
        seq.submit(Deposit(account=account, amount=100_000 * USD))
    seq.submit(SetIndexPrice(symbol="BTC-PERP", price=120_000, source="test"))
    # ALPHA-1 buys 2 BTC (2000 lots) at 60 000 from BRAVO-1
    for account, side, cl in (("BRAVO-1", Side.SELL, "S1"), ("ALPHA-1", Side.BUY, "B1")):
        firm = account.split("-", maxsplit=1)[0]
        seq.submit(
            NewOrder(
                session=f"{firm}-MM",
                firm=firm,
                account=account,
                cl_ord_id=cl,
                symbol="BTC-PERP",
                side=side,
                price=120_000,
                qty=2_000,
            )
        )
    seq.submit(SetMarkPrice(symbol="BTC-PERP", price=121_000))  # 60 500 USD
    sessions = demo_sessions()
    order_entry = OrderEntry(sequencer=seq, sessions=sessions)
    router = RoleRouter(sessions, default=order_entry)
    router.register(
        PositionsApplication(engine=engine, sessions=sessions),
        roles=["trading"],
        msg_types=MSG_TYPES,
    )
    gateway = Gateway(
        config=GatewayConfig(host="127.0.0.1", port=0),
        sessions=sessions,
        sequencer=seq,
        journal=journal,
        clock=clock,
        dictionary=DICTIONARY,
        application=router,
    )
    order_entry.attach(gateway_sender(gateway))
    await gateway.start()
    yield gateway.port
    with contextlib.suppress(Exception):
        await gateway.stop()
    await seq.stop()
    await journal.close()


@pytest.fixture
async def alpha(port: int) -> AsyncIterator[FixClient]:
    c = await FixClient(port, sender=b"ALPHA-MM").connect()
    await c.logon()
    yield c
    with contextlib.suppress(Exception):
        await c.close()


def now() -> bytes:
    return format_utc_timestamp(time.time_ns())


async def request_positions(c: FixClient, account: bytes, symbol: bytes | None = None) -> None:
    body = [(710, b"REQ1"), (724, b"0"), (1, account), (581, b"1")]
    if symbol is not None:
        body.append((55, symbol))
    body += [(715, b"20260101"), (60, now())]
    await c.send(b"AN", body)


async def answer(c: FixClient, msg_type: bytes) -> FixMessage:
    msg = await asyncio.wait_for(c.receive(msg_type), 10)
    assert validate(msg, DICTIONARY) is None, msg
    return msg


async def test_position_report_for_an_own_account(alpha: FixClient) -> None:
    await request_positions(alpha, b"ALPHA-1")
    ap = await answer(alpha, b"AP")
    assert ap.get(710) == b"REQ1"
    assert ap.get(728) == b"0"
    assert ap.get(727) == b"1"
    assert ap.get(1) == b"ALPHA-1"
    assert ap.get(55) == b"BTC-PERP"
    assert ap.get(704) == b"2"  # long 2 BTC
    assert ap.get(705) == b"0"
    assert ap.get(5003) == b"60500"  # mark
    assert ap.get(730) == b"60500"
    assert ap.get(5006) == b"60000"  # entry
    assert ap.get(734) == b"60000"
    assert ap.get(5007) == b"1000"  # (60 500 − 60 000) × 2 USD
    # IM: 10 % (max leverage 10) of 121 000 USD notional at mark; MM: first tier, 0.4 %
    assert ap.get(5008) == b"12100"
    assert ap.get(5009) == b"484"
    assert ap.get(721, b"").startswith(b"P")


async def test_no_positions_is_one_report_with_result_2(alpha: FixClient) -> None:
    await request_positions(alpha, b"ALPHA-2")
    ap = await answer(alpha, b"AP")
    assert (ap.get(728), ap.get(727), ap.get(1)) == (b"2", b"0", b"ALPHA-2")
    await request_positions(alpha, b"ALPHA-1", b"ETH-PERP")
    ap = await answer(alpha, b"AP")
    assert (ap.get(728), ap.get(55)) == (b"2", b"ETH-PERP")


async def test_another_firms_account_is_refused_like_an_unknown_one(alpha: FixClient) -> None:
    await request_positions(alpha, b"BRAVO-1")
    other = await answer(alpha, b"j")
    await request_positions(alpha, b"NOBODY")
    unknown = await answer(alpha, b"j")
    for j in (other, unknown):
        assert (j.get(380), j.get(379), j.get(58)) == (b"6", b"REQ1", b"unknown account")
    await alpha.send(b"BB", [(909, b"C1"), (1, b"BRAVO-1")])
    j = await answer(alpha, b"j")
    assert (j.get(380), j.get(379)) == (b"6", b"C1")


async def test_unsupported_position_request_type(alpha: FixClient) -> None:
    body = [(710, b"R2"), (724, b"1"), (1, b"ALPHA-1"), (581, b"1"), (715, b"20260101")]
    await alpha.send(b"AN", [*body, (60, now())])
    j = await answer(alpha, b"j")
    assert (j.get(380), j.get(379)) == (b"0", b"R2")


async def test_collateral_report_for_one_account(alpha: FixClient) -> None:
    await alpha.send(b"BB", [(909, b"C1"), (1, b"ALPHA-1")])
    ba = await answer(alpha, b"BA")
    assert (ba.get(909), ba.get(910), ba.get(911), ba.get(912)) == (b"C1", b"3", b"1", b"Y")
    assert ba.get(1) == b"ALPHA-1"
    assert ba.get(15) == b"USD"
    # balance: 100 000 deposited − 60 taker fee (0.05 % of 120 000)
    assert ba.get(5010) == b"99940"
    assert ba.get(5007) == b"1000"  # unrealized PnL
    assert ba.get(5011) == b"100940"  # equity
    assert ba.get(900) == b"100940"
    assert ba.get(5008) == b"12100"  # initial margin
    assert ba.get(5009) == b"484"  # maintenance margin
    assert ba.get(899) == b"100456"  # MarginExcess = equity − maintenance
    assert ba.get(5012) == b"88840"  # available = equity − initial margin


async def test_collateral_without_account_lists_every_account_of_the_firm(
    alpha: FixClient,
) -> None:
    await alpha.send(b"BB", [(909, b"ALL")])
    first = await answer(alpha, b"BA")
    second = await answer(alpha, b"BA")
    assert [first.get(1), second.get(1)] == [b"ALPHA-1", b"ALPHA-2"]
    assert [first.get(912), second.get(912)] == [b"N", b"Y"]
    assert first.get(911) == second.get(911) == b"2"
    assert first.get(908) != second.get(908)


def _msg(msg_type: bytes, body: list[tuple[int, bytes]]) -> FixMessage:
    from venue.fix.codec import Framer, encode

    raw = encode(
        msg_type,
        begin_string=b"FIX.4.4",
        sender=b"X",
        target=b"VENUE",
        seq=7,
        sending_time=now(),
        body=body,
    )
    (m,) = Framer().feed(raw)
    assert isinstance(m, FixMessage)
    return m


def test_only_trading_sessions_are_answered_and_subscriptions_are_refused() -> None:
    from venue.core import Engine

    app = PositionsApplication(engine=Engine(), sessions=demo_sessions())
    bb = _msg(b"BB", [(909, b"C9")])
    (out,) = app.on_message("ALPHA-DC", bb, 1)
    assert out.msg_type == b"j"
    assert (380, b"6") in out.body
    sub = _msg(b"BB", [(909, b"C9"), (263, b"1")])
    (out,) = app.on_message("ALPHA-MM", sub, 2)
    assert out.msg_type == b"j"
    assert (380, b"0") in out.body
    assert (379, b"C9") in out.body
