"""FIX ⇄ core mapping (venue.fix.mapping): every inbound message, every refusal, every report."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from venue.core import (
    CancelOrder,
    MassCancel,
    NewOrder,
    ReplaceOrder,
)
from venue.core.types import (
    Instrument,
    InstrumentKind,
    InstrumentState,
    OrdType,
    Side,
    StpMode,
    TimeInForce,
)
from venue.fix.codec import FixMessage, encode, parse_frame
from venue.fix.mapping import (
    MassStatusQuery,
    Refusal,
    SecurityListQuery,
    SessionContext,
    StatusQuery,
    decode,
    instrument_table,
    security_list,
)

T0 = 1_795_242_600_000_000_000  # 2026-11-21 06:30:00 UTC
BTC = Instrument(
    symbol="BTC-PERP",
    kind=InstrumentKind.PERPETUAL,
    tick_size="0.5",
    lot_size="0.001",
    multiplier="1",
    ref_price=120_000,
    band_ppb=50_000_000,
    max_order_qty=100_000,
)
FUT = Instrument(
    symbol="BTC-27MAR27",
    kind=InstrumentKind.FUTURE,
    tick_size="0.5",
    lot_size="0.001",
    multiplier="1",
    ref_price=122_000,
    band_ppb=50_000_000,
    max_order_qty=100_000,
    expiry_ts=1_806_048_000_000_000_000,  # 2027-03-26 08:00 UTC
    state=InstrumentState.HALTED,
)
TABLE = instrument_table([BTC, FUT])
ALPHA = SessionContext(session="ALPHA-MM", firm="ALPHA", accounts=("ALPHA-1", "ALPHA-2"))
BRAVO = SessionContext(session="BRAVO-MM", firm="BRAVO", accounts=("BRAVO-1",))


def fix(msg_type: bytes, *fields: tuple[int, bytes | str], seq: int = 7) -> FixMessage:
    body = [(t, v.encode() if isinstance(v, str) else v) for t, v in fields]
    raw = encode(
        msg_type,
        begin_string=b"FIX.4.4",
        sender=b"ALPHA-MM",
        target=b"VENUE",
        seq=seq,
        sending_time=b"20261121-06:30:00.000",
        body=body,
    )
    msg = parse_frame(raw)
    assert isinstance(msg, FixMessage)
    return msg


def nos(**over: Any) -> FixMessage:
    fields: dict[int, Any] = {
        11: "c1",
        1: "ALPHA-1",
        55: "BTC-PERP",
        54: "1",
        60: "20261121-06:30:00.000",
        38: "0.5",
        40: "2",
        44: "60000.5",
        59: "1",
    }
    for key, value in over.items():
        tag = int(key.lstrip("t"))
        if value is None:
            fields.pop(tag, None)
        else:
            fields[tag] = value
    return fix(b"D", *fields.items())


def as_dict(body: list[tuple[int, bytes]]) -> dict[int, bytes]:
    return dict(body)


def refusal(result: object) -> Refusal:
    assert isinstance(result, Refusal), result
    return result


# ---------------------------------------------------------------------------------------------
# NewOrderSingle


def test_new_order_single_becomes_new_order() -> None:
    cmd = decode(nos(t18="6", t7928="42", t8000="1"), ALPHA, TABLE)
    assert cmd == NewOrder(
        session="ALPHA-MM",
        firm="ALPHA",
        account="ALPHA-1",
        cl_ord_id="c1",
        symbol="BTC-PERP",
        side=Side.BUY,
        ord_type=OrdType.LIMIT,
        price=120_001,
        qty=500,
        tif=TimeInForce.GTC,
        post_only=True,
        stp_id=42,
        stp_mode=StpMode.CANCEL_RESTING,
    )


def test_defaults_day_first_account_and_market() -> None:
    cmd = decode(nos(t1=None, t59=None, t40="1", t44=None, t54="2", t18="E"), ALPHA, TABLE)
    assert isinstance(cmd, NewOrder)
    assert cmd.account == "ALPHA-1"
    assert cmd.tif == TimeInForce.DAY
    assert cmd.ord_type == OrdType.MARKET
    assert cmd.price == 0
    assert cmd.side == Side.SELL
    assert cmd.reduce_only and not cmd.post_only
    assert cmd.stp_id == 0 and cmd.stp_mode == StpMode.CANCEL_AGGRESSOR


def test_gtd_with_expire_time() -> None:
    cmd = decode(nos(t59="6", t126="20261121-07:00:00.000"), ALPHA, TABLE)
    assert isinstance(cmd, NewOrder)
    assert cmd.tif == TimeInForce.GTD
    assert cmd.expire_ts == T0 + 30 * 60 * 10**9


def test_identity_comes_from_the_session_never_the_message() -> None:
    cmd = decode(nos(t1="BRAVO-1"), BRAVO, TABLE)
    assert isinstance(cmd, NewOrder)
    assert (cmd.session, cmd.firm, cmd.account) == ("BRAVO-MM", "BRAVO", "BRAVO-1")


@pytest.mark.parametrize(
    ("over", "code", "ord_rej_reason"),
    [
        ({"t1": "BRAVO-1"}, "unknown_account", b"15"),
        ({"t55": "DOGE-PERP"}, "unknown_symbol", b"1"),
        ({"t44": "60000.25"}, "price_off_tick", b"99"),
        ({"t44": "6e4"}, "bad_price", b"99"),
        ({"t38": "0.0005"}, "qty_off_lot", b"13"),
        ({"t38": "abc"}, "bad_qty", b"13"),
        ({"t54": "5"}, "unsupported_side", b"11"),
        ({"t40": "3"}, "unsupported_ord_type", b"11"),
        ({"t59": "2"}, "unsupported_tif", b"11"),
        ({"t40": "1"}, "market_with_price", b"11"),
        ({"t126": "20261121-07:00:00"}, "expire_time_not_gtd", b"11"),
        ({"t59": "6", "t126": "tomorrow"}, "bad_expire_time", b"11"),
        ({"t18": "G"}, "unsupported_exec_inst", b"11"),
        ({"t7928": "abc"}, "bad_stp_id", b"11"),
        ({"t7928": "0"}, "bad_stp_id", b"11"),
        ({"t8000": "9"}, "unsupported_stp_mode", b"11"),
        ({"t11": "x" * 65}, "cl_ord_id_too_long", b"99"),
    ],
)
def test_new_order_refusals_are_rejected_execution_reports(
    over: dict[str, str], code: str, ord_rej_reason: bytes
) -> None:
    r = refusal(decode(nos(**over), ALPHA, TABLE))
    assert (r.msg_type, r.reason) == (b"8", code)
    body = as_dict(r.body(b"E17", T0))
    assert body[17] == b"E17"
    assert body[150] == body[39] == b"8"
    assert body[103] == ord_rej_reason
    assert body[37] == b"NONE"
    assert body[11] == (over.get("t11", "c1")).encode()
    assert body[60] == b"20261121-06:30:00.000"
    assert body[58]
    assert (body[151], body[14], body[6]) == (b"0", b"0", b"0")


def test_refusal_text_names_the_tick() -> None:
    r = refusal(decode(nos(t44="60000.3"), ALPHA, TABLE))
    assert b"0.5" in as_dict(r.body(b"E1", T0))[58]


@pytest.mark.parametrize(
    ("over", "code", "ref_tag"),
    [
        ({"t44": None}, "price_missing", b"44"),
        ({"t59": "6"}, "expire_time_missing", b"126"),
        ({"t38": None}, "qty_missing", b"38"),
    ],
)
def test_conditionally_required_missing_is_business_reject(
    over: dict[str, str | None], code: str, ref_tag: bytes
) -> None:
    r = refusal(decode(nos(**over), ALPHA, TABLE))
    assert (r.msg_type, r.reason) == (b"j", code)
    body = as_dict(r.body(b"", T0))
    assert body[380] == b"5"
    assert body[372] == b"D"
    assert body[45] == b"7"
    assert body[379] == b"c1"
    assert b"(" + ref_tag + b")" in body[58]


@pytest.mark.parametrize("tag", [11, 55, 54, 40])
def test_required_tag_missing_is_session_reject(tag: int) -> None:
    r = refusal(decode(nos(**{f"t{tag}": None}), ALPHA, TABLE))
    assert r.msg_type == b"3"
    body = as_dict(r.body(b"", T0))
    assert (body[371], body[372], body[373], body[45]) == (b"%d" % tag, b"D", b"1", b"7")


@settings(max_examples=300)
@given(
    st.dictionaries(
        st.sampled_from([1, 11, 18, 38, 40, 44, 54, 55, 59, 126, 7928, 8000, 37, 41, 530, 585]),
        st.binary(min_size=1, max_size=12).filter(lambda b: b"\x01" not in b and b"=" not in b),
    ),
    st.sampled_from([b"D", b"F", b"G", b"q", b"H", b"AF", b"x", b"Z"]),
)
def test_decode_never_raises(fields: dict[int, bytes], msg_type: bytes) -> None:
    result = decode(fix(msg_type, *fields.items()), ALPHA, TABLE)
    if isinstance(result, Refusal):
        result.body(b"E1", T0)
    elif isinstance(result, NewOrder):
        assert result.account in ALPHA.accounts
        assert (result.session, result.firm) == ("ALPHA-MM", "ALPHA")


def test_unsupported_message_type_is_business_reject_3() -> None:
    r = refusal(decode(fix(b"AD", (568, "r1")), ALPHA, TABLE))
    assert r.msg_type == b"j"
    assert as_dict(r.body(b"", T0))[380] == b"3"


# ---------------------------------------------------------------------------------------------
# Cancel and replace


def test_cancel_request() -> None:
    cmd = decode(fix(b"F", (41, "c1"), (11, "c2"), (55, "BTC-PERP"), (54, "1")), ALPHA, TABLE)
    assert cmd == CancelOrder(
        session="ALPHA-MM", firm="ALPHA", cl_ord_id="c2", orig_cl_ord_id="c1", symbol="BTC-PERP"
    )
    cmd = decode(fix(b"F", (41, "c1"), (37, "12"), (11, "c2"), (55, "X"), (54, "1")), BRAVO, TABLE)
    assert isinstance(cmd, CancelOrder)
    assert (cmd.order_id, cmd.session, cmd.firm) == (12, "BRAVO-MM", "BRAVO")


def test_cancel_with_foreign_order_id_is_unknown_order() -> None:
    r = refusal(decode(fix(b"F", (41, "c1"), (37, "ABC"), (11, "c2"), (55, "X")), ALPHA, TABLE))
    assert r.msg_type == b"9"
    body = as_dict(r.body(b"", T0))
    assert (body[434], body[102], body[39], body[37]) == (b"1", b"1", b"8", b"ABC")
    assert 60 in body


def test_replace_request() -> None:
    msg = fix(
        b"G",
        (41, "c1"),
        (11, "c2"),
        (55, "BTC-PERP"),
        (54, "1"),
        (38, "1.5"),
        (40, "2"),
        (44, "61000"),
    )
    assert decode(msg, ALPHA, TABLE) == ReplaceOrder(
        session="ALPHA-MM",
        firm="ALPHA",
        cl_ord_id="c2",
        orig_cl_ord_id="c1",
        symbol="BTC-PERP",
        price=122_000,
        qty=1500,
    )


@pytest.mark.parametrize(
    ("fields", "msg_type", "code"),
    [
        ({44: "61000.1"}, b"9", "price_off_tick"),
        ({44: "x"}, b"9", "bad_price"),
        ({38: "1.0001"}, b"9", "qty_off_lot"),
        ({38: "-"}, b"9", "bad_qty"),
        ({55: "NOPE"}, b"9", "unknown_symbol"),
        ({40: "1"}, b"9", "unsupported_ord_type"),
        ({44: None}, b"j", "price_missing"),
        ({38: None}, b"j", "qty_missing"),
        ({41: None}, b"3", "required_field_missing"),
    ],
)
def test_replace_refusals(fields: dict[int, str | None], msg_type: bytes, code: str) -> None:
    base: dict[int, str] = {41: "c1", 11: "c2", 55: "BTC-PERP", 54: "1", 38: "1", 40: "2", 44: "1"}
    for tag, value in fields.items():
        if value is None:
            base.pop(tag)
        else:
            base[tag] = value
    r = refusal(decode(fix(b"G", *base.items()), ALPHA, TABLE))
    assert (r.msg_type, r.reason) == (msg_type, code)
    if msg_type == b"9":
        body = as_dict(r.body(b"", T0))
        assert (body[434], body[102]) == (b"2", b"1" if code == "unknown_symbol" else b"99")


# ---------------------------------------------------------------------------------------------
# Mass cancel, status, mass status, security list


def test_mass_cancel_is_session_only() -> None:
    cmd = decode(fix(b"q", (11, "m1"), (530, "7"), (55, "IGNORED")), ALPHA, TABLE)
    assert cmd == MassCancel(session="ALPHA-MM", firm="ALPHA", cl_ord_id="m1", session_only=True)
    cmd = decode(
        fix(b"q", (11, "m2"), (530, "1"), (55, "BTC-PERP"), (54, "2"), (1, "ALPHA-2")), ALPHA, TABLE
    )
    assert cmd == MassCancel(
        session="ALPHA-MM",
        firm="ALPHA",
        cl_ord_id="m2",
        symbol="BTC-PERP",
        account="ALPHA-2",
        side=Side.SELL,
        session_only=True,
    )


@pytest.mark.parametrize(
    ("fields", "msg_type", "code"),
    [
        (((11, "m"), (530, "3")), b"r", "unsupported_mass_cancel_type"),
        (((11, "m"), (530, "7"), (1, "BRAVO-1")), b"r", "unknown_account"),
        (((11, "m"), (530, "7"), (54, "8")), b"r", "unsupported_side"),
        (((11, "m"), (530, "1")), b"j", "symbol_missing"),
        (((11, "m"),), b"3", "required_field_missing"),
    ],
)
def test_mass_cancel_refusals(
    fields: tuple[tuple[int, str], ...], msg_type: bytes, code: str
) -> None:
    r = refusal(decode(fix(b"q", *fields), ALPHA, TABLE))
    assert (r.msg_type, r.reason) == (msg_type, code)
    if msg_type == b"r":
        body = as_dict(r.body(b"", T0))
        assert body[531] == b"0"
        assert body[11] == b"m"


def test_status_requests() -> None:
    q = decode(fix(b"H", (11, "c1"), (55, "BTC-PERP"), (54, "1"), (790, "s1")), ALPHA, TABLE)
    assert q == StatusQuery(
        session="ALPHA-MM",
        firm="ALPHA",
        cl_ord_id="c1",
        order_id=0,
        symbol="BTC-PERP",
        side=b"1",
        ord_status_req_id=b"s1",
    )
    q = decode(fix(b"H", (11, "c1"), (37, "zz"), (55, "BTC-PERP"), (54, "1")), ALPHA, TABLE)
    assert isinstance(q, StatusQuery)
    assert q.order_id == -1  # can never match: answered as unknown
    q = decode(fix(b"AF", (584, "ms"), (585, "7"), (1, "ALPHA-2")), ALPHA, TABLE)
    assert q == MassStatusQuery(
        session="ALPHA-MM",
        firm="ALPHA",
        mass_status_req_id=b"ms",
        symbol="",
        account="ALPHA-2",
        side=None,
    )
    for fields, code in [
        (((584, "ms"), (585, "2")), "unsupported_mass_status_type"),
        (((584, "ms"), (585, "7"), (1, "BRAVO-1")), "unknown_account"),
        (((584, "ms"), (585, "1")), "symbol_missing"),
    ]:
        r = refusal(decode(fix(b"AF", *fields), ALPHA, TABLE))
        assert (r.msg_type, r.reason) == (b"j", code)


def test_security_list_requests() -> None:
    assert decode(fix(b"x", (320, "r1"), (559, "4")), ALPHA, TABLE) == SecurityListQuery(
        security_req_id=b"r1", symbol=""
    )
    assert decode(fix(b"x", (320, "r1"), (559, "0"), (55, "BTC-PERP")), ALPHA, TABLE) == (
        SecurityListQuery(security_req_id=b"r1", symbol="BTC-PERP")
    )
    r = refusal(decode(fix(b"x", (320, "r1"), (559, "2")), ALPHA, TABLE))
    assert r.msg_type == b"y"
    assert as_dict(r.body(b"", T0))[560] == b"1"


def test_security_list_carries_every_instrument_property() -> None:
    body = security_list([BTC, FUT], security_req_id=b"r1", security_response_id=b"r1")
    assert body[:5] == [(320, b"r1"), (322, b"r1"), (560, b"0"), (393, b"2"), (146, b"2")]
    group = body[5:]
    assert [v for t, v in group if t == 55] == [b"BTC-PERP", b"BTC-27MAR27"]
    assert [v for t, v in group if t == 969] == [b"0.5", b"0.5"]
    assert [v for t, v in group if t == 561] == [b"0.001", b"0.001"]
    assert [v for t, v in group if t == 231] == [b"1", b"1"]
    assert [v for t, v in group if t == 5005] == [b"P", b"F"]
    assert [v for t, v in group if t == 541] == [b"20270326"]
    texts = [v for t, v in group if t == 58]
    assert texts[0] == b"state=open; band=0.05; max_qty=100"
    assert texts[1] == (b"state=halted; band=0.05; max_qty=100; expiry=20270326-08:00:00.000")
