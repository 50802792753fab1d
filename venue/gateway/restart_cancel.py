"""Cancel on disconnect when the venue itself stopped: the rule applied each time this node
opens FIX for business, at start-up (after a clean stop or a crash) or when a standby is
promoted after a failover (RoE section 9).

The rule: every order-entry session whose configured `cancel_on_disconnect` is on and that has
resting orders when FIX opens has `cancel_on_restart_grace_seconds` to log on again; the
resting orders of those that did not are then canceled, all of them by ONE sequenced
`CancelSessionOrders` command (Canceled reports, 58 names the reason, are stored and delivered
by resend at the next Logon). With `cancel_on_restart = false` nothing is canceled.

Invariants:
- Decided once, `grace` after `start`: a session counts as back if it completed a Logon after
  `start` (the gateway's per-session logon count moved), whatever happened to it later (a
  disconnect after that Logon is ordinary cancel on disconnect, decided by order entry).
- The Logon tag 5001 override of a connection that existed before the stop is not known any
  more: the session file's setting decides.
- Only the sequencer changes state; this module reads the engine's `by_session` index and
  submits at most one command per `start`.
- One place for the rule: `venue.app.Venue.start` calls `start` right after the gateway
  opens, and a promoted standby comes through that same `Venue.start` (`venue.app._serve`
  hands it the caught-up engine), so a failover applies the rule exactly as a restart does.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from venue.config import SessionConfig
from venue.core.commands import CancelSessionOrders
from venue.journal import JournalFailed
from venue.log import get_logger
from venue.sequencer import SequencerStopped

if TYPE_CHECKING:
    from venue.sequencer import Sequencer

__all__ = ["RestartCancel"]

_log = get_logger("venue.restart_cancel")


class RestartCancel:
    """See the module docstring. `start()` when FIX opens; `await wait()` waits for the
    decision (tests, shutdown)."""

    def __init__(
        self,
        *,
        sequencer: Sequencer,
        sessions: Iterable[SessionConfig],
        logons: Callable[[str], int],
        grace_seconds: float,
        enabled: bool = True,
    ) -> None:
        self._sequencer = sequencer
        self._cancel = [s.name for s in sessions if s.role == "trading" and s.cancel_on_disconnect]
        self._logons = logons  # the gateway's count of completed Logons of a session
        self._grace = grace_seconds
        self._enabled = enabled
        self._task: asyncio.Task[None] | None = None
        self.canceled_sessions: list[str] = []  # what the decision canceled (for logs, tests)

    def start(self) -> list[str]:
        """Arm the rule now (FIX just opened). Returns the sessions it watches: those with the
        setting on and resting orders."""
        if not self._enabled:
            return []
        by_session = self._sequencer.engine.by_session
        watched = [s for s in self._cancel if by_session.get(s)]
        if not watched:
            return []
        before = {s: self._logons(s) for s in watched}
        _log.info("restart_cancel_armed", sessions=watched, grace_seconds=self._grace)
        self._task = asyncio.get_running_loop().create_task(
            self._decide_later(before), name="restart-cancel"
        )
        return watched

    async def _decide_later(self, before: dict[str, int]) -> None:
        await asyncio.sleep(self._grace)
        self.decide(before)

    def decide(self, before: dict[str, int]) -> None:
        """Cancel, in one command, the resting orders of the watched sessions that have not
        logged on since `before` was taken."""
        by_session = self._sequencer.engine.by_session
        away = [s for s, n in before.items() if self._logons(s) == n and by_session.get(s)]
        if not away:
            _log.info("restart_cancel_none", reason="every watched session logged on again")
            return
        try:
            seq, events = self._sequencer.submit(CancelSessionOrders(sessions=away))
        except (JournalFailed, SequencerStopped) as exc:
            _log.warning("restart_cancel_not_submitted", error=str(exc))
            return
        self.canceled_sessions = away
        _log.info("restart_cancel", sessions=away, seq=seq, canceled=len(events))

    async def wait(self) -> None:
        if self._task is not None:
            await self._task

    async def stop(self) -> None:
        if self._task is not None and not self._task.done():
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
