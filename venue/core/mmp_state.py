"""`MmpState`: the market-maker protection settings and fill window of one (account,
underlying), held in `EngineState.mmp` and snapshotted (`venue.core.snapshot`); the rules
that use it are in `venue.core.mmp`.

Invariant: `fills` holds (ts, lots) of quote fills in ascending ts; `frozen_until` is 0 (not
frozen), -1 (frozen until reset) or the ts at which the freeze ends.
"""

from __future__ import annotations

__all__ = ["MmpState"]


class MmpState:
    """Settings and window of one (account, underlying)."""

    __slots__ = ("fills", "freeze_ms", "frozen_until", "max_fills", "max_qty", "window_ms")

    def __init__(self, window_ms: int, max_qty: int, max_fills: int, freeze_ms: int) -> None:
        self.window_ms = window_ms
        self.max_qty = max_qty
        self.max_fills = max_fills
        self.freeze_ms = freeze_ms
        self.fills: list[tuple[int, int]] = []  # (ts, lots) of the quote fills in the window
        self.frozen_until = 0  # 0: not frozen; -1: until reset; else ts it ends

    def frozen(self, ts: int) -> bool:
        until = self.frozen_until
        return until == -1 or ts < until
