"""One FIX connection: an `asyncio.Protocol` that moves bytes and carries out session actions.

Invariants:
- `data_received` is two lines: frame what arrived, process what is complete. Processing stops
  while a resend is being paged out of the store or a refused Logon waits out its back-off, and
  resumes where it stopped, so replies always leave in the order the session made them.
  While input waits, the socket is not read, so unprocessed input never exceeds one read.
- Fairness: at most `PUMP_BATCH` messages per connection per loop iteration; the rest waits
  (socket paused) for the next iteration, so one flooding peer cannot starve the others or
  the commits their replies wait for.
- Before Logon the connection belongs to no session. The first message must be a Logon whose
  BeginString and CompIDs name a configured session; otherwise the connection is closed without
  a word (FIX: never answer an unidentified peer). While the session's Logon back-off runs
  (`LogonLimits.delay_ns`, keyed by session and by session and address), the connection
  waits it out before anything is checked. Then a session that is locked, in cool-down,
  disabled, not allowed from this address or fails authentication gets an unsequenced Logout
  naming the reason. Password checks run on `PasswordChecks`' threads, never on the loop; when
  all are busy the Logon is refused at once. A session already connected refuses the new
  connection and the first one goes on undisturbed.
- Every sequenced frame is recorded in the sequencer's pending batch and written only from an
  `after_commit` callback, so nothing reaches the peer that a restart could take back; a
  `Disconnect` is carried out the same way, after everything queued before it.
- A session over its throttle gets at most one Reject / BusinessMessageReject naming the limit
  per second (`REJECT_INTERVAL_NS`); its other excess messages take their sequence numbers and
  are dropped unanswered. After each, its connection is not read until the bucket has a token
  again; still over the limit for `abuse_seconds` in a row: Logout, and its Logons are refused
  for `throttle.cooldown_seconds` (`LogonLimits.start_cooldown`).
- Writes are coalesced: frames released in one loop pass (a commit's replies, a resend page)
  are queued in order and leave in one `transport.write` from a `call_soon` flush, and a
  close flushes first; so the order on the wire is the order of `_write` calls.
- A peer that keeps more than `outbound_buffer_limit` bytes unread for `slow_consumer_seconds`
  is cut off (abort, not a graceful close: it is not reading anyway).
"""

from __future__ import annotations

import asyncio
from collections import deque
from functools import partial
from typing import TYPE_CHECKING, cast

from venue.fix.actions import (
    Action,
    Deliver,
    Disconnect,
    Resend,
    ResetStore,
    SaveSeqs,
    Send,
    WriteRaw,
)
from venue.fix.codec import FixMessage, Framer, Garbled
from venue.fix.session import State
from venue.gateway.auth import AuthResult, authenticate
from venue.gateway.throttle import ThrottleVerdict
from venue.journal import JournalFailed
from venue.log import get_logger

if TYPE_CHECKING:
    from venue.gateway.slot import Host, SessionSlot

__all__ = ["Connection"]

# Messages that keep the session itself working are never refused by the throttle.
_UNTHROTTLED = frozenset({b"A", b"2", b"4", b"5"})
# Enum members bound once: reading one off its class costs ~130 ns in Python 3.11.
_ALLOW = ThrottleVerdict.ALLOW
_ABUSE = ThrottleVerdict.ABUSE
_DROP = ThrottleVerdict.DROP
_ACTIVE = State.ACTIVE
_AWAITING_LOGOUT = State.AWAITING_LOGOUT
RESEND_PAGE = 500  # stored messages read per query while answering a ResendRequest
PUMP_BATCH = 256  # inbound messages processed per loop iteration and connection
_log = get_logger("venue.gateway")


def _shown(value: bytes) -> str:
    """A client-chosen value as it may appear in a log line: quoted, escaped, at most 64 bytes."""
    return repr(value[:64].decode("latin-1"))


