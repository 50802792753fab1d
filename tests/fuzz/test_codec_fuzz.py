"""Codec fuzzing (issue 11): mutated and corrupted frames in a byte stream cut at random points.
tests/fix/test_codec.py already covers good messages against simplefix and random garbage; these
add structured faults (fields inserted, deleted, swapped, repeated; bad BodyLength, CheckSum,
truncation, stray bytes) and check that the framer never raises, stays bounded, decides the same
whatever the chunking, and never lets a broken frame hide the good frames before it."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fuzz.mutate import TYPES, chunks, corrupt_frame, fields_for, frame, mutate_fields
from venue.fix.codec import FixMessage, Framer, Garbled, checksum, parse_frame

T0 = 1_767_225_600 * 1_000_000_000
MAX = 4096


def stream(rng: random.Random, n: int) -> tuple[bytes, list[bytes], int]:
    """`n` frames, some mutated or corrupted; returns (stream, frames, index of the first one
    with a fault)."""
    frames: list[bytes] = []
    first_bad = n
    for i in range(n):
        f = fields_for(rng.choice(TYPES), i + 1, T0, b"TW44", b"ISLD")
        if rng.random() < 0.3:
            f = mutate_fields(rng, f)
            first_bad = min(first_bad, i)
        data = frame(f)
        if rng.random() < 0.25:
            data = corrupt_frame(rng, data)
            first_bad = min(first_bad, i)
        frames.append(data)
    return b"".join(frames), frames, first_bad


def results(framer: Framer, pieces: list[bytes]) -> list[tuple[str, bytes]]:
    """What the framer made of the stream; garbage is dropped in pieces that depend on where
    reads end, so consecutive Garbled results are joined (the session ignores them alike)."""
    out: list[tuple[str, bytes]] = []
    for p in pieces:
        for item in framer.feed(p):
            assert isinstance(item, FixMessage | Garbled)
            if isinstance(item, Garbled) and out and out[-1][0] == "garbled":
                out[-1] = ("garbled", out[-1][1] + item.raw)
            else:
                out.append(("msg" if isinstance(item, FixMessage) else "garbled", item.raw))
        assert framer.pending <= MAX + 64
    return out


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 12))
def test_faulty_streams_frame_the_same_under_any_chunking(seed: int, n: int) -> None:
    rng = random.Random(seed)
    data, frames, first_bad = stream(rng, n)
    whole = results(Framer(max_message_size=MAX), [data])
    framer = Framer(max_message_size=MAX)
    cut = results(framer, chunks(rng, data))
    assert cut == whole
    assert b"".join(raw for _, raw in whole) + framer.pending_bytes() == data
    good = [raw for kind, raw in whole if kind == "msg"]
    # every frame before the first fault comes out intact and in order
    assert good[:first_bad] == frames[:first_bad]
    for kind, raw in whole:
        if kind == "msg":  # a frame the framer accepts has a true BodyLength and CheckSum
            assert raw.endswith(b"10=%03d\x01" % checksum(raw[:-7]))


@settings(max_examples=400, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_structurally_mutated_frames_parse_or_are_garbled(seed: int) -> None:
    rng = random.Random(seed)
    f = mutate_fields(rng, fields_for(rng.choice(TYPES), 7, T0, b"TW44", b"ISLD"))
    data = frame(f)
    parsed = parse_frame(data)
    assert isinstance(parsed, FixMessage | Garbled)
    (framed,) = Framer().feed(data)
    assert type(framed) is type(parsed)
    if isinstance(parsed, FixMessage):
        assert parsed.raw == data
        for tag, value in parsed.fields:
            assert isinstance(tag, int) and isinstance(value, bytes)
            parsed.get(tag)
            parsed.get_all(tag)
        for tag in (34, 9, 108, 36, 7, 16):
            value = parsed.get_int(tag)  # None for a non-numeric value, never an exception
            assert value is None or isinstance(value, int)
