"""Benchmark of the sequencer + journal; prints one JSON object.

    python tools/bench/journal.py [--commands N] [--latency-samples K] [--dir /tmp/...]

Measures, for synchronous = NORMAL and FULL:
- throughput: commands/s through Sequencer.submit -> Engine.apply -> group commit -> release
  (producer yields to the loop every 256 commands, as a gateway reading sockets would); as the
  gateway does, every command also stores `--outbound` FIX messages per command on average
  (~300-byte frames, 4 sessions, default 1.45) and upserts its session's sequence numbers in the
  same transaction (`--outbound 0` measures the journal rows alone);
- batch commit time p50/p99 and mean batch size during that run;
- single-command latency p50/p99: submit one command, wait until its output is released;
- batch commit alone (`--batch`, default 30 commands as in the e2e flow, with their outbound
  messages and session seqs): `Journal.commit` awaited back to back, wall time p50/p99 per
  batch and the process CPU (all threads) per command: the cost of journaling one order.
Then, on the NORMAL database of N commands (snapshots every N/10 + 1 commands, so the tail after
the newest snapshot is close to its worst case):
- replay speed: journal read + decode only, and read + decode + Engine.apply (commands/s);
- restart time: `recover()` with the newest snapshot + tail (with and without the start-up
  SQLite quick_check), and from empty (no snapshot). Recovery checks the tail's chain hashes
  and compares its replayed events with the stored ones.
The chain's cost per command (`chain`): hashing alone (`venue.journal.chain.link_rows` over the
workload's encoded rows), and the batch commit (durable marker armed, as in the venue) run
again with the hash replaced by a constant (`without_chain`: the same rows, columns and bytes
written, no hashing) and also without the marker's pwrite per commit
(`without_chain_and_marker`), so the differences are what each adds to journaling one order on
this machine, in this run. (The journal before the chain is commit 6fd012b: run this file there
for the figures without the chain column.)
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
from collections.abc import Iterator
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
from venue.journal import Batch, Journal, recover, store  # noqa: E402
from venue.journal.chain import GENESIS, link_rows  # noqa: E402
from venue.log import configure as configure_logging  # noqa: E402
from venue.sequencer import Sequencer  # noqa: E402

SYMBOLS = ("BTC-PERP", "ETH-PERP", "SOL-PERP", "XRP-PERP")
REF = 100_000


def workload(n: int, seed: int = 1) -> list[Command]:
    """Market-maker-like flow: new orders around the reference price and cancels of orders
    entered 64 commands earlier, so the book stays a realistic size; some orders cross."""
    return list(iter_workload(n, seed))


def iter_workload(n: int, seed: int = 1) -> Iterator[Command]:
    """`workload`'s commands one at a time (tools/bench/startup.py builds 10**6 of them)."""
    rnd = random.Random(seed)
    first: list[Command] = [
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
    yield from first[:n]
    i = len(first)
    while i < n:
        i += 1
        firm = f"F{i % 7}"
        if i % 2 == 0 and i > 64:
            j = i - 63
            yield (
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
            yield (
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


FRAME = b"8=FIX.4.4\x019=250\x0135=8\x01" + b"x" * 260 + b"\x0110=123\x01"


class OutboundLoad:
    """What the gateway records per applied command: `per_command` outbound messages on average
    (Bresenham spread, so 1.45 gives 1 or 2) on the command's session, then its session seqs."""

    def __init__(self, seqr: Sequencer, per_command: float) -> None:
        self._seqr = seqr
        self._milli = round(per_command * 1000)
        self._acc = 0
        self._next_out: dict[str, int] = {}

    def __call__(self, seq: int, ts: int, cmd: Command, events: list[Any]) -> None:
        session = f"S{seq & 3}"
        self._acc += self._milli
        n, self._acc = divmod(self._acc, 1000)
        out = self._next_out.get(session, 1)
        for _ in range(n):
            self._seqr.record_outbound(session, out, FRAME, admin=False)
            out += 1
        self._next_out[session] = out
        self._seqr.record_session_seqs(session, next_in=seq, next_out=out)


async def throughput(
    db: Path,
    cmds: list[Command],
    synchronous: str,
    snap_every: int,
    samples: int,
    *,
    outbound: float,
) -> dict[str, Any]:
    journal = await TimedJournal.open(db, synchronous="FULL" if synchronous == "FULL" else "NORMAL")
    assert isinstance(journal, TimedJournal)
    journal.commit_ns, journal.batch_sizes = [], []
    seqr = Sequencer(
        Engine(), journal, LiveClock(), snapshot_every_commands=snap_every, snapshot_every_ns=10**15
    )
    if outbound > 0:
        seqr.subscribe_applied(OutboundLoad(seqr, outbound))
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


def make_batches(cmds: list[Command], size: int, outbound: float) -> list[Batch]:
    """The batches the sequencer would commit for `cmds` (applied to a fresh engine), `size`
    commands each, with the gateway's outbound messages and session seqs (OutboundLoad's)."""
    engine = Engine()
    encode = msgspec.msgpack.Encoder().encode
    milli, acc = round(outbound * 1000), 0
    next_out: dict[str, int] = {}
    batches: list[Batch] = []
    ts = 1
    for seq, cmd in enumerate(cmds, start=1):
        if (seq - 1) % size == 0:
            batches.append(Batch())
        batch = batches[-1]
        events = engine.apply(cmd)
        ts += 1000
        batch.rows.append((seq, ts, encode(cmd), encode(events)))
        session = f"S{seq & 3}"
        acc += milli
        n, acc = divmod(acc, 1000)
        out = next_out.get(session, 1)
        for _ in range(n):
            batch.store_ops.append((session, out, 0, FRAME))
            out += 1
        next_out[session] = out
        batch.session_seqs[session] = (seq, out, 0)
    return batches


async def batch_commit(
    db: Path,
    cmds: list[Command],
    synchronous: str,
    *,
    size: int,
    outbound: float,
    marker: bool = True,
) -> dict[str, Any]:
    """`marker`: the durable marker armed, as in the venue (one pwrite per commit)."""
    batches = make_batches(cmds, size, outbound)
    journal = await Journal.open(db, synchronous="FULL" if synchronous == "FULL" else "NORMAL")
    if marker:
        journal.mark_running()
    wall: list[int] = []
    cpu0, t0 = time.process_time(), time.perf_counter()
    for batch in batches:
        start = time.perf_counter_ns()
        await journal.commit(batch)
        wall.append(time.perf_counter_ns() - start)
    cpu, elapsed = time.process_time() - cpu0, time.perf_counter() - t0
    await journal.close()
    return {
        "batch_commands": size,
        "batches": len(batches),
        "commit_ms_p50": round(pct(wall, 0.50) / 1e6, 3),
        "commit_ms_p99": round(pct(wall, 0.99) / 1e6, 3),
        "cpu_us_per_command": round(cpu / len(cmds) * 1e6, 2),
        "wall_us_per_command": round(elapsed / len(cmds) * 1e6, 2),
    }


def _constant_chain(prev: bytes, rows: Any) -> tuple[list[Any], bytes]:
    """`link_rows` without hashing: the same 5-column rows and 32-byte values, for the
    before/after comparison of the chain's cost."""
    return [(*r, prev) for r in rows], prev


async def chain_cost(
    base: Path, cmds: list[Command], modes: list[str], *, size: int, outbound: float
) -> dict[str, Any]:
    """The chain's cost per command: hashing alone, and batch commits with and without it."""
    engine = Engine()
    encode = msgspec.msgpack.Encoder().encode
    rows = [(seq, seq, encode(c), encode(engine.apply(c))) for seq, c in enumerate(cmds, 1)]
    best = min(_time_link(rows) for _ in range(5))
    out: dict[str, Any] = {
        "hash": "blake2b-256",
        "row_bytes_mean": round(sum(len(r[2]) + len(r[3]) for r in rows) / len(rows)),
        "link_us_per_command": round(best / len(rows) * 1e6, 3),
    }
    for mode in modes:
        with_chain = await batch_commit(
            base / f"chain-{mode.lower()}.db", cmds, mode, size=size, outbound=outbound
        )
        saved = store.link_rows
        store.link_rows = _constant_chain  # type: ignore[assignment]
        try:
            without = await batch_commit(
                base / f"nochain-{mode.lower()}.db", cmds, mode, size=size, outbound=outbound
            )
            neither = await batch_commit(
                base / f"neither-{mode.lower()}.db",
                cmds,
                mode,
                size=size,
                outbound=outbound,
                marker=False,
            )
        finally:
            store.link_rows = saved
        out[mode.lower()] = {
            f"{what}_us_per_command_{name}": run[f"{what}_us_per_command"]
            for what in ("cpu", "wall")
            for name, run in (
                ("with_chain_and_marker", with_chain),
                ("without_chain", without),
                ("without_chain_and_marker", neither),
            )
        }
    return out


def _time_link(rows: list[tuple[int, int, bytes, bytes]]) -> float:
    start = time.perf_counter()
    link_rows(GENESIS, rows)
    return time.perf_counter() - start


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


async def main_async(
    n: int,
    base: Path,
    samples: int,
    *,
    outbound: float,
    modes: list[str],
    rest: bool,
    batch: int,
    batch_commands: int,
    batch_only: bool,
) -> dict[str, Any]:
    cmds = workload(n)
    snap_every = n // 10 + 1
    out: dict[str, Any] = {
        "bench": "journal",
        "commands": n,
        "snapshot_every_commands": snap_every,
        "outbound_per_command": outbound,
    }
    for mode in modes:
        db = base / f"batch-{mode.lower()}.db"
        out[f"batch_commit_{mode.lower()}"] = await batch_commit(
            db, cmds[: min(n, batch_commands)], mode, size=batch, outbound=outbound
        )
    out["chain"] = await chain_cost(
        base, cmds[: min(n, batch_commands)], modes, size=batch, outbound=outbound
    )
    if batch_only:
        return out
    for mode in modes:
        db = base / f"bench-{mode.lower()}.db"
        out[f"sequencer_{mode.lower()}"] = await throughput(
            db, cmds, mode, snap_every, samples, outbound=outbound
        )
    if not rest:
        return out
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
    parser.add_argument(
        "--outbound",
        type=float,
        default=1.45,
        help="outbound FIX messages stored per command (the e2e flow's mean is about 1.45)",
    )
    parser.add_argument(
        "--modes", default="NORMAL,FULL", help="synchronous settings to run, comma-separated"
    )
    parser.add_argument(
        "--throughput-only",
        action="store_true",
        help="skip the replay, restart and snapshot figures",
    )
    parser.add_argument("--batch", type=int, default=30, help="commands per batch (batch commit)")
    parser.add_argument(
        "--batch-commands", type=int, default=60_000, help="commands in the batch commit run"
    )
    parser.add_argument("--batch-only", action="store_true", help="only the batch commit figures")
    args = parser.parse_args()
    if args.switch_interval_us is not None:
        sys.setswitchinterval(args.switch_interval_us / 1e6)
    base = Path(args.dir) if args.dir else Path(tempfile.mkdtemp(prefix="venue-bench-", dir="/tmp"))
    try:
        result = asyncio.run(
            main_async(
                args.commands,
                base,
                args.latency_samples,
                outbound=args.outbound,
                modes=[m.strip().upper() for m in args.modes.split(",")],
                rest=not args.throughput_only,
                batch=args.batch,
                batch_commands=args.batch_commands,
                batch_only=args.batch_only,
            )
        )
        result["switch_interval_us"] = round(sys.getswitchinterval() * 1e6)
    finally:
        if not args.dir:
            shutil.rmtree(base, ignore_errors=True)
    print(json.dumps(result))


if __name__ == "__main__":
    main()
