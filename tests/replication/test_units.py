"""Replication pieces without NATS: the sequencer's replicator hook and the follower."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import msgspec
import pytest

from tests.core.helpers import instrument, order
from venue.clock import ManualClock
from venue.core import AddAccount, AddInstrument, Command, Deposit, Engine, Side
from venue.journal import Batch, Journal, JournalFailed
from venue.replication import wire
from venue.replication.errors import StateDiverged
from venue.replication.follower import Follower
from venue.sequencer import Sequencer

TIMEOUT = 5.0
_encode = msgspec.msgpack.Encoder().encode


def commands() -> list[Command]:
    out: list[Command] = [AddInstrument(ts=1, instrument=instrument())]
    for acct in ("A1", "A2"):
        out.append(AddAccount(ts=1, firm="F1", account=acct, max_leverage=100))
        out.append(Deposit(ts=1, account=acct, amount=10**15))
    out.append(order("b1", Side.BUY, 1000, 5, ts=2))
    out.append(order("s1", Side.SELL, 1000, 3, ts=3, account="A2"))
    return out


async def test_nothing_is_released_before_the_replicator_returns(tmp_path: Path) -> None:
    journal = await Journal.open(tmp_path / "j.db", synchronous="NORMAL")
    seqr = Sequencer(Engine(), journal, ManualClock())
    gate = asyncio.Event()
    published: list[list[int]] = []

    async def replicate(batch: Batch) -> None:
        published.append([r[0] for r in batch.rows])
        await gate.wait()

    seqr.set_replicator(replicate)
    released: list[int] = []
    seqr.subscribe(lambda seq, _ts, _cmd, _ev: released.append(seq))
    await seqr.start()
    seqr.submit(AddInstrument(ts=0, instrument=instrument()))
    while not published:  # the commit loop reaches the replicator
        await asyncio.sleep(0)
    assert journal.last_seq == 1  # committed locally ...
    assert released == [] and seqr.committed_seq == 0  # ... but not released
    gate.set()
    done = asyncio.Event()
    seqr.after_commit(done.set)
    await asyncio.wait_for(done.wait(), TIMEOUT)
    assert released == [1] and seqr.committed_seq == 1
    await seqr.stop()
    await journal.close()


async def test_a_refusing_replicator_fails_the_sequencer_and_releases_nothing(
    tmp_path: Path,
) -> None:
    journal = await Journal.open(tmp_path / "j.db", synchronous="NORMAL")
    seqr = Sequencer(Engine(), journal, ManualClock())

    async def refuse(_batch: Batch) -> None:
        raise RuntimeError("the stream refused the batch")

    seqr.set_replicator(refuse)
    released: list[Any] = []
    failed = asyncio.Event()
    seqr.on_failure(lambda _exc: failed.set())
    seqr.subscribe(lambda *a: released.append(a))
    await seqr.start()
    seqr.submit(AddInstrument(ts=0, instrument=instrument()))
    seqr.after_commit(lambda: released.append("callback"))
    await asyncio.wait_for(failed.wait(), TIMEOUT)
    assert released == []
    assert "refused" in str(seqr.failed)
    with pytest.raises(JournalFailed):
        seqr.submit(AddInstrument(ts=0, instrument=instrument("ETH-PERP")))
    await seqr.stop()
    await journal.close()


def primary_messages(epoch: int = 1) -> tuple[list[wire.StreamMessage], str]:
    """What a primary would publish for `commands()`, one command per batch, and its hash."""
    engine = Engine()
    msgs = [wire.StreamMessage(kind=wire.EPOCH, epoch=epoch, node="p", last_seq=0)]
    for seq, cmd in enumerate(commands(), start=1):
        events = engine.apply(cmd)
        row = (seq, cmd.ts, _encode(cmd), _encode(events))
        msgs.append(
            wire.StreamMessage(kind=wire.BATCH, epoch=epoch, node="p", last_seq=seq, rows=[row])
        )
    return msgs, engine.state_hash()


async def _follower(tmp_path: Path) -> Follower:
    journal = await Journal.open(tmp_path / "f.db", synchronous="NORMAL")
    return Follower(Engine(), journal)


async def test_a_follower_reaches_the_primarys_state_and_journal(tmp_path: Path) -> None:
    msgs, state_hash = primary_messages()
    follower = await _follower(tmp_path)
    for i, msg in enumerate(msgs, start=1):
        await follower.apply(i, wire.encode(msg))
    await follower.apply(2, wire.encode(msgs[1]))  # a redelivery is ignored
    assert follower.engine.state_hash() == state_hash
    assert follower.last_seq == len(msgs) - 1 and follower.stream_seq == len(msgs)
    rows = await follower.journal.read_rows(range(1, len(msgs)))
    assert [tuple(r) for r in rows] == [tuple(m.rows[0]) for m in msgs[1:]]
    await follower.journal.close()


async def test_a_follower_rejects_a_batch_of_an_older_epoch(tmp_path: Path) -> None:
    msgs, _ = primary_messages(epoch=1)
    follower = await _follower(tmp_path)
    await follower.apply(1, wire.encode(msgs[0]))
    await follower.apply(2, wire.encode(msgs[1]))
    marker = wire.StreamMessage(kind=wire.EPOCH, epoch=2, node="q", last_seq=1)
    await follower.apply(3, wire.encode(marker))
    await follower.apply(4, wire.encode(msgs[2]))  # the old primary's next batch: epoch 1
    assert follower.last_seq == 1 and follower.epoch == 2 and follower.stream_seq == 4
    await follower.journal.close()


async def test_a_follower_stops_when_its_events_differ_from_the_primarys(tmp_path: Path) -> None:
    msgs, _ = primary_messages()
    follower = await _follower(tmp_path)
    for i, msg in enumerate(msgs[:3], start=1):
        await follower.apply(i, wire.encode(msg))
    seq, ts, cmd, _events = msgs[3].rows[0]
    forged = msgspec.structs.replace(msgs[3], rows=[(seq, ts, cmd, _encode([]))])
    with pytest.raises(StateDiverged, match=f"seq {seq}"):
        await follower.apply(4, wire.encode(forged))
    assert follower.journal.last_seq == seq - 1  # nothing of it was written
    await follower.journal.close()


async def test_a_follower_checks_the_primarys_state_hash_at_its_snapshots(tmp_path: Path) -> None:
    msgs, _ = primary_messages()
    follower = await _follower(tmp_path)
    for i, msg in enumerate(msgs[:3], start=1):
        await follower.apply(i, wire.encode(msg))
    seq = msgs[3].rows[0][0]
    good = msgspec.structs.replace(msgs[3], snapshot_seq=seq, snapshot_hash=_hash_after(msgs, seq))
    await follower.apply(4, wire.encode(good))
    assert (await follower.journal.latest_snapshot()) is not None  # its own snapshot, same seq
    bad = msgspec.structs.replace(msgs[4], snapshot_seq=seq + 1, snapshot_hash="0" * 64)
    with pytest.raises(StateDiverged, match="state hash"):
        await follower.apply(5, wire.encode(bad))
    await follower.journal.close()


def _hash_after(msgs: list[wire.StreamMessage], seq: int) -> str:
    engine = Engine()
    decode = msgspec.msgpack.Decoder(Command).decode
    for m in msgs:
        for row in m.rows:
            if row[0] <= seq:
                engine.apply(decode(row[2]))
    return engine.state_hash()


def test_the_feed_shadow_numbers_as_the_primary_and_restarts_on_a_difference() -> None:
    """The shadow numbers each command's feed messages from the primary's next feed seq; a
    batch whose feed seq differs from the shadow's count restarts it there (counted)."""
    from venue.marketdata.shadow import FeedShadow
    from venue.marketdata.translate import FeedTranslator

    engine = Engine()
    primary = FeedTranslator()
    primary_next = 1 + len(primary.preamble(engine, 1))
    shadow = FeedShadow(1000)
    for i, cmd in enumerate(commands()):
        shadow.begin("S1", primary_next, engine, cmd.ts)
        events = engine.apply(cmd)
        shadow.command(cmd.ts, events)
        primary_next += len(primary.on_command(cmd.ts, events))
        assert shadow.next_seq == primary_next, i
    assert shadow.mismatches == 0
    resume = shadow.resume()
    assert resume is not None and resume.session == "S1"
    assert resume.history.next_seq == primary_next
    shadow.begin("S1", primary_next + 3, engine, 9)  # the primary numbered three more
    assert shadow.mismatches == 1 and shadow.next_seq == primary_next + 3
    shadow.begin("", 0, engine, 9)  # a primary without a feed: nothing to continue
    assert shadow.resume() is None


