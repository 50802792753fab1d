"""Issue 19 items 11 and 14: the operator's views (open orders, book depth with own orders,
instruments with market numbers, positions in `account show`, recent trades), each with
--json; and numbers for people in the tables (prices at the tick, quantities at the lot, money
with two decimals and its currency) while --json keeps exact decimal strings."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from decimal import Decimal

import pytest

from tests.admin.conftest import AdminVenue
from tests.orderentry.conftest import Trader
from venue import display
from venue.admin.cli import EXIT_NOT_FOUND, EXIT_OK
from venue.core.types import MONEY_SCALE


def test_display_rules() -> None:
    assert display.MONEY_SCALE == MONEY_SCALE
    exact = "24876244.05945544554455445545"  # a liquidation price as the issue saw it
    assert display.price(exact, "0.5", extra=display.EXACT_EXTRA) == "24876244.059"
    assert display.price("60000", "0.5") == "60000.0"
    assert display.price("3000.05", "0.05") == "3000.05"
    assert display.qty("0.3", "0.001") == "0.300"
    assert display.qty_lots(1500, "0.001") == "1.500"
    assert display.money("10000000") == "10,000,000.00 USD"
    assert display.money("-0.005") == "-0.00 USD"  # half-even at the cent
    assert display.money_units(1_000_500_000) == "1,000.50 USD"


@pytest.fixture
async def traded(admin_venue: AdminVenue) -> AsyncIterator[AdminVenue]:
    """ALPHA rests a sell 0.5 @ 60000 (S1) and a buy 0.25 @ 59000.5 (B1); BRAVO buys 0.3 @
    60000 (T1): one trade of 0.3, S1 leaves 0.2."""
    a = Trader(admin_venue.venue.fix_port, "ALPHA-MM")
    b = Trader(admin_venue.venue.fix_port, "BRAVO-MM")
    for t in (a, b):
        await t.connect()
        await t.logon()
    try:
        await a.new_order("S1", "2", "0.5", "60000")
        assert (await a.expect(b"8")).get(39) == b"0"
        await a.new_order("B1", "1", "0.25", "59000.5")
        assert (await a.expect(b"8")).get(39) == b"0"
        await b.new_order("T1", "1", "0.3", "60000")
        assert [(await b.expect(b"8")).get(39) for _ in range(2)] == [b"0", b"2"]
        assert (await a.expect(b"8")).get(39) == b"1"
        yield admin_venue
    finally:
        await a.close()
        await b.close()


async def test_open_orders(traded: AdminVenue) -> None:
    cli = traded.cli
    r = await cli("orders", "--firm", "ALPHA", "--json")
    assert r.code == EXIT_OK, r.stderr
    rows = {o["cl_ord_id"]: o for o in r.json()}
    assert set(rows) == {"S1", "B1"}
    assert (rows["S1"]["side"], rows["S1"]["price"], rows["S1"]["leaves_qty"]) == (
        "SELL",
        "60000",
        "0.2",
    )
    assert rows["B1"]["price"] == "59000.5" and rows["B1"]["session"] == "ALPHA-MM"
    assert (await cli("--json", "orders", "--account", "BRAVO-1")).json() == []
    only = await cli("--json", "orders", "--session", "ALPHA-MM", "--instrument", "BTC-PERP")
    assert len(only.json()) == 2
    for bad in (["--firm", "NOPE"], ["--account", "NOPE-1"], ["--session", "NOPE"]):
        assert (await cli("orders", *bad)).code == EXIT_NOT_FOUND
    assert (await cli("orders", "--instrument", "NOPE")).code == EXIT_NOT_FOUND
    table = (await cli("orders", "--firm", "ALPHA")).stdout
    assert "60000.0" in table and "0.200" in table and "59000.5" in table


async def test_book_depth_with_own_orders(traded: AdminVenue) -> None:
    r = await traded.cli("book", "BTC-PERP", "--firm", "ALPHA", "--json")
    assert r.code == EXIT_OK, r.stderr
    book = r.json()
    assert book["asks"] == [
        {"price": "60000", "qty": "0.2", "orders": 1, "own_qty": "0.2", "own_orders": ["S1"]}
    ]
    assert book["bids"][0]["own_orders"] == ["B1"] and book["bids"][0]["qty"] == "0.25"
    bravo = (await traded.cli("--json", "book", "BTC-PERP", "--firm", "BRAVO")).json()
    assert bravo["asks"][0]["own_orders"] == []
    table = (await traded.cli("book", "BTC-PERP", "--firm", "ALPHA")).stdout
    assert "* 0.200 (S1)" in table and "* 0.250 (B1)" in table
    assert (await traded.cli("book", "NOPE")).code == EXIT_NOT_FOUND


async def test_instruments_with_market_numbers(traded: AdminVenue) -> None:
    r = await traded.cli("--json", "instrument", "list")
    rows = {i["symbol"]: i for i in r.json()}
    btc = rows["BTC-PERP"]
    assert btc["open_interest"] == "0.3"
    assert {"state", "mark", "index", "funding_rate"} <= set(btc)
    assert rows["ETH-PERP"]["open_interest"] == "0"
    table = (await traded.cli("instrument", "list")).stdout
    assert "open_interest" in table and "0.300" in table


async def test_recent_trades(traded: AdminVenue) -> None:
    r = await traded.cli("--json", "trades", "--instrument", "BTC-PERP")
    assert r.code == EXIT_OK, r.stderr
    (trade,) = r.json()
    assert (trade["account"], trade["side"], trade["price"], trade["qty"]) == (
        "BRAVO-1",
        "BUY",
        "60000",
        "0.3",
    )
    (mine,) = (await traded.cli("--json", "trades", "--account", "ALPHA-1")).json()
    assert (mine["side"], mine["aggressor"], mine["trade_id"]) == ("SELL", False, trade["trade_id"])
    assert (await traded.cli("--json", "trades", "--instrument", "ETH-PERP")).json() == []
    assert (await traded.cli("trades", "--account", "NOPE")).code == EXIT_NOT_FOUND
    assert "60000.0" in (await traded.cli("trades")).stdout


async def test_account_show_has_positions_and_readable_numbers(traded: AdminVenue) -> None:
    r = await traded.cli("--json", "account", "show", "ALPHA-1")
    shown = r.json()
    (pos,) = shown["positions"]
    assert (pos["symbol"], pos["size"]) == ("BTC-PERP", "-0.3")
    exact = pos["liquidation_price"]
    assert exact is not None and Decimal(exact) > 60000  # exact decimal string kept
    table = (await traded.cli("account", "show", "ALPHA-1")).stdout
    assert "liquidation_price (+2 digits)" in table
    shown_liq = display.price(exact, "0.5", extra=2)
    assert re.fullmatch(r"\d+\.\d{3}", shown_liq) and shown_liq in table, table
    assert re.search(r"\d{1,3}(,\d{3})+\.\d\d USD", table), table  # money: 9,999,…​.xx USD
    assert "units" not in table and exact not in table
    r = await traded.cli("account", "deposit", "ALPHA-1", "1000.5")
    assert r.code == EXIT_OK and "1,000.50 USD" in r.stdout and "units" not in r.stdout
