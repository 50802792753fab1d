"""A venue killed with SIGKILL in the middle of a flow: after the restart, each broker's copies
are exactly the copies of what the venue had committed for its firm (the owners' own reports,
recovered the same way), with no gap and no duplicate: the copies share their command's
transaction, so a crash keeps both or neither."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from tests.dropcopy.conftest import Broker, body_of
from tests.orderentry.conftest import Trader

ROOT = Path(__file__).resolve().parents[2]
BURST = 400


class Process:
    def __init__(self, db: Path) -> None:
        self.db = db
        self.proc: asyncio.subprocess.Process | None = None

    async def start(self) -> int:
        self.proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.dropcopy.venue_driver",
            "--db",
            str(self.db),
            cwd=ROOT,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line.startswith(b"PORT "), line
        return int(line.split()[1])

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()  # SIGKILL: nothing is flushed or closed
            await self.proc.wait()


@pytest.fixture
async def venue_process(tmp_path: Path) -> AsyncIterator[Process]:
    p = Process(tmp_path / "venue.db")
    yield p
    await p.kill()


class Member(Broker):
    """A trading client that recovers like a broker (resend in, gap fill out)."""

    async def new_order(self, cl_ord_id: str, side: str, qty: str, price: str) -> None:
        await Trader.new_order(self, cl_ord_id, side, qty, price)  # type: ignore[arg-type]


async def members(port: int, make: Callable[[type, int, str], Broker]) -> tuple[Member, Member]:
    alpha = make(Member, port, "ALPHA-MM")
    bravo = make(Member, port, "BRAVO-MM")
    assert isinstance(alpha, Member) and isinstance(bravo, Member)
    return alpha, bravo


@pytest.fixture
async def made() -> AsyncIterator[Callable[[type, int, str], Broker]]:
    clients: list[Broker] = []

    def make(kind: type, port: int, name: str) -> Broker:
        c = kind(port, name)
        clients.append(c)
        return c  # type: ignore[no-any-return]

    yield make
    for c in clients:
        await c.close()


async def settle(clients: list[Broker]) -> None:
    """Exchange a TestRequest with each client: everything sent before it has arrived."""
    for c in clients:
        await c.send(b"1", [(112, b"settle")])
        await c.until_heartbeat(b"settle")


async def test_sigkill_mid_flow_keeps_copies_and_orders_together(
    venue_process: Process, made: Callable[[type, int, str], Broker]
) -> None:
    port = await venue_process.start()
    alpha, bravo = await members(port, made)
    broker = made(Broker, port, "ALPHA-DC")
    for c in (alpha, bravo, broker):
        await c.start()
    for k in range(3):
        await alpha.new_order(f"a{k}", "2", "1", "60000.5")
        await bravo.new_order(f"b{k}", "1", "0.4", "60001")
    await settle([alpha, bravo, broker])
    # a burst the venue is killed in the middle of: some of it commits, the rest is lost
    for k in range(3, BURST):
        await alpha.new_order(f"a{k}", "2", "1", "60000.5")
        await bravo.new_order(f"b{k}", "1", "0.4", "60001")
    await broker.collect(len(broker.accepted) + 10)  # the venue is busy with the burst
    await venue_process.kill()
    for c in (alpha, bravo, broker):
        await c.close()

    port = await venue_process.start()
    for c in (alpha, bravo, broker):
        await c.start(port)
    await settle([alpha, bravo, broker])
    await alpha.new_order("after", "2", "1", "60000.5")
    await settle([alpha, bravo, broker])
    await settle([alpha, bravo, broker])

    own = [m for m in alpha.accepted if m.msg_type == b"8"]
    copies = broker.copies
    assert own and own[-1].get(11) == b"after"
    assert len(copies) == len(own)
    for c, r in zip(copies, own, strict=True):
        cb, rb = body_of(c), body_of(r)
        assert cb[: len(rb)] == rb
    assert not alpha.held and not broker.held
