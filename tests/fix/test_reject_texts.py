"""Each reject names the real problem (issue: a 20-digit MsgSeqNum was answered "Required tag
missing", a 20-digit OrderQty "is not a decimal").

FIX 4.4 SessionRejectReason 6 is "Incorrect data format for value": a sequence number with more
digits than any the venue (or QuickFIX, whose integer conversion fails the same way) can hold
is a value in a wrong format, not a missing tag. An OrderQty or Price that is a well-formed
decimal but too large for the venue's 64-bit units is too large, not "not a decimal".
"""

from __future__ import annotations

import functools

import pytest

from tests.fix.test_mapping import ALPHA, TABLE, fix, nos, refusal
from venue.fix.codec import FixMessage, encode, format_utc_timestamp, parse_frame
from venue.fix.dictionary import load_dictionary
from venue.fix.mapping import decode
from venue.fix.session import Session, SessionSettings
from venue.fix.validate import INCORRECT_DATA_FORMAT, make_validator, validate

S = 1_000_000_000
T0 = 1_767_225_600 * S
DICTIONARY = load_dictionary()
TWENTY_DIGITS = b"9" * 20


def heartbeat(seq: bytes) -> FixMessage:
    raw = encode(
        b"0",
        begin_string=b"FIX.4.4",
        sender=b"TW44",
        target=b"ISLD",
        seq=1,
        sending_time=format_utc_timestamp(T0),
        body=[],
    ).replace(b"\x0134=1\x01", b"\x0134=" + seq + b"\x01")
    # BodyLength and CheckSum are the codec's to check; re-encode them for the new length.
    head, _, rest = raw.partition(b"\x019=")
    _, _, body = rest.partition(b"\x01")
    body = body[: body.rindex(b"10=")]
    frame = head + b"\x019=%d\x01" % len(body) + body
    frame += b"10=%03d\x01" % (sum(frame) % 256)
    msg = parse_frame(frame)
    assert isinstance(msg, FixMessage), msg
    return msg


def test_a_twenty_digit_msg_seq_num_is_an_incorrect_data_format() -> None:
    info = validate(heartbeat(TWENTY_DIGITS), DICTIONARY)
    assert info is not None
    assert (info.reason, info.ref_tag) == (INCORRECT_DATA_FORMAT, 34)
    assert "at most 18 digits" in info.text
    assert validate(heartbeat(b"9" * 18), DICTIONARY) is None


def test_the_fast_path_gives_the_same_answer() -> None:
    """A shape seen often is checked by one pattern: it must refuse what the reference does."""
    check = make_validator(DICTIONARY)
    for n in range(5):
        assert check(heartbeat(b"%d" % (n + 1))) is None
    info = check(heartbeat(TWENTY_DIGITS))
    assert info is not None and (info.reason, info.ref_tag) == (INCORRECT_DATA_FORMAT, 34)


def test_the_session_answers_reject_373_6_naming_msg_seq_num() -> None:
    settings = SessionSettings(name="S1", venue_comp_id="ISLD", client_comp_id="TW44")
    s = Session(settings, functools.partial(validate, d=DICTIONARY), ts_created=T0)
    s.on_connected(T0)
    logon = parse_frame(
        encode(
            b"A",
            begin_string=b"FIX.4.4",
            sender=b"TW44",
            target=b"ISLD",
            seq=1,
            sending_time=format_utc_timestamp(T0),
            body=[(98, b"0"), (108, b"30")],
        )
    )
    assert isinstance(logon, FixMessage)
    s.on_message(logon, T0)
    assert s.logged_on
    actions = s.on_message(heartbeat(TWENTY_DIGITS), T0)
    sends = [a for a in actions if type(a).__name__ == "Send"]
    (reject,) = [parse_frame(a.data) for a in sends]  # type: ignore[attr-defined]
    assert isinstance(reject, FixMessage) and reject.msg_type == b"3"
    assert reject.get(373) == b"6" and reject.get(371) == b"34"
    assert b"18 digits" in (reject.get(58) or b"")
    assert reject.get(45) == b"0"  # required, a SeqNum: never echo what is not one
    assert validate(reject, DICTIONARY) is None  # the venue's answer is valid FIX itself
    assert s.next_in == 2  # the number of a message without a usable MsgSeqNum is not consumed


@pytest.mark.parametrize(
    ("over", "text"),
    [
        ({"t38": "99999999999999999999"}, b"OrderQty (38) is too large: at most "),
        ({"t38": "1" * 60}, b"OrderQty (38) is too large: at most "),
        ({"t44": "99999999999999999999"}, b"Price (44) is too large: at most "),
        ({"t38": "0.0005"}, b"OrderQty (38) is not a multiple of the lot size 0.001"),
        ({"t38": "1e3"}, b"OrderQty (38) is not a decimal"),
        ({"t44": "60000.25"}, b"Price (44) is not a multiple of the tick size 0.5"),
    ],
)
def test_order_refusals_name_the_problem(over: dict[str, str], text: bytes) -> None:
    r = refusal(decode(nos(**over), ALPHA, TABLE))
    assert dict(r.fields)[58].startswith(text), r


def test_the_largest_quantity_named_is_the_largest_accepted() -> None:
    """The bound the Text gives is exact: that quantity converts, one lot more does not."""
    r = refusal(decode(nos(t38=TWENTY_DIGITS.decode()), ALPHA, TABLE))
    largest = dict(r.fields)[58].rsplit(b" ", 1)[1].decode()
    assert largest == "9223372036854775.807"  # (2**63 - 1) lots of 0.001
    assert decode(nos(t38=largest), ALPHA, TABLE).qty == 2**63 - 1  # type: ignore[union-attr]
    over = refusal(decode(nos(t38="9223372036854775.808"), ALPHA, TABLE))
    assert b"too large" in dict(over.fields)[58]


def test_a_replace_refusal_names_the_problem_too() -> None:
    msg = fix(
        b"G",
        (41, "c1"),
        (11, "c2"),
        (55, "BTC-PERP"),
        (54, "1"),
        (60, "20261121-06:30:00.000"),
        (38, TWENTY_DIGITS),
        (40, "2"),
        (44, "60000"),
    )
    r = refusal(decode(msg, ALPHA, TABLE))
    assert r.msg_type == b"9"
    assert dict(r.fields)[58].startswith(b"OrderQty (38) is too large")
