"""Surveillance inside the venue (a sequencer subscriber that only queues) and its alerts file,
with case handling through `venue-admin surveillance`; and `venue surveil` over a journal file.
Real venue in-process, real SQLite files, real CLI subprocesses."""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from tests.surveillance.market import Market
from tests.venue_process import REPO, write_config
from venue.app import Venue
from venue.config import load_config
from venue.config_surveillance import SurveillanceConfig
from venue.core import NewOrder, Side, TimeInForce
from venue.surveillance import AlertStore, LiveSurveillance


def order(account: str, side: Side, qty: int, tif: TimeInForce, cl: str) -> NewOrder:
    return NewOrder(
        session="S",
        firm="ALPHA",
        account=account,
        cl_ord_id=cl,
        symbol="BTC-PERP",
        side=side,
        price=120_000,  # 60,000 USD in ticks of 0.5
        qty=qty,
        tif=tif,
    )


async def wash_trade(venue: Venue, tag: str) -> int:
    """ALPHA-1 rests a sell, ALPHA-2 (same firm) buys it: a wash trade; its seq."""
    seq = venue.sequencer
    assert seq is not None
    seq.submit(order("ALPHA-1", Side.SELL, 1, TimeInForce.GTC, f"s{tag}"))
    n, _ = seq.submit(order("ALPHA-2", Side.BUY, 1, TimeInForce.IOC, f"b{tag}"))
    return n


async def run_admin(*args: str) -> tuple[int, str, str]:
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "venue.admin.cli", *args,
        cwd=str(REPO), stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode is not None
    return proc.returncode, out.decode(), err.decode()


async def wait_judged(venue: Venue, alerts_file: Path, seq: int) -> None:
    """Until the surveillance (task or process) has judged `seq` and saved its alerts."""
    if venue.surveillance is not None:
        await asyncio.wait_for(venue.surveillance.wait_processed(seq), 20)
        return
    assert venue.surveillance_process is not None
    deadline = asyncio.get_running_loop().time() + 30
    while True:
        store = AlertStore.open(alerts_file, create=False)
        try:
            if store.last_seq() >= seq:
                return
        finally:
            store.close()
        assert asyncio.get_running_loop().time() < deadline, "surveillance did not catch up"
        await asyncio.sleep(0.05)


@pytest.mark.parametrize("run", ["process", "task"])
async def test_venue_surveillance_alerts_and_restart_does_not_duplicate(
    tmp_path: Path, run: str
) -> None:
    extra = f'\n[surveillance]\nrun = "{run}"\nidle_priority = false\n'
    cfg = load_config(write_config(tmp_path, extra=extra))
    alerts_file = tmp_path / "surveillance.db"
    venue = Venue(cfg)
    await venue.start()
    try:
        assert (venue.surveillance is not None) == (run == "task")
        first = await wash_trade(venue, "1")
        await wait_judged(venue, alerts_file, first)
    finally:
        await venue.stop()
    db = tmp_path / "venue.db"
    assert alerts_file.stat().st_mode & 0o077 == 0  # 0600, like the journal
    store = AlertStore.open(alerts_file, create=False)
    try:
        [alert] = store.alerts()
        assert (alert["pattern"], alert["owner"], alert["evidence"]) == (
            "wash_trade", "ALPHA", [first]
        )  # fmt: skip
        assert store.last_seq() >= first
    finally:
        store.close()

    venue = Venue(cfg)  # restart: the windows are fed again from the journal
    await venue.start()
    try:
        second = await wash_trade(venue, "2")
        await wait_judged(venue, alerts_file, second)
    finally:
        await venue.stop()
    store = AlertStore.open(alerts_file, create=False)
    try:
        alerts = store.alerts()
    finally:
        store.close()
    # one alert, the same id: the second trade joined it (within wash.window_seconds)
    assert [(a["alert_id"], a["evidence"]) for a in alerts] == [
        (alert["alert_id"], [first, second])
    ]

    # case handling with venue-admin, from the files (no venue running)
    code, out, _ = await run_admin("--json", "surveillance", "alerts", "--db", str(db))
    assert code == 0 and [a["alert_id"] for a in json.loads(out)] == [alert["alert_id"]]
    code, out, _ = await run_admin("--json", "surveillance", "alerts", "--db", str(db),
                                   "--pattern", "spoofing")  # fmt: skip
    assert code == 0 and json.loads(out) == []
    code, out, err = await run_admin(
        "--json", "--operator", "alice", "surveillance", "close", alert["alert_id"],
        "--note", "desk test account, confirmed", "--db", str(db),
    )  # fmt: skip
    assert code == 0, err
    shown = json.loads(out)
    assert shown["status"] == "closed"
    assert shown["notes"][0]["operator"].endswith("/alice")
    assert shown["notes"][0]["note"] == "desk test account, confirmed"
    code, _, err = await run_admin("surveillance", "close", alert["alert_id"], "--note", "x",
                                   "--db", str(db))  # fmt: skip
    assert code == 4 and "already closed" in err
    code, _, err = await run_admin("surveillance", "show", "9999.1", "--db", str(db))
    assert code == 3 and "unknown alert" in err
    code, out, _ = await run_admin("--json", "surveillance", "alerts", "--status", "open",
                                   "--db", str(db))  # fmt: skip
    assert json.loads(out) == []


