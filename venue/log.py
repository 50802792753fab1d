"""structlog set-up: JSON lines for machines, a console renderer on a TTY.

Invariants:
- `configure()` is idempotent and is called once by the composition root (`venue.app`).
- Every log line carries an ISO-8601 UTC timestamp and a level; events are snake_case names,
  context goes in key=value pairs, never interpolated into the event name.
- Nothing in `venue.core` logs.
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


def configure(
    *, level: str = "info", stream: TextIO | None = None, json: bool | None = None
) -> None:
    """Configure structlog. `json=None` picks JSON unless `stream` is a TTY."""
    out: Any = stream if stream is not None else _StderrProxy()
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
