"""Benchmark: CPU per order on the venue's INBOUND path, in process; prints one JSON object.

    python tools/bench/inbound.py [--sessions 2] [--orders 4000] [--repeat 5] [--per-read 1]
                                  [--profile out.prof]

The venue is `venue.app.Venue` as `venue run` builds it (journal at NORMAL in a temporary
directory, market data off), its gateway fed by `Connection`s whose transport is an in-memory
stand-in: each generator session (the e2e benchmark's market-maker flow, `e2e_client.Session`
without a socket) frames its next order (D, G or F), the bytes go through
`Connection.data_received` (Framer, pump, session, order entry, decode, `Sequencer.submit`,
replies), and the replies written after each commit go back to the generator, which keeps its
picture of its quotes as in the e2e run. Orders are fed `--per-read` to a read, 16 reads
between commits (a closed loop's batch).

Figures (best of `--repeat` rounds of `--orders` orders; a round alternates with the next):
- `total_cpu_us`: all of `data_received` per order, thread CPU time (no timer inside);
- `excluded_us`: the parts that are not the inbound path, timed inside it (wall time, less the
  clock's cost): `Sequencer.submit` (Engine.apply, journal row, applied hooks),
  `mapping.replies` (report bodies) and `Gateway.send` (numbering, encoding, storing replies);
- `inbound_cpu_us` = total_cpu_us - excluded_us: bytes in to the command handed to
  `Sequencer.submit`, plus the hand-back of its answers;
- `inbound_median_us` and `by_type_median_us`: per read, wall time of `data_received` less
  the excluded parts' within it, the median (robust to a preempted or disturbed read; the
  three wrappers' own call overhead is in it, the same before and after a change).

Invariants: nothing leaves the process (no sockets but the venue's own listeners on 127.0.0.1
and its admin socket in a temporary directory, removed at exit); every order is answered
(checked at the end); the code paths are the production ones, the excluded callables only wrapped.
"""

from __future__ import annotations

import argparse
import asyncio
import cProfile
import gc
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import uvloop  # noqa: E402
from e2e_client import Flow, Session  # noqa: E402
from e2e_venue import write_setup  # noqa: E402
from verdict import Checks  # noqa: E402

from venue import log  # noqa: E402
from venue.app import Venue  # noqa: E402
from venue.config import load_config  # noqa: E402
from venue.gateway import order_entry  # noqa: E402
from venue.gateway.auth import sign_logon  # noqa: E402
from venue.gateway.connection import Connection  # noqa: E402

cpu = time.thread_time_ns
wall = time.perf_counter_ns
BATCH = 16  # reads between two commits


class OfflineSession(Session):
    """`e2e_client.Session` without a socket: frames orders, reads replies handed to it."""

    def __init__(self, *, sender: str, key: Any, flow: Flow, tag: str) -> None:
        self.sender, self.target = sender.encode(), b"VENUE"
        self.key = key
        self.flow = flow
        self.rng = flow.rng
        self.prefix = tag.encode()
        self.seq_out = 1
        self.inbuf = bytearray()
        self.out = bytearray()
        self.next_id = 0
        self.pending = {}
        self.intent = {}
        self.live = {}
        self.busy = set()
        from e2e_client import Counts

        self.counts = Counts()
        self.latencies = []
        self.record_after = 0
        self.logged_on = False
        self.closed = False
        self.sending_time = b""
        self._stamp_s = -1

    def logon_frame(self) -> bytes:
        st = self._now_text()
        body = b"98=0\x01108=300\x01141=Y\x01"
        sig = sign_logon(self.key, self.sender, self.target, self.seq_out, st)
        body += b"95=%d\x0196=%s\x01" % (len(sig), sig)
        return self.frame(b"A", body, st)


class Transport:
    """Enough of an `asyncio.Transport` for `Connection`: writes go to the generator."""

    def __init__(self, client: OfflineSession) -> None:
        self.client = client
        self.closed = False

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        return ("127.0.0.1", 40000) if name == "peername" else default

    def set_write_buffer_limits(self, high: int | None = None, low: int | None = None) -> None:
        pass

    def write(self, data: bytes) -> None:
        self.client.receive(data, 0)

    def is_closing(self) -> bool:
        return self.closed

    def pause_reading(self) -> None:
        pass

    def resume_reading(self) -> None:
        pass

    def close(self) -> None:
        self.closed = True

    def abort(self) -> None:
        self.closed = True


