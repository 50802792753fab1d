"""Message mutations shared by the fuzz tests and `tools/fuzz.py`: valid FIX 4.4 messages of the
kinds a trading session sends, and the faults a broken or hostile counterparty makes (fields
inserted, deleted, swapped or repeated, values corrupted, wrong sequence numbers, bad BodyLength
and CheckSum, truncation, garbage between frames).

Invariants: everything is a pure function of the `random.Random` it is given (a seed replays a
case); `frame` computes BodyLength and CheckSum itself, so header mutations reach the session
machine, and `corrupt_frame` breaks the framing on purpose, for the codec.
"""

from __future__ import annotations

import random

from venue.fix.codec import format_utc_timestamp

SOH = b"\x01"
TYPES = [b"D", b"F", b"G", b"H", b"q", b"0", b"1", b"2", b"4", b"5", b"3", b"A", b"j", b"V", b"AF"]
VALUES = [
    b"",
    b"0",
    b"-1",
    b"1e9",
    b"99999999999999999999999",
    b"Y",
    b"N",
    b"\xff\xfe",
    b"=",
    b"BTC-PERP",
    b"60000.5",
    b"0.001",
    b"NaN",
    b"20260101-00:00:00",
    b"x" * 300,
]


def fields_for(
    msg_type: bytes, seq: int, ts_ns: int, sender: bytes, target: bytes
) -> list[tuple[int, bytes]]:
    """A plausible message: header (without 8/9/10) and a body for its type."""
    now = format_utc_timestamp(ts_ns)
    head = [(35, msg_type), (49, sender), (56, target), (34, b"%d" % seq), (52, now)]
    order = [(11, b"C%d" % seq), (55, b"BTC-PERP"), (54, b"1"), (60, now)]
    bodies: dict[bytes, list[tuple[int, bytes]]] = {
        b"D": [*order, (38, b"0.01"), (40, b"2"), (44, b"60000")],
        b"F": [(41, b"C1"), (11, b"X%d" % seq), (55, b"BTC-PERP"), (54, b"1"), (60, now)],
        b"G": [(41, b"C1"), *order, (38, b"0.02"), (40, b"2"), (44, b"59999.5")],
        b"H": [(11, b"C1"), (55, b"BTC-PERP"), (54, b"1")],
        b"q": [(11, b"M%d" % seq), (530, b"7"), (60, now)],
        b"0": [],
        b"1": [(112, b"T%d" % seq)],
        b"2": [(7, b"1"), (16, b"0")],
        b"4": [(123, b"Y"), (36, b"%d" % (seq + 1))],
        b"5": [],
        b"3": [(45, b"1"), (373, b"1")],
        b"A": [(98, b"0"), (108, b"30")],
        b"j": [(45, b"1"), (372, b"D"), (380, b"0")],
        b"V": [(262, b"R1"), (263, b"1"), (264, b"1"), (146, b"1"), (55, b"BTC-PERP")],
        b"AF": [(584, b"S1"), (585, b"8")],
    }
    return head + bodies.get(msg_type, [])


def frame(fields: list[tuple[int, bytes]], begin: bytes = b"FIX.4.4") -> bytes:
    """Fields (35 first) as a frame with a correct BodyLength and CheckSum."""
    body = b"".join(b"%d=%s\x01" % (t, v) for t, v in fields)
    head = b"8=%s\x019=%d\x01" % (begin, len(body))
    total = sum(head + body) % 256
    return head + body + b"10=%03d\x01" % total


def mutate_fields(rng: random.Random, fields: list[tuple[int, bytes]]) -> list[tuple[int, bytes]]:
    """One to three structural faults that keep the framing valid."""
    out = list(fields)
    for _ in range(rng.randint(1, 3)):
        op = rng.randrange(8)
        i = rng.randrange(len(out)) if out else 0
        if op == 0 and len(out) > 1:
            del out[i]
        elif op == 1:
            tag = rng.choice([1, 11, 34, 35, 38, 43, 44, 49, 52, 56, 97, 122, 123, 36, 7, 16, 9999])
            out.insert(i, (tag, rng.choice(VALUES)))
        elif op == 2 and len(out) > 1:
            j = rng.randrange(len(out))
            out[i], out[j] = out[j], out[i]
        elif op == 3 and out:
            out.insert(i, out[i])  # a repeated field
        elif op == 4 and out:
            out[i] = (out[i][0], rng.choice(VALUES))
        elif op == 5 and out:
            out[i] = (rng.randint(0, 10**6), out[i][1])
        elif op == 6:
            shift = rng.randint(-3, 3)
            out = [(t, _shift(v, shift) if t == 34 else v) for t, v in out]
        else:
            out.append((43, b"Y"))  # PossDup without OrigSendingTime
    return out


def _shift(value: bytes, by: int) -> bytes:
    return b"%d" % (int(value) + by) if value.isdigit() else value


def corrupt_frame(rng: random.Random, data: bytes) -> bytes:
    """A framing fault: BodyLength, CheckSum, truncation, a stray SOH or garbage."""
    op = rng.randrange(7)
    if op == 0:
        return data.replace(b"\x019=", b"\x019=%d" % rng.randint(0, 9), 1)
    if op == 1:
        return data[:-4] + b"%03d\x01" % rng.randint(0, 999)
    if op == 2:
        return data[: rng.randrange(len(data))]
    if op == 3:
        i = rng.randrange(len(data))
        return data[:i] + SOH + data[i:]
    if op == 4:
        return bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 40))) + data
    if op == 5:
        i = rng.randrange(len(data))
        return data[:i] + bytes([rng.getrandbits(8)]) + data[i + 1 :]
    return data.replace(b"\x019=", b"\x019=-", 1)


def chunks(rng: random.Random, data: bytes) -> list[bytes]:
    """The stream cut at random points (TCP may deliver any split)."""
    cuts = sorted(rng.randrange(len(data) + 1) for _ in range(rng.randint(0, 8)))
    return [data[a:b] for a, b in zip([0, *cuts], [*cuts, len(data)], strict=True)]
