"""Fuzz a live acceptor: `python tools/fuzz.py --inputs 1000000`.

A subprocess venue (`tests.reliability.venue_driver`, with `--workers` generated sessions
S000..) takes a stream of hostile input on `--workers` connections while two healthy sessions
(ALPHA-MM, BRAVO-MM) keep trading and a probe times TestRequest → Heartbeat round trips. Inputs
(`tests/fuzz/mutate.py`, all drawn from `random.Random(seed + worker)`, so a run replays):
valid messages at the right sequence number, the same with structural faults (fields inserted,
deleted, swapped, repeated, corrupted; wrong MsgSeqNum, CompIDs, PossDup), framing faults (bad
BodyLength, CheckSum, truncation, stray bytes), raw random bytes and mutated Logons, written in
random chunks. A worker the venue disconnects logs on again (ResetSeqNumFlag=Y).

Reported as JSON: inputs sent, disconnects, venue crashes (process exit), hangs (probe round
trip over `--hang` seconds), errors the venue logged (tracebacks, error/critical lines), and
the healthy sessions' fate (disconnected? sequence problems? reports received, probe round
trip median/max before and during the fuzz). The last inputs of every worker are saved under
the work directory when something is found, to be kept as regression tests.

This is a seeded mutation fuzzer, not coverage-guided: the target is a separate process behind
TCP, where an in-process engine (atheris) sees no coverage.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import random
import statistics
import sys
import tempfile
import time
from collections import deque
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.fuzz.mutate import (  # noqa: E402 -- after the path set-up
    TYPES,
    chunks,
    corrupt_frame,
    fields_for,
    frame,
    mutate_fields,
)
from tests.reliability.chaos import Client  # noqa: E402
from venue.fix.codec import FixMessage, Framer, format_utc_timestamp  # noqa: E402

DEBUG = False
ERROR_MARKS = (b"Traceback", b'"level": "error"', b'"level": "critical"', b"Exception in")


class Worker:
    def __init__(self, name: str, seed: int, port: int) -> None:
        self.name = name.encode()
        self.rng = random.Random(seed)
        self.port = port
        self.seq = 1
        self.inputs = 0
        self.disconnects = 0
        self.bytes_in = 0
        self.recent: deque[bytes] = deque(maxlen=200)
        self.sync = 0
        self.confirmed = 0  # inputs the venue provably read (a later TestRequest was answered)
        self.unconfirmed = 0
        self.tokens: set[bytes] = set()
        self.answered = asyncio.Event()
        self.writer: Any = None
        self.closed = False
        self.timeouts = 0
        self.probe_seq = 1
        self.batch = 5
        self.last_in: deque[bytes] = deque(maxlen=6)
        self.ended_in_disconnect = 0  # inputs of a batch the venue answered with a disconnect

    def one(self) -> bytes:
        rng = self.rng
        ts = time.time_ns()
        r = rng.random()
        kind = rng.choice(TYPES)
        if r < 0.25:
            data = frame(fields_for(kind, self.seq, ts, self.name, b"VENUE"))
            self.seq += 1
        elif r < 0.7:
            data = frame(mutate_fields(rng, fields_for(kind, self.seq, ts, self.name, b"VENUE")))
            self.seq += 1
        elif r < 0.9:
            data = corrupt_frame(rng, frame(fields_for(kind, self.seq, ts, self.name, b"VENUE")))
        elif r < 0.97:
            data = bytes(rng.getrandbits(8) for _ in range(rng.randint(1, 200)))
        else:
            data = frame(fields_for(kind, self.seq + rng.randint(-5, 5), ts, self.name, b"VENUE"))
        return data

    async def run(self, budget: int, stop: asyncio.Event) -> None:
        """Connect, log on (reset), then batches of inputs, each followed by a TestRequest at
        the number the venue expects: its Heartbeat proves the venue read the whole batch (a
        ResendRequest is answered with a gap fill). No answer or a disconnect: log on again."""
        while self.inputs < budget and not stop.is_set():
            try:
                reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            except OSError:
                await asyncio.sleep(0.1)  # the venue is down (a crash): the run reports it
                continue
            self.writer = writer
            drain = asyncio.create_task(self._drain(reader))
            try:
                ts = time.time_ns()
                logon = [*fields_for(b"A", 1, ts, self.name, b"VENUE"), (141, b"Y")]
                if self.rng.random() < 0.1:
                    logon = mutate_fields(self.rng, logon)
                self.seq = 2
                writer.write(frame(logon))
                while self.inputs < budget and not drain.done() and not stop.is_set():
                    batch = [self.one() for _ in range(self.rng.randint(1, self.batch))]
                    self.recent.extend(batch)
                    self.sync += 1
                    token = b"sync-%d" % self.sync
                    probe = fields_for(b"1", self.seq, time.time_ns(), self.name, b"VENUE")
                    self.probe_seq = self.seq  # a gap fill stops here: the probe is processed
                    self.seq += 1
                    probe[-1] = (112, token)
                    for piece in chunks(self.rng, b"".join(batch)):
                        writer.write(piece)
                    writer.write(frame(probe))
                    self.inputs += len(batch)
                    self.answered.clear()
                    await writer.drain()
                    try:
                        await asyncio.wait_for(self._answered(token), 0.2)
                    except TimeoutError:
                        if DEBUG:
                            print("TIMEOUT", batch, list(self.last_in), file=sys.stderr)
                        self.timeouts += 1
                        self.unconfirmed += len(batch)
                        break  # the session is stuck (its fault): start again
                    except ConnectionError:
                        self.ended_in_disconnect += len(batch)
                        break
                    self.confirmed += len(batch)
            except (ConnectionError, OSError):
                pass
            finally:
                self.disconnects += 1
                writer.close()
                with contextlib.suppress(Exception):
                    await writer.wait_closed()
                drain.cancel()
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await drain

    async def _answered(self, token: bytes) -> None:
        while token not in self.tokens:
            if self.closed:
                raise ConnectionError("closed by the venue")
            await self.answered.wait()
            self.answered.clear()

    async def _drain(self, reader: asyncio.StreamReader) -> None:
        self.closed = False
        framer = Framer()
        while data := await reader.read(65536):
            self.bytes_in += len(data)
            for m in framer.feed(data):
                if not isinstance(m, FixMessage):
                    continue
                self.last_in.append(m.raw)
                if m.msg_type == b"0" and m.get(112):
                    self.tokens.add(m.get(112) or b"")
                    self.answered.set()
                elif m.msg_type == b"2" and m.get(43) != b"Y":
                    begin = m.get(7) or b"1"
                    end = m.get_int(16) or 0
                    now = format_utc_timestamp(time.time_ns())
                    fill = [(35, b"4"), (49, self.name), (56, b"VENUE"), (34, begin)]
                    fill += [(43, b"Y"), (52, now), (122, now), (123, b"Y")]
                    fill += [(36, b"%d" % (end + 1 if end > 0 else self.probe_seq))]
                    self.writer.write(frame(fill))
        self.closed = True
        self.answered.set()


async def healthy_flow(c: Client, stop: asyncio.Event) -> None:
    with contextlib.suppress(ConnectionError, OSError):
        while not stop.is_set() and c.connected:
            c.act()
            await asyncio.sleep(c.rng.uniform(0, 0.01))


async def main_async(a: argparse.Namespace) -> dict[str, Any]:
    workdir = Path(a.workdir or tempfile.mkdtemp(prefix="venue-fuzz-"))
    workdir.mkdir(parents=True, exist_ok=True)
    for old in workdir.glob("venue.db*"):
        old.unlink()
    db = workdir / "venue.db"
    log_path = workdir / "venue.log"
    with log_path.open("wb") as log:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "tests.reliability.venue_driver",
            "--db",
            str(db),
            "--sessions",
            str(a.workers),
            "--rate",
            str(a.rate),
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE,
            stderr=log,
        )
    assert proc.stdout is not None
    port = int((await asyncio.wait_for(proc.stdout.readline(), 60)).split()[1])
    healthy = [Client(n, random.Random(a.seed + i)) for i, n in enumerate(["ALPHA-MM", "BRAVO-MM"])]
    probe = Client("ALPHA-DC", random.Random(a.seed))
    for c in [*healthy, probe]:
        await c.connect(port)
        await c.settle()
    stop = asyncio.Event()
    rtts_before: list[float] = []
    rtts_during: list[float] = []
    hangs: list[dict[str, Any]] = []

    async def measure(into: list[float], n: int | None) -> None:
        k = 0
        while (n is None or k < n) and not stop.is_set():
            k += 1
            t = time.monotonic()
            try:
                await probe.settle(a.hang)
                into.append((time.monotonic() - t) * 1000)
            except (TimeoutError, ConnectionError) as exc:
                hangs.append({"t": round(time.monotonic() - t0, 1), "error": repr(exc)})
                if not probe.connected:
                    return
            await asyncio.sleep(0.2)

    t0 = time.monotonic()
    flows = [asyncio.create_task(healthy_flow(c, stop)) for c in healthy]
    await measure(rtts_before, 10)
    workers = [Worker(f"S{i:03d}", a.seed * 1000 + i, port) for i in range(a.workers)]
    for w in workers:
        w.batch = a.batch
    budget = -(-a.inputs // a.workers)
    meter = asyncio.create_task(measure(rtts_during, None))

    async def progress() -> None:
        while True:
            await asyncio.sleep(10)
            done = sum(w.inputs for w in workers)
            print(json.dumps({"progress": done, "s": round(time.monotonic() - t0)}), flush=True)

    ticker = asyncio.create_task(progress())
    fuzz_t0 = time.monotonic()
    await asyncio.gather(*(w.run(budget, stop) for w in workers))
    fuzz_s = time.monotonic() - fuzz_t0
    ticker.cancel()
    stop.set()
    await asyncio.gather(*flows, meter, return_exceptions=True)
    settled = True
    details: dict[str, str] = {}
    for c in healthy:
        try:
            await c.settle()
        except (TimeoutError, ConnectionError) as exc:
            settled = False
            details[c.name] = f"{exc!r} {c.describe()}"[:1500]
    connected = {c.name: c.connected for c in healthy}
    alive = proc.returncode is None
    if alive:
        proc.kill()
    await proc.wait()
    for c in [*healthy, probe]:
        await c.close()
    errors = [
        ln.decode("utf-8", "replace")[:300]
        for ln in log_path.read_bytes().splitlines()
        if any(m in ln for m in ERROR_MARKS)
    ]
    found = bool(errors or hangs or not alive or not settled)
    if found:
        for w in workers:
            (workdir / f"inputs-{w.name.decode()}.bin").write_bytes(b"".join(w.recent))
    return {
        "inputs": sum(w.inputs for w in workers),
        "inputs_confirmed_read": sum(w.confirmed for w in workers),
        "inputs_in_batches_ended_by_disconnect": sum(w.ended_in_disconnect for w in workers),
        "inputs_in_batches_unanswered": sum(w.unconfirmed for w in workers),
        "workers": a.workers,
        "seconds": round(fuzz_s, 1),
        "inputs_per_second": int(sum(w.inputs for w in workers) / max(fuzz_s, 1e-9)),
        "fuzz_disconnects": sum(w.disconnects for w in workers),
        "sync_timeouts": sum(w.timeouts for w in workers),
        "venue_bytes_answered": sum(w.bytes_in for w in workers),
        "venue_alive": alive,
        "venue_exit": proc.returncode if not alive else None,
        "hangs": hangs[:10],
        "errors_logged": len(errors),
        "first_errors": errors[:5],
        "healthy": {
            c.name: {
                "reports": c.received,
                "problems": c.problems[:3],
                "logouts": c.logouts,
                "still_connected_and_answering": settled and connected[c.name],
                "detail": details.get(c.name),
            }
            for c in healthy
        },
        "probe_rtt_ms_before": _stats(rtts_before),
        "probe_rtt_ms_during": _stats(rtts_during),
        "workdir": str(workdir),
    }


def _stats(xs: list[float]) -> dict[str, float | int | None]:
    if not xs:
        return {"n": 0, "median": None, "max": None}
    return {"n": len(xs), "median": round(statistics.median(xs), 2), "max": round(max(xs), 2)}


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--inputs", type=int, default=1_000_000)
    p.add_argument("--workers", type=int, default=128, help="fuzzing connections")
    p.add_argument("--rate", type=int, default=100_000, help="fuzz sessions' throttle (msg/s)")
    p.add_argument("--batch", type=int, default=5, help="most inputs between two probes")
    p.add_argument("--hang", type=float, default=5.0, help="probe seconds that count as a hang")
    p.add_argument("--seed", type=int, default=1)
    p.add_argument("--workdir")
    out = asyncio.run(main_async(p.parse_args()))
    print(json.dumps({"summary": out}), flush=True)
    ok = out["venue_alive"] and not out["hangs"] and not out["errors_logged"]
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
