"""The FIX acceptor: listens, binds connections to configured sessions, drives their timers.

Invariants:
- One `Session` object per configured session for the life of the gateway; its sequence
  numbers are loaded from the journal at `start` and persist across reconnects. At most one
  connection is bound to a session at a time.
- Sessions are found at Logon by (TargetCompID = venue_comp_id, SenderCompID = client_comp_id).
- The gateway never writes to the journal itself: every record goes through the sequencer's
  batch, so FIX state commits in the same transaction as the journal.
- Sequencer back-pressure pauses reading on every connection until it resumes; a journal
  failure aborts every connection (the venue accepts nothing more).
- Timers are driven from one ticker task (`tick_seconds`), never from per-message timers.
- Operator actions (`venue-admin`, through `venue.admin`) address sessions by name; an unknown
  name raises KeyError, an action the session's state forbids raises RuntimeError, and none of
  them writes to the journal except through the sequencer (`record_session_seqs`). Enabling or
  disabling a session lasts until the venue restarts (the session file is the durable setting).
  A reloaded session file may change only what Logon checks (credentials, addresses).
- The replay guard of signed Logons is seeded from the journal at `start` and every pair it
  accepts is recorded in the open batch (the one that answers the Logon), so it holds across a
  restart. Lock-outs, their lifting (operator or time) are journaled as admin actions
  (`RecordAdminAction`, operator "venue" for what the gateway decides itself).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import ssl
from collections.abc import Iterable
from typing import TYPE_CHECKING

import msgspec

from venue.config import GatewayConfig, SessionConfig
from venue.core.commands import RecordAdminAction
from venue.fix.actions import ResetStore, SaveSeqs, Send
from venue.fix.codec import FixMessage
from venue.fix.session import Session, SessionSettings
from venue.fix.validate import make_validator
from venue.gateway.application import Application, Outbound, PreOpenApplication
from venue.gateway.auth import ReplayGuard
from venue.gateway.busypoll import BusyPoll
from venue.gateway.connection import Connection
from venue.gateway.fixlog import FixMessageLog
from venue.gateway.logon_limits import LogonLimits, PasswordChecks
from venue.gateway.retention import trims_due
from venue.gateway.slot import SessionSlot
from venue.journal import JournalFailed
from venue.log import get_logger
from venue.sequencer import SequencerStopped

if TYPE_CHECKING:
    from venue.clock import Clock
    from venue.fix.dictionary import Dictionary
    from venue.journal import Journal
    from venue.sequencer import Sequencer

__all__ = ["Gateway", "SessionSlot", "settings_for"]

_log = get_logger("venue.gateway")


def settings_for(cfg: SessionConfig, gateway: GatewayConfig) -> SessionSettings:
    """The session machine's settings for one configured session."""
    return SessionSettings(
        name=cfg.name,
        venue_comp_id=cfg.venue_comp_id,
        client_comp_id=cfg.client_comp_id,
        heartbeat_min_seconds=cfg.heartbeat.min_seconds,
        heartbeat_max_seconds=cfg.heartbeat.max_seconds,
        sending_time_tolerance_seconds=gateway.sending_time_tolerance_seconds,
        reset_on_logon=cfg.reset.on_logon,
        daily_reset_at=cfg.reset.daily_at,
    )


