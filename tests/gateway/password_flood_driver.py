"""Password-flood driver, run as a subprocess: `python -m tests.gateway.password_flood_driver
--port P --sessions N --attempts A --seconds S`.

It paces A wrong-password Logons over S seconds, each on a new connection, for sessions
PWD-0 .. PWD-(N-1) in turn, and prints one JSON object counting the answers by Logout Text
(b"waiting" when an attempt was still waiting out its back-off 2 s after the flood). Running it
in its own process keeps the flood's client work off the loop that measures the healthy
session's round trips.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import json
import time

from tests.gateway.test_bad_input import FixClient


async def guess(port: int, sender: str, i: int, deadline: float) -> str:
    client = await FixClient.connect(port, sender)
    try:
        client.send(b"A", [(98, b"0"), (108, b"30"), (554, b"guess %d" % i)])
        try:
            reply = await client.expect((b"5", b"A"), timeout=max(0.1, deadline - time.monotonic()))
        except (TimeoutError, ConnectionError):
            return "waiting"
        if reply.msg_type == b"A":
            return "ACCEPTED"
        return (reply.get(58) or b"").decode()
    finally:
        await client.close()


async def flood(port: int, sessions: int, attempts: int, seconds: float) -> dict[str, int]:
    start = time.monotonic()
    deadline = start + seconds + 2
    tasks = []
    for i in range(attempts):
        tasks.append(asyncio.create_task(guess(port, f"PWD-{i % sessions}", i, deadline)))
        await asyncio.sleep(max(0.0, start + (i + 1) * seconds / attempts - time.monotonic()))
    return dict(collections.Counter(await asyncio.gather(*tasks)))


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--sessions", type=int, default=10)
    p.add_argument("--attempts", type=int, default=300)
    p.add_argument("--seconds", type=float, default=5.0)
    a = p.parse_args()
    print(json.dumps(asyncio.run(flood(a.port, a.sessions, a.attempts, a.seconds))), flush=True)


if __name__ == "__main__":
    main()
