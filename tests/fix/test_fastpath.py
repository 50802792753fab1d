"""The FIX hot path's fast ways give the answers of the slow ways, byte for byte.

- parse: a message parsed by its remembered shape has the fields, values and lookups the
  field-by-field parse gives (values with ``=``, duplicates, data fields, odd tags included);
- validate: once a shape has its pattern, ``validate`` answers exactly as ``validate_fields``
  (the field-by-field reference) for any values, valid or not;
- encode: ``FrameEncoder.frame`` writes the bytes ``encode`` writes (and simplefix writes);
- ``Framer.feed`` of one whole frame per read gives what the general scan gives.
"""

from __future__ import annotations

import random

import simplefix
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from venue.fix.codec import (
    SOH,
    FixMessage,
    FrameEncoder,
    Framer,
    Garbled,
    encode,
    format_utc_timestamp,
    parse_frame,
    parse_utc_timestamp,
)
from venue.fix.dictionary import Dictionary, load_dictionary
from venue.fix.validate import make_validator, validate, validate_fields

D = load_dictionary()
TS = b"20261121-06:11:04.123"
NS = 1_795_241_464_123_000_000  # 2026-11-21T06:11:04.123Z


def frame(fields: list[tuple[int, bytes]], msg_type: bytes = b"D") -> bytes:
    """A well-framed message with exactly these fields after 35 (correct length, checksum)."""
    inner = b"35=%s\x01" % msg_type + b"".join(b"%d=%s\x01" % f for f in fields)
    data = b"8=FIX.4.4\x019=%d\x01" % len(inner) + inner
    return data + b"10=%03d\x01" % (sum(data) % 256)


def parsed(raw: bytes) -> FixMessage:
    m = parse_frame(raw)
    assert isinstance(m, FixMessage)
    return m


HEADER = [(49, b"MM1"), (56, b"VENUE"), (34, b"7"), (52, TS)]
NOS = [
    (11, b"C-1"),
    (55, b"BTC-PERP"),
    (54, b"1"),
    (60, TS),
    (38, b"0.003"),
    (40, b"2"),
    (44, b"65432.5"),
    (59, b"1"),
]


# --- parse ------------------------------------------------------------------------------


def reference_fields(raw: bytes) -> list[tuple[int, bytes]]:
    """Field-by-field reading of a frame of plain fields (the codec's slow way, restated)."""
    out = []
    for part in raw.split(SOH)[:-1]:
        tag, _, value = part.partition(b"=")
        out.append((int(tag), value))
    return out


def test_repeated_shape_parses_like_the_first() -> None:
    raws = [frame(HEADER + NOS[:-1] + [(59, b"%d" % i)]) for i in range(5)]
    for raw in raws:
        m = parsed(raw)
        assert m.shape is not None
        assert m.fields == reference_fields(raw) == simplefix_fields(raw)
        assert m.msg_type == b"D"
        assert m.get(44) == b"65432.5" and m.get_int(34) == 7 and 9999 not in m
    first, second = parsed(raws[0]), parsed(raws[1])
    assert first.shape is second.shape


def simplefix_fields(raw: bytes) -> list[tuple[int, bytes]]:
    parser = simplefix.FixParser()
    parser.append_buffer(raw)
    msg = parser.get_message()
    assert msg is not None
    return [(int(t), bytes(v)) for t, v in msg.pairs]


def test_duplicates_first_occurrence_wins_and_get_all() -> None:
    raw = frame([*HEADER, (58, b"a"), (58, b"b"), (11, b"x")], b"j")
    for _ in range(3):
        m = parsed(raw)
        assert m.shape is not None and not m.shape.unique
        assert m.get(58) == b"a" and m.get_all(58) == [b"a", b"b"]


def test_frames_that_are_not_plain_take_the_field_by_field_parse() -> None:
    equals = frame([*HEADER, (58, b"a=b"), (11, b"x")], b"j")
    data = frame([*HEADER, (95, b"3"), (96, b"a\x01b")], b"A")
    odd_tag = frame([*HEADER, (11, b"x")], b"D").replace(b"\x0111=", b"\x010011=")
    for raw in (equals, data, odd_tag):
        m = parsed(raw)
        assert m.shape is None
    assert parsed(equals).get(58) == b"a=b"
    assert parsed(data).get(96) == b"a\x01b"
    assert parsed(odd_tag).get(11) == b"x"


