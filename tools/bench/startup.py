"""Start-up time with a big journal and a snapshot; prints one JSON object.

    python tools/bench/startup.py [--commands 1000000] [--tail 100000] [--dir /tmp/...]
                                  [--no-venue-run] [--keep]

Builds a journal of `--commands` commands (tools/bench/journal.py's market-maker workload,
applied to a real engine so every row holds its real events and chain hash), written straight
through the journal API in batches of 4096 rows (synchronous NORMAL: building is not what is
measured), with one snapshot `--tail` commands before the end (default 100,000: just under the
default `snapshot_every_commands`, so the tail replayed at start-up is close to its worst case).
Then measures, on that file:
- `recover` as the venue runs it (SQLite quick_check of the whole file, newest snapshot restored
  and its state hash checked, the tail's chain hashes and replayed events checked, the durable
  marker compared), and each of those steps alone;
- the background check of the history before the snapshot (`HistoryCheck`: rows 1..snapshot);
- unless `--no-venue-run`: a real `venue run` on the file, from process start to its
  `venue_ready` line (includes interpreter start and imports), and the history check's end.
Target: the venue's start-up (recover) within 2 s at 10**6 commands and a snapshot.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402 - after the sys.path set-up for running as a script

from tools.bench.journal import iter_workload  # noqa: E402
from tools.bench.verdict import Checks  # noqa: E402
from venue.core import Engine  # noqa: E402
from venue.journal import Batch, Journal, Snapshot, recover  # noqa: E402
from venue.journal.history import HistoryCheck  # noqa: E402
from venue.journal.recovery import replay_tail, restore_snapshot  # noqa: E402
from venue.log import configure as configure_logging  # noqa: E402

BATCH = 4096


async def build(db: Path, n: int, tail: int) -> dict[str, Any]:
    """Write `n` commands and their events, with a snapshot at seq n - tail."""
    start = time.perf_counter()
    journal = await Journal.open(db, synchronous="NORMAL")
    journal.mark_running()
    engine = Engine()
    encode = msgspec.msgpack.Encoder().encode
    snap_seq = max(0, n - tail)
    batch = Batch()
    ts = 1_700_000_000_000_000_000
    for seq, cmd in enumerate(iter_workload(n), start=1):
        ts += 1_000
        stamped = msgspec.structs.replace(cmd, ts=ts)
        batch.rows.append((seq, ts, encode(stamped), encode(engine.apply(stamped))))
        if seq == snap_seq:
            batch.snapshot = Snapshot(seq, ts, engine.state_hash(), engine.snapshot())
        if len(batch.rows) >= BATCH or seq == snap_seq:
            await journal.commit(batch)
            batch = Batch()
    await journal.commit(batch)
    await journal.close()
    return {
        "commands": n,
        "snapshot_seq": snap_seq,
        "tail": n - snap_seq,
        "db_bytes": db.stat().st_size,
        "build_seconds": round(time.perf_counter() - start, 1),
    }


async def measure_recover(db: Path) -> dict[str, Any]:
    start = time.perf_counter()
    _engine, journal, last = await recover(db, create=False)
    total = time.perf_counter() - start
    report = journal.recovery
    await journal.close()
    assert report is not None
    steps: dict[str, float] = {}
    journal = await Journal.open(db, create=False)
    try:
        t = time.perf_counter()
        assert await journal.quick_check() is None
        steps["quick_check"] = time.perf_counter() - t
        t = time.perf_counter()
        snap = await journal.latest_snapshot()
        assert snap is not None
        engine = restore_snapshot(snap.seq, snap.state_hash, snap.data, where=str(db))
        steps["snapshot_restore"] = time.perf_counter() - t
        t = time.perf_counter()
        await replay_tail(journal, engine, after_seq=snap.seq, after_ts=snap.ts)
        steps["tail_replay_checked"] = time.perf_counter() - t
        engine = restore_snapshot(snap.seq, snap.state_hash, snap.data, where=str(db))
        t = time.perf_counter()
        await replay_tail(journal, engine, after_seq=snap.seq, after_ts=snap.ts, checked=False)
        steps["tail_replay_unchecked"] = time.perf_counter() - t
    finally:
        await journal.close()
    t = time.perf_counter()
    history = HistoryCheck(db, until_seq=report.snapshot_seq)
    await history.run()
    history_s = time.perf_counter() - t
    return {
        "recover_seconds": round(total, 3),
        "last_seq": last,
        "replayed": report.replayed,
        "steps_seconds": {k: round(v, 3) for k, v in steps.items()},
        "background_history_check_seconds": round(history_s, 3),
        "history_rows": history.rows,
        "history_state": history.state,
        "history_detail": history.detail,
    }


def venue_run(db: Path, base: Path) -> dict[str, Any]:
    """`venue run` on the file: seconds from spawn to `venue_ready`, and to the history check."""
    text = (ROOT / "venue" / "default.toml").read_text()
    text = text.replace('path = "var/venue.db"', f'path = "{db}"')
    text = text.replace('socket = "var/venue-admin.sock"', f'socket = "{base / "admin.sock"}"')
    for port in ("9878", "9900", "9901", "9902"):
        text = text.replace(f"port = {port}", "port = 0")
    cfg = base / "venue.toml"
    cfg.write_text(text)
    start = time.perf_counter()
    proc = subprocess.Popen(
        [sys.executable, "-m", "venue", "run", "--config", str(cfg)],
        cwd=base,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    out: dict[str, Any] = {}
    assert proc.stderr is not None
    try:
        for raw in proc.stderr:
            line = raw.decode(errors="replace")
            now = round(time.perf_counter() - start, 3)
            if '"journal_recovered"' in line:
                out["recovered_duration_ms_logged"] = json.loads(line).get("duration_ms")
            if '"venue_ready"' in line:
                out["spawn_to_ready_seconds"] = now
            if '"journal_history_' in line:
                out["spawn_to_history_checked_seconds"] = now
                out["history_event"] = json.loads(line)["event"]
                break
    finally:
        proc.terminate()
        proc.wait(timeout=120)
    out["exit"] = proc.returncode
    return out


async def main_async(args: argparse.Namespace, base: Path) -> dict[str, Any]:
    db = base / "venue.db"
    out: dict[str, Any] = {"bench": "startup"}
    out["journal"] = await build(db, args.commands, args.tail)
    out.update(await measure_recover(db))
    out["target_seconds"] = 2.0
    return out


def check(result: dict[str, Any]) -> Checks:
    """The run measured what it says: the tail replayed, the history checked, the venue ran."""
    checks = Checks()
    built = result["journal"]
    checks.expect(result["last_seq"] == built["commands"], "recover did not reach the last seq")
    checks.expect(result["replayed"] == built["tail"], "recover did not replay the whole tail")
    checks.expect(result["history_state"] == "ok", f"history check: {result['history_detail']}")
    checks.expect(result["history_rows"] == built["snapshot_seq"], "history rows missing")
    run = result.get("venue_run")
    if run is not None:
        checks.expect("spawn_to_ready_seconds" in run, "venue run never got ready")
        checks.expect(run.get("history_event") == "journal_history_checked", "venue history")
        checks.expect(run["exit"] == 0, f"venue run exited {run['exit']}")
    return checks


def main() -> int:
    configure_logging(level="warning", stream=sys.stderr)  # stdout carries only the JSON
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--tail", type=int, default=100_000, help="commands after the snapshot")
    parser.add_argument("--dir", default=None, help="directory (default: a temp dir in /tmp)")
    parser.add_argument("--no-venue-run", action="store_true", help="skip the `venue run` part")
    parser.add_argument("--keep", action="store_true", help="keep the directory and its journal")
    args = parser.parse_args()
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="venue-startup-"))
    try:
        result = asyncio.run(main_async(args, base))
        if not args.no_venue_run:
            result["venue_run"] = venue_run(base / "venue.db", base)
        result["cpus"] = os.cpu_count()
        result["loadavg_1m"] = round(os.getloadavg()[0], 2)
    finally:
        if not args.keep and not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    return check(result).emit(result)


if __name__ == "__main__":
    sys.exit(main())
