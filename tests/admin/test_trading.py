"""venue-admin trading controls and accounts against an in-process venue: instruments, index,
kill switch, deposits and withdrawals, positions, insurance fund; each journaled with the
operator."""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tests.admin.conftest import AdminVenue
from tests.orderentry.conftest import Trader
from venue.admin.cli import (
    EXIT_NOT_CONFIRMED,
    EXIT_NOT_FOUND,
    EXIT_OK,
    EXIT_REFUSED,
    EXIT_USAGE,
)
from venue.core import Command, InstrumentState
from venue.core.commands import AddAccount, Deposit, Halt, RecordAdminAction, SetIndexPrice
from venue.core.types import MONEY_SCALE


@pytest.fixture
async def av(admin_venue: AdminVenue) -> AdminVenue:
    seq = admin_venue.venue.sequencer
    assert seq is not None
    for firm, account in (("ALPHA", "ALPHA-1"), ("ALPHA", "ALPHA-2"), ("BRAVO", "BRAVO-1")):
        seq.submit(AddAccount(firm=firm, account=account, max_leverage=10))
    return admin_venue


async def journal_commands(av: AdminVenue) -> list[tuple[int, object]]:
    journal = av.venue.journal
    assert journal is not None
    decoder = msgspec.msgpack.Decoder(Command)
    out: list[tuple[int, object]] = []
    await journal.scan(0, lambda rows: out.extend((r[0], decoder.decode(r[2])) for r in rows))
    return out


def state(av: AdminVenue, symbol: str) -> InstrumentState:
    assert av.venue.sequencer is not None
    return av.venue.sequencer.engine.markets[symbol].state


async def test_instrument_list_halt_resume(av: AdminVenue) -> None:
    r = await av.cli("--json", "instrument", "list")
    assert r.code == EXIT_OK, r.stderr
    rows = {i["symbol"]: i for i in r.json()}
    assert rows["BTC-PERP"]["state"] == "open" and rows["BTC-PERP"]["ref_price"] == "60000"
    r = await av.cli("instrument", "halt", "BTC-PERP")
    assert r.code == EXIT_NOT_CONFIRMED
    assert state(av, "BTC-PERP") == InstrumentState.OPEN
    r = await av.cli("--json", "--yes", "--operator", "alice", "instrument", "halt", "BTC-PERP")
    assert r.code == EXIT_OK, r.stderr
    assert state(av, "BTC-PERP") == InstrumentState.HALTED
    halt_seq = r.json()["seq"]
    cmds = dict(await journal_commands(av))
    halt = cmds[halt_seq]
    assert isinstance(halt, Halt) and halt.operator == "root/alice"
    audit = cmds[r.json()["audit_seq"]]
    assert isinstance(audit, RecordAdminAction) and audit.action == "instrument.halt"
    r = await av.cli("-y", "instrument", "halt", "BTC-PERP")
    assert r.code == EXIT_REFUSED and "INVALID_STATE_CHANGE" in r.stderr
    r = await av.cli("instrument", "resume", "BTC-PERP")
    assert r.code == EXIT_OK, r.stderr
    assert state(av, "BTC-PERP") == InstrumentState.OPEN
    r = await av.cli("-y", "instrument", "halt", "NOPE-PERP")
    assert r.code == EXIT_NOT_FOUND
    r = await av.cli("instrument", "list")
    assert r.code == EXIT_OK and "BTC-27MAR27" in r.stdout


async def test_index_set(av: AdminVenue) -> None:
    r = await av.cli("--json", "index", "set", "BTC-PERP", "60010.5")
    assert r.code == EXIT_OK, r.stderr
    assert r.json()["ticks"] == 120021
    cmd = dict(await journal_commands(av))[r.json()["seq"]]
    assert isinstance(cmd, SetIndexPrice) and cmd.price == 120021 and cmd.source == "admin:root"
    r = await av.cli("index", "set", "BTC-PERP", "60010.3")
    assert r.code == EXIT_USAGE and "tick" in r.stderr
    r = await av.cli("index", "set", "BTC-PERP", "-1")
    assert r.code == EXIT_USAGE
    r = await av.cli("index", "set", "NOPE", "1")
    assert r.code == EXIT_NOT_FOUND


async def test_cancel_all_kill_switch(av: AdminVenue) -> None:
    assert av.venue.sequencer is not None
    av.venue.sequencer.submit(Deposit(account="ALPHA-1", amount=100_000 * MONEY_SCALE))
    t = Trader(av.venue.fix_port, "ALPHA-MM")
    await t.connect()
    await t.logon()
    try:
        for n in (1, 2):
            await t.new_order(f"o{n}", "1", "0.01", "59000")
            er = await t.expect(b"8")
            assert er.get(39) == b"0", er
        r = await av.cli("cancel-all")
        assert r.code == EXIT_USAGE
        r = await av.cli("cancel-all", "--session", "ALPHA-MM")
        assert r.code == EXIT_NOT_CONFIRMED
        r = await av.cli("--json", "-y", "cancel-all", "--firm", "BRAVO")
        assert r.code == EXIT_OK and r.json()["canceled"] == 0
        r = await av.cli("--json", "-y", "cancel-all", "--session", "ALPHA-MM")
        assert r.code == EXIT_OK, r.stderr
        assert r.json()["canceled"] == 2
        for _ in (1, 2):
            er = await t.expect(b"8")
            assert er.get(39) == b"4"
        r = await av.cli("-y", "cancel-all", "--session", "NOPE")
        assert r.code == EXIT_NOT_FOUND
    finally:
        await t.close()


