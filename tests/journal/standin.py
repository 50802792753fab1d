"""A tiny stand-in engine for the sequencer's unit tests (the real core is used elsewhere)."""

from __future__ import annotations

import hashlib

import msgspec


class Add(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int = 0
    amount: int
    pad: bytes = b""


class Added(msgspec.Struct, frozen=True, kw_only=True, array_like=True, gc=False, tag=True):
    ts: int
    total: int


class StandInEngine:
    """Sums amounts; `apply` never raises; the state is (total, count)."""

    def __init__(self, total: int = 0, count: int = 0) -> None:
        self.total = total
        self.count = count

    def apply(self, cmd: Add) -> list[Added]:
        self.total += cmd.amount
        self.count += 1
        return [Added(ts=cmd.ts, total=self.total)]

    def state_hash(self) -> str:
        return hashlib.sha256(f"{self.total}/{self.count}".encode()).hexdigest()

    def snapshot(self) -> bytes:
        return msgspec.msgpack.encode([self.total, self.count])

    @classmethod
    def restore(cls, data: bytes) -> StandInEngine:
        total, count = msgspec.msgpack.decode(data)
        return cls(total, count)
