"""FIX tag=value codec: framing of a TCP byte stream, field parsing, encoding, timestamps.

Invariants:
- A frame is ``8=<BeginString>|9=<N>|<N bytes of body>10=<3 digits>|`` and nothing else: the
  first field is 8, the second 9, the body is exactly N bytes ending in SOH, the trailer
  CheckSum is three ASCII digits equal to the byte sum mod 256 of everything before it.
- ``Framer.feed`` accepts any split of the stream. It returns, in stream order, one
  ``FixMessage`` per good frame and one ``Garbled`` per stretch of bytes it had to throw away;
  every byte fed ends up in exactly one result or in the pending buffer, never twice.
- No allocation is ever sized from a claimed length: a BodyLength that would make the frame
  larger than ``max_message_size`` (and a pending buffer that outgrows it) yields ``Garbled``
  and sets ``overflowed``; the gateway then disconnects.
- Resynchronisation after garbage looks for the next ``8=FIX``. When BodyLength points at a
  spot that is not ``10=``, the bad frame runs to the next ``<SOH>10=...<SOH>`` at or after
  that spot (what QuickFIX does, and what conformance script 2m expects: a too-long frame
  swallows the next message), so both are ignored, as FIX 4.4 says for garbled messages.
- A good frame whose fields cannot be read (a tag that is not an integer, a field without
  ``=``, MsgType not the third field, a data field whose length disagrees) is ``Garbled`` too.
  Semantic problems (unknown tags, empty values, bad enums) are left to ``validate``.
- Data fields (RawData 96 and the other DATA types) are read by their preceding length field,
  so their values may contain SOH; the pairs come from the dictionary (default: FIX 4.4).
- Encoding (``encode``, ``FrameEncoder``, ``checksum``: ``venue.fix.encoder``) and timestamps
  (``venue.fix.timestamps``) live apart and are re-exported here, where callers import them.
- The fast ways give exactly what the general ones give: one whole frame per read skips the
  scan loop's partial-frame cases; a frame whose fields are all plain ``tag=value`` (its
  separators alternate ``=`` and SOH, so no value holds ``=`` and there is no data field) is
  read by its ``Shape`` (tag texts + MsgType -> tags, made once by the general rules). Shapes
  are kept only for frames of at most ``_MAX_SHAPE_FIELDS`` fields and at most
  ``_MAX_SHAPES`` per data-field table, never evicted: memory stays bounded whatever is sent,
  and a frame with a new shape beyond the bound is simply read field by field.
- The parsed message types (``FixMessage``, ``Shape``, ``Garbled``) live in
  ``venue.fix.message`` and are re-exported here.
"""

from __future__ import annotations

import functools
import re
import zlib
from collections.abc import Mapping

from venue.fix.encoder import (
    CHECKSUM_CHUNK,
    CHECKSUM_TEXT,
    TRAILERS,
    FrameEncoder,
    checksum,
    encode,
)
from venue.fix.message import SOH, FixMessage, Garbled, Shape
from venue.fix.timestamps import format_utc_timestamp, parse_utc_timestamp

__all__ = [
    "DEFAULT_DATA_FIELDS",
    "SOH",
    "FixMessage",
    "FrameEncoder",
    "Framer",
    "Garbled",
    "Shape",
    "checksum",
    "encode",
    "format_utc_timestamp",
    "parse_frame",
    "parse_utc_timestamp",
]

_SOH_INT = 1

# Data (type DATA) tag -> the LENGTH tag that must immediately precede it (FIX 4.4).
DEFAULT_DATA_FIELDS: Mapping[int, int] = {
    89: 93,  # Signature <- SignatureLength
    91: 90,  # SecureData <- SecureDataLen
    96: 95,  # RawData <- RawDataLength
    213: 212,  # XmlData <- XmlDataLen
    349: 348,  # EncodedIssuer
    351: 350,  # EncodedSecurityDesc
    353: 352,  # EncodedListExecInst
    355: 354,  # EncodedText
    357: 356,  # EncodedSubject
    359: 358,  # EncodedHeadline
    361: 360,  # EncodedAllocText
    363: 362,  # EncodedUnderlyingIssuer
    365: 364,  # EncodedUnderlyingSecurityDesc
    446: 445,  # EncodedListStatusText
    619: 618,  # EncodedLegIssuer
    622: 621,  # EncodedLegSecurityDesc
}

