"""Validation against the venue dictionary: one test per SessionRejectReason, and what passes.

The messages are the ones of the QuickFIX FIX 4.4 acceptance scripts (14a-14i, 15, 21, 2q, 2r,
ReverseRoute*, RejectResentMessage), with the Reject each script expects.
"""

from __future__ import annotations

import pytest

from venue.fix.codec import SOH, FixMessage, checksum, parse_frame
from venue.fix.dictionary import Dictionary, load_dictionary
from venue.fix.validate import (
    INCORRECT_DATA_FORMAT,
    INCORRECT_NUM_IN_GROUP_COUNT,
    INVALID_MSG_TYPE,
    INVALID_TAG_NUMBER,
    REPEATING_GROUP_FIELDS_OUT_OF_ORDER,
    REQUIRED_TAG_MISSING,
    TAG_APPEARS_MORE_THAN_ONCE,
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE,
    TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER,
    TAG_SPECIFIED_WITHOUT_A_VALUE,
    VALUE_IS_INCORRECT,
    SessionRejectInfo,
    check_value,
    group_instances,
    split_message,
    validate,
)

NOW = "20261121-06:11:04"
HEADER = f"34=2|49=TW44|52={NOW}|56=ISLD|"
NOS = f"11=ID|21=1|40=1|54=1|38=200.00|55=INTC|60={NOW}|"


@pytest.fixture(scope="module")
def d() -> Dictionary:
    return load_dictionary()


def msg(text: str) -> FixMessage:
    """A frame from ``35=..|..`` text ('|' is SOH), BodyLength and CheckSum added."""
    body = text.replace("|", "\x01").encode("latin-1")
    head = b"8=FIX.4.4\x019=%d\x01" % len(body)
    raw = head + body
    raw += b"10=%03d\x01" % checksum(raw)
    parsed = parse_frame(raw)
    assert isinstance(parsed, FixMessage), parsed
    return parsed


def reject(reason: int, ref_tag: int | None) -> tuple[int, int | None]:
    return reason, ref_tag


def check(d: Dictionary, text: str) -> tuple[int, int | None] | None:
    info = validate(msg(text), d)
    if info is None:
        return None
    assert isinstance(info, SessionRejectInfo)
    assert info.text
    return info.reason, info.ref_tag


# --- one test per reason ------------------------------------------------------------------


@pytest.mark.parametrize("tag", ["999", "0", "-1", "5000"])
def test_invalid_tag_number_0(d: Dictionary, tag: str) -> None:  # 14a
    assert check(d, f"35=0|{HEADER}{tag}=HI|") == reject(INVALID_TAG_NUMBER, int(tag))


def test_required_tag_missing_1_header(d: Dictionary) -> None:  # 14b
    assert check(d, f"35=0|34=2|49=TW44|52={NOW}|") == reject(REQUIRED_TAG_MISSING, 56)


def test_required_tag_missing_1_body(d: Dictionary) -> None:  # 14b
    text = f"35=D|49=TW44|34=3|56=ISLD|52={NOW}|40=1|60={NOW}|54=1|21=3|"
    assert check(d, text) == reject(REQUIRED_TAG_MISSING, 11)


def test_required_tag_missing_1_in_group_instance(d: Dictionary) -> None:
    # MarketDataRequest: MDEntryType (269) is required in each NoMDEntryTypes instance.
    base = f"35=V|{HEADER}262=R1|263=0|264=1|267=2|269=0|269=1|146=1|55=BTC-PERP|"
    assert check(d, base) is None
    missing = f"35=V|{HEADER}262=R1|263=0|264=1|146=1|55=BTC-PERP|"
    assert check(d, missing) == reject(REQUIRED_TAG_MISSING, 267)


def test_tag_not_defined_for_message_type_2(d: Dictionary) -> None:  # 14c
    assert check(d, f"35=0|{HEADER}55=MSFT|") == reject(TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, 55)
    # A venue tag outside the messages it belongs to.
    assert check(d, f"35=0|{HEADER}5001=Y|") == reject(TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, 5001)


def test_tag_specified_without_a_value_4(d: Dictionary) -> None:  # 14d
    assert check(d, f"35=0|34=2|49=TW44|52={NOW}|56=|") == reject(TAG_SPECIFIED_WITHOUT_A_VALUE, 56)
    assert check(d, f"35=D|{HEADER}{NOS}58=|") == reject(TAG_SPECIFIED_WITHOUT_A_VALUE, 58)
    # Empty beats "undefined": QuickFIX checks for a value first.
    assert check(d, f"35=0|{HEADER}999=|") == reject(TAG_SPECIFIED_WITHOUT_A_VALUE, 999)


