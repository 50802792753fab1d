"""Validation of a parsed inbound message against the dictionary (session-level Reject 35=3).

Invariants:
- ``validate`` is pure: same message and dictionary, same answer. It returns None or the
  first problem found as ``SessionRejectInfo(reason, ref_tag, text)``; the session turns it
  into Reject (35=3) with SessionRejectReason (373), RefTagID (371, omitted when None) and
  Text (58), adding RefSeqNum (45) and RefMsgType (372) itself.
- Checks run in QuickFIX's order, which the conformance scripts expect when one message has
  one problem: MsgType unknown (11, no RefTagID); header/body/trailer order (14, the first
  field found out of its section); required tags missing (1: header, then body, each
  ascending; CheckSum is always there); then the first problem field by field in wire
  order: repeated tag (13), empty value (4), bad data format (6; a SeqNum of more than
  `MAX_SEQNUM_DIGITS` digits is one, its Text says so), value not in the enum (5),
  undefined tag (0), tag not defined for this message type (2); repeating groups are read
  with the dictionary's group definitions: an instance missing a required member (1),
  members before the delimiter (15), and an instance count different from NumInGroup (16,
  RefTagID = the count tag).
- A standard MsgType (an enum value of tag 35) that the dictionary does not define is checked
  for its header and trailer only and then passes: the application answers it with
  BusinessMessageReject 380=3 (Unsupported Message Type), not with a session Reject.
- ``validate_fields`` is the reference: one pass over the fields; per field one dict lookup
  of a precomputed (section, format check, enum set) entry for the message type, built once
  per dictionary.
- ``validate`` first tries the fast path and otherwise returns what ``validate_fields``
  returns. A message parsed by its ``Shape`` (codec) is checked by one regular expression
  over the raw frame made for that shape (from its third message on): the shape has passed
  every structural check (known tags, sections in order, no repeats, no groups, required
  tags present) and the pattern accepts, per field, only values the field's check accepts.
  A match is therefore a message ``validate_fields`` accepts; anything else (no match, no
  shape, a shape with a problem or a group) goes field by field, so every Reject reason and
  RefTagID is the reference's. Patterns are bounded (``_MAX_PATTERNS`` per dictionary).
"""

from __future__ import annotations

import functools
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass

from venue.fix.codec import FixMessage, Shape, parse_utc_timestamp
from venue.fix.dictionary import Dictionary, GroupDef, MessageDef

