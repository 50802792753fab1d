"""A blocking client of the admin socket (used by `venue-admin`; tests use it too).

Invariants:
- One connection per `AdminClient`; requests are answered in order, one line each
  (`venue.admin.protocol`). Every failure to reach or understand the venue is an
  `AdminUnavailable` (or `AdminForbidden` for a permission problem), never a bare OSError.
"""

from __future__ import annotations

import socket
from typing import Any

import msgspec

from venue.admin.protocol import MAX_LINE, ErrorCode, Request, Response, decode_response, encode

__all__ = ["AdminClient", "AdminForbidden", "AdminUnavailable"]


class AdminUnavailable(Exception):
    """The venue cannot be reached on the admin socket (not running, wrong path, timeout)."""


class AdminForbidden(Exception):
    """The socket exists but this user may not use it."""


class AdminClient:
    def __init__(self, path: str, *, timeout: float = 30.0, operator: str = "") -> None:
        self.path = path
        self.operator = operator
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        try:
            sock.connect(path)
        except PermissionError as exc:
            sock.close()
            raise AdminForbidden(f"{path}: permission denied") from exc
        except (FileNotFoundError, ConnectionRefusedError) as exc:
            sock.close()
            raise AdminUnavailable(f"{path}: no venue is listening ({exc.strerror})") from exc
        except OSError as exc:
            sock.close()
            raise AdminUnavailable(f"{path}: {exc.strerror or exc}") from exc
        self._sock = sock
        self._file = sock.makefile("rb")

    def close(self) -> None:
        self._file.close()
        self._sock.close()

    def __enter__(self) -> AdminClient:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def request(self, op: str, **args: Any) -> Response:
        """Send one request and return the venue's response (ok or error)."""
        args = {k: v for k, v in args.items() if v is not None}
        line = encode(Request(op=op, args=args, operator=self.operator))
        sent: OSError | None = None
        try:
            self._sock.sendall(line)
        except OSError as exc:  # a refused peer may already be closed: read its answer anyway
            sent = exc
        try:
            answer = self._file.readline(MAX_LINE)
        except TimeoutError as exc:
            raise AdminUnavailable(f"{self.path}: no answer in time") from exc
        except OSError as exc:
            raise AdminUnavailable(f"{self.path}: {exc.strerror or exc}") from exc
        if not answer:
            why = f": {sent}" if sent is not None else ""
            raise AdminUnavailable(f"{self.path}: the venue closed the connection{why}")
        try:
            response = decode_response(answer)
        except (msgspec.DecodeError, msgspec.ValidationError) as exc:
            raise AdminUnavailable(f"{self.path}: unreadable answer: {exc}") from exc
        if response.error is not None and response.error.code == ErrorCode.FORBIDDEN:
            raise AdminForbidden(response.error.message)
        return response