def test_the_subscriber_only_queues() -> None:
    """Off the order path: the sequencer's call appends and returns; nothing is judged there."""
    m = Market({"A": ["A-1", "A-2"]})
    m.order("A-1", Side.SELL, 1000, 1)
    m.order("A-2", Side.BUY, 1000, 1, tif=TimeInForce.IOC)

    class NoStore:
        def save(self, *_: Any) -> None:
            raise AssertionError("nothing is saved from the subscriber")

    live = LiveSurveillance(SurveillanceConfig(), NoStore())  # type: ignore[arg-type]
    for row in m.rows:
        live.on_committed(*row)
    assert live.engine.last_seq == 0 and live.processed_seq == 0


def test_venue_surveil_offline_is_read_only_and_deterministic(tmp_path: Path) -> None:
    m = Market({"A": ["A-1", "A-2"], "Z": ["Z-1"]})
    for i in range(3):
        m.order("A-1", Side.SELL, 1000, 1)
        m.order("A-2" if i != 1 else "Z-1", Side.BUY, 1000, 1, tif=TimeInForce.IOC)
        m.advance_ms(120_000)
    db = tmp_path / "venue.db"
    asyncio.run(m.write_journal(db))
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}

    def surveil(*extra: str) -> Any:
        out = subprocess.run(
            [sys.executable, "-m", "venue", "surveil", "--db", str(db), "--json", *extra],
            check=False, capture_output=True, text=True, cwd=REPO, timeout=60,
        )  # fmt: skip
        assert out.returncode == 0, out.stderr
        return json.loads(out.stdout)

    alerts = surveil()
    assert [a["pattern"] for a in alerts] == ["wash_trade", "wash_trade"]
    assert surveil() == alerts
    after = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in tmp_path.iterdir()}
    assert after == before  # the journal (and its -wal/-shm) untouched
    # --from/--to by seq: only the last trade
    last = alerts[-1]["evidence"][0]
    assert [a["evidence"] for a in surveil("--from", str(last - 1))] == [[last]]
    assert surveil("--to", str(last - 1)) == alerts[:1]
    # --alerts saves them for venue-admin
    surveil("--alerts", str(tmp_path / "alerts.db"))
    store = AlertStore.open(tmp_path / "alerts.db", create=False)
    try:
        assert [a["alert_id"] for a in store.alerts()] == [a["alert_id"] for a in alerts]
    finally:
        store.close()


def test_bench_tool_smoke() -> None:
    """tools/bench/surveil.py at a small size: runs, prints its figures, no false positive."""
    out = subprocess.run(
        [sys.executable, str(REPO / "tools" / "bench" / "surveil.py"), "--commands", "3000"],
        check=False, capture_output=True, text=True, cwd=REPO, timeout=120,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    report = json.loads(out.stdout)
    assert report["rows"] > 3000 and report["trades"] > 100
    assert report["alerts"] == 0


def test_idle_priority_puts_the_process_in_the_idle_class() -> None:
    code = "from venue.surveillance.follow import idle_priority; print(idle_priority())"
    out = subprocess.run(
        [sys.executable, "-c", code + "; import os; print(os.sched_getscheduler(0))"],
        check=False, capture_output=True, text=True, cwd=REPO, timeout=60,
    )  # fmt: skip
    assert out.returncode == 0, out.stderr
    what, policy = out.stdout.split()
    assert what == "idle" and int(policy) == os.SCHED_IDLE


def test_a_killed_venue_leaves_no_surveillance_process_and_closes_its_stderr(
    tmp_path: Path,
) -> None:
    """The surveillance process never holds the venue's stderr (a reader waiting for its end
    would wait for it too) and dies with the venue (PR_SET_PDEATHSIG)."""
    from tests.venue_process import start_venue

    venue = start_venue(write_config(tmp_path), cwd=tmp_path)
    try:
        venue.wait_ready()
        children = Path(f"/proc/{venue.proc.pid}/task/{venue.proc.pid}/children").read_text()
        [follower] = [int(c) for c in children.split()]
        cmdline = Path(f"/proc/{follower}/cmdline").read_bytes().split(b"\0")
        assert b"surveil" in cmdline and b"--follow" in cmdline
    finally:
        venue.kill()
    assert not venue._reader.is_alive()  # stderr reached its end once the venue was gone
    deadline = time.monotonic() + 30
    while Path(f"/proc/{follower}").exists():
        status = Path(f"/proc/{follower}/status").read_text()
        if "State:\tZ" in status:  # a zombie: dead, awaiting its (gone) parent's reaper
            break
        assert time.monotonic() < deadline, "the surveillance process outlived the venue"
        time.sleep(0.05)
