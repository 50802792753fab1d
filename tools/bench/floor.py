"""The harness floor: the least a Python FIX acceptor can do per order on this machine.

    python tools/bench/floor.py --sessions BENCH1,BENCH2 [--commit DB [--sync FULL]] [--port 0]

A uvloop TCP server that answers the e2e generator exactly as the QuickFIX peer does (Logon
-> Logon, NewOrderSingle D -> ExecutionReport 150=0, cancel/replace G -> 150=5, cancel F ->
150=4, Logout -> Logout) and does nothing else: no session checks, no decoding beyond finding
the few tags it echoes (35, 11, 41, 55, 54) with `bytes.find`, no matching, no risk. The
ExecutionReport is one `%` format with BodyLength and CheckSum computed, and the replies of
one read go out in one write.

With `--commit DB`, each read's orders are first made durable as the venue makes them (one
SQLite transaction in WAL mode at synchronous=NORMAL, or FULL with `--sync FULL`, on the event
loop's own thread: the raw orders as journal rows, the replies as one packed outbound run,
the session's sequence numbers upserted), and only then answered: the floor of "output only
after durable". At FULL the loop waits for the fsync (the venue hands that to a thread), which
makes this the best case for latency, not a design to copy.

So `e2e.py --floor` measures what the generator, the loopback TCP path, uvloop and one CPython
pass over each message cost by themselves (and, with `--commit`, one SQLite commit per
batch): a venue in this language that does at least this much per order (and commits at
least once per batch before answering) cannot beat these figures on the same harness.

On start it prints one JSON line `{"port": N}` on stdout, then serves until SIGTERM/SIGINT.

Invariants: listens on 127.0.0.1 only; writes only the --commit file; a message it does not
know gets no answer and never raises out of `data_received`.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import signal
import sqlite3
import sys
import time
from pathlib import Path

import uvloop

TRAILER = b"\x0110="
EXEC_TYPE = {b"D": b"0", b"G": b"5", b"F": b"4"}
ORD_STATUS = {b"D": b"0", b"G": b"0", b"F": b"4"}


def _field(msg: bytes, tag: bytes) -> bytes:
    at = msg.find(tag)
    if at < 0:
        return b""
    at += len(tag)
    return msg[at : msg.find(b"\x01", at)]


class Journal:
    """One transaction per read: the venue's three tables, on this thread."""

    def __init__(self, path: Path, synchronous: str) -> None:
        path.unlink(missing_ok=True)
        self.db = sqlite3.connect(path, isolation_level=None)
        self.db.execute("PRAGMA journal_mode = WAL")
        self.db.execute(f"PRAGMA synchronous = {synchronous}")
        self.db.executescript(
            "CREATE TABLE journal (seq INTEGER PRIMARY KEY, ts INTEGER, cmd BLOB, events BLOB);"
            "CREATE TABLE runs (session TEXT, first INTEGER, last INTEGER, data BLOB,"
            " PRIMARY KEY (session, first)) WITHOUT ROWID;"
            "CREATE TABLE fix_session (session TEXT PRIMARY KEY, next_in INTEGER,"
            " next_out INTEGER) WITHOUT ROWID;"
        )
        self.seq = 0

    def commit(self, session: str, orders: list[bytes], first_out: int, replies: bytes) -> None:
        db = self.db
        ts = time.time_ns()
        db.execute("BEGIN IMMEDIATE")
        rows = []
        for order in orders:
            self.seq += 1
            rows.append((self.seq, ts, order, b""))
        db.executemany("INSERT INTO journal VALUES (?, ?, ?, ?)", rows)
        last = first_out + len(orders) - 1
        db.execute("INSERT INTO runs VALUES (?, ?, ?, ?)", (session, first_out, last, replies))
        db.execute(
            "INSERT INTO fix_session VALUES (?, ?, ?) ON CONFLICT (session) DO UPDATE SET"
            " next_in = excluded.next_in, next_out = excluded.next_out",
            (session, last + 1, last + 1),
        )
        db.execute("COMMIT")


class Floor(asyncio.Protocol):
    def __init__(self, journal: Journal | None) -> None:
        self.journal = journal
        self.buf = b""
        self.out_seq = 1
        self.exec_id = 0
        self.sender = b""
        self.transport: asyncio.Transport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = transport  # type: ignore[assignment]  # uvloop's TCPTransport

    def frame(self, msg_type: bytes, body: bytes) -> bytes:
        head = b"35=%s\x0149=VENUE\x0156=%s\x0134=%d\x0152=%s\x01" % (
            msg_type,
            self.sender,
            self.out_seq,
            time.strftime("%Y%m%d-%H:%M:%S.000", time.gmtime()).encode(),
        )
        self.out_seq += 1
        payload = head + body
        msg = b"8=FIX.4.4\x019=%d\x01%s" % (len(payload), payload)
        return msg + b"10=%03d\x01" % (sum(msg) % 256)

    def data_received(self, data: bytes) -> None:
        buf = self.buf + data
        pos = 0
        out: list[bytes] = []
        orders: list[bytes] = []
        first_out = self.out_seq
        while True:
            end = buf.find(TRAILER, pos)
            if end < 0 or end + 8 > len(buf):
                break
            msg = buf[pos : end + 8]
            pos = end + 8
            mt = _field(msg, b"\x0135=")
            if mt in EXEC_TYPE:
                self.exec_id += 1
                orders.append(msg)
                body = b"37=%d\x0117=E%d\x0111=%s\x01%s150=%s\x0139=%s\x0155=%s\x0154=%s\x01" % (
                    self.exec_id,
                    self.exec_id,
                    _field(msg, b"\x0111="),
                    b"41=%s\x01" % _field(msg, b"\x0141=") if mt != b"D" else b"",
                    EXEC_TYPE[mt],
                    ORD_STATUS[mt],
                    _field(msg, b"\x0155="),
                    _field(msg, b"\x0154="),
                )
                out.append(self.frame(b"8", body))
            elif mt == b"A":
                self.sender = _field(msg, b"\x0149=")
                out.append(self.frame(b"A", b"98=0\x01108=30\x01"))
            elif mt == b"5":
                out.append(self.frame(b"5", b""))
            elif mt == b"1":
                out.append(self.frame(b"0", b"112=%s\x01" % _field(msg, b"\x01112=")))
        self.buf = buf[pos:]
        if not out:
            return
        replies = b"".join(out)
        if orders and self.journal is not None:
            self.journal.commit(self.sender.decode(), orders, first_out, replies)
        assert self.transport is not None
        self.transport.write(replies)


async def serve(port: int, journal: Journal | None) -> None:
    loop = asyncio.get_running_loop()
    server = await loop.create_server(lambda: Floor(journal), "127.0.0.1", port)
    stop = asyncio.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, stop.set)
    print(json.dumps({"port": server.sockets[0].getsockname()[1]}), flush=True)
    await stop.wait()
    server.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sessions", default="", help="accepted for e2e.py; any CompID logs on")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--commit", type=Path, help="SQLite file: one commit per read")
    parser.add_argument("--sync", choices=("NORMAL", "FULL"), default="NORMAL")
    args = parser.parse_args()
    journal = Journal(args.commit, args.sync) if args.commit else None
    uvloop.run(serve(args.port, journal))
    return 0


if __name__ == "__main__":
    sys.exit(main())
