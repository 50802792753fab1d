"""Benchmark of the matching core (`venue.core.Engine.apply`); prints one JSON object.

Quoting flow (`--quotes N`): MassQuotes of two sessions updating two-sided quotes on 10
instruments each time, with IOC takers trading against them; reports quote entries per second
and their ratio to the single-order flow's commands per second (CPU time, robust to load).

Flow (exchange-core style): one instrument, about 1,000 resting orders from several sessions;
mostly moves (ReplaceOrder to a new price) and cancels, some GTC adds and IOC takers. The
command list is generated once by driving an engine (so every command addresses a live order),
then replayed on fresh engines: untimed for throughput (best of `--repeat` runs), then with
a clock read around every `apply` for per-type latency percentiles. Memory: bytes per resting order
with `--resting` orders (tracemalloc delta, orders and their indexes and client id strings).

    python tools/bench/core.py [--commands 1000000] [--resting 1000000] [--seed 1]
    python tools/bench/core.py --replay var/venue.db [--repeat 5]

`--replay DB` replays a venue journal's commands (e.g. the database of a short e2e run) through
fresh engines instead: a deterministic benchmark of the real order-entry flow. The first pass
checks that every command's events encode byte for byte as the journal stored them (as
`venue journal verify` does) and reports the final state hash; then `--repeat` timed passes
(best reported, wall and CPU time per command) and one pass with a clock read around every
`apply` (per-type percentiles). The database is opened read-only.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sqlite3
import sys
import time
import tracemalloc
from array import array
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgspec
from verdict import Checks

from venue.core import (
    AddAccount,
    AddInstrument,
    CancelOrder,
    Command,
    Deposit,
    Engine,
    Instrument,
    InstrumentKind,
    MarginTier,
    NewOrder,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    ReplaceOrder,
    Side,
    TimeInForce,
)
from venue.core.quote_types import MassQuote, MassQuoteAcked, QuoteEntry

SYMBOL = "BTC-PERP"
REF = 100_000
SESSIONS = [(f"MM{i}", f"FIRM{i % 4}", f"ACC{i}") for i in range(8)]


def _instrument() -> Instrument:
    return Instrument(
        symbol=SYMBOL,
        kind=InstrumentKind.PERPETUAL,
        tick_size="0.5",
        lot_size="0.001",
        multiplier="1",
        ref_price=REF,
        band_ppb=50_000_000,
        max_order_qty=1_000_000,
        # Derivatives: R1 (worst-case initial margin over the account's orders and position)
        # and R2 (positions, fees) do real work on every order and fill.
        imr_ppb=10_000_000,
        mm_tiers=[MarginTier(0, 5_000_000), MarginTier(10**13, 10_000_000)],
        maker_fee_ppb=-100_000,
        taker_fee_ppb=500_000,
    )


def _engine() -> Engine:
    engine = Engine()
    engine.apply(AddInstrument(ts=1, instrument=_instrument()))
    for _, firm, account in SESSIONS:  # accounts must exist; ample balance (10^9 USD)
        engine.apply(AddAccount(ts=1, firm=firm, account=account, max_leverage=50))
        engine.apply(Deposit(ts=1, account=account, amount=10**15))
    return engine


class _Live:
    """The generator's view of live orders (random pick and removal in O(1))."""

    def __init__(self) -> None:
        self.ids: list[int] = []
        self.pos: dict[int, int] = {}
        # order_id -> [session, firm, cl_ord_id, side, price, qty]
        self.info: dict[int, list[Any]] = {}

    def add(self, order_id: int, info: list[Any]) -> None:
        self.pos[order_id] = len(self.ids)
        self.ids.append(order_id)
        self.info[order_id] = info

    def remove(self, order_id: int) -> None:
        i = self.pos.pop(order_id, None)
        if i is None:
            return
        last = self.ids.pop()
        if last != order_id:
            self.ids[i] = last
            self.pos[last] = i
        del self.info[order_id]


