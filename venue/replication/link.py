"""The NATS connection of a replicated node: the stream, the lease bucket, plain operations.

Invariants:
- One connection per node, reconnecting forever (a NATS node that goes away is routine); the
  stream and the lease bucket are created with the configured replicas if absent, and an
  existing stream with other replicas is an error (quorum would not mean what it says).
- `publish` appends one message only if the stream's last sequence is `expected`
  (Nats-Expected-Last-Sequence) and names it with `msg_id` (Nats-Msg-Id), so a retry after a
  lost ack is answered "duplicate" with the first attempt's sequence instead of appending twice.
  A refusal of the condition raises `WrongLastSequence`; no answer in time raises TimeoutError.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import nats
from nats.aio.client import Client as NatsClient
from nats.js import JetStreamContext
from nats.js.api import (
    ConsumerConfig,
    DeliverPolicy,
    KeyValueConfig,
    StorageType,
    StreamConfig,
)
from nats.js.errors import APIError, BadRequestError, NotFoundError
from nats.js.kv import KeyValue

from venue.config_replication import ReplicationConfig
from venue.log import get_logger
from venue.replication.errors import ReplicationError

__all__ = ["Link", "WrongLastSequence"]
T = TypeVar("T")

_log = get_logger("venue.replication")
_WRONG_LAST_SEQUENCE = 10071  # JetStream's error code for a failed expected-last-sequence
# stream not found; message larger than the stream accepts; no message at that sequence
_FATAL = (10059, 10054, 10037)
DUPLICATE_WINDOW_S = 120.0  # a publish retried within this finds its first attempt


class WrongLastSequence(Exception):
    """The stream's last sequence was not the expected one: another writer appended."""


