"""Session-machine fuzzing (issue 11): random sequences of valid and mutated messages (fields
inserted, deleted, swapped, repeated or corrupted; wrong sequence numbers, CompIDs, times;
PossDup without OrigSendingTime) fed to the pure session, from before the Logon and after it.
tests/fix/test_session_properties.py checks resend plans and reordering; these check that any
input at all is answered legally:

- `on_message`, `on_timer` and `process_queued` never raise;
- every sequenced frame it sends parses, names the venue and the client, and takes the next
  outbound number (no gap, no reuse); only session-level types are sent by the machine itself;
- application messages are delivered at most once each, in increasing MsgSeqNum order;
- a Reject (35=3) names an inbound MsgSeqNum (45) the session has seen, or none when the
  message's own MsgSeqNum is garbled;
- after a Disconnect (and the gateway's `on_disconnected`) the session says nothing more.
"""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fix.test_session import T0, S, make
from tests.fuzz.mutate import TYPES, fields_for, frame, mutate_fields
from venue.fix.actions import Action, Deliver, Disconnect, Send, WriteRaw
from venue.fix.codec import FixMessage, parse_frame
from venue.fix.session import Session, State

ADMIN = {b"0", b"1", b"2", b"3", b"4", b"5", b"A", b"j"}


class Checker:
    def __init__(self, session: Session) -> None:
        self.s = session
        self.next_out = session.next_out
        self.delivered: list[int] = []
        self.seen_in: set[int] = set()
        self.disconnected = False

    def feed(self, actions: list[Action]) -> None:
        for a in actions:
            assert not self.disconnected or not isinstance(a, Send | Deliver), a
            if isinstance(a, Send):
                m = parse_frame(a.data)
                assert isinstance(m, FixMessage), a
                assert a.seq == self.next_out == m.get_int(34), (a.seq, self.next_out)
                self.next_out += 1
                assert m.get(49) == b"ISLD" and m.get(56) == b"TW44"
                assert m.msg_type in ADMIN, m
                if m.msg_type == b"3":
                    # RefSeqNum is required: a number seen, or 0 for a message without a
                    # usable MsgSeqNum (no message has number 0).
                    assert m.get_int(45) == 0 or m.get_int(45) in self.seen_in, m
            elif isinstance(a, WriteRaw):
                assert isinstance(parse_frame(a.data), FixMessage)
            elif isinstance(a, Deliver):
                seq = a.msg.get_int(34) or 0
                assert not self.delivered or seq > self.delivered[-1], (seq, self.delivered)
                self.delivered.append(seq)
            elif isinstance(a, Disconnect) and not self.disconnected:
                self.disconnected = True
                self.s.on_disconnected()  # what the gateway does once the socket is closed
        if self.disconnected:
            assert self.s.state is State.DISCONNECTED


def inputs(rng: random.Random, n: int, logon_first: bool) -> list[FixMessage]:
    out: list[FixMessage] = []
    seq = 1
    for i in range(n):
        kind = b"A" if logon_first and i == 0 else rng.choice(TYPES)
        f = fields_for(kind, seq, T0 + i * S // 10, b"TW44", b"ISLD")
        if rng.random() < 0.4:
            f = mutate_fields(rng, f)
        if rng.random() < 0.1:
            seq += rng.randint(-2, 3)  # a wrong sequence number for this one and the next
        m = parse_frame(frame(f, begin=b"FIX.4.2" if rng.random() < 0.02 else b"FIX.4.4"))
        if isinstance(m, FixMessage):  # Garbled frames never reach the session
            out.append(m)
        seq = max(seq + 1, 1)
    return out


@settings(max_examples=500, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 30), logon_first=st.booleans())
def test_any_input_gets_a_legal_answer(seed: int, n: int, logon_first: bool) -> None:
    rng = random.Random(seed)
    s = make()
    c = Checker(s)
    for i, m in enumerate(inputs(rng, n, logon_first)):
        now = T0 + i * S // 10
        seq = m.get(34)
        if seq is not None and seq.isdigit():
            c.seen_in.add(int(seq))
        c.feed(s.on_message(m, now, throttled="throttle" if rng.random() < 0.05 else None))
        while (more := s.process_queued(now)) is not None:
            c.feed(more)
        if rng.random() < 0.2:
            c.feed(s.on_timer(now + rng.randint(0, 120) * S))
    assert len(set(c.delivered)) == len(c.delivered)
