"""Authentication end to end: a real venue with TLS, an Ed25519 session and a password session.

Checks what a client sees: a signed Logon over TLS is accepted; a bad signature, a replayed
Logon and a wrong password each get a Logout whose Text (58) names the reason, and the
connection is closed; a plain-TCP client cannot talk to a TLS port.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.gateway.test_bad_input import FixClient, stop, venue_config
from tests.gateway.test_tls import certs_tool
from tests.venue_process import VenueProcess, start_venue
from venue.fix.codec import FixMessage, encode, format_utc_timestamp
from venue.gateway.auth import hash_password, public_key_b64, sign_logon
from venue.gateway.tls import make_client_context

KEY = Ed25519PrivateKey.generate()
PASSWORD = "correct horse battery staple"


@pytest.fixture(scope="module")
def tls_venue(
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[tuple[VenueProcess, int, Any]]:
    tmp = tmp_path_factory.mktemp("auth_venue")
    certs = certs_tool.generate(tmp / "certs", ["127.0.0.1"])
    extra = f"""
[[sessions]]
name = "SIGNED"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "SIGNED"
firm = "ALPHA"
accounts = ["ALPHA-1"]
allowed_addresses = ["127.0.0.0/8", "192.0.2.0/24"]
[sessions.auth]
method = "ed25519"
public_key = "{public_key_b64(KEY)}"

[[sessions]]
name = "PWD"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "PWD"
firm = "BRAVO"
accounts = ["BRAVO-1"]
allowed_addresses = ["127.0.0.0/8", "192.0.2.0/24"]
[sessions.auth]
method = "password"
password_hash = "{hash_password(PASSWORD)}"

[gateway.tls]
cert = "{certs.server_cert}"
key = "{certs.server_key}"
"""
    proc = start_venue(venue_config(tmp, sessions=extra, logon_timeout_seconds=2), cwd=tmp)
    try:
        ready = proc.wait_ready()
        yield proc, int(ready["fix_port"]), certs
        assert proc.proc.poll() is None, "the venue died:\n" + proc.stderr
        assert proc.terminate() == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        stop(proc)


async def connect(venue: tuple[VenueProcess, int, Any], sender: str) -> FixClient:
    _, port, certs = venue
    return await FixClient.connect(port, sender, tls=make_client_context(certs.ca))


def signed_logon_frame(client: FixClient, *, key: Ed25519PrivateKey = KEY) -> bytes:
    """A signed Logon frame (with the client's next MsgSeqNum)."""
    seq = client.next_seq
    client.next_seq += 1
    sending_time = format_utc_timestamp(time.time_ns())
    sig = sign_logon(key, client.sender, b"VENUE", seq, sending_time)
    return encode(
        b"A",
        begin_string=b"FIX.4.4",
        sender=client.sender,
        target=b"VENUE",
        seq=seq,
        sending_time=sending_time,
        body=[(98, b"0"), (108, b"30"), (141, b"Y"), (95, b"%d" % len(sig)), (96, sig)],
    )


async def refused(client: FixClient) -> FixMessage:
    """The venue answers with a Logout and closes the connection."""
    logout = await client.expect((b"5", b"A"), timeout=15)
    assert logout.msg_type == b"5", "the Logon was accepted"
    await client.wait_closed_by_venue()
    return logout


async def test_a_signed_logon_over_tls_is_accepted(tls_venue: Any) -> None:
    client = await connect(tls_venue, "SIGNED")
    try:
        frame = signed_logon_frame(client)
        client.writer.write(frame)
        await client.expect(b"A")
        await client.round_trip()
        client.send(b"5")
        await client.expect(b"5")
    finally:
        await client.close()


async def test_a_replayed_signed_logon_is_refused(tls_venue: Any) -> None:
    first = await connect(tls_venue, "SIGNED")
    try:
        frame = signed_logon_frame(first)
        first.writer.write(frame)
        await first.expect(b"A")
        first.send(b"5")
        await first.expect(b"5")
    finally:
        await first.close()
    replay = await connect(tls_venue, "SIGNED")
    try:
        replay.writer.write(frame)  # the very same bytes, well inside the 30 s window
        logout = await refused(replay)
        assert b"replayed" in (logout.get(58) or b"")
    finally:
        await replay.close()


async def test_a_wrong_signature_is_refused_with_its_reason(tls_venue: Any) -> None:
    client = await connect(tls_venue, "SIGNED")
    try:
        client.writer.write(signed_logon_frame(client, key=Ed25519PrivateKey.generate()))
        logout = await refused(client)
        assert logout.get(58) == b"signature invalid"
    finally:
        await client.close()


def password_logon(client: FixClient, password: str) -> None:
    client.send(
        b"A",
        [(98, b"0"), (108, b"30"), (141, b"Y"), (553, b"PWD"), (554, password.encode())],
    )


async def test_password_logon_over_tls(tls_venue: Any) -> None:
    bad = await connect(tls_venue, "PWD")
    try:
        password_logon(bad, PASSWORD + "!")
        logout = await refused(bad)
        assert logout.get(58) == b"password invalid"
        assert PASSWORD.encode() not in (logout.get(58) or b"")
    finally:
        await bad.close()
    good = await connect(tls_venue, "PWD")
    try:
        password_logon(good, PASSWORD)
        await good.expect(b"A", timeout=15)  # after the back-off of the failure above
        await good.round_trip()
    finally:
        await good.close()


async def test_plain_tcp_cannot_talk_to_the_tls_port(tls_venue: Any) -> None:
    _, port, _ = tls_venue
    client = await FixClient.connect(port, "BRAVO-MM")
    try:
        client.send(b"A", [(98, b"0"), (108, b"30"), (141, b"Y")])
        with contextlib.suppress(ConnectionError):
            await client.wait_closed_by_venue()
        assert client.received == 0
    finally:
        await client.close()
