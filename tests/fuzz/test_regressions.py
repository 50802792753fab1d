"""Inputs the fuzzers found bugs with, kept as regression tests (issue 11)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from tests.fix.test_session import T0, logged_on, sends
from tests.fuzz.mutate import frame
from tests.orderentry.conftest import Trader, VenueFactory
from venue.fix.codec import FixMessage, format_utc_timestamp, parse_frame


def test_reject_never_echoes_a_garbled_msg_seq_num_as_ref_seq_num() -> None:
    """Found by test_session_fuzz (seed 386): a TestRequest without SenderCompID and with
    MsgSeqNum "0.001" (twice) was rejected with RefSeqNum 45=0.001, which is no SeqNum."""
    s = logged_on()
    ts = format_utc_timestamp(T0)
    fields = [(35, b"1"), (56, b"ISLD"), (34, b"0.001"), (34, b"0.001"), (52, ts), (112, b"T2")]
    m = parse_frame(frame(fields))
    assert isinstance(m, FixMessage)
    out = sends(s.on_message(m, T0))
    assert [x.msg_type for x in out] == [b"3"]
    (reject,) = out
    assert reject.get(45) is None or (reject.get(45) or b"").isdigit()
    assert reject.get(373) is not None


def test_reject_never_echoes_an_out_of_range_msg_seq_num() -> None:
    """Found by test_session_fuzz (seed 252): MsgSeqNum 99999999999999999999999 is no number
    the venue reads (get_int gives None), yet it was echoed as RefSeqNum."""
    s = logged_on()
    ts = format_utc_timestamp(T0)
    huge = b"9" * 23
    fields = [(35, b"4"), (49, b"TW44"), (56, b"ISLD"), (34, huge), (52, ts), (36, b"5")]
    m = parse_frame(frame(fields))
    assert isinstance(m, FixMessage)
    out = sends(s.on_message(m, T0))
    assert out and all(x.get(45) != huge for x in out)


async def _order_after(trader: Trader, cl_ord_id: str, **extra: str) -> FixMessage:
    """Send a NewOrderSingle and return the venue's answer (whatever its type)."""
    await trader.new_order(cl_ord_id, "1", extra.pop("qty", "0.01"), "60000", **extra)
    while True:
        m = await trader.read()
        if m.msg_type != b"0":
            return m


@pytest.mark.parametrize(
    "extra",
    [
        {"qty": "99999999999999999999999"},  # found by tools/fuzz.py: lots beyond int64
        {"t59": "6", "t126": "99991231-23:59:59"},  # ExpireTime beyond int64 nanoseconds
    ],
)
async def test_numbers_beyond_64_bits_are_refused_not_half_applied(
    venue_factory: VenueFactory, traders: Callable[[int, str], Trader], extra: dict[str, str]
) -> None:
    """Found by tools/fuzz.py: a NewOrderSingle whose quantity converted to more lots than a
    64-bit integer holds reached the engine, whose events then could not be journaled
    (OverflowError in the sequencer after `Engine.apply`): the sender's connection died and
    the sequencer had taken a seq it never wrote. Now refused at the FIX boundary."""
    venue = await venue_factory()
    t = traders(venue.port, "ALPHA-MM")
    await t.connect()
    await t.logon()
    answer = await _order_after(t, "huge", **extra)
    assert answer.msg_type in (b"8", b"3", b"j"), answer
    if answer.msg_type == b"8":
        assert answer.get(39) == b"8", answer  # rejected
    after = await _order_after(t, "fine")  # the session and the journal still work
    assert after.msg_type == b"8" and after.get(39) == b"0", after
    rows: list[Any] = []
    await venue.journal.scan(0, rows.extend)
    assert [r[0] for r in rows] == list(range(1, len(rows) + 1))
    assert rows[-1][0] == venue.sequencer.last_seq
