"""structlog set-up: JSON lines for machines, a console renderer on a TTY.

Invariants:
- `configure()` is idempotent and is called once by the composition root (`venue.app`).
- Every log line carries an ISO-8601 UTC timestamp and a level; events are snake_case names,
  context goes in key=value pairs, never interpolated into the event name.
- Nothing in `venue.core` logs.
- A log call never raises because its output failed (a broken pipe): output stops, the caller
  goes on (`output_lost()` says why).
"""

from __future__ import annotations

import logging
import sys
from typing import Any, TextIO

import structlog


class _StderrProxy:
    """Writes to whatever `sys.stderr` is at the time of writing (tests swap it)."""

    def write(self, text: str) -> int:
        return sys.stderr.write(text)

    def flush(self) -> None:
        sys.stderr.flush()


class _Unfailing:
    """A log stream whose writes never raise: when the output has gone (the reader of a pipe
    exited, `| tee` killed by the same Ctrl-C, a full disk) logging stops, the venue does not.
    A log line must never be the reason a shutdown stops half way."""

    def __init__(self, inner: Any) -> None:
        self._inner = inner
        self.lost: str | None = None  # why output stopped, once it has

    def write(self, text: str) -> int:
        if self.lost is None:
            try:
                return int(self._inner.write(text))
            except (OSError, ValueError) as exc:  # EPIPE, EIO, ENOSPC; ValueError: closed file
                self.lost = f"{type(exc).__name__}: {exc}"
        return len(text)

    def flush(self) -> None:
        if self.lost is None:
            try:
                self._inner.flush()
            except (OSError, ValueError) as exc:
                self.lost = f"{type(exc).__name__}: {exc}"


_outputs: list[_Unfailing] = []  # the configured output (the last one counts)


def output_lost() -> str | None:
    """Why log output stopped (its reader has gone), or None while it works."""
    return _outputs[-1].lost if _outputs else None


def configure(
    *, level: str = "info", stream: TextIO | None = None, json: bool | None = None
) -> None:
    """Configure structlog. `json=None` picks JSON unless `stream` is a TTY. Writing a log line
    never raises (see `_Unfailing`)."""
    out: Any = _Unfailing(stream if stream is not None else _StderrProxy())
    _outputs[:] = [out]
    tty = (stream if stream is not None else sys.stderr).isatty()
    use_json = not tty if json is None else json
    renderer: Any = (
        structlog.processors.JSONRenderer()
        if use_json
        else structlog.dev.ConsoleRenderer(colors=tty)
    )
    structlog.configure(
        processors=[
            structlog.contextvars.merge_contextvars,
            structlog.processors.add_log_level,
            structlog.processors.TimeStamper(fmt="iso", utc=True),
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            renderer,
        ],
        wrapper_class=structlog.make_filtering_bound_logger(
            logging.getLevelNamesMapping()[level.upper()]
        ),
        logger_factory=structlog.PrintLoggerFactory(file=out),
        cache_logger_on_first_use=False,
    )


def get_logger(name: str, **context: Any) -> Any:
    """A logger for `name` (module or component), with optional fixed context.

    It stays lazy: modules create their loggers at import time, before `configure()` runs, and
    must still log with the configuration in force when they first log.
    """
    return structlog.get_logger(component=name, **context)
