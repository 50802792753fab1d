"""Replays QuickFIX acceptance scripts (`*.def`) over TCP; see /work/shared/conformance/README.md.

The grammar and comparison rules are the README's: `iCONNECT` / `iDISCONNECT`, `I<msg>` sends,
`E<msg>` reads exactly one message and compares it, `eDISCONNECT` waits (10 s at most) for the
acceptor to close with nothing sent first; `<TIME±n>` is the UTC time when the line runs.
"""

from __future__ import annotations

import contextlib
import re
import socket
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

SOH = b"\x01"
ADMIN = {b"0", b"1", b"2", b"3", b"4", b"5", b"A"}
TIMESTAMP_TAGS = {52, 60, 122}
READ_TIMEOUT = 15.0  # heartbeat scripts wait ~7 s between messages
DISCONNECT_TIMEOUT = 10.0
_TIME = re.compile(rb"<TIME([+-]\d+)?>")
_TS = re.compile(rb"\d{8}-\d{2}:\d{2}:\d{2}(\.\d{3})?")


class ScriptFailure(AssertionError):
    pass


def _now_text(offset: int) -> bytes:
    t = datetime.now(UTC) + timedelta(seconds=offset)
    return t.strftime("%Y%m%d-%H:%M:%S").encode()


def substitute_times(line: bytes) -> bytes:
    return _TIME.sub(lambda m: _now_text(int(m.group(1) or b"0")), line)


def fields_of(msg: bytes) -> list[tuple[int, bytes]]:
    out = []
    for part in msg.split(SOH):
        if not part:
            continue
        tag, _, value = part.partition(b"=")
        out.append((int(tag), value))
    return out


def complete(line: bytes) -> bytes:
    """Add BodyLength and CheckSum to a scripted message unless the line gives them."""
    if not line.startswith(b"8="):
        return line
    parts = [p for p in line.split(SOH) if p]
    begin = parts[0]
    rest = parts[1:]
    given_len = None
    if rest and rest[0].startswith(b"9="):
        given_len = rest[0]
        rest = rest[1:]
    given_cs = None
    if rest and rest[-1].startswith(b"10="):
        given_cs = rest[-1]
        rest = rest[:-1]
    body = b"".join(p + SOH for p in rest)
    length = given_len if given_len is not None else b"9=%d" % len(body)
    head = begin + SOH + length + SOH + body
    cs = given_cs if given_cs is not None else b"10=%03d" % (sum(head) % 256)
    return head + cs + SOH


@dataclass
class Client:
    port: int
    sock: socket.socket | None = None
    buf: bytearray = field(default_factory=bytearray)

    def connect(self) -> None:
        self.sock = socket.create_connection(("127.0.0.1", self.port), timeout=5)
        self.buf = bytearray()

    def close(self) -> None:
        if self.sock is not None:
            self.sock.close()
            self.sock = None

    def send(self, data: bytes) -> None:
        assert self.sock is not None, "send on a connection that is not open"
        # The acceptor may already have closed; the next line says whether that was right.
        with contextlib.suppress(BrokenPipeError, ConnectionResetError):
            self.sock.sendall(data)

    def _frame(self) -> bytes | None:
        buf = self.buf
        start = buf.find(b"8=")
        if start < 0:
            return None
        m = re.match(rb"8=[^\x01]*\x019=(\d+)\x01", bytes(buf[start : start + 40]))
        if m is None:
            return None
        end = start + m.end() + int(m.group(1)) + 7
        if len(buf) < end:
            return None
        frame = bytes(buf[start:end])
        del buf[:end]
        return frame

    def read_message(self, timeout: float = READ_TIMEOUT) -> bytes:
        assert self.sock is not None, "read on a connection that is not open"
        deadline = time.monotonic() + timeout
        while True:
            frame = self._frame()
            if frame is not None:
                return frame
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScriptFailure("timed out waiting for a message")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                data = b""
            if not data:
                raise ScriptFailure(f"connection closed while a message was expected: {self.buf!r}")
            self.buf += data

    def expect_disconnect(self, timeout: float = DISCONNECT_TIMEOUT) -> None:
        assert self.sock is not None
        if self.buf:
            raise ScriptFailure(f"data before disconnect: {bytes(self.buf)!r}")
        deadline = time.monotonic() + timeout
        while True:
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise ScriptFailure("acceptor did not disconnect within 10 s")
            self.sock.settimeout(remaining)
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            except ConnectionResetError:
                data = b""
            if data:
                raise ScriptFailure(f"data before disconnect: {data!r}")
            self.close()
            return


