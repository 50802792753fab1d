"""The FIX 4.4 session layer as a pure state machine: messages and time in, actions out.

`Session.on_message(msg, now_ns)` and `Session.on_timer(now_ns)` return lists of actions
(`venue.fix.actions`) that the gateway carries out in order. No sockets, no clock, no asyncio;
time is always passed in. The behaviour follows FIX 4.4 Volume 2 and, where the standard leaves
room, what the QuickFIX acceptor does (the conformance scripts in `tests/conformance/`).

Invariants:
- State is one explicit `State`: DISCONNECTED → AWAITING_LOGON → ACTIVE → AWAITING_LOGOUT →
  DISCONNECTED. Nothing but a Logon is accepted in AWAITING_LOGON; anything else disconnects.
  A refused Logon (any reason, MsgSeqNum too low included) never leaves AWAITING_LOGON, so
  `logged_on` is true only for a connection whose Logon was accepted.
- The session owns next_out: every sequenced outbound frame is built here, takes the next
  number, and leaves as a `Send`; `SaveSeqs` follows every change of next_in or next_out, so the
  numbers persist with the batch that carries the frames. Resent frames (PossDupFlag=Y) and
  gap fills reuse old numbers and never move next_out.
- next_in moves only forward, by one per accepted in-sequence message, by SequenceReset, or to 1
  by a reset (ResetSeqNumFlag on Logon, reset on every Logon, a daily reset, an operator).
- A message above next_in is queued (at most `max_queue`, bounded memory) and a ResendRequest
  for next_in..infinity is sent unless one covering it is outstanding; queued messages are
  processed one per `process_queued` call once the gap is filled, so an application reply
  always takes its outbound number before the next queued message is looked at.
- A message below next_in without PossDupFlag=Y is a Logout and a disconnect; with it, it is
  ignored after the OrigSendingTime checks.
- One inbound message is handed to the application (`Deliver`) at most once per number.
- A daily reset (`daily_reset_at`, UTC) applies at the first Logon after a reset time that lies
  after the previous Logon (`ts_last_logon`, saved with the sequence numbers and given back at
  start-up, so a reset time passed while the venue was down counts; else the creation time).
- Frames without PossDupFlag, OrigSendingTime or extra header come from the session's
  `FrameEncoder` (its constant header parts made once), byte for byte what `encode` writes.
  An in-sequence application message that passes every check takes a shorter path to the
  same actions; any other message takes the full one.
"""

from __future__ import annotations

from collections.abc import Sequence

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
from venue.fix.codec import FixMessage, FrameEncoder, encode, format_utc_timestamp, parse_frame
from venue.fix.codec import parse_utc_timestamp as parse_ts
from venue.fix.session_types import (
    RejectInfo,
    SessionSettings,
    State,
    Validator,
    daily_reset_due,
)
from venue.fix.store import ResendPlan

__all__ = [
    "ADMIN_MSG_TYPES",
    "RejectInfo",
    "ResendPlan",
    "Session",
    "SessionSettings",
    "State",
    "daily_reset_due",
]

ADMIN_MSG_TYPES = frozenset({b"0", b"1", b"2", b"3", b"4", b"5", b"A"})
_DISCONNECTED = State.DISCONNECTED
_AWAITING_LOGON = State.AWAITING_LOGON
_ACTIVE = State.ACTIVE
_AWAITING_LOGOUT = State.AWAITING_LOGOUT
_NS = 1_000_000_000
# Routing header fields and their counterparts in a reply (QuickFIX `reverseRoute`).
_REVERSE_ROUTE = ((115, 128), (128, 115), (116, 129), (129, 116), (144, 145), (145, 144))
# Header fields the encoder writes itself; everything else of a stored frame is re-sent as is.
_OWN_HEADER = frozenset({8, 9, 10, 34, 35, 43, 49, 52, 56, 97, 122})
_HEADER_TAGS = (8, 34, 52, 49, 56)  # what the in-sequence fast path reads (`FixMessage.pick`)
_EXTRA_HEADER = frozenset({115, 116, 128, 129, 142, 143, 144, 145, 50, 57, 90, 91, 347, 369})

