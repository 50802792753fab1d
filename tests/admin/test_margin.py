"""venue-admin margin controls against an in-process venue, over real sockets: `account
margin-mode ACCOUNT SYMBOL isolated|cross` and `account isolated-margin ACCOUNT SYMBOL +N|-N`,
each a sequenced, journaled command with its audit record; refusals named in words.

Expected figures come from the documented rules (RoE section 14 and the embedded default
configuration): ALPHA's market-maker segment allows 50x, so the initial margin rate in BTC-PERP
is max(1%, 1/50) = 2%; the first maintenance tier is 0.4% of notional.
"""

from __future__ import annotations

from decimal import Decimal

import msgspec
import pytest

from tests.admin.conftest import AdminVenue
from tests.orderentry.conftest import Trader
from venue.admin.cli import EXIT_NOT_FOUND, EXIT_OK, EXIT_REFUSED
from venue.core import Command
from venue.core.commands import AdjustIsolatedMargin, RecordAdminAction, SetMarginMode

MONEY = Decimal(10) ** 6  # money units per USD


async def journal_commands(av: AdminVenue) -> list[object]:
    journal = av.venue.journal
    assert journal is not None
    decoder = msgspec.msgpack.Decoder(Command)
    out: list[object] = []
    await journal.scan(0, lambda rows: out.extend(decoder.decode(r[2]) for r in rows))
    return out


def position(av: AdminVenue, account: str, symbol: str = "BTC-PERP") -> dict[str, object]:
    engine = av.venue.sequencer.engine  # type: ignore[union-attr]
    view = engine.position_view(account, symbol)
    return {"isolated": view.isolated, "margin": view.margin, "size": view.size}


async def trade(av: AdminVenue, qty: str = "0.5", price: str = "60000") -> None:
    """ALPHA-1 sells `qty` BTC-PERP to BRAVO-1 at `price`."""
    a = Trader(av.venue.fix_port, "ALPHA-MM")
    b = Trader(av.venue.fix_port, "BRAVO-MM")
    try:
        for t in (a, b):
            await t.connect()
            await t.logon()
        await a.new_order("s1", "2", qty, price, t1="ALPHA-1")
        assert (await a.expect(b"8")).get(39) == b"0"
        await b.new_order("b1", "1", qty, price)
        statuses = [(await b.expect(b"8")).get(39) for _ in range(2)]
        assert statuses[-1] == b"2", statuses
    finally:
        await a.close()
        await b.close()


async def test_isolated_margin_by_the_operator(admin_venue: AdminVenue) -> None:
    av = admin_venue
    r = await av.cli("--json", "account", "margin-mode", "ALPHA-1", "BTC-PERP", "isolated")
    assert r.code == EXIT_OK, r.stderr
    await trade(av)
    pos = position(av, "ALPHA-1")
    im = Decimal("0.5") * 60000 * Decimal("0.02")  # 600 USD allocated at the trade
    assert pos == {"isolated": True, "margin": int(im * MONEY), "size": -500}
    assert position(av, "BRAVO-1")["isolated"] is False  # the other side stays cross

    # The mode cannot change under an open position.
    r = await av.cli("account", "margin-mode", "ALPHA-1", "BTC-PERP", "cross")
    assert r.code == EXIT_REFUSED and "has a position or open orders" in r.stderr

    balance = av.venue.sequencer.engine.accounts["ALPHA-1"].balance  # type: ignore[union-attr]
    r = await av.cli("--json", "account", "isolated-margin", "ALPHA-1", "BTC-PERP", "+1000")
    assert r.code == EXIT_OK, r.stderr
    assert position(av, "ALPHA-1")["margin"] == int((im + 1000) * MONEY)
    engine = av.venue.sequencer.engine  # type: ignore[union-attr]
    assert engine.accounts["ALPHA-1"].balance == balance - 1000 * int(MONEY)  # money conserved

    # Maintenance at mark 60000 (no trade moved it): 0.4% of 30,000 = 120 USD. Removing 1,500
    # of 1,600 leaves 100 < 120: refused; removing 1,480 leaves exactly 120: allowed.
    mm = Decimal("0.5") * 60000 * Decimal("0.004")
    assert engine.position_view("ALPHA-1", "BTC-PERP").maintenance_margin == int(mm * MONEY)
    r = await av.cli("account", "isolated-margin", "ALPHA-1", "BTC-PERP", "-1500")
    assert r.code == EXIT_REFUSED and "below its maintenance margin" in r.stderr
    assert position(av, "ALPHA-1")["margin"] == int((im + 1000) * MONEY)
    r = await av.cli("account", "isolated-margin", "ALPHA-1", "BTC-PERP", "-1480")
    assert r.code == EXIT_OK, r.stderr
    assert position(av, "ALPHA-1")["margin"] == int(mm * MONEY)
    r = await av.cli("account", "isolated-margin", "ALPHA-1", "BTC-PERP", "-0.000001")
    assert r.code == EXIT_REFUSED and "below its maintenance margin" in r.stderr

    # Each change is a journaled command with the operator, and an audit record.
    cmds = await journal_commands(av)
    modes = [c for c in cmds if isinstance(c, SetMarginMode)]
    assert [c.isolated for c in modes] == [True, False]  # the refused one is journaled too
    moves = [c for c in cmds if isinstance(c, AdjustIsolatedMargin)]
    assert [c.amount for c in moves] == [1_000_000_000, -1_500_000_000, -1_480_000_000, -1]
    assert all(c.operator for c in (*modes, *moves))
    actions = [c.action for c in cmds if isinstance(c, RecordAdminAction)]
    assert actions.count("account.isolated_margin") == 4
    assert actions.count("account.margin_mode") == 2


@pytest.mark.parametrize(
    ("args", "code", "text"),
    [
        (("NOPE", "BTC-PERP", "+1"), EXIT_NOT_FOUND, "unknown account"),
        (("ALPHA-1", "NOPE", "+1"), EXIT_NOT_FOUND, "unknown instrument"),
        (("ALPHA-1", "BTC-PERP", "100"), None, "give a sign"),
        (("ALPHA-1", "BTC-PERP", "+0"), None, "non-zero"),
        (("ALPHA-1", "BTC-PERP", "+0.0000001"), None, "at most 6 decimals"),
        (("ALPHA-1", "BTC-PERP", "+1"), EXIT_REFUSED, "no open isolated position"),
    ],
)
async def test_isolated_margin_refusals(
    admin_venue: AdminVenue, args: tuple[str, ...], code: int | None, text: str
) -> None:
    r = await admin_venue.cli("account", "isolated-margin", *args)
    assert r.code != EXIT_OK and text in r.stderr, r
    if code is not None:
        assert r.code == code


async def test_cross_position_takes_no_isolated_margin(admin_venue: AdminVenue) -> None:
    await trade(admin_venue)
    r = await admin_venue.cli("account", "isolated-margin", "BRAVO-1", "BTC-PERP", "+1")
    assert r.code == EXIT_REFUSED and "no open isolated position" in r.stderr
