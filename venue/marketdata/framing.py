"""MoldUDP64 packets and re-requests, SoupBinTCP packets: pure framing, no sockets.

Invariants:
- A MoldUDP64 downstream packet is session (10 ASCII bytes, space-padded on the right), sequence
  number of its first message (u64), message count (u16), then `count` messages each prefixed by
  its length (u16); all big-endian. Count 0 is a heartbeat, count 0xFFFF the end of the session;
  in both the sequence number is the next one the publisher will send.
- Every packet the publisher builds is at most `MAX_PACKET` (1,400) bytes.
- `decode_packet` / `decode_request` / `SoupReader` raise `MalformedPacket` (a ValueError) on
  any input that is not exactly one documented frame, never anything else, and never read
  past the input.
- SoupBinTCP: a packet is length (u16, counting the type byte) + type (1 ASCII byte) + payload.
  Text fields follow SoupBinTCP 3.0: username and password left-justified, session and
  sequence-number fields right-justified, all space-padded.
"""

from __future__ import annotations

import struct

__all__ = [
    "END_OF_SESSION",
    "MAX_PACKET",
    "MAX_PAYLOAD",
    "MOLD_HEADER",
    "MalformedPacket",
    "PacketBuilder",
    "SoupReader",
    "decode_packet",
    "decode_request",
    "encode_login_accepted",
    "encode_login_request",
    "encode_packet",
    "encode_request",
    "parse_login_accepted",
    "parse_login_request",
    "session_bytes",
    "soup",
]

MAX_PACKET = 1400
MOLD_HEADER = struct.Struct(">10sQH")
MAX_PAYLOAD = MAX_PACKET - MOLD_HEADER.size
END_OF_SESSION = 0xFFFF
_REQUEST = struct.Struct(">10sQH")
_U16 = struct.Struct(">H")


class MalformedPacket(ValueError):
    """Bytes that are not one documented MoldUDP64 or SoupBinTCP frame."""


def session_bytes(session: str) -> bytes:
    """The 10-byte MoldUDP64 form of a session name (space-padded on the right)."""
    raw = session.encode("ascii")
    if not 1 <= len(raw) <= 10:
        raise ValueError(f"session {session!r}: 1 to 10 ASCII characters")
    return raw.ljust(10, b" ")


# ---------------------------------------------------------------------- MoldUDP64


def encode_packet(
    session: bytes, seq: int, messages: list[bytes], count: int | None = None
) -> bytes:
    """One downstream packet. `count` overrides len(messages) for heartbeats/end of session."""
    n = len(messages) if count is None else count
    parts = [MOLD_HEADER.pack(session, seq, n)]
    for body in messages:
        parts.append(_U16.pack(len(body)))
        parts.append(body)
    return b"".join(parts)


class PacketBuilder:
    """Accumulates message bodies for one packet and says when the next one would not fit."""

    __slots__ = ("first_seq", "messages", "size")

    def __init__(self) -> None:
        self.messages: list[bytes] = []
        self.size = MOLD_HEADER.size
        self.first_seq = 0

    def fits(self, body: bytes) -> bool:
        return self.size + 2 + len(body) <= MAX_PACKET

    def add(self, seq: int, body: bytes) -> None:
        if not self.messages:
            self.first_seq = seq
        self.messages.append(body)
        self.size += 2 + len(body)

    def take(self, session: bytes) -> tuple[int, int, bytes]:
        """(first_seq, count, packet) and reset."""
        packet = encode_packet(session, self.first_seq, self.messages)
        out = (self.first_seq, len(self.messages), packet)
        self.messages = []
        self.size = MOLD_HEADER.size
        return out


def decode_packet(data: bytes | memoryview) -> tuple[bytes, int, int, list[bytes]]:
    """(session, seq, count, message bodies). Heartbeats and end of session have no bodies."""
    if len(data) < MOLD_HEADER.size:
        raise MalformedPacket(f"{len(data)} bytes: shorter than the MoldUDP64 header")
    session, seq, count = MOLD_HEADER.unpack_from(data)
    messages: list[bytes] = []
    if count in (0, END_OF_SESSION):
        if len(data) != MOLD_HEADER.size:
            raise MalformedPacket("heartbeat or end of session with a payload")
        return session, seq, count, messages
    pos = MOLD_HEADER.size
    end = len(data)
    mv = memoryview(data)
    for _ in range(count):
        if pos + 2 > end:
            raise MalformedPacket("truncated message length")
        (size,) = _U16.unpack_from(data, pos)
        pos += 2
        if pos + size > end:
            raise MalformedPacket("truncated message body")
        messages.append(bytes(mv[pos : pos + size]))
        pos += size
    if pos != end:
        raise MalformedPacket(f"{end - pos} trailing bytes after {count} messages")
    return session, seq, count, messages


