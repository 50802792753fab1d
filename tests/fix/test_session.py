"""The pure FIX session machine, without sockets or clocks: messages and times in, actions out."""

from __future__ import annotations

import functools

import pytest

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
from venue.fix.codec import FixMessage, encode, format_utc_timestamp, parse_frame
from venue.fix.dictionary import load_dictionary
from venue.fix.session import Session, SessionSettings, State, daily_reset_due
from venue.fix.validate import validate

S = 1_000_000_000
T0 = 1_767_225_600 * S  # 2026-01-01T00:00:00Z
DICTIONARY = load_dictionary()
VALIDATOR = functools.partial(validate, d=DICTIONARY)
TS0 = format_utc_timestamp(T0)


def settings(**kw: object) -> SessionSettings:
    base: dict[str, object] = {"name": "S1", "venue_comp_id": "ISLD", "client_comp_id": "TW44"}
    base.update(kw)
    return SessionSettings(**base)  # type: ignore[arg-type]


def make(**kw: object) -> Session:
    next_in = int(kw.pop("next_in", 1))  # type: ignore[call-overload]
    next_out = int(kw.pop("next_out", 1))  # type: ignore[call-overload]
    s = Session(settings(**kw), VALIDATOR, next_in=next_in, next_out=next_out, ts_created=T0)
    s.on_connected(T0)
    return s


def msg(
    msg_type: bytes,
    seq: int,
    body: list[tuple[int, bytes]] | None = None,
    *,
    now: int = T0,
    sender: bytes = b"TW44",
    target: bytes = b"ISLD",
    poss_dup: bool = False,
    orig: int | None = None,
    begin: bytes = b"FIX.4.4",
) -> FixMessage:
    data = encode(
        msg_type,
        begin_string=begin,
        sender=sender,
        target=target,
        seq=seq,
        sending_time=format_utc_timestamp(now),
        body=body or [],
        poss_dup=poss_dup,
        orig_sending_time=format_utc_timestamp(orig) if orig is not None else None,
    )
    parsed = parse_frame(data)
    assert isinstance(parsed, FixMessage)
    return parsed


def logon(seq: int = 1, hb: int = 30, *, reset: bool = False, now: int = T0) -> FixMessage:
    body = [(98, b"0"), (108, b"%d" % hb)]
    if reset:
        body.append((141, b"Y"))
    return msg(b"A", seq, body, now=now)


def sends(actions: list[Action]) -> list[FixMessage]:
    out = []
    for a in actions:
        if isinstance(a, Send):
            parsed = parse_frame(a.data)
            assert isinstance(parsed, FixMessage)
            assert parsed.get_int(34) == a.seq
            out.append(parsed)
    return out


def types(actions: list[Action]) -> list[str]:
    return [type(a).__name__ for a in actions]


def logged_on(**kw: object) -> Session:
    s = make(**kw)
    s.on_message(logon(), T0)
    assert s.state is State.ACTIVE
    return s


# -- logon ---------------------------------------------------------------------------------


def test_logon_reply_echoes_heartbeat_and_takes_seq_1() -> None:
    s = make()
    actions = s.on_message(logon(hb=30), T0)
    (reply,) = sends(actions)
    assert reply.msg_type == b"A"
    assert [(t, v) for t, v in reply.fields if t in (34, 49, 56, 98, 108, 141)] == [
        (49, b"ISLD"),
        (56, b"TW44"),
        (34, b"1"),
        (98, b"0"),
        (108, b"30"),
    ]
    assert s.state is State.ACTIVE
    assert (s.next_in, s.next_out) == (2, 2)
    assert actions[-1] == SaveSeqs(next_in=2, next_out=2)
    assert s.heartbeat_ns == 30 * S


def test_first_message_not_a_logon_disconnects_silently() -> None:
    s = make()
    actions = s.on_message(msg(b"0", 1), T0)
    assert types(actions) == ["Disconnect"]


@pytest.mark.parametrize(
    ("message", "why"),
    [
        (logon(now=T0 - 121 * S), "SendingTime"),
        (msg(b"A", 1, [(98, b"0"), (108, b"30")], sender=b"WT"), "CompIDs"),
        (msg(b"A", 1, [(98, b"0"), (108, b"30")], begin=b"FIX.4.2"), "BeginString"),
        (msg(b"A", 1, [(98, b"0")]), "invalid Logon"),
    ],
)
def test_bad_logon_disconnects_without_a_word(message: FixMessage, why: str) -> None:
    s = make()
    actions = s.on_message(message, T0)
    assert len(actions) == 1
    assert isinstance(actions[0], Disconnect)
    assert why in actions[0].reason
    assert s.next_out == 1


