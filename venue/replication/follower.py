"""A follower applies stream messages to its own engine and journal, as the primary did.

Invariants:
- Messages are applied in stream order, each at most once; journal rows already in the local
  journal (seq <= its last seq) are skipped, so re-reading a message is harmless, and the rows
  applied continue the local journal without a gap.
- Each applied command must produce byte for byte the events the primary journaled for it, and
  where the primary took a snapshot the state hash must equal the one it recorded; otherwise
  `StateDiverged` stops the node. The follower writes its own snapshot at those seqs.
- A message from an epoch older than the newest seen is rejected (logged, not applied): after
  a new primary's epoch marker nothing of an older primary counts.
- One message is one local transaction (its rows, FIX store changes, session sequence numbers
  and Logon replay guards), so the journal and the FIX store agree at every point, as on the
  primary; the journal's chain hash after the message's rows must equal the primary's.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

import msgspec

from venue.core import Command, Engine, Event
from venue.journal import Journal, Snapshot
from venue.log import get_logger
from venue.replication import wire
from venue.replication.errors import ReplicationError, StateDiverged

__all__ = ["FeedObserver", "Follower"]

_log = get_logger("venue.replication")
_decode_cmd = msgspec.msgpack.Decoder(Command).decode


class FeedObserver(Protocol):
    """Sees each batch as it is applied (`venue.marketdata.shadow.FeedShadow`)."""

    def begin(self, session: str, feed_seq: int, engine: Engine, ts: int) -> None: ...
    def command(self, ts: int, events: Sequence[Event]) -> None: ...
    def reset(self) -> None: ...


class Follower:
    def __init__(
        self, engine: Engine, journal: Journal, observer: FeedObserver | None = None
    ) -> None:
        self.engine = engine
        self.journal = journal
        self.observer = observer
        self.stream_seq = 0  # the last stream message applied (or seen and rejected)
        self.epoch = 0  # the newest epoch seen
        self.primary = ""  # the node that wrote the newest message applied
        self.applied = 0  # messages applied since start (status, tests)
        self._encode = msgspec.msgpack.Encoder().encode

    @property
    def last_seq(self) -> int:
        return self.journal.last_seq

    async def apply(self, stream_seq: int, data: bytes) -> None:
        if stream_seq <= self.stream_seq:
            return  # redelivered
        try:
            msg = wire.decode(data)
        except msgspec.DecodeError as exc:
            raise ReplicationError(f"stream message {stream_seq} does not decode: {exc}") from exc
        if msg.epoch < self.epoch:
            _log.warning(
                "replication_stale_epoch_rejected",
                stream_seq=stream_seq,
                epoch=msg.epoch,
                current_epoch=self.epoch,
                node=msg.node,
            )
            self.stream_seq = stream_seq
            return
        self.epoch = msg.epoch
        self.primary = msg.node
        if msg.kind == wire.EPOCH:
            _log.info("replication_epoch", epoch=msg.epoch, primary=msg.node, stream_seq=stream_seq)
            self.stream_seq = stream_seq
            return
        await self._apply_batch(stream_seq, msg)
        self.stream_seq = stream_seq
        self.applied += 1

    async def _apply_batch(self, stream_seq: int, msg: wire.StreamMessage) -> None:
        last = self.journal.last_seq
        rows = [r for r in msg.rows if r[0] > last]
        if rows and rows[0][0] != last + 1:
            raise ReplicationError(
                f"stream message {stream_seq} starts at seq {rows[0][0]}, "
                f"the local journal ends at {last}"
            )
        batch = wire.to_batch(msg, rows)
        engine = self.engine
        encode = self._encode
        observer = self.observer
        if observer is not None and rows:
            if len(rows) == len(msg.rows):
                observer.begin(msg.feed_session, msg.feed_seq, engine, rows[0][1])
            else:
                observer.reset()  # part of it was applied before a restart
                observer = None
        for seq, ts, cmd_bytes, events_bytes in rows:
            events = engine.apply(_decode_cmd(cmd_bytes))
            if observer is not None:
                observer.command(ts, events)
            if encode(events) != events_bytes:
                raise StateDiverged(
                    f"seq {seq}: this node's engine produced other events than the primary's"
                )
            if seq == msg.snapshot_seq:
                state_hash = engine.state_hash()
                if state_hash != msg.snapshot_hash:
                    raise StateDiverged(
                        f"seq {seq}: state hash {state_hash}, the primary's is {msg.snapshot_hash}"
                    )
                batch.snapshot = Snapshot(seq, ts, state_hash, engine.snapshot())
                _log.info("replication_state_hash_checked", seq=seq, state_hash=state_hash)
        if batch.has_writes():
            await self.journal.commit(batch)
        if msg.chain and rows and len(rows) == len(msg.rows) and batch.chain != msg.chain:
            raise StateDiverged(
                f"seq {rows[-1][0]}: journal chain hash {batch.chain.hex()}, "
                f"the primary's is {msg.chain.hex()}"
            )
