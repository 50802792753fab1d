"""The role router sends each message to exactly one application and session events to all."""

from __future__ import annotations

from venue.config import SessionConfig
from venue.fix.codec import FixMessage, Framer, encode
from venue.gateway.application import Outbound
from venue.gateway.roles import RoleRouter


class Recorder:
    def __init__(self, name: str) -> None:
        self.name = name
        self.calls: list[tuple[str, str]] = []

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        self.calls.append(("logon", session))

    def on_logout(self, session: str, clean: bool = False) -> None:
        self.calls.append(("logout", session))

    def on_session_reset(self, session: str) -> None:
        self.calls.append(("reset", session))

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        self.calls.append(("message", session))
        return [Outbound(session=session, msg_type=b"j", body=[(58, self.name.encode())])]


def _session(name: str, role: str) -> SessionConfig:
    return SessionConfig(name=name, role=role, venue_comp_id="V", client_comp_id=name, firm="F")  # type: ignore[arg-type]


def _msg(msg_type: bytes) -> FixMessage:
    raw = encode(
        msg_type,
        begin_string=b"FIX.4.4",
        sender=b"C",
        target=b"V",
        seq=2,
        sending_time=b"20260101-00:00:00.000",
        body=[(58, b"x")],
    )
    (msg,) = Framer().feed(raw)
    assert isinstance(msg, FixMessage)
    return msg


def test_messages_go_to_one_application_by_role_and_type() -> None:
    sessions = [_session("T", "trading"), _session("DC", "dropcopy"), _session("MD", "marketdata")]
    default, dropcopy, md = Recorder("default"), Recorder("dropcopy"), Recorder("md")
    router = RoleRouter(sessions, default)
    router.register(dropcopy, roles=["dropcopy"], msg_types=[b"AD"])
    router.register(md, roles=["marketdata", "trading"], msg_types=[b"V"])
    answers = {
        (s, t): router.on_message(s, _msg(t), 0)[0].body[0][1]
        for s, t in [
            ("T", b"D"),
            ("T", b"V"),
            ("DC", b"AD"),
            ("DC", b"D"),
            ("MD", b"V"),
            ("MD", b"D"),
        ]
    }
    assert answers == {
        ("T", b"D"): b"default",
        ("T", b"V"): b"md",
        ("DC", b"AD"): b"dropcopy",
        ("DC", b"D"): b"default",  # order entry refuses orders from a drop-copy session
        ("MD", b"V"): b"md",
        ("MD", b"D"): b"default",
    }


def test_session_events_reach_every_application_serving_the_role_once() -> None:
    sessions = [_session("DC", "dropcopy"), _session("T", "trading")]
    default, dropcopy = Recorder("default"), Recorder("dropcopy")
    router = RoleRouter(sessions, default)
    router.register(dropcopy, roles=["dropcopy"], msg_types=[b"AD"])
    router.register(dropcopy, roles=["dropcopy"], msg_types=[b"H"])
    router.on_logon("DC")
    router.on_session_reset("DC")
    router.on_logout("DC", clean=True)
    router.on_logon("T")
    assert dropcopy.calls == [("logon", "DC"), ("reset", "DC"), ("logout", "DC")]
    assert default.calls == [("logon", "DC"), ("reset", "DC"), ("logout", "DC"), ("logon", "T")]


def test_remembered_routes_follow_registrations_and_stay_bounded() -> None:
    sessions = [_session("T", "trading")]
    default, md = Recorder("default"), Recorder("md")
    router = RoleRouter(sessions, default)
    assert router.route("T", b"V") is default  # remembered ...
    router.register(md, roles=["trading"], msg_types=[b"V"])
    assert router.route("T", b"V") is md  # ... and forgotten by a registration
    assert router.route("T", b"D") is default
    for n in range(10_000):  # message types come from the wire: the memory is bounded
        assert router.route("T", b"Z%d" % n) is default
    assert len(router._by_type) <= 4096
    assert router.route("T", b"V") is md