def test_heartbeat_out_of_bounds_is_refused_with_an_unsequenced_logout() -> None:
    s = make(heartbeat_min_seconds=5, heartbeat_max_seconds=60)
    actions = s.on_message(logon(hb=2), T0)
    assert types(actions) == ["WriteRaw", "Disconnect"]
    raw = actions[0]
    assert isinstance(raw, WriteRaw)
    parsed = parse_frame(raw.data)
    assert isinstance(parsed, FixMessage)
    assert parsed.msg_type == b"5"
    assert b"HeartBtInt" in (parsed.get(58) or b"")
    assert s.next_out == 1  # nothing sequenced was sent


def test_reset_seq_num_flag_resets_both_numbers_and_is_echoed() -> None:
    s = make(next_in=40, next_out=70)
    actions = s.on_message(logon(reset=True), T0)
    assert isinstance(actions[0], ResetStore)
    (reply,) = sends(actions)
    assert reply.get(141) == b"Y"
    assert reply.get(34) == b"1"
    assert (s.next_in, s.next_out) == (2, 2)


def test_reset_on_logon_setting_resets_without_echoing_141() -> None:
    s = make(next_in=40, next_out=70, reset_on_logon=True)
    actions = s.on_message(logon(), T0)
    assert isinstance(actions[0], ResetStore)
    (reply,) = sends(actions)
    assert reply.get(141) is None
    assert (s.next_in, s.next_out) == (2, 2)


def test_sequence_numbers_persist_across_reconnects() -> None:
    s = logged_on()
    s.on_message(msg(b"0", 2), T0)
    s.on_disconnected()
    assert s.state is State.DISCONNECTED
    s.on_connected(T0 + S)
    actions = s.on_message(logon(seq=3, now=T0 + S), T0 + S)
    (reply,) = sends(actions)
    assert reply.get(34) == b"2"
    assert (s.next_in, s.next_out) == (4, 3)


def test_logon_with_seq_too_high_is_answered_then_gap_requested() -> None:
    s = make()
    actions = s.on_message(logon(seq=5), T0)
    reply, request = sends(actions)
    assert reply.msg_type == b"A"
    assert request.msg_type == b"2"
    assert (request.get(7), request.get(16)) == (b"1", b"0")
    assert s.next_in == 1
    for n in range(1, 5):
        s.on_message(msg(b"0", n, poss_dup=True, orig=T0), T0)
    assert s.next_in == 5
    assert s.process_queued(T0) == [SaveSeqs(next_in=6, next_out=3)]  # the queued Logon counted
    assert s.process_queued(T0) is None


def test_logon_with_seq_too_low_is_logged_out() -> None:
    s = make(next_in=10, next_out=3)
    actions = s.on_message(logon(seq=5), T0)
    (logout,) = sends(actions)
    assert logout.msg_type == b"5"
    assert b"too low" in (logout.get(58) or b"")
    assert isinstance(actions[-1], Disconnect)
    assert not s.logged_on  # refused: nothing of a logged-on session may follow its end


def test_daily_reset_due() -> None:
    day = 86_400 * S
    midnight = T0
    assert daily_reset_due("08:00", midnight, midnight + 9 * 3600 * S)
    assert not daily_reset_due("08:00", midnight, midnight + 7 * 3600 * S)
    assert not daily_reset_due("08:00", midnight + 9 * 3600 * S, midnight + 20 * 3600 * S)
    assert daily_reset_due("08:00", midnight + 9 * 3600 * S, midnight + day + 8 * 3600 * S)
    assert not daily_reset_due(None, midnight, midnight + 2 * day)


def test_daily_reset_applies_at_the_first_logon_after_the_time() -> None:
    s = make(next_in=7, next_out=9, daily_reset_at="08:00")
    later = T0 + 9 * 3600 * S
    s.on_connected(later)
    actions = s.on_message(logon(now=later), later)
    assert isinstance(actions[0], ResetStore)
    assert (s.next_in, s.next_out) == (2, 2)


def test_operator_reset_only_when_not_logged_on() -> None:
    s = logged_on()
    with pytest.raises(RuntimeError):
        s.reset()
    s.on_disconnected()
    assert s.reset() == [ResetStore(), SaveSeqs(next_in=1, next_out=1)]


# -- heartbeats and timers -------------------------------------------------------------------


