"""The load generator's FIX side: N order-entry sessions driven from one thread, no asyncio.

A `Session` is one FIX 4.4 connection (signed Logon, or no credentials for demo sessions) that
keeps a market maker's picture of its own quotes; `Driver` runs all sessions from one loop over
non-blocking sockets and an epoll object, in one of two modes:

- closed loop: each session keeps `window` orders in flight (sends more as answers arrive);
- open loop: one global schedule at a fixed rate, orders spread evenly over time and sessions;
  the loop spins (it owns its core), and latency runs from the *scheduled* send time, so a
  generator or venue that falls behind shows up in the figures (no coordinated omission).

The flow, per order: pick an instrument, then place a quote a few ticks from the mid (GTC),
move one of the session's quotes (OrderCancelReplaceRequest), cancel one, or send an IOC that
crosses the mid and trades against whoever quotes there. The mid takes a slow random walk.

Invariants:
- Every order message (D, G, F) carries a fresh ClOrdID (11); the first ExecutionReport (8) or
  OrderCancelReject (9) whose ClOrdID is that one answers it, and its latency is taken then.
  `pending` holds exactly the unanswered orders; `answered + len(pending) == sent`.
- A quote is moved or cancelled only when the session saw it live and has no change of it in
  flight (`busy`), so the flow stays valid; races with fills simply get a 35=9.
- Prices and quantities are integers (ticks, lots) until formatted with the instrument's exact
  decimal text; the generator never sends a price off the tick.
- Outbound messages are framed here (BodyLength, CheckSum) without simplefix, so the
  generator's own cost per order stays a few microseconds.
"""

from __future__ import annotations

import random
import select
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from venue.gateway.auth import sign_logon

SOH = b"\x01"
TRAILER = b"\x0110="


@dataclass(frozen=True)
class Instrument:
    symbol: bytes
    tick: Decimal
    lot: Decimal
    ref_ticks: int

    def price(self, ticks: int) -> bytes:
        return str(self.tick * ticks).encode()

    def qty(self, lots: int) -> bytes:
        return str(self.lot * lots).encode()


def instrument(symbol: str, tick_size: str, lot_size: str, ref_price: str) -> Instrument:
    tick = Decimal(tick_size)
    return Instrument(
        symbol=symbol.encode(),
        tick=tick,
        lot=Decimal(lot_size),
        ref_ticks=int(Decimal(ref_price) / tick),
    )


@dataclass
class Book:
    """The generator's view of one instrument: a mid (ticks) and cached price/qty texts."""

    inst: Instrument
    mid: int
    prices: dict[int, bytes] = field(default_factory=dict)
    qtys: dict[int, bytes] = field(default_factory=dict)

    def price(self, ticks: int) -> bytes:
        text = self.prices.get(ticks)
        if text is None:
            text = self.prices[ticks] = self.inst.price(ticks)
        return text

    def qty(self, lots: int) -> bytes:
        text = self.qtys.get(lots)
        if text is None:
            text = self.qtys[lots] = self.inst.qty(lots)
        return text