class Connection(asyncio.Protocol):
    """The adapter between one TCP (or TLS) connection and one `Session`."""

    def __init__(self, gateway: Host) -> None:
        self._gw = gateway
        self._framer = Framer(gateway.config.max_message_size)
        self._busy_poll = gateway.busy_poll  # None unless gateway.busy_poll_us > 0
        self._inbox: deque[FixMessage | Garbled] = deque()
        self._transport: asyncio.Transport | None = None
        self.slot: SessionSlot | None = None
        self.peer_ip = ""
        self.peer = ""
        self._busy = False  # a resend, logon back-off or throttle wait: input waits
        self._yielding = False  # PUMP_BATCH messages done: the rest waits one loop iteration
        self._resending = False
        self._closing = False  # a Disconnect was decided: no more input is processed
        self._ts_connected = 0
        self._ts_write_paused: int | None = None
        self._can_write = asyncio.Event()
        self._can_write.set()
        self.closed = asyncio.Event()
        self._tasks: set[asyncio.Task[None]] = set()
        self._out: list[bytes] = []  # frames written since the last flush (one per loop pass)

    # -- asyncio.Protocol ---------------------------------------------------------------------

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        transport = cast(asyncio.Transport, transport)  # uvloop's transports do not subclass it
        self._transport = transport
        peer = transport.get_extra_info("peername")
        if isinstance(peer, tuple) and peer:
            self.peer_ip = str(peer[0])
            self.peer = f"{peer[0]}:{peer[1]}"
        transport.set_write_buffer_limits(high=self._gw.config.outbound_buffer_limit)
        self._ts_connected = self._gw.clock.monotonic_ns()
        self._gw.connections.add(self)
        if self._gw.reading_paused:
            transport.pause_reading()

    def data_received(self, data: bytes) -> None:
        self._inbox.extend(self._framer.feed(data))
        self._pump()
        if self._busy_poll is not None:
            self._busy_poll.touch()

    def eof_received(self) -> bool | None:
        return None  # close our side too

    def connection_lost(self, exc: Exception | None) -> None:
        self._closing = True
        self._release("connection lost" if exc is None else f"connection lost: {exc}")
        self._gw.connections.discard(self)
        self._can_write.set()
        self.closed.set()

    def pause_writing(self) -> None:
        self._ts_write_paused = self._gw.clock.monotonic_ns()
        self._can_write.clear()

    def resume_writing(self) -> None:
        self._ts_write_paused = None
        self._can_write.set()

    # -- reading ------------------------------------------------------------------------------

    def pause_reading(self) -> None:
        """Sequencer back-pressure (or input waiting): stop reading the socket."""
        if self._transport is not None and not self._transport.is_closing():
            self._transport.pause_reading()

    def resume_reading(self) -> None:
        if self._busy or self._yielding or self._gw.reading_paused:
            return  # still waiting for another reason
        if self._transport is not None and not self._transport.is_closing():
            self._transport.resume_reading()

    def _set_busy(self, busy: bool) -> None:
        """While input waits (resend, logon back-off), stop reading so it cannot pile up."""
        self._busy = busy
        if busy:
            self.pause_reading()
        else:
            self.resume_reading()

    def _pump(self) -> None:
        """Process complete input until it runs out or something makes input wait. At most
        `PUMP_BATCH` messages per call: then reading pauses and the rest waits for the next
        loop iteration, so one busy connection cannot hold up everyone else's commits."""
        done = 0
        gw = self._gw
        inbox = self._inbox
        now_ns = gw.clock.now_ns
        try:
            while not self._closing and not self._busy:
                if done >= PUMP_BATCH and inbox:
                    self._yielding = True
                    self.pause_reading()
                    asyncio.get_running_loop().call_soon(self._resume_pump)
                    return
                done += 1
                slot = self.slot
                if slot is None:
                    if not inbox:
                        return
                    item = inbox.popleft()
                    if isinstance(item, Garbled):
                        self._on_garbled(item)
                    else:
                        self._on_first_message(item)
                    continue
                session = slot.session
                # One clock reading per message (the queue check and the message), none when
                # there is nothing to do; the queue is asked only when it holds something.
                if session.has_queued:
                    now = now_ns()
                    queued = session.process_queued(now)
                    if queued is not None:
                        self._execute(queued)
                        continue
                    if not inbox:
                        return
                elif inbox:
                    now = now_ns()
                else:
                    return
                item = inbox.popleft()
                if isinstance(item, Garbled):
                    self._on_garbled(item)
                    continue
                if gw.log_messages:
                    self._log_message("fix_in", item.raw)
                if gw.message_log is not None:
                    gw.message_log.add(slot.name, "in", item.raw)
                counts = gw.messages_in  # by MsgType, for the metrics
                counts[item.msg_type] = counts.get(item.msg_type, 0) + 1
                self._on_message(slot, item, now)
        except JournalFailed as exc:
            self._abort(f"journal failed: {exc}")
        except Exception:
            _log.exception("connection_failed", peer=self.peer)
            self._abort("internal error")

    def _resume_pump(self) -> None:
        self._yielding = False
        self.resume_reading()
        self._pump()

    def _on_garbled(self, item: Garbled) -> None:
        if self._framer.overflowed:
            self._close(f"message larger than max_message_size ({item.reason})")
        elif self.slot is None:
            self._close(f"garbled message before Logon: {item.reason}")
        else:
            self.slot.garbled += 1
            _log.info("fix_garbled", session=self.slot.name, reason=item.reason)

    def _on_first_message(self, msg: FixMessage) -> None:
        gw = self._gw
        gw.messages_in[msg.msg_type] = gw.messages_in.get(msg.msg_type, 0) + 1
        if msg.msg_type != b"A":
            self._close(f"first message is not a Logon (35={msg.msg_type.decode('latin-1')})")
            return
        if msg.get(8) != b"FIX.4.4":
            self._close("Logon with an unsupported BeginString")
            return
        slot = gw.slot_for(msg.get(56) or b"", msg.get(49) or b"")
        if slot is not None and gw.message_log is not None:
            gw.message_log.add(slot.name, "in", msg.raw)
        if slot is None:
            sender, target = (_shown(msg.get(t) or b"") for t in (49, 56))
            self._close(f"Logon for unknown CompIDs: SenderCompID={sender} TargetCompID={target}")
            return
        # While a back-off runs, the wait comes first: before the lock-out, the credentials
        # and everything else, for a good password as for a bad one (LogonLimits).
        delay_ns = gw.logon_limits.delay_ns(slot.name, self.peer_ip, gw.clock.now_ns())
        if delay_ns > 0:
            self._set_busy(True)
            loop = asyncio.get_running_loop()
            loop.call_later(delay_ns / 1e9, self._after_backoff, slot, msg)
            return
        self._check_logon(slot, msg)

    def _after_backoff(self, slot: SessionSlot, msg: FixMessage) -> None:
        self._set_busy(False)
        if self._closing:
            return
        try:
            self._check_logon(slot, msg)
        except JournalFailed as exc:
            self._abort(f"journal failed: {exc}")
            return
        self._pump()

    def _check_logon(self, slot: SessionSlot, msg: FixMessage) -> None:
        gw = self._gw
        now = gw.clock.now_ns()
        refusal = gw.logon_limits.refusal(slot.name, now)
        if refusal is not None:
            self._refuse(slot, refusal, now)
            return
        check = partial(
            authenticate, slot.config, msg, self.peer_ip, now, replay_guard=gw.replay_guard
        )
        if slot.config.auth.method == "password":
            # scrypt costs tens of milliseconds: off the event loop, a few at a time.
            future = gw.password_checks.submit(check)
            if future is None:
                self._refuse(slot, "too many Logons being checked: try again later", now)
                return
            self._set_busy(True)
            future.add_done_callback(partial(self._password_checked, slot, msg, now))
            return
        self._authenticated(slot, msg, now, check())

    def _password_checked(
        self, slot: SessionSlot, msg: FixMessage, now: int, future: asyncio.Future[AuthResult]
    ) -> None:
        self._set_busy(False)
        if self._closing:
            return
        try:
            result = future.result()
        except Exception as exc:
            result = AuthResult(ok=False, reason="authentication failed")
            _log.error("authentication_error", session=slot.name, error=repr(exc))
        try:
            self._authenticated(slot, msg, now, result)
        except JournalFailed as exc:
            self._abort(f"journal failed: {exc}")
            return
        self._pump()

    def _refuse(self, slot: SessionSlot, reason: str, now: int) -> None:
        """An unsequenced Logout naming `reason`, then close (the connection stays unbound)."""
        _log.warning("logon_refused", session=slot.name, peer=self.peer, reason=reason)
        self._execute_unbound(slot.session.refuse_logon(reason, now))

    def _authenticated(
        self, slot: SessionSlot, msg: FixMessage, now: int, result: AuthResult
    ) -> None:
        gw = self._gw
        if not result.ok:
            auth = slot.config.auth
            limits = gw.logon_limits
            if limits.record_failure(
                slot.name, self.peer_ip, now, auth, credentials=result.credentials
            ):
                gw.audit(
                    "session.lock",
                    session=slot.name,
                    failures=auth.lockout_failures,
                    window_seconds=auth.lockout_window_seconds,
                    lockout_seconds=auth.lockout_seconds,
                    peer=self.peer,
                )
            self._refuse(slot, result.reason, now)
            return
        if slot.connection is not None:
            self._close(f"duplicate Logon for session {slot.name}: already connected")
            return
        slot.connection = self
        self.slot = slot
        slot.peer = self.peer
        slot.session.on_connected(now)
        self._execute(slot.session.on_message(msg, now))
        if slot.session.logged_on:
            gw.logon_limits.record_success(slot.name, self.peer_ip)
            slot.logons += 1
            _log.info("logon", session=slot.name, peer=self.peer)
            gw.application.on_logon(slot.name, msg)

    def _on_message(self, slot: SessionSlot, msg: FixMessage, now: int) -> None:
        session = slot.session
        state = session.state
        throttled: str | None = None
        if (state is _ACTIVE or state is _AWAITING_LOGOUT) and msg.msg_type not in _UNTHROTTLED:
            verdict = slot.throttle.check(now)
            if verdict is not _ALLOW:
                slot.throttle_hits += 1
                limit = slot.config.throttle.messages_per_second
                throttled = f"throttle limit exceeded: {limit} messages per second"
                if state is _AWAITING_LOGOUT:
                    self._throttle_wait(slot, now)  # logging out already: drop it
                    return
                if verdict is _ABUSE:
                    cooldown = slot.config.throttle.cooldown_seconds
                    _log.warning(
                        "throttle_abuse", session=slot.name, peer=self.peer, cooldown=cooldown
                    )
                    self._gw.logon_limits.start_cooldown(slot.name, now + cooldown * 1_000_000_000)
                    self._execute(session.logout(now, f"{throttled}, sustained"))
                    self._throttle_wait(slot, now)
                    return
                if verdict is _DROP:  # one reject per interval was sent: consume it, unanswered
                    self._execute(session.on_message(msg, now, throttled=throttled, silent=True))
                    self._throttle_wait(slot, now)
                    return
        if throttled is None:
            self._execute(session.on_message(msg, now))
        else:
            self._execute(session.on_message(msg, now, throttled=throttled))
            self._throttle_wait(slot, now)

    def _throttle_wait(self, slot: SessionSlot, now: int) -> None:
        if not self._busy:
            # Read nothing more from this sender until its bucket has a token again: its
            # excess waits in the kernel and TCP pushes back on it alone, instead of every
            # excess message costing a journaled Reject that delays everyone's replies.
            wait_ns = slot.throttle.ns_until_allowed(now)
            if wait_ns > 0:
                self._set_busy(True)
                asyncio.get_running_loop().call_later(wait_ns / 1e9, self._throttle_over)

    def _throttle_over(self) -> None:
        self._set_busy(False)
        self._pump()

    # -- carrying out actions -----------------------------------------------------------------

    def _execute_unbound(self, actions: list[Action]) -> None:
        """Actions of a connection that belongs to no session (a refused Logon)."""
        for action in actions:
            if isinstance(action, WriteRaw):
                self._write(action.data)
            elif isinstance(action, Disconnect):
                self._close(action.reason)

    def _execute(self, actions: list[Action], *, save_seqs: bool = True) -> None:
        slot = self.slot
        if slot is None:
            self._execute_unbound(actions)
            return
        seq = self._gw.sequencer
        name = slot.name
        for action in actions:
            tp = type(action)  # the frequent ones by identity, in order of frequency
            if tp is Deliver:
                self._gw.deliver(name, action.msg, action.ts_recv)  # type: ignore[union-attr]
            elif tp is SaveSeqs:
                # The session's numbers now, never older than the action's: an application
                # reply carried out in between (Deliver) may have taken an outbound number.
                if save_seqs:
                    self._gw.save_seqs(slot)
            elif tp is Send:  # (type checked above: no isinstance assert on the hot path)
                data = action.data  # type: ignore[union-attr]
                seq.record_outbound(name, action.seq, data, admin=action.admin)  # type: ignore[union-attr]
                seq.after_commit(partial(self._write, data))
            elif isinstance(action, ResetStore):
                seq.record_session_reset(name)
                self._gw.application.on_session_reset(name)
            elif isinstance(action, Resend):
                self._resending = True
                self._set_busy(True)
                seq.after_commit(partial(self._start_resend, action.begin, action.end))
            elif isinstance(action, WriteRaw):
                seq.after_commit(partial(self._write, action.data))
            elif isinstance(action, Disconnect):
                self._closing = True
                seq.after_commit(partial(self._close, action.reason, clean=action.clean))

    def send_frames(self, actions: list[Action]) -> None:
        """`Gateway.send`'s path for one application message of this (logged-on) connection's
        session: store and (after commit) write its `Send`s, anything else as `_execute` does,
        in order, except `SaveSeqs`: the caller saves the session's numbers once per call."""
        assert self.slot is not None
        self._execute(actions, save_seqs=False)

    def _write(self, data: bytes) -> None:
        transport = self._transport
        if transport is None or transport.is_closing():
            return
        out = self._out
        out.append(data)
        if len(out) == 1:  # first frame since the last flush: one write for all of them
            asyncio.get_running_loop().call_soon(self._flush)
        gw = self._gw
        start = data.find(b"\x0135=") + 4  # MsgType, for the metrics
        msg_type = data[start : data.find(b"\x01", start)]
        gw.messages_out[msg_type] = gw.messages_out.get(msg_type, 0) + 1
        if gw.log_messages:
            self._log_message("fix_out", data)
        if gw.message_log is not None and self.slot is not None:
            gw.message_log.add(self.slot.name, "out", data)

    def _flush(self) -> None:
        """Write what `_write` queued since the last flush in one `transport.write`."""
        out = self._out
        if not out:
            return
        data = out[0] if len(out) == 1 else b"".join(out)
        out.clear()
        transport = self._transport
        if transport is not None and not transport.is_closing():
            transport.write(data)
            if self.slot is not None:
                self.slot.ts_last_out = self._gw.clock.now_ns()

    def _log_message(self, event: str, raw: bytes) -> None:
        """The usual one-message-per-line FIX log (SOH shown as |), per session."""
        if not self._gw.log_heartbeats and b"\x0135=0\x01" in raw:
            return
        name = self.slot.name if self.slot is not None else None
        _log.info(event, session=name, msg=raw.replace(b"\x01", b"|").decode("latin-1"))

    def _start_resend(self, begin: int, end: int) -> None:
        task = asyncio.get_running_loop().create_task(self._resend(begin, end))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    async def _resend(self, begin: int, end: int) -> None:
        """Page stored messages begin..end out of the journal and write their resent forms."""
        slot = self.slot
        try:
            if slot is None or self._closing:
                return
            plan = slot.session.resend_plan(begin, end)
            clock = self._gw.clock
            while not plan.done:
                rows = await self._gw.journal.read_outbound(
                    slot.name, plan.next_begin, plan.end, RESEND_PAGE
                )
                for frame in plan.feed(rows, clock.now_ns()):
                    self._write(frame)
                if len(rows) < RESEND_PAGE:
                    break
                await self._can_write.wait()
                if self.is_closing():
                    return
            for frame in plan.finish(clock.now_ns()):
                self._write(frame)
        except Exception as exc:
            _log.exception("resend_failed", session=slot.name if slot else None)
            self._abort(f"resend failed: {exc}")
        finally:
            self._resending = False
            self._set_busy(False)
        self._pump()

    # -- timers and closing -------------------------------------------------------------------

    def tick(self, now_ns: int, mono_ns: int) -> None:
        """Called by the gateway a few times a second."""
        if self._closing:
            return
        cfg = self._gw.config
        paused = self._ts_write_paused
        if paused is not None and mono_ns - paused >= cfg.slow_consumer_seconds * 1_000_000_000:
            if self.slot is not None:
                self.slot.slow_consumer_cuts += 1
            self._abort("slow consumer: outbound buffer over its limit for too long")
            return
        slot = self.slot
        if slot is None:
            if not self._busy and mono_ns - self._ts_connected >= (
                cfg.logon_timeout_seconds * 1_000_000_000
            ):
                self._close("no Logon within logon_timeout_seconds")
            return
        if self._resending:
            return  # timers wait: nothing may interleave with the resent messages
        try:
            self._execute(slot.session.on_timer(now_ns))
        except JournalFailed as exc:
            self._abort(f"journal failed: {exc}")

    def logout(self, text: str) -> None:
        """Start a Logout (gateway shutdown, operator)."""
        slot = self.slot
        if slot is None:
            self._close(text)
            return
        try:
            self._execute(slot.session.logout(self._gw.clock.now_ns(), text))
        except JournalFailed as exc:
            self._abort(f"journal failed: {exc}")

    def _release(self, reason: str, *, clean: bool = False) -> None:
        slot = self.slot
        if slot is None or slot.connection is not self:
            return
        was_logged_on = slot.session.logged_on
        slot.session.on_disconnected()
        slot.connection = None
        _log.info("session_disconnected", session=slot.name, peer=self.peer, reason=reason)
        if was_logged_on:
            self._gw.application.on_logout(slot.name, clean)

    def _close(self, reason: str, *, clean: bool = False) -> None:
        self._closing = True
        self._release(reason, clean=clean)
        if self.slot is None:
            _log.info("connection_closed", peer=self.peer, reason=reason)
        self._flush()  # frames queued before the close leave before it
        if self._transport is not None and not self._transport.is_closing():
            self._transport.close()

    def _abort(self, reason: str) -> None:
        self._closing = True
        self._release(reason)
        _log.warning("connection_aborted", peer=self.peer, reason=reason)
        if self._transport is not None:
            self._transport.abort()

    def is_closing(self) -> bool:
        return self._closing

    def abort(self, reason: str) -> None:
        self._abort(reason)
