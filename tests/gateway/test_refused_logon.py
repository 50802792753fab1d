"""A refused Logon never cancels the session's resting orders (RoE section 9).

Over real sockets with the real journal, sequencer, gateway and order entry: BRAVO-MM (an
Ed25519 session with cancel on disconnect on, the default) rests an order and logs out cleanly,
so the order stays. Then each kind of refused Logon is tried: MsgSeqNum too low, a bad
signature, a wrong source address, a second connection while the session is logged on, a Logon
refused during the failed-logon back-off, one refused in the cool-down after a Logout for
throttle abuse (throttled), a disabled session and a HeartBtInt out of bounds. After each, the
order is still live and no command was sequenced (a cancel on disconnect would be one
MassCancel). Finally a disconnect of a *logged-on* connection still
cancels, so the test cannot pass by cancel on disconnect being off.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from pathlib import Path

import msgspec
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from tests.gateway.conftest import DICTIONARY, FixClient, wait_until
from tests.orderentry.conftest import DEFAULT, demo_sessions
from venue.clock import LiveClock
from venue.config import (
    AuthConfig,
    GatewayConfig,
    account_commands,
    instrument_from_config,
)
from venue.core import AddInstrument
from venue.fix.codec import FixMessage, Framer, encode, format_utc_timestamp
from venue.gateway import Gateway
from venue.gateway.auth import public_key_b64, sign_logon
from venue.gateway.logon_limits import LogonLimits
from venue.gateway.order_entry import OrderEntry, gateway_sender
from venue.journal.recovery import recover
from venue.sequencer import Sequencer

KEY = Ed25519PrivateKey.generate()
WRONG_KEY = Ed25519PrivateKey.generate()
NAME = "BRAVO-MM"
BASE_DELAY_NS = 50_000_000  # failed-logon back-off: 50 ms, doubling per failure


class Venue:
    def __init__(self, gateway: Gateway, sequencer: Sequencer, journal: object) -> None:
        self.gateway = gateway
        self.sequencer = sequencer
        self.journal = journal

    @property
    def port(self) -> int:
        return self.gateway.port

    def live_orders(self) -> int:
        return len(self.sequencer.engine.by_session.get(NAME, {}))

    async def flushed(self) -> None:
        done = asyncio.Event()
        self.sequencer.after_commit(done.set)
        await asyncio.wait_for(done.wait(), 5)


@pytest.fixture
async def venue(tmp_path: Path) -> AsyncIterator[Venue]:
    sessions = [
        msgspec.structs.replace(
            s, auth=AuthConfig(method="ed25519", public_key=public_key_b64(KEY))
        )
        if s.name == NAME
        else s
        for s in demo_sessions()
    ]
    clock = LiveClock()
    engine, journal, _ = await recover(tmp_path / "venue.db", synchronous="NORMAL", clock=clock)
    sequencer = Sequencer(engine, journal, clock)
    await sequencer.start()
    for i in DEFAULT.instruments:
        sequencer.submit(AddInstrument(instrument=instrument_from_config(i)))
    for cmd in account_commands(DEFAULT, engine.accounts):
        sequencer.submit(cmd)
    order_entry = OrderEntry(sequencer=sequencer, sessions=sessions)
    gateway = Gateway(
        config=GatewayConfig(host="127.0.0.1", port=0),
        sessions=sessions,
        sequencer=sequencer,
        journal=journal,
        clock=clock,
        dictionary=DICTIONARY,
        application=order_entry,
        logon_limits=LogonLimits(base_delay_ns=BASE_DELAY_NS, max_delay_ns=10**9),
    )
    order_entry.attach(gateway_sender(gateway))
    await gateway.start()
    yield Venue(gateway, sequencer, journal)
    with contextlib.suppress(Exception):
        await gateway.stop()
        await sequencer.stop()
        await journal.close()  # type: ignore[attr-defined]


class Client(FixClient):
    """BRAVO-MM's side: signed Logons (any key, any MsgSeqNum, any HeartBtInt)."""

    def __init__(self, port: int) -> None:
        super().__init__(port, sender=NAME.encode(), target=b"VENUE")

    async def signed_logon(
        self, *, key: Ed25519PrivateKey = KEY, seq: int = 0, hb: int = 30
    ) -> None:
        assert self.writer is not None
        if seq == 0:
            seq = self.next_out
            self.next_out += 1
        sent = format_utc_timestamp(time.time_ns())
        signature = sign_logon(key, NAME, "VENUE", seq, sent)
        body = [(98, b"0"), (108, b"%d" % hb), (95, b"%d" % len(signature)), (96, signature)]
        frame = encode(
            b"A", begin_string=b"FIX.4.4", sender=self.sender, target=self.target, seq=seq,
            sending_time=sent, body=body,
        )  # fmt: skip
        self.writer.write(frame)
        await self.writer.drain()

    async def refused(self) -> bytes:
        """The venue closes the connection; returns what it wrote before (a Logout or nothing)."""
        try:
            return await self.closed()
        finally:
            await self.close()


async def logged_on(venue: Venue) -> Client:
    c = await Client(venue.port).connect()
    await c.signed_logon()
    await c.receive(b"A")
    return c


