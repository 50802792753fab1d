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


async def test_session_actions_say_what_happened(admin_venue: AdminVenue) -> None:
    """Issue 19 item 6: `session enable` printed `result no` (the previous setting) when it did
    enable, `session reset` printed `result -`."""
    cli = admin_venue.cli
    for argv, said in (
        (["-y", "session", "disable", "BRAVO-MM"], "disabled"),
        (["-y", "session", "disable", "BRAVO-MM"], "already disabled"),
        (["session", "enable", "BRAVO-MM"], "enabled"),
        (["session", "enable", "BRAVO-MM"], "already enabled"),
        (["-y", "session", "reset", "BRAVO-MM"], "sequence numbers reset: next in 1, next out 1"),
        (["-y", "session", "logout", "BRAVO-MM"], "not connected: nothing to log out"),
        (["-y", "session", "disconnect", "BRAVO-MM"], "not connected: nothing to disconnect"),
        (["-y", "session", "set-seq", "BRAVO-MM", "--next-in", "3"], "next in 3, next out 1"),
    ):
        r = await cli(*argv)
        assert r.code == EXIT_OK, r.stderr
        rows = dict(line.split(maxsplit=1) for line in _table_rows(r.stdout))
        assert rows["outcome"] == said, (argv, r.stdout)
        assert "result" not in rows
    r = await cli("--json", "session", "enable", "BRAVO-MM")
    assert r.json()["result"] is True  # --json keeps the raw answer (the previous setting)
    assert r.json()["outcome"] == "already enabled"


def _table_rows(text: str) -> list[str]:
    """The `field value` rows of a rich key/value table, borders removed."""
    out = []
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip("│┃ ").split("│")]
        if len(cells) == 2 and cells[0] and cells[0] not in ("field",):
            out.append(f"{cells[0]} {cells[1]}")
    return out


async def test_audit_by_operator_name(admin_venue: AdminVenue) -> None:
    """Issue 19 item 7: `audit --by alice` found nothing: the operator is `root/alice`."""
    cli = admin_venue.cli
    assert (await cli("--operator", "alice", "-y", "instrument", "halt", "BTC-PERP")).code == 0
    assert (await cli("--operator", "bob", "instrument", "resume", "BTC-PERP")).code == 0
    user = (await cli("--json", "audit")).json()[0]["operator"].split("/")[0]
    by = {}
    for who in ("alice", f"{user}/alice", user, "bob", "ali", "carol"):
        by[who] = [a["action"] for a in (await cli("--json", "audit", "--by", who)).json()]
    assert by["alice"] == by[f"{user}/alice"] == ["instrument.halt"]
    assert by[user] == ["instrument.halt", "instrument.resume"]
    assert by["bob"] == ["instrument.resume"]
    assert by["ali"] == by["carol"] == []
