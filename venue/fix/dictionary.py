"""The venue's FIX dictionary (``fix_specs/FIX44.xml``, QuickFIX DataDictionary XML) in memory.

Invariants:
- Loaded once (stdlib ``xml.etree``) into immutable lookups: field number <-> name and type,
  enum values per field, and per message type (and for the header and trailer) the tags
  allowed at the top level, the required ones, and the repeating groups (count tag ->
  delimiter, member tags, required members, nested groups), all as frozensets/tuples/dicts,
  so validation on the hot path is set and dict lookups only.
- Components are expanded in place. A field is required in a message only if it is marked
  required and so is every component around it (QuickFIX semantics); inside a group the same
  rule applies relative to the group.
- The delimiter of a group is its first member (after expanding components).
- ``msg_types`` is the whole MsgType (35) enum: every standard FIX 4.4 message type, defined
  by the venue or not. ``messages`` holds only those the venue defines.
- ``data_fields`` pairs every DATA field with the LENGTH field that precedes it (by name:
  ``X`` <- ``XLen``/``XLength``), which the codec uses to read values containing SOH.
- Loading fails loudly (``DictionaryError``) on anything inconsistent: unknown field or
  component name, duplicate number, a group without members.
"""

from __future__ import annotations

import functools
import xml.etree.ElementTree as ET
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

__all__ = [
    "DEFAULT_PATH",
    "Dictionary",
    "DictionaryError",
    "FieldDef",
    "GroupDef",
    "MessageDef",
    "load_dictionary",
]

_REPO_COPY = Path(__file__).resolve().parents[2] / "fix_specs" / "FIX44.xml"
_WHEEL_COPY = Path(__file__).resolve().parents[1] / "fix_specs" / "FIX44.xml"  # force-included
DEFAULT_PATH = _REPO_COPY if _REPO_COPY.is_file() else _WHEEL_COPY

HEADER = b"header"
TRAILER = b"trailer"


class DictionaryError(ValueError):
    """The dictionary XML is not a consistent QuickFIX DataDictionary."""


@dataclass(frozen=True, slots=True)
class FieldDef:
    """One field: number, name, FIX type and (if enumerated) the allowed values."""

    number: int
    name: str
    type: str
    values: frozenset[bytes] | None
    value_names: Mapping[bytes, str]


@dataclass(frozen=True, slots=True)
class GroupDef:
    """A repeating group: NumInGroup tag, delimiter and members (one level; nested apart)."""

    count_tag: int
    name: str
    delimiter: int
    order: tuple[int, ...]  # direct members in dictionary order, delimiter first
    tags: frozenset[int]  # direct members, nested count tags included
    required: tuple[int, ...]  # required direct members, ascending
    groups: Mapping[int, GroupDef]  # nested groups by count tag
    all_tags: frozenset[int]  # every tag inside, at any depth


@dataclass(frozen=True, slots=True)
class MessageDef:
    """A message body (or the header or trailer): its top-level tags, required ones, groups."""

    msg_type: bytes  # b"header" / b"trailer" for those sections
    name: str
    category: str  # "admin", "app" or "" for header/trailer
    order: tuple[int, ...]  # top-level tags in dictionary order
    tags: frozenset[int]  # top-level tags, group count tags included
    required: tuple[int, ...]  # required top-level tags, ascending
    groups: Mapping[int, GroupDef]
    all_tags: frozenset[int]  # every tag the section may carry, at any depth