async def rest_order_and_log_out(venue: Venue) -> int:
    """Log on with fresh sequence numbers, rest one order, Logout cleanly: returns next_in."""
    c = await logged_on(venue)
    body = [
        (11, b"REST-1"),
        (1, b"BRAVO-1"),
        (55, b"BTC-PERP"),
        (54, b"1"),
        (60, format_utc_timestamp(time.time_ns())),
        (38, b"0.01"),
        (40, b"2"),
        (44, b"59000"),
        (59, b"1"),
    ]
    await c.send(b"D", body)
    report = await c.receive(b"8")
    assert report.get(39) == b"0", report
    await c.send(b"5")
    await c.receive(b"5")
    await c.closed()
    await c.close()
    await wait_until(lambda: venue.gateway.slots[NAME].connection is None)
    assert venue.live_orders() == 1  # a clean Logout keeps the orders (RoE section 9)
    return c.next_out


async def untouched(venue: Venue, last_seq: int) -> None:
    """Nothing was sequenced since `last_seq` (no MassCancel) and the order still rests."""
    await wait_until(lambda: venue.gateway.slots[NAME].connection is None)
    await venue.flushed()
    assert venue.sequencer.last_seq == last_seq
    assert venue.live_orders() == 1


def logout_text(data: bytes) -> bytes:
    (msg,) = Framer().feed(data)
    assert isinstance(msg, FixMessage) and msg.msg_type == b"5", data
    return msg.get(58) or b""


async def test_no_refused_logon_cancels_resting_orders(venue: Venue) -> None:
    next_out = await rest_order_and_log_out(venue)
    last_seq = venue.sequencer.last_seq

    # MsgSeqNum too low: the venue expects `next_out`; 1 is below it.
    c = await Client(venue.port).connect()
    await c.signed_logon(seq=1)
    assert b"MsgSeqNum too low" in logout_text(await c.refused())
    await untouched(venue, last_seq)

    # A bad signature.
    c = await Client(venue.port).connect()
    await c.signed_logon(key=WRONG_KEY, seq=next_out)
    assert logout_text(await c.refused()) == b"signature invalid"
    await untouched(venue, last_seq)

    # A source address outside the session's allowed_addresses.
    slot = venue.gateway.slots[NAME]
    venue.gateway.reload_session_config(
        msgspec.structs.replace(slot.config, allowed_addresses=["192.0.2.0/24"])
    )
    c = await Client(venue.port).connect()
    await c.signed_logon(seq=next_out)
    assert logout_text(await c.refused()) == b"address not allowed"
    await untouched(venue, last_seq)
    venue.gateway.reload_session_config(
        msgspec.structs.replace(slot.config, allowed_addresses=["127.0.0.0/8"])
    )

    # Slowed down: failures above made the back-off non-zero; one more is refused only after
    # waiting it out.
    delay = venue.gateway.logon_limits.delay_ns(NAME, "127.0.0.1", time.time_ns())
    assert delay >= BASE_DELAY_NS
    c = await Client(venue.port).connect()
    await c.signed_logon(key=WRONG_KEY, seq=next_out)
    assert logout_text(await c.refused()) == b"signature invalid"
    await untouched(venue, last_seq)

    # Throttled: in the cool-down that follows a Logout for throttle abuse (as the throttle
    # sets it), a Logon with good credentials is refused.
    venue.gateway.logon_limits.start_cooldown(NAME, time.time_ns() + 60 * 10**9)
    c = await Client(venue.port).connect()
    await c.signed_logon(seq=next_out)
    assert b"cool-down" in logout_text(await c.refused())
    await untouched(venue, last_seq)
    venue.gateway.logon_limits.expired(time.time_ns() + 61 * 10**9)  # the cool-down is over

    # A disabled session; a HeartBtInt outside the session's bounds.
    venue.gateway.set_session_enabled(NAME, False)
    c = await Client(venue.port).connect()
    await c.signed_logon(seq=next_out)
    assert logout_text(await c.refused()) == b"session disabled"
    await untouched(venue, last_seq)
    venue.gateway.set_session_enabled(NAME, True)
    c = await Client(venue.port).connect()
    await c.signed_logon(seq=next_out, hb=100_000)
    assert b"HeartBtInt" in logout_text(await c.refused())
    await untouched(venue, last_seq)

    # A second connection while the session is logged on: refused, the first goes on.
    first = Client(venue.port)
    await first.connect()
    first.next_out = next_out
    await first.signed_logon()
    await first.receive(b"A")
    second = await Client(venue.port).connect()
    await second.signed_logon(seq=first.next_out)
    assert await second.refused() == b""  # closed without a word
    await venue.flushed()
    assert venue.sequencer.last_seq == last_seq and venue.live_orders() == 1
    await first.send(b"1", [(112, b"STILL-THERE")])
    assert (await first.receive(b"0")).get(112) == b"STILL-THERE"

    # The control: the logged-on connection dropping does cancel (cancel on disconnect is on).
    await first.close()
    await second.close()
    await wait_until(lambda: venue.live_orders() == 0)
    assert venue.sequencer.last_seq == last_seq + 1  # one MassCancel