_MAX_BEGIN_STRING = 32  # "FIX.4.4", "FIXT.1.1": anything longer is garbage
_MAX_LENGTH_DIGITS = 9
_MAX_TAG_DIGITS = 10
_MAX_CHECKSUM = 16  # longest CheckSum value still read as one (bad) field
_RESYNC = b"8=FIX"
# Everything but "=" and SOH: deleting it leaves a frame's separators, "=\x01" per plain field.
_NOT_SEPARATORS = bytes(b for b in range(256) if b not in (0x01, 0x3D))
_PLAIN_FIELD = b"=\x01"
_MAX_SHAPE_FIELDS = 64  # longer messages are parsed field by field (and not remembered)
_MAX_SHAPES = 4096  # shapes remembered per data-field table; when full, new ones are not
_HEAD_RE = re.compile(
    rb"8=[^\x01]{0,%d}\x019=([0-9]{1,%d})\x01" % (_MAX_BEGIN_STRING, _MAX_LENGTH_DIGITS)
)

# Tag bytes -> int for the common tags; anything else goes through _slow_tag. Never grows.
_TAGS: dict[bytes, int] = {b"%d" % t: t for t in range(1, 10000)}
_TAG_RE = re.compile(rb"-?[0-9]{1,%d}" % _MAX_TAG_DIGITS)


def _slow_tag(text: bytes) -> int | None:
    if _TAG_RE.fullmatch(text) is None:
        return None
    return int(text)


class _Tables:
    """Per data-field table: tag text -> int for plain tags, and the shapes seen so far."""

    __slots__ = ("fast_tags", "shapes")

    def __init__(self, fast_tags: dict[bytes, int]) -> None:
        self.fast_tags = fast_tags
        self.shapes: dict[bytes, Shape | None] = {}

    def learn(self, key: bytes, texts: list[bytes]) -> Shape | None:
        """The shape of tag texts ``texts[:-1]`` and MsgType ``texts[-1]`` (None: not plain)."""
        get = self.fast_tags.get
        tags = [get(text) for text in texts[:-1]]
        shape: Shape | None = None
        if None not in tags and tags[:3] == [8, 9, 35] and tags[-1] == 10:
            shape = Shape(tuple(tags), texts[-1])  # type: ignore[arg-type]
        if len(self.shapes) < _MAX_SHAPES:
            self.shapes[key] = shape
        return shape


@functools.lru_cache(maxsize=8)
def _tables(length_tags: frozenset[int]) -> _Tables:
    """Tag text -> int for tags 1..9999 except the data-length tags (they need the slow path)."""
    return _Tables({text: tag for text, tag in _TAGS.items() if tag not in length_tags})


def parse_frame(
    raw: bytes, data_fields: Mapping[int, int] = DEFAULT_DATA_FIELDS
) -> FixMessage | Garbled:
    """Parse one complete frame (already delimited, BodyLength and CheckSum not re-checked).

    Returns ``Garbled`` if a field cannot be read or MsgType is not the third field.
    """
    if data_fields is DEFAULT_DATA_FIELDS:
        return _parse(raw, _DEFAULT_TABLES, data_fields)
    return _parse(raw, _tables(frozenset(data_fields.values())), data_fields)


_UNSEEN = Shape((), b"")


