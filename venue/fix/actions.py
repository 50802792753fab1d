"""What the pure FIX session asks its gateway to do.

`Session.on_message`, `on_timer`, `send_application` and `logout` return a list of these; the
gateway carries them out in list order and never reorders them.

Invariants:
- `Send` carries a complete encoded frame that already took the outbound sequence number `seq`
  (the session owns next_out). The gateway records it in the sequencer's pending batch
  (`record_outbound`) and writes it to the socket only after that batch commits.
- `WriteRaw` is the one exception: a frame outside the session's sequence (a Logout refusing a
  Logon); it is neither stored nor counted, and may be written at once.
- `SaveSeqs` asks to persist the session's next inbound and outbound numbers in the same batch
  as the actions before it. It carries the numbers as they were when it was made (for tests
  and logs); the gateway records the session's numbers as they are when it carries the action
  out, which are never older (an application reply may have taken a number in between).
- `Disconnect` is carried out after every earlier action has been committed and written.
- `Resend` names an inclusive range of outbound numbers already clamped to what was sent; the
  gateway pages through the store (`journal.read_outbound`) and turns each page into frames with
  `Session.resend_plan`, never loading the whole range at once.
"""

from __future__ import annotations

import msgspec

from venue.fix.codec import FixMessage

__all__ = [
    "Action",
    "Deliver",
    "Disconnect",
    "Resend",
    "ResetStore",
    "SaveSeqs",
    "Send",
    "WriteRaw",
]


class Send(msgspec.Struct, frozen=True, kw_only=True):
    """A sequenced outbound frame: store it, then write it after the batch commits."""

    seq: int
    msg_type: bytes
    data: bytes
    admin: bool


class WriteRaw(msgspec.Struct, frozen=True, kw_only=True):
    """An unsequenced frame (a Logout refusing a Logon): write it now, store nothing."""

    data: bytes


class Deliver(msgspec.Struct, frozen=True, kw_only=True):
    """An in-sequence application message for the application."""

    msg: FixMessage
    ts_recv: int


class SaveSeqs(msgspec.Struct, frozen=True, kw_only=True):
    """Persist the session's sequence numbers in the current batch."""

    next_in: int
    next_out: int


class ResetStore(msgspec.Struct, frozen=True, kw_only=True):
    """Delete the session's stored outbound messages (sequence reset), in the current batch."""


class Resend(msgspec.Struct, frozen=True, kw_only=True):
    """Answer a ResendRequest: outbound numbers `begin` through `end`, both inclusive."""

    begin: int
    end: int


class Disconnect(msgspec.Struct, frozen=True, kw_only=True):
    """Close the connection once everything before it has been written. `clean`: the session
    ended with a completed Logout exchange (not an error, a timeout or a lost connection)."""

    reason: str
    clean: bool = False


Action = Send | WriteRaw | Deliver | SaveSeqs | ResetStore | Resend | Disconnect