class Link:
    def __init__(self, cfg: ReplicationConfig) -> None:
        self.cfg = cfg
        self.nc: NatsClient | None = None
        self._js: JetStreamContext | None = None
        self._kv: KeyValue | None = None
        self.connected = False

    @property
    def js(self) -> JetStreamContext:
        assert self._js is not None, "connect() first"
        return self._js

    @property
    def kv(self) -> KeyValue:
        assert self._kv is not None, "connect() first"
        return self._kv

    async def connect(self, timeout_s: float = 30.0) -> None:
        """Connect and make sure the stream and the lease bucket exist."""

        async def on_error(exc: Exception) -> None:
            _log.warning("nats_error", error=f"{type(exc).__name__}: {exc}")

        async def on_disconnected() -> None:
            self.connected = False
            _log.warning("nats_disconnected")

        async def on_reconnected() -> None:
            self.connected = True
            url = self.nc.connected_url if self.nc is not None else None
            _log.info("nats_reconnected", server=str(url.netloc) if url else "")

        try:
            # nats-py retries an unreachable server forever when reconnecting is unbounded:
            # at start-up the node gives up after `timeout_s` with a clear error instead
            self.nc = await asyncio.wait_for(
                self._dial(on_error, on_disconnected, on_reconnected), timeout_s
            )
        except Exception as exc:
            raise ReplicationError(
                f"cannot reach the NATS servers {', '.join(self.cfg.servers)}: "
                f"{type(exc).__name__}: {exc}"
            ) from exc
        self.connected = True
        self._js = self.nc.jetstream(timeout=self.cfg.publish_timeout_ms / 1000)
        deadline = asyncio.get_running_loop().time() + timeout_s
        while True:  # a cluster that is just starting has no JetStream leader yet
            try:
                await self._ensure()
                return
            except ReplicationError:
                raise
            except Exception as exc:
                if asyncio.get_running_loop().time() > deadline:
                    raise ReplicationError(f"JetStream is not available: {exc}") from exc
                await asyncio.sleep(0.25)

    async def _dial(self, on_error: Any, on_disconnected: Any, on_reconnected: Any) -> NatsClient:
        return await nats.connect(
            servers=list(self.cfg.servers),
            name=f"venue-{self.cfg.node_id}",
            connect_timeout=2,
            reconnect_time_wait=0.2,
            max_reconnect_attempts=-1,  # once connected, a NATS node going away is routine
            ping_interval=1,
            max_outstanding_pings=3,
            allow_reconnect=True,
            error_cb=on_error,
            disconnected_cb=on_disconnected,
            reconnected_cb=on_reconnected,
        )

    async def _ensure(self) -> None:
        cfg = self.cfg
        js = self.js
        try:
            info = await js.stream_info(cfg.stream)
            if info.config.num_replicas != cfg.replicas:
                raise ReplicationError(
                    f"stream {cfg.stream} has {info.config.num_replicas} replicas, "
                    f"the configuration says {cfg.replicas}"
                )
        except NotFoundError:
            await js.add_stream(
                StreamConfig(
                    name=cfg.stream,
                    subjects=[cfg.subject],
                    num_replicas=cfg.replicas,
                    storage=StorageType.FILE,
                    duplicate_window=DUPLICATE_WINDOW_S,
                    allow_direct=True,
                )
            )
            _log.info("replication_stream_created", stream=cfg.stream, replicas=cfg.replicas)
        try:
            self._kv = await js.key_value(cfg.lease_bucket)
        except (NotFoundError, Exception) as exc:
            if not isinstance(exc, NotFoundError) and "not found" not in str(exc).lower():
                raise
        else:
            ttl = (await self._kv.status()).ttl
            if ttl is None or abs(ttl - cfg.lease_ttl_ms / 1000) > 0.001:
                # the TTL is the bucket's: a node configured otherwise would misjudge expiry
                raise ReplicationError(
                    f"lease bucket {cfg.lease_bucket} expires keys after {ttl} s, the "
                    f"configuration says lease_ttl_ms = {cfg.lease_ttl_ms} (delete the bucket "
                    "with every node stopped, or configure the same TTL)"
                )
            return
        self._kv = await js.create_key_value(
            KeyValueConfig(
                bucket=cfg.lease_bucket,
                history=1,
                ttl=cfg.lease_ttl_ms / 1000,
                replicas=cfg.replicas,
            )
        )

    @property
    def max_payload(self) -> int:
        """The largest message the servers accept (their `max_payload`)."""
        return int(self.nc.max_payload) if self.nc is not None else 1 << 20

    def batch_limit(self) -> int:
        """Commands per batch for the sequencer, so that a batch (its rows, reports and drop
        copies: a few KiB per command) fits in one message: 256 at NATS's default 1 MiB."""
        return max(16, min(4096, self.max_payload // 4096))

    async def close(self) -> None:
        if self.nc is not None and not self.nc.is_closed:
            await self.nc.close()

    # -- the stream ----------------------------------------------------------------------

    async def stream_bounds(self) -> tuple[int, int]:
        """(first, last) stream sequence; (0, 0) or (1, 0) style bounds for an empty one.
        Waits out a NATS node away or an election (see `_retry`)."""

        async def read() -> tuple[int, int]:
            info = await self.js.stream_info(self.cfg.stream)
            return int(info.state.first_seq), int(info.state.last_seq)

        return await self._retry("read the stream's bounds", read)

    async def get(self, seq: int) -> bytes:
        """The stream message at `seq` (waits out transient failures like `stream_bounds`)."""

        async def read() -> bytes:
            msg = await self.js.get_msg(self.cfg.stream, seq, direct=True)
            return bytes(msg.data or b"")

        return await self._retry(f"read stream message {seq}", read)

    async def _retry(self, what: str, fn: Callable[[], Awaitable[T]]) -> T:
        """`await fn()` until it succeeds or fails for good: a read of the stream has no
        other way forward, and the caller's task is cancelled if the node is stopped."""
        warned = False
        while True:
            try:
                result = await fn()
            except Exception as exc:
                if not is_transient(exc):
                    raise
                if not warned:
                    warned = True
                    _log.warning(
                        "replication_waiting_for_nats",
                        doing=what,
                        error=f"{type(exc).__name__}: {exc}",
                    )
                await asyncio.sleep(self.cfg.retry_ms / 1000)
                continue
            if warned:
                _log.info("replication_nats_back", doing=what)
            return result

    async def publish(self, payload: bytes, *, expected: int, msg_id: str) -> int:
        """Append `payload` if the stream's last sequence is `expected`; returns its sequence."""
        headers = {"Nats-Expected-Last-Sequence": str(expected), "Nats-Msg-Id": msg_id}
        try:
            ack = await self.js.publish(
                self.cfg.subject,
                payload,
                timeout=self.cfg.publish_timeout_ms / 1000,
                stream=self.cfg.stream,
                headers=headers,
            )
        except BadRequestError as exc:
            if exc.err_code == _WRONG_LAST_SEQUENCE:
                raise WrongLastSequence(str(exc.description)) from exc
            raise
        if ack.duplicate and ack.seq != expected + 1:
            raise WrongLastSequence(f"message {msg_id} is already in the stream at {ack.seq}")
        return int(ack.seq)

    async def follow(self, start_seq: int) -> Any:
        """An ordered push subscription delivering every message from `start_seq` on."""
        return await self.js.subscribe(
            self.cfg.subject,
            stream=self.cfg.stream,
            ordered_consumer=True,
            config=ConsumerConfig(
                deliver_policy=DeliverPolicy.BY_START_SEQUENCE, opt_start_seq=start_seq
            ),
        )


def is_transient(exc: BaseException) -> bool:
    """True for failures that waiting cures (no quorum, no leader, a node away, a timeout)."""
    if isinstance(exc, WrongLastSequence):
        return False
    if isinstance(exc, asyncio.TimeoutError | TimeoutError | ConnectionError):
        return True
    if isinstance(exc, APIError):
        # Only a missing stream or an oversized message is final; everything else JetStream
        # answers while it has no quorum or elects a leader (503 no responders, 408, 500,
        # 409 "duplicate message id is in process" for a retry of an attempt still in flight)
        # passes when the cluster is whole again.
        return exc.err_code not in _FATAL
    return isinstance(exc, nats.errors.Error)