def balance(av: AdminVenue, account: str) -> Decimal:
    """The account's balance in USD, read from the engine (whatever start-up gave it)."""
    assert av.venue.sequencer is not None
    view = av.venue.sequencer.engine.account_view(account)
    assert view is not None
    return Decimal(view.balance) / MONEY_SCALE


async def test_accounts_deposit_withdraw(av: AdminVenue) -> None:
    start, bravo = balance(av, "ALPHA-1"), balance(av, "BRAVO-1")
    r = await av.cli("--json", "account", "deposit", "ALPHA-1", "1000.5")
    assert r.code == EXIT_OK, r.stderr
    assert r.json()["units"] == 1_000_500_000
    r = await av.cli("--json", "account", "show", "ALPHA-1")
    assert r.code == EXIT_OK
    shown = r.json()
    assert Decimal(shown["balance"]) == start + Decimal("1000.5")
    assert shown["units"]["balance"] == int((start + Decimal("1000.5")) * MONEY_SCALE)
    too_much = str(Decimal(shown["available"]) + 1)
    r = await av.cli("-y", "account", "withdraw", "ALPHA-1", too_much)
    assert r.code == EXIT_REFUSED and "WITHDRAWAL_EXCEEDS_AVAILABLE" in r.stderr
    r = await av.cli("account", "withdraw", "ALPHA-1", "500")
    assert r.code == EXIT_NOT_CONFIRMED
    r = await av.cli("--json", "-y", "account", "withdraw", "ALPHA-1", "500")
    assert r.code == EXIT_OK, r.stderr
    r = await av.cli("--json", "account", "list")
    rows = {a["account"]: a for a in r.json()}
    assert Decimal(rows["ALPHA-1"]["balance"]) == start + Decimal("500.5")
    assert Decimal(rows["BRAVO-1"]["balance"]) == bravo
    r = await av.cli("account", "list")
    assert r.code == EXIT_OK and "ALPHA-2" in r.stdout
    assert "units" not in r.stdout and "{" not in r.stdout, r.stdout  # raw units: --json only
    r = await av.cli("account", "show", "NOPE")
    assert r.code == EXIT_NOT_FOUND
    r = await av.cli("account", "deposit", "ALPHA-1", "0.0000001")
    assert r.code == EXIT_USAGE
    r = await av.cli("account", "deposit", "NOPE", "1")
    assert r.code == EXIT_NOT_FOUND  # as `--help` documents for an unknown account (issue 19)


async def test_positions_and_insurance_fund(av: AdminVenue) -> None:
    r = await av.cli("--json", "positions")
    assert r.code == EXIT_OK and r.json() == []
    r = await av.cli("--json", "positions", "--account", "NOPE")
    assert r.code == EXIT_NOT_FOUND
    r = await av.cli("--json", "insurance-fund")
    assert r.code == EXIT_OK and r.json() == {"units": 0, "usd": "0"}
    r = await av.cli("insurance-fund")
    assert r.code == EXIT_OK and "0.00 USD" in r.stdout


async def test_positions_after_a_trade(av: AdminVenue) -> None:
    for account in ("ALPHA-1", "BRAVO-1"):
        assert (await av.cli("account", "deposit", account, "100000")).code == EXIT_OK
    a = Trader(av.venue.fix_port, "ALPHA-MM")
    b = Trader(av.venue.fix_port, "BRAVO-MM")
    for t in (a, b):
        await t.connect()
        await t.logon()
    try:
        await a.new_order("s1", "2", "0.5", "60000")
        assert (await a.expect(b"8")).get(39) == b"0"
        await b.new_order("b1", "1", "0.5", "60000")
        statuses = [(await b.expect(b"8")).get(39) for _ in range(2)]
        assert statuses[-1] == b"2", statuses  # accepted, then filled
        r = await av.cli("--json", "positions", "--instrument", "BTC-PERP")
        assert r.code == EXIT_OK, r.stderr
        rows = {p["account"]: p for p in r.json()}
        assert rows["ALPHA-1"]["size"] == "-0.5" and rows["BRAVO-1"]["size"] == "0.5"
        assert rows["BRAVO-1"]["entry_price"] == "60000"
        r = await av.cli("positions")
        assert r.code == EXIT_OK and "BRAVO-1" in r.stdout
    finally:
        await a.close()
        await b.close()


async def test_withdrawal_under_margin_is_refused(av: AdminVenue) -> None:
    assert (await av.cli("account", "deposit", "ALPHA-1", "1000")).code == EXIT_OK
    t = Trader(av.venue.fix_port, "ALPHA-MM")
    await t.connect()
    await t.logon()
    try:
        await t.new_order("m1", "1", "0.1", "59000")  # ~5,900 USD notional at 10x: ~590 margin
        assert (await t.expect(b"8")).get(39) == b"0"
        r = await av.cli("--json", "account", "show", "ALPHA-1")
        shown = r.json()
        assert Decimal(shown["initial_margin"]) > 0
        assert Decimal(shown["available"]) < Decimal(shown["balance"])
        r = await av.cli("-y", "account", "withdraw", "ALPHA-1", shown["balance"])  # all of it
        assert r.code == EXIT_REFUSED and "WITHDRAWAL_EXCEEDS_AVAILABLE" in r.stderr  # margin
        r = await av.cli("-y", "account", "withdraw", "ALPHA-1", shown["available"])
        assert r.code == EXIT_OK, r.stderr
    finally:
        await t.close()
