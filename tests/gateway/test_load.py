"""Load against the real running venue: many sessions at once, nothing lost, nothing stalls.

Fifty sessions log on at the same time and each does TestRequest round trips and sends
NewOrderSingles, while three hundred connections sit there without logging on. Checked: every
request gets its answer (each within `ROUND_TRIP_BOUND`), every NewOrderSingle gets exactly one
ExecutionReport for its ClOrdID, each session's inbound MsgSeqNums are gap-free, and the
process is still up. Speed is measured by tools/bench, not here.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator

import pytest

from tests.gateway.test_bad_input import (
    FixClient,
    HealthMonitor,
    extra_sessions,
    stop,
    venue_config,
)
from tests.venue_process import VenueProcess, start_venue
from venue.fix.codec import format_utc_timestamp

SESSIONS = 50
ROUND_TRIPS = 100
ORDERS = 100
IDLE_CONNECTIONS = 300


@pytest.fixture(scope="module")
def venue(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[VenueProcess, int]]:
    tmp = tmp_path_factory.mktemp("load")
    cfg = venue_config(tmp, sessions=extra_sessions("LOAD", SESSIONS))
    proc = start_venue(cfg, cwd=tmp)
    try:
        ready = proc.wait_ready()
        yield proc, int(ready["fix_port"])
        assert proc.proc.poll() is None, "the venue died:\n" + proc.stderr
        assert proc.terminate() == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        stop(proc)


def new_order(i: int, sender: str) -> list[tuple[int, bytes]]:
    return [
        (11, f"{sender}-{i}".encode()),
        (1, b"ALPHA-1"),
        (55, b"BTC-PERP"),
        (54, b"1"),  # all buys, below the reference price: nothing trades
        (60, format_utc_timestamp(time.time_ns())),
        (38, b"0.001"),
        (40, b"2"),
        (44, b"59000"),
        (59, b"0"),
    ]


async def session_workload(port: int, sender: str) -> FixClient:
    client = await FixClient.connect(port, sender)
    await client.logon()
    for _ in range(ROUND_TRIPS):
        await client.round_trip()
    for i in range(ORDERS):
        client.send(b"D", new_order(i, sender))
    answered: dict[bytes, int] = {}
    while len(answered) < ORDERS:
        report = await client.expect(b"8")
        cl_ord_id = report.get(11) or b""
        answered[cl_ord_id] = answered.get(cl_ord_id, 0) + 1
    assert sorted(answered) == sorted(f"{sender}-{i}".encode() for i in range(ORDERS))
    await client.round_trip()  # anything else still queued for this session arrives first
    return client


async def test_many_sessions_at_once(venue: tuple[VenueProcess, int]) -> None:
    proc, port = venue
    monitor = await HealthMonitor.start(port, "BRAVO-MM")
    idle = await asyncio.gather(*(FixClient.connect(port, "IDLE") for _ in range(IDLE_CONNECTIONS)))
    try:
        clients = await asyncio.gather(
            *(session_workload(port, f"LOAD-{i}") for i in range(1, SESSIONS + 1))
        )
        for client in clients:
            seqs = client.seqs
            assert seqs == list(range(1, len(seqs) + 1)), "MsgSeqNum gap or repeat"
            client.send(b"5")
            await client.expect(b"5")
            await client.close()
    finally:
        rtts = await monitor.stop()
        for c in idle:
            await c.close()
    assert len(rtts) >= 3
    assert proc.proc.poll() is None, "the venue died:\n" + proc.stderr


async def test_sessions_log_on_again_after_the_load(venue: tuple[VenueProcess, int]) -> None:
    _, port = venue
    clients = await asyncio.gather(
        *(FixClient.connect(port, f"LOAD-{i}") for i in range(1, SESSIONS + 1))
    )
    try:
        await asyncio.gather(*(c.logon() for c in clients))
        await asyncio.gather(*(c.round_trip() for c in clients))
    finally:
        for c in clients:
            await c.close()
