"""Skeleton engine (matching lands next)."""

from __future__ import annotations

import hashlib

import msgspec

from venue.core.commands import Command
from venue.core.events import CommandRejected, Event
from venue.core.snapshot import SNAPSHOT_VERSION, StateRecord
from venue.core.types import RejectReason

__all__ = ["Engine"]

_encoder = msgspec.msgpack.Encoder()
_decoder = msgspec.msgpack.Decoder(StateRecord)


class Engine:
    def __init__(self) -> None:
        self.next_order_id = 1
        self.next_exec_id = 1
        self.next_trade_id = 1

    def apply(self, cmd: Command) -> list[Event]:
        ts = getattr(cmd, "ts", 0)
        return [
            CommandRejected(
                ts=ts if type(ts) is int else 0,
                command=type(cmd).__name__,
                symbol="",
                reason=RejectReason.MALFORMED_COMMAND,
            )
        ]

    def snapshot(self) -> bytes:
        return _encoder.encode(
            StateRecord(
                SNAPSHOT_VERSION, self.next_order_id, self.next_exec_id, self.next_trade_id, []
            )
        )

    def state_hash(self) -> str:
        return hashlib.sha256(self.snapshot()).hexdigest()

    @classmethod
    def restore(cls, data: bytes) -> Engine:
        rec = _decoder.decode(data)
        e = cls()
        e.next_order_id = rec.next_order_id
        e.next_exec_id = rec.next_exec_id
        e.next_trade_id = rec.next_trade_id
        return e

    def validate_internal_state(self) -> None:
        return None
