"""Resend retention (`resend_retention_messages`, venue.gateway.retention): a session keeps its
newest N outbound messages for resend; older ones leave the journal's store, and a
ResendRequest that reaches them gets a SequenceReset-GapFill over what is gone, then the kept
messages resent (RoE section 3)."""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.gateway.conftest import FixClient, VenueFactory, session_config, wait_until
from venue.config import ConfigError, load_config
from venue.gateway.retention import trims_due


def _stored_seqs(db: Path, session: str) -> list[int]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = con.execute("SELECT seq FROM fix_outbound WHERE session = ?", (session,))
        return sorted(int(r[0]) for r in rows)
    finally:
        con.close()


async def test_a_resend_below_the_retention_is_gap_filled_then_the_kept_are_resent(
    start_venue: VenueFactory, clients: Callable[..., FixClient], tmp_path: Path
) -> None:
    keep = 8
    venue = await start_venue([session_config(resend_retention_messages=keep)])
    c = await clients(venue.port).connect()
    await c.logon()
    n = 40
    for i in range(n):
        await c.order(b"O%d" % i)
        await c.receive(b"8")
    last = n + 1  # the Logon answer took 1, the ExecutionReports 2..n+1
    db = tmp_path / "venue.db"
    # the trim runs on the gateway's ticker: wait until what fell out of the window is gone
    await wait_until(lambda: _stored_seqs(db, "MM1")[0] > 1)
    stored = _stored_seqs(db, "MM1")
    assert stored[-1] == last
    assert stored == list(range(stored[0], last + 1))  # what is kept is contiguous
    assert stored[0] <= last - keep + 1  # the newest `keep` are always there
    await c.send(b"2", [(7, b"1"), (16, b"0")])
    gap = await c.read()
    assert (gap.msg_type, gap.get(34), gap.get(123), gap.get(43)) == (b"4", b"1", b"Y", b"Y")
    assert gap.get_int(36) == stored[0]  # the gap fill reaches the first kept message
    for seq in range(stored[0], last + 1):
        er = await c.read()
        assert (er.msg_type, er.get_int(34), er.get(43)) == (b"8", seq, b"Y")
        assert er.get(11) == b"O%d" % (seq - 2)
    await c.send(b"1", [(112, b"AFTER")])
    hb = await c.receive(b"0")
    assert (hb.get(112), hb.get_int(34)) == (b"AFTER", last + 1)


async def test_without_retention_everything_stays(
    start_venue: VenueFactory, clients: Callable[..., FixClient], tmp_path: Path
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon()
    for i in range(20):
        await c.order(b"O%d" % i)
        await c.receive(b"8")
    await c.send(b"1", [(112, b"T")])
    await c.receive(b"0")
    assert _stored_seqs(tmp_path / "venue.db", "MM1") == list(range(1, 23))


@dataclass
class Slot:
    name: str
    keep: int
    next_out: int
    trimmed_below: int = 0


def test_trims_are_batched_and_never_reach_the_newest() -> None:
    s = Slot("S", keep=80, next_out=85)
    assert trims_due([s]) == []  # 5 below the window: under keep // 8
    s.next_out = 91
    assert trims_due([s]) == [("S", 11)]
    assert s.next_out - 11 == 80  # exactly the newest 80 remain
    s.next_out = 95
    assert trims_due([s]) == []  # 4 more since the last trim
    s.next_out = 101
    assert trims_due([s]) == [("S", 21)]


def test_a_reset_restarts_the_count_and_zero_keeps_all() -> None:
    s = Slot("S", keep=8, next_out=100, trimmed_below=50)
    s.next_out = 3  # a sequence reset
    assert trims_due([s]) == []
    assert s.trimmed_below == 0
    s.next_out = 12
    assert trims_due([s]) == [("S", 4)]
    assert trims_due([Slot("ALL", keep=0, next_out=10**6)]) == []


def test_a_negative_retention_is_a_configuration_error(tmp_path: Path) -> None:
    cfg = tmp_path / "venue.toml"
    cfg.write_text(
        "[[sessions]]\nname = 'X'\nrole = 'trading'\nvenue_comp_id = 'V'\n"
        "client_comp_id = 'X'\nfirm = 'ALPHA'\nresend_retention_messages = -1\n"
    )
    with pytest.raises(ConfigError, match="resend_retention_messages"):
        load_config(cfg)
