"""A parsed inbound FIX message: its fields, its shape, and the bytes thrown away as garbled.

Invariants:
- ``FixMessage.fields`` holds every field in wire order, 8 through 10; ``get`` gives the value of
  a tag's first occurrence, ``get_all`` every occurrence in wire order.
- A message read by the codec's fast parse carries its ``Shape`` (the tag sequence shared by
  every message framed alike, made once) and its values in wire order followed by a None
  sentinel; ``fields`` and the tag index are then made only on first use.
- ``FixMessage.pick(tags)`` gives exactly ``get`` of each tag. For a message of a unique shape
  it reads the values list (the sentinel is the value of any tag the shape lacks) with one
  per-shape ``operator.itemgetter``, and no tag index is made; at most ``_MAX_PICKERS`` getters
  are kept per shape.
- Messages compare and hash by their raw bytes; ``Garbled`` by (raw, reason).
"""

from __future__ import annotations

import operator
import re
from collections.abc import Callable
from typing import Any

__all__ = ["SOH", "FixMessage", "Garbled", "Shape"]

SOH = b"\x01"
_MAX_INT_DIGITS = 18
_MAX_PICKERS = 16  # `Shape.picker`s remembered per shape (callers pass a few constant tuples)
_INT_RE = re.compile(rb"-?[0-9]{1,%d}" % _MAX_INT_DIGITS)


class Shape:
    """The tag sequence (and MsgType) shared by every message framed alike, made once.

    ``tags`` is the wire order of tags, 8 through 10; ``unique`` says no tag repeats. ``memo``
    holds what consumers derive from a shape once (``validate`` keys its checks by dictionary)
    and is never iterated; ``pickers`` the ``FixMessage.pick`` getters, at most
    ``_MAX_PICKERS``. Shapes are only made for frames whose fields are all plain ``tag=value``
    (no data field, no ``=`` in a value), so values are the text between separators.
    """

    __slots__ = ("memo", "msg_type", "pickers", "tags", "template", "unique")

    def __init__(self, tags: tuple[int, ...], msg_type: bytes) -> None:
        self.tags = tags
        self.msg_type = msg_type
        self.unique = len(set(tags)) == len(tags)
        self.memo: dict[object, object] = {}
        # A message's tag index starts as a copy of this (sized once, never resized) and takes
        # its values by update: cheaper than growing a new dict pair by pair.
        self.template: dict[int, bytes] = dict.fromkeys(tags, b"") if self.unique else {}
        self.pickers: dict[tuple[int, ...], Callable[[list[bytes | None]], tuple[Any, ...]]] = {}

    def picker(
        self, tags: tuple[int, ...]
    ) -> Callable[[list[bytes | None]], tuple[bytes | None, ...]]:
        """For a unique shape: one C call that takes ``tags``' values out of a message's values
        list (which ends with a None sentinel, the value of every tag the shape lacks).
        Remembered per tag tuple (callers pass constants), at most ``_MAX_PICKERS``."""
        pick = self.pickers.get(tags)
        if pick is None:
            where = {tag: i for i, tag in enumerate(self.tags)}
            absent = len(self.tags)  # the sentinel's place
            pick = operator.itemgetter(*[where.get(tag, absent) for tag in tags])
            if len(self.pickers) < _MAX_PICKERS:
                self.pickers[tags] = pick
        return pick


class FixMessage:
    """One parsed inbound message. ``fields`` holds every field in wire order, 8 through 10.

    A message from the fast parse carries its ``shape`` and its values in wire order (then a
    None sentinel); its ``fields`` list is then made on first use. ``shape`` is None for any
    other message.
    """

    __slots__ = ("_fields", "_index", "_values", "msg_type", "raw", "shape")

    def __init__(
        self,
        raw: bytes,
        fields: list[tuple[int, bytes]] | None,
        msg_type: bytes,
        shape: Shape | None = None,
        values: list[bytes | None] | None = None,
    ) -> None:
        self.raw = raw
        self._fields = fields
        self.msg_type = msg_type
        self.shape = shape
        self._values = values
        self._index: dict[int, bytes] | None = None

    @property
    def fields(self) -> list[tuple[int, bytes]]:
        fields = self._fields
        if fields is None:
            assert self.shape is not None and self._values is not None
            # zip stops at the last tag, before the values' None sentinel (so no strict=;
            # the keyword alone costs ~25% of the zip).
            fields = self._fields = list(zip(self.shape.tags, self._values))  # type: ignore[arg-type]  # noqa: B905
        return fields

    def _lookup(self) -> dict[int, bytes]:
        index = self._index
        if index is None:
            shape = self.shape
            if shape is not None and shape.unique:
                index = self._index = shape.template.copy()
                # zip stops before the values' None sentinel (no strict=: see `fields`).
                index.update(zip(shape.tags, self._values or ()))  # type: ignore[arg-type]  # noqa: B905
            else:
                # Later duplicates are overwritten by earlier ones: first occurrence wins.
                index = self._index = dict(reversed(self.fields))
        return index

    def by_tag(self) -> dict[int, bytes]:
        """Tag -> value of its first occurrence: the index ``get`` reads (never modify it)."""
        return self._index if self._index is not None else self._lookup()

    def pick(self, tags: tuple[int, ...]) -> tuple[bytes | None, ...]:
        """The values of ``tags`` (two or more), each as ``get`` gives it: one C call for a
        message parsed by a unique shape (no tag index made), else read from the index."""
        shape = self.shape
        if shape is not None and shape.unique and self._values is not None:
            pick = shape.pickers.get(tags)
            if pick is None:
                pick = shape.picker(tags)
            return pick(self._values)
        return tuple(map(self.by_tag().get, tags))

    def get(self, tag: int, default: bytes | None = None) -> bytes | None:
        """Value of the first occurrence of ``tag``, else ``default``."""
        index = self._index
        if index is None:
            index = self._lookup()
        return index.get(tag, default)

    def get_int(self, tag: int) -> int | None:
        """Integer value of ``tag``; None if absent or not a plain (optionally negative) integer."""
        index = self._index
        if index is None:
            index = self._lookup()
        value = index.get(tag)
        if value is None:
            return None
        if value.isdigit() and len(value) <= _MAX_INT_DIGITS:
            return int(value)
        if _INT_RE.fullmatch(value) is None:
            return None
        return int(value)

    def get_all(self, tag: int) -> list[bytes]:
        """Values of every occurrence of ``tag`` in wire order (repeating groups)."""
        return [value for t, value in self.fields if t == tag]

    def __contains__(self, tag: object) -> bool:
        return tag in self._lookup()

    def __repr__(self) -> str:
        return f"FixMessage({self.raw.replace(SOH, b'|')!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, FixMessage) and other.raw == self.raw

    def __hash__(self) -> int:
        return hash(self.raw)


class Garbled:
    """Bytes that could not be framed or parsed. FIX 4.4: ignore them; the session goes on."""

    __slots__ = ("raw", "reason")

    def __init__(self, raw: bytes, reason: str) -> None:
        self.raw = raw
        self.reason = reason

    def __repr__(self) -> str:
        return f"Garbled({self.reason!r}, {self.raw[:80]!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, Garbled) and (other.raw, other.reason) == (self.raw, self.reason)

    def __hash__(self) -> int:
        return hash((self.raw, self.reason))
