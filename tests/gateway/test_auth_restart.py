"""A captured signed Logon cannot be replayed across a venue restart (RoE section 2).

A real `venue run` process accepts a signed Logon (with ResetSeqNumFlag, which would let a
replayer wipe the session's stored messages), is stopped (cleanly, or killed with SIGKILL) and
started again on the same journal; the very same Logon bytes, sent again well inside the 30 s
window, are refused as replayed, because the replay guard's last accepted (SendingTime,
MsgSeqNum) was journaled with the Logon's answer and is read back at start-up. The genuine
client, signing a new Logon, still gets in. A Logon stamped 25 s ahead of the venue's clock is
refused (more than 5 s ahead) and does not lock the genuine client out.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.gateway.test_auth_venue import refused
from tests.gateway.test_bad_input import FixClient, stop, venue_config
from tests.venue_process import VenueProcess, start_venue
from venue.fix.codec import encode, format_utc_timestamp
from venue.gateway.auth import public_key_b64, sign_logon

KEY = Ed25519PrivateKey.generate()
SESSION = f"""
[[sessions]]
name = "SIGNED"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "SIGNED"
firm = "ALPHA"
accounts = ["ALPHA-1"]
[sessions.auth]
method = "ed25519"
public_key = "{public_key_b64(KEY)}"
"""


def signed_logon(seq: int, ts_ns: int) -> bytes:
    sending_time = format_utc_timestamp(ts_ns)
    sig = sign_logon(KEY, b"SIGNED", b"VENUE", seq, sending_time)
    return encode(
        b"A",
        begin_string=b"FIX.4.4",
        sender=b"SIGNED",
        target=b"VENUE",
        seq=seq,
        sending_time=sending_time,
        body=[(98, b"0"), (108, b"30"), (141, b"Y"), (95, b"%d" % len(sig)), (96, sig)],
    )


async def accepted(port: int, frame: bytes) -> None:
    client = await FixClient.connect(port, "SIGNED")
    try:
        client.writer.write(frame)
        await client.expect(b"A")
        client.next_seq = 2
        client.send(b"5")
        await client.expect(b"5")
    finally:
        await client.close()


async def refusal_text(port: int, frame: bytes) -> bytes:
    client = await FixClient.connect(port, "SIGNED")
    try:
        client.writer.write(frame)
        return (await refused(client)).get(58) or b""
    finally:
        await client.close()


def started(cfg: Path, tmp: Path) -> tuple[VenueProcess, int]:
    proc = start_venue(cfg, cwd=tmp)
    return proc, int(proc.wait_ready()["fix_port"])


@pytest.mark.parametrize("how", ["stopped", "killed"])
async def test_a_captured_logon_is_refused_after_a_restart(tmp_path: Path, how: str) -> None:
    cfg = venue_config(tmp_path, sessions=SESSION)
    proc, port = started(cfg, tmp_path)
    try:
        captured = signed_logon(1, time.time_ns())
        await accepted(port, captured)
        if how == "stopped":
            assert proc.terminate() == 0, proc.stderr
        else:
            proc.kill()  # SIGKILL: the guard is durable once the Logon was answered
        stop(proc)
        proc, port = started(cfg, tmp_path)
        assert b"replayed" in await refusal_text(port, captured)
        await accepted(port, signed_logon(1, time.time_ns()))  # the genuine client gets in
        assert proc.proc.poll() is None, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        stop(proc)


async def test_a_logon_stamped_ahead_of_the_venue_is_refused(tmp_path: Path) -> None:
    proc, port = started(venue_config(tmp_path, sessions=SESSION), tmp_path)
    try:
        text = await refusal_text(port, signed_logon(1, time.time_ns() + 25 * 10**9))
        assert b"ahead of the venue's clock" in text
        # it was not accepted, so it cannot make the genuine, current Logon look replayed
        await accepted(port, signed_logon(1, time.time_ns()))
    finally:
        stop(proc)
