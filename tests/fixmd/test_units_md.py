"""FixMarketData without sockets: construction order, non-V messages, a failing level source."""

from __future__ import annotations

from typing import Any

import pytest

from tests.fixmd.conftest import md_sessions
from tests.fixmd.test_levels import setup_engine
from tests.fixmd.test_mapping_md import message, request
from venue.core import NewOrder, OrdType, Side
from venue.gateway.marketdata_fix import FixMarketData
from venue.marketdata.levels import LevelFeed


class Seq:
    def __init__(self, last: int = 0, committed: int = 0) -> None:
        self.engine, self.ts = setup_engine()
        self.last_seq = last
        self.committed_seq = committed
        self.subscribers: list[Any] = []

    def subscribe(self, fn: Any) -> None:
        self.subscribers.append(fn)


def make(seq: Seq) -> FixMarketData:
    levels = LevelFeed(seq.engine, seq.ts)
    return FixMarketData(sequencer=seq, sessions=md_sessions(), levels=levels)  # type: ignore[arg-type]


def test_built_after_an_uncommitted_submit_is_refused() -> None:
    with pytest.raises(RuntimeError, match="before the first submit"):
        make(Seq(last=5, committed=4))


def test_other_messages_and_failures_are_business_rejects() -> None:
    md = make(Seq())
    (out,) = md.on_message("MD1", message(b"x", [(320, b"q"), (559, b"4")]), 0)
    assert out.msg_type == b"j" and dict(out.body)[380] == b"3"
    (out,) = md.on_message("nobody", request(), 0)
    assert out.msg_type == b"j" and dict(out.body)[380] == b"6"

    def broken(*_: Any) -> Any:
        raise RuntimeError("boom")

    md._levels.levels = broken  # type: ignore[method-assign]
    (out,) = md.on_message("MD1", request(), 0)
    assert out.msg_type == b"j" and dict(out.body)[380] == b"4"
    assert md.subscriptions("MD1") == []


def test_x_without_a_sender_is_counted_not_raised() -> None:
    seq = Seq()
    md = make(seq)
    (w,) = md.on_message("MD1", request(), 0)
    assert w.msg_type == b"W"
    cmd = NewOrder(
        ts=seq.ts + 1, session="ALPHA-MM", firm="ALPHA", account="ALPHA-1", cl_ord_id="a",
        symbol="BTC-PERP", side=Side.BUY, ord_type=OrdType.LIMIT, price=990, qty=1,
    )  # fmt: skip
    seq.committed_seq = 1
    for fn in seq.subscribers:
        fn(1, cmd.ts, cmd, seq.engine.apply(cmd))
    assert md.x_sent == 1 and md.flushes == 1