@pytest.mark.parametrize("routing", ["115", "128", "116", "129", "144", "145"])
def test_empty_routing_header_tags_4(d: Dictionary, routing: str) -> None:
    # ReverseRouteWithEmptyRoutingTags: header tags are checked before body tags (40=w).
    text = f"35=D|{HEADER}{routing}=|11=ID|21=3|38=100|40=w|54=1|55=INTC|60={NOW}|"
    assert check(d, text) == reject(TAG_SPECIFIED_WITHOUT_A_VALUE, int(routing))


def test_value_is_incorrect_5(d: Dictionary) -> None:  # 14e, ReverseRoute
    assert check(d, f"35=D|{HEADER}{NOS.replace('21=1', '21=4')}") == reject(VALUE_IS_INCORRECT, 21)
    assert check(d, f"35=D|{HEADER}{NOS}167=BOO|") == reject(VALUE_IS_INCORRECT, 167)
    assert check(d, f"35=D|{HEADER}{NOS}167=CS|") is None
    text = f"35=D|{HEADER}115=JCD|116=CS|11=ID|21=3|38=100|40=w|54=1|55=INTC|60={NOW}|"
    assert check(d, text) == reject(VALUE_IS_INCORRECT, 40)
    assert check(d, f"35=D|{HEADER}{NOS}8000=4|") == reject(VALUE_IS_INCORRECT, 8000)


def test_multiple_value_string_enum(d: Dictionary) -> None:
    assert check(d, f"35=D|{HEADER}{NOS}18=6 E|") is None
    assert check(d, f"35=D|{HEADER}{NOS}18=6 ?|") == reject(VALUE_IS_INCORRECT, 18)


@pytest.mark.parametrize(
    ("field", "tag"),
    [
        ("38=+200.00", 38),  # 14f
        ("38=1e5", 38),
        ("38=1,5", 38),
        ("44=.", 44),
        ("126=20040415", 126),  # RejectResentMessage: a date is not a UTCTimestamp
        ("126=20261121-25:00:00", 126),
        ("110=-", 110),
    ],
)
def test_incorrect_data_format_6(d: Dictionary, field: str, tag: int) -> None:
    result = check(d, f"35=D|{HEADER}{NOS.replace('38=200.00|', '')}{field}|")
    assert result == reject(INCORRECT_DATA_FORMAT, tag)


def test_incorrect_data_format_6_other_types(d: Dictionary) -> None:
    logon = f"35=A|34=1|49=TW44|52={NOW}|56=ISLD|98=0|108=30|"
    assert check(d, logon) is None
    assert check(d, f"{logon}5001=Y|") is None
    assert check(d, f"{logon}5001=yes|") == reject(INCORRECT_DATA_FORMAT, 5001)
    assert check(d, logon.replace("108=30", "108=3O")) == reject(INCORRECT_DATA_FORMAT, 108)
    assert check(d, logon.replace("34=1", "34=-1")) == reject(INCORRECT_DATA_FORMAT, 34)
    assert check(d, logon.replace(f"52={NOW}", "52=2026-11-21")) == reject(
        INCORRECT_DATA_FORMAT, 52
    )
    assert check(d, f"35=D|{HEADER}{NOS}54=12|".replace("54=1|", "", 1)) == reject(
        INCORRECT_DATA_FORMAT, 54
    )
    assert check(d, f"35=D|{HEADER}{NOS}432=20261131|") == reject(INCORRECT_DATA_FORMAT, 432)
    assert check(d, f"35=D|{HEADER}{NOS}432=20261130|") is None


def test_invalid_msg_type_11(d: Dictionary) -> None:  # 2q
    assert check(d, f"35=*|{HEADER}") == reject(INVALID_MSG_TYPE, None)
    assert check(d, f"35=ZZ|{HEADER}") == reject(INVALID_MSG_TYPE, None)


def test_tag_appears_more_than_once_13(d: Dictionary) -> None:  # 14h
    text = f"35=D|{HEADER}11=ID|21=1|40=1|40=2|54=1|38=200.00|55=INTC|60={NOW}|"
    assert check(d, text) == reject(TAG_APPEARS_MORE_THAN_ONCE, 40)
    assert check(d, f"35=0|34=2|49=TW44|49=TW44|52={NOW}|56=ISLD|") == reject(
        TAG_APPEARS_MORE_THAN_ONCE, 49
    )