def test_heartbeat_sent_after_interval_without_output() -> None:
    s = logged_on()
    assert s.on_timer(T0 + 29 * S) == []
    (hb,) = sends(s.on_timer(T0 + 30 * S))
    assert hb.msg_type == b"0"
    assert hb.get(112) is None


def test_test_request_on_silence_then_disconnect() -> None:
    s = logged_on(heartbeat_min_seconds=1)
    s.on_message(msg(b"0", 2), T0)
    hb = 30 * S
    # Output keeps flowing (heartbeats) but nothing comes in.
    sends(s.on_timer(T0 + hb))
    (tr,) = sends(s.on_timer(T0 + hb * 12 // 10))
    assert (tr.msg_type, tr.get(112)) == (b"1", b"TEST")
    # No heartbeat while a TestRequest is outstanding.
    assert s.on_timer(T0 + hb * 12 // 10 + hb) == []
    actions = s.on_timer(T0 + hb * 24 // 10)
    assert types(actions) == ["Disconnect"]


def test_any_message_answers_the_test_request() -> None:
    s = logged_on()
    sends(s.on_timer(T0 + 36 * S))
    s.on_message(msg(b"0", 2, [(112, b"TEST")], now=T0 + 37 * S), T0 + 37 * S)
    assert s.on_timer(T0 + 60 * S) == []  # silence counted from the answer


def test_test_request_is_answered_with_its_id() -> None:
    s = logged_on()
    actions = s.on_message(msg(b"1", 2, [(112, b"HELLO")]), T0)
    (hb,) = sends(actions)
    assert (hb.msg_type, hb.get(112)) == (b"0", b"HELLO")
    assert s.next_in == 3


# -- sequence numbers ----------------------------------------------------------------------


def test_too_high_queues_and_requests_once() -> None:
    s = logged_on()
    (req,) = sends(s.on_message(msg(b"1", 5, [(112, b"Q")]), T0))
    assert (req.msg_type, req.get(7), req.get(16)) == (b"2", b"2", b"0")
    assert sends(s.on_message(msg(b"0", 6), T0)) == []  # covered by the outstanding request
    for n in (2, 3, 4):
        s.on_message(msg(b"0", n), T0)
    assert s.next_in == 5
    first = s.process_queued(T0)
    assert first is not None
    (hb,) = sends(first)
    assert hb.get(112) == b"Q"
    assert s.process_queued(T0) is not None
    assert s.process_queued(T0) is None
    assert s.next_in == 7


def test_too_low_without_possdup_logs_out_and_disconnects() -> None:
    s = logged_on()
    s.on_message(msg(b"0", 2), T0)
    actions = s.on_message(msg(b"0", 2), T0)
    (logout,) = sends(actions)
    assert logout.get(58) == b"MsgSeqNum too low, expecting 3 but received 2"
    assert isinstance(actions[-1], Disconnect)


def test_too_low_possdup_is_ignored() -> None:
    s = logged_on()
    s.on_message(msg(b"0", 2), T0)
    assert s.on_message(msg(b"0", 2, poss_dup=True, orig=T0 - S), T0) == []
    assert s.next_in == 3


def test_possdup_without_orig_sending_time_is_rejected() -> None:
    s = logged_on()
    s.on_message(msg(b"0", 2), T0)
    (reject,) = sends(s.on_message(msg(b"0", 2, poss_dup=True), T0))
    assert (reject.msg_type, reject.get(373), reject.get(371)) == (b"3", b"1", b"122")


def test_possdup_orig_sending_time_after_sending_time_is_rejected_and_logged_out() -> None:
    s = logged_on()
    s.on_message(msg(b"0", 2), T0)
    reject, logout = sends(s.on_message(msg(b"0", 2, poss_dup=True, orig=T0 + 10 * S), T0))
    assert (reject.get(373), logout.msg_type) == (b"10", b"5")
    assert s.state is State.AWAITING_LOGOUT


def test_sequence_reset_gap_fill_and_reset_modes() -> None:
    s = logged_on()
    assert s.on_message(msg(b"4", 2, [(36, b"20"), (123, b"Y")]), T0) == [
        SaveSeqs(next_in=20, next_out=2)
    ]
    s.on_message(msg(b"4", 0, [(36, b"50")]), T0)  # reset mode ignores MsgSeqNum
    assert s.next_in == 50
    (reject,) = sends(s.on_message(msg(b"4", 0, [(36, b"10")]), T0))
    assert (reject.get(373), reject.get(45), reject.get(372)) == (b"5", b"0", b"4")
    assert s.next_in == 50


def test_gap_fill_too_high_is_queued() -> None:
    s = logged_on()
    (req,) = sends(s.on_message(msg(b"4", 10, [(36, b"20"), (123, b"Y")]), T0))
    assert req.msg_type == b"2"
    assert s.next_in == 2


# -- validation, time, CompIDs ---------------------------------------------------------------


def test_invalid_message_is_rejected_and_its_number_consumed() -> None:
    s = logged_on()
    (reject,) = sends(s.on_message(msg(b"0", 2, [(999, b"HI")]), T0))
    assert (reject.get(45), reject.get(371), reject.get(372), reject.get(373)) == (
        b"2",
        b"999",
        b"0",
        b"0",
    )
    assert s.next_in == 3


def test_reject_reverses_routing_fields() -> None:
    s = logged_on()
    bad = msg(b"D", 2, [(115, b"JCD"), (11, b"ID"), (21, b"3"), (40, b"w"), (54, b"1")])
    (reject,) = sends(s.on_message(bad, T0))
    assert reject.get(128) == b"JCD"
    assert reject.get(115) is None


def test_sending_time_out_of_range_rejects_and_logs_out() -> None:
    s = logged_on()
    reject, logout = sends(s.on_message(msg(b"0", 2, now=T0 - 121 * S), T0))
    assert (reject.get(373), reject.get(371), logout.msg_type) == (b"10", None, b"5")
    assert s.state is State.AWAITING_LOGOUT


def test_comp_id_problem_rejects_and_logs_out() -> None:
    s = logged_on()
    reject, logout = sends(s.on_message(msg(b"0", 2, sender=b"WT"), T0))
    assert (reject.get(373), logout.msg_type) == (b"9", b"5")


def test_wrong_begin_string_logs_out_and_disconnects() -> None:
    s = logged_on()
    actions = s.on_message(msg(b"1", 2, [(112, b"x")], begin=b"FIX.4.1"), T0)
    (logout,) = sends(actions)
    assert logout.get(58) == b"Incorrect BeginString"
    assert isinstance(actions[-1], Disconnect)


# -- logout ----------------------------------------------------------------------------------


def test_counterparty_logout_is_answered_then_disconnected() -> None:
    s = logged_on()
    actions = s.on_message(msg(b"5", 2), T0)
    (logout,) = sends(actions)
    assert logout.msg_type == b"5"
    assert isinstance(actions[-1], Disconnect)


def test_venue_logout_waits_for_the_reply_or_times_out() -> None:
    s = logged_on(logout_timeout_seconds=2)
    (logout,) = sends(s.logout(T0, "shutting down"))
    assert logout.get(58) == b"shutting down"
    assert s.state is State.AWAITING_LOGOUT
    assert s.on_timer(T0 + S) == []
    assert types(s.on_timer(T0 + 2 * S)) == ["Disconnect"]
    s2 = logged_on()
    s2.logout(T0)
    actions = s2.on_message(msg(b"5", 2), T0)
    assert sends(actions) == []
    assert isinstance(actions[-1], Disconnect)


# -- application messages --------------------------------------------------------------------


def test_application_message_is_delivered_once_in_sequence() -> None:
    s = logged_on()
    order = msg(b"D", 2, [(11, b"A1"), (21, b"1"), (40, b"1"), (54, b"1"), (55, b"X"), (60, TS0)])
    actions = s.on_message(order, T0)
    assert isinstance(actions[0], Deliver)
    assert actions[0].msg is order
    (er,) = sends(s.send_application(b"8", [(37, b"NONE")], T0))
    assert (er.msg_type, er.get(34)) == (b"8", b"2")


def test_throttled_application_message_gets_business_reject() -> None:
    s = logged_on()
    order = msg(b"D", 2, [(11, b"A1"), (21, b"1"), (40, b"1"), (54, b"1"), (55, b"X"), (60, TS0)])
    (bmr,) = sends(s.on_message(order, T0, throttled="throttle limit exceeded"))
    assert (bmr.msg_type, bmr.get(380), bmr.get(372), bmr.get(45)) == (b"j", b"0", b"D", b"2")
    assert bmr.get(58) == b"throttle limit exceeded"
    assert s.next_in == 3


# -- resend ----------------------------------------------------------------------------------


def test_resend_request_range_is_clamped_to_what_was_sent() -> None:
    s = logged_on()
    for n in range(2, 5):
        s.on_message(msg(b"1", n, [(112, b"x")]), T0)
    actions = s.on_message(msg(b"2", 5, [(7, b"2"), (16, b"0")]), T0)
    assert actions[0] == Resend(begin=2, end=4)
    actions = s.on_message(msg(b"2", 6, [(7, b"3"), (16, b"99")]), T0)
    assert actions[0] == Resend(begin=3, end=4)


def _stored(s: Session, n: int) -> list[tuple[int, bool, bytes]]:
    """Outbound: Logon(1), then n application messages and heartbeats alternating."""
    rows: list[tuple[int, bool, bytes]] = []
    for i in range(n):
        if i % 3 == 2:
            test_request = msg(b"1", s.next_in, [(112, b"x")])
            (a,) = [x for x in s.on_message(test_request, T0) if isinstance(x, Send)]
        else:
            (a,) = [
                x for x in s.send_application(b"8", [(37, b"%d" % i)], T0) if isinstance(x, Send)
            ]
        rows.append((a.seq, a.admin, a.data))
    return rows


def test_resend_plan_resends_app_messages_and_gap_fills_admin_runs() -> None:
    s = logged_on()
    rows = _stored(s, 6)  # seqs 2..7: app app hb app app hb
    plan = s.resend_plan(1, 7)
    frames = plan.feed(rows, T0 + S) + plan.finish(T0 + S)
    parsed = [parse_frame(f) for f in frames]
    got = [(m.msg_type, m.get(34), m.get(36)) for m in parsed if isinstance(m, FixMessage)]
    assert got == [
        (b"4", b"1", b"2"),
        (b"8", b"2", None),
        (b"8", b"3", None),
        (b"4", b"4", b"5"),
        (b"8", b"5", None),
        (b"8", b"6", None),
        (b"4", b"7", b"8"),
    ]
    for m in parsed:
        assert isinstance(m, FixMessage)
        assert m.get(43) == b"Y"
        assert m.get(122) is not None
    assert s.next_out == 8  # resending takes no new numbers


def test_resend_plan_paged_equals_whole_and_fills_missing_numbers() -> None:
    s = logged_on()
    rows = _stored(s, 30)
    del rows[10:13]  # missing from the store: gap-filled
    whole_plan = s.resend_plan(2, 31)
    whole = whole_plan.feed(rows, T0) + whole_plan.finish(T0)
    paged_plan = s.resend_plan(2, 31)
    paged: list[bytes] = []
    while not paged_plan.done:
        page = [r for r in rows if r[0] >= paged_plan.next_begin][:4]
        paged += paged_plan.feed(page, T0)
        if len(page) < 4:
            break
    paged += paged_plan.finish(T0)
    assert paged == whole
    seqs = []
    for f in whole:
        m = parse_frame(f)
        assert isinstance(m, FixMessage)
        start = m.get_int(34)
        assert start is not None
        end = m.get_int(36) if m.msg_type == b"4" else start + 1
        assert end is not None
        seqs += list(range(start, end))
    assert seqs == list(range(2, 32))  # every number covered exactly once, in order


def test_throttled_heartbeat_or_test_request_gets_session_reject() -> None:
    s = logged_on()
    (reject,) = sends(s.on_message(msg(b"1", 2, [(112, b"x")]), T0, throttled="over the limit"))
    assert (reject.msg_type, reject.get(373), reject.get(372), reject.get(45)) == (
        b"3",
        b"99",
        b"1",
        b"2",
    )
    assert reject.get(58) == b"over the limit"
    assert s.next_in == 3
    # A ResendRequest is never refused: it keeps the session working.
    actions = s.on_message(msg(b"2", 3, [(7, b"1"), (16, b"0")]), T0, throttled="over")
    assert isinstance(actions[0], Resend)


def test_resend_plan_gap_fills_market_data() -> None:
    """W and X are never replayed (old prices): gap-filled, like admin messages."""
    s = logged_on()
    rows: list[tuple[int, bool, bytes]] = []
    for msg_type in (b"8", b"W", b"X", b"Y", b"X"):
        (a,) = [x for x in s.send_application(msg_type, [(262, b"r")], T0) if isinstance(x, Send)]
        rows.append((a.seq, a.admin, a.data))
    plan = s.resend_plan(2, 6)
    frames = plan.feed(rows, T0 + S) + plan.finish(T0 + S)
    parsed = [parse_frame(f) for f in frames]
    got = [(m.msg_type, m.get(34), m.get(36)) for m in parsed if isinstance(m, FixMessage)]
    assert got == [(b"8", b"2", None), (b"4", b"3", b"5"), (b"Y", b"5", None), (b"4", b"6", b"7")]