def test_a_value_with_equals_sign_cannot_pass_for_another_shape() -> None:
    # "58=1=2|3|" splits like "58=1|2=3|" would: it must not be read with that shape.
    good = frame([*HEADER, (58, b"1"), (2, b"3")], b"j")
    for _ in range(3):
        assert parsed(good).shape is not None
    bad = frame([*HEADER, (58, b"1"), (2, b"3")], b"j").replace(b"1\x012=3", b"1=2\x013")
    assert isinstance(parse_frame(bad), Garbled)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.tuples(
            st.sampled_from([1, 11, 38, 44, 55, 58, 95, 96, 100, 9999, 10000, 123456]),
            st.binary(min_size=0, max_size=6).filter(lambda v: SOH not in v),
        ),
        max_size=8,
    ),
    st.sampled_from([b"D", b"j", b"0", b"ZZ"]),
)
def test_parse_twice_is_parse_once(fields: list[tuple[int, bytes]], msg_type: bytes) -> None:
    raw = frame(HEADER + fields, msg_type)
    results = [parse_frame(raw) for _ in range(3)]  # the later ones may use the shape
    fresh = Framer().feed(raw)[0]
    for r in results:
        assert r == fresh
        if isinstance(r, FixMessage):
            assert isinstance(fresh, FixMessage)
            assert r.fields == fresh.fields and r.msg_type == fresh.msg_type
            for tag, _ in r.fields:
                assert r.get(tag) == fresh.get(tag) and r.get_all(tag) == fresh.get_all(tag)


# --- validate ---------------------------------------------------------------------------

# Values that sit on the edges of the type checks.
EDGE_VALUES = [
    b"",
    b"0",
    b"1",
    b"2",
    b"-1",
    b"01",
    b"1.5",
    b".5",
    b"5.",
    b".",
    b"-",
    b"-.5",
    b"1e5",
    b" 1",
    b"Y",
    b"N",
    b"x",
    b"ab",
    b"A B",
    b"\xff",
    TS,
    b"20261121-06:11:04",
    b"20261121-06:11:04.123456",
    b"20261121-06:11:04.123456789",
    b"20261121-06:11:04.1234",
    b"20261121-06:11:04.",
    b"20260229-12:00:00",
    b"20240229-12:00:00",
    b"21000229-12:00:00",
    b"20261131-00:00:00",
    b"20261130-00:00:00",
    b"20261121-24:00:00",
    b"20261121-23:60:00",
    b"20261121-23:59:60",
    b"20261321-00:00:00",
    b"20261100-00:00:00",
    b"12:00:00",
    b"23:59:60.123",
    b"24:00:00",
    b"20261121",
    b"20240229",
    b"20260229",
    b"202611",
    b"202613",
    b"202611w1",
    b"31",
    b"32",
    b"00",
]


def values_for(d: Dictionary, tag: int) -> list[bytes]:
    field = d.fields.get(tag)
    enum = sorted(field.values) if field is not None and field.values is not None else []
    return EDGE_VALUES + enum


def agree(raw: bytes) -> None:
    """validate and validate_fields agree on every call, before and after the shape learns."""
    for _ in range(4):
        m = parse_frame(raw)
        if not isinstance(m, FixMessage):
            return
        assert validate(m, D) == validate_fields(m, D), raw


def test_nos_uses_the_fast_path_and_agrees() -> None:
    raw = frame(HEADER + NOS)
    agree(raw)
    m = parsed(raw)
    assert m.shape is not None and callable(m.shape.memo[D])
    assert validate(m, D) is None


def test_make_validator_answers_as_validate() -> None:
    check = make_validator(D)
    good = parsed(frame(HEADER + NOS))
    bad = parsed(frame([*HEADER, *NOS[:-1], (59, b"Q")]))
    for _ in range(4):
        assert check(good) is None
        assert check(bad) == validate(bad, D) == validate_fields(bad, D) is not None


def test_every_edge_value_in_every_nos_position_agrees() -> None:
    base = HEADER + NOS
    agree(frame(base))
    for i, (tag, _) in enumerate(base):
        for value in values_for(D, tag):
            fields = list(base)
            fields[i] = (tag, value)
            agree(frame(fields))