def test_tag_repeated_inside_one_group_instance_13(d: Dictionary) -> None:
    text = f"35=D|{HEADER}{NOS}453=1|448=P1|447=D|447=D|"
    assert check(d, text) == reject(TAG_APPEARS_MORE_THAN_ONCE, 447)


def test_tag_specified_out_of_required_order_14(d: Dictionary) -> None:  # 14g
    body_first = f"35=D|11=id|21=3|40=1|54=1|55=MSFT|60={NOW}|34=2|49=TW44|52={NOW}|56=ISLD|"
    assert check(d, body_first) == reject(TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, 34)
    one_first = f"35=D|55=MSFT|34=3|49=TW44|52={NOW}|56=ISLD|11=id|21=3|40=1|54=1|60={NOW}|"
    assert check(d, one_first) == reject(TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, 34)
    # Body after a trailer field.
    text = f"35=D|{HEADER}93=1|89=x|{NOS}"
    assert check(d, text) == reject(TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, 11)


def test_repeating_group_fields_out_of_order_15(d: Dictionary) -> None:
    text = f"35=D|{HEADER}{NOS}453=1|447=D|448=P1|"
    assert check(d, text) == reject(REPEATING_GROUP_FIELDS_OUT_OF_ORDER, 447)


def test_incorrect_num_in_group_count_16(d: Dictionary) -> None:  # 14i
    text = (
        f"35=D|{HEADER}11=ID|21=1|40=1|54=1|38=200.00|55=INTC|"
        f"386=3|336=PRE-OPEN|336=AFTER-HOURS|60={NOW}|"
    )
    assert check(d, text) == reject(INCORRECT_NUM_IN_GROUP_COUNT, 386)
    too_few = f"35=D|{HEADER}{NOS}386=1|336=A|336=B|"
    assert check(d, too_few) == reject(INCORRECT_NUM_IN_GROUP_COUNT, 386)
    assert check(d, f"35=D|{HEADER}{NOS}386=2|336=A|336=B|") is None
    assert check(d, f"35=D|{HEADER}{NOS}386=1|") == reject(INCORRECT_NUM_IN_GROUP_COUNT, 386)
    assert check(d, f"35=D|{HEADER}{NOS}386=x|") == reject(INCORRECT_DATA_FORMAT, 386)
    huge = f"35=D|{HEADER}{NOS}386={'9' * 5000}|336=A|"
    assert check(d, huge) == reject(INCORRECT_NUM_IN_GROUP_COUNT, 386)


def test_nested_groups(d: Dictionary) -> None:
    good = f"35=D|{HEADER}{NOS}453=2|448=P1|447=D|452=1|802=2|523=S1|803=1|523=S2|448=P2|447=D|"
    assert check(d, good) is None
    bad_nested = f"35=D|{HEADER}{NOS}453=1|448=P1|802=3|523=S1|523=S2|"
    assert check(d, bad_nested) == reject(INCORRECT_NUM_IN_GROUP_COUNT, 802)
    bad_outer = f"35=D|{HEADER}{NOS}453=1|448=P1|802=1|523=S1|448=P2|"
    assert check(d, bad_outer) == reject(INCORRECT_NUM_IN_GROUP_COUNT, 453)


def test_header_group(d: Dictionary) -> None:
    assert check(d, f"35=0|{HEADER}627=1|628=HOP1|629={NOW}|") is None
    assert check(d, f"35=0|{HEADER}627=2|628=HOP1|") == reject(INCORRECT_NUM_IN_GROUP_COUNT, 627)
    # A problem in or before the header group is reported as such, not as the header fields
    # after the group being "out of order".
    text = f"35=0|34=2|49=TW44|627=2|628=HOP1|52={NOW}|56=ISLD|"
    assert check(d, text) == reject(INCORRECT_NUM_IN_GROUP_COUNT, 627)
    text = f"35=0|34=2|49=|627=1|628=HOP1|52={NOW}|56=ISLD|"
    assert check(d, text) == reject(TAG_SPECIFIED_WITHOUT_A_VALUE, 49)
    text = f"35=0|34=2|49=TW44|627=1|628=HOP1|628=HOP2|52={NOW}|56=ISLD|"
    assert check(d, text) == reject(INCORRECT_NUM_IN_GROUP_COUNT, 627)  # 628 delimits
    text = f"35=0|34=2|49=TW44|627=1|628=HOP1|630=1|630=2|52={NOW}|56=ISLD|"
    assert check(d, text) == reject(TAG_APPEARS_MORE_THAN_ONCE, 630)


