"""Crash recovery with real clients: the harness behind tests/reliability/test_chaos.py and
`tools/chaos.py`.

One seed = a plan drawn from `random.Random(seed)`: the venue runs as a subprocess (the real
`venue run` on the embedded default configuration plus a BRAVO-DC session; or, with
`app=False`, `tests.reliability.venue_driver`), two trading sessions (ALPHA-MM, BRAVO-MM)
keep a steady flow of crossing orders, cancels and replaces, two drop-copy sessions
(ALPHA-DC, BRAVO-DC) watch, and the venue is SIGKILLed at random moments, either in the
middle of the flow (group commits in flight) or just after the clients log on again (resends
in flight; some clients stay away for a round so they have much to recover). Clients never
reset sequence numbers: they recover with ResendRequest and answer the venue's ResendRequests
with a gap fill (what the venue lost of theirs never happened). The wall-clock interleaving
is not reproducible; the plan (which clients, which kill mode, how long) is.

Checks after the last restart (`check` returns the list of failures, empty when all hold):
- every ExecutionReport a client received is in the outbound FIX store with the same body at
  the same MsgSeqNum, and its ExecID is a journaled event's (or a journaled reject's seq);
- nothing a client was told was rejected (39=8, 35=9) is accepted/canceled in the journal;
- one ExecID means one thing (same order, status, quantities every time it is seen) and no
  fill is reported under two ExecIDs;
- each client's live orders (from the reports, resent ones included) equal the venue's;
- each drop-copy session holds exactly its firm's reports, in order, without gap or duplicate;
- `venue journal verify` passes.

Invariants of the client model: application messages are accepted strictly in MsgSeqNum order
(later ones held, gaps asked for once); a number seen twice must carry PossDupFlag=Y and the
same body, else it is recorded as a problem.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import random
import sqlite3
import sys
import time
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from typing import Any

import msgspec

from venue.core import Event
from venue.fix.codec import FixMessage, Framer, Garbled, encode, format_utc_timestamp
from venue.journal.recovery import recover

ROOT = Path(__file__).resolve().parents[2]
HEADER = frozenset({8, 9, 10, 34, 43, 49, 52, 56, 97, 122})
LOTS = 1000  # BTC-PERP lot size is 0.001: FIX quantities x 1000 are the core's lots
TRADERS = {"ALPHA-MM": "ALPHA", "BRAVO-MM": "BRAVO"}
COPIERS = {"ALPHA-DC": "ALPHA", "BRAVO-DC": "BRAVO"}
TIMEOUT = 15.0


def body_of(msg: FixMessage) -> list[tuple[int, bytes]]:
    return [(t, v) for t, v in msg.fields if t not in HEADER]


def lots(text: bytes | None) -> int:
    return int(Decimal((text or b"0").decode()) * LOTS)


class Client:
    """A FIX counterparty that recovers with ordinary resend and records what it was told."""

    def __init__(self, name: str, rng: random.Random, *, keep: bool = True) -> None:
        self.name = name
        self.keep = keep  # keep every message (checks); the soak keeps counts only
        self.received = 0
        self.rng = rng
        self.next_out = 1
        self.expected = 1
        self.logon_seq = 0
        self.accepted: list[FixMessage] = []  # application messages in MsgSeqNum order
        self.seen: list[FixMessage] = []  # every application message received (dups too)
        self.by_seq: dict[int, FixMessage] = {}
        self.held: dict[int, FixMessage] = {}
        self.problems: list[str] = []
        self.live: dict[bytes, tuple[bytes, bytes]] = {}  # order_id -> (cl_ord_id, side)
        self.asked = False
        self.waiters: dict[bytes, asyncio.Future[None]] = {}
        self.writer: asyncio.StreamWriter | None = None
        self.task: asyncio.Task[None] | None = None
        self.counter = 0
        self.logouts = 0
        self.trace: list[bytes] = []  # the last messages in and out, for failure reports
        self.account = b"%s-1" % TRADERS.get(name, "ALPHA").encode()

    # -------------------------------------------------------------- connection

    async def connect(self, port: int) -> None:
        reader, self.writer = await asyncio.open_connection("127.0.0.1", port)
        self.held = {}
        self.asked = False
        self.logon_seq = self.next_out
        self.send(b"A", [(98, b"0"), (108, b"30")])
        self.task = asyncio.create_task(self._read(reader))

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(Exception):
                await self.writer.wait_closed()
            self.writer = None
        if self.task is not None:
            self.task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await self.task
            self.task = None
        for f in self.waiters.values():
            if not f.done():
                f.set_exception(ConnectionError("closed"))
        self.waiters.clear()

    @property
    def connected(self) -> bool:
        return self.writer is not None and not self.writer.is_closing()

    def send(self, msg_type: bytes, body: list[tuple[int, bytes]], *, seq: int = 0) -> None:
        if not self.connected:
            raise ConnectionError("not connected")
        assert self.writer is not None
        if seq == 0:
            seq = self.next_out
            self.next_out += 1
        self._trace(b">" + msg_type + b" %d" % seq)
        self.writer.write(
            encode(
                msg_type,
                begin_string=b"FIX.4.4",
                sender=self.name.encode(),
                target=b"VENUE",
                seq=seq,
                sending_time=format_utc_timestamp(time.time_ns()),
                body=body,
                poss_dup=msg_type == b"4",
            )
        )

    def _trace(self, what: bytes) -> None:
        self.trace.append(what.replace(b"\x01", b"|"))
        if len(self.trace) > 64:
            del self.trace[:32]

    async def _read(self, reader: asyncio.StreamReader) -> None:
        framer = Framer()
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                for item in framer.feed(data):
                    if isinstance(item, Garbled):
                        self.problems.append(f"garbled from venue: {item!r}")
                        continue
                    self._handle(item)
        except (ConnectionError, OSError):
            pass
        finally:
            if self.writer is not None:
                self.writer.close()
            for f in self.waiters.values():
                if not f.done():
                    f.set_exception(ConnectionError("closed by the venue"))

    async def settle(self, timeout: float = TIMEOUT) -> None:
        """A TestRequest/Heartbeat round trip accepted in sequence: everything before it is in."""
        self.counter += 1
        token = b"settle-%d" % self.counter
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.waiters[token] = fut
        self.send(b"1", [(112, token)])
        await asyncio.wait_for(fut, timeout)

    def describe(self) -> str:
        return (
            f"{self.name}: connected={self.connected} next_out={self.next_out} "
            f"expected={self.expected} held={sorted(self.held)[:10]} asked={self.asked} "
            f"logouts={self.logouts} last={self.trace[-8:]}"
        )

    # -------------------------------------------------------------- inbound

    def _handle(self, msg: FixMessage) -> None:
        t = msg.msg_type
        seq = msg.get_int(34) or 0
        poss_dup = msg.get(43) == b"Y"
        self._trace(b"<" + msg.raw)
        if t == b"2" and not poss_dup:
            self._answer_resend(msg)  # at once, even out of order: the venue waits for it
        if t == b"1" and not poss_dup and msg.get(112) is not None:
            with contextlib.suppress(ConnectionError):
                self.send(b"0", [(112, msg.get(112) or b"")])
        if t == b"5":
            self.logouts += 1
        if t == b"4" and msg.get(123) != b"Y":
            self.problems.append(f"SequenceReset-Reset received: {msg!r}")
            self.expected = msg.get_int(36) or self.expected
            return
        if seq < self.expected:
            if not poss_dup:
                self.problems.append(f"seq {seq} seen twice without PossDup: {msg!r}")
            elif self.keep and t not in (b"0", b"1", b"2", b"4", b"5", b"A"):
                self.seen.append(msg)
                first = self.by_seq.get(seq)
                if first is not None and body_of(first) != body_of(msg):
                    self.problems.append(f"seq {seq} resent with another body: {msg!r}")
            return
        if seq > self.expected:
            self.held[seq] = msg
            if not self.asked:
                self.asked = True
                with contextlib.suppress(ConnectionError):
                    self.send(b"2", [(7, b"%d" % self.expected), (16, b"0")])
            return
        self._accept(msg)
        while self.expected in self.held:
            self._accept(self.held.pop(self.expected))
        if not self.held:
            self.asked = False

    def _answer_resend(self, ask: FixMessage) -> None:
        """What the venue lost of ours in a crash is gap-filled, never resent: it never happened.
        Through our Logon when the gap starts before it (the venue has processed the Logon)."""
        begin = ask.get_int(7) or 1
        new_seq = self.logon_seq + 1 if begin <= self.logon_seq else self.next_out
        if new_seq <= begin:
            return
        with contextlib.suppress(ConnectionError):
            self.send(b"4", [(123, b"Y"), (36, b"%d" % new_seq)], seq=begin)

    def _accept(self, msg: FixMessage) -> None:
        t = msg.msg_type
        seq = msg.get_int(34) or 0
        if t == b"4":
            new_seq = msg.get_int(36) or 0
            if new_seq < self.expected:
                self.problems.append(f"gap fill backwards: {msg!r}")
                return
            self.expected = new_seq
            for s in [s for s in self.held if s < new_seq]:
                covered = self.held.pop(s)  # an original the gap fill stands for (admin)
                if covered.msg_type == b"0":  # everything before it is in now, too
                    self._resolve(covered)
            return
        self.expected += 1
        if t == b"0":
            self._resolve(msg)
            return
        if t in (b"1", b"2", b"5", b"A"):
            return
        self.received += 1
        if self.keep:
            self.accepted.append(msg)
            self.seen.append(msg)
            self.by_seq[seq] = msg
        if t == b"8" and self.name not in COPIERS:
            order_id = msg.get(37) or b""
            leaves = lots(msg.get(151))
            if leaves > 0 and msg.get(39) not in (b"2", b"4", b"8", b"C"):
                self.live[order_id] = (msg.get(11) or b"", msg.get(54) or b"")
            else:
                self.live.pop(order_id, None)

    def _resolve(self, heartbeat: FixMessage) -> None:
        fut = self.waiters.pop(heartbeat.get(112) or b"", None)
        if fut is not None and not fut.done():
            fut.set_result(None)

    # -------------------------------------------------------------- flow

    def next_cl(self) -> bytes:
        self.counter += 1
        return b"%s-%d-%d" % (self.name.encode(), self.next_out, self.counter)

    def act(self) -> None:
        """One random order-entry action (new 75 %, cancel 15 %, replace 10 %)."""
        r = self.rng.random()
        now = format_utc_timestamp(time.time_ns())
        if r >= 0.75 and self.live:
            order_id = self.rng.choice(sorted(self.live))
            orig, side = self.live[order_id]
            if r < 0.9:
                body = [(41, orig), (11, self.next_cl()), (55, b"BTC-PERP"), (54, side), (60, now)]
                self.send(b"F", body)
            else:
                price = b"%d" % (60000 + self.rng.randint(-4, 4))
                body = [(41, orig), (11, self.next_cl()), (55, b"BTC-PERP"), (54, side)]
                body += [(60, now), (38, b"0.%d" % self.rng.randint(1, 9)), (40, b"2"), (44, price)]
                self.send(b"G", body)
            return
        side = self.rng.choice((b"1", b"2"))
        price = Decimal(60000) + Decimal(self.rng.randint(-6, 6)) / 2
        qty = self.rng.choice((b"0.1", b"0.25", b"0.5", b"1", b"2"))
        body = [(11, self.next_cl()), (1, self.account)]
        body += [(55, b"BTC-PERP"), (54, side), (60, now), (38, qty), (40, b"2")]
        body += [(44, str(price).encode())]
        self.send(b"D", body)

    async def flow(self, pause: float) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while self.connected:
                self.act()
                assert self.writer is not None
                await self.writer.drain()
                await asyncio.sleep(self.rng.uniform(0, pause))


BRAVO_DC = """
[[sessions]]
name = "BRAVO-DC"
role = "dropcopy"
venue_comp_id = "VENUE"
client_comp_id = "BRAVO-DC"
firm = "BRAVO"
dropcopy_firms = ["BRAVO"]
cancel_on_disconnect = false
"""


class Venue:
    """The venue subprocess on one database: the real `venue run` (`app=True`: the embedded
    default configuration with the journal in the seed's directory, ephemeral ports and a
    BRAVO-DC drop-copy session) or `tests.reliability.venue_driver`."""

    def __init__(self, db: Path, *, app: bool = True) -> None:
        self.db = db
        self.app = app
        self.proc: asyncio.subprocess.Process | None = None
        self.starts = 0
        self._stderr: asyncio.Task[None] | None = None

    def _config(self) -> Path:
        from tests.venue_process import write_config

        path = self.db.parent / "venue.toml"
        if not path.exists():
            write_config(self.db.parent, extra=BRAVO_DC)
        return path

    async def start(self) -> int:
        log = self.db.parent / f"venue-{self.starts}.log"
        if not self.app:
            with log.open("wb") as f:
                self.proc = await self._spawn(["tests.reliability.venue_driver", "--db"], f)
            assert self.proc.stdout is not None
            line = await asyncio.wait_for(self.proc.stdout.readline(), 60)
            if not line.startswith(b"PORT "):
                raise RuntimeError(f"venue did not start (exit {await self.proc.wait()})")
            self.starts += 1
            return int(line.split()[1])
        args = ["venue", "run", "--config", str(self._config())]
        self.proc = await self._spawn(args, asyncio.subprocess.PIPE)
        ready: asyncio.Future[int] = asyncio.get_running_loop().create_future()
        self._stderr = asyncio.create_task(self._read_stderr(self.proc, log, ready))
        port = await asyncio.wait_for(ready, 60)
        self.starts += 1
        return port

    @staticmethod
    async def _read_stderr(
        proc: asyncio.subprocess.Process, log: Path, ready: asyncio.Future[int]
    ) -> None:
        assert proc.stderr is not None
        with log.open("wb") as f:
            while line := await proc.stderr.readline():
                f.write(line)
                if b'"venue_ready"' in line and not ready.done():
                    ready.set_result(int(json.loads(line)["fix_port"]))
        if not ready.done():
            ready.set_exception(RuntimeError(f"venue exited with {await proc.wait()}"))

    async def _spawn(self, args: list[str], stderr: Any) -> asyncio.subprocess.Process:
        if not self.app:
            args = [*args, str(self.db)]
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            *args,
            cwd=ROOT,
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.PIPE if not self.app else asyncio.subprocess.DEVNULL,
            stderr=stderr,
        )

    async def kill(self) -> None:
        if self.proc is not None and self.proc.returncode is None:
            self.proc.kill()  # SIGKILL: nothing is flushed or closed
            await self.proc.wait()
        if self._stderr is not None:
            with contextlib.suppress(Exception):
                await self._stderr
            self._stderr = None


@dataclass
class Outcome:
    seed: int
    ok: bool
    kills: int
    failures: list[str] = field(default_factory=list)
    reports: int = 0
    copies: int = 0
    journal_commands: int = 0
    fills: int = 0
    live_orders: int = 0
    resent: int = 0
    seconds: float = 0.0
    clients: list[Client] = field(default_factory=list, repr=False)

    def as_json(self) -> dict[str, Any]:
        return {
            "seed": self.seed,
            "ok": self.ok,
            "kills": self.kills,
            "reports": self.reports,
            "copies": self.copies,
            "journal_commands": self.journal_commands,
            "fills": self.fills,
            "live_orders": self.live_orders,
            "resent": self.resent,
            "seconds": round(self.seconds, 2),
            "failures": self.failures[:20],
        }


async def run_seed(
    seed: int, workdir: Path, *, kills: int = 3, pause: float = 0.004, app: bool = True
) -> Outcome:
    """One seed end to end; never raises for a venue misbehaviour (it becomes a failure)."""
    t0 = time.monotonic()
    rng = random.Random(seed)
    workdir.mkdir(parents=True, exist_ok=True)
    db = workdir / "venue.db"
    for p in workdir.glob("venue.db*"):
        p.unlink()
    venue = Venue(db, app=app)
    names = [*TRADERS, *COPIERS]
    clients = {n: Client(n, random.Random(rng.getrandbits(32))) for n in names}
    failures: list[str] = []
    try:
        for k in range(kills):
            port = await venue.start()
            away = {n for n in names if rng.random() < 0.2}
            online = [c for n, c in clients.items() if n not in away]
            recovery_kill = k > 0 and rng.random() < 0.35
            for c in online:
                await c.connect(port)
            if recovery_kill:  # the venue dies while the clients log on and resend
                await asyncio.sleep(rng.uniform(0, 0.03))
            else:
                try:
                    await asyncio.gather(*(c.settle() for c in online))
                except (TimeoutError, ConnectionError) as exc:
                    failures.append(f"round {k}: clients did not recover: {exc!r}")
                    failures += [c.describe() for c in online]
                    break
                flows = [asyncio.create_task(c.flow(pause)) for c in online if c.name in TRADERS]
                await asyncio.sleep(rng.uniform(0.02, 0.4))
                for f in flows:
                    f.cancel()
            await venue.kill()
            for c in online:
                await c.close()
        if not failures:
            port = await venue.start()
            for c in clients.values():
                await c.connect(port)
            try:
                for _ in range(2):
                    await asyncio.gather(*(c.settle() for c in clients.values()))
            except (TimeoutError, ConnectionError) as exc:
                failures.append(f"final recovery failed: {exc!r}")
                failures += [c.describe() for c in clients.values()]
            await venue.kill()
            for c in clients.values():
                await c.close()
    finally:
        await venue.kill()
        for c in clients.values():
            await c.close()
    out = Outcome(seed=seed, ok=False, kills=kills, clients=list(clients.values()))
    if not failures:
        failures = await check(db, list(clients.values()), out)
    out.failures = failures
    out.ok = not failures
    out.seconds = time.monotonic() - t0
    return out


# ------------------------------------------------------------------ checks


def _journal(db: Path) -> tuple[list[tuple[int, list[Any]]], dict[tuple[str, int], bytes]]:
    decode = msgspec.msgpack.Decoder(list[Event]).decode
    con = sqlite3.connect(f"file:{db}?mode=ro", uri=True)
    try:
        rows = [(s, decode(e)) for s, e in con.execute("SELECT seq, events FROM journal")]
        query = "SELECT session, seq, data FROM fix_outbound"
        store = {(s, q): bytes(d) for s, q, d in con.execute(query)}
    finally:
        con.close()
    return rows, store


async def check(db: Path, clients: list[Client], out: Outcome) -> list[str]:
    failures: list[str] = []
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "venue.journal.verify",
        "--db",
        str(db),
        cwd=ROOT,
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.PIPE,
    )
    _, err = await proc.communicate()
    if proc.returncode != 0:
        failures.append(f"journal verify exit {proc.returncode}: {err.decode()[-500:]}")
    rows, store = _journal(db)
    out.journal_commands = len(rows)
    exec_ids: set[bytes] = set()
    accepted: set[tuple[str, bytes]] = set()
    canceled_by: set[tuple[str, bytes]] = set()
    for seq, events in rows:
        for ev in events:
            name = type(ev).__name__
            if hasattr(ev, "exec_id"):
                exec_ids.add(b"%d" % ev.exec_id)
            if name == "OrderRejected" or name.endswith("Rejected"):
                exec_ids.add(b"R%d" % seq)
            if name == "OrderAccepted":
                accepted.add((ev.session, ev.cl_ord_id.encode()))
            if name in ("OrderCanceled", "OrderReplaced"):
                canceled_by.add((ev.request_session, ev.cl_ord_id.encode()))
    meaning: dict[bytes, tuple[bytes | None, ...]] = {}
    fills: dict[tuple[bytes, bytes], bytes] = {}
    for c in clients:
        failures += [f"{c.name}: {p}" for p in c.problems[:5]]
        for m in c.seen:
            seq = m.get_int(34) or 0
            stored = store.get((c.name, seq))
            if stored is None:
                failures.append(f"{c.name}: seq {seq} is not in the outbound store: {m!r}")
                continue
            (sm,) = [x for x in Framer().feed(stored) if isinstance(x, FixMessage)]
            if body_of(sm) != body_of(m) or sm.msg_type != m.msg_type:
                failures.append(f"{c.name}: seq {seq} differs from the store: {m!r} vs {sm!r}")
            if m.msg_type != b"8":
                if m.msg_type == b"9" and (c.name, m.get(11) or b"") in canceled_by:
                    failures.append(f"{c.name}: cancel rejected yet journaled: {m!r}")
                continue
            exec_id = m.get(17) or b""
            if exec_id[:1] not in (b"E", b"I") and exec_id not in exec_ids:
                failures.append(f"{c.name}: ExecID {exec_id!r} is not in the journal")
            if m.get(39) == b"8" and (c.name, m.get(11) or b"") in accepted:
                failures.append(f"{c.name}: told rejected, journal accepted: {m!r}")
            if c.name in TRADERS:
                key = tuple(m.get(t) for t in (37, 11, 39, 150, 14, 151, 31, 32))
                if meaning.setdefault(exec_id, key) != key:
                    first = meaning[exec_id]
                    failures.append(f"ExecID {exec_id!r} means two things: {key} / {first}")
                if m.get(150) == b"F":
                    out.fills += 1
                    fk = (m.get(37) or b"", m.get(14) or b"")
                    if fills.setdefault(fk, exec_id) != exec_id:
                        failures.append(f"fill {fk} reported under {exec_id!r} and {fills[fk]!r}")
    failures += await _compare_orders(db, clients, out)
    out.resent = sum(m.get(43) == b"Y" for c in clients for m in c.seen)
    by_name = {c.name: c for c in clients}
    for copier, firm in COPIERS.items():
        owners = [by_name[n] for n, f in TRADERS.items() if f == firm]
        own = [m for o in owners for m in o.accepted if m.msg_type == b"8"]
        copies = [m for m in by_name[copier].accepted if m.msg_type == b"8"]
        out.copies += len(copies)
        own_ids = [m.get(17) for m in own]
        copy_ids = [m.get(17) for m in copies]
        if copy_ids != own_ids:
            missing = [x for x in own_ids if x not in set(copy_ids)]
            extra = [x for x in copy_ids if x not in set(own_ids)]
            failures.append(
                f"{copier}: {len(copies)} copies vs {len(own)} reports; "
                f"missing {missing[:5]} extra {extra[:5]} dup {len(copy_ids) - len(set(copy_ids))}"
            )
        else:
            for cm, om in zip(copies, own, strict=True):
                if body_of(cm)[: len(body_of(om))] != body_of(om):
                    failures.append(f"{copier}: copy differs from the report: {cm!r} vs {om!r}")
                    break
    out.reports = sum(len(by_name[n].accepted) for n in TRADERS)
    return failures


async def _compare_orders(db: Path, clients: list[Client], out: Outcome) -> list[str]:
    engine, journal, _ = await recover(db, synchronous="NORMAL", create=False)
    await journal.close()
    failures: list[str] = []
    for c in clients:
        if c.name not in TRADERS:
            continue
        venue_view = {
            b"%d" % o.order_id: (o.cl_ord_id.encode(), o.qty - o.cum_qty)
            for o in engine.orders.values()
            if o.session == c.name
        }
        client_view: dict[bytes, tuple[bytes, int]] = {}
        for m in c.accepted:
            if m.msg_type != b"8":
                continue
            order_id = m.get(37) or b""
            leaves = lots(m.get(151))
            if leaves > 0 and m.get(39) not in (b"2", b"4", b"8", b"C"):
                client_view[order_id] = (m.get(11) or b"", leaves)
            else:
                client_view.pop(order_id, None)
        out.live_orders += len(venue_view)
        if client_view != venue_view:
            diff = set(client_view.items()) ^ set(venue_view.items())
            failures.append(
                f"{c.name}: client sees {len(client_view)} live orders, venue "
                f"{len(venue_view)}; differing: {sorted(diff)[:5]}"
            )
    return failures
