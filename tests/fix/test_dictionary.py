"""The venue dictionary: it loads, holds every message the venue uses, and its own tags."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from venue.fix.codec import DEFAULT_DATA_FIELDS
from venue.fix.dictionary import (
    DEFAULT_PATH,
    Dictionary,
    DictionaryError,
    load_dictionary,
    parse_dictionary,
)

SESSION = ["0", "1", "2", "3", "4", "5", "A"]
APPLICATION = [
    "D", "F", "G", "9", "8", "q", "r", "H", "AF", "x", "y", "j",
    "AD", "AE", "V", "W", "X", "Y", "AN", "AP", "BB", "BA",
    "i", "b", "Z", "a", "AI", "U1", "U2",
]  # fmt: skip
VENUE_TAGS = {
    5001,
    5002,
    5003,
    5004,
    5005,
    5006,
    5007,
    5008,
    5009,
    5010,
    5011,
    5012,
    5013,
    5014,
    5201,
    5202,
    5203,
    5204,
    5205,
    5206,
    7928,
    8000,
}
BORROWED = {969, 880, 1057}  # later-FIX tags, or placed where FIX 4.4 lacks them
DOC = DEFAULT_PATH.parent / "DICTIONARY.md"


@pytest.fixture(scope="module")
def d() -> Dictionary:
    return load_dictionary()


def test_default_path_is_the_repository_file() -> None:
    assert Path(__file__).resolve().parents[2] / "fix_specs" / "FIX44.xml" == DEFAULT_PATH
    assert DEFAULT_PATH.is_file()


def test_loads_once(d: Dictionary) -> None:
    assert load_dictionary() is d
    assert load_dictionary(DEFAULT_PATH) is d
    assert d.begin_string == b"FIX.4.4"


@pytest.mark.parametrize("msg_type", SESSION + APPLICATION)
def test_every_message_the_venue_uses_is_defined(d: Dictionary, msg_type: str) -> None:
    mdef = d.message(msg_type.encode())
    assert mdef is not None
    assert mdef.category == ("admin" if msg_type in SESSION else "app")
    assert d.is_admin(msg_type.encode()) == (msg_type in SESSION)


def test_nothing_else_is_defined(d: Dictionary) -> None:
    assert sorted(d.messages) == sorted(t.encode() for t in SESSION + APPLICATION)


def test_msg_type_enum_knows_every_standard_type(d: Dictionary) -> None:
    for standard in (b"d", b"C", b"c", b"R", b"AS", b"BH"):
        assert d.is_known_msg_type(standard)
        assert d.message(standard) is None
    for invalid in (b"*", b"", b"ZZ", b"a1"):
        assert not d.is_known_msg_type(invalid)


def test_header_and_trailer(d: Dictionary) -> None:
    assert d.header.required == (8, 9, 34, 35, 49, 52, 56)
    assert d.header.order[:3] == (8, 9, 35)
    for routing in (115, 116, 128, 129, 144, 145, 43, 97, 122):
        assert routing in d.header.tags
    assert 627 in d.header.groups
    assert d.trailer.order == (93, 89, 10)
    assert d.trailer.required == (10,)


def test_required_flags_are_standard(d: Dictionary) -> None:
    assert d.messages[b"D"].required == (11, 40, 54, 60)
    assert d.messages[b"8"].required == (6, 14, 17, 37, 39, 54, 150, 151)
    assert d.messages[b"A"].required == (98, 108)
    assert d.messages[b"0"].required == ()
    assert d.messages[b"1"].required == (112,)
    assert d.messages[b"3"].required == (45,)


def test_fields_and_enums(d: Dictionary) -> None:
    assert d.tag("ClOrdID") == 11
    assert d.name(11) == "ClOrdID"
    assert d.name(5000) is None
    assert d.fields[21].values == {b"1", b"2", b"3"}
    assert d.fields[167].values is not None
    assert b"CS" in d.fields[167].values
    assert b"FUT" in d.fields[167].values
    assert d.fields[40].value_names[b"2"] == "LIMIT"
    assert d.fields[38].type == "QTY"
    assert d.fields[52].type == "UTCTIMESTAMP"


def test_groups(d: Dictionary) -> None:
    nos = d.messages[b"D"]
    sessions = nos.groups[386]
    assert sessions.delimiter == 336
    assert sessions.order == (336, 625)
    parties = nos.groups[453]
    assert parties.delimiter == 448
    assert 802 in parties.groups
    assert parties.groups[802].delimiter == 523
    assert {448, 523, 803} <= parties.all_tags
    assert d.messages[b"V"].groups[267].required == (269,)


def test_conformance_constraints(d: Dictionary) -> None:
    # 14a: these must stay undefined.
    for undefined in (0, -1, 999, 5000):
        assert undefined not in d.fields
    # 14c: Symbol is defined, but not on a Heartbeat.
    assert 55 in d.fields
    assert 55 not in d.messages[b"0"].all_tags


def test_venue_tags(d: Dictionary) -> None:
    for tag in VENUE_TAGS:
        assert tag in d.fields
    assert d.fields[5001].type == "BOOLEAN"
    assert 5001 in d.messages[b"A"].tags
    assert 5002 in d.messages[b"8"].tags
    assert {7928, 8000} <= d.messages[b"D"].tags
    assert {7928, 8000} <= d.messages[b"G"].tags
    assert d.fields[8000].values == {b"1", b"2", b"3"}
    assert d.fields[5005].values == {b"P", b"F", b"O"}
    assert {5003, 5004} <= d.messages[b"AP"].tags
    assert {880, 1057, 5002} <= d.messages[b"8"].tags
    assert d.fields[1057].type == "BOOLEAN"
    related = d.messages[b"y"].groups[146]
    assert {5005, 969, 561, 562} <= related.tags


def test_every_venue_tag_is_documented(d: Dictionary) -> None:
    documented = {int(n) for n in re.findall(r"^\| (\d+) \|", DOC.read_text(), re.MULTILINE)}
    assert {t for t in d.fields if t >= 5000} == VENUE_TAGS
    assert documented == VENUE_TAGS | BORROWED


def test_data_fields(d: Dictionary) -> None:
    assert d.data_fields[96] == 95
    assert d.data_fields[89] == 93
    assert d.data_fields[355] == 354
    for data, length in d.data_fields.items():
        assert DEFAULT_DATA_FIELDS[data] == length


def test_xml_is_quickfix_shaped() -> None:
    root = ET.parse(DEFAULT_PATH).getroot()
    assert root.tag == "fix"
    assert (root.get("major"), root.get("minor")) == ("4", "4")
    assert [child.tag for child in root] == [
        "header",
        "messages",
        "trailer",
        "components",
        "fields",
    ]
    fields = root.find("fields")
    assert fields is not None
    assert len(fields) > 500
    for field in fields:
        assert field.get("number") and field.get("name") and field.get("type")


def test_broken_dictionaries_fail_loudly() -> None:
    good_fields = '<fields><field number="1" name="Account" type="STRING"/></fields>'
    shell = "<fix major='4' minor='4'><header/><trailer/><messages>{}</messages>{}</fix>"
    parse_dictionary(shell.format("", good_fields))
    with pytest.raises(DictionaryError, match="undefined field"):
        parse_dictionary(
            shell.format(
                '<message name="X" msgtype="U1"><field name="Nope"/></message>', good_fields
            )
        )
    with pytest.raises(DictionaryError, match="undefined component"):
        parse_dictionary(
            shell.format(
                '<message name="X" msgtype="U1"><component name="C"/></message>', good_fields
            )
        )
    with pytest.raises(DictionaryError, match="duplicate"):
        parse_dictionary(
            shell.format(
                "",
                '<fields><field number="1" name="A" type="STRING"/>'
                '<field number="1" name="B" type="STRING"/></fields>',
            )
        )
    with pytest.raises(DictionaryError, match="not XML"):
        parse_dictionary("<fix")
