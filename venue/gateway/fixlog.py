"""The per-session FIX message log: one file per session, one message per line, `|` for SOH,
as QuickFIX's file log writes them (with the direction), rotated by size.

    <journal directory>/fixlog/ALPHA-MM.log
    20261207-23:45:01.123456 in  8=FIX.4.4|9=...|35=D|...|10=123|
    20261207-23:45:01.123611 out 8=FIX.4.4|9=...|35=8|...|10=045|

Invariants:
- The hot path only appends `(session, direction, bytes)` to a list; formatting and writing
  happen once per event-loop iteration (`call_soon`), so a burst of messages costs one write
  per session. Lines of one flush share the flush's timestamp (within one loop iteration).
- Heartbeats (35=0) are left out unless `heartbeats` is set.
- A message longer than `MAX_LOGGED` bytes is logged clipped, with its length: a client
  flooding large messages (30 KB TestRequests) must not make the log hold or write hundreds of
  megabytes (measured: +315 MiB of the venue's memory before the clip).
- Files and their directory are created owner-only (0600 / 0700): FIX messages name accounts
  and orders. Rotation is `logging.handlers.RotatingFileHandler`'s (NAME.log.1 ... .N).
- A failure to write (a full disk) is logged once per session and never reaches the session.
"""

from __future__ import annotations

import asyncio
import logging
import logging.handlers
import os
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from venue.log import get_logger

__all__ = ["FixMessageLog"]

_log = get_logger("venue.gateway.fixlog")
_HEARTBEAT = b"\x0135=0\x01"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class _OwnerOnlyFile(logging.handlers.RotatingFileHandler):
    """RotatingFileHandler's file naming and rotation, its files created 0600 whatever the
    umask and opened in binary: lines are written as bytes, never formatted as records."""

    def _open(self) -> Any:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return os.fdopen(fd, "ab")


class FixMessageLog:
    def __init__(
        self, directory: str | Path, *, heartbeats: bool = False, max_bytes: int, backups: int
    ) -> None:
        self.directory = Path(directory)
        self.heartbeats = heartbeats
        self.max_bytes = max_bytes
        self.backups = backups
        self._pending: list[tuple[str, bytes, bytes]] = []
        self._files: dict[str, _OwnerOnlyFile] = {}
        self._failed: set[str] = set()
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def add(self, session: str, direction: str, raw: bytes) -> None:
        """Queue one message (or several back to back) for the session's file."""
        if len(raw) > MAX_LOGGED:
            raw = b"".join(map(_clip, _split(raw)))
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append((session, _DIRECTIONS[direction], raw))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f").encode()
        by_session: dict[str, list[bytes]] = {}
        heartbeats = self.heartbeats
        for session, direction, raw in pending:
            lines = by_session.get(session)
            if lines is None:
                lines = by_session[session] = []
            for msg in _split(raw) if b"\x018=FIX" in raw else (raw,):
                if heartbeats or _HEARTBEAT not in msg:
                    lines += (stamp, direction, msg.replace(b"\x01", b"|"), b"\n")
        for session, lines in by_session.items():
            if lines:
                self._write(session, b"".join(lines))

    def _write(self, session: str, data: bytes) -> None:
        handler = self._files.get(session)
        try:
            if handler is None:
                name = _SAFE.sub("_", session) + ".log"
                handler = _OwnerOnlyFile(
                    self.directory / name, maxBytes=self.max_bytes, backupCount=self.backups
                )
                self._files[session] = handler
            stream: Any = handler.stream
            if stream.tell() + len(data) > self.max_bytes and stream.tell() > 0:
                handler.doRollover()
                stream = handler.stream
            stream.write(data)
            stream.flush()
        except OSError as exc:
            if session not in self._failed:
                self._failed.add(session)
                _log.error("fixlog_write_failed", session=session, error=str(exc))

    def close(self) -> None:
        self.flush()
        for handler in self._files.values():
            handler.close()
        self._files.clear()


_DIRECTIONS = {"in": b" in  ", "out": b" out "}
MAX_LOGGED = 4096  # bytes of one message written to the log


def _clip(msg: bytes) -> bytes:
    if len(msg) <= MAX_LOGGED:
        return msg
    return msg[:MAX_LOGGED] + b"...(%d bytes)\x01" % len(msg)


def _split(raw: bytes) -> list[bytes]:
    """The FIX messages in `raw` (one write may carry several)."""
    if raw.count(b"8=FIX", 1) == 0:
        return [raw]
    out, start = [], 0
    while True:
        nxt = raw.find(b"\x018=FIX", start)
        if nxt < 0:
            out.append(raw[start:])
            return out
        out.append(raw[start : nxt + 1])
        start = nxt + 1
