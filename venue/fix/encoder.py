"""FIX frame encoding: CheckSum, ``encode`` and the per-session ``FrameEncoder``.

Invariants:
- ``encode`` writes the header in the standard order 8, 9, 35, 49, 56, 34, [43], 52, [122],
  extra header, body, 10, with exact BodyLength and a three-digit CheckSum. Values are bytes,
  written as given (the caller never passes SOH except inside data fields).
- ``FrameEncoder.frame`` writes exactly the bytes ``encode`` writes for the same frame (no
  PossDupFlag, OrigSendingTime or extra header), whether the body is a list of pairs or a
  ``Fields``; its caches (SendingTime per millisecond, one format per body layout, at most
  ``_MAX_BODY_FORMATS`` of each kind) only save work.
- A ``Fields`` is an immutable body: a ``Layout`` (its tags, made once and shared) and one
  value per tag; as a sequence it is exactly the list of (tag, value) pairs it stands for.
- ``checksum`` is the byte sum mod 256 of what it is given, whatever its length.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator, Sequence
from typing import overload

from venue.fix.timestamps import format_utc_timestamp

__all__ = [
    "CHECKSUM_CHUNK",
    "CHECKSUM_TEXT",
    "TRAILERS",
    "Fields",
    "FrameEncoder",
    "Layout",
    "checksum",
    "encode",
]

CHECKSUM_CHUNK = 256  # 256 * 255 + 1 < 65521: Adler-32's A is the exact byte sum + 1
_ADLER_ASCII_CHUNK = 515  # 515 * 127 + 1 < 65521: the same for ASCII bytes
# CheckSum text and trailer field for each byte sum mod 256.
CHECKSUM_TEXT = tuple(b"%03d" % i for i in range(256))
TRAILERS = tuple(b"10=%03d\x01" % i for i in range(256))


def checksum(data: bytes | bytearray | memoryview) -> int:
    """FIX CheckSum of ``data`` (every byte before ``10=``): byte sum mod 256.

    Adler-32's low half is 1 + (byte sum mod 65521); while the sum stays below 65521 it is
    exact: always for at most 256 bytes, and for at most 515 ASCII bytes (each below 128).
    zlib does the loop in C (~6x faster than ``sum(data)``).
    """
    n = len(data)
    if n <= CHECKSUM_CHUNK or (
        n <= _ADLER_ASCII_CHUNK and not isinstance(data, memoryview) and data.isascii()
    ):
        return ((zlib.adler32(data) & 0xFFFF) - 1) & 0xFF
    view = memoryview(data)
    total = 0
    for start in range(0, len(view), CHECKSUM_CHUNK):
        total += (zlib.adler32(view[start : start + CHECKSUM_CHUNK]) & 0xFFFF) - 1
    return total & 0xFF


def encode(
    msg_type: bytes,
    *,
    begin_string: bytes,
    sender: bytes,
    target: bytes,
    seq: int,
    sending_time: bytes,
    body: Sequence[tuple[int, bytes]],
    poss_dup: bool = False,
    orig_sending_time: bytes | None = None,
    extra_header: Sequence[tuple[int, bytes]] = (),
) -> bytes:
    """One complete outbound frame with BodyLength and CheckSum."""
    if poss_dup:
        head = b"35=%s\x0149=%s\x0156=%s\x0134=%d\x0143=Y\x0152=%s\x01" % (
            msg_type,
            sender,
            target,
            seq,
            sending_time,
        )
    else:
        head = b"35=%s\x0149=%s\x0156=%s\x0134=%d\x0152=%s\x01" % (
            msg_type,
            sender,
            target,
            seq,
            sending_time,
        )
    if orig_sending_time is not None:
        head += b"122=%s\x01" % orig_sending_time
    if extra_header:
        head += b"".join([b"%d=%s\x01" % field for field in extra_header])
    body_bytes = b"".join([b"%d=%s\x01" % field for field in body])
    prefix = b"8=%s\x019=%d\x01" % (begin_string, len(head) + len(body_bytes))
    total = checksum(prefix) + checksum(head) + checksum(body_bytes)
    return b"".join((prefix, head, body_bytes, b"10=%03d\x01" % (total & 0xFF)))


_MAX_BODY_FORMATS = 256  # body layouts (tag sequences) remembered per encoder


class Layout:
    """The tags of a body, in order, and the format of their values (``b"37=%s\x01..."``).

    Made once per kind of message (a module constant or ``Layout.of``), never per message: an
    encoder remembers its frame format per layout by identity, with no tuple to hash."""

    __slots__ = ("format", "tags")

    def __init__(self, tags: tuple[int, ...]) -> None:
        self.tags = tags
        self.format = b"".join([b"%d=%%s\x01" % tag for tag in tags])

    @classmethod
    def of(cls, tags: tuple[int, ...]) -> Layout:
        """The shared layout of ``tags`` (remembered, at most ``_MAX_BODY_FORMATS``)."""
        layout = _LAYOUTS.get(tags)
        if layout is None:
            layout = cls(tags)
            if len(_LAYOUTS) < _MAX_BODY_FORMATS:
                _LAYOUTS[tags] = layout
        return layout

    def __repr__(self) -> str:
        return f"Layout({self.tags!r})"


_LAYOUTS: dict[tuple[int, ...], Layout] = {}  # Layout.of's


class Fields(Sequence[tuple[int, bytes]]):
    """A body as its ``Layout`` and one value per tag (``len(values) == len(layout.tags)``).

    Reads as the list of (tag, value) pairs it stands for (iteration, indexing, ``len``,
    equality with such a list); ``FrameEncoder.frame`` writes it with one format of the
    values. Immutable, so one body can be sent to several sessions."""

    __slots__ = ("layout", "values")

    def __init__(self, layout: Layout, values: tuple[bytes, ...]) -> None:
        self.layout = layout
        self.values = values

    @classmethod
    def of(cls, pairs: Sequence[tuple[int, bytes]]) -> Fields:
        """The ``Fields`` of a list of pairs (its layout from ``Layout.of``)."""
        if not pairs:
            return cls(Layout.of(()), ())
        tags, values = zip(*pairs)  # noqa: B905 (pairs: equal lengths by construction)
        return cls(Layout.of(tags), values)

    def __len__(self) -> int:
        return len(self.values)

    def __iter__(self) -> Iterator[tuple[int, bytes]]:
        return zip(self.layout.tags, self.values)  # noqa: B905 (equal lengths)

    @overload
    def __getitem__(self, index: int) -> tuple[int, bytes]: ...

    @overload
    def __getitem__(self, index: slice) -> list[tuple[int, bytes]]: ...

    def __getitem__(self, index: int | slice) -> tuple[int, bytes] | list[tuple[int, bytes]]:
        if isinstance(index, slice):
            return list(self)[index]
        return self.layout.tags[index], self.values[index]

    def __eq__(self, other: object) -> bool:
        if isinstance(other, Fields):
            return self.layout.tags == other.layout.tags and self.values == other.values
        if isinstance(other, list | tuple):
            return list(self) == list(other)
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]  # equal to lists, which do not hash

    def __repr__(self) -> str:
        return f"Fields({list(self)!r})"


class FrameEncoder:
    """``encode`` for one session's ordinary frames, with its constant header parts made once.

    ``frame`` writes the same bytes as ``encode`` without PossDupFlag, OrigSendingTime and
    extra header fields. The header and the body's tags are one format string per body layout
    (its tag sequence; at most ``_MAX_BODY_FORMATS`` are kept, others are formatted field by
    field), so a frame is one format of the values; SendingTime is formatted once per
    millisecond.
    """

    __slots__ = ("_formats", "_head", "_layouts", "_ms", "_prefix", "_stamp")

    def __init__(self, *, begin_string: bytes, sender: bytes, target: bytes) -> None:
        def literal(value: bytes) -> bytes:
            return value.replace(b"%", b"%%")

        self._prefix = b"8=%s\x019=%%d\x01" % literal(begin_string)
        self._head = b"35=%%s\x0149=%s\x0156=%s\x0134=%%d\x0152=%%s\x01" % (
            literal(sender),
            literal(target),
        )
        self._formats: dict[tuple[int, ...], bytes] = {}
        self._layouts: dict[Layout, bytes] = {}
        self._ms = -1
        self._stamp = b""

    def sending_time(self, now_ns: int) -> bytes:
        """``format_utc_timestamp(now_ns)``, formatted once per millisecond."""
        ms = now_ns // 1_000_000
        if ms != self._ms:
            self._stamp = format_utc_timestamp(now_ns)
            self._ms = ms
        return self._stamp

    def frame(
        self, msg_type: bytes, seq: int, now_ns: int, body: Sequence[tuple[int, bytes]]
    ) -> bytes:
        """One complete frame: header, ``body`` fields in order, BodyLength and CheckSum."""
        ms = now_ns // 1_000_000
        if ms != self._ms:
            self._stamp = format_utc_timestamp(now_ns)
            self._ms = ms
        if type(body) is Fields:
            fmt = self._layouts.get(body.layout)
            if fmt is None:
                fmt = self._head + body.layout.format
                if len(self._layouts) < _MAX_BODY_FORMATS:
                    self._layouts[body.layout] = fmt
            inner = fmt % ((msg_type, seq, self._stamp) + body.values)  # noqa: RUF005 (faster)
        elif body:
            # Pairs; a strict= keyword alone would cost ~30% of the unzip.
            tags, values = zip(*body)  # noqa: B905
            fmt = self._formats.get(tags)
            if fmt is None and len(self._formats) < _MAX_BODY_FORMATS:
                fmt = self._head + b"".join([b"%d=%%s\x01" % tag for tag in tags])
                self._formats[tags] = fmt
            if fmt is not None:
                inner = fmt % (msg_type, seq, self._stamp, *values)
            else:
                inner = self._head % (msg_type, seq, self._stamp) + b"".join(
                    [b"%d=%s\x01" % field for field in body]
                )
        else:
            inner = self._head % (msg_type, seq, self._stamp)
        data = self._prefix % len(inner) + inner
        if len(data) <= _ADLER_ASCII_CHUNK and data.isascii():  # checksum() inlined
            return data + TRAILERS[((zlib.adler32(data) & 0xFFFF) - 1) & 0xFF]
        return data + TRAILERS[checksum(data)]
