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
- `RecentClOrdIds` (remembered ClOrdIDs for PossResend) is bounded twice: per session (the
  last `per_session` are always held, at most a quarter more) and in all (`total`: beyond it,
  the sessions logged out longest ago are forgotten first, whole). Sessions that are logged on
  are never forgotten for the total, so the memory is at most `total` plus 1.25 x
  `per_session` per logged-on session. A ClOrdID used again moves to the newest place.
"""

from __future__ import annotations

from itertools import islice
from typing import Protocol

from venue.fix.codec import FixMessage
from venue.fix.mapping import Reply

__all__ = ["Application", "Outbound", "PreOpenApplication", "RecentClOrdIds"]

ORDER_ENTRY_CLOSED_TEXT = b"order entry opens with the order-entry release"
UNSUPPORTED_MESSAGE_TYPE = b"3"  # BusinessRejectReason (380)


# An application message for `session`: MsgType (35) and body fields in order (a frozen,
# keyword-only struct: `Outbound(session=..., msg_type=..., body=...)`). The same class as the
# FIX mapping's `Reply`, so order entry hands the mapping's replies on as they are, without
# copying each into another struct.
Outbound = Reply


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


class RecentClOrdIds:
    """The ClOrdIDs each session sent lately, to recognise a NewOrderSingle sent again with
    PossResend (97=Y). Bounded per session and in all (see the module docstring)."""

    __slots__ = ("_away", "_per_session", "_seen", "_total", "_total_max", "_trim_at")

    def __init__(self, *, per_session: int = 1_000, total: int = 50_000) -> None:
        self._per_session = max(1, per_session)
        self._trim_at = self._per_session + self._per_session // 4
        self._total_max = max(1, total)
        self._seen: dict[str, dict[bytes, None]] = {}  # insertion order: oldest first
        self._away: dict[str, None] = {}  # logged-out sessions, longest away first
        self._total = 0

    def __len__(self) -> int:
        return self._total

    def __contains__(self, key: tuple[str, bytes]) -> bool:
        session, cl_ord_id = key
        seen = self._seen.get(session)
        return seen is not None and cl_ord_id in seen

    def remember(self, session: str, cl_ord_id: bytes) -> None:
        seen = self._seen.get(session)
        if seen is None:
            seen = self._seen[session] = {}
        if cl_ord_id in seen:
            del seen[cl_ord_id]  # used again: it moves to the newest place
        else:
            self._total += 1
        seen[cl_ord_id] = None
        if len(seen) > self._trim_at:  # trimmed in steps: O(1) amortised
            drop = len(seen) - self._per_session
            self._seen[session] = dict.fromkeys(islice(seen, drop, None))
            self._total -= drop
        if self._total > self._total_max:
            self._forget_away()

    def logged_on(self, session: str) -> None:
        self._away.pop(session, None)

    def logged_out(self, session: str) -> None:
        self._away.pop(session, None)
        self._away[session] = None

    def forget(self, session: str) -> None:
        """A new FIX session (sequence reset): PossResend can only refer to this one's."""
        seen = self._seen.pop(session, None)
        if seen is not None:
            self._total -= len(seen)

    def _forget_away(self) -> None:
        while self._total > self._total_max and self._away:
            session = next(iter(self._away))
            del self._away[session]
            self.forget(session)


class PreOpenApplication:
    """Order entry is not open yet: every order is rejected, everything else is unsupported."""

    def __init__(self, *, max_cl_ord_ids: int = 1_000, max_cl_ord_ids_total: int = 50_000) -> None:
        self._seen = RecentClOrdIds(per_session=max_cl_ord_ids, total=max_cl_ord_ids_total)
        self._exec_seq = 0

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        self._seen.logged_on(session)

    def on_logout(self, session: str, clean: bool = False) -> None:
        """ClOrdIDs are remembered across reconnects: a PossResend may follow a reconnect (a
        session away long may be forgotten first when the total bound is reached)."""
        self._seen.logged_out(session)

    def on_session_reset(self, session: str) -> None:
        """A new FIX session: PossResend can only refer to messages of this one."""
        self._seen.forget(session)

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
        if msg.get(97) == b"Y" and (session, cl_ord_id) in self._seen:
            return []  # a PossResend of an order already answered
        self._seen.remember(session, cl_ord_id)
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
