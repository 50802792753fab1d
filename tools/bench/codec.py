"""Benchmark: FIX parse/encode rates of the venue codec against simplefix (prints one JSON object).

Parse = one complete NewOrderSingle / ExecutionReport frame through ``Framer.feed`` (framing,
BodyLength and CheckSum checks, field split) for the venue, ``FixParser.append_buffer`` +
``get_message`` for simplefix. Encode = one frame with BodyLength and CheckSum from header values
and a body field list, for the venue ``encode``, and ``FixMessage.append_pair``... ``encode`` for
simplefix. Validation (dictionary checks) of the venue's parsed NewOrderSingle is reported apart.
Each figure is the best of ``--repeat`` runs of ``--number`` calls (least disturbed by other load).

The hot-path stages as the venue runs them are reported too (``stages``): ``Framer.feed`` of a
NewOrderSingle as the e2e client frames it, the same for 16 in one read (per message: the
closed-loop case), ``validate`` of it, ``Session.on_message`` with and without the validator
(the session's own checks: SendingTime, CompIDs, sequence numbers), and
``Session.send_application`` of an ExecutionReport (header, SendingTime, BodyLength, CheckSum)
with the clock advancing 2 us per call (so most calls share the millisecond, as in a batch).

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

from venue.fix.codec import FixMessage, Framer, encode, parse_utc_timestamp
from venue.fix.dictionary import Dictionary, load_dictionary
from venue.fix.session import Session, SessionSettings
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


# A NewOrderSingle as tools/bench/e2e_client.py frames it.
E2E_NOS_BODY = (
    b"11=MM1-000000123\x0155=BTC-PERP\x0154=1\x0160=%s\x0138=0.003\x0140=2\x0144=65432.5\x0159=1\x01"
    % SENDING_TIME
)


def client_frame(msg_type: bytes, seq: int, body: bytes) -> bytes:
    inner = b"35=%s\x0149=MM1\x0156=VENUE\x0134=%d\x0152=%s\x01%s" % (
        msg_type,
        seq,
        SENDING_TIME,
        body,
    )
    msg = b"8=FIX.4.4\x019=%d\x01%s" % (len(inner), inner)
    return msg + b"10=%03d\x01" % (sum(msg) & 255)


def session_stages(d: Dictionary, n: int, r: int) -> dict[str, object]:
    """Per-message cost of each FIX hot-path stage, as the gateway drives them."""
    now0 = parse_utc_timestamp(SENDING_TIME)
    assert now0 is not None
    raw = client_frame(b"D", 2, E2E_NOS_BODY)
    (nos,) = Framer().feed(raw)
    assert isinstance(nos, FixMessage)
    assert validate(nos, d) is None
    settings = SessionSettings(name="MM1", venue_comp_id="VENUE", client_comp_id="MM1")

    def logged_on(validator: Callable[[FixMessage], object]) -> Session:
        s = Session(settings, validator, next_in=1, next_out=1)  # type: ignore[arg-type]
        s.on_connected(now0)
        (logon,) = Framer().feed(client_frame(b"A", 1, b"98=0\x01108=30\x01"))
        assert isinstance(logon, FixMessage)
        s.on_message(logon, now0)
        assert s.logged_on and s.next_in == 2
        return s

    def on_message(s: Session) -> Callable[[], object]:
        def run() -> object:
            s.next_in = 2
            nos._index = None  # as a fresh message: its tag index is built again
            return s.on_message(nos, now0 + 5_000_000)

        return run

    def send_application(s: Session) -> Callable[[], object]:
        clock = [now0]

        def run() -> object:
            clock[0] += 2_000
            return s.send_application(b"8", ER_BODY, clock[0])

        return run

    full = logged_on(lambda m: validate(m, d))
    bare = logged_on(lambda m: None)
    assert len(full.on_message(nos, now0)) == 2
    feed = best_us(venue_parser(raw), n, r)
    # The closed-loop case: a read holding 16 orders (per message).
    batch = b"".join(client_frame(b"D", 2 + i, E2E_NOS_BODY) for i in range(16))
    feed16 = best_us(venue_parser(batch), max(1, n // 16), r) / 16
    val = best_us(lambda: validate(nos, d), n, r)
    sess = best_us(on_message(full), n, r)
    sess_bare = best_us(on_message(bare), n, r)
    send = best_us(send_application(full), n, r)
    return {
        "parse NewOrderSingle (Framer.feed)": figure(feed),
        "parse NewOrderSingle, 16 per read (Framer.feed)": figure(feed16),
        "validate NewOrderSingle": figure(val),
        "Session.on_message NewOrderSingle": figure(sess),
        "Session.on_message without validate": figure(sess_bare),
        "Session.send_application ExecutionReport": figure(send),
    }


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
    result["stages"] = session_stages(d, n, r)
    print(json.dumps(result, indent=2))


if __name__ == "__main__":
    main()
