"""The admin socket's wire protocol: newline-delimited JSON over a Unix stream socket.

A client writes one request per line and reads one response per line, in order; a connection
may carry any number of requests. Both are UTF-8 JSON objects encoded with msgspec:

    request:  {"op": "session.logout", "args": {"name": "ALPHA-MM"}, "operator": "alice"}
    response: {"ok": true, "result": {...}}
              {"ok": false, "error": {"code": "not_found", "message": "unknown session 'X'"}}

`operator` is optional: the server always records the OS user of the peer (SO_PEERCRED) and
appends the given name (`root/alice`). `args` holds the operation's named arguments.

Invariants:
- A line longer than `MAX_LINE` bytes, a line that is not a JSON object of this shape, an
  unknown `op` and arguments of the wrong type are each answered with an error response
  (codes in `ErrorCode`); the server never raises on client input.
- Error codes are stable strings; `venue.admin.cli` maps each one to an exit status.
"""

from __future__ import annotations

import enum
from typing import Any

import msgspec

__all__ = [
    "MAX_LINE",
    "ErrorCode",
    "ErrorInfo",
    "OpError",
    "Request",
    "Response",
    "decode_request",
    "decode_response",
    "encode",
    "error",
]

MAX_LINE = 1 << 20  # bytes, newline included


class ErrorCode(enum.StrEnum):
    MALFORMED = "malformed"  # not a JSON request object, or too long
    UNKNOWN_OP = "unknown_op"
    BAD_ARGS = "bad_args"  # missing, unknown or mistyped arguments, values out of range
    NOT_FOUND = "not_found"  # unknown session, instrument or account
    REFUSED = "refused"  # the venue's state forbids it (logged-on session, halted twice, ...)
    FORBIDDEN = "forbidden"  # the peer's uid may not use the socket
    UNAVAILABLE = "unavailable"  # journal failed, venue stopping, feature not wired
    INTERNAL = "internal"  # a bug: logged by the server with a traceback


class OpError(Exception):
    """An operation's answer for anything the operator can fix: `code` and one line."""

    def __init__(self, code: ErrorCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


class Request(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    op: str
    args: dict[str, Any] = {}
    operator: str = ""


class ErrorInfo(msgspec.Struct, frozen=True, kw_only=True):
    code: ErrorCode
    message: str


class Response(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    ok: bool
    result: Any = None
    error: ErrorInfo | None = None


_request_decoder = msgspec.json.Decoder(Request)
_response_decoder = msgspec.json.Decoder(Response)
_encoder = msgspec.json.Encoder()


def encode(msg: Request | Response) -> bytes:
    """One protocol line, newline included."""
    return _encoder.encode(msg) + b"\n"


def decode_request(line: bytes) -> Request:
    """Raises msgspec.DecodeError / msgspec.ValidationError for a malformed line."""
    return _request_decoder.decode(line)


def decode_response(line: bytes) -> Response:
    return _response_decoder.decode(line)


def error(code: ErrorCode, message: str) -> Response:
    return Response(ok=False, error=ErrorInfo(code=code, message=message))