SHAPES: list[tuple[bytes, list[int]]] = [
    (b"D", [49, 56, 34, 52, 11, 55, 54, 60, 38, 40, 44, 59]),
    (b"D", [49, 56, 34, 52, 97, 11, 1, 55, 54, 60, 38, 40, 44, 59, 18, 126, 7928]),
    (b"F", [49, 56, 34, 52, 41, 11, 55, 54, 60]),
    (b"G", [49, 56, 34, 52, 41, 11, 55, 54, 60, 38, 40, 44]),
    (b"0", [49, 56, 34, 52, 112]),
    (b"1", [49, 56, 34, 52, 112]),
    (b"A", [49, 56, 34, 52, 98, 108, 141]),
    (b"5", [49, 56, 34, 52, 58]),
    (b"4", [49, 56, 34, 52, 43, 122, 123, 36]),
    (b"2", [49, 56, 34, 52, 7, 16]),
    (b"D", [49, 56, 34, 11, 52, 55, 54, 60, 38, 40]),  # header field after a body field
    (b"D", [49, 56, 34, 52, 11, 55, 54, 60, 38, 40, 10]),  # trailer field inside
    (b"D", [49, 56, 34, 52, 11, 55, 54, 60, 38, 40, 453]),  # group count
    (b"D", [49, 56, 34, 52, 11, 55, 54, 38, 40]),  # required tag missing
    (b"D", [49, 56, 34, 52, 11, 55, 54, 60, 38, 40, 37]),  # not for this type
    (b"D", [49, 56, 34, 52, 11, 55, 54, 60, 38, 40, 5999]),  # undefined tag
    (b"8", [49, 56, 34, 52, 37, 17, 150, 39, 55, 54, 151, 14, 6]),
    (b"AE", [49, 56, 34, 52, 571, 55]),  # a standard type the venue may not define
]


@settings(max_examples=400, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.sampled_from(SHAPES), st.randoms(use_true_random=False))
def test_random_values_in_known_shapes_agree(
    shape: tuple[bytes, list[int]], rnd: random.Random
) -> None:
    msg_type, tags = shape
    fields = []
    for tag in tags:
        pool = values_for(D, tag)
        fields.append((tag, rnd.choice(pool)))
    if rnd.random() < 0.5:  # make most fields good, to reach the later checks
        good = frame(HEADER + NOS)
        agree(good)
    agree(frame(fields, msg_type))


@settings(max_examples=200, suppress_health_check=[HealthCheck.too_slow], deadline=None)
@given(st.randoms(use_true_random=False))
def test_shuffled_and_duplicated_fields_agree(rnd: random.Random) -> None:
    fields = HEADER + NOS
    fields = list(fields)
    action = rnd.randrange(3)
    if action == 0:
        rnd.shuffle(fields)
    elif action == 1:
        fields.insert(rnd.randrange(len(fields)), rnd.choice(fields))
    else:
        del fields[rnd.randrange(len(fields))]
    agree(frame(fields))


# --- encode -----------------------------------------------------------------------------

bodies = st.lists(
    st.tuples(
        st.integers(min_value=1, max_value=99999).filter(
            lambda t: t not in {8, 9, 10, 35, 49, 56, 34, 52, 43, 122, 89, 91, 93, 95, 96}
        ),
        st.binary(min_size=1, max_size=30).filter(lambda v: SOH not in v),
    ),
    max_size=80,
)
comp_ids = st.binary(min_size=1, max_size=12).filter(lambda v: SOH not in v and b"=" not in v)


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(
    bodies,
    st.tuples(comp_ids, comp_ids),
    st.integers(min_value=1, max_value=10**12),
    st.integers(min_value=0, max_value=4_000_000_000 * 10**9),
    st.sampled_from([b"8", b"0", b"AE", b"%d"]),
)
def test_frame_encoder_writes_what_encode_writes(
    body: list[tuple[int, bytes]],
    comp: tuple[bytes, bytes],
    seq: int,
    now_ns: int,
    msg_type: bytes,
) -> None:
    sender, target = comp
    enc = FrameEncoder(begin_string=b"FIX.4.4", sender=sender, target=target)
    for ns in (now_ns, now_ns + 1, now_ns + 999_999, now_ns + 1_000_000):
        got = enc.frame(msg_type, seq, ns, body)
        want = encode(
            msg_type,
            begin_string=b"FIX.4.4",
            sender=sender,
            target=target,
            seq=seq,
            sending_time=format_utc_timestamp(ns),
            body=body,
        )
        assert got == want
        assert enc.sending_time(ns) == format_utc_timestamp(ns)
    sf = simplefix.FixMessage()
    for tag, value in [
        (8, b"FIX.4.4"),
        (35, msg_type),
        (49, sender),
        (56, target),
        (34, b"%d" % seq),
        (52, format_utc_timestamp(now_ns)),
        *body,
    ]:
        sf.append_pair(tag, value)
    assert enc.frame(msg_type, seq, now_ns, body) == bytes(sf.encode())


