"""What one stream message carries: a committed batch, or a new primary's epoch marker.

Invariants:
- A batch message holds everything a standby needs to continue exactly where the primary is:
  the journal rows (seq, ts, command bytes, event bytes, as the primary journaled them), the
  outbound FIX store changes in recording order (and its resend-retention trims), the sessions'
  sequence numbers and their signed-Logon replay guards. Journal archiving (`archive`,
  `journal_trim`) is each node's own maintenance and is not shipped. Snapshots
  are not shipped: a standby writes its own at the seq the primary did, checking the state hash
  the primary recorded there (`snapshot_seq`, `snapshot_hash`).
- `last_seq` is the journal's last seq once the message is applied (equal to the previous
  message's for a batch without journal rows, such as a heartbeat's), so a node can find where
  its own journal stands in the stream.
- A batch names the primary's feed session and the feed sequence number its messages start
  at, so a standby's shadow of the feed can check it numbers them the same way.
- A batch with journal rows carries the journal's chain hash after its last row; a follower's
  own commit of the same rows must reach the same hash.
- Every message names the leader epoch it was written in; an epoch marker (`kind` EPOCH, no
  rows) is the first message of a new primary's epoch.
"""

from __future__ import annotations

import msgspec

from venue.journal import Batch

__all__ = ["BATCH", "EPOCH", "StreamMessage", "decode", "encode", "from_batch", "to_batch"]

BATCH = 0
EPOCH = 1

Row = tuple[int, int, bytes, bytes]
StoreOp = tuple[str, int, int, bytes] | str


class StreamMessage(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False):
    kind: int  # BATCH or EPOCH
    epoch: int
    node: str  # the primary that wrote it
    last_seq: int  # the journal's last seq after this message
    rows: list[Row] = []
    store_ops: list[StoreOp] = []
    session_seqs: dict[str, tuple[int, int, int]] = {}
    logon_guards: dict[str, tuple[int, int]] = {}  # signed-Logon replay guard per session
    store_trims: dict[str, int] = {}  # resend retention: drop stored runs ending below a seq
    snapshot_seq: int = 0  # 0: the primary took no snapshot in this batch
    snapshot_hash: str = ""
    chain: bytes = b""  # the journal's chain hash after the batch's last row (b"": unknown)
    feed_session: str = ""  # the primary's market-data session ("": no feed)
    feed_seq: int = 0  # its next feed sequence number before this batch's messages


_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StreamMessage)


def encode(msg: StreamMessage) -> bytes:
    return _encoder.encode(msg)


def decode(data: bytes) -> StreamMessage:
    """Raises msgspec.DecodeError for bytes that are not a stream message."""
    return _decoder.decode(data)


def from_batch(
    batch: Batch,
    *,
    epoch: int,
    node: str,
    prev_last_seq: int,
    feed: tuple[str, int] = ("", 0),
) -> StreamMessage:
    snap = batch.snapshot
    return StreamMessage(
        kind=BATCH,
        epoch=epoch,
        node=node,
        last_seq=batch.rows[-1][0] if batch.rows else prev_last_seq,
        rows=batch.rows,
        store_ops=batch.store_ops,
        session_seqs=batch.session_seqs,
        logon_guards=batch.logon_guards,
        store_trims=batch.store_trims,
        snapshot_seq=snap.seq if snap is not None else 0,
        snapshot_hash=snap.state_hash if snap is not None else "",
        chain=_chain_of(batch),
        feed_session=feed[0],
        feed_seq=feed[1],
    )


def _chain_of(batch: Batch) -> bytes:
    """The chain hash the commit left on the batch (after its last row; none without rows)."""
    return bytes(batch.chain) if batch.rows else b""


def to_batch(msg: StreamMessage, rows: list[Row]) -> Batch:
    """The journal batch a follower writes for `msg` (only `rows` of it: those it lacks)."""
    batch = Batch()
    batch.rows = rows
    batch.store_ops = list(msg.store_ops)
    batch.session_seqs = dict(msg.session_seqs)
    batch.logon_guards = dict(msg.logon_guards)
    batch.store_trims = dict(msg.store_trims)
    return batch