async def test_a_follower_keeps_the_fix_store_session_seqs_and_logon_guards(
    tmp_path: Path,
) -> None:
    """Everything a promoted standby's gateway reads comes with the batch: the outbound store,
    the sessions' sequence numbers and the signed-Logon replay guard (issue 16's guard)."""
    msgs, _ = primary_messages()
    first = msgspec.structs.replace(
        msgs[1],
        store_ops=[("S1", 1, 1, b"logon"), ("S1", 2, 0, b"report")],
        session_seqs={"S1": (5, 3, 77)},
        logon_guards={"S1": (1_000, 4)},
    )
    follower = await _follower(tmp_path)
    await follower.apply(1, wire.encode(msgs[0]))
    await follower.apply(2, wire.encode(first))
    journal = follower.journal
    assert await journal.load_session_seqs("S1") == (5, 3, 77)
    assert await journal.load_logon_guards() == {"S1": (1_000, 4)}
    assert await journal.read_outbound("S1", 1, 0, 10) == [
        (1, True, b"logon"),
        (2, False, b"report"),
    ]
    await journal.close()


async def test_a_follower_stops_when_its_chain_differs_from_the_primarys(tmp_path: Path) -> None:
    msgs, _ = primary_messages()
    follower = await _follower(tmp_path)
    await follower.apply(1, wire.encode(msgs[0]))
    forged = msgspec.structs.replace(msgs[1], chain=b"\x00" * 32)
    with pytest.raises(StateDiverged, match="chain hash"):
        await follower.apply(2, wire.encode(forged))
    await follower.journal.close()


async def test_a_follower_applies_the_primarys_resend_retention(tmp_path: Path) -> None:
    msgs, _ = primary_messages()
    follower = await _follower(tmp_path)
    await follower.apply(1, wire.encode(msgs[0]))
    await follower.apply(
        2, wire.encode(msgspec.structs.replace(msgs[1], store_ops=[("S1", 1, 0, b"a")]))
    )
    await follower.apply(
        3, wire.encode(msgspec.structs.replace(msgs[2], store_ops=[("S1", 5, 0, b"b")]))
    )
    trim = msgspec.structs.replace(msgs[3], store_trims={"S1": 3})  # runs ending below 3 go
    await follower.apply(4, wire.encode(trim))
    assert await follower.journal.read_outbound("S1", 1, 0, 10) == [(5, False, b"b")]
    await follower.journal.close()
