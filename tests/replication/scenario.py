"""Failover end to end with real clients: the harness behind tests/replication/test_failover.py
and `tools/chaos_ha.py`.

One seed: a 3-node NATS cluster (shared, each seed on its own stream and lease bucket), a
primary and a standby venue as subprocesses, two trading sessions (ALPHA-MM, BRAVO-MM) with a
steady flow of crossing orders, cancels and replaces and two drop-copy sessions. At a random
moment the primary is SIGKILLed; the clients log on to the standby (their next sequence
numbers, ordinary resend), trade a little more; then the old primary restarts (it must rejoin
as a standby and catch up), the new primary is stopped, the old one takes over again, the
clients log on to it once more and it is killed.

Checks (`tests/reliability/chaos.py`'s `check` on the last primary's journal, plus):
- every report a client received from either primary is in the last primary's outbound store
  with the same body at the same MsgSeqNum (so no acknowledged order was lost), every ExecID
  means one thing and no fill has two ExecIDs, live orders agree, drop copies are complete;
- both nodes' journals hold the same rows up to the shorter one, and the state hashes there
  are equal.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import sqlite3
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec

from tests.reliability.chaos import COPIERS, TRADERS, Client, Outcome, check
from tests.replication.harness import HaNode
from venue.core import Command, Engine


@dataclass
class HaOutcome:
    seed: int
    ok: bool = False
    failures: list[str] = field(default_factory=list)
    rto_s: float = 0.0  # primary killed -> first ExecutionReport from the standby
    acked_before_kill: int = 0
    reports: int = 0
    fills: int = 0
    duplicate_exec_ids: int = 0
    compared_seq: int = 0
    seconds: float = 0.0

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "ok": self.ok,
            "rto_s": round(self.rto_s, 3),
            "acked_before_kill": self.acked_before_kill,
            "reports": self.reports,
            "fills": self.fills,
            "duplicate_exec_ids": self.duplicate_exec_ids,
            "compared_seq": self.compared_seq,
            "seconds": round(self.seconds, 2),
            "failures": self.failures[:20],
        }


def journal_rows(db: Path) -> list[tuple[int, int, bytes, bytes]]:
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        return [
            (int(s), int(t), bytes(c), bytes(e))
            for s, t, c, e in con.execute("SELECT seq, ts, cmd, events FROM journal ORDER BY seq")
        ]
    finally:
        con.close()


def state_hash_at(rows: list[tuple[int, int, bytes, bytes]], seq: int) -> str:
    decode = msgspec.msgpack.Decoder(Command).decode
    engine = Engine()
    for row in rows:
        if row[0] > seq:
            break
        engine.apply(decode(row[2]))
    return engine.state_hash()


def compare_journals(a: Path, b: Path) -> tuple[int, list[str]]:
    """(the seq compared up to, failures): same rows and same state hash up to the shorter."""
    ra, rb = journal_rows(a), journal_rows(b)
    upto = min(len(ra), len(rb))
    failures = []
    for x, y in zip(ra[:upto], rb[:upto], strict=True):
        if x != y:
            failures.append(f"journals differ at seq {x[0]}")
            break
    if not failures and upto and state_hash_at(ra, upto) != state_hash_at(rb, upto):
        failures.append(f"state hashes differ at seq {upto}")
    return upto, failures


async def first_report(clients: list[Client], before: dict[str, int], timeout: float) -> None:
    """Until some trading client has a new ExecutionReport (sent an order first)."""
    for c in clients:
        if c.name in TRADERS:
            c.act()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if any(len(c.accepted) > before[c.name] for c in clients if c.name in TRADERS):
            return
        await asyncio.sleep(0.005)  # polling a counter the reader tasks advance
    raise TimeoutError("no ExecutionReport from the new primary")


async def run_seed(
    seed: int, root: Path, servers: list[str], *, pause: float = 0.004, ttl_ms: int = 2000
) -> HaOutcome:
    """One seed end to end; never raises for a venue misbehaviour (it becomes a failure)."""
    t0 = time.monotonic()
    rng = random.Random(seed)
    out = HaOutcome(seed=seed)
    stream = f"S{seed}x{rng.getrandbits(24)}"
    a = HaNode(root, "a", servers, "primary", ttl_ms=ttl_ms, stream=stream)
    b = HaNode(root, "b", servers, "standby", ttl_ms=ttl_ms, stream=stream)
    names = [*TRADERS, *COPIERS]
    clients = {n: Client(n, random.Random(rng.getrandbits(32))) for n in names}
    failures: list[str] = []
    try:
        await a.start()
        port = await a.wait_ready()
        await b.start()
        await b.wait_event("replication_following")
        for c in clients.values():
            await c.connect(port)
        await asyncio.gather(*(c.settle() for c in clients.values()))
        flows = [asyncio.create_task(c.flow(pause)) for c in clients.values() if c.name in TRADERS]
        await asyncio.sleep(rng.uniform(0.2, 1.0))  # trade for a random while, then kill
        await a.kill()
        killed = time.monotonic()
        for f in flows:
            f.cancel()
        out.acked_before_kill = sum(len(c.accepted) for c in clients.values())
        for c in clients.values():
            await c.close()
        port = await b.wait_ready(timeout=30)
        for c in clients.values():
            await c.connect(port)
        before = {n: len(c.accepted) for n, c in clients.items()}
        await asyncio.gather(*(c.settle() for c in clients.values()))
        await first_report(list(clients.values()), before, timeout=15)
        out.rto_s = time.monotonic() - killed
        flows = [asyncio.create_task(c.flow(pause)) for c in clients.values() if c.name in TRADERS]
        await asyncio.sleep(rng.uniform(0.1, 0.4))
        for f in flows:
            f.cancel()
        for _ in range(2):
            await asyncio.gather(*(c.settle() for c in clients.values()))
        # the old primary rejoins as a standby, then takes over when the new one stops
        await a.start()
        await a.wait_event("replication_following")
        for c in clients.values():
            await c.close()
        if await b.stop() != 0:
            failures.append(f"b did not stop cleanly: {b.raw[-5:]}")
        port = await a.wait_ready()
        for c in clients.values():  # what b told them on the way down (cancel on disconnect)
            await c.connect(port)
        for _ in range(2):
            await asyncio.gather(*(c.settle() for c in clients.values()))
        await a.kill()  # killed, as in tests/reliability: a clean stop would cancel on disconnect
    except (TimeoutError, ConnectionError, AssertionError) as exc:
        failures.append(f"seed {seed}: {exc!r}"[:3000])
        failures += [c.describe() for c in clients.values()]
    finally:
        for node in (a, b):
            with contextlib.suppress(Exception):
                await node.kill()
        for c in clients.values():
            await c.close()
    if not failures:
        res = Outcome(seed=seed, ok=False, kills=1)
        failures = await check(a.db, list(clients.values()), res)
        out.fills = res.fills
        out.reports = res.reports
        out.compared_seq, more = compare_journals(a.db, b.db)
        failures += more
        ids = [m.get(17) for c in clients.values() if c.name in TRADERS for m in c.accepted]
        ids = [i for i in ids if i]
        out.duplicate_exec_ids = len(ids) - len(set(ids))
        if out.duplicate_exec_ids:
            failures.append(f"{out.duplicate_exec_ids} ExecIDs reported twice (not as resends)")
    out.failures = failures
    out.ok = not failures
    out.seconds = time.monotonic() - t0
    return out
