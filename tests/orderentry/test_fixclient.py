"""tools/fixclient.py against the real gateway: command parsing, logon, an order that rests and
one that trades, printed readably."""

from __future__ import annotations

import asyncio
import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

import pytest

from tests.orderentry.conftest import VenueFactory, demo_sessions

TOOL = Path(__file__).resolve().parents[2] / "tools" / "fixclient.py"


def load_tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location("fixclient", TOOL)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["fixclient"] = module
    spec.loader.exec_module(module)
    return module


fixclient = load_tool()


def test_parse_commands() -> None:
    ids = itertools.count(1)
    mt, body = fixclient.parse_command(
        "sell BTC-PERP 0.5 @ 60000.5 post stp=7 account=ALPHA-2 id=A1", ids
    )
    fields = dict(body)
    assert mt == b"D"
    assert (fields[11], fields[54], fields[38], fields[40], fields[44], fields[59]) == (
        b"A1",
        b"2",
        b"0.5",
        b"2",
        b"60000.5",
        b"1",
    )
    assert (fields[18], fields[7928], fields[1]) == (b"6", b"7", b"ALPHA-2")
    mt, body = fixclient.parse_command("buy ETH-PERP 1", ids)
    assert (dict(body)[40], dict(body)[59]) == (b"1", b"3")
    assert fixclient.parse_command("   # a comment", ids) is None
    assert fixclient.parse_command("cancel A1", ids)[0] == b"F"
    assert fixclient.parse_command("replace A1 2 @ 60001 symbol=BTC-PERP", ids)[0] == b"G"
    assert fixclient.parse_command("masscancel BTC-PERP", ids)[0] == b"q"
    assert fixclient.parse_command("securities", ids)[0] == b"x"
    for bad in ("buy BTC-PERP", "sell X 1 60000", "dance", "buy X 1 @ 2 tif=NOPE"):
        with pytest.raises(fixclient.CommandError):
            fixclient.parse_command(bad, ids)


async def test_an_order_that_rests_and_one_that_trades(venue_factory: VenueFactory) -> None:
    venue = await venue_factory(demo_sessions(**{"ALPHA-MM": {"cancel_on_disconnect": False}}))

    def session(name: str, commands: list[str]) -> list[str]:
        client = fixclient.Client("127.0.0.1", venue.port, sender=name)
        client.logon()
        for line in commands:
            client.run(line, linger=0.0)
        client.receive(0.3)
        client.logout()
        return list(client.printed)

    alpha = await asyncio.to_thread(session, "ALPHA-MM", ["sell BTC-PERP 1 @ 60000.5 id=A1"])
    assert any(line.startswith("ER NEW") and "A1" in line for line in alpha)
    bravo = await asyncio.to_thread(
        session, "BRAVO-MM", ["buy BTC-PERP 0.4 @ 60001 id=B1", "wait 0.5", "securities"]
    )
    trade = next(line for line in bravo if line.startswith("ER TRADE"))
    assert "fill 0.4 @ 60000.5 aggressor" in trade
    assert any(line.startswith("SECURITY LIST (3 instruments)") for line in bravo)
