"""venue-admin mmp set|show|reset against an in-process venue: journaled with the operator,
shown per account with the window's state, reset unfreezes."""

from __future__ import annotations

import pytest

from tests.admin.conftest import AdminVenue
from tests.admin.test_trading import journal_commands
from venue.admin.cli import EXIT_OK, EXIT_REFUSED, EXIT_USAGE
from venue.core.commands import AddAccount
from venue.core.quote_types import ResetMmp, SetMmp


@pytest.fixture
async def av(admin_venue: AdminVenue) -> AdminVenue:
    seq = admin_venue.venue.sequencer
    assert seq is not None
    seq.submit(AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10))
    return admin_venue


async def test_mmp_set_show_reset(av: AdminVenue) -> None:
    r = await av.cli(
        "--json", "--operator", "alice", "mmp", "set", "ALPHA-1", "BTC",
        "--window-ms", "500", "--max-qty", "2.5", "--max-fills", "10", "--freeze-ms", "1000",
    )  # fmt: skip
    assert r.code == EXIT_OK, r.stderr
    cmd = dict(await journal_commands(av))[r.json()["seq"]]
    assert isinstance(cmd, SetMmp)
    assert (cmd.max_qty, cmd.max_fills, cmd.window_ms, cmd.freeze_ms) == (2500, 10, 500, 1000)
    assert cmd.operator == "root/alice"
    r = await av.cli("--json", "mmp", "show")
    assert r.code == EXIT_OK, r.stderr
    (row,) = r.json()
    assert (row["account"], row["underlying"], row["max_qty"], row["frozen"]) == (
        "ALPHA-1",
        "BTC",
        "2.500",
        False,
    )
    r = await av.cli("mmp", "show", "ALPHA-1")
    assert r.code == EXIT_OK and "ALPHA-1 BTC: active" in r.stdout
    r = await av.cli("--json", "mmp", "reset", "ALPHA-1", "BTC")
    assert r.code == EXIT_OK, r.stderr
    assert isinstance(dict(await journal_commands(av))[r.json()["seq"]], ResetMmp)
    r = await av.cli("mmp", "set", "ALPHA-1", "BTC", "--window-ms", "5", "--max-qty", "0.0001")
    assert r.code == EXIT_USAGE and "multiple" in r.stderr
    r = await av.cli("mmp", "set", "NOPE", "BTC", "--window-ms", "5", "--max-fills", "1")
    assert r.code == EXIT_REFUSED and "UNKNOWN_ACCOUNT" in r.stderr