def _parse(raw: bytes, tables: _Tables, data_fields: Mapping[int, int]) -> FixMessage | Garbled:
    # Fast path: every field is plain tag=value (the separators alternate "=", SOH) and the
    # shape is known, so the values are what lies between separators and the tags come
    # from the shape.
    seps = raw.translate(None, _NOT_SEPARATORS)
    count = seps.count(_PLAIN_FIELD)
    if 3 < count <= _MAX_SHAPE_FIELDS and len(seps) == 2 * count and raw[-1] == _SOH_INT:
        flat = raw.replace(b"=", SOH).split(SOH)  # tag, value, ..., tag, value, b""
        texts = flat[0::2]
        texts[-1] = flat[5]
        key = SOH.join(texts)
        shape = tables.shapes.get(key, _UNSEEN)
        if shape is _UNSEEN:
            shape = tables.learn(key, texts)
        if shape is not None:
            values: list[bytes | None] = flat[1::2]  # type: ignore[assignment]
            values.append(None)  # the sentinel `Shape.picker` reads for an absent tag
            return FixMessage(raw, None, shape.msg_type, shape, values)
    parts = raw.split(SOH)
    if parts.pop() != b"":
        return Garbled(raw, "frame does not end with SOH")
    get = tables.fast_tags.get
    fields: list[tuple[int, bytes]] = []
    append = fields.append
    for part in parts:
        tag_text, sep, value = part.partition(b"=")
        tag = get(tag_text)
        if tag is None or not sep:
            # Unusual tag text, a missing '=' or a data-length field: read it all carefully.
            result = _parse_careful(raw, parts, data_fields)
            if isinstance(result, Garbled):
                return result
            fields = result
            break
        append((tag, value))
    if len(fields) < 4 or fields[0][0] != 8 or fields[1][0] != 9 or fields[-1][0] != 10:
        return Garbled(raw, "not a frame 8=...|9=...|...|10=...|")
    if fields[2][0] != 35:
        return Garbled(raw, "MsgType (35) is not the third field")
    return FixMessage(raw, fields, fields[2][1])


_DEFAULT_TABLES = _tables(frozenset(DEFAULT_DATA_FIELDS.values()))


def _parse_careful(
    raw: bytes, parts: list[bytes], data_fields: Mapping[int, int]
) -> list[tuple[int, bytes]] | Garbled:
    """Field by field, with integer-tag checks and data fields read by their length."""
    tags = _TAGS
    fields: list[tuple[int, bytes]] = []
    append = fields.append
    count = len(parts)
    i = 0
    while i < count:
        tag_text, sep, value = parts[i].partition(b"=")
        tag = tags.get(tag_text)
        if tag is None:
            tag = _slow_tag(tag_text)
            if tag is None:
                return Garbled(raw, f"field {i + 1} has no integer tag")
        if not sep:
            return Garbled(raw, f"field {i + 1} (tag {tag}) has no '='")
        if tag in data_fields and fields and fields[-1][0] == data_fields[tag]:
            length_text = fields[-1][1]
            if not length_text.isdigit() or len(length_text) > _MAX_LENGTH_DIGITS:
                return Garbled(raw, f"data length field {data_fields[tag]} is not a length")
            want = int(length_text)
            if len(value) < want:
                pieces = [value]
                have = len(value)
                while have < want and i + 1 < count:
                    i += 1
                    pieces.append(parts[i])
                    have += 1 + len(parts[i])
                value = SOH.join(pieces)
            if len(value) != want:
                return Garbled(raw, f"data field {tag} does not have the declared length {want}")
        append((tag, value))
        i += 1
    return fields


