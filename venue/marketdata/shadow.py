"""A replicated standby's shadow of the primary's feed, so a promotion continues the session.

The standby applies each replicated batch to its engine; the shadow translates the batch's
committed events exactly as the primary's publisher did (the same `FeedTranslator`), numbering
the messages from the primary's next feed sequence number, which every batch carries. On
promotion the publisher starts from `resume()`: same session, next sequence number, book and
re-request history, so feed handlers need no new snapshot.

Invariants:
- The shadow starts (or restarts) at a batch that names a feed session: from the engine state
  before that batch (the book a new session's preamble would describe, without numbering it)
  and the batch's feed sequence number.
- At every later batch the shadow's next sequence number must equal the primary's; a
  difference is logged and the shadow restarts there (`mismatches` counts them), so it never
  continues a session it does not match.
- Nothing is sent from here; the history is bounded like the publisher's.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from venue.log import get_logger
from venue.marketdata.publisher import FeedResume, MessageHistory
from venue.marketdata.translate import FeedTranslator

if TYPE_CHECKING:
    from collections.abc import Sequence

    from venue.core import Engine, Event

__all__ = ["FeedShadow"]

_log = get_logger("venue.marketdata")


class FeedShadow:
    def __init__(self, history_messages: int) -> None:
        self._cap = history_messages
        self.session = ""
        self._translator: FeedTranslator | None = None
        self._history = MessageHistory(history_messages)
        self.mismatches = 0

    @property
    def next_seq(self) -> int:
        return self._history.next_seq if self._translator is not None else 0

    def begin(self, session: str, feed_seq: int, engine: Engine, ts: int) -> None:
        """Before a batch is applied: the primary's feed session and next sequence number."""
        if not session or feed_seq < 1:
            self._translator = None  # the primary runs no feed
            return
        if self._translator is not None and session == self.session:
            if feed_seq == self._history.next_seq:
                return
            self.mismatches += 1
            _log.warning(
                "marketdata_shadow_mismatch",
                session=session,
                primary_next_seq=feed_seq,
                shadow_next_seq=self._history.next_seq,
            )
        translator = FeedTranslator()
        translator.preamble(engine, ts)  # the book as of now; its messages were the primary's
        self._translator = translator
        self._history = MessageHistory(self._cap, feed_seq)
        self.session = session

    def command(self, ts: int, events: Sequence[Event]) -> None:
        """After one command of the batch was applied."""
        if self._translator is not None:
            msgs = self._translator.on_command(ts, events)
            if msgs:
                self._history.extend(msgs)

    def reset(self) -> None:
        """A batch the shadow could not follow (partly applied before a restart)."""
        self._translator = None

    def resume(self) -> FeedResume | None:
        if self._translator is None:
            return None
        return FeedResume(self.session, self._translator, self._history)
