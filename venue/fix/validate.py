"""Validation of a parsed inbound message against the dictionary (session-level Reject 35=3).

Invariants:
- ``validate`` is pure: same message and dictionary, same answer. It returns None or the
  first problem found as ``SessionRejectInfo(reason, ref_tag, text)``; the session turns it
  into Reject (35=3) with SessionRejectReason (373), RefTagID (371, omitted when None) and
  Text (58), adding RefSeqNum (45) and RefMsgType (372) itself.
- Checks run in QuickFIX's order, which the conformance scripts expect when one message has
  one problem: MsgType unknown (11, no RefTagID); header/body/trailer order (14, the first
  field found out of its section); required tags missing (1: header, body, trailer, each
  ascending); then field by field in wire order, header, body, trailer: repeated tag (13),
  empty value (4), bad data format (6), value not in the enum (5), undefined tag (0), tag not
  defined for this message type (2); repeating groups are read with the dictionary's group
  definitions: an instance missing a required member (1), members before the delimiter (15),
  and an instance count different from NumInGroup (16, RefTagID = the count tag).
- A standard MsgType (an enum value of tag 35) that the dictionary does not define is checked
  for its header and trailer only and then passes: the application answers it with
  BusinessMessageReject 380=3 (Unsupported Message Type), not with a session Reject.
- Per-field work is one dict lookup of a precomputed (format check, enum set) pair per tag,
  built once per dictionary, so the NewOrderSingle hot path stays a few microseconds.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from venue.fix.codec import FixMessage, parse_utc_timestamp
from venue.fix.dictionary import Dictionary, GroupDef, MessageDef

__all__ = [
    "INCORRECT_DATA_FORMAT",
    "INCORRECT_NUM_IN_GROUP_COUNT",
    "INVALID_MSG_TYPE",
    "INVALID_TAG_NUMBER",
    "REPEATING_GROUP_FIELDS_OUT_OF_ORDER",
    "REQUIRED_TAG_MISSING",
    "TAG_APPEARS_MORE_THAN_ONCE",
    "TAG_NOT_DEFINED_FOR_MESSAGE_TYPE",
    "TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER",
    "TAG_SPECIFIED_WITHOUT_A_VALUE",
    "VALUE_IS_INCORRECT",
    "SessionRejectInfo",
    "SplitMessage",
    "check_value",
    "group_instances",
    "split_message",
    "validate",
]

# SessionRejectReason (373), FIX 4.4.
INVALID_TAG_NUMBER = 0
REQUIRED_TAG_MISSING = 1
TAG_NOT_DEFINED_FOR_MESSAGE_TYPE = 2
UNDEFINED_TAG = 3
TAG_SPECIFIED_WITHOUT_A_VALUE = 4
VALUE_IS_INCORRECT = 5
INCORRECT_DATA_FORMAT = 6
DECRYPTION_PROBLEM = 7
SIGNATURE_PROBLEM = 8
COMP_ID_PROBLEM = 9
SENDING_TIME_ACCURACY_PROBLEM = 10
INVALID_MSG_TYPE = 11
XML_VALIDATION_ERROR = 12
TAG_APPEARS_MORE_THAN_ONCE = 13
TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER = 14
REPEATING_GROUP_FIELDS_OUT_OF_ORDER = 15
INCORRECT_NUM_IN_GROUP_COUNT = 16
NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER = 17
OTHER = 99

# Texts as QuickFIX words them (Text 58 is informative; these read well in logs).
REASON_TEXT: dict[int, str] = {
    INVALID_TAG_NUMBER: "Invalid tag number",
    REQUIRED_TAG_MISSING: "Required tag missing",
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE: "Tag not defined for this message type",
    UNDEFINED_TAG: "Undefined Tag",
    TAG_SPECIFIED_WITHOUT_A_VALUE: "Tag specified without a value",
    VALUE_IS_INCORRECT: "Value is incorrect (out of range) for this tag",
    INCORRECT_DATA_FORMAT: "Incorrect data format for value",
    DECRYPTION_PROBLEM: "Decryption problem",
    SIGNATURE_PROBLEM: "Signature problem",
    COMP_ID_PROBLEM: "CompID problem",
    SENDING_TIME_ACCURACY_PROBLEM: "SendingTime accuracy problem",
    INVALID_MSG_TYPE: "Invalid MsgType",
    XML_VALIDATION_ERROR: "XML Validation error",
    TAG_APPEARS_MORE_THAN_ONCE: "Tag appears more than once",
    TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER: "Tag specified out of required order",
    REPEATING_GROUP_FIELDS_OUT_OF_ORDER: "Repeating group fields out of order",
    INCORRECT_NUM_IN_GROUP_COUNT: "Incorrect NumInGroup count for repeating group",
    NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER: "Non Data value includes field delimiter",
    OTHER: "Other",
}


@dataclass(frozen=True, slots=True)
class SessionRejectInfo:
    """Why a message is rejected: SessionRejectReason (373), RefTagID (371), Text (58)."""

    reason: int
    ref_tag: int | None
    text: str


def _reject(reason: int, ref_tag: int | None) -> SessionRejectInfo:
    return SessionRejectInfo(reason, ref_tag, REASON_TEXT[reason])


# --- value formats ----------------------------------------------------------------------

_INT_RE = re.compile(rb"-?[0-9]+")
_FLOAT_RE = re.compile(rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)")
_DATE_RE = re.compile(rb"([0-9]{4})([0-9]{2})([0-9]{2})")
_TIME_RE = re.compile(rb"([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.[0-9]{3}|\.[0-9]{6}|\.[0-9]{9})?")
_MONTH_YEAR_RE = re.compile(rb"[0-9]{4}(0[1-9]|1[0-2])(?:[0-9]{2}|w[1-5])?")
_DAYS_IN_MONTH = (0, 31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31)


def _is_int(value: bytes) -> bool:
    return value.isdigit() or _INT_RE.fullmatch(value) is not None


def _is_unsigned(value: bytes) -> bool:
    return value.isdigit()


def _is_float(value: bytes) -> bool:
    return value.isdigit() or _FLOAT_RE.fullmatch(value) is not None


def _is_char(value: bytes) -> bool:
    return len(value) == 1


def _is_boolean(value: bytes) -> bool:
    return value in (b"Y", b"N")


def _is_timestamp(value: bytes) -> bool:
    return parse_utc_timestamp(value) is not None


def _is_date(value: bytes) -> bool:
    match = _DATE_RE.fullmatch(value)
    if match is None:
        return False
    year, month, day = int(match[1]), int(match[2]), int(match[3])
    if not 1 <= month <= 12 or not 1 <= day <= _DAYS_IN_MONTH[month]:
        return False
    leap = year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)
    return month != 2 or day <= 28 + leap


def _is_time(value: bytes) -> bool:
    match = _TIME_RE.fullmatch(value)
    return match is not None and int(match[1]) <= 23 and int(match[2]) <= 59 and int(match[3]) <= 60


def _is_month_year(value: bytes) -> bool:
    if _MONTH_YEAR_RE.fullmatch(value) is None:
        return False
    return len(value) != 8 or _is_date(value)


def _is_day_of_month(value: bytes) -> bool:
    return value.isdigit() and 1 <= int(value) <= 31


_FORMATS: dict[str, Callable[[bytes], bool]] = {
    "INT": _is_int,
    "LENGTH": _is_unsigned,
    "NUMINGROUP": _is_unsigned,
    "SEQNUM": _is_unsigned,
    "DAYOFMONTH": _is_day_of_month,
    "FLOAT": _is_float,
    "PRICE": _is_float,
    "QTY": _is_float,
    "AMT": _is_float,
    "PRICEOFFSET": _is_float,
    "PERCENTAGE": _is_float,
    "CHAR": _is_char,
    "BOOLEAN": _is_boolean,
    "UTCTIMESTAMP": _is_timestamp,
    "TIME": _is_timestamp,
    "UTCTIMEONLY": _is_time,
    "UTCDATEONLY": _is_date,
    "UTCDATE": _is_date,
    "DATE": _is_date,
    "LOCALMKTDATE": _is_date,
    "MONTHYEAR": _is_month_year,
}

# (format check or None, enum values or None, multiple-value string)
_Rule = tuple[Callable[[bytes], bool] | None, frozenset[bytes] | None, bool]


@functools.lru_cache(maxsize=16)
def _rules(d: Dictionary) -> dict[int, _Rule]:
    return {
        tag: (
            _FORMATS.get(f.type),
            f.values,
            f.type in ("MULTIPLEVALUESTRING", "MULTIPLECHARVALUE"),
        )
        for tag, f in d.fields.items()
    }


def _check(rules: dict[int, _Rule], tag: int, value: bytes) -> SessionRejectInfo | None:
    if not value:
        return _reject(TAG_SPECIFIED_WITHOUT_A_VALUE, tag)
    rule = rules.get(tag)
    if rule is None:
        return _reject(INVALID_TAG_NUMBER, tag)
    check, values, multi = rule
    if check is not None and not check(value):
        return _reject(INCORRECT_DATA_FORMAT, tag)
    if (
        values is not None
        and value not in values
        and (not multi or not all(v in values for v in value.split(b" ")))
    ):
        return _reject(VALUE_IS_INCORRECT, tag)
    return None


def check_value(d: Dictionary, tag: int, value: bytes) -> SessionRejectInfo | None:
    """Check one field value alone: empty (4), undefined tag (0), format (6), enum (5)."""
    return _check(_rules(d), tag, value)


# --- structure ----------------------------------------------------------------------------


def _sections(msg: FixMessage, d: Dictionary) -> tuple[int, int] | SessionRejectInfo:
    """Indices (body_start, trailer_start) of ``msg.fields``, or the out-of-order Reject."""
    fields = msg.fields
    header_tags = d.header.all_tags
    trailer_tags = d.trailer.all_tags
    last = len(fields) - 1  # CheckSum, always last (the codec guarantees it)
    i = 3  # 8, 9, 35 come first (the codec guarantees it)
    while i < last and fields[i][0] in header_tags:
        i += 1
    body_start = i
    trailer_start = last
    while i < last:
        tag = fields[i][0]
        if tag in trailer_tags:
            if trailer_start == last:
                trailer_start = i
        elif tag in header_tags or trailer_start != last:
            return _reject(TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, tag)
        i += 1
    return body_start, trailer_start


@dataclass(frozen=True, slots=True)
class SplitMessage:
    """A message cut into its sections. Header and trailer by tag (first occurrence)."""

    header: dict[int, bytes]
    body: list[tuple[int, bytes]]
    trailer: dict[int, bytes]


def split_message(msg: FixMessage, d: Dictionary) -> SplitMessage:
    """Header, body (wire order, groups flat) and trailer of ``msg``.

    Pure helper for the session; a header field that turns up after the body starts (which
    ``validate`` rejects with 14) is put in the header anyway.
    """
    fields = msg.fields
    header_tags = d.header.all_tags
    trailer_tags = d.trailer.all_tags
    header: dict[int, bytes] = {}
    trailer: dict[int, bytes] = {}
    body: list[tuple[int, bytes]] = []
    in_body = False
    for tag, value in fields:
        if tag in header_tags and (not in_body or tag not in header):
            header.setdefault(tag, value)
        elif tag in trailer_tags:
            trailer.setdefault(tag, value)
        else:
            in_body = True
            body.append((tag, value))
    return SplitMessage(header=header, body=body, trailer=trailer)


def _count(value: bytes) -> int:
    """NumInGroup value (already format-checked); absurd lengths count as -1 (never matches)."""
    return int(value) if value.isdigit() and len(value) <= 9 else -1


def _read_group(
    fields: list[tuple[int, bytes]],
    i: int,
    end: int,
    group: GroupDef,
    count: int,
    *,
    rules: dict[int, _Rule],
) -> tuple[int, SessionRejectInfo | None]:
    """Read the instances of ``group`` from ``fields[i:end]``; return where it stopped."""
    delimiter = group.delimiter
    members = group.tags
    instances = 0
    while i < end:
        tag, value = fields[i]
        if tag != delimiter:
            if instances == 0 and tag in members:
                return i, _reject(REPEATING_GROUP_FIELDS_OUT_OF_ORDER, tag)
            break
        instances += 1
        seen = {tag}
        error = _check(rules, tag, value)
        if error is not None:
            return i, error
        i += 1
        while i < end:
            tag, value = fields[i]
            if tag == delimiter or tag not in members:
                break
            if tag in seen:
                return i, _reject(TAG_APPEARS_MORE_THAN_ONCE, tag)
            seen.add(tag)
            error = _check(rules, tag, value)
            if error is not None:
                return i, error
            i += 1
            nested = group.groups.get(tag)
            if nested is not None:
                i, error = _read_group(fields, i, end, nested, _count(value), rules=rules)
                if error is not None:
                    return i, error
        for tag in group.required:
            if tag not in seen:
                return i, _reject(REQUIRED_TAG_MISSING, tag)
    if instances != count:
        return i, _reject(INCORRECT_NUM_IN_GROUP_COUNT, group.count_tag)
    return i, None


@dataclass(frozen=True, slots=True)
class _Section:
    """Precomputed checks of one section: tags needing no check, rules of the others."""

    plain: frozenset[int]  # allowed tags of types without format or enum (STRING, DATA, ...)
    rules: dict[int, _Rule]  # allowed tags that need a format or enum check
    groups: Mapping[int, GroupDef]
    required: tuple[int, ...]


@dataclass(frozen=True, slots=True)
class _Plan:
    rules: dict[int, _Rule]
    header: _Section
    trailer: _Section
    messages: dict[bytes, _Section]


def _section(rules: dict[int, _Rule], mdef: MessageDef) -> _Section:
    plain = frozenset(t for t in mdef.tags if rules[t] == (None, None, False))
    return _Section(
        plain=plain,
        rules={t: rules[t] for t in mdef.tags if t not in plain},
        groups=mdef.groups,
        required=mdef.required,
    )


@functools.lru_cache(maxsize=16)
def _plan(d: Dictionary) -> _Plan:
    rules = _rules(d)
    return _Plan(
        rules=rules,
        header=_section(rules, d.header),
        trailer=_section(rules, d.trailer),
        messages={mt: _section(rules, mdef) for mt, mdef in d.messages.items()},
    )


def _walk(
    fields: list[tuple[int, bytes]],
    start: int,
    end: int,
    section: _Section,
    rules: dict[int, _Rule],
) -> SessionRejectInfo | None:
    """Field-by-field checks of one section, reading its repeating groups."""
    seen: set[int] = set()
    plain = section.plain
    section_rules = section.rules
    groups = section.groups
    i = start
    while i < end:
        tag, value = fields[i]
        i += 1
        if tag in seen:
            return _reject(TAG_APPEARS_MORE_THAN_ONCE, tag)
        seen.add(tag)
        if tag in plain and value:
            continue
        rule = section_rules.get(tag)
        if rule is None or not value:
            # Empty (4), undefined (0), bad format (6) or enum (5), else not for this type (2).
            return _check(rules, tag, value) or _reject(TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, tag)
        check, values, multi = rule
        if check is not None and not check(value):
            return _reject(INCORRECT_DATA_FORMAT, tag)
        if (
            values is not None
            and value not in values
            and (not multi or not all(v in values for v in value.split(b" ")))
        ):
            return _reject(VALUE_IS_INCORRECT, tag)
        if groups:
            group = groups.get(tag)
            if group is not None:
                i, error = _read_group(fields, i, end, group, _count(value), rules=rules)
                if error is not None:
                    return error
    return None


def validate(msg: FixMessage, d: Dictionary) -> SessionRejectInfo | None:
    """The first reason to reject ``msg`` with a session Reject (35=3), or None if it is valid.

    BeginString, CompIDs, MsgSeqNum, SendingTime accuracy and PossDup rules are the session's.
    """
    msg_type = msg.msg_type
    if msg_type not in d.msg_types:
        return _reject(INVALID_MSG_TYPE, None)
    sections = _sections(msg, d)
    if isinstance(sections, SessionRejectInfo):
        return sections
    body_start, trailer_start = sections
    fields = msg.fields
    last = len(fields) - 1
    plan = _plan(d)
    body = plan.messages.get(msg_type)

    # Required tags: header, then body, then trailer (each ascending, as QuickFIX).
    present = {tag for tag, _ in fields[:body_start]}
    for tag in plan.header.required:
        if tag not in present:
            return _reject(REQUIRED_TAG_MISSING, tag)
    if body is not None and body.required:
        present = {tag for tag, _ in fields[body_start:trailer_start]}
        for tag in body.required:
            if tag not in present:
                return _reject(REQUIRED_TAG_MISSING, tag)

    rules = plan.rules
    # Header fields (8, 9 and 35 were read by the codec; their formats are checked there).
    error = _walk(fields, 3, body_start, plan.header, rules)
    if error is not None:
        return error
    if body is not None:
        error = _walk(fields, body_start, trailer_start, body, rules)
        if error is not None:
            return error
    return _walk(fields, trailer_start, last, plan.trailer, rules)


def group_instances(msg: FixMessage, count_tag: int, d: Dictionary) -> list[dict[int, bytes]]:
    """Instances of the top-level repeating group ``count_tag`` of a valid message.

    Each instance maps tag -> value (nested groups are flattened into it, first value wins).
    Returns [] if the message or group is not defined or absent.
    """
    mdef = d.messages.get(msg.msg_type)
    if mdef is None or count_tag not in mdef.groups:
        return []
    group = mdef.groups[count_tag]
    fields = msg.fields
    try:
        i = next(k for k, (tag, _) in enumerate(fields) if tag == count_tag) + 1
    except StopIteration:
        return []
    instances: list[dict[int, bytes]] = []
    allowed = group.all_tags
    while i < len(fields):
        tag, value = fields[i]
        if tag == group.delimiter:
            instances.append({tag: value})
        elif tag in allowed and instances:
            instances[-1].setdefault(tag, value)
        else:
            break
        i += 1
    return instances
