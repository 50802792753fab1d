"""Acceptor operations over real sockets: TLS, shutdown Logout, operator reset, and a resend
large enough to be paged out of the store in several chunks."""

from __future__ import annotations

import asyncio
import importlib.util
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.gateway.conftest import FixClient, VenueFactory, session_config, wait_until
from venue.config import AuthConfig, TlsConfig
from venue.fix.codec import FixMessage, parse_frame
from venue.gateway.application import Outbound, PreOpenApplication
from venue.gateway.auth import hash_password
from venue.gateway.connection import RESEND_PAGE
from venue.gateway.tls import make_client_context, make_server_context

REPO = Path(__file__).resolve().parents[2]


def _certs(out: Path) -> object:
    spec = importlib.util.spec_from_file_location(
        "tools_certs_acceptor", REPO / "tools" / "certs.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module.generate(out, ["127.0.0.1", "localhost"])


async def test_logon_over_tls(
    start_venue: VenueFactory, clients: Callable[..., FixClient], tmp_path: Path
) -> None:
    files = _certs(tmp_path / "certs")
    server_ctx = make_server_context(
        TlsConfig(cert=str(files.server_cert), key=str(files.server_key))  # type: ignore[attr-defined]
    )
    venue = await start_venue(ssl_context=server_ctx)
    c = clients(venue.port)
    await c.connect(make_client_context(files.ca))  # type: ignore[attr-defined]
    reply = await c.logon()
    assert reply.get(34) == b"1"
    await c.send(b"1", [(112, b"OVER-TLS")])
    assert (await c.receive(b"0")).get(112) == b"OVER-TLS"


async def test_stop_logs_out_active_sessions(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon()
    stopping = asyncio.create_task(venue.gateway.stop())
    logout = await c.receive(b"5")
    assert logout.get(58) == b"venue shutting down"
    await c.send(b"5")
    assert await c.closed() == b""
    await asyncio.wait_for(stopping, 5)


async def test_operator_reset_only_while_disconnected(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon()
    with pytest.raises(RuntimeError):
        venue.gateway.reset_session("MM1")
    await c.send(b"5")
    await c.receive(b"5")
    await c.closed()
    venue.gateway.reset_session("MM1")
    c2 = await clients(venue.port).connect()
    reply = await c2.logon()
    assert reply.get(34) == b"1"


async def test_large_resend_is_paged_and_complete(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon()
    n = RESEND_PAGE + 120
    for i in range(n):
        await c.order(b"O%d" % i)
    for _ in range(n):
        await c.receive(b"8")
    await c.send(b"2", [(7, b"1"), (16, b"0")])
    gap = await c.read()
    assert (gap.msg_type, gap.get(34), gap.get(36)) == (b"4", b"1", b"2")
    for i in range(n):
        er = await c.read()
        assert (er.msg_type, er.get_int(34), er.get(11), er.get(43)) == (
            b"8",
            i + 2,
            b"O%d" % i,
            b"Y",
        )
    # Everything still flows normally afterwards.
    await c.send(b"1", [(112, b"AFTER")])
    hb = await c.receive(b"0")
    assert (hb.get(112), hb.get_int(34)) == (b"AFTER", n + 2)


async def test_password_logon_is_checked_off_the_loop(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    stored = hash_password("s3cret", n=2**10)
    auth = AuthConfig(method="password", password_hash=stored)
    venue = await start_venue([session_config(auth=auth)])
    bad = await clients(venue.port).connect()
    await bad.send(b"A", [(98, b"0"), (108, b"30"), (554, b"wrong")])
    logout = await bad.read()
    assert (logout.msg_type, logout.get(58)) == (b"5", b"password invalid")
    assert await bad.closed() == b""
    good = await clients(venue.port).connect()
    await good.send(b"A", [(98, b"0"), (108, b"30"), (554, b"s3cret")])
    reply = await good.read(timeout=10)  # after the back-off of the failure above
    assert (reply.msg_type, reply.get(34)) == (b"A", b"1")


def _parse(raw: bytes) -> FixMessage:
    m = parse_frame(raw)
    assert isinstance(m, FixMessage)
    return m


def _order(cl_ord_id: bytes, *, poss_resend: bool = False) -> FixMessage:
    extra = b"97=Y\x01" if poss_resend else b""
    body = b"35=D\x0134=2\x01%s11=%s\x0155=BTC-PERP\x0154=2\x0138=5\x0140=1\x01" % (
        extra,
        cl_ord_id,
    )
    head = b"8=FIX.4.4\x019=%d\x01" % len(body)
    return _parse(b"%s%s10=%03d\x01" % (head, body, sum(head + body) % 256))


def test_pre_open_application_rejects_orders_and_ignores_known_poss_resend() -> None:
    app = PreOpenApplication()
    app.on_logon("S")
    (out,) = app.on_message("S", _order(b"A"), 1)
    assert (out.session, out.msg_type) == ("S", b"8")
    fields = dict(out.body)
    assert (fields[150], fields[39], fields[37], fields[11], fields[38]) == (
        b"8",
        b"8",
        b"NONE",
        b"A",
        b"5",
    )
    assert fields[103] in (b"0", b"99")
    (second,) = app.on_message("S", _order(b"B"), 2)
    assert dict(second.body)[17] != fields[17]  # ExecIDs are unique
    assert app.on_message("S", _order(b"A", poss_resend=True), 3) == []
    assert len(app.on_message("S", _order(b"NEW", poss_resend=True), 4)) == 1
    app.on_session_reset("S")
    assert len(app.on_message("S", _order(b"A", poss_resend=True), 5)) == 1


def test_pre_open_application_refuses_other_message_types() -> None:
    app = PreOpenApplication()
    raw = b"35=d\x0134=7\x01320=X\x01"
    head = b"8=FIX.4.4\x019=%d\x01" % len(raw)
    msg = _parse(b"%s%s10=%03d\x01" % (head, raw, sum(head + raw) % 256))
    (out,) = app.on_message("S", msg, 1)
    fields = dict(out.body)
    assert (out.msg_type, fields[380], fields[372], fields[45]) == (b"j", b"3", b"d", b"7")


async def test_messages_for_a_disconnected_session_are_stored_for_resend(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue()
    c = await clients(venue.port).connect()
    await c.logon()  # venue seq 1
    await c.send(b"5")
    await c.receive(b"5")  # venue seq 2
    await c.closed()
    report = [(37, b"NONE"), (17, b"LATE-1"), (150, b"I"), (39, b"0")]
    venue.gateway.send([Outbound(session="MM1", msg_type=b"8", body=report)])  # seq 3
    assert venue.status()["next_out"] == 4
    c2 = clients(venue.port)
    c2.next_out = c.next_out
    await c2.connect()
    reply = await c2.logon()
    assert reply.get(34) == b"4"  # the gap tells the counterparty to ask
    await c2.send(b"2", [(7, b"3"), (16, b"0")])
    late = await c2.read()
    assert (late.msg_type, late.get(34), late.get(43), late.get(17)) == (
        b"8",
        b"3",
        b"Y",
        b"LATE-1",
    )
    gap = await c2.read()
    assert (gap.msg_type, gap.get(34), gap.get(36)) == (b"4", b"4", b"5")


class RecordingApplication(PreOpenApplication):
    def __init__(self) -> None:
        super().__init__()
        self.events: list[tuple[str, object]] = []

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        self.events.append(("logon", logon.get(108) if logon is not None else None))

    def on_logout(self, session: str, clean: bool = False) -> None:
        self.events.append(("logout", clean))


async def test_application_hears_logon_and_whether_logout_was_clean(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    app = RecordingApplication()
    venue = await start_venue(application=app)
    c = await clients(venue.port).connect()
    await c.logon(hb=42)
    await c.send(b"5")
    await c.receive(b"5")
    await c.closed()
    await wait_until(lambda: len(app.events) == 2)
    c2 = clients(venue.port)
    c2.next_out = c.next_out
    await c2.connect()
    await c2.logon()
    await c2.close()  # the connection is lost, no Logout
    await wait_until(lambda: len(app.events) == 4)
    assert app.events == [("logon", b"42"), ("logout", True), ("logon", b"30"), ("logout", False)]