class Gateway:
    """The FIX acceptor. `await start()`, then `port`; `await stop()` logs everyone out."""

    def __init__(
        self,
        *,
        config: GatewayConfig,
        sessions: list[SessionConfig],
        sequencer: Sequencer,
        journal: Journal,
        clock: Clock,
        dictionary: Dictionary,
        ssl_context: ssl.SSLContext | None = None,
        application: Application | None = None,
        logon_limits: LogonLimits | None = None,
        tick_seconds: float = 0.1,
        log_messages: bool = False,
        log_heartbeats: bool = False,
        message_log: FixMessageLog | None = None,
    ) -> None:
        self.config = config
        self.sequencer = sequencer
        self.journal = journal
        self.clock = clock
        self.application: Application = (
            application if application is not None else PreOpenApplication()
        )
        self.logon_limits = logon_limits if logon_limits is not None else LogonLimits()
        self.password_checks = PasswordChecks(config.password_checks)
        self.replay_guard = ReplayGuard(on_accept=sequencer.record_logon_guard)
        self._session_configs = list(sessions)
        self._validator = make_validator(dictionary)
        self._ssl = ssl_context
        self._tick_seconds = tick_seconds
        self.log_messages = log_messages  # one log line per FIX message in and out
        self.log_heartbeats = log_heartbeats  # ...including Heartbeats (off by default)
        self.message_log = message_log  # the per-session FIX message files (gateway/fixlog)
        self.messages_in: dict[bytes, int] = {}  # by MsgType, every session (venue.metrics)
        self.messages_out: dict[bytes, int] = {}
        self.slots: dict[str, SessionSlot] = {}
        self._by_comp_ids: dict[tuple[bytes, bytes], SessionSlot] = {}
        self.connections: set[Connection] = set()
        self.reading_paused = False
        self._server: asyncio.Server | None = None
        self._ticker: asyncio.Task[None] | None = None
        self.busy_poll: BusyPoll | None = None  # set at start when gateway.busy_poll_us > 0

    # -- life cycle ---------------------------------------------------------------------------

    async def start(self) -> None:
        now = self.clock.now_ns()
        self.replay_guard.seed(await self.journal.load_logon_guards())
        for cfg in self._session_configs:
            seqs = await self.journal.load_session_seqs(cfg.name)
            next_in, next_out, ts_logon = seqs if seqs is not None else (1, 1, 0)
            session = Session(
                settings_for(cfg, self.config),
                self._validator,
                next_in=next_in,
                next_out=next_out,
                ts_created=now,
                ts_last_logon=ts_logon,  # a daily reset passed while down applies at Logon
            )
            slot = SessionSlot(cfg, session)
            self.slots[cfg.name] = slot
            self._by_comp_ids[(cfg.venue_comp_id.encode(), cfg.client_comp_id.encode())] = slot
        self.sequencer.add_pressure_listener(self._pause_reading, self._resume_reading)
        self.sequencer.on_failure(self._on_journal_failure)
        loop = asyncio.get_running_loop()
        if self.config.busy_poll_us > 0:
            journal = self.journal
            self.busy_poll = BusyPoll(
                loop,
                self.clock.monotonic_ns,
                self.config.busy_poll_us * 1000,
                hold_off=lambda: journal.committing_on_thread,
            )
        self._server = await loop.create_server(
            lambda: Connection(self),
            self.config.host,
            self.config.port,
            ssl=self._ssl,
            # A TLS handshake that never finishes costs no more than a missing Logon.
            ssl_handshake_timeout=self.config.logon_timeout_seconds if self._ssl else None,
        )
        self._ticker = loop.create_task(self._tick_loop(), name="gateway-ticker")
        _log.info("gateway_listening", host=self.config.host, port=self.port)

    @property
    def port(self) -> int:
        if self._server is None or not self._server.sockets:
            return 0
        return int(self._server.sockets[0].getsockname()[1])

    async def stop(self, *, timeout: float = 2.0) -> None:
        """Stop accepting, Logout every logged-on session (best effort), close, wait."""
        if self._server is not None:
            self._server.close()
        for conn in list(self.connections):
            conn.logout("venue shutting down")
        waiters = [conn.closed.wait() for conn in list(self.connections)]
        if waiters:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(asyncio.gather(*waiters), timeout)
        for conn in list(self.connections):
            conn.abort("venue shut down")
        if self._ticker is not None:
            self._ticker.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ticker
            self._ticker = None
        if self._server is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(self._server.wait_closed(), timeout)
            self._server = None
        self.password_checks.close()

    # -- used by connections ------------------------------------------------------------------

    def slot_for(self, venue_comp_id: bytes, client_comp_id: bytes) -> SessionSlot | None:
        return self._by_comp_ids.get((venue_comp_id, client_comp_id))

    def deliver(self, session: str, msg: FixMessage, ts_recv: int) -> None:
        """Hand an application message to the application and send what it answers."""
        outbound = self.application.on_message(session, msg, ts_recv)
        if outbound:
            self.send(outbound)

    def send(self, outbound: Iterable[Outbound]) -> None:
        """Number, store and (for a logged-on session, after commit) write application
        messages. A session that is not logged on gets them by resend after its next Logon.
        Each session's numbers are saved once per call, after its last message (all of it
        joins the same batch: nothing here submits). Raises JournalFailed when the journal
        has failed."""
        now = self.clock.now_ns()
        slots = self.slots
        touched: dict[str, SessionSlot] = {}
        for out in outbound:
            slot = slots.get(out.session)
            if slot is None:
                _log.warning("outbound_dropped", session=out.session, reason="unknown session")
                continue
            session = slot.session
            actions = session.send_application(out.msg_type, out.body, now)
            touched[slot.name] = slot
            conn = slot.connection
            if conn is not None and session.logged_on:
                conn.send_frames(actions)
                continue
            for action in actions:  # stored for resend only
                if isinstance(action, Send):
                    self.sequencer.record_outbound(
                        slot.name, action.seq, action.data, admin=action.admin
                    )
        for slot in touched.values():
            self.save_seqs(slot)

    def save_seqs(self, slot: SessionSlot) -> None:
        """Save the session's numbers as they are now (and its last Logon time) in the open
        batch: a `SaveSeqs` action, or numbers changed outside the session machine."""
        session = slot.session
        self.sequencer.record_session_seqs(
            slot.name,
            next_in=session.next_in,
            next_out=session.next_out,
            ts_logon=session.ts_last_logon,
        )

    def reset_session(self, name: str) -> None:
        """Operator reset of a session's sequence numbers to 1 (only while it is not logged
        on: raises KeyError for an unknown session, RuntimeError for a logged-on one)."""
        slot = self.slots[name]
        if slot.connection is not None:
            raise RuntimeError(f"session {name} is connected; log it out first")
        for action in slot.session.reset():
            if isinstance(action, ResetStore):
                self.sequencer.record_session_reset(name)
                self.application.on_session_reset(name)
            elif isinstance(action, SaveSeqs):
                self.save_seqs(slot)
        _log.info("session_reset", session=name)

    # -- internals ----------------------------------------------------------------------------

    async def _tick_loop(self) -> None:
        while True:
            await asyncio.sleep(self._tick_seconds)
            now = self.clock.now_ns()
            mono = self.clock.monotonic_ns()
            for name in self.logon_limits.expired(now):
                self.audit("session.unlock", session=name, reason="lock-out time over")
            self._trim_stores()
            for conn in list(self.connections):
                try:
                    conn.tick(now, mono)
                except Exception:
                    _log.exception("connection_tick_failed", peer=conn.peer)
                    conn.abort("internal error")

    def _trim_stores(self) -> None:
        """Resend retention (`venue.gateway.retention`): ask the journal to drop what fell out
        of each session's window."""
        try:
            for name, below in trims_due(self.slots.values()):
                self.sequencer.record_store_trim(name, below)
        except (JournalFailed, SequencerStopped):
            return  # stopping: the next start trims what is due

    def _pause_reading(self) -> None:
        self.reading_paused = True
        for conn in self.connections:
            conn.pause_reading()

    def _resume_reading(self) -> None:
        self.reading_paused = False
        for conn in self.connections:
            conn.resume_reading()

    def _on_journal_failure(self, exc: BaseException) -> None:
        for conn in list(self.connections):
            conn.abort(f"journal failed: {exc}")

    def audit(self, action: str, **detail: object) -> None:
        """Journal something the gateway decided itself as an admin action of "venue"."""
        text = json.dumps(detail, sort_keys=True, separators=(",", ":"), default=str)
        try:
            self.sequencer.submit(RecordAdminAction(operator="venue", action=action, detail=text))
        except (JournalFailed, SequencerStopped) as exc:
            _log.error("audit_not_journaled", action=action, detail=text, error=str(exc))
            return
        _log.warning("admin_action", action=action, operator="venue", detail=text)

    def session_status(self) -> list[dict[str, object]]:
        """One dict per configured session, for the admin CLI."""
        out: list[dict[str, object]] = []
        limits = self.logon_limits
        for slot in self.slots.values():
            s = slot.session
            out.append(
                {
                    "name": slot.name,
                    "state": s.state.value,
                    "peer": slot.peer if slot.connection is not None else None,
                    "next_in": s.next_in,
                    "next_out": s.next_out,
                    "last_in_ns": s.ts_last_in,
                    "last_out_ns": slot.ts_last_out,
                    "messages_in": s.messages_in,
                    "messages_out": s.messages_out,
                    "logons": slot.logons,
                    "garbled": slot.garbled,
                    "throttle_hits": slot.throttle_hits,
                    "slow_consumer_cuts": slot.slow_consumer_cuts,
                    "role": slot.config.role,
                    "firm": slot.config.firm,
                    "enabled": slot.config.enabled,
                    "connected": slot.connection is not None,
                    "locked_until_ns": limits.locked_until_ns(slot.name),
                    "cooldown_until_ns": limits.cooldown_until_ns(slot.name),
                }
            )
        return out

    # -- operator actions (venue-admin) -------------------------------------------------------

    def session_detail(self, name: str) -> dict[str, object]:
        """`session_status` of one session plus its configuration (KeyError if unknown)."""
        slot = self.slots[name]
        detail = next(s for s in self.session_status() if s["name"] == name)
        cfg = slot.config
        detail.update(
            {
                "venue_comp_id": cfg.venue_comp_id,
                "client_comp_id": cfg.client_comp_id,
                "accounts": list(cfg.accounts),
                "auth_method": cfg.auth.method,
                "allowed_addresses": list(cfg.allowed_addresses),
                "cancel_on_disconnect": cfg.cancel_on_disconnect,
                "heartbeat_max_seconds": cfg.heartbeat.max_seconds,
                "throttle_messages_per_second": cfg.throttle.messages_per_second,
                "throttle_cooldown_seconds": cfg.throttle.cooldown_seconds,
                "lockout_failures": cfg.auth.lockout_failures,
                "lockout_window_seconds": cfg.auth.lockout_window_seconds,
                "lockout_seconds": cfg.auth.lockout_seconds,
                "source": cfg.source,
            }
        )
        return detail

    def logout_session(self, name: str, text: str = "logged out by the operator") -> bool:
        """Start a Logout on the session's connection. False when it is not connected."""
        conn = self.slots[name].connection
        if conn is None:
            return False
        conn.logout(text)
        return True

    def disconnect_session(self, name: str, reason: str = "disconnected by the operator") -> bool:
        """Drop the session's connection at once (no Logout). False when it is not connected."""
        conn = self.slots[name].connection
        if conn is None:
            return False
        conn.abort(reason)
        return True

    def unlock_session(self, name: str) -> bool:
        """Lift a lock-out of the session (and forget its failed Logons). Returns whether it
        was locked; the caller journals the action with the operator's name."""
        if name not in self.slots:
            raise KeyError(name)
        unlocked = self.logon_limits.unlock(name)
        _log.info("session_unlocked", session=name, was_locked=unlocked)
        return unlocked

    def set_session_enabled(self, name: str, enabled: bool) -> bool:
        """Allow or refuse future Logons of the session (a connected one stays connected: log
        it out too to stop it). Returns the previous setting."""
        slot = self.slots[name]
        before = slot.config.enabled
        slot.config = msgspec.structs.replace(slot.config, enabled=enabled)
        return before

    def reload_session_config(self, cfg: SessionConfig) -> list[str]:
        """Apply a re-read session file to a running session. Only what is checked at Logon may
        change live (`auth`, `allowed_addresses`); the operator's enable/disable stays. Raises
        KeyError for an unknown session, RuntimeError (naming the settings) when anything else
        differs: that needs a restart. Returns the names of the settings that changed."""
        slot = self.slots[cfg.name]
        old = slot.config
        live = ("auth", "allowed_addresses")
        fixed = [
            f
            for f in old.__struct_fields__
            if f not in (*live, "enabled", "source") and getattr(old, f) != getattr(cfg, f)
        ]
        if fixed:
            raise RuntimeError(f"{', '.join(fixed)} changed: restart the venue to apply")
        changed = [f for f in live if getattr(old, f) != getattr(cfg, f)]
        slot.config = msgspec.structs.replace(cfg, enabled=old.enabled)
        _log.info("session_config_reloaded", session=cfg.name, changed=changed)
        return changed

    def set_session_seqs(
        self, name: str, *, next_in: int | None, next_out: int | None, force: bool = False
    ) -> tuple[int, int]:
        """Set the next inbound/outbound sequence numbers (None keeps one). Refused with
        RuntimeError while the session is connected unless `force`; ValueError for a number
        below 1. Saved through the sequencer; returns the new (next_in, next_out)."""
        slot = self.slots[name]
        if slot.connection is not None and not force:
            raise RuntimeError(f"session {name} is connected; log it out first (or force)")
        for value in (next_in, next_out):
            if value is not None and value < 1:
                raise ValueError("sequence numbers start at 1")
        session = slot.session
        if next_in is not None:
            session.next_in = next_in
        if next_out is not None:
            session.next_out = next_out
        self.save_seqs(slot)
        _log.info(
            "session_seqs_set", session=name, next_in=session.next_in, next_out=session.next_out
        )
        return session.next_in, session.next_out
