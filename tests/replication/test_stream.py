"""Replication against a real 3-node NATS cluster, in process: fencing by expected last
sequence, promotion with an epoch marker, and a rejoining node that drops its unacknowledged
tail and catches up."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec
import pytest
from structlog.testing import capture_logs

from tests.core.helpers import instrument
from tests.replication.cluster import NatsCluster
from tests.replication.scenario import journal_rows
from venue.clock import LiveClock
from venue.config_replication import ReplicationConfig
from venue.core import AddInstrument, Engine
from venue.journal import Batch, Journal
from venue.replication import Fenced, ReplicaNode, wire
from venue.sequencer import Sequencer

TIMEOUT = 30.0  # an upper bound for a loaded machine, not an expectation


def _cfg(cluster: NatsCluster, node: str, role: str) -> ReplicationConfig:
    return ReplicationConfig(
        servers=cluster.servers,
        node_id=node,
        role=role,  # type: ignore[arg-type]
        lease_ttl_ms=1000,
        lease_renew_ms=100,
        publish_timeout_ms=1000,
        retry_ms=50,
    )


async def _submit(seqr: Sequencer, symbol: str) -> None:
    seqr.submit(AddInstrument(ts=0, instrument=instrument(symbol)))
    done = asyncio.Event()
    seqr.after_commit(done.set)
    await asyncio.wait_for(done.wait(), TIMEOUT)


async def _primary(node: ReplicaNode) -> tuple[Sequencer, Journal, Engine]:
    engine, journal, publisher = await asyncio.wait_for(node.until_primary(first=True), TIMEOUT)
    seqr = Sequencer(engine, journal, LiveClock())
    seqr.set_replicator(publisher.publish)
    await seqr.start()
    return seqr, journal, engine


async def test_a_second_writer_is_fenced_and_an_unacknowledged_tail_is_dropped(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    a = ReplicaNode(
        _cfg(nats_cluster, "a", "primary"), db=tmp_path / "a.db", synchronous="NORMAL", create=True
    )
    await a.connect()
    seq_a, journal_a, _ = await _primary(a)
    await _submit(seq_a, "BTC-PERP")
    await _submit(seq_a, "ETH-PERP")

    # a commits one more batch locally, but its publish never completes (a crash before the
    # ack): the batch is in a's journal, not in the stream, and nothing of it is released
    async def crash(_batch: Batch) -> None:
        raise ConnectionError("killed before the stream's ack")

    seq_a.set_replicator(crash)
    seq_a.submit(AddInstrument(ts=0, instrument=instrument("SOL-PERP")))
    while seq_a.failed is None:
        await asyncio.sleep(0.01)
    await seq_a.stop()
    await journal_a.close()
    await a.lease.stop()  # a is gone: it renews its lease no more
    assert journal_a.last_seq == 3
    publisher_a = a.publisher
    assert publisher_a is not None

    # b takes over once a's lease expires (a no longer renews it) and writes its own seq 3
    b = ReplicaNode(
        _cfg(nats_cluster, "b", "standby"), db=tmp_path / "b.db", synchronous="NORMAL", create=True
    )
    await b.connect()
    seq_b, journal_b, engine_b = await _primary(b)
    assert b.publisher is not None and b.publisher.epoch == 2
    await _submit(seq_b, "XRP-PERP")

    # a's publisher, paused past its lease and resumed, is refused by the stream
    with pytest.raises(Fenced, match="another node is primary"):
        await publisher_a.publish(_one_row_batch(4))

    # a restarts: its seq 3 is not the stream's; it is dropped (kept aside) and a catches up
    a2 = ReplicaNode(
        _cfg(nats_cluster, "a", "primary"), db=tmp_path / "a.db", synchronous="NORMAL", create=True
    )
    await a2.connect()
    with capture_logs() as logs:
        follower = await asyncio.wait_for(a2.sync(), TIMEOUT)
    dropped = [e for e in logs if e["event"] == "replication_local_tail_dropped"]
    assert len(dropped) == 1
    assert (dropped[0]["dropped_from_seq"], dropped[0]["dropped_to_seq"]) == (3, 3)
    assert Path(dropped[0]["kept_as"]).exists()
    assert follower.engine.state_hash() == engine_b.state_hash()
    await follower.journal.close()
    await seq_b.stop()
    await journal_b.close()
    assert journal_rows(tmp_path / "a.db") == journal_rows(tmp_path / "b.db")
    for node in (a, b, a2):
        await node.close()


async def test_a_node_behind_the_stream_or_its_marker_catches_up_at_start(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    a = ReplicaNode(
        _cfg(nats_cluster, "a", "primary"), db=tmp_path / "a.db", synchronous="NORMAL", create=True
    )
    await a.connect()
    seq_a, journal_a, engine_a = await _primary(a)
    await _submit(seq_a, "BTC-PERP")
    # b copies a's journal now (a lost disk restored from yesterday's backup, say) ...
    await seq_a.stop(snapshot=False)
    for suffix in ("", "-wal"):
        src = Path(f"{tmp_path / 'a.db'}{suffix}")
        if src.exists():
            dst = Path(f"{tmp_path / 'b.db'}{suffix}")
            dst.write_bytes(src.read_bytes())
            dst.chmod(0o600)  # journal files are the owner's only
    seq_a = Sequencer(engine_a, journal_a, LiveClock())
    assert a.publisher is not None
    seq_a.set_replicator(a.publisher.publish)
    await seq_a.start()
    await _submit(seq_a, "ETH-PERP")  # ... and a went on
    # b's marker says seq 2 (as if b had written it and then lost its write-ahead log)
    marker = tmp_path / "b.db.state"
    marker.write_bytes((tmp_path / "a.db.state").read_bytes())
    marker.chmod(0o600)
    b = ReplicaNode(
        _cfg(nats_cluster, "b", "standby"), db=tmp_path / "b.db", synchronous="NORMAL", create=True
    )
    await b.connect()
    with capture_logs() as logs:
        follower = await asyncio.wait_for(b.sync(), TIMEOUT)
    assert not [e for e in logs if e["event"] == "replication_local_tail_dropped"]
    restored = [e for e in logs if e["event"] == "replication_local_loss_restored_from_stream"]
    assert len(restored) == 1 and "seq 2" in restored[0]["lost"], logs
    assert follower.last_seq == journal_a.last_seq == 2
    assert follower.engine.state_hash() == engine_a.state_hash()
    # the batches carry the primary's chain hash, which the follower's journal reached too
    _, last = await a.link.stream_bounds()
    carried = wire.decode(await a.link.get(last)).chain
    assert carried == journal_a.last_chain == follower.journal.last_chain != b""
    await follower.journal.close()
    await seq_a.stop()
    await journal_a.close()
    for node in (a, b):
        await node.close()


def _one_row_batch(seq: int) -> Batch:
    batch = Batch()
    batch.rows = [(seq, 0, b"x", b"y")]
    return batch


async def test_a_batch_larger_than_the_servers_accept_stops_with_a_clear_error(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    from venue.replication import ReplicationError

    a = ReplicaNode(
        _cfg(nats_cluster, "a", "primary"), db=tmp_path / "a.db", synchronous="NORMAL", create=True
    )
    await a.connect()
    _engine, journal, publisher = await asyncio.wait_for(a.until_primary(first=True), TIMEOUT)
    assert a.link.batch_limit() == 2048  # 8 MiB servers: 2048 commands of 4 KiB
    batch = Batch()
    batch.rows = [(1, 0, b"x" * (a.link.max_payload + 1), b"")]
    with pytest.raises(ReplicationError, match="raise max_payload"):
        await publisher.publish(batch)
    await journal.close()
    await a.close()


async def test_a_node_with_another_lease_ttl_than_the_bucket_is_refused(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    from venue.replication import ReplicationError

    a = ReplicaNode(
        _cfg(nats_cluster, "a", "primary"), db=tmp_path / "a.db", synchronous="NORMAL", create=True
    )
    await a.connect()
    other = msgspec.structs.replace(_cfg(nats_cluster, "b", "standby"), lease_ttl_ms=5000)
    b = ReplicaNode(other, db=tmp_path / "b.db", synchronous="NORMAL", create=True)
    with pytest.raises(ReplicationError, match="lease_ttl_ms = 5000"):
        await b.connect()
    for node in (a, b):
        await node.close()