class Dictionary:
    """Read-only lookups over one FIX dictionary."""

    __slots__ = (
        "begin_string",
        "data_fields",
        "fields",
        "header",
        "messages",
        "msg_types",
        "path",
        "tags_by_name",
        "trailer",
    )

    def __init__(
        self,
        *,
        path: Path | None,
        begin_string: bytes,
        fields: Mapping[int, FieldDef],
        header: MessageDef,
        trailer: MessageDef,
        messages: Mapping[bytes, MessageDef],
    ) -> None:
        self.path = path
        self.begin_string = begin_string
        self.fields = fields
        self.tags_by_name = {f.name: f.number for f in fields.values()}
        self.header = header
        self.trailer = trailer
        self.messages = messages
        msg_type_field = fields.get(35)
        self.msg_types: frozenset[bytes] = (
            msg_type_field.values
            if msg_type_field is not None and msg_type_field.values is not None
            else frozenset(messages)
        ) | frozenset(messages)
        self.data_fields = _data_fields(fields)

    def tag(self, name: str) -> int:
        """Field number of ``name`` (KeyError if unknown)."""
        return self.tags_by_name[name]

    def name(self, tag: int) -> str | None:
        """Field name of ``tag``, or None if undefined."""
        field = self.fields.get(tag)
        return None if field is None else field.name

    def message(self, msg_type: bytes) -> MessageDef | None:
        """Definition of ``msg_type`` if the venue defines it."""
        return self.messages.get(msg_type)

    def is_known_msg_type(self, msg_type: bytes) -> bool:
        """True for any standard MsgType (an enum value of tag 35), defined here or not."""
        return msg_type in self.msg_types

    def is_admin(self, msg_type: bytes) -> bool:
        """True for session-level message types (msgcat='admin')."""
        mdef = self.messages.get(msg_type)
        return mdef is not None and mdef.category == "admin"

    def __repr__(self) -> str:
        return f"Dictionary({self.begin_string!r}, {len(self.messages)} messages, path={self.path})"


def _data_fields(fields: Mapping[int, FieldDef]) -> dict[int, int]:
    by_name = {f.name: f for f in fields.values()}
    pairs: dict[int, int] = {}
    for field in fields.values():
        if field.type != "DATA":
            continue
        for suffix in ("Len", "Length"):
            length = by_name.get(field.name + suffix)
            if length is not None and length.type == "LENGTH":
                pairs[field.number] = length.number
                break
        else:
            length_field = fields.get(field.number - 1)
            if length_field is not None and length_field.type == "LENGTH":
                pairs[field.number] = length_field.number
    return pairs


