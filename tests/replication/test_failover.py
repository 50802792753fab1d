"""Failover with real processes and a real 3-node NATS cluster (issue 23).

A primary and a standby `venue run` with a `[replication]` table; FIX clients from
tests/reliability; NATS nodes SIGKILLed and restarted. Each test waits on the log event it
expects (the harness reads the nodes' JSON log lines), never on a sleep.
"""

from __future__ import annotations

import asyncio
import json
import random
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.reliability.chaos import Client
from tests.replication.cluster import NatsCluster
from tests.replication.harness import HaNode
from tests.replication.scenario import run_seed

pytestmark = pytest.mark.slow


async def _trade(client: Client, orders: int) -> int:
    """Send `orders` order-entry actions and wait until all are answered; the reports seen."""
    before = len(client.accepted)
    for _ in range(orders):
        client.act()
    await client.settle()
    return len(client.accepted) - before


@pytest.mark.parametrize("seed", [3])
async def test_kill_9_the_primary_under_load(
    seed: int, nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """Two trading and two drop-copy sessions; the primary is SIGKILLed mid-flow; the clients
    log on to the standby and resume; nothing acknowledged is lost, no ExecID repeats, the old
    primary rejoins as a standby and both journals agree (same rows, same state hash)."""
    out = await run_seed(seed, tmp_path, nats_cluster.servers)
    assert out.ok, json.dumps(out.as_json(), indent=1)
    assert out.acked_before_kill > 0 and out.fills > 0 and out.compared_seq > 0


async def test_a_paused_primary_wakes_up_fenced_and_releases_nothing(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    a = HaNode(tmp_path, "a", nats_cluster.servers, "primary", ttl_ms=1000, renew_ms=200)
    b = HaNode(tmp_path, "b", nats_cluster.servers, "standby", ttl_ms=1000, renew_ms=200)
    client = Client("ALPHA-MM", random.Random(7))
    try:
        await a.start()
        port = await a.wait_ready()
        await b.start()
        await b.wait_event("replication_following")
        await client.connect(port)
        await client.settle()
        assert await _trade(client, 5) > 0
        answered = len(client.accepted)
        a.signal(signal.SIGSTOP)  # a VM stall: a keeps believing it leads
        client.act()  # an order a reads when it wakes up
        client.act()
        await b.wait_ready(timeout=30)  # the lease expired; b won it and promoted
        a.signal(signal.SIGCONT)
        assert await a.wait_exit() == 4
        assert "releasing nothing more" in "\n".join(a.raw)
        assert a.has_event("lease_lost") or a.has_event("journal_commit_failed")
        await asyncio.wait_for(_closed(client), 10)
        assert len(client.accepted) == answered  # not one report after the pause
        assert await b.stop() == 0
    finally:
        for node in (a, b):
            await node.kill()
        await client.close()


async def _closed(client: Client) -> None:
    while client.connected:
        await asyncio.sleep(0.01)  # the reader task closes the writer on EOF


async def test_nats_node_loss_standby_loss_and_quorum_loss(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """Kill the standby: the primary continues. Kill one NATS node: it continues. Kill a second:
    it stops releasing, says why, and resumes when quorum returns, losing nothing."""
    a = HaNode(tmp_path, "a", nats_cluster.servers, "primary", ttl_ms=2000)
    b = HaNode(tmp_path, "b", nats_cluster.servers, "standby", ttl_ms=2000)
    client = Client("ALPHA-MM", random.Random(11))
    try:
        await a.start()
        port = await a.wait_ready()
        await b.start()
        await b.wait_event("replication_following")
        await client.connect(port)
        await client.settle()
        assert await _trade(client, 3) > 0
        await b.kill()
        assert await _trade(client, 3) > 0  # no standby: the primary goes on
        nats_cluster.kill_node(0)
        assert await _trade(client, 3) > 0  # two of three NATS nodes: still a quorum
        nats_cluster.kill_node(1)
        answered = len(client.accepted)
        mark = len(a.events)
        client.act()
        client.act()
        ev = await a.wait_event("replication_waiting_for_quorum", after=mark)
        assert "releasing nothing" in ev["action"]
        assert len(client.accepted) == answered  # nothing released without the quorum's ack
        nats_cluster.start_node(0)
        nats_cluster.start_node(1)
        await a.wait_event("replication_quorum_restored", timeout=60, after=mark)
        await client.settle(timeout=30)
        assert len(client.accepted) > answered  # the held reports, released once acknowledged
        assert await _trade(client, 3) > 0
        assert not a.has_event("journal_commit_failed")
    finally:
        for node in (a, b):
            await node.kill()
        await client.close()


async def test_venue_admin_failover_hands_over_and_status_shows_it(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    a = HaNode(tmp_path, "a", nats_cluster.servers, "primary")
    b = HaNode(tmp_path, "b", nats_cluster.servers, "standby")
    client = Client("ALPHA-MM", random.Random(5))
    try:
        await a.start()
        port = await a.wait_ready()
        await b.start()
        await b.wait_event("replication_following")
        await client.connect(port)
        await client.settle()
        assert await _trade(client, 4) > 0
        standby = (await _admin(b, "status"))["replication"]
        assert (standby["role"], standby["lease_holder"]["node"]) == ("standby", "a")
        refused = await _admin(b, "failover", ok=False)  # only the primary hands over
        assert "standby" in refused
        assert standby["stream_seq"] >= standby["applied_stream_seq"] > 0
        status = await _admin(a, "status")
        rep = status["replication"]
        assert (rep["node"], rep["role"], rep["lease_holder"]["node"]) == ("a", "primary", "a")
        assert rep["stream_seq"] > 0 and rep["replication_lag"] == 0
        mark = len(a.events)
        assert (await _admin(a, "failover"))["stepping_down"] == "a"
        port_b = await b.wait_ready()
        await a.wait_event("replication_stepped_down", after=mark)
        await a.wait_event("replication_following", after=mark)  # a follows b now
        await client.close()
        await client.connect(port_b)
        await client.settle()
        assert await _trade(client, 4) > 0
        rep_b = (await _admin(b, "status"))["replication"]
        assert (rep_b["role"], rep_b["lease_holder"]["node"]) == ("primary", "b")
    finally:
        for node in (a, b):
            await node.kill()
        await client.close()


async def _admin(node: HaNode, *args: str, ok: bool = True) -> Any:
    cmd = [sys.executable, "-m", "venue.admin.cli", "--socket", str(node.admin_socket), "--json"]
    cmd += [*args, "--yes"] if args[0] == "failover" else list(args)
    proc = await asyncio.create_subprocess_exec(
        *cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE
    )
    out, err = await asyncio.wait_for(proc.communicate(), 30)
    if not ok:
        assert proc.returncode != 0, out.decode()
        return err.decode()
    assert proc.returncode == 0, err.decode()
    return json.loads(out)


class _Feed(asyncio.DatagramProtocol):
    """Receives the feed's packets (and re-request answers) on one loopback socket."""

    def __init__(self) -> None:
        self.sessions: set[bytes] = set()
        self.bodies: dict[int, bytes] = {}
        self.conflicts: list[int] = []

    def datagram_received(self, data: bytes, addr: object) -> None:
        from venue.marketdata.framing import decode_packet

        session, seq, _count, bodies = decode_packet(data)
        if bodies:
            self.sessions.add(session)
        for i, body in enumerate(bodies):
            if self.bodies.setdefault(seq + i, body) != body:
                self.conflicts.append(seq + i)


async def test_the_promoted_standby_continues_the_feed_session_and_sequence(
    nats_cluster: NatsCluster, tmp_path: Path
) -> None:
    """After a kill -9 of the primary the new primary's feed is the same MoldUDP64 session
    with the next sequence numbers: a feed handler's book from every message (gaps filled by
    re-requests to the new primary) equals the new primary's snapshot, and no sequence number
    was used for two different messages."""
    from venue.marketdata.book import FeedBook
    from venue.marketdata.client import fetch_snapshot
    from venue.marketdata.framing import encode_request, session_bytes
    from venue.marketdata.messages import decode

    loop = asyncio.get_running_loop()
    transport, feed = await loop.create_datagram_endpoint(_Feed, local_addr=("127.0.0.1", 0))
    port = transport.get_extra_info("sockname")[1]
    a = HaNode(tmp_path, "a", nats_cluster.servers, "primary", feed_port=port)
    b = HaNode(tmp_path, "b", nats_cluster.servers, "standby", feed_port=port)
    client = Client("ALPHA-MM", random.Random(3))
    other = Client("BRAVO-MM", random.Random(4))
    try:
        await a.start()
        await a.wait_ready()
        md_a = await a.wait_event("marketdata_started")
        await b.start()
        await b.wait_event("replication_following")
        for c in (client, other):
            await c.connect(int((await a.wait_event("venue_ready"))["fix_port"]))
            await c.settle()
            assert await _trade(c, 15) > 0
        await a.kill()
        port_b = await b.wait_ready()
        md_b = await b.wait_event("marketdata_started")
        assert md_b["session"] == md_a["session"]  # the same session continues
        assert md_b["next_seq"] > md_a["next_seq"]  # ... after the old primary's messages
        for c in (client, other):
            await c.close()
            await c.connect(port_b)
            await c.settle()
            assert await _trade(c, 15) > 0
        session, snapshot, next_seq = await fetch_snapshot("127.0.0.1", md_b["snapshot_port"])
        assert session == md_a["session"]
        missing = [s for s in range(1, next_seq) if s not in feed.bodies]
        for seq in missing:  # re-requests to the new primary fill what the old one did not send
            transport.sendto(
                encode_request(session_bytes(session), seq, 1),
                ("127.0.0.1", md_b["rerequest_port"]),
            )
        deadline = loop.time() + 10
        while any(s not in feed.bodies for s in range(1, next_seq)) and loop.time() < deadline:
            await asyncio.sleep(0.01)  # the answers arrive on the feed socket
        assert [s for s in range(1, next_seq) if s not in feed.bodies] == []
        assert feed.conflicts == [] and feed.sessions == {session_bytes(session)}
        live, snap = FeedBook(), FeedBook()
        for seq in range(1, next_seq):
            live.apply(decode(feed.bodies[seq]))
        for body in snapshot:
            msg = decode(body)
            if type(msg).__name__ != "SnapshotCompleteMsg":
                snap.apply(msg)
        assert live.view() == snap.view() and live.view()
    finally:
        for node in (a, b):
            await node.kill()
        for c in (client, other):
            await c.close()
        transport.close()