def encode_request(session: bytes, seq: int, count: int) -> bytes:
    return _REQUEST.pack(session, seq, count)


def decode_request(data: bytes) -> tuple[bytes, int, int]:
    """(session, seq, count) of a MoldUDP64 re-request (exactly 20 bytes)."""
    if len(data) != _REQUEST.size:
        raise MalformedPacket(f"re-request of {len(data)} bytes, expected {_REQUEST.size}")
    session, seq, count = _REQUEST.unpack(data)
    if seq < 1 or count < 1 or count == END_OF_SESSION:
        raise MalformedPacket(f"re-request seq {seq} count {count}")
    return session, seq, count


# ---------------------------------------------------------------------- SoupBinTCP

LOGIN_REQUEST = ord("L")
LOGIN_ACCEPTED = ord("A")
LOGIN_REJECTED = ord("J")
SEQUENCED = ord("S")
UNSEQUENCED = ord("U")
SERVER_HEARTBEAT = ord("H")
CLIENT_HEARTBEAT = ord("R")
END_OF_SESSION_SOUP = ord("Z")
LOGOUT_REQUEST = ord("O")
DEBUG = ord("+")
REJECT_NOT_AUTHORIZED = b"A"
REJECT_SESSION_UNAVAILABLE = b"S"
_LOGIN_LEN = 6 + 10 + 10 + 20
_ACCEPTED_LEN = 10 + 20


def soup(kind: int, payload: bytes = b"") -> bytes:
    """One SoupBinTCP packet."""
    return _U16.pack(len(payload) + 1) + bytes((kind,)) + payload


def encode_login_request(
    username: str = "", password: str = "", session: str = "", seq: int = 0
) -> bytes:
    payload = (
        username.encode("ascii").ljust(6, b" ")[:6]
        + password.encode("ascii").ljust(10, b" ")[:10]
        + session.encode("ascii").rjust(10, b" ")[:10]
        # right-justified digits, "0" when none is wanted: SoupBinTCP's numeric field (20
        # blanks make Wireshark's dissector call the packet malformed); parse accepts both
        + str(seq).encode("ascii").rjust(20, b" ")
    )
    return soup(LOGIN_REQUEST, payload)


def parse_login_request(payload: bytes) -> tuple[str, str, str, int]:
    """(username, password, requested session, requested seq) from a Login Request payload."""
    if len(payload) != _LOGIN_LEN:
        raise MalformedPacket(f"login request of {len(payload)} bytes, expected {_LOGIN_LEN}")
    try:
        text = payload.decode("ascii")
    except UnicodeDecodeError:
        raise MalformedPacket("login request is not ASCII") from None
    if not text.isprintable():
        raise MalformedPacket("login request has control characters")
    seq_text = text[26:].strip()
    if seq_text and not seq_text.isdigit():
        raise MalformedPacket("requested sequence number is not numeric")
    return text[:6].strip(), text[6:16].strip(), text[16:26].strip(), int(seq_text or "0")


def encode_login_accepted(session: str, seq: int) -> bytes:
    payload = session.encode("ascii").rjust(10, b" ") + str(seq).encode("ascii").rjust(20, b" ")
    return soup(LOGIN_ACCEPTED, payload)


def parse_login_accepted(payload: bytes) -> tuple[str, int]:
    if len(payload) != _ACCEPTED_LEN:
        raise MalformedPacket(f"login accepted of {len(payload)} bytes")
    seq_text = payload[10:].strip()
    if not seq_text.isdigit():
        raise MalformedPacket("login accepted: sequence number is not numeric")
    return payload[:10].strip().decode("ascii", "replace"), int(seq_text)


class SoupReader:
    """Incremental SoupBinTCP parser: `feed(data)` returns the complete (type, payload) pairs."""

    __slots__ = ("_buf", "_max")

    def __init__(self, max_packet: int = 65535) -> None:
        self._buf = bytearray()
        self._max = max_packet

    def feed(self, data: bytes) -> list[tuple[int, bytes]]:
        buf = self._buf
        buf += data
        out: list[tuple[int, bytes]] = []
        pos = 0
        while len(buf) - pos >= 2:
            (size,) = _U16.unpack_from(buf, pos)
            if size < 1 or size > self._max:
                raise MalformedPacket(f"SoupBinTCP packet length {size}")
            if len(buf) - pos - 2 < size:
                break
            out.append((buf[pos + 2], bytes(buf[pos + 3 : pos + 2 + size])))
            pos += 2 + size
        del buf[:pos]
        return out

    @property
    def buffered(self) -> int:
        return len(self._buf)
