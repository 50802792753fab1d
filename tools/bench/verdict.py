"""One way for every benchmark to end: print its JSON and say whether it measured anything.

A benchmark whose phase produced no work (no messages, no packets, no answered orders) or
whose counts do not add up (sent != received) must not report a speed. Each benchmark lists
the problems it found; `emit` adds them to the JSON as `error` and the process exits 1.

Invariant: a JSON object printed by a benchmark either has no `error` key and exit status 0,
or an `error` naming every problem found and exit status 1.
"""

from __future__ import annotations

import json
from typing import Any


class Checks:
    """Collects the problems of one run: `expect(condition, text)` keeps `text` when false."""

    def __init__(self) -> None:
        self.problems: list[str] = []

    def expect(self, condition: bool, problem: str) -> None:
        if not condition:
            self.problems.append(problem)

    def emit(self, result: dict[str, Any], *, indent: int | None = None) -> int:
        """Print `result` (with `error` when a problem was found); the exit status to return."""
        if self.problems:
            result["error"] = "; ".join(self.problems)
        print(json.dumps(result, indent=indent))
        return 1 if self.problems else 0
