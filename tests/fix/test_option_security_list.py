"""SecurityList (35=y) carries each option series' FIX 4.4 fields (CFICode 461, SecurityType
OPT, MaturityDate 541, PutOrCall 201, StrikePrice 202, NoUnderlyings/UnderlyingSymbol 311,
ContractType O) and validates against fix_specs/FIX44.xml as QuickFIX validates it."""

from __future__ import annotations

import simplefix

from venue.config import configured_options, instrument_from_config, load_config
from venue.fix.codec import FixMessage, encode, parse_frame
from venue.fix.dictionary import load_dictionary
from venue.fix.mapping_out import security_list
from venue.fix.validate import validate


def test_option_series_in_the_security_list() -> None:
    cfg = load_config()
    perp = instrument_from_config(cfg.instruments[0])
    options = configured_options(cfg)
    body = security_list([perp, *options], security_req_id=b"r", security_response_id=b"r")
    raw = encode(
        b"y",
        begin_string=b"FIX.4.4",
        sender=b"VENUE",
        target=b"ALPHA-MM",
        seq=3,
        sending_time=b"20261121-06:30:00.000",
        body=body,
    )
    msg = parse_frame(raw)
    assert isinstance(msg, FixMessage)
    assert validate(msg, load_dictionary()) is None
    p = simplefix.FixParser()
    p.append_buffer(raw)
    m = p.get_message()
    assert m is not None
    assert m.get(146) == b"%d" % (1 + len(options))
    # The perpetual first, then the chain: a call and a put per strike.
    assert [m.get(55, n) for n in (1, 2, 3)] == [
        b"BTC-PERP",
        b"BTC-26MAR27-55000-C",
        b"BTC-26MAR27-55000-P",
    ]
    assert m.get(461, 1) == b"OCEICS" and m.get(461, 2) == b"OPEICS"
    assert m.get(167, 2) == b"OPT" and m.get(167, 1) == b"FUT"
    assert m.get(201, 1) == b"1" and m.get(201, 2) == b"0"
    assert m.get(202, 1) == b"55000"
    assert m.get(541, 1) == b"20270326"
    assert m.get(311, 1) == b"BTC" and m.get(711, 1) == b"1"
    assert [m.get(5005, n) for n in (1, 2)] == [b"P", b"O"]