class _Builder:
    def __init__(self, root: ET.Element) -> None:
        self.fields: dict[int, FieldDef] = {}
        self.by_name: dict[str, int] = {}
        fields_el = root.find("fields")
        if fields_el is None:
            raise DictionaryError("no <fields> section")
        for el in fields_el.findall("field"):
            number_text, name, type_ = el.get("number"), el.get("name"), el.get("type")
            if number_text is None or name is None or type_ is None:
                raise DictionaryError(f"incomplete field definition {el.attrib}")
            number = int(number_text)
            if number in self.fields or name in self.by_name:
                raise DictionaryError(f"duplicate field {number} {name}")
            value_names = {
                (v.get("enum") or "").encode(): v.get("description") or ""
                for v in el.findall("value")
            }
            self.fields[number] = FieldDef(
                number=number,
                name=name,
                type=type_.upper(),
                values=frozenset(value_names) if value_names else None,
                value_names=value_names,
            )
            self.by_name[name] = number
        self.components: dict[str, ET.Element] = {}
        components_el = root.find("components")
        if components_el is not None:
            for el in components_el.findall("component"):
                self.components[el.get("name") or ""] = el

    def field_tag(self, name: str | None) -> int:
        if name is None or name not in self.by_name:
            raise DictionaryError(f"reference to undefined field {name!r}")
        return self.by_name[name]

    def collect(
        self,
        el: ET.Element,
        *,
        required_context: bool,
        order: list[int],
        required: list[int],
        groups: dict[int, GroupDef],
        depth: int = 0,
    ) -> None:
        """Expand the children of ``el`` (message, component or group) into one level."""
        if depth > 32:
            raise DictionaryError("components nest too deep (a cycle?)")
        for child in el:
            is_required = required_context and child.get("required", "N").upper() == "Y"
            if child.tag == "field":
                tag = self.field_tag(child.get("name"))
                order.append(tag)
                if is_required:
                    required.append(tag)
            elif child.tag == "group":
                tag = self.field_tag(child.get("name"))
                order.append(tag)
                if is_required:
                    required.append(tag)
                groups[tag] = self.group(child, depth + 1)
            elif child.tag == "component":
                name = child.get("name") or ""
                comp = self.components.get(name)
                if comp is None:
                    raise DictionaryError(f"reference to undefined component {name!r}")
                self.collect(
                    comp,
                    required_context=is_required,
                    order=order,
                    required=required,
                    groups=groups,
                    depth=depth + 1,
                )

    def group(self, el: ET.Element, depth: int) -> GroupDef:
        count_tag = self.field_tag(el.get("name"))
        order: list[int] = []
        required: list[int] = []
        groups: dict[int, GroupDef] = {}
        self.collect(
            el, required_context=True, order=order, required=required, groups=groups, depth=depth
        )
        if not order:
            raise DictionaryError(f"group {el.get('name')} has no members")
        all_tags = set(order)
        for nested in groups.values():
            all_tags |= nested.all_tags
        return GroupDef(
            count_tag=count_tag,
            name=el.get("name") or "",
            delimiter=order[0],
            order=tuple(order),
            tags=frozenset(order),
            required=tuple(sorted(set(required))),
            groups=groups,
            all_tags=frozenset(all_tags),
        )

    def section(self, el: ET.Element, msg_type: bytes, name: str, category: str) -> MessageDef:
        order: list[int] = []
        required: list[int] = []
        groups: dict[int, GroupDef] = {}
        self.collect(el, required_context=True, order=order, required=required, groups=groups)
        all_tags = set(order)
        for group in groups.values():
            all_tags |= group.all_tags
        return MessageDef(
            msg_type=msg_type,
            name=name,
            category=category,
            order=tuple(order),
            tags=frozenset(order),
            required=tuple(sorted(set(required))),
            groups=groups,
            all_tags=frozenset(all_tags),
        )


def parse_dictionary(xml_text: str | bytes, path: Path | None = None) -> Dictionary:
    """Build a ``Dictionary`` from QuickFIX DataDictionary XML text."""
    try:
        root = ET.fromstring(xml_text)
    except ET.ParseError as exc:
        raise DictionaryError(f"not XML: {exc}") from exc
    if root.tag != "fix":
        raise DictionaryError("root element is not <fix>")
    fix_type = root.get("type", "FIX")
    begin_string = f"{fix_type}.{root.get('major', '4')}.{root.get('minor', '4')}".encode()
    builder = _Builder(root)
    header_el, trailer_el, messages_el = (
        root.find("header"),
        root.find("trailer"),
        root.find("messages"),
    )
    if header_el is None or trailer_el is None or messages_el is None:
        raise DictionaryError("missing <header>, <trailer> or <messages>")
    header = builder.section(header_el, HEADER, "Header", "")
    trailer = builder.section(trailer_el, TRAILER, "Trailer", "")
    messages: dict[bytes, MessageDef] = {}
    for el in messages_el.findall("message"):
        msg_type = (el.get("msgtype") or "").encode()
        if not msg_type or msg_type in messages:
            raise DictionaryError(f"missing or duplicate msgtype in {el.attrib}")
        messages[msg_type] = builder.section(
            el, msg_type, el.get("name") or "", el.get("msgcat", "app")
        )
    return Dictionary(
        path=path,
        begin_string=begin_string,
        fields=builder.fields,
        header=header,
        trailer=trailer,
        messages=messages,
    )


@functools.lru_cache(maxsize=8)
def _load(path: Path) -> Dictionary:
    return parse_dictionary(path.read_bytes(), path)


def load_dictionary(path: str | Path | None = None) -> Dictionary:
    """Load (once per path; cached) the dictionary; default: the repo's fix_specs/FIX44.xml."""
    return _load(Path(path).resolve() if path is not None else DEFAULT_PATH)
