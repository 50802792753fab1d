"""The FIX session's vocabulary: its states, its settings, the validator it is given, and the
daily reset rule. Pure values and one pure function; `venue.fix.session` re-exports them.

Invariants:
- `State` is the whole lifecycle: DISCONNECTED → AWAITING_LOGON → ACTIVE → AWAITING_LOGOUT.
- `SessionSettings` is immutable and built by the gateway from the session's configuration.
- `daily_reset_due` reads no clock: both instants are arguments (UTC nanoseconds).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from typing import Protocol

import msgspec

from venue.fix.codec import FixMessage

__all__ = ["RejectInfo", "SessionSettings", "State", "Validator", "daily_reset_due"]

_NS = 1_000_000_000
_DAY_NS = 86_400 * _NS


class RejectInfo(Protocol):
    """What a validator reports about a bad message (`venue.fix.validate.SessionRejectInfo`)."""

    @property
    def reason(self) -> int: ...

    @property
    def ref_tag(self) -> int | None: ...

    @property
    def text(self) -> str: ...


Validator = Callable[[FixMessage], RejectInfo | None]


class State(enum.Enum):
    DISCONNECTED = "disconnected"
    AWAITING_LOGON = "awaiting_logon"
    ACTIVE = "active"
    AWAITING_LOGOUT = "awaiting_logout"


class SessionSettings(msgspec.Struct, frozen=True, kw_only=True):
    """The parts of a session's configuration the state machine needs (built by the gateway)."""

    name: str
    venue_comp_id: str
    client_comp_id: str
    begin_string: str = "FIX.4.4"
    heartbeat_min_seconds: int = 1
    heartbeat_max_seconds: int = 300
    sending_time_tolerance_seconds: int = 120
    reset_on_logon: bool = False
    daily_reset_at: str | None = None  # "HH:MM" UTC
    logout_timeout_seconds: int = 2
    max_queue: int = 10_000


def daily_reset_due(daily_at: str | None, ts_prev: int, now_ns: int) -> bool:
    """True when a daily reset time `HH:MM` (UTC) lies in (ts_prev, now_ns]."""
    if daily_at is None or now_ns <= ts_prev:
        return False
    hh, mm = daily_at.split(":")
    offset = (int(hh) * 3600 + int(mm) * 60) * _NS
    # The last reset instant at or before now.
    last = (now_ns - offset) // _DAY_NS * _DAY_NS + offset
    return last > ts_prev