def clock_cost(clock: Callable[[], int]) -> int:
    pairs = []
    for _ in range(2001):
        t = clock()
        pairs.append(clock() - t)
    return sorted(pairs)[len(pairs) // 2]


class Excluded:
    """Wraps the callables that are not the inbound path; sums their thread CPU time."""

    def __init__(self, venue: Venue, cost: int) -> None:
        self.ns = 0
        self.calls = 0
        self.cost = cost
        self._undo: list[Callable[[], None]] = []
        seq, gw = venue.sequencer, venue.gateway
        assert seq is not None and gw is not None
        self._wrap_attr(seq, "submit", instance=True)
        self._wrap_attr(gw, "send", instance=True)
        self._wrap_attr(order_entry, "replies", instance=False)

    def _wrap_attr(self, owner: Any, name: str, *, instance: bool) -> None:
        original = getattr(owner, name)

        def timed(*a: Any, **k: Any) -> Any:
            t = wall()
            try:
                return original(*a, **k)
            finally:
                self.ns += wall() - t - self.cost
                self.calls += 1

        setattr(owner, name, timed)
        if instance:
            self._undo.append(lambda: delattr(owner, name))
        else:
            self._undo.append(lambda: setattr(owner, name, original))

    def remove(self) -> None:
        for undo in self._undo:
            undo()


async def settle(venue: Venue) -> None:
    """Let the sequencer commit and release everything (replies reach the generator)."""
    seq = venue.sequencer
    assert seq is not None
    for _ in range(100):
        await asyncio.sleep(0)
        if seq.committed_seq == seq.last_seq:
            break
    await asyncio.sleep(0)
    await asyncio.sleep(0)


async def round_(
    venue: Venue,
    pairs: list[tuple[OfflineSession, Connection]],
    orders: int,
    per_read: int,
    cost: int,
    *,
    exclude: bool,
) -> dict[str, Any]:
    """One round of `orders` orders. Plain: thread CPU time per block of `BATCH` reads (the
    commit between blocks not counted). With `exclude`: wall time (perf_counter, cheap) per
    read and inside the excluded callables, so each read gives one inbound sample."""
    excluded = Excluded(venue, clock_cost(wall)) if exclude else None
    samples: dict[bytes, list[int]] = {}
    excluded_samples: list[int] = []
    total = 0
    done = 0
    i = 0
    try:
        while done < orders:
            reads = []
            for _ in range(BATCH):
                client, conn = pairs[i % len(pairs)]
                i += 1
                frames = [client.next_order(0) for _ in range(per_read)]
                reads.append((conn, frames[0] if per_read == 1 else b"".join(frames)))
            if excluded is None:
                t = cpu()
                for conn, data in reads:
                    conn.data_received(data)
                total += cpu() - t - cost
            else:
                for conn, data in reads:
                    before = excluded.ns
                    t = wall()
                    conn.data_received(data)
                    dt = wall() - t - excluded.cost
                    at = data.index(b"\x0135=") + 4
                    samples.setdefault(data[at : at + 1], []).append(dt - (excluded.ns - before))
                    excluded_samples.append(excluded.ns - before)
            done += BATCH * per_read
            await settle(venue)
    finally:
        if excluded is not None:
            excluded.remove()
    out: dict[str, Any] = {"orders": done, "total_us": total / done / 1000}
    if excluded is not None:
        every = sorted(x for xs in samples.values() for x in xs)
        out["excluded_us"] = excluded.ns / done / 1000
        excluded_samples.sort()
        out["excluded_median_us"] = excluded_samples[len(excluded_samples) // 2] / per_read / 1000
        out["inbound_median_us"] = every[len(every) // 2] / per_read / 1000
        out["by_type"] = {
            mt.decode(): sorted(xs)[len(xs) // 2] / per_read / 1000
            for mt, xs in sorted(samples.items())
        }
    return out


async def run(args: argparse.Namespace) -> dict[str, Any]:
    with tempfile.TemporaryDirectory(prefix="venue-inbound-") as tmp:
        return await run_in(Path(tmp), args)


async def run_in(tmp: Path, args: argparse.Namespace) -> dict[str, Any]:
    config, creds = write_setup(
        tmp, sessions=args.sessions, synchronous="NORMAL", marketdata_port=None
    )
    cfg = load_config(str(config))
    venue = Venue(cfg)
    await venue.start()
    gw = venue.gateway
    assert gw is not None
    flow = Flow([], seed=7)
    from e2e import default_instruments

    flow = Flow(default_instruments(), seed=7)
    pairs: list[tuple[OfflineSession, Connection]] = []
    for n, (comp_id, key) in enumerate(creds):
        client = OfflineSession(sender=comp_id, key=key, flow=flow, tag=f"S{n}-")
        conn = Connection(gw)
        conn.connection_made(Transport(client))  # type: ignore[arg-type]
        conn.data_received(client.logon_frame())
        await settle(venue)
        assert client.logged_on, comp_id
        pairs.append((client, conn))
    gc.collect()
    gc.freeze()
    cost = clock_cost(cpu)
    # Warm-up: shapes learnt, caches filled, the books populated.
    await round_(venue, pairs, args.orders, args.per_read, cost, exclude=False)
    rounds: list[dict[str, Any]] = []
    plain: list[dict[str, Any]] = []
    if args.spy:  # for a sampling profiler: the production path with no timer in it
        for _ in range(args.repeat):
            await round_(venue, pairs, args.orders, args.per_read, cost, exclude=False)
    prof = cProfile.Profile() if args.profile else None
    for _ in range(0 if args.spy else args.repeat):
        plain.append(await round_(venue, pairs, args.orders, args.per_read, cost, exclude=False))
        rounds.append(await round_(venue, pairs, args.orders, args.per_read, cost, exclude=True))
    if prof is not None:
        prof.enable()
        await round_(venue, pairs, args.orders, args.per_read, cost, exclude=False)
        prof.disable()
        prof.dump_stats(args.profile)
    for _ in range(20):
        await settle(venue)
    unanswered = sum(len(c.pending) for c, _ in pairs)
    other = sum(c.counts.other for c, _ in pairs)
    rejects = sum(c.counts.order_rejects for c, _ in pairs)
    for _client, conn in pairs:
        conn.connection_lost(None)
    await venue.stop()
    if args.spy:
        return {"bench": "inbound", "spy": True, "unanswered": unanswered}
    types = sorted({t for r in rounds for t in r["by_type"]})
    total = min(r["total_us"] for r in plain)
    excluded = min(r["excluded_us"] for r in rounds)
    return {
        "bench": "inbound",
        "python": sys.version.split()[0],
        "sessions": args.sessions,
        "orders_per_round": args.orders,
        "per_read": args.per_read,
        "repeat": args.repeat,
        "inbound_median_us": round(min(r["inbound_median_us"] for r in rounds), 3),
        "by_type_median_us": {t: round(min(r["by_type"][t] for r in rounds), 3) for t in types},
        "excluded_median_us": round(min(r["excluded_median_us"] for r in rounds), 3),
        "total_cpu_us": round(total, 3),
        "excluded_us": round(excluded, 3),
        "inbound_cpu_us": round(total - excluded, 3),
        "unanswered": unanswered,
        "other_replies": other,
        "order_rejects": rejects,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", type=int, default=2)
    parser.add_argument("--orders", type=int, default=4000)
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--per-read", type=int, default=1)
    parser.add_argument("--profile", default="")
    parser.add_argument("--spy", action="store_true", help="untimed rounds (for py-spy)")
    args = parser.parse_args()
    log.configure(level="warning")
    report = uvloop.run(run(args))
    checks = Checks()
    checks.expect(report["unanswered"] == 0, f"{report['unanswered']} orders got no answer")
    if not args.spy:
        checks.expect(
            report["order_rejects"] * 10 <= args.orders * args.sessions,
            f"{report['order_rejects']} orders refused",
        )
    return checks.emit(report, indent=2)


if __name__ == "__main__":
    sys.exit(main())
