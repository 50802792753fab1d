"""Cancel on disconnect when the venue itself stops (RoE section 9), with a real crash and
restart of the venue process (tests/venue_process.py).

ALPHA-MM and BRAVO-MM (cancel on disconnect on, the default) and KEEP-MM (off) each rest an
order; the venue is killed (SIGKILL) and started again with a 3-second grace. BRAVO-MM logs on
again at once, ALPHA-MM does not: after the grace ALPHA-MM's order alone is canceled, by one
sequenced command; BRAVO-MM's and KEEP-MM's stay. ALPHA-MM then logs on and receives the
Canceled report by resend, its Text naming the reason.
"""

from __future__ import annotations

import asyncio
import json
import time
from pathlib import Path
from typing import Any

from tests.gateway.test_bad_input import FixClient, stop, venue_config
from tests.venue_process import VenueProcess, start_venue
from venue.fix.codec import format_utc_timestamp

GRACE = 3
KEEP = """
[[sessions]]
name = "KEEP-MM"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "KEEP-MM"
firm = "ALPHA"
accounts = ["ALPHA-2"]
cancel_on_disconnect = false
"""


async def rest(port: int, name: str, cl_ord_id: str) -> int:
    """Log on (fresh sequence numbers), rest one order, log out cleanly (the order stays).
    Returns the next MsgSeqNum."""
    c = await FixClient.connect(port, name)
    await c.logon()
    c.send(
        b"D",
        [
            (11, cl_ord_id.encode()),
            (55, b"BTC-PERP"),
            (54, b"1"),
            (60, format_utc_timestamp(time.time_ns())),
            (38, b"0.01"),
            (40, b"2"),
            (44, b"59000"),
            (59, b"1"),
        ],
    )
    report = await c.expect(b"8")
    assert report.get(39) == b"0", report  # acknowledged: durable before the crash
    c.send(b"5")
    await c.expect(b"5")
    await c.close()
    return c.next_seq


async def back(port: int, name: str, next_seq: int) -> FixClient:
    """Log on again without a sequence reset (the stored messages stay for resend)."""
    c = await FixClient.connect(port, name)
    c.next_seq = next_seq
    c.send(b"A", [(98, b"0"), (108, b"30")])
    await c.expect(b"A")
    return c


async def live_orders(c: FixClient) -> list[bytes]:
    c.send(b"AF", [(584, b"ms"), (585, b"7")])
    first = await c.expect(b"8", where=lambda m: m.get(584) == b"ms")
    reports = [first]
    while reports[-1].get(912) != b"Y":
        reports.append(await c.expect(b"8", where=lambda m: m.get(584) == b"ms"))
    return [r.get(11) or b"" for r in reports if r.get(911) != b"0"]


async def logged(proc: VenueProcess, event: str, timeout: float) -> dict[str, Any]:
    """The first log line of `event` (the venue logs JSON lines), waited for with a timeout."""
    deadline = time.monotonic() + timeout
    needle = f'"event": "{event}"'
    while time.monotonic() < deadline:
        for line in list(proc.lines):
            if needle in line:
                return json.loads(line)  # type: ignore[no-any-return]
        await asyncio.sleep(0.05)
    raise AssertionError(f"no {event} within {timeout}s:\n" + proc.stderr)


async def test_a_crash_cancels_the_orders_of_sessions_not_back_within_the_grace(
    tmp_path: Path,
) -> None:
    cfg = venue_config(tmp_path, sessions=KEEP, cancel_on_restart_grace_seconds=GRACE)
    proc = start_venue(cfg, cwd=tmp_path)
    try:
        port = int(proc.wait_ready()["fix_port"])
        seqs = {n: await rest(port, n, f"{n}-1") for n in ("ALPHA-MM", "BRAVO-MM", "KEEP-MM")}
    finally:
        stop(proc)  # SIGKILL: a crash
    proc = start_venue(cfg, cwd=tmp_path)
    try:
        port = int(proc.wait_ready()["fix_port"])
        bravo = await back(port, "BRAVO-MM", seqs["BRAVO-MM"])  # back within the grace
        armed = await logged(proc, "restart_cancel_armed", GRACE)
        assert sorted(armed["sessions"]) == ["ALPHA-MM", "BRAVO-MM"]  # KEEP-MM: setting off
        done = await logged(proc, "restart_cancel", GRACE + 10)
        assert done["sessions"] == ["ALPHA-MM"] and done["canceled"] == 1  # one command

        assert await live_orders(bravo) == [b"BRAVO-MM-1"]
        keep = await back(port, "KEEP-MM", seqs["KEEP-MM"])
        assert await live_orders(keep) == [b"KEEP-MM-1"]

        alpha = await back(port, "ALPHA-MM", seqs["ALPHA-MM"])
        alpha.send(b"2", [(7, b"1"), (16, b"0")])  # everything since the last reset
        canceled = await alpha.expect(b"8", where=lambda m: m.get(150) == b"4")
        assert canceled.get(43) == b"Y"  # stored while ALPHA-MM was away, delivered by resend
        assert canceled.get(11) == b"ALPHA-MM-1" and canceled.get(39) == b"4"
        assert b"venue restarted" in (canceled.get(58) or b"")
        assert await live_orders(alpha) == []
        for c in (alpha, bravo, keep):
            await c.close()
        assert proc.terminate() == 0, proc.stderr
        assert "Traceback" not in proc.stderr
    finally:
        stop(proc)
