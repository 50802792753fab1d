"""Issue 19 item 3: the kill switch refuses a filter that names nothing (a typo), with
not_found and exit 3, as it already did for an unknown session or account; nothing is
canceled and nothing is recorded."""

from __future__ import annotations

from tests.admin.conftest import AdminVenue
from venue.admin.cli import EXIT_NOT_FOUND, EXIT_OK


async def test_cancel_all_with_an_unknown_firm_or_instrument(admin_venue: AdminVenue) -> None:
    cli = admin_venue.cli
    for argv, what in (
        (["--firm", "NOPE"], "unknown firm 'NOPE'"),
        (["--instrument", "NOPE"], "unknown instrument 'NOPE'"),
        (["--firm", "ALPHA", "--instrument", "BTC-PERPX"], "unknown instrument 'BTC-PERPX'"),
        (["--session", "NOPE"], "unknown session 'NOPE'"),
        (["--account", "NOPE-1"], "unknown account 'NOPE-1'"),
    ):
        r = await cli("-y", "cancel-all", *argv)
        assert r.code == EXIT_NOT_FOUND, (argv, r.stdout, r.stderr)
        assert what in r.stderr and "not_found" in r.stderr
    assert (await cli("--json", "audit", "--action", "cancel_all")).json() == []
    r = await cli("--json", "-y", "cancel-all", "--firm", "BRAVO", "--instrument", "ETH-PERP")
    assert r.code == EXIT_OK, r.stderr
    assert r.json()["canceled"] == 0
