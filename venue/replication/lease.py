"""The leadership lease: one key in a JetStream key-value bucket whose TTL is the lease's.

Invariants:
- A node holds the lease only by having created the key (compare-and-set against "absent") or
  by updating it from the revision it last wrote (compare-and-set via revision); a refused
  compare-and-set means someone else holds it.
- The key disappears when it is not renewed for `lease_ttl_ms` (the bucket's TTL), so a standby
  can take over only after the primary stopped renewing for a whole TTL.
- The lease alone fences nothing (a paused primary may still believe it leads): the stream's
  expected-last-sequence condition does (see `publisher` and `node`). Losing the lease makes
  the holder stop at once, as a refused publish does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import Any

import msgspec
from nats.js.errors import KeyNotFoundError, KeyWrongLastSequenceError

from venue.log import get_logger
from venue.replication.errors import Fenced
from venue.replication.link import Link

__all__ = ["Holder", "Lease"]

KEY = "leader"
_log = get_logger("venue.replication")


class Holder(msgspec.Struct, frozen=True, kw_only=True):
    node: str
    epoch: int = 0
    address: str = ""  # where members reach its FIX acceptor (status only)


class Lease:
    def __init__(self, link: Link, node: str, *, address: str = "") -> None:
        self._link = link
        self.node = node
        self.address = address
        self.epoch = 0
        self.revision = 0  # of our own last write; 0: we do not hold it
        self._task: asyncio.Task[None] | None = None

    async def holder(self) -> Holder | None:
        """Who holds the lease now (None: nobody, it expired or was released)."""
        return (await self._entry())[0]

    async def _entry(self) -> tuple[Holder | None, int]:
        try:
            entry = await self._link.kv.get(KEY)
        except KeyNotFoundError:
            return None, 0
        if not entry.value:
            return None, 0
        try:
            return msgspec.json.decode(entry.value, type=Holder), int(entry.revision or 0)
        except msgspec.DecodeError:
            return Holder(node="?"), int(entry.revision or 0)

    def _value(self) -> bytes:
        return msgspec.json.encode(Holder(node=self.node, epoch=self.epoch, address=self.address))

    async def try_acquire(self) -> bool:
        """Take the lease if nobody holds it. True: it is ours now."""
        try:
            self.revision = int(await self._link.kv.create(KEY, self._value()))
        except KeyWrongLastSequenceError:
            return False
        _log.info("lease_acquired", node=self.node, revision=self.revision)
        return True

    async def renew(self) -> None:
        """Renew from our last revision. Raises Fenced if someone else holds it; transient
        NATS errors propagate (the caller retries)."""
        try:
            self.revision = int(await self._link.kv.update(KEY, self._value(), last=self.revision))
            return
        except KeyWrongLastSequenceError:
            pass
        # our revision is gone: a renewal whose answer was lost did land (the key holds our own
        # value at a newer revision), it expired (we were paused or NATS was away), or it was
        # taken
        current, revision = await self._entry()
        if current is not None and (current.node, current.epoch) == (self.node, self.epoch):
            self.revision = revision
            self.revision = int(await self._link.kv.update(KEY, self._value(), last=revision))
            return
        if current is None and await self.try_acquire():
            _log.warning("lease_reacquired_after_expiry", node=self.node)
            return
        who = current.node if current is not None else "another node"
        raise Fenced(f"the leadership lease is held by {who}")

    def keep(self, every_s: float, on_lost: Callable[[BaseException], None]) -> None:
        """Renew every `every_s` seconds in the background; `on_lost(exc)` once if it is lost."""

        async def loop() -> None:
            failing_since: float | None = None
            while True:
                await asyncio.sleep(every_s)
                try:
                    await self.renew()
                    if failing_since is not None:
                        _log.info("lease_renewal_restored", node=self.node)
                    failing_since = None
                except Fenced as exc:
                    _log.critical("lease_lost", node=self.node, reason=str(exc))
                    on_lost(exc)
                    return
                except Exception as exc:  # no quorum, no connection: keep trying
                    if failing_since is None:
                        failing_since = asyncio.get_running_loop().time()
                        _log.warning("lease_renewal_failing", error=f"{type(exc).__name__}: {exc}")

        self._task = asyncio.get_running_loop().create_task(loop(), name="lease-renewal")

    async def release(self) -> None:
        """Stop renewing and delete the key (a deliberate hand-over)."""
        await self.stop()
        if self.revision:
            with contextlib.suppress(Exception):
                await self._link.kv.delete(KEY, last=self.revision)
            self.revision = 0

    async def stop(self) -> None:
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task


def describe(holder: Holder | None) -> dict[str, Any]:
    if holder is None:
        return {"node": None, "epoch": None, "address": None}
    return {"node": holder.node, "epoch": holder.epoch, "address": holder.address}
