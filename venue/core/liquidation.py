"""`Liquidation`: the Liquidate command, the insurance fund and auto-deleveraging (stub)."""

from __future__ import annotations

from venue.core.commands import Liquidate
from venue.core.derivatives import DerivativesState, _reject
from venue.core.events import Event
from venue.core.types import RejectReason

__all__ = ["Liquidation"]


class Liquidation(DerivativesState):
    def _liquidate(self, cmd: Liquidate) -> list[Event]:
        return _reject(cmd, cmd.account, "", RejectReason.NOT_LIQUIDATABLE)
