"""Benchmark of the sequencer + journal; prints one JSON object.

    python tools/bench/journal.py [--commands N] [--latency-samples K] [--dir /tmp/...]

Measures, for synchronous = NORMAL and FULL:
- throughput: commands/s through Sequencer.submit -> Engine.apply -> group commit -> release
  (producer yields to the loop every 256 commands, as a gateway reading sockets would);
- batch commit time p50/p99 and mean batch size during that run;
- single-command latency p50/p99: submit one command, wait until its output is released.
Then, on the NORMAL database of N commands (snapshots every N/10 + 1 commands, so the tail after
the newest snapshot is close to its worst case):
- replay speed: journal read + decode only, and read + decode + Engine.apply (commands/s);
- restart time: `recover()` with the newest snapshot + tail (with and without the start-up
  SQLite quick_check), and from empty (no snapshot).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import random
import shutil
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402 - after the sys.path set-up for running as a script

from venue.clock import LiveClock  # noqa: E402
from venue.core import (  # noqa: E402
    AddInstrument,
    CancelOrder,
    Command,
    Engine,
    Instrument,
    InstrumentKind,
    NewOrder,
    Side,
)
from venue.journal import Batch, Journal, recover  # noqa: E402
from venue.log import configure as configure_logging  # noqa: E402
from venue.sequencer import Sequencer  # noqa: E402

SYMBOLS = ("BTC-PERP", "ETH-PERP", "SOL-PERP", "XRP-PERP")
REF = 100_000


def workload(n: int, seed: int = 1) -> list[Command]:
    """Market-maker-like flow: new orders around the reference price and cancels of orders
    entered 64 commands earlier, so the book stays a realistic size; some orders cross."""
    rnd = random.Random(seed)
    cmds: list[Command] = [
        AddInstrument(
            instrument=Instrument(
                symbol=s,
                kind=InstrumentKind.PERPETUAL,
                tick_size="0.1",
                lot_size="0.001",
                multiplier="1",
                ref_price=REF,
                band_ppb=100_000_000,
                max_order_qty=10_000,
            )
        )
        for s in SYMBOLS
    ]
    i = len(cmds)
    while len(cmds) < n:
        i += 1
        firm = f"F{i % 7}"
        if i % 2 == 0 and i > 64:
            j = i - 63
            cmds.append(
                CancelOrder(
                    session=f"S{j % 7}",
                    firm=f"F{j % 7}",
                    cl_ord_id=f"c{i}",
                    orig_cl_ord_id=f"o{j}",
                    symbol=SYMBOLS[j % len(SYMBOLS)],
                )
            )
        else:
            side = Side.BUY if rnd.random() < 0.5 else Side.SELL
            offset = rnd.randint(1, 50) * (-1 if side == Side.BUY else 1)
            if rnd.random() < 0.05:
                offset = -offset  # crosses the spread: a fill
            cmds.append(
                NewOrder(
                    session=f"S{i % 7}",
                    firm=firm,
                    account=f"{firm}-A",
                    cl_ord_id=f"o{i}",
                    symbol=SYMBOLS[i % len(SYMBOLS)],
                    side=side,
                    price=REF + offset,
                    qty=rnd.randint(1, 100),
                )
            )
    return cmds[:n]


class TimedJournal(Journal):
    """Records how long each batch commit takes and how many commands it holds."""

    commit_ns: list[int]
    batch_sizes: list[int]

    async def commit(self, batch: Batch) -> None:
        start = time.perf_counter_ns()
        await super().commit(batch)
        self.commit_ns.append(time.perf_counter_ns() - start)
        self.batch_sizes.append(len(batch.rows))


def pct(values: list[int], q: float) -> float:
    if not values:
        return 0.0
    ordered = sorted(values)
    return float(ordered[min(len(ordered) - 1, int(q * len(ordered)))])


async def throughput(
    db: Path, cmds: list[Command], synchronous: str, snap_every: int, samples: int
) -> dict[str, Any]:
    journal = await TimedJournal.open(db, synchronous="FULL" if synchronous == "FULL" else "NORMAL")
    assert isinstance(journal, TimedJournal)
    journal.commit_ns, journal.batch_sizes = [], []
    seqr = Sequencer(
        Engine(), journal, LiveClock(), snapshot_every_commands=snap_every, snapshot_every_ns=10**15
    )
    done = asyncio.Event()
    n = len(cmds)
    seqr.subscribe(lambda seq, ts, cmd, events: done.set() if seq == n else None)
    await seqr.start()
    start = time.perf_counter()
    submit = seqr.submit
    for k, cmd in enumerate(cmds):
        submit(cmd)
        if k & 255 == 255:
            await asyncio.sleep(0)
            if seqr.backlogged:
                await seqr.wait_ready()
    submitted = time.perf_counter()
    await done.wait()
    elapsed = time.perf_counter() - start
    commit_ns, sizes = list(journal.commit_ns), list(journal.batch_sizes)
    await seqr.stop(snapshot=False)
    # unloaded latency: one command at a time, submit -> released
    lat: list[int] = []
    seqr2 = Sequencer(seqr.engine, journal, LiveClock(), snapshot_every_commands=10**12)
    await seqr2.start()
    for cmd in cmds[-samples:]:
        released = asyncio.Event()
        t0 = time.perf_counter_ns()
        seqr2.submit(msgspec.structs.replace(cmd))
        seqr2.after_commit(released.set)
        await released.wait()
        lat.append(time.perf_counter_ns() - t0)
    await seqr2.stop(snapshot=False)
    await journal.close()
    return {
        "commands": n,
        "commands_per_s": round(n / elapsed),
        "submit_only_commands_per_s": round(n / (submitted - start)),
        "transactions": len(commit_ns),
        "mean_batch_commands": round(sum(sizes) / max(1, len(sizes)), 1),
        "batch_commit_ms_p50": round(pct(commit_ns, 0.50) / 1e6, 3),
        "batch_commit_ms_p99": round(pct(commit_ns, 0.99) / 1e6, 3),
        "single_command_latency_us_p50": round(pct(lat, 0.50) / 1e3, 1),
        "single_command_latency_us_p99": round(pct(lat, 0.99) / 1e3, 1),
        "latency_samples": len(lat),
    }


async def replay_speed(db: Path) -> dict[str, Any]:
    journal = await Journal.open(db, create=False)
    decode = msgspec.msgpack.Decoder(Command).decode
    count = 0

    def read_only(rows: list[Any]) -> None:
        nonlocal count
        for row in rows:
            decode(row[2])
        count += len(rows)

    start = time.perf_counter()
    await journal.scan(0, read_only)
    read_s = time.perf_counter() - start
    engine = Engine()
    apply = engine.apply

    def full(rows: list[Any]) -> None:
        for row in rows:
            apply(decode(row[2]))

    start = time.perf_counter()
    await journal.scan(0, full)
    full_s = time.perf_counter() - start
    await journal.close()
    return {
        "commands": count,
        "read_decode_commands_per_s": round(count / read_s),
        "read_decode_apply_commands_per_s": round(count / full_s),
    }


async def restart(db: Path, *, use_snapshots: bool, check: bool = True) -> dict[str, Any]:
    start = time.perf_counter()
    _engine, journal, last = await recover(
        db, create=False, use_snapshots=use_snapshots, integrity_check=check
    )
    elapsed = time.perf_counter() - start
    report = journal.recovery
    await journal.close()
    assert report is not None
    return {
        "seconds": round(elapsed, 3),
        "last_seq": last,
        "snapshot_seq": report.snapshot_seq,
        "replayed_commands": report.replayed,
    }


async def main_async(n: int, base: Path, samples: int) -> dict[str, Any]:
    cmds = workload(n)
    snap_every = n // 10 + 1
    out: dict[str, Any] = {"bench": "journal", "commands": n, "snapshot_every_commands": snap_every}
    for mode in ("NORMAL", "FULL"):
        db = base / f"bench-{mode.lower()}.db"
        out[f"sequencer_{mode.lower()}"] = await throughput(db, cmds, mode, snap_every, samples)
    db = base / "bench-normal.db"
    out["db_bytes"] = db.stat().st_size
    out["replay"] = await replay_speed(db)
    out["restart_with_snapshot"] = await restart(db, use_snapshots=True)
    out["restart_with_snapshot_no_quick_check"] = await restart(db, use_snapshots=True, check=False)
    out["restart_without_snapshot"] = await restart(db, use_snapshots=False)
    engine = Engine()
    for cmd in cmds:
        engine.apply(cmd)
    start = time.perf_counter()
    data = engine.snapshot()
    engine.state_hash()
    out["snapshot_ms"] = round((time.perf_counter() - start) * 1e3, 2)
    out["snapshot_bytes"] = len(data)
    return out


def main() -> None:
    configure_logging(level="warning", stream=sys.stderr)  # stdout carries only the JSON
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--latency-samples", type=int, default=2000)
    parser.add_argument(
        "--dir", default=None, help="directory for the databases (default: a temp dir under /tmp)"
    )
    parser.add_argument(
        "--switch-interval-us",
        type=int,
        default=None,
        help="sys.setswitchinterval for the run (default: Python's 5000 us); smaller values let "
        "the database thread take the GIL sooner while the loop thread is busy",
    )
    args = parser.parse_args()
    if args.switch_interval_us is not None:
        sys.setswitchinterval(args.switch_interval_us / 1e6)
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="venue-bench-", dir="/tmp"))
    try:
        result = asyncio.run(main_async(args.commands, base, args.latency_samples))
        result["switch_interval_us"] = round(sys.getswitchinterval() * 1e6)
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
