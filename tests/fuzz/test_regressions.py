"""Inputs the fuzzers found bugs with, kept as regression tests (issue 11)."""

from __future__ import annotations

from tests.fix.test_session import T0, logged_on, sends
from tests.fuzz.mutate import frame
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