class Framer:
    """Cuts a TCP byte stream into ``FixMessage``/``Garbled`` results; keeps the partial tail."""

    __slots__ = (
        "_buf",
        "_data_fields",
        "_need",
        "_search_from",
        "_tables",
        "max_message_size",
        "overflowed",
    )

    def __init__(
        self,
        max_message_size: int = 65536,
        data_fields: Mapping[int, int] = DEFAULT_DATA_FIELDS,
    ) -> None:
        self.max_message_size = max_message_size
        self.overflowed = False
        self._data_fields = data_fields
        self._tables = _tables(frozenset(data_fields.values()))
        self._buf = bytearray()
        # Bytes the pending buffer must hold before a new scan can make progress.
        self._need = 0
        # When a bad BodyLength makes us look for the next "\x0110=": where to resume looking.
        self._search_from = 0

    @property
    def pending(self) -> int:
        """Number of bytes held back waiting for the rest of a frame."""
        return len(self._buf)

    def pending_bytes(self) -> bytes:
        """A copy of the bytes held back (diagnostics and tests)."""
        return bytes(self._buf)

    def feed(self, data: bytes) -> list[FixMessage | Garbled]:
        """Add bytes from the stream; return every result completed by them, in order."""
        if not self._buf and type(data) is bytes:
            # The usual read: exactly one whole frame, three-digit CheckSum, right length and
            # sum (the first check of `_scan`'s loop, without the loop). Anything else, a bad
            # CheckSum included, goes through `_scan`, which decides it from scratch.
            head = _HEAD_RE.match(data)
            if head is not None:
                body_end = head.end() + int(head[1])
                if (
                    len(data) == body_end + 7
                    and body_end <= CHECKSUM_CHUNK
                    and body_end + 7 <= self.max_message_size
                    and data[-1] == _SOH_INT
                    and data[body_end - 1] == _SOH_INT
                    and data.startswith(
                        TRAILERS[((zlib.adler32(data[:body_end]) & 0xFFFF) - 1) & 0xFF],
                        body_end,
                    )
                ):
                    self._need = 0
                    self._search_from = 0
                    return [_parse(data, self._tables, self._data_fields)]
        out: list[FixMessage | Garbled] = []
        buf: bytes | bytearray
        if self._buf:
            self._buf += data
            if len(self._buf) < self._need:
                if len(self._buf) > self.max_message_size:
                    self._overflow(out, bytes(self._buf), "pending bytes exceed max_message_size")
                    self._buf.clear()
                return out
            buf = self._buf
        else:
            if not data:
                return out
            buf = data
        pos = self._scan(buf, out)
        if buf is self._buf:
            del self._buf[:pos]
        elif pos < len(buf):
            self._buf = bytearray(buf[pos:])
        return out

    def _overflow(self, out: list[FixMessage | Garbled], raw: bytes, reason: str) -> None:
        self.overflowed = True
        self._need = 0
        self._search_from = 0
        out.append(Garbled(raw, reason))

    def _scan(self, buf: bytes | bytearray, out: list[FixMessage | Garbled]) -> int:
        """Consume complete frames and garbage from ``buf``; return where the tail starts."""
        n = len(buf)
        pos = 0
        max_size = self.max_message_size
        self._need = 0
        head_match = _HEAD_RE.match
        adler32 = zlib.adler32
        tables = self._tables
        data_fields = self._data_fields
        while pos < n:
            head = head_match(buf, pos)
            if head is not None:
                # The usual frame: complete, three-digit CheckSum, right length and sum. Any
                # other case goes the long way below, which decides it from scratch.
                body_end = head.end() + int(head[1])
                end = body_end + 6
                if (
                    end < n
                    and buf[end] == _SOH_INT
                    and buf[body_end - 1] == _SOH_INT
                    and end + 1 - pos <= max_size
                    and body_end - pos <= CHECKSUM_CHUNK
                    and buf.startswith(
                        TRAILERS[((adler32(buf[pos:body_end]) & 0xFFFF) - 1) & 0xFF], body_end
                    )
                ):
                    self._search_from = 0
                    out.append(_parse(bytes(buf[pos : end + 1]), tables, data_fields))
                    pos = end + 1
                    continue
            if head is not None:  # 8=...|9=<digits>| in one regex step
                body_start = head.end()
                end9 = body_start - 1
                body_end = body_start + int(head[1])
            else:
                if not buf.startswith(b"8=", pos):
                    start = buf.find(_RESYNC, pos)
                    if start < 0:
                        # Keep a tail that could still become "8=FIX" once more bytes arrive.
                        start = _resync_point(buf, pos)
                        if start > pos:
                            out.append(Garbled(bytes(buf[pos:start]), "no BeginString (8=FIX)"))
                        return start
                    out.append(Garbled(bytes(buf[pos:start]), "bytes before BeginString (8=FIX)"))
                    pos = start
                    continue
                # BeginString
                end8 = buf.find(SOH, pos + 2, pos + 2 + _MAX_BEGIN_STRING + 1)
                if end8 < 0:
                    if n - pos > 2 + _MAX_BEGIN_STRING:
                        pos = self._resync(buf, pos, out, "BeginString too long or unterminated")
                        continue
                    self._need = n - pos + 1
                    return pos
                # BodyLength must be the second field.
                p9 = end8 + 1
                if n < p9 + 2:
                    self._need = p9 + 2 - pos
                    return pos
                if buf[p9 : p9 + 2] != b"9=":
                    pos = self._resync(buf, pos, out, "BodyLength (9) is not the second field")
                    continue
                end9 = buf.find(SOH, p9 + 2, p9 + 2 + _MAX_LENGTH_DIGITS + 1)
                if end9 < 0:
                    if n - (p9 + 2) > _MAX_LENGTH_DIGITS:
                        pos = self._resync(buf, pos, out, "BodyLength is not a number")
                        continue
                    self._need = n - pos + 1
                    return pos
                length_text = buf[p9 + 2 : end9]
                if not length_text.isdigit():
                    pos = self._resync(buf, pos, out, "BodyLength is not a number")
                    continue
                body_start = end9 + 1
                body_end = body_start + int(length_text)
            if body_end + 7 - pos > max_size:
                self._overflow(out, bytes(buf[pos:body_start]), "BodyLength exceeds max size")
                pos = body_start
                continue
            if n < body_end + 4:  # not even "10=X" yet: nothing to decide
                self._need = body_end + 4 - pos
                return pos
            if buf.startswith(b"10=", body_end) and buf[body_end - 1] == _SOH_INT:
                if n >= body_end + 7 and buf[body_end + 6] == _SOH_INT:
                    end = body_end + 6
                else:  # a CheckSum that is not three digits: the frame still ends at SOH
                    end = buf.find(SOH, body_end + 3, body_end + 3 + _MAX_CHECKSUM + 1)
                    if end < 0:
                        if n - (body_end + 3) > _MAX_CHECKSUM:
                            pos = self._resync(buf, pos, out, "CheckSum unterminated")
                            continue
                        self._need = n - pos + 1
                        return pos
                if pos == 0 and end + 1 == n and type(buf) is bytes:
                    raw = buf  # the common case: one whole message in one read
                else:
                    raw = bytes(buf[pos : end + 1])
                self._search_from = 0
                cs = raw[body_end + 3 - pos : end - pos]
                summed = raw[: body_end - pos]
                pos = end + 1
                if len(summed) <= CHECKSUM_CHUNK:  # checksum() inlined for the usual size
                    total = ((zlib.adler32(summed) & 0xFFFF) - 1) & 0xFF
                else:
                    total = checksum(summed)
                if cs != CHECKSUM_TEXT[total]:
                    out.append(Garbled(raw, "CheckSum incorrect"))
                    continue
                out.append(_parse(raw, self._tables, self._data_fields))
                continue
            # BodyLength does not end on "10=": the bad frame runs through the next CheckSum.
            search_from = max(body_end - 1, end9, pos + self._search_from)
            k = buf.find(b"\x0110=", search_from)
            j = buf.find(SOH, k + 4) if k >= 0 else -1
            if j < 0:
                if n - pos > max_size:
                    self._overflow(out, bytes(buf[pos:n]), "no CheckSum within max size")
                    return n
                # Resume the search where it stopped (minus a partial "\x0110=" match).
                self._search_from = max(0, (k if k >= 0 else n - 3) - pos)
                self._need = n - pos + 1
                return pos
            self._search_from = 0
            out.append(Garbled(bytes(buf[pos : j + 1]), "BodyLength incorrect"))
            pos = j + 1
        return pos

    def _resync(
        self, buf: bytes | bytearray, pos: int, out: list[FixMessage | Garbled], reason: str
    ) -> int:
        """Drop the bad start at ``pos`` up to the next ``8=FIX``; the scan then goes on."""
        start = buf.find(_RESYNC, pos + 1)
        if start < 0:
            start = _resync_point(buf, pos + 1)
        out.append(Garbled(bytes(buf[pos:start]), reason))
        return start


def _resync_point(buf: bytes | bytearray, pos: int) -> int:
    """Where to cut garbage in ``buf[pos:]`` that holds no ``8=FIX``: before a tail that is a
    prefix of it (``8``, ``8=``, ``8=F``, ``8=FI``), which the next read may complete."""
    n = len(buf)
    for k in range(min(len(_RESYNC) - 1, n - pos), 0, -1):
        if buf[n - k :] == _RESYNC[:k]:
            return n - k
    return n