def test_problem_order_follows_quickfix(d: Dictionary) -> None:
    # Out of order (14) beats required missing (1), which beats field problems.
    text = f"35=D|34=2|49=TW44|52={NOW}|21=9|56=ISLD|"
    assert check(d, text) == reject(TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, 56)
    text = f"35=D|{HEADER}21=9|40=1|54=1|60={NOW}|"
    assert check(d, text) == reject(REQUIRED_TAG_MISSING, 11)
    text = f"35=D|{HEADER}{NOS}999=1|21=9|"
    assert check(d, text) == reject(INVALID_TAG_NUMBER, 999)


# --- what must pass -----------------------------------------------------------------------


def test_fields_in_any_order_within_sections_pass(d: Dictionary) -> None:  # 15
    assert check(d, f"35=D|{HEADER}11=id|21=3|40=1|54=1|55=MSFT|60={NOW}|") is None
    text = f"35=D|49=TW44|34=3|56=ISLD|52={NOW}|40=1|55=MSFT|60={NOW}|54=1|21=3|11=id|"
    assert check(d, text) is None


def test_unsupported_standard_message_type_passes_for_business_reject(d: Dictionary) -> None:
    # 21: SecurityDefinition with 454=0 is a valid FIX 4.4 message the venue does not define:
    # validation checks only its header, the application answers 35=j 380=3.
    text = (
        f"35=d|34=2|49=TW44|56=ISLD|52={NOW}|320=JCD1091-20021011|322=1034356488676|323=6|"
        "55=TBS|22=8|167=CS|336=ONE_MAIN|58=No Products found for this Class Symbol|454=0|"
    )
    assert d.message(b"d") is None
    assert d.is_known_msg_type(b"d")
    assert check(d, text) is None
    assert check(d, f"35=C|{HEADER}148=hi|33=0|") is None
    # ... but its header is still checked.
    assert check(d, f"35=C|34=2|49=TW44|52={NOW}|148=hi|") == reject(REQUIRED_TAG_MISSING, 56)


def test_execution_report_from_a_client_validates(d: Dictionary) -> None:  # 2r
    text = f"35=8|{HEADER}37=id|17=id|150=0|39=0|55=WLRI|54=1|151=100|14=0|6=0.0|"
    assert check(d, text) is None


def test_zero_count_group(d: Dictionary) -> None:  # 21
    assert check(d, f"35=D|{HEADER}{NOS}453=0|") is None


def test_venue_fields_pass_where_defined(d: Dictionary) -> None:
    assert check(d, f"35=D|{HEADER}{NOS}7928=GROUP-A|8000=3|") is None
    assert check(d, f"35=G|{HEADER}41=OLD|{NOS}7928=G|8000=1|") is None
    text = f"35=8|{HEADER}37=id|17=id|150=0|39=0|55=X|54=1|151=1|14=0|6=0|5002=MM1|8000=2|"
    assert check(d, text) is None


def test_check_value(d: Dictionary) -> None:
    assert check_value(d, 54, b"1") is None
    assert check_value(d, 54, b"Z") == SessionRejectInfo(
        VALUE_IS_INCORRECT, 54, "Value is incorrect (out of range) for this tag"
    )
    assert check_value(d, 38, b"") is not None
    assert check_value(d, 4999, b"x") is not None


# --- helpers for the session and the mapping ---------------------------------------------


def test_split_message(d: Dictionary) -> None:
    m = msg(f"35=D|{HEADER}43=Y|122={NOW}|{NOS}453=1|448=P1|93=1|89=x|")
    split = split_message(m, d)
    assert split.header[35] == b"D"
    assert split.header[34] == b"2"
    assert split.header[43] == b"Y"
    assert 11 not in split.header
    assert split.body[0] == (11, b"ID")
    assert split.body[-1] == (448, b"P1")
    assert split.trailer == {93: b"1", 89: b"x", 10: m.fields[-1][1]}


def test_group_instances(d: Dictionary) -> None:
    m = msg(f"35=D|{HEADER}{NOS}453=2|448=P1|447=D|802=1|523=S|448=P2|452=3|59=1|")
    assert group_instances(m, 453, d) == [
        {448: b"P1", 447: b"D", 802: b"1", 523: b"S"},
        {448: b"P2", 452: b"3"},
    ]
    assert group_instances(m, 386, d) == []
    assert group_instances(m, 9999, d) == []


def test_soh_constant() -> None:
    assert SOH == b"\x01"
