"""Benchmark: FIX parse/encode rates of the venue codec against simplefix (prints one JSON object).

Parse = one complete NewOrderSingle / ExecutionReport frame through ``Framer.feed`` (framing,
BodyLength and CheckSum checks, field split) for the venue, ``FixParser.append_buffer`` +
``get_message`` for simplefix. Encode = one frame with BodyLength and CheckSum from header values
and a body field list, for the venue ``encode``, and ``FixMessage.append_pair``... ``encode`` for
simplefix. Validation (dictionary checks) of the venue's parsed NewOrderSingle is reported apart.
Each figure is the best of ``--repeat`` runs of ``--number`` calls (least disturbed by other load).

Usage: python tools/bench/codec.py [--number N] [--repeat R]
"""

from __future__ import annotations

import argparse
import json
import platform
import sys
import timeit
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

import simplefix

from venue.fix.codec import FixMessage, Framer, encode
from venue.fix.dictionary import load_dictionary
from venue.fix.validate import validate

SENDING_TIME = b"20261121-06:11:04.123"
NOS_BODY = [
    (11, b"ORD-000001234"),
    (1, b"ACC-1"),
    (55, b"BTC-PERP"),
    (54, b"1"),
    (38, b"100"),
    (40, b"2"),
    (44, b"65432.5"),
    (59, b"1"),
    (60, SENDING_TIME),
    (7928, b"SMP-1"),
]
ER_BODY = [
    (37, b"O-123456"),
    (11, b"ORD-000001234"),
    (17, b"E-99999"),
    (150, b"F"),
    (39, b"1"),
    (1, b"ACC-1"),
    (55, b"BTC-PERP"),
    (54, b"1"),
    (38, b"100"),
    (40, b"2"),
    (44, b"65432.5"),
    (59, b"1"),
    (32, b"10"),
    (31, b"65432.5"),
    (151, b"90"),
    (14, b"10"),
    (6, b"65432.5"),
    (60, SENDING_TIME),
]


def venue_encoder(msg_type: bytes, body: list[tuple[int, bytes]]) -> Callable[[], bytes]:
    def run() -> bytes:
        return encode(
            msg_type,
            begin_string=b"FIX.4.4",
            sender=b"VENUE",
            target=b"MM00001",
            seq=123456,
            sending_time=SENDING_TIME,
            body=body,
        )

    return run


def simplefix_encoder(msg_type: bytes, body: list[tuple[int, bytes]]) -> Callable[[], bytes]:
    def run() -> bytes:
        msg = simplefix.FixMessage()
        msg.append_pair(8, b"FIX.4.4")
        msg.append_pair(35, msg_type)
        msg.append_pair(49, b"VENUE")
        msg.append_pair(56, b"MM00001")
        msg.append_pair(34, 123456)
        msg.append_pair(52, SENDING_TIME)
        for tag, value in body:
            msg.append_pair(tag, value)
        return bytes(msg.encode())

    return run


def venue_parser(raw: bytes) -> Callable[[], object]:
    framer = Framer()

    def run() -> object:
        return framer.feed(raw)

    return run


def simplefix_parser(raw: bytes) -> Callable[[], object]:
    parser = simplefix.FixParser()

    def run() -> object:
        parser.append_buffer(raw)
        return parser.get_message()

    return run


def best_us(fn: Callable[[], object], number: int, repeat: int) -> float:
    fn()
    return min(timeit.repeat(fn, number=number, repeat=repeat)) / number * 1e6


def figure(us: float) -> dict[str, float]:
    return {"us_per_msg": round(us, 3), "msgs_per_s": round(1e6 / us)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--number", type=int, default=20000)
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    n, r = args.number, args.repeat
    simple_n = max(1, n // 10)  # simplefix is an order of magnitude slower

    d = load_dictionary()
    nos = venue_encoder(b"D", NOS_BODY)()
    er = venue_encoder(b"8", ER_BODY)()
    assert nos == simplefix_encoder(b"D", NOS_BODY)()
    assert er == simplefix_encoder(b"8", ER_BODY)()
    (parsed_nos,) = Framer().feed(nos)
    assert isinstance(parsed_nos, FixMessage)
    assert validate(parsed_nos, d) is None

    result: dict[str, object] = {"python": platform.python_version(), "number": n, "repeat": r}
    for name, raw, body, msg_type in (
        ("NewOrderSingle", nos, NOS_BODY, b"D"),
        ("ExecutionReport", er, ER_BODY, b"8"),
    ):
        venue_parse = best_us(venue_parser(raw), n, r)
        simple_parse = best_us(simplefix_parser(raw), simple_n, r)
        venue_enc = best_us(venue_encoder(msg_type, body), n, r)
        simple_enc = best_us(simplefix_encoder(msg_type, body), simple_n, r)
        result[name] = {
            "bytes": len(raw),
            "parse": {
                "venue": figure(venue_parse),
                "simplefix": figure(simple_parse),
                "speedup": round(simple_parse / venue_parse, 1),
            },
            "encode": {
                "venue": figure(venue_enc),
                "simplefix": figure(simple_enc),
                "speedup": round(simple_enc / venue_enc, 1),
            },
        }
    result["validate_NewOrderSingle"] = figure(best_us(lambda: validate(parsed_nos, d), n, r))
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
