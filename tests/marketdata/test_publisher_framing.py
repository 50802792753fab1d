"""The publisher's in-place framing and history ring against the plain reference code.

`MarketDataPublisher._frame` builds packets in place (length prefixes from a table, header as
session + packed seq/count) and `MessageHistory.extend` stores runs by slices: both must give
exactly what `PacketBuilder`/`encode_packet` and a message-by-message ring give.
"""

from __future__ import annotations

import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.marketdata.harness import instrument
from venue.clock import ManualClock
from venue.config import MarketDataConfig
from venue.core import (
    AddAccount,
    AddInstrument,
    Deposit,
    Engine,
    Event,
    NewOrder,
    Side,
    TimeInForce,
)
from venue.marketdata.framing import PacketBuilder, session_bytes
from venue.marketdata.publisher import MarketDataPublisher, MessageHistory
from venue.marketdata.translate import FeedTranslator


class _Sequencer:
    """What the publisher reads of a sequencer (no preamble: an empty engine)."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.last_seq = 0
        self.committed_seq = 0

    def subscribe(self, fn: Any) -> None:
        pass


class _Packets:
    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.sent.append(data)


def _reference_packets(session: str, batches: list[list[bytes]]) -> list[bytes]:
    """Greedy framing with `PacketBuilder`: full packets leave at once, the partial one at the
    end of each batch (the publisher's documented rule)."""
    sess = session_bytes(session)
    out: list[bytes] = []
    builder = PacketBuilder()
    seq = 1
    for batch in batches:
        for body in batch:
            if builder.messages and not builder.fits(body):
                out.append(builder.take(sess)[2])
            builder.add(seq, body)
            seq += 1
        if builder.messages:
            out.append(builder.take(sess)[2])
    return out


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 2**32))
def test_frame_equals_packet_builder(seed: int) -> None:
    rnd = random.Random(seed)
    seq = _Sequencer()
    cfg = MarketDataConfig(port=1, rerequest_port=0, snapshot_port=0)
    pub = MarketDataPublisher(cfg, seq, ManualClock(0), session="FRAMING")  # type: ignore[arg-type]
    packets = _Packets()
    pub._transport = packets  # type: ignore[assignment]
    batches: list[list[bytes]] = []
    n = 0
    for _ in range(rnd.randrange(1, 30)):
        batch = []
        for _ in range(rnd.choice((0, 1, 2, 5, 40, 200))):
            n += 1
            size = rnd.choice((19, 36, 43, 44, 47, rnd.randrange(1, 300)))
            batch.append(bytes([65 + n % 26]) * size)
        batches.append(batch)
        pub.next_seq += len(batch)
        pub._frame(batch)
        pub._flush()
    assert packets.sent == _reference_packets("FRAMING", batches)
    assert pub.messages_sent == n
    assert pub.released_next == n + 1
    assert pub.messages(1, n) == [body for batch in batches for body in batch]


@settings(max_examples=60, deadline=None)
@given(st.integers(1, 12), st.lists(st.integers(0, 30), max_size=12))
def test_history_ring_equals_one_by_one(capacity: int, runs: list[int]) -> None:
    ring = MessageHistory(capacity)
    kept: list[bytes] = []
    seq = 1
    for n in runs:
        msgs = [str(seq + i).encode() for i in range(n)]
        seq += n
        ring.extend(msgs)
        kept = (kept + msgs)[-capacity:]
        assert ring.next_seq == seq
        assert ring.first == seq - len(kept)
        assert [ring.get(s) for s in range(ring.first, seq)] == kept


def test_translate_appends_what_on_command_returns() -> None:
    """`translate(out, ts, events)` appends exactly `on_command(ts, events)`."""
    engine = Engine()
    a, b = FeedTranslator(), FeedTranslator()
    out: list[bytes] = [b"before"]
    expected: list[bytes] = [b"before"]
    cmds: list[Any] = [
        AddInstrument(instrument=instrument("X", 100)),
        AddAccount(firm="F", account="A", max_leverage=100),
        Deposit(account="A", amount=10**15),
    ]
    cmds += [
        NewOrder(
            session="S",
            firm="F",
            account="A",
            cl_ord_id=f"c{i}",
            symbol="X",
            side=Side.BUY if i % 2 else Side.SELL,
            price=100 + (i % 5) - 2,
            qty=1 + i % 3,
            tif=TimeInForce.IOC if i % 4 == 0 else TimeInForce.GTC,
        )
        for i in range(40)
    ]
    for ts, cmd in enumerate(cmds, 1):
        events: list[Event] = engine.apply(cmd)
        expected += a.on_command(ts, events)
        b.translate(out, ts, events)
    assert out == expected
    assert len(expected) > 30  # adds, executions, deletes
    assert a.book.view() == b.book.view()
