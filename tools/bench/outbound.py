"""Benchmark: the OUTBOUND encoding of ExecutionReports (body and frame); prints one JSON object.

Flow: the matching-core benchmark's market-maker flow (tools/bench/core.py `generate`: GTC
quotes, moves by ReplaceOrder, cancels, IOC takers that trade) with one order in 40 sent
outside the price band (a reject), one in 40 a market order, and an IOC taker across the touch
after one command in three, run once through an engine;
the (seq, events) of every command are kept. Then, each timed with the thread's CPU clock
(best of ``--repeat`` passes over all commands):

- ``body``: ``mapping_out.replies(seq, events, specs)`` per command (the ExecutionReport
  builders of ``mapping_exec``), reported per report;
- ``frame``: ``FrameEncoder.frame(b"8", seq, now, body)`` per report on one encoder per
  session, the clock advancing 2 us per report (most reports share the millisecond, as in a
  batch);
- ``total``: body + frame per report.

A "report" here is every reply of the flow: ExecutionReports and its OrderCancelRejects (a
cancel or replace that arrives after the order filled).

``sha256`` digests every frame written (one pass, fresh encoders): equal digests before and
after a change mean the bytes on the wire are unchanged for this flow.

Usage: python tools/bench/outbound.py [--commands 20000] [--repeat 7] [--seed 1]
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import os
import platform
import random
import sys
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import msgspec
from core import REF, SESSIONS, _engine, _instrument, generate
from verdict import Checks

from venue.core import NewOrder, OrdType, Side, TimeInForce
from venue.fix.encoder import FrameEncoder
from venue.fix.mapping_num import instrument_table
from venue.fix.mapping_out import replies

T0 = 1_795_242_600_000_000_000  # 2026-11-21T06:30:00Z


def flow(n: int, seed: int) -> list[tuple[int, list[Any]]]:
    """(seq, events) of each command of the flow, applied once in order."""
    prefill, cmds = generate(n, 1_000, seed)
    rnd = random.Random(seed + 1)
    mixed: list[Any] = []
    template = prefill[-1]
    for i, c in enumerate(cmds):
        mixed.append(c)
        if i % 40 == 7 and type(c) is NewOrder:  # outside the band: OrderRejected
            mixed.append(msgspec.structs.replace(c, cl_ord_id=c.cl_ord_id + "b", price=10))
        if i % 40 == 23 and type(c) is NewOrder:  # a market order that trades
            kw: dict[str, Any] = {"ord_type": OrdType.MARKET, "tif": TimeInForce.IOC}
            kw["qty"] = rnd.randrange(1, 5)
            mixed.append(msgspec.structs.replace(c, cl_ord_id=c.cl_ord_id + "m", **kw))
        if i % 3 == 1:  # an IOC taker across the touch
            side = Side.BUY if rnd.random() < 0.5 else Side.SELL
            session, firm, account = SESSIONS[rnd.randrange(len(SESSIONS))]
            kw = {"session": session, "firm": firm, "account": account, "side": side}
            kw |= {"tif": TimeInForce.IOC, "qty": rnd.randrange(1, 12)}
            kw["price"] = REF + (40 if side == Side.BUY else -40)
            mixed.append(msgspec.structs.replace(template, cl_ord_id=f"t{i}", **kw))
    engine = _engine()
    for c in prefill:
        engine.apply(c)
    out = []
    seq = 1000
    for c in mixed:
        seq += 1
        ts = T0 + seq * 100_003  # 10,000 commands/s, as the e2e open loop; ts differ
        out.append((seq, engine.apply(msgspec.structs.replace(c, ts=ts))))
    return out


def measure(args: argparse.Namespace) -> dict[str, Any]:
    commands = flow(args.commands, args.seed)
    specs = instrument_table([_instrument()])
    all_replies = [replies(seq, events, specs) for seq, events in commands]
    reports = [r for rs in all_replies for r in rs]
    n_reports = len(reports)
    sessions = sorted({r.session for r in reports} | {s for s, _, _ in SESSIONS})

    def encoders() -> dict[str, Any]:
        return {
            s: FrameEncoder(begin_string=b"FIX.4.4", sender=b"VENUE", target=s.encode())
            for s in sessions
        }

    # Byte identity: one pass, fresh encoders.
    digest = hashlib.sha256()
    enc = encoders()
    now = T0
    for i, r in enumerate(reports):
        now += 2_000
        digest.update(enc[r.session].frame(r.msg_type, i + 1, now, r.body))

    body_ns: list[int] = []
    frame_ns: list[int] = []
    clock = time.thread_time_ns
    gc.collect()
    gc.freeze()
    for _ in range(args.repeat):
        t0 = clock()
        for seq, events in commands:
            replies(seq, events, specs)
        body_ns.append(clock() - t0)
        enc = encoders()
        frames = [(enc[r.session].frame, r.msg_type, r.body) for r in reports]
        now = T0
        t0 = clock()
        for i, (frame, msg_type, body) in enumerate(frames):
            now += 2_000
            frame(msg_type, i, now, body)
        frame_ns.append(clock() - t0)
    gc.unfreeze()
    mix: dict[str, int] = {}
    for _, events in commands:
        for e in events:
            mix[type(e).__name__] = mix.get(type(e).__name__, 0) + 1
    body = min(body_ns) / n_reports
    frame = min(frame_ns) / n_reports
    return {
        "bench": "outbound",
        "python": platform.python_version(),
        "commands": len(commands),
        "reports": n_reports,
        "reports_per_command": round(n_reports / len(commands), 3),
        "events": mix,
        "body_ns_per_report": round(body),
        "frame_ns_per_report": round(frame),
        "total_ns_per_report": round(body + frame),
        "body_ns_runs": [round(t / n_reports) for t in sorted(body_ns)],
        "frame_ns_runs": [round(t / n_reports) for t in sorted(frame_ns)],
        "sha256": digest.hexdigest(),
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--commands", type=int, default=20_000)
    p.add_argument("--repeat", type=int, default=7)
    p.add_argument("--seed", type=int, default=1)
    result = measure(p.parse_args())
    checks = Checks()
    checks.expect(result["commands"] > 0, "no commands")
    checks.expect(result["reports"] > 0, "the commands produced no ExecutionReports")
    return checks.emit(result, indent=1)


if __name__ == "__main__":
    sys.exit(main())
