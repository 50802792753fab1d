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
- Files and their directory are created owner-only (0600 / 0700): FIX messages name accounts
  and orders. Rotation is `logging.handlers.RotatingFileHandler`'s (NAME.log.1 ... .N).
- A failure to write (a full disk) is logged once per session and never reaches the session.
"""

from __future__ import annotations

import asyncio
import io
import logging
import logging.handlers
import os
import re
from datetime import UTC, datetime
from pathlib import Path

from venue.log import get_logger

__all__ = ["FixMessageLog"]

_log = get_logger("venue.gateway.fixlog")
_HEARTBEAT = b"\x0135=0\x01"
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")


class _OwnerOnlyFile(logging.handlers.RotatingFileHandler):
    """A RotatingFileHandler whose files are created 0600 whatever the umask."""

    def _open(self) -> io.TextIOWrapper:
        fd = os.open(self.baseFilename, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
        return io.TextIOWrapper(
            io.FileIO(fd, "a"), encoding=self.encoding or "latin-1", errors=self.errors
        )


class FixMessageLog:
    def __init__(
        self, directory: str | Path, *, heartbeats: bool = False, max_bytes: int, backups: int
    ) -> None:
        self.directory = Path(directory)
        self.heartbeats = heartbeats
        self.max_bytes = max_bytes
        self.backups = backups
        self._pending: list[tuple[str, str, bytes]] = []
        self._files: dict[str, _OwnerOnlyFile] = {}
        self._failed: set[str] = set()
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def add(self, session: str, direction: str, raw: bytes) -> None:
        """Queue one message (or several back to back) for the session's file."""
        if not self._pending:
            asyncio.get_running_loop().call_soon(self.flush)
        self._pending.append((session, direction, raw))

    def flush(self) -> None:
        pending, self._pending = self._pending, []
        if not pending:
            return
        stamp = datetime.now(UTC).strftime("%Y%m%d-%H:%M:%S.%f")
        by_session: dict[str, list[str]] = {}
        for session, direction, raw in pending:
            lines = by_session.setdefault(session, [])
            for msg in _split(raw):
                if not self.heartbeats and _HEARTBEAT in msg:
                    continue
                text = msg.replace(b"\x01", b"|").decode("latin-1")
                lines.append(f"{stamp} {direction:<3} {text}")
        for session, lines in by_session.items():
            if lines:
                self._write(session, "\n".join(lines))

    def _write(self, session: str, text: str) -> None:
        handler = self._files.get(session)
        try:
            if handler is None:
                name = _SAFE.sub("_", session) + ".log"
                handler = _OwnerOnlyFile(
                    self.directory / name,
                    maxBytes=self.max_bytes,
                    backupCount=self.backups,
                    encoding="latin-1",
                )
                handler.setFormatter(logging.Formatter("%(message)s"))
                self._files[session] = handler
            record = logging.LogRecord("fix", logging.INFO, "", 0, text, None, None)
            if handler.shouldRollover(record):
                handler.doRollover()
            stream = handler.stream or handler._open()
            handler.stream = stream
            stream.write(text + "\n")
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
