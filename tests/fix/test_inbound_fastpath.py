"""The inbound hot path's shortcuts give what the plain ways give.

- ``FixMessage.pick`` gives, for any message (parsed by a shape or field by field, tags
  repeated, absent or odd), exactly ``get`` of each tag; ``by_tag`` is the index ``get`` reads;
- ``Session``'s remembered SendingTime answers as a fresh parse does (a changed SendingTime,
  a bad one, one out of tolerance after a good one);
- ``Session.has_queued`` says whether ``process_queued`` has anything to look at.
"""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fix.test_fastpath import HEADER, NOS, NS, TS, frame, parsed
from venue.fix.actions import Deliver, SaveSeqs
from venue.fix.codec import FixMessage, Framer
from venue.fix.dictionary import load_dictionary
from venue.fix.session import Session, SessionSettings
from venue.fix.validate import make_validator

D = load_dictionary()
PICKS = [
    (11, 55),
    (8, 34, 52, 49, 56),
    (11, 55, 54, 38, 40, 59, 1, 44, 126, 18, 7928, 8000),
    (11, 41, 37, 55),
    (9999, 11, 11, 10),
]


def shaped(raw: bytes) -> FixMessage:
    """The message as the fast parse gives it once its shape is known."""
    framer = Framer()
    framer.feed(raw)
    (msg,) = framer.feed(raw)
    assert isinstance(msg, FixMessage)
    return msg


def test_pick_is_get_for_a_shaped_message() -> None:
    msg = shaped(frame(HEADER + NOS))
    assert msg.shape is not None and msg.shape.unique
    for tags in PICKS:
        assert msg.pick(tags) == tuple(msg.get(t) for t in tags)
    assert msg.by_tag() == dict(reversed(msg.fields))
    assert msg.by_tag() is msg.by_tag()


def test_pick_is_get_without_a_shape_and_with_repeats() -> None:
    repeated = shaped(frame(HEADER + NOS + [(11, b"second"), (448, b"A"), (448, b"B")]))
    assert repeated.shape is not None and not repeated.shape.unique
    odd = parsed(frame([*HEADER, (58, b"a=b"), (11, b"C-9")]))  # a value with "=": no shape
    assert odd.shape is None
    for msg in (repeated, odd):
        for tags in PICKS:
            assert msg.pick(tags) == tuple(msg.get(t) for t in tags)
    assert repeated.pick((11, 448)) == (b"C-1", b"A")


@settings(max_examples=60, deadline=None)
@given(
    extra=st.lists(
        st.tuples(
            st.sampled_from([1, 18, 37, 41, 44, 58, 59, 126, 7928, 8000, 9999]),
            st.binary(min_size=1, max_size=6).filter(lambda v: b"\x01" not in v),
        ),
        max_size=6,
    )
)
def test_pick_matches_get_on_random_messages(extra: list[tuple[int, bytes]]) -> None:
    raw = frame([*HEADER, (11, b"C-1"), (55, b"ETH-PERP"), *extra])
    for msg in (shaped(raw), parsed(raw)):
        for tags in PICKS:
            assert msg.pick(tags) == tuple(msg.get(t) for t in tags)
        assert list(msg.fields) == list(parsed(raw).fields)


def logged_on() -> Session:
    settings_ = SessionSettings(name="MM1", venue_comp_id="VENUE", client_comp_id="MM1")
    s = Session(settings_, make_validator(D))
    s.on_connected(NS)
    logon = frame([(49, b"MM1"), (56, b"VENUE"), (34, b"1"), (52, TS), (98, b"0"), (108, b"30")])
    s.on_message(parsed(logon.replace(b"35=D", b"35=A")), NS)
    assert s.logged_on and s.next_in == 2
    return s


def order(seq: int, sending_time: bytes) -> FixMessage:
    header = [(49, b"MM1"), (56, b"VENUE"), (34, b"%d" % seq), (52, sending_time)]
    return shaped(frame(header + NOS))


def test_remembered_sending_time_answers_as_a_fresh_parse() -> None:
    s = logged_on()
    first = s.on_message(order(2, TS), NS)
    assert first == [Deliver(msg=order(2, TS), ts_recv=NS), SaveSeqs(next_in=3, next_out=2)]
    # The same text again, now too far from the clock: rejected, as a fresh parse would say.
    late = NS + 10**12
    stale = s.on_message(order(3, TS), late)
    assert [type(a).__name__ for a in stale][:2] == ["Send", "Send"]  # Reject, then Logout
    assert b"\x01373=10\x01" in stale[0].data  # type: ignore[union-attr]


def test_a_changed_or_bad_sending_time_is_parsed_again() -> None:
    s = logged_on()
    assert isinstance(s.on_message(order(2, TS), NS)[0], Deliver)
    later = b"20261121-06:11:05.123"
    assert isinstance(s.on_message(order(3, later), NS + 10**9)[0], Deliver)
    bad = s.on_message(order(4, b"20261121-06:11:99.123"), NS)  # not a timestamp: slow path
    assert not any(isinstance(a, Deliver) for a in bad)


def test_has_queued() -> None:
    s = logged_on()
    assert not s.has_queued and s.process_queued(NS) is None
    s.on_message(order(4, TS), NS)  # too high: queued, a ResendRequest goes out
    assert s.has_queued
    s.on_message(order(2, TS), NS)
    s.on_message(order(3, TS), NS)
    queued = s.process_queued(NS)
    assert queued is not None and isinstance(queued[0], Deliver)
    assert not s.has_queued and s.process_queued(NS) is None