# SessionRejectReason (373) values used by the session itself.
REQUIRED_TAG_MISSING = 1
VALUE_IS_INCORRECT = 5
COMPID_PROBLEM = 9
SENDING_TIME_ACCURACY = 10
OTHER = 99
# BusinessRejectReason (380)
BUSINESS_OTHER = 0


def _reverse_route(msg: FixMessage) -> list[tuple[int, bytes]]:
    return [(dst, value) for src, dst in _REVERSE_ROUTE if (value := msg.get(src))]


class Session:
    """One counterparty session: sequence numbers, timers and the FIX session protocol."""

    def __init__(
        self,
        settings: SessionSettings,
        validator: Validator,
        *,
        next_in: int = 1,
        next_out: int = 1,
        ts_created: int = 0,
        ts_last_logon: int = 0,
    ) -> None:
        self.settings = settings
        self._validate = validator
        self.state = State.DISCONNECTED
        self.next_in = next_in
        self.next_out = next_out
        self._begin = settings.begin_string.encode()
        self._sender = settings.venue_comp_id.encode()
        self._target = settings.client_comp_id.encode()
        self._encoder = FrameEncoder(
            begin_string=self._begin, sender=self._sender, target=self._target
        )
        self._tolerance_ns = settings.sending_time_tolerance_seconds * _NS
        self.heartbeat_ns = 30 * _NS
        self.ts_last_in = 0
        self.ts_last_out = 0
        self.ts_last_logon = ts_last_logon or ts_created  # saved one, else the creation time
        self._ts_logout_sent = 0
        self._test_requests = 0  # TestRequests sent since the last message received
        self._queue: dict[int, FixMessage | None] = {}  # None: already handled, only counted
        self._resend_range: tuple[int, int] | None = None  # what our ResendRequest asked for
        self.messages_in = 0
        self.messages_out = 0
        self._sending_text = b""  # the last SendingTime parsed, and its nanoseconds
        self._sending_ns: int | None = None

    # -- life cycle ---------------------------------------------------------------------------

    def on_connected(self, now_ns: int) -> None:
        """A transport is bound to this session; the next message must be a Logon."""
        self.state = State.AWAITING_LOGON
        self.ts_last_in = now_ns
        self._test_requests = 0

    def on_disconnected(self) -> None:
        """The transport is gone. Sequence numbers stay; the queue and resend state do not."""
        self.state = State.DISCONNECTED
        self._queue.clear()
        self._resend_range = None

    def reset(self) -> list[Action]:
        """Operator reset of both sequence numbers (only while no one is logged on)."""
        if self.state not in (State.DISCONNECTED, State.AWAITING_LOGON):
            raise RuntimeError("cannot reset a logged-on session; log it out first")
        self.next_in = self.next_out = 1
        return [ResetStore(), self._seqs()]

    def refuse_logon(self, text: str, now_ns: int) -> list[Action]:
        """An unsequenced Logout naming why a Logon is refused, then a disconnect."""
        data = self._frame(b"5", [(58, text.encode())], self.next_out, now_ns)
        return [WriteRaw(data=data), Disconnect(reason=text)]

    @property
    def logged_on(self) -> bool:
        return self.state is _ACTIVE or self.state is _AWAITING_LOGOUT

    # -- building frames ----------------------------------------------------------------------

    def _frame(
        self,
        msg_type: bytes,
        body: Sequence[tuple[int, bytes]],
        seq: int,
        now_ns: int,
        *,
        poss_dup: bool = False,
        orig_sending_time: bytes | None = None,
        extra_header: Sequence[tuple[int, bytes]] = (),
    ) -> bytes:
        if not poss_dup and orig_sending_time is None and not extra_header:
            return self._encoder.frame(msg_type, seq, now_ns, body)
        return encode(
            msg_type,
            begin_string=self._begin,
            sender=self._sender,
            target=self._target,
            seq=seq,
            sending_time=self._encoder.sending_time(now_ns),
            body=body,
            poss_dup=poss_dup,
            orig_sending_time=orig_sending_time,
            extra_header=extra_header,
        )

    def _send(
        self,
        msg_type: bytes,
        body: Sequence[tuple[int, bytes]],
        now_ns: int,
        extra_header: Sequence[tuple[int, bytes]] = (),
    ) -> Send:
        seq = self.next_out
        if extra_header:
            data = self._frame(msg_type, body, seq, now_ns, extra_header=extra_header)
        else:
            data = self._encoder.frame(msg_type, seq, now_ns, body)
        self.next_out = seq + 1
        self.ts_last_out = now_ns
        self.messages_out += 1
        return Send(seq=seq, msg_type=msg_type, data=data, admin=msg_type in ADMIN_MSG_TYPES)

    def _seqs(self) -> SaveSeqs:
        return SaveSeqs(next_in=self.next_in, next_out=self.next_out)

    def _logout(self, now_ns: int, text: str = "") -> Send:
        self.state = State.AWAITING_LOGOUT
        self._ts_logout_sent = now_ns
        return self._send(b"5", [(58, text.encode())] if text else [], now_ns)

    def _reject(
        self, msg: FixMessage, reason: int, ref_tag: int | None, text: str, now_ns: int
    ) -> Send:
        """Session-level Reject (35=3); consumes the rejected message's number if it is next."""
        body: list[tuple[int, bytes]] = []
        ref_seq = msg.get_int(34)
        # RefSeqNum is required and a SeqNum: never echo garbage; 0 (no message has it) when
        # the message has no usable MsgSeqNum (missing, or too long to be one).
        body.append((45, b"%d" % ref_seq if ref_seq is not None and ref_seq >= 0 else b"0"))
        if msg.msg_type:
            body.append((372, msg.msg_type))
        body.append((373, b"%d" % reason))
        if ref_tag is not None:
            body.append((371, b"%d" % ref_tag))
        if text:
            body.append((58, text.encode()))
        seq = msg.get_int(34)
        if msg.msg_type not in (b"A", b"4") and seq == self.next_in:
            self._advance_in()
        return self._send(b"3", body, now_ns, extra_header=_reverse_route(msg))

    def _advance_in(self, to: int | None = None) -> None:
        next_in = self.next_in = self.next_in + 1 if to is None else to
        rng = self._resend_range
        if rng is not None and next_in > rng[1]:
            self._resend_range = None

    # -- inbound ------------------------------------------------------------------------------

    def on_message(
        self, msg: FixMessage, now_ns: int, *, throttled: str | None = None, silent: bool = False
    ) -> list[Action]:
        """Process one inbound message. `throttled` (a text naming the limit) turns an
        in-sequence application message into a BusinessMessageReject instead of a delivery,
        and a Heartbeat, TestRequest or Reject into a session Reject (373=99); with `silent`
        as well, such a message only takes its number (nothing is answered). Messages that
        keep the session itself working (Logon, Logout, ResendRequest, SequenceReset) are
        processed as usual."""
        self.messages_in += 1
        state = self.state
        if state is _DISCONNECTED:
            return []
        if state is _AWAITING_LOGON:
            return self._on_logon(msg, now_ns)
        return self._process(msg, now_ns, throttled, silent)

    @property
    def has_queued(self) -> bool:  # False: `process_queued` has nothing to do
        return bool(self._queue)

    def process_queued(self, now_ns: int) -> list[Action] | None:
        """Process the queued message whose number is next, if any; None when there is none."""
        if not self._queue or not self.logged_on:
            return None
        queued = self._queue.pop(self.next_in, _MISSING)
        if queued is _MISSING:
            # Drop anything that a SequenceReset moved past.
            for stale in [s for s in self._queue if s < self.next_in]:
                del self._queue[stale]
            return None
        if queued is None:
            self._advance_in()
            return [self._seqs()]
        assert isinstance(queued, FixMessage)
        return self._process(queued, now_ns, None)

    def _bad_time(self, msg: FixMessage, now_ns: int) -> bool:
        value = msg.get(52)
        return value is None or self._bad_sending_time(value, now_ns)

    def _bad_sending_time(self, value: bytes, now_ns: int) -> bool:
        """SendingTime `value` is no timestamp or off by more than the tolerance. The last text
        parsed is remembered: messages of one millisecond share it (parse_ts is pure)."""
        if value != self._sending_text:
            self._sending_ns = parse_ts(value)
            self._sending_text = value
        ts = self._sending_ns
        return ts is None or abs(now_ns - ts) > self._tolerance_ns

    def _on_logon(self, msg: FixMessage, now_ns: int) -> list[Action]:
        if msg.msg_type != b"A":
            return [Disconnect(reason=f"first message is not a Logon (35={msg.msg_type!r})")]
        if msg.get(8) != self._begin:
            return [Disconnect(reason="Logon with a wrong BeginString")]
        info = self._validate(msg)
        if info is not None:
            return [Disconnect(reason=f"invalid Logon: {info.text} (tag {info.ref_tag})")]
        if msg.get(49) != self._target or msg.get(56) != self._sender:
            return [Disconnect(reason="Logon CompIDs do not match the session")]
        if self._bad_time(msg, now_ns):
            return [Disconnect(reason="Logon SendingTime accuracy problem")]
        seq = msg.get_int(34)
        hb = msg.get_int(108)
        s = self.settings
        if hb is None or not s.heartbeat_min_seconds <= hb <= s.heartbeat_max_seconds:
            text = (
                f"HeartBtInt must be between {s.heartbeat_min_seconds} "
                f"and {s.heartbeat_max_seconds}"
            )
            return self.refuse_logon(text, now_ns)
        if seq is None or seq < 1:
            return [Disconnect(reason="Logon without a valid MsgSeqNum")]
        actions: list[Action] = []
        reset_requested = msg.get(141) == b"Y"
        if (
            reset_requested
            or s.reset_on_logon
            or daily_reset_due(s.daily_reset_at, self.ts_last_logon, now_ns)
        ):
            self.next_in = self.next_out = 1
            actions.append(ResetStore())
        self.ts_last_logon = now_ns
        if seq < self.next_in:
            # Refused: the Logout takes a number (as QuickFIX's does) but the session never
            # becomes logged on, so nothing that follows a logged-on session's end (cancel on
            # disconnect or logout) can follow this connection's end.
            text = f"MsgSeqNum too low, expecting {self.next_in} but received {seq}"
            logout = self._send(b"5", [(58, text.encode())], now_ns)
            actions += [logout, self._seqs(), Disconnect(reason=text)]
            return actions
        self.heartbeat_ns = hb * _NS
        self.ts_last_in = now_ns
        self._test_requests = 0
        self._queue.clear()
        self._resend_range = None
        body = [(98, b"0"), (108, b"%d" % hb)]
        if reset_requested:
            body.append((141, b"Y"))
        actions.append(self._send(b"A", body, now_ns))
        self.state = State.ACTIVE
        if seq > self.next_in:
            actions += self._too_high(None, seq, now_ns)
        else:
            self._advance_in()
        actions.append(self._seqs())
        return actions

    def _too_high(self, msg: FixMessage | None, seq: int, now_ns: int) -> list[Action]:
        """Queue `msg` (None: handled already, only to be counted) and ask for the gap."""
        if len(self._queue) < self.settings.max_queue or seq in self._queue:
            self._queue[seq] = msg
        rng = self._resend_range
        if rng is not None and seq >= rng[0]:
            return []  # the outstanding ResendRequest covers it
        self._resend_range = (self.next_in, seq - 1)
        return [self._send(b"2", [(7, b"%d" % self.next_in), (16, b"0")], now_ns)]

    def _process(
        self, msg: FixMessage, now_ns: int, throttled: str | None, silent: bool = False
    ) -> list[Action]:
        mt = msg.msg_type
        begin, seq_b, sent_b, sender, target = msg.pick(_HEADER_TAGS)
        if begin != self._begin:
            if mt == b"5":
                return self._on_logout(msg, now_ns)
            actions: list[Action] = [self._logout(now_ns, "Incorrect BeginString")]
            self._advance_in()
            return [*actions, self._seqs(), Disconnect(reason="Incorrect BeginString")]
        info = self._validate(msg)
        if info is not None:
            actions = [self._reject(msg, info.reason, info.ref_tag, info.text, now_ns)]
            if mt == b"A":
                actions.append(Disconnect(reason=f"invalid Logon: {info.text}"))
            return [*actions, self._seqs()]
        # An in-sequence application message passing the checks below: same outcome
        # (MsgSeqNum read as `get_int` reads a number equal to next_in >= 1: digits).
        if (
            mt not in ADMIN_MSG_TYPES
            and throttled is None
            and seq_b is not None
            and seq_b.isdigit()
            and len(seq_b) <= 18
            and sent_b is not None
            and int(seq_b) == self.next_in
            and sender == self._target
            and target == self._sender
            and not self._bad_sending_time(sent_b, now_ns)
        ):
            self.ts_last_in = now_ns
            self._test_requests = 0
            self._advance_in()
            return [Deliver(msg=msg, ts_recv=now_ns), self._seqs()]
        if mt == b"A":
            return self._on_second_logon(msg, now_ns)
        seq = msg.get_int(34)
        if seq is None:  # a validator always catches this; be safe without one
            return [self._reject(msg, REQUIRED_TAG_MISSING, 34, "Required tag missing", now_ns)]
        # The checks QuickFIX calls `verify`: SendingTime, CompIDs, then sequence numbers.
        if self._bad_time(msg, now_ns):
            reject = self._reject(
                msg, SENDING_TIME_ACCURACY, None, "SendingTime accuracy problem", now_ns
            )
            return [reject, self._logout(now_ns), self._seqs()]
        if msg.get(49) != self._target or msg.get(56) != self._sender:
            reject = self._reject(msg, COMPID_PROBLEM, None, "CompID problem", now_ns)
            return [reject, self._logout(now_ns), self._seqs()]
        self.ts_last_in = now_ns
        self._test_requests = 0
        gap_fill = mt == b"4" and msg.get(123) == b"Y"
        check_seq = mt not in (b"5", b"2") and (mt != b"4" or gap_fill)
        if check_seq and seq > self.next_in:
            return [*self._too_high(msg, seq, now_ns), self._seqs()]
        if check_seq and seq < self.next_in:
            return self._too_low(msg, seq, now_ns)
        if throttled is not None and mt in (b"0", b"1", b"3"):
            # Over the limit: a session Reject (373=99 Other) naming it, number consumed.
            if silent:
                self._advance_in()
                return [self._seqs()]
            return [self._reject(msg, OTHER, None, throttled, now_ns), self._seqs()]
        if mt == b"0":
            self._advance_in()
            return [self._seqs()]
        if mt == b"1":
            reply = self._send(b"0", [(112, msg.get(112) or b"")], now_ns)
            self._advance_in()
            return [reply, self._seqs()]
        if mt == b"2":
            return self._on_resend_request(msg, seq, now_ns)
        if mt == b"3":
            self._advance_in()
            return [self._seqs()]
        if mt == b"4":
            return self._on_sequence_reset(msg, now_ns)
        if mt == b"5":
            return self._on_logout(msg, now_ns)
        # An application message, in sequence.
        self._advance_in()
        if throttled is not None:
            if silent:
                return [self._seqs()]
            body = [
                (45, b"%d" % seq),
                (372, mt),
                (380, b"%d" % BUSINESS_OTHER),
                (58, throttled.encode()),
            ]
            return [self._send(b"j", body, now_ns), self._seqs()]
        return [Deliver(msg=msg, ts_recv=now_ns), self._seqs()]

    def _too_low(self, msg: FixMessage, seq: int, now_ns: int) -> list[Action]:
        if msg.get(43) != b"Y":
            text = f"MsgSeqNum too low, expecting {self.next_in} but received {seq}"
            return [self._logout(now_ns, text), self._seqs(), Disconnect(reason=text)]
        if msg.msg_type == b"4":
            return []
        orig = msg.get(122)
        if orig is None:
            return [
                self._reject(msg, REQUIRED_TAG_MISSING, 122, "Required tag missing", now_ns),
                self._seqs(),
            ]
        ts_orig = parse_ts(orig)
        ts_sent = parse_ts(msg.get(52) or b"")
        if ts_orig is None or ts_sent is None or ts_orig > ts_sent:
            reject = self._reject(
                msg, SENDING_TIME_ACCURACY, None, "SendingTime accuracy problem", now_ns
            )
            return [reject, self._logout(now_ns), self._seqs()]
        return []  # a duplicate of something already processed: ignore it

    def _on_second_logon(self, msg: FixMessage, now_ns: int) -> list[Action]:
        """A Logon while logged on: only a sequence reset (141=Y) is allowed."""
        if msg.get(141) != b"Y":
            text = "Logon received while already logged on"
            return [self._logout(now_ns, text), self._seqs(), Disconnect(reason=text)]
        if self._bad_time(msg, now_ns):
            return [Disconnect(reason="Logon SendingTime accuracy problem")]
        seq = msg.get_int(34) or 1
        self.next_in = self.next_out = 1
        self._queue.clear()
        self._resend_range = None
        self.ts_last_in = now_ns
        self.ts_last_logon = now_ns
        hb = msg.get_int(108)
        if hb is not None and (
            self.settings.heartbeat_min_seconds <= hb <= self.settings.heartbeat_max_seconds
        ):
            self.heartbeat_ns = hb * _NS
        body = [(98, b"0"), (108, b"%d" % (self.heartbeat_ns // _NS)), (141, b"Y")]
        actions: list[Action] = [ResetStore(), self._send(b"A", body, now_ns)]
        if seq > self.next_in:
            actions += self._too_high(None, seq, now_ns)
        else:
            self._advance_in()
        return [*actions, self._seqs()]

    def _on_resend_request(self, msg: FixMessage, seq: int, now_ns: int) -> list[Action]:
        begin = msg.get_int(7) or 1
        end = msg.get_int(16) or 0
        last_sent = self.next_out - 1
        if end == 0 or end > last_sent:
            end = last_sent
        actions: list[Action] = []
        if 1 <= begin <= end:
            actions.append(Resend(begin=begin, end=end))
        if seq == self.next_in:
            self._advance_in()
        elif seq > self.next_in:
            actions += self._too_high(None, seq, now_ns)
        actions.append(self._seqs())
        return actions

    def _on_sequence_reset(self, msg: FixMessage, now_ns: int) -> list[Action]:
        new = msg.get_int(36)
        if new is None:
            return []
        if new > self.next_in:
            self._advance_in(new)
            return [self._seqs()]
        if new < self.next_in:
            text = "Value is incorrect (out of range) for this tag"
            reject = self._reject(msg, VALUE_IS_INCORRECT, None, text, now_ns)
            return [reject, self._seqs()]
        return []

    def _on_logout(self, msg: FixMessage, now_ns: int) -> list[Action]:
        if msg.get_int(34) == self.next_in:
            self._advance_in()
        if self.state is State.AWAITING_LOGOUT:
            return [self._seqs(), Disconnect(reason="Logout confirmed", clean=True)]
        reply = self._logout(now_ns)
        text = "Logout requested by the counterparty"
        return [reply, self._seqs(), Disconnect(reason=text, clean=True)]

    # -- outbound -----------------------------------------------------------------------------

    def send_application(
        self, msg_type: bytes, body: Sequence[tuple[int, bytes]], now_ns: int
    ) -> list[Action]:
        """An application message (built by the application) for this session's counterparty.

        It takes the next outbound number even while no one is logged on: the gateway then
        stores it without writing it, and the counterparty gets it by resend after its next
        Logon (whose reply shows the gap)."""
        seq = self.next_out
        data = self._encoder.frame(msg_type, seq, now_ns, body)
        self.next_out = seq + 1
        self.ts_last_out = now_ns
        self.messages_out += 1
        send = Send(seq=seq, msg_type=msg_type, data=data, admin=msg_type in ADMIN_MSG_TYPES)
        return [send, SaveSeqs(next_in=self.next_in, next_out=seq + 1)]

    def logout(self, now_ns: int, text: str = "") -> list[Action]:
        """Start the Logout handshake (operator, shutdown, throttle abuse)."""
        if self.state is State.ACTIVE:
            return [self._logout(now_ns, text), self._seqs()]
        if self.state is State.AWAITING_LOGON:
            return [Disconnect(reason=text or "logout before logon")]
        return []

    def on_timer(self, now_ns: int) -> list[Action]:
        """Heartbeats, TestRequests, heartbeat timeout and Logout timeout."""
        if self.state is State.AWAITING_LOGOUT:
            timeout = self.settings.logout_timeout_seconds * _NS
            if now_ns - self._ts_logout_sent >= timeout:
                return [Disconnect(reason="timed out waiting for Logout reply")]
            return []
        if self.state is not State.ACTIVE:
            return []
        hb = self.heartbeat_ns
        silent = now_ns - self.ts_last_in
        if silent * 10 >= hb * 24:
            return [Disconnect(reason="timed out waiting for a message (2.4 x HeartBtInt)")]
        if silent * 10 >= hb * 12 * (self._test_requests + 1):
            self._test_requests += 1
            return [self._send(b"1", [(112, b"TEST")], now_ns), self._seqs()]
        if self._test_requests == 0 and now_ns - self.ts_last_out >= hb:
            return [self._send(b"0", [], now_ns), self._seqs()]
        return []

    # -- resend -------------------------------------------------------------------------------

    def resend_plan(self, begin: int, end: int) -> ResendPlan:
        """A planner for one `Resend(begin, end)` action (fed page by page by the gateway)."""
        return ResendPlan(self, begin, end)

    def gap_fill(self, seq: int, new_seq: int, now_ns: int) -> bytes:
        """SequenceReset-GapFill standing in for outbound numbers seq..new_seq-1."""
        stamp = format_utc_timestamp(now_ns)
        return self._frame(
            b"4",
            [(36, b"%d" % new_seq), (123, b"Y")],
            seq,
            now_ns,
            poss_dup=True,
            orig_sending_time=stamp,
        )

    def possdup_copy(self, stored: bytes, now_ns: int) -> bytes | None:
        """A stored application frame re-sent with PossDupFlag=Y and OrigSendingTime."""
        parsed = parse_frame(stored)
        if not isinstance(parsed, FixMessage):
            return None
        seq = parsed.get_int(34)
        if seq is None:
            return None
        extra = [(t, v) for t, v in parsed.fields if t in _EXTRA_HEADER]
        body = [(t, v) for t, v in parsed.fields if t not in _OWN_HEADER and t not in _EXTRA_HEADER]
        return self._frame(
            parsed.msg_type,
            body,
            seq,
            now_ns,
            poss_dup=True,
            orig_sending_time=parsed.get(52),
            extra_header=extra,
        )


_MISSING = object()
