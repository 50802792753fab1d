"""The application seam: what the gateway does with application messages of a logged-on session.

Like QuickFIX's `Application`: the gateway hands every in-sequence application message of an
ACTIVE session to `on_message` and sends what it returns. The session layer has already
validated the message against the dictionary and consumed its sequence number.

Invariants:
- `on_message` answers synchronously with a list of `Outbound` messages (MsgType + body, no
  header); each names the session it is for, so later releases can answer other sessions
  (drop copies) through the same seam. The gateway numbers, stores and sends them.
- `PreOpenApplication` (this release) answers every NewOrderSingle with exactly one rejected
  ExecutionReport, ignores a NewOrderSingle with PossResend (97=Y) whose ClOrdID the session
  has already sent in the current FIX session (since the last sequence reset), and answers
  every other message type with BusinessMessageReject 380=3.
  Memory is bounded: at most `max_cl_ord_ids` ClOrdIDs are remembered per session, oldest
  forgotten first.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import Protocol

import msgspec

from venue.fix.codec import FixMessage

__all__ = ["Application", "Outbound", "PreOpenApplication"]

ORDER_ENTRY_CLOSED_TEXT = b"order entry opens with the order-entry release"
UNSUPPORTED_MESSAGE_TYPE = b"3"  # BusinessRejectReason (380)


class Outbound(msgspec.Struct, frozen=True, kw_only=True):
    """An application message for `session`: MsgType (35) and body fields in order."""

    session: str
    msg_type: bytes
    body: list[tuple[int, bytes]]


class Application(Protocol):
    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        """`session` completed its Logon (`logon`: the counterparty's Logon message)."""

    def on_logout(self, session: str, clean: bool = False) -> None:
        """`session` is no longer connected. `clean`: it ended with a completed Logout
        exchange; otherwise the connection was lost, timed out or was cut off."""

    def on_session_reset(self, session: str) -> None:
        """`session`'s sequence numbers were reset: a new FIX session begins."""

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        """One in-sequence application message; returns the messages to send."""
        ...


class PreOpenApplication:
    """Order entry is not open yet: every order is rejected, everything else is unsupported."""

    def __init__(self, *, max_cl_ord_ids: int = 100_000) -> None:
        self._seen: dict[str, OrderedDict[bytes, None]] = {}
        self._max = max_cl_ord_ids
        self._exec_seq = 0

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        self._seen.setdefault(session, OrderedDict())

    def on_logout(self, session: str, clean: bool = False) -> None:
        """ClOrdIDs are remembered across reconnects: a PossResend may follow a reconnect."""

    def on_session_reset(self, session: str) -> None:
        """A new FIX session: PossResend can only refer to messages of this one."""
        self._seen.pop(session, None)

    def _exec_id(self, ts_recv: int) -> bytes:
        self._exec_seq += 1
        return b"X%x-%d" % (ts_recv, self._exec_seq)

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        if msg.msg_type != b"D":
            reject = [
                (45, msg.get(34) or b"0"),
                (372, msg.msg_type),
                (380, UNSUPPORTED_MESSAGE_TYPE),
                (58, b"Unsupported Message Type"),
            ]
            return [Outbound(session=session, msg_type=b"j", body=reject)]
        cl_ord_id = msg.get(11) or b""
        seen = self._seen.setdefault(session, OrderedDict())
        if msg.get(97) == b"Y" and cl_ord_id in seen:
            return []  # a PossResend of an order already answered
        seen[cl_ord_id] = None
        seen.move_to_end(cl_ord_id)
        while len(seen) > self._max:
            seen.popitem(last=False)
        body: list[tuple[int, bytes]] = [
            (37, b"NONE"),
            (11, cl_ord_id),
            (17, self._exec_id(ts_recv)),
        ]
        body += [(150, b"8"), (39, b"8"), (103, b"99")]
        for tag in (55, 54, 38, 40):
            value = msg.get(tag)
            if value is not None:
                body.append((tag, value))
        body += [(151, b"0"), (14, b"0"), (6, b"0"), (58, ORDER_ENTRY_CLOSED_TEXT)]
        return [Outbound(session=session, msg_type=b"8", body=body)]
