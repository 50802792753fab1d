"""What a connection and the acceptor share: `SessionSlot` (one configured session and its
current connection) and `Host` (what a connection needs from the acceptor that made it).

This module imports neither `venue.gateway.acceptor` nor `venue.gateway.connection`: the
acceptor creates connections and hands them itself as their `Host`; a connection knows the
acceptor only through that protocol, and the acceptor knows a slot's connection only as a
`BoundConnection`. So the two modules import in one direction (acceptor -> connection).

Invariant: at most one connection is bound to a slot at a time (`SessionSlot.connection`).
"""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Any, Protocol

from venue.gateway.throttle import SessionThrottle

if TYPE_CHECKING:
    from venue.clock import Clock
    from venue.config import GatewayConfig, SessionConfig
    from venue.fix.actions import Action
    from venue.fix.codec import FixMessage
    from venue.fix.session import Session
    from venue.gateway.application import Application
    from venue.gateway.auth import ReplayGuard
    from venue.gateway.busypoll import BusyPoll
    from venue.gateway.fixlog import FixMessageLog
    from venue.gateway.logon_limits import LogonLimits, PasswordChecks
    from venue.journal import Journal
    from venue.sequencer import Sequencer

__all__ = ["BoundConnection", "Host", "SessionSlot"]


class BoundConnection(Protocol):
    """A connection bound to a session, as the acceptor and the operator actions use it."""

    peer: str
    closed: asyncio.Event

    def send_frames(self, actions: list[Action]) -> None: ...

    def logout(self, text: str) -> None: ...

    def abort(self, reason: str) -> None: ...


class SessionSlot:
    """A configured session, its state machine, throttle, counters and current connection."""

    def __init__(self, config: SessionConfig, session: Session) -> None:
        self.config = config
        self.name = config.name
        self.session = session
        self.throttle = SessionThrottle(config.throttle)
        self.connection: BoundConnection | None = None
        self.peer = ""
        self.ts_last_out = 0
        self.logons = 0
        self.throttle_hits = 0
        self.slow_consumer_cuts = 0
        self.garbled = 0
        self.trimmed_below = 0  # resend retention: the store was asked to drop seqs below this

    @property
    def keep(self) -> int:
        """Outbound messages kept for resend (0: all)."""
        return self.config.resend_retention_messages

    @property
    def next_out(self) -> int:
        return self.session.next_out


class Host(Protocol):
    """What a connection uses of the acceptor (`venue.gateway.acceptor.Gateway`)."""

    config: GatewayConfig
    clock: Clock
    sequencer: Sequencer
    journal: Journal
    application: Application
    logon_limits: LogonLimits
    password_checks: PasswordChecks
    replay_guard: ReplayGuard
    busy_poll: BusyPoll | None
    connections: set[Any]  # the live connections (a connection adds and removes itself)
    reading_paused: bool
    log_messages: bool
    log_heartbeats: bool
    message_log: FixMessageLog | None  # the per-session FIX message files
    messages_in: dict[bytes, int]  # by MsgType (venue.metrics)
    messages_out: dict[bytes, int]

    def slot_for(self, venue_comp_id: bytes, client_comp_id: bytes) -> SessionSlot | None: ...

    def deliver(self, session: str, msg: FixMessage, ts_recv: int) -> None: ...

    def save_seqs(self, slot: SessionSlot) -> None: ...

    def audit(self, action: str, **detail: object) -> None: ...