def generate(n: int, resting: int, seed: int) -> tuple[list[Any], list[Any]]:
    """Drive an engine to build a prefill reaching `resting` live orders, then `n` commands
    that address live orders. Returns (prefill, commands)."""
    rnd = random.Random(seed)
    engine = _engine()
    live = _Live()
    cmds: list[Any] = []
    seq = 0
    ts = 1_000

    def run(cmd: Any) -> None:
        cmds.append(cmd)
        for e in engine.apply(cmd):
            t = type(e)
            if t is OrderAccepted:
                live.add(e.order_id, [e.session, e.firm, e.cl_ord_id, e.side, e.price, e.qty])
            elif t is OrderFilled:
                if e.leaves_qty == 0:
                    live.remove(e.order_id)
            elif t is OrderCanceled:
                live.remove(e.order_id)
            elif hasattr(e, "priority_kept"):
                info = live.info.get(e.order_id)
                if info is not None:
                    info[2], info[4], info[5] = e.cl_ord_id, e.price, e.qty
                    if e.leaves_qty == 0:
                        live.remove(e.order_id)

    def add(tif: TimeInForce, aggressive: bool) -> None:
        nonlocal seq
        seq += 1
        session, firm, account = SESSIONS[rnd.randrange(len(SESSIONS))]
        side = Side.BUY if rnd.random() < 0.5 else Side.SELL
        offset = -rnd.randrange(0, 3) if aggressive else rnd.randrange(1, 60)
        price = REF - offset if side == Side.BUY else REF + offset
        run(
            NewOrder(
                ts=ts,
                session=session,
                firm=firm,
                account=account,
                cl_ord_id=f"n{seq}",
                symbol=SYMBOL,
                side=side,
                price=price,
                qty=rnd.randrange(1, 20),
                tif=tif,
            )
        )

    while len(live.ids) < resting:
        add(TimeInForce.GTC, aggressive=False)
    prefill = cmds[:]
    cmds.clear()
    while len(cmds) < n:
        ts += 1
        r = rnd.random()
        if r < 0.10 or not live.ids:
            add(TimeInForce.GTC, aggressive=False)
            continue
        if r < 0.15:
            add(TimeInForce.IOC, aggressive=True)
            continue
        order_id = live.ids[rnd.randrange(len(live.ids))]
        session, firm, cl_ord_id, side, price, qty = live.info[order_id]
        seq += 1
        if r < 0.45:
            run(
                CancelOrder(
                    ts=ts,
                    session=session,
                    firm=firm,
                    cl_ord_id=f"x{seq}",
                    orig_cl_ord_id=cl_ord_id,
                    symbol=SYMBOL,
                )
            )
            if len(live.ids) < resting:
                add(TimeInForce.GTC, aggressive=False)
        else:
            step = rnd.randrange(1, 4) * (1 if rnd.random() < 0.5 else -1)
            new_price = price + step
            # stay on the own side of the reference: moves do not cross
            new_price = min(new_price, REF - 1) if side == Side.BUY else max(new_price, REF + 1)
            run(
                ReplaceOrder(
                    ts=ts,
                    session=session,
                    firm=firm,
                    cl_ord_id=f"r{seq}",
                    orig_cl_ord_id=cl_ord_id,
                    symbol=SYMBOL,
                    price=new_price,
                    qty=qty,
                )
            )
    return prefill, cmds[:n]


def throughput(prefill: list[Any], cmds: list[Any]) -> tuple[float, int, float]:
    """(commands/s by the wall clock, events, commands/s of this thread's CPU time: the
    figure to compare when other processes share the core)."""
    engine = _engine()
    apply = engine.apply
    for c in prefill:
        apply(c)
    gc.collect()
    gc.freeze()
    n_events = 0
    c0 = time.thread_time()
    t0 = time.perf_counter()
    for c in cmds:
        n_events += len(apply(c))
    dt = time.perf_counter() - t0
    cpu = time.thread_time() - c0
    gc.unfreeze()
    return len(cmds) / dt, n_events, len(cmds) / max(cpu, 1e-9)