__all__ = [
    "INCORRECT_DATA_FORMAT",
    "INCORRECT_NUM_IN_GROUP_COUNT",
    "INVALID_MSG_TYPE",
    "INVALID_TAG_NUMBER",
    "MAX_SEQNUM_DIGITS",
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
    "make_validator",
    "split_message",
    "validate",
    "validate_fields",
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


MAX_SEQNUM_DIGITS = 18
_SEQNUM_TEXT = (
    f"Incorrect data format for value: a sequence number is at most {MAX_SEQNUM_DIGITS} digits"
)


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


def _is_seqnum(value: bytes) -> bool:
    """A sequence number: digits, at most `MAX_SEQNUM_DIGITS` of them (a signed 64-bit integer
    holds every such number; QuickFIX's integer conversion refuses larger ones the same way)."""
    return value.isdigit() and len(value) <= MAX_SEQNUM_DIGITS


def _bad_format(check: Callable[[bytes], bool], tag: int) -> SessionRejectInfo:
    """Reject 373=6 for a value `check` refused, its Text naming the problem."""
    if check is _is_seqnum:
        return SessionRejectInfo(INCORRECT_DATA_FORMAT, tag, _SEQNUM_TEXT)
    return _reject(INCORRECT_DATA_FORMAT, tag)


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
    "SEQNUM": _is_seqnum,
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
        return _bad_format(check, tag)
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


_HEADER, _BODY, _TRAILER = 0, 1, 2
# (section, format check or None, enum values or None, multiple-value string)
_Entry = tuple[int, Callable[[bytes], bool] | None, frozenset[bytes] | None, bool]


@dataclass(frozen=True, slots=True)
class _Layout:
    """Everything validation needs about one message type, built once per dictionary."""

    entries: dict[int, _Entry]  # every tag allowed at the top level: header, body, trailer
    groups: Mapping[int, GroupDef]  # body and header groups by count tag
    header_required: tuple[int, ...]
    body_required: tuple[int, ...]
    defined: bool  # False: a standard type the dictionary lacks (body left unchecked)


def _layout(d: Dictionary, rules: dict[int, _Rule], mdef: MessageDef | None) -> _Layout:
    entries: dict[int, _Entry] = {}
    for section, sdef in ((_TRAILER, d.trailer), (_BODY, mdef), (_HEADER, d.header)):
        if sdef is not None:
            for tag in sdef.tags:
                entries[tag] = (section, *rules[tag])
    groups = dict(d.header.groups)
    if mdef is not None:
        groups.update(mdef.groups)
    return _Layout(
        entries=entries,
        groups=groups,
        header_required=d.header.required,
        body_required=mdef.required if mdef is not None else (),
        defined=mdef is not None,
    )


@dataclass(frozen=True, slots=True)
class _Plan:
    rules: dict[int, _Rule]
    layouts: dict[bytes, _Layout]
    undefined: _Layout  # standard message types the dictionary does not define
    compiled: dict[bytes, FastCheck]  # fast-path patterns by their text (shared by shapes)


@functools.lru_cache(maxsize=16)
def _plan(d: Dictionary) -> _Plan:
    rules = _rules(d)
    return _Plan(
        rules=rules,
        layouts={mt: _layout(d, rules, mdef) for mt, mdef in d.messages.items()},
        undefined=_layout(d, rules, None),
        compiled={},
    )


# --- fast path ----------------------------------------------------------------------------

# Value patterns per FIX type: each accepts only values the type's check above accepts (never
# the empty value), so a message they match would pass the field-by-field checks. A value they
# do not match (a negative quantity, the 29th of February) just takes the slow path.
_DIGITS = rb"[0-9]+"
_FLOAT = rb"-?(?:[0-9]+(?:\.[0-9]*)?|\.[0-9]+)"
_FRACTION = rb"(?:\.[0-9]{3}|\.[0-9]{6}|\.[0-9]{9})?"
_MONTH_DAY = (
    rb"(?:(?:0[1-9]|1[0-2])(?:0[1-9]|1[0-9]|2[0-8])"
    rb"|(?:0[13-9]|1[0-2])(?:29|30)|(?:0[13578]|1[02])31)"
)
_DATE = rb"[0-9]{4}" + _MONTH_DAY
_TIME = rb"(?:[01][0-9]|2[0-3]):[0-5][0-9]:(?:[0-5][0-9]|60)" + _FRACTION
_PATTERNS: dict[str, bytes] = {
    "INT": rb"-?[0-9]+",
    **dict.fromkeys(("LENGTH", "NUMINGROUP"), _DIGITS),
    "SEQNUM": rb"[0-9]{1,%d}" % MAX_SEQNUM_DIGITS,
    "DAYOFMONTH": rb"0*(?:[1-9]|[12][0-9]|3[01])",
    **dict.fromkeys(("FLOAT", "PRICE", "QTY", "AMT", "PRICEOFFSET", "PERCENTAGE"), _FLOAT),
    "CHAR": rb"[^\x01]",
    "BOOLEAN": rb"[YN]",
    **dict.fromkeys(("UTCTIMESTAMP", "TIME"), _DATE + rb"-" + _TIME),
    "UTCTIMEONLY": _TIME,
    **dict.fromkeys(("UTCDATEONLY", "UTCDATE", "DATE", "LOCALMKTDATE"), _DATE),
    "MONTHYEAR": rb"[0-9]{4}(?:0[1-9]|1[0-2])",
}
_ANY_VALUE = rb"[^\x01]*"  # 8, 9, 35 and 10: the codec has checked them
_SOME_VALUE = rb"[^\x01]+"  # types without a format check: only not empty
_LEARN_AFTER = 3  # a shape gets its pattern at its third message (one-offs never do)
_MAX_PATTERNS = 1024  # compiled patterns per dictionary; then new shapes take the slow path

FastCheck = Callable[[bytes], object]


def _value_pattern(d: Dictionary, tag: int) -> bytes | None:
    field = d.fields[tag]
    check = _FORMATS.get(field.type)
    if field.values is not None:
        good = sorted(v for v in field.values if v and (check is None or check(v)))
        return b"(?:%s)" % b"|".join(re.escape(v) for v in good) if good else None
    pattern = _PATTERNS.get(field.type)
    if pattern is not None:
        return pattern
    return _SOME_VALUE if check is None else None


def _fast_pattern(shape: Shape, d: Dictionary, plan: _Plan) -> bytes | None:
    """One regular expression over the raw frame that matches exactly the messages of
    ``shape`` that ``validate`` accepts field by field, or None when the shape itself has a
    problem or a repeating group (those messages always take the field-by-field checks)."""
    msg_type = shape.msg_type
    layout = plan.layouts.get(msg_type)
    tags = shape.tags
    if layout is None or not shape.unique:
        return None
    present = frozenset(tags)
    if any(t not in present for t in layout.header_required + layout.body_required):
        return None
    pieces = [b"8=%s\x019=%s\x0135=%s\x01" % (_ANY_VALUE, _ANY_VALUE, re.escape(msg_type))]
    section = _HEADER
    for tag in tags[3:-1]:
        entry = layout.entries.get(tag)
        if entry is None or entry[0] < section or entry[0] == _TRAILER or tag in layout.groups:
            return None
        section = entry[0]
        value = _value_pattern(d, tag)
        if value is None:
            return None
        pieces.append(b"%d=%s\x01" % (tag, value))
    pieces.append(b"10=%s\x01" % _ANY_VALUE)
    return b"".join(pieces)


def _learn(shape: Shape, d: Dictionary) -> FastCheck | None:
    """The fast check of ``shape`` once it has been seen often enough, else None."""
    memo = shape.memo
    seen = memo.get(d, 0)
    if seen.__class__ is int and seen + 1 < _LEARN_AFTER:
        memo[d] = seen + 1
        return None
    plan = _plan(d)
    pattern = _fast_pattern(shape, d, plan) if len(plan.compiled) < _MAX_PATTERNS else None
    check: FastCheck | None = None
    if pattern is not None:
        check = plan.compiled.get(pattern)
        if check is None:
            check = plan.compiled[pattern] = re.compile(pattern).fullmatch
    memo[d] = check if check is not None else False
    return check


def validate(msg: FixMessage, d: Dictionary) -> SessionRejectInfo | None:
    """The first reason to reject ``msg`` with a session Reject (35=3), or None if it is valid.

    BeginString, CompIDs, MsgSeqNum, SendingTime accuracy and PossDup rules are the session's.
    One pass over the fields finds the sections (a field out of its section is returned at
    once), remembers the first field-level problem, and the required tags are checked after
    it, so the answer is the one QuickFIX gives: 11, then 14, then 1, then the first field.
    """
    return make_validator(d)(msg)


@functools.lru_cache(maxsize=8)
def make_validator(d: Dictionary) -> Callable[[FixMessage], SessionRejectInfo | None]:
    """``validate`` with the dictionary bound (one per dictionary, remembered): what a session
    calls once per inbound message (cheaper than ``functools.partial(validate, d=d)``, which
    builds a keyword dict every call)."""

    def check(msg: FixMessage) -> SessionRejectInfo | None:
        shape = msg.shape
        if shape is not None:
            # Fast path: the shape's one pattern (None/False: not learnt yet or not eligible).
            fast = shape.memo.get(d)
            if fast is None or fast.__class__ is int:
                fast = _learn(shape, d)
            if fast and fast(msg.raw) is not None:  # type: ignore[operator]
                return None
        return validate_fields(msg, d)

    return check


def validate_fields(msg: FixMessage, d: Dictionary) -> SessionRejectInfo | None:
    """``validate`` without its fast path: every check, field by field (the reference)."""
    msg_type = msg.msg_type
    if msg_type not in d.msg_types:
        return _reject(INVALID_MSG_TYPE, None)
    plan = _plan(d)
    layout = plan.layouts.get(msg_type) or plan.undefined
    entries = layout.entries
    rules = plan.rules
    fields = msg.fields
    last = len(fields) - 1  # CheckSum, always last (the codec guarantees it)
    seen = {8, 9, 35}  # the codec guarantees them first, in this order
    section = _HEADER
    first: SessionRejectInfo | None = None
    i = 3
    while i < last:
        tag, value = fields[i]
        i += 1
        entry = entries.get(tag)
        if entry is None:
            # Not allowed here: a body tag of another message, or an undefined one.
            if section == _TRAILER:
                return _reject(TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, tag)
            section = _BODY
            if first is None and layout.defined:
                first = _check(rules, tag, value) or _reject(TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, tag)
            continue
        where, check, values, multi = entry
        if where < section:
            return _reject(TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, tag)
        section = where
        if first is None:
            if tag in seen:
                first = _reject(TAG_APPEARS_MORE_THAN_ONCE, tag)
            elif not value:
                first = _reject(TAG_SPECIFIED_WITHOUT_A_VALUE, tag)
            elif check is not None and not check(value):
                first = _bad_format(check, tag)
            elif (
                values is not None
                and value not in values
                and (not multi or not all(v in values for v in value.split(b" ")))
            ):
                first = _reject(VALUE_IS_INCORRECT, tag)
        seen.add(tag)
        group = layout.groups.get(tag)
        if group is not None:
            if first is None:
                i, first = _read_group(fields, i, last, group, _count(value), rules=rules)
            if first is not None:  # skip what is left of the group: its fields are not top level
                members = group.all_tags
                while i < last and fields[i][0] in members:
                    i += 1
    for tag in layout.header_required:
        if tag not in seen:
            return _reject(REQUIRED_TAG_MISSING, tag)
    for tag in layout.body_required:
        if tag not in seen:
            return _reject(REQUIRED_TAG_MISSING, tag)
    return first


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
