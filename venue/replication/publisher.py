"""The primary's side: each committed batch becomes one stream message before it is released.

Invariants:
- `publish(batch)` returns only once the stream acknowledged the batch (a quorum of its replicas
  stored it); the sequencer releases nothing of the batch before that.
- Every publish names the stream sequence it expects to follow (the last one this node wrote
  or caught up to), so only one writer can ever append: a refusal means another node became
  primary, and `Fenced` is raised (the sequencer then fails: nothing more is released).
- While the stream has no quorum (or no connection) the same message is retried every
  `retry_ms`, with the same message id, so an attempt that did land is found, not appended
  twice; meanwhile nothing is released and back-pressure builds (the gateway stops reading).
  A warning names the wait once, and an info line its end.
- After `fence(reason)` (the lease was lost) every publish raises `Fenced`.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from venue.journal import Batch
from venue.log import get_logger
from venue.replication import wire
from venue.replication.errors import Fenced, ReplicationError
from venue.replication.link import Link, WrongLastSequence, is_transient

__all__ = ["Publisher"]

_log = get_logger("venue.replication")


class Publisher:
    def __init__(
        self, link: Link, *, node: str, epoch: int, stream_seq: int, last_seq: int
    ) -> None:
        self._link = link
        self.node = node
        self.epoch = epoch
        self.stream_seq = stream_seq  # the last stream message this node wrote or applied
        self.last_seq = last_seq  # the journal seq the stream holds up to
        self.published = 0
        self.waiting_since: float | None = None  # monotonic seconds; None: not waiting
        self._fenced: str | None = None
        self._retry_s = link.cfg.retry_ms / 1000
        # (feed session, next feed seq) now: at publish time the feed has numbered every
        # earlier batch and none of this one (it translates at release); set by `venue.app`
        self.feed_position: Callable[[], tuple[str, int]] | None = None

    def fence(self, reason: str) -> None:
        self._fenced = reason

    @property
    def fenced(self) -> str | None:
        return self._fenced

    async def publish(self, batch: Batch) -> None:
        if self._fenced is not None:
            raise Fenced(f"this node is no longer the primary: {self._fenced}")
        if not (
            batch.rows
            or batch.store_ops
            or batch.session_seqs
            or batch.logon_guards
            or batch.store_trims
        ):
            return  # a snapshot or the journal's own archiving alone: followers do their own
        feed = self.feed_position() if self.feed_position is not None else ("", 0)
        msg = wire.from_batch(
            batch, epoch=self.epoch, node=self.node, prev_last_seq=self.last_seq, feed=feed
        )
        payload = wire.encode(msg)
        limit = self._link.max_payload
        if len(payload) > limit:  # retrying cannot help; the batch is committed, not released
            raise ReplicationError(
                f"the batch ending at seq {msg.last_seq} is {len(payload)} bytes, more than the "
                f"NATS servers' max_payload of {limit}: raise max_payload (8MB is recommended)"
            )
        expected = self.stream_seq
        msg_id = f"{self.node}.{self.epoch}.{expected + 1}"
        loop = asyncio.get_running_loop()
        attempts = 0
        while True:
            if self._fenced is not None:
                raise Fenced(f"this node is no longer the primary: {self._fenced}")
            attempts += 1
            try:
                seq = await self._link.publish(payload, expected=expected, msg_id=msg_id)
                break
            except WrongLastSequence as exc:
                self._fenced = f"the stream refused seq {msg.last_seq}'s batch ({exc})"
                _log.critical(
                    "replication_fenced",
                    seq=msg.last_seq,
                    expected_stream_seq=expected,
                    error=str(exc),
                    action="another node is primary: releasing nothing more, stopping",
                )
                raise Fenced(
                    f"another node is primary: the stream refused this node's batch ending at "
                    f"seq {msg.last_seq} (expected last stream sequence {expected}: {exc})"
                ) from exc
            except Exception as exc:
                if not is_transient(exc):
                    raise ReplicationError(f"publish of seq {msg.last_seq} failed: {exc}") from exc
                if self.waiting_since is None:
                    self.waiting_since = loop.time()
                    _log.warning(
                        "replication_waiting_for_quorum",
                        seq=msg.last_seq,
                        error=f"{type(exc).__name__}: {exc}",
                        action="releasing nothing; retrying the same batch until the stream "
                        "acknowledges it",
                    )
                await asyncio.sleep(self._retry_s)
        if self.waiting_since is not None:
            _log.info(
                "replication_quorum_restored",
                seq=msg.last_seq,
                waited_ms=int((loop.time() - self.waiting_since) * 1000),
                attempts=attempts,
            )
            self.waiting_since = None
        self.stream_seq = seq
        self.last_seq = msg.last_seq
        self.published += 1
