"""Throttle rejects are not amplified, and abuse costs a cool-down (RoE section 4).

A real gateway on 127.0.0.1: a session flooding past its rate gets at most one reject per
second (the rest of its excess takes sequence numbers and is dropped unanswered), and after
the Logout for sustained abuse its Logons are refused until `throttle.cooldown_seconds` pass.
"""

from __future__ import annotations

import asyncio
import math
import time
from collections.abc import Callable

from tests.gateway.conftest import FixClient, VenueFactory, session_config, wait_until
from venue.config import ThrottleConfig

THROTTLED = b"throttle limit exceeded"


async def test_a_flood_gets_at_most_one_reject_per_second(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    throttle = ThrottleConfig(messages_per_second=50, burst=50, abuse_seconds=60)
    venue = await start_venue([session_config(throttle=throttle)])
    client = clients(venue.port)
    await client.connect()
    await client.logon()
    start = time.monotonic()
    for i in range(300):
        await client.order(b"O%d" % i)
    # every message was read and numbered: 1 Logon + 300 orders
    await wait_until(lambda: venue.status()["next_in"] == 302, timeout=30)
    elapsed = time.monotonic() - start
    await client.send(b"5")
    rejects = 0
    while (msg := await client.read()).msg_type != b"5":
        rejects += msg.msg_type in (b"j", b"3") and THROTTLED in (msg.get(58) or b"")
    assert venue.status()["throttle_hits"] >= 300 - 50 - 50 * math.ceil(elapsed)
    assert 1 <= rejects <= math.ceil(elapsed) + 1


async def test_after_an_abuse_logout_logons_wait_out_the_cooldown(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    throttle = ThrottleConfig(messages_per_second=5, burst=5, abuse_seconds=1, cooldown_seconds=3)
    venue = await start_venue([session_config(throttle=throttle)])
    abuser = clients(venue.port)
    await abuser.connect()
    await abuser.logon()

    async def flood() -> None:
        for i in range(10_000):
            await abuser.send(b"1", [(112, b"T%d" % i)])
            await asyncio.sleep(0.005)  # pacing, not synchronisation: ~200 messages/s

    flooding = asyncio.create_task(flood())
    try:
        while (logout := await abuser.read(timeout=15)).msg_type != b"5":
            pass  # Heartbeats, and one Reject a second naming the limit
    finally:
        flooding.cancel()
    assert b"sustained" in (logout.get(58) or b"")
    await abuser.send(b"5")  # the Logout reply: the venue then closes the connection
    assert await abuser.closed() is not None
    await wait_until(lambda: not venue.status()["connected"])
    again = clients(venue.port)
    await again.connect()
    await again.send(b"A", [(98, b"0"), (108, b"30"), (141, b"Y")])  # else a good Logon
    refused = await again.read()
    assert refused.msg_type == b"5" and b"cool-down" in (refused.get(58) or b"")
    until = int(venue.status()["cooldown_until_ns"])  # type: ignore[call-overload]
    assert until > venue.gateway.clock.now_ns()  # shown to the operator (venue-admin sessions)
    await wait_until(lambda: venue.gateway.clock.now_ns() >= until, timeout=10)
    later = clients(venue.port)
    await later.connect()
    await later.logon(reset=True)  # the cool-down is over: accepted
