"""Output of `venue-admin`: tables for people (rich when installed), JSON for scripts.

Invariants:
- `--json` output is exactly one JSON document per command on stdout (`top` prints one per
  refresh, one per line), so scripts can parse it; messages for people go to stderr.
- Times are shown as UTC ISO-8601 (from integer nanoseconds); missing values as "-".
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TextIO

__all__ = ["duration", "print_json", "print_kv", "print_table", "ts_text"]


def print_json(value: Any, out: TextIO | None = None) -> None:
    stream = out if out is not None else sys.stdout
    stream.write(json.dumps(value, sort_keys=True, default=str) + "\n")
    stream.flush()


def ts_text(ts_ns: object) -> str:
    if not isinstance(ts_ns, int) or ts_ns <= 0:
        return "-"
    dt = datetime.fromtimestamp(ts_ns / 1e9, tz=UTC)
    return dt.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def duration(ns: object) -> str:
    if not isinstance(ns, int):
        return "-"
    if ns < 1_000_000:
        return f"{ns / 1000:.0f} µs"
    if ns < 10_000_000_000:
        return f"{ns / 1e6:.1f} ms"
    s = ns // 1_000_000_000
    return f"{s // 3600}h{s % 3600 // 60:02d}m{s % 60:02d}s"


def _cell(value: object) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, list):
        return ",".join(str(v) for v in value) or "-"
    return str(value)


def table_text(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> Any:
    """A rich Table (or the plain text of one when rich is not installed)."""
    cells = [[_cell(v) for v in r] for r in rows]
    try:
        from rich.table import Table  # noqa: PLC0415 -- optional dependency
    except ModuleNotFoundError:
        widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
        lines = [title, "  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True))]
        lines += ["  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)) for r in cells]
        return "\n".join(lines)
    table = Table(title=title, title_justify="left")
    for c in columns:
        table.add_column(c)
    for r in cells:
        table.add_row(*r)
    return table


def emit(renderable: Any) -> None:
    try:
        from rich.console import Console  # noqa: PLC0415 -- optional dependency
    except ModuleNotFoundError:
        print(renderable)
        return
    Console(soft_wrap=False, width=200 if not sys.stdout.isatty() else None).print(renderable)


def print_table(title: str, columns: Sequence[str], rows: Iterable[Sequence[object]]) -> None:
    emit(table_text(title, columns, rows))


def print_kv(title: str, pairs: Iterable[tuple[str, object]]) -> None:
    print_table(title, ["field", "value"], [(k, v) for k, v in pairs])