class Flow:
    """Shared market state for all sessions: one `Book` per instrument, a seeded RNG."""

    def __init__(self, instruments: list[Instrument], seed: int, *, walk: bool = True) -> None:
        self.books = [Book(i, i.ref_ticks) for i in instruments]
        self.rng = random.Random(seed)
        self.walk = walk

    def step(self) -> None:
        if not self.walk:
            return
        book = self.books[self.rng.randrange(len(self.books))]
        book.mid += self.rng.choice((-1, 1))
        limit = max(book.inst.ref_ticks // 100, 20)  # stay well inside the price band
        book.mid = max(book.inst.ref_ticks - limit, min(book.inst.ref_ticks + limit, book.mid))


@dataclass
class Counts:
    sent: int = 0
    answered: int = 0
    reports: int = 0  # ExecutionReports (35=8) received
    cancel_rejects: int = 0  # OrderCancelReject (35=9)
    fills: int = 0  # ExecutionReports with ExecType F
    order_rejects: int = 0  # ExecutionReports with ExecType 8
    other: int = 0  # anything else that is not a heartbeat (3, j, ...)
    quote_entries: int = 0  # quote entries acknowledged (MassQuoteAcknowledgement 35=b)
    quote_entries_refused: int = 0  # of which refused (368 present)

    def add(self, other: Counts) -> None:
        for name in self.__dataclass_fields__:
            setattr(self, name, getattr(self, name) + getattr(other, name))


def _field(msg: bytes, tag: bytes) -> bytes:
    """Value of `tag` (as b"\\x01NN=") in `msg`, or b"" when absent."""
    at = msg.find(tag)
    if at < 0:
        return b""
    at += len(tag)
    return msg[at : msg.index(SOH, at)]


_F35, _F11, _F41, _F150, _F39 = b"\x0135=", b"\x0111=", b"\x0141=", b"\x01150=", b"\x0139="


class Session:
    """One order-entry session. Not thread-safe; driven by `Driver`."""

    QUOTE_CAP = 24  # live quotes (all instruments) before the flow moves or cancels instead

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        target: str = "VENUE",
        key: Ed25519PrivateKey | None = None,
        flow: Flow,
        tag: str,
    ) -> None:
        self.sender, self.target = sender.encode(), target.encode()
        self.key = key
        self.flow = flow
        self.rng = flow.rng
        self.prefix = tag.encode()
        self.sock = socket.create_connection((host, port), timeout=10)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.seq_out = 1
        self.inbuf = bytearray()
        self.out = bytearray()
        self.next_id = 0
        self.pending: dict[bytes, int] = {}  # ClOrdID -> send time (ns, perf_counter)
        self.intent: dict[bytes, tuple[int, bytes, int]] = {}  # ClOrdID -> (book, side, ticks)
        self.live: dict[bytes, tuple[int, bytes, int]] = {}  # quotes the venue confirmed
        self.busy: set[bytes] = set()  # live quotes with a cancel/replace in flight
        self.counts = Counts()
        self.latencies: list[int] = []
        self.record_after = 0  # only orders sent at or after this time are measured
        self.logged_on = False
        self.closed = False
        self.sending_time = b""
        self._stamp_s = -1

    # ------------------------------------------------------------------ framing
    def _now_text(self) -> bytes:
        now = time.time()
        sec = int(now)
        if sec != self._stamp_s:
            self._stamp_s = sec
            self.sending_time = time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(sec)).encode()
        return self.sending_time + b".%03d" % int((now - sec) * 1000)

    def frame(self, msg_type: bytes, body: bytes, sending_time: bytes | None = None) -> bytes:
        st = sending_time if sending_time is not None else self._now_text()
        inner = b"35=%s\x0149=%s\x0156=%s\x0134=%d\x0152=%s\x01%s" % (
            msg_type,
            self.sender,
            self.target,
            self.seq_out,
            st,
            body,
        )
        self.seq_out += 1
        msg = b"8=FIX.4.4\x019=%d\x01%s" % (len(inner), inner)
        return msg + b"10=%03d\x01" % (sum(msg) & 255)

    # ------------------------------------------------------------------ logon / logout
    def logon(self, timeout: float = 10.0) -> None:
        st = self._now_text()
        body = b"98=0\x01108=30\x01141=Y\x01"
        if self.key is not None:
            sig = sign_logon(self.key, self.sender, self.target, self.seq_out, st)
            body += b"95=%d\x0196=%s\x01" % (len(sig), sig)
        self.sock.sendall(self.frame(b"A", body, st))
        deadline = time.monotonic() + timeout
        while not self.logged_on:
            left = deadline - time.monotonic()
            if left <= 0 or self.closed:
                raise ConnectionError(f"{self.sender.decode()}: no Logon reply")
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            if not data:
                raise ConnectionError(f"{self.sender.decode()}: closed during Logon")
            self.receive(data, 0)
        self.sock.setblocking(False)

    def logout(self) -> bytes:
        return self.frame(b"5", b"")

    # ------------------------------------------------------------------ orders
    def _cl_ord_id(self) -> bytes:
        self.next_id += 1
        return b"%s%d" % (self.prefix, self.next_id)

    def next_order(self, t_send: int) -> bytes:
        """Frame the next order of the flow, and note it pending from `t_send`."""
        rng = self.rng
        flow = self.flow
        flow.step()
        b_idx = rng.randrange(len(flow.books))
        book = flow.books[b_idx]
        cl = self._cl_ord_id()
        r = rng.random()
        st = self._now_text()
        full = len(self.live) + len(self.intent) >= self.QUOTE_CAP
        if r < 0.10 or (full and len(self.live) <= len(self.busy)):
            # aggressive IOC through the mid: trades with quotes there (also what a session
            # at its quote cap sends while none of its quotes is free to move)
            side = b"1" if rng.random() < 0.5 else b"2"
            ticks = book.mid + (6 if side == b"1" else -6)
            body = b"11=%s\x0155=%s\x0154=%s\x0160=%s\x0138=%s\x0140=2\x0144=%s\x0159=3\x01" % (
                cl,
                book.inst.symbol,
                side,
                st,
                book.qty(rng.randint(1, 4)),
                book.price(ticks),
            )
            msg = self.frame(b"D", body, st)
        else:
            candidates = None
            if (r >= 0.45 or full) and len(self.live) > len(self.busy):
                candidates = [k for k in self.live if k not in self.busy]
            if not candidates:
                side = b"1" if rng.random() < 0.5 else b"2"
                off = rng.randint(1, 8)
                ticks = book.mid - off if side == b"1" else book.mid + off
                self.intent[cl] = (b_idx, side, ticks)
                body = b"11=%s\x0155=%s\x0154=%s\x0160=%s\x0138=%s\x0140=2\x0144=%s\x0159=1\x01" % (
                    cl,
                    book.inst.symbol,
                    side,
                    st,
                    book.qty(rng.randint(1, 10)),
                    book.price(ticks),
                )
                msg = self.frame(b"D", body, st)
            else:
                orig = candidates[rng.randrange(len(candidates))]
                o_idx, side, _ = self.live[orig]
                book = flow.books[o_idx]
                self.busy.add(orig)
                if r < 0.85:  # move the quote near the touch
                    off = rng.randint(1, 8)
                    ticks = book.mid - off if side == b"1" else book.mid + off
                    self.intent[cl] = (o_idx, side, ticks)
                    body = (
                        b"41=%s\x0111=%s\x0155=%s\x0154=%s\x0160=%s\x0138=%s\x0140=2\x0144=%s\x01"
                        % (
                            orig,
                            cl,
                            book.inst.symbol,
                            side,
                            st,
                            book.qty(rng.randint(1, 10)),
                            book.price(ticks),
                        )
                    )
                    msg = self.frame(b"G", body, st)
                else:
                    body = b"41=%s\x0111=%s\x0155=%s\x0154=%s\x0160=%s\x01" % (
                        orig,
                        cl,
                        book.inst.symbol,
                        side,
                        st,
                    )
                    msg = self.frame(b"F", body, st)
        self.pending[cl] = t_send
        self.counts.sent += 1
        return msg

    def next_mass_quote(self, t_send: int) -> bytes:
        """A MassQuote (QuoteResponseLevel 2: every message acknowledged) updating this
        session's two-sided quote on every instrument; each session quotes its own spread
        (1 + its index ticks around the shared mid), sizes vary."""
        rng = self.rng
        flow = self.flow
        flow.step()
        qid = self._cl_ord_id()
        books = flow.books
        n = len(books)
        spread = 1 + int(self.prefix, 16) % 4
        parts = [b"117=%s\x01301=2\x01296=1\x01302=1\x01304=%d\x01295=%d\x01" % (qid, n, n)]
        for i, book in enumerate(books):
            parts.append(
                b"299=%d\x0155=%s\x01132=%s\x01133=%s\x01134=%s\x01135=%s\x01"
                % (
                    i,
                    book.inst.symbol,
                    book.price(book.mid - spread),
                    book.price(book.mid + spread),
                    book.qty(rng.randint(1, 8)),
                    book.qty(rng.randint(1, 8)),
                )
            )
        msg = self.frame(b"i", b"".join(parts))
        self.pending[qid] = t_send
        self.counts.sent += 1
        return msg

    def mass_cancel(self) -> bytes:
        return self.frame(b"q", b"11=%sMC\x01530=7\x0160=%s\x01" % (self.prefix, self._now_text()))

    # ------------------------------------------------------------------ inbound
    def receive(self, data: bytes, t_recv: int) -> None:
        buf = self.inbuf
        buf += data
        pos = 0
        n = len(buf)
        while True:
            end = buf.find(TRAILER, pos)
            if end < 0 or end + 8 > n:
                break
            self._handle(bytes(buf[pos : end + 8]), t_recv)
            pos = end + 8
        if pos:
            del buf[:pos]

    def _handle(self, msg: bytes, t_recv: int) -> None:
        mt = _field(msg, _F35)
        counts = self.counts
        if mt == b"8":
            counts.reports += 1
            cl = _field(msg, _F11)
            t_sent = self.pending.pop(cl, None)
            if t_sent is not None:
                counts.answered += 1
                if t_sent >= self.record_after:
                    self.latencies.append(t_recv - t_sent)
            et = _field(msg, _F150)
            if et == b"0":
                meta = self.intent.pop(cl, None)
                if meta is not None:
                    self.live[cl] = meta
            elif et == b"F":
                counts.fills += 1
                if _field(msg, _F39) == b"2":
                    self.live.pop(cl, None)
                    self.intent.pop(cl, None)
            elif et == b"5":
                orig = _field(msg, _F41)
                self.live.pop(orig, None)
                self.busy.discard(orig)
                meta = self.intent.pop(cl, None)
                if meta is not None and _field(msg, _F39) != b"2":
                    self.live[cl] = meta
            elif et == b"4":
                orig = _field(msg, _F41)
                self.live.pop(orig, None)
                self.busy.discard(orig)
                self.live.pop(cl, None)
                self.intent.pop(cl, None)
            elif et == b"8":
                counts.order_rejects += 1
                self.intent.pop(cl, None)
        elif mt == b"9":
            counts.cancel_rejects += 1
            cl = _field(msg, _F11)
            t_sent = self.pending.pop(cl, None)
            if t_sent is not None:
                counts.answered += 1
                if t_sent >= self.record_after:
                    self.latencies.append(t_recv - t_sent)
            self.intent.pop(cl, None)
            orig = _field(msg, _F41)
            self.busy.discard(orig)
            self.live.pop(orig, None)  # unknown or done at the venue: forget it
        elif mt == b"b":  # MassQuoteAcknowledgement: answers the MassQuote of its QuoteID
            t_sent = self.pending.pop(_field(msg, b"\x01117="), None)
            if t_sent is not None:
                counts.answered += 1
                if t_sent >= self.record_after:
                    self.latencies.append(t_recv - t_sent)
            counts.quote_entries += msg.count(b"\x01299=")
            counts.quote_entries_refused += msg.count(b"\x01368=")
        elif mt == b"0":
            pass
        elif mt == b"1":
            self.out += self.frame(b"0", b"112=%s\x01" % _field(msg, b"\x01112="))
        elif mt == b"A":
            self.logged_on = True
        elif mt == b"5":
            self.closed = True
        else:
            counts.other += 1


