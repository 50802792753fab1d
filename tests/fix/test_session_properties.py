"""Property tests of the session machine: resend plans cover every number exactly once, and
out-of-order input is delivered exactly once, in sequence."""

from __future__ import annotations

import random

from hypothesis import given, settings
from hypothesis import strategies as st

from tests.fix.test_session import T0, logged_on, msg, sends
from venue.fix.actions import Action, Deliver, Send
from venue.fix.codec import FixMessage, format_utc_timestamp, parse_frame

TS0 = format_utc_timestamp(T0)


@settings(max_examples=60, deadline=None)
@given(
    kinds=st.lists(st.sampled_from(["app", "admin", "missing"]), min_size=1, max_size=40),
    page=st.integers(min_value=1, max_value=7),
    begin_offset=st.integers(min_value=0, max_value=5),
)
def test_resend_plan_covers_each_number_once_in_order(
    kinds: list[str], page: int, begin_offset: int
) -> None:
    s = logged_on()
    rows: list[tuple[int, bool, bytes]] = []
    for kind in kinds:
        if kind == "admin":
            test_request = msg(b"1", s.next_in, [(112, b"x")])
            (a,) = [x for x in s.on_message(test_request, T0) if isinstance(x, Send)]
        else:
            (a,) = [x for x in s.send_application(b"8", [(37, b"N")], T0) if isinstance(x, Send)]
        if kind != "missing":
            rows.append((a.seq, a.admin, a.data))
    begin = min(1 + begin_offset, s.next_out - 1)
    end = s.next_out - 1
    plan = s.resend_plan(begin, end)
    frames: list[bytes] = []
    while not plan.done:
        chunk = [r for r in rows if plan.next_begin <= r[0] <= end][:page]
        frames += plan.feed(chunk, T0)
        if len(chunk) < page:
            break
    frames += plan.finish(T0)
    covered: list[int] = []
    app_resent: list[int] = []
    for f in frames:
        m = parse_frame(f)
        assert isinstance(m, FixMessage)
        assert m.get(43) == b"Y"
        start = m.get_int(34)
        assert start is not None
        if m.msg_type == b"4":
            new = m.get_int(36)
            assert new is not None and new > start
            covered += range(start, new)
        else:
            covered.append(start)
            app_resent.append(start)
    assert covered == list(range(begin, end + 1))
    stored_app = [seq for seq, admin, _ in rows if not admin and begin <= seq <= end]
    assert app_resent == stored_app
    assert s.next_out == end + 1


@settings(max_examples=60, deadline=None)
@given(n=st.integers(min_value=2, max_value=25), seed=st.integers(min_value=0, max_value=10**6))
def test_shuffled_input_is_delivered_once_in_sequence(n: int, seed: int) -> None:
    s = logged_on()
    orders = {
        seq: msg(
            b"D",
            seq,
            [(11, b"C%d" % seq), (21, b"1"), (40, b"1"), (54, b"1"), (55, b"X"), (60, TS0)],
        )
        for seq in range(2, n + 2)
    }
    arrival = list(orders)
    random.Random(seed).shuffle(arrival)
    delivered: list[int] = []
    requests = 0

    def run(actions: list[Action]) -> None:
        nonlocal requests
        for a in actions:
            if isinstance(a, Deliver):
                seq = a.msg.get_int(34)
                assert seq is not None
                delivered.append(seq)
        requests += sum(1 for m in sends(actions) if m.msg_type == b"2")

    for seq in arrival:
        run(s.on_message(orders[seq], T0))
        while (queued := s.process_queued(T0)) is not None:
            run(queued)
    assert delivered == sorted(orders)
    assert s.next_in == n + 2
    assert requests <= n  # never more than one ResendRequest per message received