def test_frame_encoder_long_and_non_ascii_bodies() -> None:
    enc = FrameEncoder(begin_string=b"FIX.4.4", sender=b"V%s", target=b"M")
    for body in (
        [(58, b"\xff" * 300)],
        [(58, b"x" * 600)],
        [(5000 + i, b"v") for i in range(200)],
    ):
        want = encode(
            b"8",
            begin_string=b"FIX.4.4",
            sender=b"V%s",
            target=b"M",
            seq=3,
            sending_time=format_utc_timestamp(NS),
            body=body,
        )
        assert enc.frame(b"8", 3, NS, body) == want
        assert isinstance(Framer().feed(want)[0], FixMessage)


# --- framing ----------------------------------------------------------------------------


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(st.integers(min_value=0, max_value=10**6), st.sampled_from(range(6)))
def test_one_frame_per_read_frames_as_the_general_scan(seed: int, damage: int) -> None:
    rnd = random.Random(seed)
    raw = frame(HEADER + NOS)
    if damage == 1:  # bad checksum
        raw = raw[:-4] + b"%03d\x01" % ((int(raw[-4:-1]) + 1) % 256)
    elif damage == 2:  # body length off
        raw = raw.replace(b"\x019=", b"\x019=1", 1)
    elif damage == 3:  # a byte changed somewhere
        i = rnd.randrange(len(raw))
        raw = raw[:i] + bytes([rnd.randrange(256)]) + raw[i + 1 :]
    elif damage == 4:  # checksum not three digits
        raw = raw[:-4] + b"7\x01"
    whole = Framer(max_message_size=rnd.choice([64, 65536]))
    slow = Framer(max_message_size=whole.max_message_size)
    got = whole.feed(raw)
    want = slow.feed(bytearray(raw))  # not bytes: the general scan
    assert got == want
    assert [type(r) for r in got] == [type(r) for r in want]
    assert whole.pending_bytes() == slow.pending_bytes()
    assert whole.overflowed == slow.overflowed
    good = [r for r in got if isinstance(r, FixMessage)]
    one_byte_reads = Framer(max_message_size=whole.max_message_size)
    again: list[FixMessage | Garbled] = []
    for i in range(len(raw)):
        again += one_byte_reads.feed(raw[i : i + 1])
    assert good == [r for r in again if isinstance(r, FixMessage)]


def test_frame_encoder_beyond_its_remembered_layouts() -> None:
    enc = FrameEncoder(begin_string=b"FIX.4.4", sender=b"V", target=b"M")
    for i in range(300):
        body = [(11, b"c"), (5000 + i, b"v%d" % i)] if i % 2 else [(5000 + i, b"w")]
        want = encode(
            b"8",
            begin_string=b"FIX.4.4",
            sender=b"V",
            target=b"M",
            seq=i + 1,
            sending_time=format_utc_timestamp(NS + i),
            body=body,
        )
        assert enc.frame(b"8", i + 1, NS + i, body) == want
    assert enc.frame(b"0", 7, NS, []) == encode(
        b"0",
        begin_string=b"FIX.4.4",
        sender=b"V",
        target=b"M",
        seq=7,
        sending_time=format_utc_timestamp(NS),
        body=[],
    )


def test_timestamp_cache_path_rejects_what_the_full_parse_rejects() -> None:
    assert parse_utc_timestamp(b"19700101-00:00:00.123") == 123_000_000
    for bad in (b"20261121-06:11:04.12a", b"20261121-06:11:04,123", b"20261121-06:11:04.+12"):
        assert parse_utc_timestamp(TS) == NS
        assert parse_utc_timestamp(bad) is None
    assert parse_utc_timestamp(b"20261121-06:11:04.999") == NS + 876_000_000
    assert parse_utc_timestamp(b"20261121-06:11:05.000") == NS + 877_000_000