def _check_frame(received: bytes) -> None:
    m = re.match(rb"8=[^\x01]*\x019=(\d+)\x01", received)
    assert m is not None
    if len(received) - m.end() - 7 != int(m.group(1)):
        raise ScriptFailure(f"wrong BodyLength in {received!r}")
    if int(received[-4:-1]) != sum(received[:-7]) % 256:
        raise ScriptFailure(f"wrong CheckSum in {received!r}")


def compare(expected: bytes, received: bytes) -> None:
    """The README's comparison rules; raises ScriptFailure with both messages on a mismatch."""
    _check_frame(received)
    exp = {t: v for t, v in fields_of(expected) if t not in (9, 10)}
    got_list = [(t, v) for t, v in fields_of(received) if t not in (9, 10)]
    got = dict(got_list)
    show = f"\n expected {expected!r}\n received {received!r}"
    if exp.get(35) in ADMIN:
        for tag, value in exp.items():
            if tag not in got:
                raise ScriptFailure(f"missing tag {tag}{show}")
            if tag in TIMESTAMP_TAGS:
                if not _TS.fullmatch(got[tag]):
                    raise ScriptFailure(f"tag {tag} is not a timestamp{show}")
            elif tag == 58:
                continue
            elif got[tag] != value:
                raise ScriptFailure(f"tag {tag}: {got[tag]!r} != {value!r}{show}")
        extra = [t for t in got if t not in exp]
        if extra:
            raise ScriptFailure(f"unexpected tags {extra}{show}")
        return
    if got.get(35) in ADMIN:
        raise ScriptFailure(f"expected an application message{show}")
    for tag in (8, 34, 49, 56, 43):
        if exp.get(tag) != got.get(tag):
            raise ScriptFailure(f"tag {tag}: {got.get(tag)!r} != {exp.get(tag)!r}{show}")
    if 122 in exp and (122 not in got or not _TS.fullmatch(got[122])):
        raise ScriptFailure(f"tag 122 missing or not a timestamp{show}")


def parse_script(text: bytes) -> list[tuple[int, bytes, bytes]]:
    """(connection, action, payload) per line; action is one of I, E, i, e."""
    steps = []
    for raw in text.split(b"\n"):
        line = raw.rstrip(b"\r")
        if not line.strip() or line.startswith(b"#"):
            continue
        action, rest = line[:1], line[1:]
        conn = 1
        m = re.match(rb"(\d),", rest)
        if m:
            conn = int(m.group(1))
            rest = rest[m.end() :]
        steps.append((conn, action, rest))
    return steps


def run_script(text: bytes, port: int, *, pause_before_connect: float = 0.2) -> None:
    clients: dict[int, Client] = {}
    try:
        for lineno, (conn, action, payload) in enumerate(parse_script(text), 1):
            client = clients.setdefault(conn, Client(port))
            where = f"step {lineno} ({action.decode()}{payload[:40]!r})"
            try:
                if action == b"i" and payload == b"CONNECT":
                    time.sleep(pause_before_connect)  # README: ~0.2 s between connections
                    client.connect()
                elif action == b"i" and payload == b"DISCONNECT":
                    client.close()
                elif action == b"e" and payload == b"DISCONNECT":
                    client.expect_disconnect()
                elif action == b"I":
                    client.send(complete(substitute_times(payload)))
                elif action == b"E":
                    compare(substitute_times(payload), client.read_message())
                else:
                    raise ScriptFailure(f"unknown script line {action!r}{payload!r}")
            except ScriptFailure as exc:
                raise ScriptFailure(f"{where}: {exc}") from None
    finally:
        for client in clients.values():
            client.close()
