"""Benchmark of the market-data publisher; prints one JSON object.

    python tools/bench/marketdata.py [--rate 10000] [--seconds 3] [--burst 50000] [--dir D]

A real Engine + Journal (synchronous=NORMAL) + Sequencer, the publisher sending unicast UDP to
127.0.0.1 (a bound socket drained by the loop), and a market-maker-like flow:
- paced: `--rate` commands/s for `--seconds`; for every command that produced feed messages,
  commit→packet latency = time its last packet left `sendto` minus the time the journal
  transaction holding it finished (the sequencer releases subscribers right after), and the
  publisher's own share (subscriber call → last sendto). p50/p99/max in µs.
- burst: `--burst` commands submitted as fast as possible; messages/s and packets/s through the
  publisher (CPU time inside its commit subscriber only, and wall time of the whole run).
`--pre-commit` measures the publisher translating at submit time (a Sequencer subclass adds
the proposed `subscribe_applied` hook), leaving only framing and sendto after the commit.

    python tools/bench/marketdata.py --replay var/venue.db [--batch 28] [--repeat 7]

`--replay DB` feeds a venue journal's committed events (e.g. the database of a short e2e run,
opened read-only) to `MarketDataPublisher.on_commit` in commit batches of `--batch` commands,
on this thread with no loop and no socket (packets go to a list): the publisher's own CPU
time per command (thread CPU time, best of `--repeat`), deterministic, and a digest of every
packet it sent (equal digests: the same feed bytes).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import random
import socket
import sqlite3
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import msgspec  # noqa: E402
from verdict import Checks  # noqa: E402 - tools/bench is the script's own directory

from venue import log  # noqa: E402 - after the sys.path set-up for running as a script

log.configure(stream=sys.stderr, level="warning")  # before any module binds its logger

from venue.clock import LiveClock, ManualClock  # noqa: E402
from venue.config import MarketDataConfig  # noqa: E402
from venue.core import (  # noqa: E402
    AddAccount,
    AddInstrument,
    CancelOrder,
    Command,
    Deposit,
    Engine,
    Event,
    Instrument,
    InstrumentKind,
    NewOrder,
    OrderRejected,
    ReplaceOrder,
    Side,
)
from venue.journal import Batch, recover  # noqa: E402
from venue.marketdata import MarketDataPublisher  # noqa: E402
from venue.sequencer import Sequencer  # noqa: E402

SYMBOLS = ("BTC-PERP", "ETH-PERP", "SOL-PERP", "XRP-PERP")
SESSIONS = ("MM1", "MM2", "MM3")
REF = 100_000


class PreCommitSequencer(Sequencer):
    """The sequencer plus the proposed `subscribe_applied` hook (see venue.marketdata.publisher:
    translation before commit, only framing and sendto after it)."""

    def __init__(self, *args: Any, **kw: Any) -> None:
        super().__init__(*args, **kw)
        self._applied: list[Any] = []

    def subscribe_applied(self, fn: Any) -> None:
        self._applied.append(fn)

    def submit(self, cmd: Any) -> tuple[int, list[Any]]:
        seq, events = super().submit(cmd)
        for fn in self._applied:
            fn(seq, self._last_ts, cmd, events)
        return seq, events


class Flow:
    """New orders around the reference (some crossing), cancels and replaces of live ones."""

    def __init__(self, seed: int = 1) -> None:
        self.rnd = random.Random(seed)
        self.n = 0
        self.live: list[tuple[str, str]] = []  # (session, cl_ord_id)

    def next(self) -> Command:
        rnd = self.rnd
        self.n += 1
        n = self.n
        if len(self.live) > 200 and rnd.random() < 0.35:
            session, cl = self.live.pop(rnd.randrange(len(self.live)))
            return CancelOrder(session=session, firm=session, cl_ord_id=f"x{n}", orig_cl_ord_id=cl)
        if self.live and rnd.random() < 0.1:
            i = rnd.randrange(len(self.live))
            session, cl = self.live[i]
            self.live[i] = (session, f"r{n}")
            side_sign = 1 if rnd.random() < 0.5 else -1
            return ReplaceOrder(
                session=session,
                firm=session,
                cl_ord_id=f"r{n}",
                orig_cl_ord_id=cl,
                price=REF + side_sign * rnd.randint(1, 50),
                qty=rnd.randint(1, 20),
            )
        side = Side.BUY if rnd.random() < 0.5 else Side.SELL
        away = rnd.randint(-3, 50)
        price = REF - away if side == Side.BUY else REF + away
        session = rnd.choice(SESSIONS)
        cl = f"n{n}"
        self.live.append((session, cl))
        return NewOrder(
            session=session,
            firm=session,
            account=session,
            cl_ord_id=cl,
            symbol=rnd.choice(SYMBOLS),
            side=side,
            price=price,
            qty=rnd.randint(1, 20),
        )


def _pct(values: list[int], p: float) -> float:
    if not values:
        return 0.0
    s = sorted(values)
    return round(s[min(len(s) - 1, int(p * len(s)))] / 1000, 1)


def _summary(values: list[int]) -> dict[str, float]:
    return {"p50": _pct(values, 0.5), "p99": _pct(values, 0.99), "max": _pct(values, 1.0)}


class _Rejections:
    """Counts the flow's orders the core refused: a flow that is mostly refused measures the
    reject path, not the feed (a refused order puts nothing on the feed)."""

    def __init__(self) -> None:
        self.count = 0

    def on_commit(self, seq: int, ts: int, cmd: Any, events: list[Any]) -> None:
        self.count += sum(1 for e in events if isinstance(e, OrderRejected))


class _Drain(asyncio.DatagramProtocol):
    def __init__(self) -> None:
        self.packets = 0

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.packets += 1


async def run(args: argparse.Namespace) -> dict[str, Any]:
    loop = asyncio.get_running_loop()
    tmp = Path(args.dir or tempfile.mkdtemp(prefix="bench-md-"))
    engine, journal, _ = await recover(tmp / "venue.db", synchronous="NORMAL")
    commit_done: dict[int, int] = {}
    batch_sizes: list[int] = []
    real_commit = journal.commit

    async def timed_commit(batch: Batch) -> None:
        await real_commit(batch)
        t = time.perf_counter_ns()
        for row in batch.rows:
            commit_done[row[0]] = t
        if batch.rows:
            batch_sizes.append(len(batch.rows))

    journal.commit = timed_commit  # type: ignore[method-assign]
    # a receive buffer as large as the host allows: the burst sends faster than the loop
    # drains, and a datagram dropped by a full buffer is reported as an error below
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 << 20)
    sock.bind(("127.0.0.1", 0))
    sink, drain = await loop.create_datagram_endpoint(_Drain, sock=sock)
    port = sink.get_extra_info("sockname")[1]
    sequencer = (PreCommitSequencer if args.pre_commit else Sequencer)(engine, journal, LiveClock())
    await sequencer.start()
    cfg = MarketDataConfig(port=port, rerequest_port=0, snapshot_port=0)
    pub = MarketDataPublisher(
        cfg, sequencer, LiveClock(), flush=args.flush, pre_commit=args.pre_commit
    )
    await pub.start()
    for sym in SYMBOLS:
        sequencer.submit(
            AddInstrument(
                instrument=Instrument(
                    symbol=sym,
                    kind=InstrumentKind.PERPETUAL,
                    tick_size="0.5",
                    lot_size="0.001",
                    multiplier="1",
                    ref_price=REF,
                    band_ppb=0,
                    max_order_qty=1_000_000,
                )
            )
        )
    for session in SESSIONS:  # the flow's accounts, funded far beyond what it can use
        sequencer.submit(AddAccount(firm=session, account=session, max_leverage=50))
        sequencer.submit(Deposit(account=session, amount=10**15))
    rejected = _Rejections()
    sequencer.subscribe(rejected.on_commit)
    flow = Flow()
    for _ in range(2000):  # warm up the book
        sequencer.submit(flow.next())

    async def committed() -> None:
        done = asyncio.Event()
        sequencer.after_commit(done.set)
        await done.wait()

    await committed()

    # -- paced run ------------------------------------------------------------------------
    pub.timing = []
    batch_sizes.clear()
    rejected.count = 0
    paced_msgs0, paced_packets0 = pub.messages_sent, pub.packets_sent
    total = int(args.rate * args.seconds)
    start = time.perf_counter()
    sent = 0
    while sent < total:
        due = min(total, int((time.perf_counter() - start) * args.rate))
        while sent < due:
            sequencer.submit(flow.next())
            sent += 1
        await asyncio.sleep(0.0005)
    await committed()
    paced_s = time.perf_counter() - start
    paced_msgs = pub.messages_sent - paced_msgs0
    paced_packets = pub.packets_sent - paced_packets0
    paced_rejected = rejected.count
    timing = pub.timing
    commit_to_packet = [t_sent - commit_done[seq] for seq, _t0, t_sent in timing]
    publisher_only = [t_sent - t0 for _seq, t0, t_sent in timing]
    # the first command of each commit batch: what the publisher adds, without queueing
    # behind the other commands of a large batch
    first_of_batch: list[int] = []
    seen_commits: set[int] = set()
    for seq, _t0, t_sent in timing:
        if commit_done[seq] not in seen_commits:
            seen_commits.add(commit_done[seq])
            first_of_batch.append(t_sent - commit_done[seq])
    paced_batches = [b * 1000 for b in batch_sizes]  # _summary divides by 1000

    # -- burst ----------------------------------------------------------------------------
    pub.timing = None
    pub.busy_ns = 0  # counted from here on
    rejected.count = 0
    msgs0, packets0 = pub.messages_sent, pub.packets_sent
    start = time.perf_counter()
    for i in range(args.burst):
        sequencer.submit(flow.next())
        if i % 256 == 255:
            await asyncio.sleep(0)
    await committed()
    burst_s = time.perf_counter() - start
    busy_ns = pub.busy_ns
    msgs = pub.messages_sent - msgs0
    packets = pub.packets_sent - packets0
    burst_rejected = rejected.count
    sent_total = pub.packets_sent
    # the drain reads what the loop delivered; let it catch up with what was sent
    deadline = time.monotonic() + 5
    while drain.packets < sent_total and time.monotonic() < deadline:
        await asyncio.sleep(0.01)
    received_total = drain.packets  # before stop(): its end-of-session packets are not counted

    await pub.stop()
    await sequencer.stop(snapshot=False)
    await journal.close()
    sink.close()
    return {
        "bench": "marketdata",
        "python": sys.version.split()[0],
        "flush": args.flush,
        "pre_commit": args.pre_commit,
        "paced": {
            "target_commands_per_s": args.rate,
            "commands": total,
            "achieved_commands_per_s": round(total / paced_s),
            "commands_with_messages": len(timing),
            "rejected_orders": paced_rejected,
            "messages": paced_msgs,
            "packets": paced_packets,
            "commit_to_packet_us": _summary(commit_to_packet),
            "first_of_batch_commit_to_packet_us": _summary(first_of_batch),
            "publisher_only_us": _summary(publisher_only),
            "commands_per_commit": _summary(paced_batches),
            "target_p99_us": 100,
        },
        "burst": {
            "commands": args.burst,
            "rejected_orders": burst_rejected,
            "messages": msgs,
            "packets": packets,
            "messages_per_packet": round(msgs / packets, 1) if packets else 0,
            "wall_commands_per_s": round(args.burst / burst_s),
            "wall_messages_per_s": round(msgs / burst_s),
            "publisher_messages_per_s_cpu": round(msgs / (busy_ns / 1e9)) if busy_ns else 0,
            "publisher_us_per_command": round(busy_ns / args.burst / 1000, 2),
        },
        "received_packets": received_total,
        "sent_packets": sent_total,
        "feed_book_inconsistencies": pub.translator.inconsistencies,
    }


class _ReplaySequencer:
    """What the publisher reads of a sequencer: an engine (empty: no preamble), the committed
    seq (set per batch by the replay) and `subscribe`."""

    def __init__(self) -> None:
        self.engine = Engine()
        self.last_seq = 0
        self.committed_seq = 0

    def subscribe(self, fn: Any) -> None:
        pass


class _Packets:
    """A datagram transport that keeps what is sent."""

    def __init__(self) -> None:
        self.sent: list[bytes] = []

    def sendto(self, data: bytes, addr: Any = None) -> None:
        self.sent.append(data)


def _replay_once(rows: list[tuple[int, int, Any, list[Any]]], batch: int) -> tuple[int, Any]:
    """(thread CPU ns of the replay, the publisher) for one pass over `rows`."""
    seq = _ReplaySequencer()
    cfg = MarketDataConfig(port=1, rerequest_port=0, snapshot_port=0)
    pub = MarketDataPublisher(cfg, seq, ManualClock(0), session="REPLAY")  # type: ignore[arg-type]
    pub._transport = _Packets()  # type: ignore[assignment]  # bench only: packets kept
    on_commit = pub.on_commit
    gc.collect()
    gc.freeze()
    t0 = time.thread_time_ns()
    for i in range(0, len(rows), batch):
        chunk = rows[i : i + batch]
        seq.committed_seq = chunk[-1][0]
        for s, ts, cmd, events in chunk:
            on_commit(s, ts, cmd, events)
    dt = time.thread_time_ns() - t0
    gc.unfreeze()
    return dt, pub


def replay(args: argparse.Namespace) -> dict[str, Any]:
    """The `--replay DB` figures (see the module docstring)."""
    db = sqlite3.connect(f"file:{args.replay}?mode=ro", uri=True)
    try:
        raw = db.execute("SELECT seq, ts, cmd, events FROM journal ORDER BY seq").fetchall()
    finally:
        db.close()
    decode_cmd = msgspec.msgpack.Decoder(Command).decode
    decode_events = msgspec.msgpack.Decoder(list[Event]).decode
    rows = [(s, ts, decode_cmd(c), decode_events(e)) for s, ts, c, e in raw]
    runs = [_replay_once(rows, args.batch) for _ in range(args.repeat)]
    pub = runs[0][1]
    packets = pub._transport.sent
    best = min(dt for dt, _ in runs)
    n = max(1, len(rows))
    return {
        "bench": "marketdata-replay",
        "python": sys.version.split()[0],
        "journal": str(args.replay),
        "commands": len(rows),
        "batch": args.batch,
        "messages": pub.messages_sent,
        "packets": len(packets),
        "feed_sha256": hashlib.sha256(b"".join(packets)).hexdigest(),
        "cpu_ns_per_command": round(best / n),
        "cpu_ns_per_command_runs": sorted(round(dt / n) for dt, _ in runs),
        "feed_book_inconsistencies": pub.translator.inconsistencies,
    }


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--rate", type=int, default=10_000)
    p.add_argument("--seconds", type=float, default=3.0)
    p.add_argument("--burst", type=int, default=50_000)
    p.add_argument("--flush", choices=["batch", "command"], default="batch")
    p.add_argument(
        "--pre-commit",
        action="store_true",
        help="translate at submit time (needs the proposed Sequencer.subscribe_applied; "
        "the bench uses a subclass that adds it)",
    )
    p.add_argument("--dir", help="directory for the temporary database")
    p.add_argument("--replay", metavar="DB", help="replay this journal's events instead")
    p.add_argument("--batch", type=int, default=28, help="--replay: commands per commit")
    p.add_argument("--repeat", type=int, default=7, help="--replay: passes (best reported)")
    args = p.parse_args()
    if args.replay:
        result = replay(args)
        return replay_checks(result).emit(result)
    try:
        import uvloop

        result = uvloop.run(run(args))
    except ImportError:
        result = asyncio.run(run(args))
    return run_checks(result).emit(result)


def run_checks(result: dict[str, Any]) -> Checks:
    """What makes the paced and burst figures meaningless: no feed output, a flow the core
    mostly refused, packets that did not all arrive, a feed book that disagrees."""
    checks = Checks()
    for phase in ("paced", "burst"):
        r = result[phase]
        checks.expect(r["messages"] > 0, f"{phase}: the publisher sent no feed messages")
        checks.expect(r["packets"] > 0, f"{phase}: the publisher sent no packets")
        checks.expect(
            r["rejected_orders"] * 10 <= r["commands"],
            f"{phase}: {r['rejected_orders']} of {r['commands']} commands refused by the core",
        )
    checks.expect(
        result["received_packets"] == result["sent_packets"],
        f"sent {result['sent_packets']} packets, received {result['received_packets']}",
    )
    checks.expect(
        result["feed_book_inconsistencies"] == 0,
        f"{result['feed_book_inconsistencies']} feed book inconsistencies",
    )
    return checks


def replay_checks(result: dict[str, Any]) -> Checks:
    checks = Checks()
    checks.expect(result["commands"] > 0, "the journal has no commands")
    checks.expect(result["messages"] > 0, "the replay produced no feed messages")
    checks.expect(result["packets"] > 0, "the replay produced no packets")
    return checks


if __name__ == "__main__":
    sys.exit(main())
