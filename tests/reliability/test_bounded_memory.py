"""What a soak's memory must not grow with (issue 11): the remembered ClOrdIDs are bounded per
session and in all (sessions logged out longest forgotten first, logged-on ones kept), and the
drop copy's trade index holds a few integers per journal row, not the trades (trade capture
is read back from the journal, in request order, once the rows have committed)."""

from __future__ import annotations

from pathlib import Path

from tests.dropcopy.conftest import account_setup
from tests.dropcopy.test_application import BTC, SESSIONS, close, msg, open_venue, order
from venue.core import AddInstrument
from venue.core.types import Side
from venue.gateway.application import Outbound, RecentClOrdIds
from venue.gateway.dropcopy import DropCopy


def test_recent_cl_ord_ids_keep_the_last_per_session() -> None:
    ids = RecentClOrdIds(per_session=4, total=1_000)
    ids.logged_on("S")
    for k in range(100):
        ids.remember("S", b"c%d" % k)
    assert len(ids) <= 5  # 4, plus at most a quarter before a trim
    assert all(("S", b"c%d" % k) in ids for k in range(96, 100))
    assert ("S", b"c0") not in ids
    ids.remember("S", b"c96")  # used again: newest, so kept past the next trims
    for k in range(100, 103):
        ids.remember("S", b"c%d" % k)
    assert ("S", b"c96") in ids
    ids.forget("S")
    assert len(ids) == 0 and ("S", b"c99") not in ids


def test_recent_cl_ord_ids_forget_the_longest_away_first() -> None:
    ids = RecentClOrdIds(per_session=10, total=25)
    for name in ("A", "B", "C"):
        ids.logged_on(name)
        for k in range(10):
            ids.remember(name, b"%s%d" % (name.encode(), k))
    # 30 > 25, but all three are logged on: nothing is forgotten for the total
    assert len(ids) == 30
    ids.logged_out("B")
    ids.logged_out("A")
    ids.remember("C", b"C10")
    assert ("B", b"B9") not in ids  # away longest: forgotten whole
    assert ("A", b"A9") in ids and ("C", b"C10") in ids
    assert len(ids) == 21
    ids.logged_on("A")  # back: no longer a candidate
    ids.logged_out("C")
    ids.logged_on("D")
    for k in range(10):
        ids.remember("D", b"D%d" % k)
    assert ("C", b"C10") not in ids  # the only one away now
    assert ("A", b"A9") in ids and ("D", b"D9") in ids
    assert len(ids) == 20


async def test_trade_index_is_compact_and_answers_in_request_order(tmp_path: Path) -> None:
    seq = await open_venue(tmp_path / "v.db")
    sent: list[Outbound] = []
    dc = DropCopy(sequencer=seq, sessions=SESSIONS, send=sent.extend)
    seq.submit(AddInstrument(instrument=BTC))
    for cmd in account_setup():
        seq.submit(cmd)
    for k in range(20):
        seq.submit(order("A", "ALPHA", "ALPHA-1", f"a{k}", Side.SELL))
        seq.submit(order("B", "BRAVO", "BRAVO-1", f"b{k}", Side.BUY))
    index = dc._index
    assert (len(index), index.trades) == (20, 20)  # one row per trade here
    assert (index.every, len(index.pos)) == (64, 1)  # one seq a row, one sample per 64 rows
    sent.clear()
    # three requests before anything committed: answered in order, after the commit
    for req, ids in ((b"r1", b"5-6"), (b"r2", b"1"), (b"r3", b"19-")):
        ad = msg(b"AD", [(568, req), (569, b"0"), (880, ids)])
        assert dc.on_message("ACCT-DC", ad, 0) == []
    await dc.wait_idle()
    assert seq.committed_seq == seq.last_seq
    assert [(dict(o.body)[568], dict(o.body)[880]) for o in sent] == [
        (b"r1", b"5"),
        (b"r1", b"6"),
        (b"r2", b"1"),
        (b"r3", b"19"),
        (b"r3", b"20"),
    ]
    await dc.close()
    await close(seq)