class Driver:
    """Runs sessions from one thread over epoll."""

    def __init__(self, sessions: list[Session]) -> None:
        self.sessions = sessions
        self.poll = select.epoll()
        self.by_fd = {s.sock.fileno(): s for s in sessions}
        for fd in self.by_fd:
            self.poll.register(fd, select.EPOLLIN)

    def _flush(self, s: Session) -> None:
        if s.out:
            try:
                sent = s.sock.send(s.out)
            except BlockingIOError:
                return
            del s.out[:sent]

    def _read(self, timeout: float) -> None:
        clock = time.perf_counter_ns
        for fd, _ in self.poll.poll(timeout):
            s = self.by_fd[fd]
            try:
                data = s.sock.recv(262144)
            except BlockingIOError:
                continue
            if not data:
                s.closed = True
                self.poll.unregister(fd)
                continue
            s.receive(data, clock())

    def closed_loop(
        self,
        window: int,
        seconds: float,
        record_after: int,
        max_orders: int = 0,
        *,
        quotes: bool = False,
    ) -> None:
        """Keep `window` orders (`quotes`: MassQuotes) in flight per session for `seconds`
        (or until `max_orders` were sent, when not 0)."""
        clock = time.perf_counter_ns
        for s in self.sessions:
            s.record_after = record_after
        end = clock() + int(seconds * 1e9)
        left = max_orders or -1
        while left:
            now = clock()
            if now >= end:
                break
            for s in self.sessions:
                if s.closed:
                    continue
                need = window - len(s.pending)
                if need > 0:
                    out = s.out
                    make = s.next_mass_quote if quotes else s.next_order
                    for _ in range(need):
                        out += make(now)
                        left -= 1
                        if not left:
                            break
                self._flush(s)
                if not left:
                    break
            self._read(0.05)

    def open_loop(
        self, rate: float, seconds: float, record_after: int, spin: Callable[[], None] | None = None
    ) -> int:
        """Send at `rate` orders/s for `seconds`, evenly spaced, round robin over sessions.
        Returns how many orders went out late by more than 1 ms (generator overload)."""
        clock = time.perf_counter_ns
        for s in self.sessions:
            s.record_after = record_after
        interval = 1e9 / rate
        start = clock()
        end = start + int(seconds * 1e9)
        k = 0
        late = 0
        sessions = self.sessions
        n = len(sessions)
        poll = self.poll.poll
        while True:
            now = clock()
            if now >= end:
                break
            due = start + int(k * interval)
            while due <= now:
                s = sessions[k % n]
                if not s.closed:
                    s.out += s.next_order(due)
                    self._flush(s)
                if now - due > 1_000_000:
                    late += 1
                k += 1
                due = start + int(k * interval)
            if poll(0):
                self._read(0)
        return late

    def drain(self, timeout: float) -> None:
        """Wait until every order is answered (or `timeout`)."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for s in self.sessions:
                self._flush(s)
            if all(not s.pending or s.closed for s in self.sessions):
                return
            self._read(0.05)

    def send_all(self, make: Callable[[Session], bytes]) -> None:
        for s in self.sessions:
            if not s.closed:
                s.out += make(s)
                self._flush(s)

    def close(self, timeout: float = 5.0) -> None:
        self.send_all(lambda s: s.logout())
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and not all(s.closed for s in self.sessions):
            for s in self.sessions:
                self._flush(s)
            self._read(0.05)
        for s in self.sessions:
            s.sock.close()
        self.poll.close()
