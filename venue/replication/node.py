"""One replicated venue node: start-up catch-up, following as a standby, becoming primary.

Invariants:
- Start-up: the local journal is recovered as usual, then placed in the stream: a journal that
  is a prefix of the stream catches up from it; a local tail the stream does not hold (a batch
  committed locally whose publish was never acknowledged, so nothing of it was released) is
  dropped: the file is kept aside under a new name, the drop is logged with its seq range, and
  the journal is rebuilt from the stream.
- A node follows the stream until it holds the lease. A node configured as primary takes a free
  lease at once; a standby only after it has seen the lease free for a whole TTL (at start-up
  the configured primary goes first).
- Promotion: having won the lease, the node catches up to the stream's last sequence and appends
  an epoch marker (epoch = the newest seen + 1) with that sequence expected; if an old primary
  appended meanwhile, it catches up again and retries. Only then is the node primary: any later
  publish by the old primary expects a sequence the marker took, and is refused.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, Literal

from venue.config_replication import ReplicationConfig
from venue.core import Engine
from venue.journal import Journal, Synchronous, recover
from venue.log import get_logger
from venue.replication import wire
from venue.replication.errors import ReplicationError
from venue.replication.follower import FeedObserver, Follower
from venue.replication.lease import Lease, describe
from venue.replication.link import Link, WrongLastSequence, is_transient
from venue.replication.publisher import Publisher

__all__ = ["ReplicaNode"]

_log = get_logger("venue.replication")
Role = Literal["starting", "standby", "promoting", "primary", "stopped"]
_MARKER_ATTEMPTS = 20


class ReplicaNode:
    def __init__(
        self, cfg: ReplicationConfig, *, db: Path, synchronous: Synchronous, create: bool
    ) -> None:
        self.cfg = cfg
        self.db = db
        self.synchronous: Synchronous = synchronous
        self.create = create
        self.link = Link(cfg)
        self.lease = Lease(self.link, cfg.node_id, address=cfg.advertise)
        self.role: Role = "starting"
        self.follower: Follower | None = None
        self.publisher: Publisher | None = None
        self._sub: Any = None
        self._following = False
        self._seen_holder = False  # a holder was seen since start: a free lease is a real expiry
        self._cooldown_until = 0.0  # after a step-down: leave the lease to the standby a while
        self._lost_listeners: list[Callable[[BaseException], None]] = []
        self.observer: FeedObserver | None = None  # given to each follower (the feed's shadow)

    # -- life cycle ----------------------------------------------------------------------

    async def connect(self) -> None:
        await self.link.connect()
        _log.info(
            "replication_connected",
            node=self.cfg.node_id,
            stream=self.cfg.stream,
            servers=len(self.cfg.servers),
        )

    async def close(self) -> None:
        """Stop; a primary that stopped cleanly (not fenced) releases the lease, so the standby
        takes over at once instead of after a TTL."""
        if self.publisher is not None and self.publisher.fenced is None:
            await self.lease.release()
        else:
            await self.lease.stop()
        await self._unfollow()
        await self.link.close()
        self.role = "stopped"

    async def step_down(self) -> None:
        """After a deliberate hand-over (the venue stopped, everything published): release the
        lease and keep away from it for two TTLs, so the standby takes it."""
        await self.lease.release()
        self.publisher = None
        self.role = "standby"
        ttl = self.cfg.lease_ttl_ms / 1000
        self._cooldown_until = asyncio.get_running_loop().time() + 2 * ttl
        _log.info("replication_stepped_down", node=self.cfg.node_id)

    async def until_primary(self, *, first: bool) -> tuple[Engine, Journal, Publisher]:
        """Recover, catch up, follow as a standby until the lease is ours, then promote.
        Returns the engine and journal (at the stream's last batch) and the publisher."""
        follower = await self.sync()
        try:
            await self._wait_for_lease(follower, eager=first and self.cfg.role == "primary")
            self.role = "promoting"
            publisher = await self._promote(follower)
        except BaseException:
            await self._unfollow()
            await follower.journal.close()
            raise
        self.publisher = publisher
        self.role = "primary"
        return follower.engine, follower.journal, publisher

    # -- placing the local journal in the stream -----------------------------------------

    async def sync(self) -> Follower:
        """Recover the local journal and catch it up with the stream (dropping a local tail
        the stream never acknowledged). The caller owns the follower's journal."""
        # A journal shorter than its marker proves (a lost write-ahead log) is accepted here:
        # everything a primary released is in the stream, which the catch-up below restores.
        engine, journal, _ = await recover(
            self.db, synchronous=self.synchronous, create=self.create, accept_loss=True
        )
        report = journal.recovery
        if report is not None and report.lost:
            _log.warning("replication_local_loss_restored_from_stream", lost=report.lost)
        try:
            follower = await self._place(engine, journal)
        except BaseException:
            await journal.close()
            raise
        self.follower = follower
        self.role = "standby"
        _log.info(
            "replication_following",
            node=self.cfg.node_id,
            last_seq=follower.last_seq,
            stream_seq=follower.stream_seq,
        )
        return follower

    async def _msg(self, stream_seq: int) -> wire.StreamMessage:
        return wire.decode(await self.link.get(stream_seq))

    async def _place(self, engine: Engine, journal: Journal) -> Follower:
        first, last = await self.link.stream_bounds()
        local = journal.last_seq
        follower = Follower(engine, journal, self.observer)
        if last == 0 or last < first:
            if local:
                _log.warning(
                    "replication_stream_empty",
                    local_last_seq=local,
                    note="the stream starts after this journal; standbys need a copy of it",
                )
            return follower
        if local == 0:
            follower.stream_seq = first - 1
        else:
            start = await self._containing(local, first, last)
            if start is None or not await self._row_matches(journal, start, local):
                follower = await self._drop_tail(engine, journal, first, last)
            else:
                follower.stream_seq = start - 1  # re-reading `start` is harmless (see follower)
        await self._catch_up(follower, last)
        return follower

    async def _containing(self, seq: int, first: int, last: int) -> int | None:
        """The first stream message whose `last_seq` reaches `seq` (None: the stream ends
        before it). Binary search over direct gets."""
        lo, hi, found = first, last, None
        while lo <= hi:
            mid = (lo + hi) // 2
            if (await self._msg(mid)).last_seq >= seq:
                found, hi = mid, mid - 1
            else:
                lo = mid + 1
        return found

    async def _row_matches(self, journal: Journal, stream_seq: int, seq: int) -> bool:
        msg = await self._msg(stream_seq)
        theirs = [r for r in msg.rows if r[0] == seq]
        mine = await journal.read_rows([seq])
        return bool(theirs and mine) and tuple(theirs[0]) == tuple(mine[0])

    async def _drop_tail(self, engine: Engine, journal: Journal, first: int, last: int) -> Follower:
        """The local journal has rows the stream never acknowledged: keep the file aside,
        log what is dropped, rebuild from the stream."""
        local = journal.last_seq
        agreed = await self._agreement(journal, first, last)
        await journal.close()
        kept = self.db.with_name(f"{self.db.name}.dropped-{int(time.time())}")
        for suffix in ("", "-wal", "-shm", ".state"):  # .state: the durable marker, if kept
            src = Path(f"{self.db}{suffix}")
            if src.exists():
                src.rename(Path(f"{kept}{suffix}"))
        _log.warning(
            "replication_local_tail_dropped",
            dropped_from_seq=agreed + 1,
            dropped_to_seq=local,
            commands=local - agreed,
            kept_as=str(kept),
            reason="committed locally but never acknowledged by the stream: nothing of it was "
            "released",
        )
        first_msg = await self._msg(first)
        if first_msg.rows and first_msg.rows[0][0] != 1:
            raise ReplicationError(
                f"the stream starts at journal seq {first_msg.rows[0][0]}, not 1: cannot rebuild "
                f"{self.db} from it (copy the primary's journal file here first)"
            )
        engine, journal, _ = await recover(self.db, synchronous=self.synchronous, create=True)
        follower = Follower(engine, journal, self.observer)
        follower.stream_seq = first - 1
        return follower

    async def _agreement(self, journal: Journal, first: int, last: int) -> int:
        """The highest journal seq where the local journal and the stream hold the same row
        (looked for over a few batches back; the unacknowledged tail is one batch)."""
        top = (await self._msg(last)).last_seq
        seq = min(journal.last_seq, top)
        for _ in range(16):
            if seq <= 0:
                return 0
            at = await self._containing(seq, first, last)
            if at is None:
                return 0
            if await self._row_matches(journal, at, seq):
                return seq
            msg = await self._msg(at)
            seq = (msg.rows[0][0] if msg.rows else seq) - 1
        return 0

    async def _catch_up(self, follower: Follower, last: int) -> None:
        """Apply stream messages up to `last` by direct gets."""
        while follower.stream_seq < last:
            seq = follower.stream_seq + 1
            await follower.apply(seq, await self.link.get(seq))

    # -- following and the lease ---------------------------------------------------------

    async def _follow(self, follower: Follower) -> None:
        """Apply messages as they come until `_following` is cleared. Stopped between two
        messages, never by cancellation, so a message is applied wholly or not at all. A
        subscription that NATS trouble breaks is made again from the next message."""
        while self._following:
            try:
                self._sub = await self.link.follow(follower.stream_seq + 1)
                while self._following:
                    try:
                        msg = await self._sub.next_msg(timeout=0.05)
                    except TimeoutError:
                        continue
                    await follower.apply(int(msg.metadata.sequence.stream), bytes(msg.data))
            except Exception as exc:
                if not is_transient(exc):
                    raise
                _log.warning("replication_follow_interrupted", error=f"{type(exc).__name__}: {exc}")
                await self._unfollow()
                await asyncio.sleep(self.cfg.retry_ms / 1000)

    async def _unfollow(self) -> None:
        sub, self._sub = self._sub, None
        if sub is not None:
            with contextlib.suppress(Exception):
                await sub.unsubscribe()

    async def _wait_for_lease(self, follower: Follower, *, eager: bool) -> None:
        loop = asyncio.get_running_loop()
        self._following = True
        follow = loop.create_task(self._follow(follower), name="replication-follow")
        every = self.cfg.lease_renew_ms / 1000
        ttl = self.cfg.lease_ttl_ms / 1000
        free_since: float | None = None
        try:
            while True:
                if follow.done():
                    follow.result()  # a follower failure stops the node
                    raise ReplicationError("the stream subscription ended")
                try:
                    holder = await self.lease.holder()
                except Exception as exc:
                    if not is_transient(exc):
                        raise
                    holder = None
                    free_since = None  # unknown is not free
                    await asyncio.sleep(every)
                    continue
                now = loop.time()
                if holder is None and now >= self._cooldown_until:
                    free_since = now if free_since is None else free_since
                    at_once = eager or self._seen_holder
                    if (at_once or now - free_since >= ttl) and await self._try_lease():
                        return
                elif holder is not None:
                    free_since = None
                    self._seen_holder = True
                await asyncio.sleep(every)
        finally:
            self._following = False
            with contextlib.suppress(Exception):
                await follow  # its failure, if any, was raised above
            await self._unfollow()

    async def _try_lease(self) -> bool:
        try:
            return await self.lease.try_acquire()
        except Exception as exc:
            if not is_transient(exc):
                raise
            return False

    # -- promotion -----------------------------------------------------------------------

    async def _promote(self, follower: Follower) -> Publisher:
        for _ in range(_MARKER_ATTEMPTS):
            try:
                _, last = await self.link.stream_bounds()
                await self._catch_up(follower, last)
                epoch = follower.epoch + 1
                marker = wire.StreamMessage(
                    kind=wire.EPOCH, epoch=epoch, node=self.cfg.node_id, last_seq=follower.last_seq
                )
                seq = await self.link.publish(
                    wire.encode(marker), expected=last, msg_id=f"{self.cfg.node_id}.{epoch}.epoch"
                )
            except WrongLastSequence:
                continue  # the old primary appended meanwhile: catch up again
            except Exception as exc:
                if not is_transient(exc):
                    raise
                await asyncio.sleep(self.cfg.retry_ms / 1000)
                continue
            await follower.apply(seq, wire.encode(marker))
            self.lease.epoch = epoch
            # renewed from now on, not only once the venue is open: start-up may outlast a TTL
            self.lease.keep(self.cfg.lease_renew_ms / 1000, self._lease_lost)
            _log.info(
                "replication_promoted",
                node=self.cfg.node_id,
                epoch=epoch,
                stream_seq=seq,
                last_seq=follower.last_seq,
            )
            return Publisher(
                self.link,
                node=self.cfg.node_id,
                epoch=epoch,
                stream_seq=seq,
                last_seq=follower.last_seq,
            )
        raise ReplicationError("could not append the epoch marker: the stream keeps moving")

    def on_lease_lost(self, fn: Callable[[BaseException], None]) -> None:
        """`fn(exc)` once if the lease is found held by another node while primary."""
        self._lost_listeners.append(fn)

    def _lease_lost(self, exc: BaseException) -> None:
        if self.publisher is not None:
            self.publisher.fence(str(exc))  # the next publish raises: nothing more is released
        for fn in list(self._lost_listeners):
            fn(exc)

    # -- operations ----------------------------------------------------------------------

    async def status(self) -> dict[str, Any]:
        out: dict[str, Any] = {"node": self.cfg.node_id, "role": self.role}
        try:
            out["lease_holder"] = describe(await self.lease.holder())
            _, last = await self.link.stream_bounds()
        except Exception as exc:
            out["error"] = f"{type(exc).__name__}: {exc}"
            return out
        applied = (
            self.publisher.stream_seq
            if self.publisher is not None
            else (self.follower.stream_seq if self.follower is not None else 0)
        )
        out["stream_seq"] = last
        out["applied_stream_seq"] = applied
        out["replication_lag"] = max(0, last - applied)
        if self.publisher is not None:
            out["epoch"] = self.publisher.epoch
            out["waiting_for_quorum"] = self.publisher.waiting_since is not None
        return out