def refused(prefill: list[Any], cmds: list[Any]) -> int:
    """How many of `cmds` the engine answered with a `...Rejected` event (an untimed pass):
    a flow that is mostly refused measures the reject path, not the venue."""
    engine = _engine()
    for c in prefill:
        engine.apply(c)
    return sum(
        1 for c in cmds if any(type(e).__name__.endswith("Rejected") for e in engine.apply(c))
    )


def latencies(
    prefill: list[Any], cmds: list[Any], engine: Engine | None = None
) -> dict[str, dict[str, float]]:
    if engine is None:
        engine = _engine()
    apply = engine.apply
    for c in prefill:
        apply(c)
    clock = time.perf_counter_ns
    samples = array("q", bytes(8 * len(cmds)))
    gc.collect()
    gc.freeze()
    for i, c in enumerate(cmds):
        t0 = clock()
        apply(c)
        samples[i] = clock() - t0
    gc.unfreeze()
    by_type: dict[str, list[int]] = {}
    for c, s in zip(cmds, samples, strict=True):
        label = type(c).__name__
        if label == "NewOrder":
            label = f"NewOrder_{c.tif.name}"
        by_type.setdefault(label, []).append(s)
    by_type["all"] = list(samples)
    out: dict[str, dict[str, float]] = {}
    for label, xs in sorted(by_type.items()):
        xs.sort()
        n = len(xs)
        out[label] = {
            "count": n,
            "p50_ns": xs[n // 2],
            "p99_ns": xs[min(n - 1, n * 99 // 100)],
            "p99_9_ns": xs[min(n - 1, n * 999 // 1000)],
        }
    return out


def bytes_per_resting_order(resting: int) -> dict[str, float]:
    """tracemalloc delta of entering `resting` non-crossing orders (commands freed as we go)."""
    engine = _engine()
    rnd = random.Random(7)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    apply = engine.apply
    for i in range(resting):
        session, firm, account = SESSIONS[i % len(SESSIONS)]
        side = Side.BUY if i % 2 else Side.SELL
        offset = 1 + rnd.randrange(2_000)
        apply(
            NewOrder(
                ts=i,
                session=session,
                firm=firm,
                account=account,
                cl_ord_id=f"{i:08d}",
                symbol=SYMBOL,
                side=side,
                price=REF - offset if side == Side.BUY else REF + offset,
                qty=1 + i % 50,
            )
        )
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    tracemalloc.stop()
    assert len(engine.orders) == resting
    return {"resting_orders": resting, "bytes_per_resting_order": (after - before) / resting}


def read_journal(path: str) -> tuple[list[Any], list[bytes]]:
    """(commands, stored events bytes) of every journal row of the database at `path`."""
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT seq, cmd, events FROM journal ORDER BY seq").fetchall()
    finally:
        db.close()
    decode = msgspec.msgpack.Decoder(Command).decode
    for i, (seq, _, _) in enumerate(rows, 1):
        if seq != i:
            raise SystemExit(f"{path}: journal gap at seq {i} (found {seq})")
    return [decode(r[1]) for r in rows], [r[2] for r in rows]


def command_mix(cmds: list[Any]) -> dict[str, int]:
    """How many commands of each kind (new orders by time in force)."""
    mix: dict[str, int] = {}
    for c in cmds:
        label = type(c).__name__
        if label == "NewOrder":
            label = f"NewOrder_{c.tif.name}"
        mix[label] = mix.get(label, 0) + 1
    return mix


def replay(args: argparse.Namespace) -> dict[str, Any]:
    """The `--replay DB` figures (see the module docstring)."""
    cmds, stored = read_journal(args.replay)
    mix = command_mix(cmds)
    encode = msgspec.msgpack.Encoder().encode
    engine = Engine()
    first_diff = None
    n_events = 0
    event_mix: dict[str, int] = {}
    for i, (c, raw) in enumerate(zip(cmds, stored, strict=True)):
        events = engine.apply(c)
        n_events += len(events)
        for e in events:
            name = type(e).__name__
            event_mix[name] = event_mix.get(name, 0) + 1
        if first_diff is None and encode(events) != raw:
            first_diff = i + 1
    state_hash = engine.state_hash()
    wall: list[float] = []
    cpu: list[float] = []
    for _ in range(args.repeat):
        engine = Engine()
        apply = engine.apply
        gc.collect()
        gc.freeze()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        for c in cmds:
            apply(c)
        wall.append(time.perf_counter() - t0)
        cpu.append(time.thread_time() - c0)
        gc.unfreeze()
    n = max(1, len(cmds))
    return {
        "bench": "core-replay",
        "python": platform.python_version(),
        "journal": str(args.replay),
        "commands": len(cmds),
        "mix": mix,
        "events": event_mix,
        "events_per_command": round(n_events / n, 3),
        "events_identical": first_diff is None,
        "first_different_seq": first_diff,
        "state_hash": state_hash,
        "us_per_command": round(min(wall) / n * 1e6, 3),  # best of --repeat (wall clock)
        "us_per_command_runs": [round(w / n * 1e6, 3) for w in sorted(wall)],
        "cpu_us_per_command": round(min(cpu) / n * 1e6, 3),  # thread CPU: robust to load
        "commands_per_s": round(n / min(wall)),
        "loadavg_1m": round(os.getloadavg()[0], 2),
        "latency": latencies([], cmds, Engine()),
    }


QUOTED = [f"Q{i}-PERP" for i in range(10)]
QUOTERS = [("MMQ0", "FIRM0", "ACC0"), ("MMQ1", "FIRM1", "ACC1")]


def _quoting_engine() -> Engine:
    engine = _engine()
    for symbol in QUOTED:
        inst = msgspec.structs.replace(_instrument(), symbol=symbol)
        engine.apply(AddInstrument(ts=1, instrument=inst))
    return engine


def quoting_flow(n: int, seed: int) -> list[Any]:
    """`n` commands: MassQuotes of two sessions, each updating two-sided quotes on 10
    instruments (2 x 10 quote sides per message; prices walk, sizes change, so some updates
    keep priority and some go to the back), and about one IOC taker in 20 commands that
    trades against the quotes."""
    rnd = random.Random(seed)
    mids = dict.fromkeys(QUOTED, REF)
    cmds: list[Any] = []
    ts = 1_000
    for i in range(n):
        ts += 1_000
        if i % 20 == 19:
            symbol = rnd.choice(QUOTED)
            side = rnd.choice((Side.BUY, Side.SELL))
            px = mids[symbol] + (4 if side == Side.BUY else -4)
            cmds.append(
                NewOrder(ts=ts, session="TAKER", firm="FIRM3", account="ACC3",
                         cl_ord_id=f"t{i}", symbol=symbol, side=side, price=px,
                         qty=rnd.randint(1, 30), tif=TimeInForce.IOC)
            )  # fmt: skip
            continue
        session, firm, account = QUOTERS[i % 2]
        entries = []
        for symbol in QUOTED:
            mids[symbol] += rnd.choice((-1, 0, 0, 1))
            spread = 1 + (i % 2) + rnd.randint(0, 1)  # the two quoters never cross each other
            entries.append(
                QuoteEntry(set_id="1", entry_id=f"{symbol}-{i}", symbol=symbol,
                           bid_px=mids[symbol] - spread, bid_size=rnd.randint(5, 20),
                           offer_px=mids[symbol] + spread, offer_size=rnd.randint(5, 20))
            )  # fmt: skip
        cmds.append(
            MassQuote(ts=ts, session=session, firm=firm, account=account,
                      quote_id=f"q{i}", entries=entries)
        )  # fmt: skip
    return cmds


def quoting(n: int, seed: int, repeat: int) -> dict[str, Any]:
    """Quote entries per second through `Engine.apply` (best of `repeat`), with the share of
    entries refused and the fills the takers made."""
    cmds = quoting_flow(n, seed)
    entries = sum(len(c.entries) for c in cmds if type(c) is MassQuote)
    best = best_cpu = 0.0
    refused_entries = fills = 0
    for _ in range(repeat):
        engine = _quoting_engine()
        apply = engine.apply
        gc.collect()
        gc.freeze()
        c0 = time.thread_time()
        t0 = time.perf_counter()
        out = [apply(c) for c in cmds]
        dt = time.perf_counter() - t0
        cpu = time.thread_time() - c0
        gc.unfreeze()
        best = max(best, entries / dt)
        best_cpu = max(best_cpu, entries / max(cpu, 1e-9))
        refused_entries = sum(
            1
            for events in out
            for e in events
            if type(e) is MassQuoteAcked
            for r in e.entries
            if r.reason is not None
        )
        fills = sum(1 for events in out for e in events if type(e) is OrderFilled)
    return {
        "commands": len(cmds),
        "mass_quotes": sum(1 for c in cmds if type(c) is MassQuote),
        "quote_entries": entries,
        "quote_sides_per_entry": 2,
        "entries_per_s": round(best),
        "cpu_entries_per_s": round(best_cpu),
        "refused_entries": refused_entries,
        "fills": fills,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--commands", type=int, default=1_000_000)
    parser.add_argument("--book", type=int, default=1_000, help="resting orders in the flow")
    parser.add_argument("--resting", type=int, default=1_000_000, help="orders for the memory run")
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=3, help="throughput runs (best reported)")
    parser.add_argument("--replay", metavar="DB", help="replay this journal's commands instead")
    parser.add_argument(
        "--quotes", type=int, default=20_000, help="commands of the quoting flow (0: skip)"
    )
    args = parser.parse_args()
    if args.replay:
        print(json.dumps(replay(args)))
        return 0

    t0 = time.perf_counter()
    prefill, cmds = generate(args.commands, args.book, args.seed)
    gen_s = time.perf_counter() - t0
    mix = command_mix(cmds)
    runs = [throughput(prefill, cmds) for _ in range(args.repeat)]
    rates = sorted(r for r, _, _ in runs)
    cpu_rates = sorted(r for _, _, r in runs)
    n_events = runs[0][1]
    lat = latencies(prefill, cmds)
    result: dict[str, Any] = {
        "bench": "core",
        "python": platform.python_version(),
        "commands": len(cmds),
        "book_orders": args.book,
        "mix": mix,
        "events_per_command": round(n_events / max(1, len(cmds)), 3),
        "commands_per_s": round(rates[-1]),  # best of --repeat runs
        "commands_per_s_runs": [round(r) for r in rates],
        "cpu_commands_per_s": round(cpu_rates[-1]),  # by thread CPU time: robust to load
        "loadavg_1m": round(os.getloadavg()[0], 2),  # other work on the machine skews the runs
        "target_commands_per_s": 1_000_000,
        "latency": lat,
        "generate_s": round(gen_s, 1),
    }
    result["refused_commands"] = refused(prefill, cmds)
    if args.resting:
        mem = bytes_per_resting_order(args.resting)
        result.update(mem)
        result["bytes_per_resting_order"] = round(mem["bytes_per_resting_order"], 1)
        result["target_bytes_per_resting_order"] = 400
    if args.quotes:
        q = quoting(args.quotes, args.seed, args.repeat)
        q["entries_to_single_orders"] = round(
            q["cpu_entries_per_s"] / result["cpu_commands_per_s"], 2
        )
        q["target_entries_to_single_orders"] = 1.0
        result["quoting"] = q
    checks = Checks()
    if args.quotes:
        checks.expect(q["fills"] > 0, "the quoting flow made no fills")
        checks.expect(
            q["refused_entries"] * 10 <= q["quote_entries"],
            f"{q['refused_entries']} of {q['quote_entries']} quote entries refused",
        )
    checks.expect(len(cmds) > 0, "no commands generated")
    checks.expect(n_events > 0, "the commands produced no events")
    checks.expect(
        result["refused_commands"] * 10 <= len(cmds),
        f"{result['refused_commands']} of {len(cmds)} commands refused by the core",
    )
    return checks.emit(result)


if __name__ == "__main__":
    sys.exit(main())
