"""The outbound message store as the FIX layer sees it, and the plan that answers a resend.

The store itself lives in the journal (`venue.journal`, same transaction as the journal) and is
reached by the gateway; the FIX layer only describes what it needs (`OutboundStore`) and turns
pages of stored frames into what goes back on the wire (`ResendPlan`).

Invariants:
- A resend never loads a whole range: the gateway reads pages (`read_outbound(session, begin,
  end, limit)`) and feeds them in ascending order; `next_begin` says where the next page
  starts, so memory is bounded by one page whatever the range.
- Every number of the range is answered exactly once, in ascending order: an application
  message by its stored frame re-sent with PossDupFlag=Y and OrigSendingTime (the original
  SendingTime); a run of admin messages, of market-data messages (`GAP_FILLED_MSG_TYPES`:
  MarketDataSnapshotFullRefresh W and MarketDataIncrementalRefresh X) or of numbers missing
  from the store by one SequenceReset-GapFill whose NewSeqNo is the first number after the
  run. Market data is never replayed: old prices re-sent would read as the book now, and a
  subscription ends with its connection anyway (RoE section 13: subscribe again).
- Resending takes no new sequence numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

__all__ = ["GAP_FILLED_MSG_TYPES", "OutboundStore", "ResendFrames", "ResendPlan", "msg_type_of"]

# Application messages answered on resend by a gap fill instead of a PossDup copy.
GAP_FILLED_MSG_TYPES = frozenset({b"W", b"X"})


def msg_type_of(frame: bytes) -> bytes:
    """MsgType (35) of a stored frame (the codec always writes it third: 8, 9, 35)."""
    start = frame.find(b"\x0135=")
    if start < 0:
        return b""
    start += 4
    return frame[start : frame.find(b"\x01", start)]


class OutboundStore(Protocol):
    """Stored outbound frames of a session (`venue.journal.Journal` has this method)."""

    async def read_outbound(
        self, session: str, begin: int, end: int, limit: int
    ) -> list[tuple[int, bool, bytes]]:
        """(seq, admin, data) with begin <= seq <= end (end 0: no bound), ascending, <= limit."""
        ...


class ResendFrames(Protocol):
    """How the session builds the frames of a resend (`venue.fix.session.Session`)."""

    def gap_fill(self, seq: int, new_seq: int, now_ns: int) -> bytes: ...

    def possdup_copy(self, stored: bytes, now_ns: int) -> bytes | None: ...


class ResendPlan:
    """Turns pages of stored outbound messages into the frames that answer a ResendRequest.

    Application messages but market data are re-sent with PossDupFlag=Y; runs of admin and
    market-data messages and of numbers missing from the store become one
    SequenceReset-GapFill each. Feed pages in ascending
    order (`feed`), then call `finish`; `next_begin` is where the next page starts.
    """

    __slots__ = ("_gap_start", "_session", "end", "next_begin")

    def __init__(self, session: ResendFrames, begin: int, end: int) -> None:
        self._session = session
        self.next_begin = begin
        self.end = end
        self._gap_start: int | None = None

    @property
    def done(self) -> bool:
        return self.next_begin > self.end

    def feed(self, rows: Sequence[tuple[int, bool, bytes]], now_ns: int) -> list[bytes]:
        out: list[bytes] = []
        for seq, admin, data in rows:
            if seq < self.next_begin or seq > self.end:
                continue
            if seq > self.next_begin and self._gap_start is None:
                self._gap_start = self.next_begin  # numbers missing from the store
            replay = not admin and msg_type_of(data) not in GAP_FILLED_MSG_TYPES
            frame = self._session.possdup_copy(data, now_ns) if replay else None
            if frame is None:
                if self._gap_start is None:
                    self._gap_start = seq
            else:
                if self._gap_start is not None:
                    out.append(self._session.gap_fill(self._gap_start, seq, now_ns))
                    self._gap_start = None
                out.append(frame)
            self.next_begin = seq + 1
        return out

    def finish(self, now_ns: int) -> list[bytes]:
        start = self._gap_start
        if start is None and self.next_begin <= self.end:
            start = self.next_begin
        self.next_begin = self.end + 1
        self._gap_start = None
        if start is None:
            return []
        return [self._session.gap_fill(start, self.end + 1, now_ns)]
