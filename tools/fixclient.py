"""A FIX 4.4 order-entry client for people, built on simplefix.

    python tools/fixclient.py --sender ALPHA-MM                     # interactive (demo session)
    python tools/fixclient.py --sender ALPHA-MM -c "sell BTC-PERP 1 @ 60000.5" -c "wait 1"
    python tools/fixclient.py --sender ALPHA-TRD --key alpha.pem --script orders.txt
    python tools/fixclient.py --sender BRAVO-MM --password-stdin ...

Commands (one per line in a script; `#` starts a comment):

    buy|sell SYMBOL QTY [@ PRICE] [tif=GTC|DAY|IOC|FOK|GTD] [expire=YYYYMMDD-HH:MM:SS]
             [id=CLORDID] [account=ACCOUNT] [post] [reduce] [stp=ID] [stpmode=1|2|3]
        (no price: a market order)
    cancel ORIGCLORDID [orderid=N]
    replace ORIGCLORDID QTY @ PRICE [id=CLORDID]
    status CLORDID | massstatus [SYMBOL] | masscancel [SYMBOL] | securities
    wait SECONDS          print what arrives for that long
    quit

Every message received is printed on one line, ExecutionReports readably. The client answers
TestRequests, answers a ResendRequest with a SequenceReset-GapFill (it never resends orders),
sends Heartbeats, logs on with ResetSeqNumFlag=Y unless `--no-reset` (then give
`--next-seq`), and logs out at the end.

Invariants: the tool never invents prices or quantities (it sends your decimal strings as typed);
it prints nothing secret (no key, no password).
"""

from __future__ import annotations

import argparse
import getpass
import itertools
import select
import shlex
import socket
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import simplefix

try:
    from venue.gateway.auth import load_private_key, sign_logon
except ModuleNotFoundError:  # run from a checkout where the package is not installed
    sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
    from venue.gateway.auth import load_private_key, sign_logon

TIFS = {"DAY": b"0", "GTC": b"1", "IOC": b"3", "FOK": b"4", "GTD": b"6"}
EXEC_TYPES = {
    b"0": "NEW",
    b"4": "CANCELED",
    b"5": "REPLACED",
    b"8": "REJECTED",
    b"C": "EXPIRED",
    b"F": "TRADE",
    b"I": "STATUS",
}
ORD_STATUS = {
    b"0": "new",
    b"1": "partially filled",
    b"2": "filled",
    b"4": "canceled",
    b"8": "rejected",
    b"C": "expired",
}
SIDES = {b"1": "BUY", b"2": "SELL"}
_SESSION_TYPES = frozenset({b"0", b"1", b"2", b"4", b"5", b"A"})


class CommandError(ValueError):
    """A command line the client does not understand."""


def utc_now() -> bytes:
    ms = time.time_ns() // 1_000_000
    second, milli = divmod(ms, 1000)
    return time.strftime("%Y%m%d-%H:%M:%S", time.gmtime(second)).encode() + b".%03d" % milli


def parse_command(line: str, ids: Iterator[int]) -> tuple[bytes, list[tuple[int, bytes]]] | None:
    """One command line → (MsgType, body fields); None for a blank line or a comment.
    `wait` and `quit` are handled by the caller. Raises CommandError."""
    words = shlex.split(line, comments=True)
    if not words:
        return None
    verb, args = words[0].lower(), words[1:]
    opts = {k.lower(): v for k, _, v in (a.partition("=") for a in args if "=" in a)}
    flags = {a.lower() for a in args if "=" not in a}
    plain = [a for a in args if "=" not in a and a.lower() not in ("post", "reduce")]
    now = utc_now()

    def new_id(prefix: str) -> bytes:
        return opts.get("id", f"{prefix}{next(ids)}").encode()

    if verb in ("buy", "sell"):
        if len(plain) not in (2, 4) or (len(plain) == 4 and plain[2] != "@"):
            raise CommandError(f"usage: {verb} SYMBOL QTY [@ PRICE] [options]")
        symbol, qty = plain[0], plain[1]
        body = [(11, new_id("C")), (55, symbol.encode()), (54, b"1" if verb == "buy" else b"2")]
        if "account" in opts:
            body.append((1, opts["account"].encode()))
        body += [(60, now), (38, qty.encode())]
        if len(plain) == 4:
            body += [(40, b"2"), (44, plain[3].encode())]
        else:
            body.append((40, b"1"))
        tif = opts.get("tif", "GTC" if len(plain) == 4 else "IOC").upper()
        if tif not in TIFS:
            raise CommandError(f"tif must be one of {', '.join(TIFS)}")
        body.append((59, TIFS[tif]))
        if "expire" in opts:
            body.append((126, opts["expire"].encode()))
        inst = [code for flag, code in (("post", "6"), ("reduce", "E")) if flag in flags]
        if inst:
            body.append((18, " ".join(inst).encode()))
        if "stp" in opts:
            body.append((7928, opts["stp"].encode()))
        if "stpmode" in opts:
            body.append((8000, opts["stpmode"].encode()))
        return b"D", body
    if verb == "cancel":
        if len(plain) != 1:
            raise CommandError("usage: cancel ORIGCLORDID [orderid=N]")
        body = [(41, plain[0].encode()), (11, new_id("X"))]
        if "orderid" in opts:
            body.append((37, opts["orderid"].encode()))
        body += [(55, opts.get("symbol", "").encode() or b"?"), (54, b"1"), (60, now)]
        return b"F", body
    if verb == "replace":
        if len(plain) != 4 or plain[2] != "@":
            raise CommandError("usage: replace ORIGCLORDID QTY @ PRICE [symbol=S] [id=CLORDID]")
        if "symbol" not in opts:
            raise CommandError("replace needs symbol=SYMBOL (the order's)")
        body = [
            (41, plain[0].encode()),
            (11, new_id("R")),
            (55, opts["symbol"].encode()),
            (54, b"1"),
            (60, now),
            (38, plain[1].encode()),
            (40, b"2"),
            (44, plain[3].encode()),
        ]
        return b"G", body
    if verb == "status":
        if len(plain) != 1:
            raise CommandError("usage: status CLORDID")
        return b"H", [(11, plain[0].encode()), (55, b"?"), (54, b"1")]
    if verb == "massstatus":
        if plain:
            return b"AF", [(584, new_id("S")), (585, b"1"), (55, plain[0].encode())]
        return b"AF", [(584, new_id("S")), (585, b"7")]
    if verb == "masscancel":
        if plain:
            return b"q", [(11, new_id("M")), (530, b"1"), (55, plain[0].encode()), (60, now)]
        return b"q", [(11, new_id("M")), (530, b"7"), (60, now)]
    if verb == "securities":
        return b"x", [(320, new_id("L")), (559, b"4")]
    raise CommandError(f"unknown command {verb!r}")


def _s(msg: simplefix.FixMessage, tag: int) -> str:
    value = msg.get(tag)
    return value.decode("latin-1") if value is not None else ""


def describe(msg: simplefix.FixMessage) -> str:
    """One readable line for a message from the venue."""
    mt = msg.get(35)
    if mt == b"8":
        kind = EXEC_TYPES.get(msg.get(150) or b"", _s(msg, 150))
        side = SIDES.get(msg.get(54) or b"", _s(msg, 54))
        parts = [f"ER {kind:<8} {_s(msg, 11)}"]
        if msg.get(41):
            parts.append(f"(was {_s(msg, 41)})")
        parts.append(f"order={_s(msg, 37)} {side} {_s(msg, 55)} {_s(msg, 38)}")
        if msg.get(44):
            parts.append(f"@ {_s(msg, 44)}")
        if msg.get(150) == b"F":
            aggressor = " aggressor" if msg.get(1057) == b"Y" else ""
            parts.append(f"| fill {_s(msg, 32)} @ {_s(msg, 31)}{aggressor} trade={_s(msg, 880)}")
        status = ORD_STATUS.get(msg.get(39) or b"", _s(msg, 39))
        parts.append(
            f"| {status} leaves={_s(msg, 151)} cum={_s(msg, 14)} avg={_s(msg, 6)}"
            f" exec={_s(msg, 17)}"
        )
        if msg.get(103):
            parts.append(f"| reason {_s(msg, 103)}")
        if msg.get(58):
            parts.append(f"| {_s(msg, 58)}")
        return " ".join(parts)
    if mt == b"9":
        to = "replace" if msg.get(434) == b"2" else "cancel"
        return (
            f"CANCEL REJECT ({to}) {_s(msg, 11)} for {_s(msg, 41)}: reason {_s(msg, 102)}"
            f" {_s(msg, 58)}"
        )
    if mt == b"r":
        return (
            f"MASS CANCEL {_s(msg, 11)}: response {_s(msg, 531)} canceled={_s(msg, 533)}"
            f" {_s(msg, 58)}"
        )
    if mt == b"j":
        return f"BUSINESS REJECT of {_s(msg, 372)}: reason {_s(msg, 380)} {_s(msg, 58)}"
    if mt == b"3":
        return f"REJECT tag {_s(msg, 371)}: reason {_s(msg, 373)} {_s(msg, 58)}"
    if mt == b"y":
        lines = [f"SECURITY LIST ({_s(msg, 146)} instruments)"]
        for n in range(1, int(msg.get(146) or b"0") + 1):
            sym, tick, lot = ((msg.get(t, n) or b"").decode("latin-1") for t in (55, 969, 561))
            text = (msg.get(58, n) or b"").decode("latin-1")
            lines.append(f"  {sym:<14} tick={tick} lot={lot} {text}")
        return "\n".join(lines)
    return msg.to_string("|")


class Client:
    """A blocking FIX session: logon, send commands, print what comes back."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        sender: str,
        target: str = "VENUE",
        heartbeat: int = 30,
        reset: bool = True,
        next_seq: int = 1,
        key_pem: bytes | None = None,
        password: str | None = None,
        cancel_on_disconnect: str | None = None,
    ) -> None:
        self.sender, self.target = sender, target
        self.heartbeat = heartbeat
        self.reset = reset
        self.next_out = 1 if reset else next_seq
        self.key = load_private_key(key_pem) if key_pem is not None else None
        self.password = password
        self.cod = cancel_on_disconnect
        self.sock = socket.create_connection((host, port), timeout=10)
        self.parser = simplefix.FixParser()
        self.printed: list[str] = []
        self.closed = False
        self.sent: dict[int, tuple[str, str]] = {}  # our application messages: MsgType, ClOrdID
        self.ids = itertools.count(int(time.time()) % 100_000 * 1000)
        self._last_out = time.monotonic()

    def _send(self, msg_type: bytes, body: list[tuple[int, bytes]]) -> None:
        msg = simplefix.FixMessage()
        msg.append_pair(8, b"FIX.4.4", header=True)
        msg.append_pair(35, msg_type, header=True)
        msg.append_pair(49, self.sender.encode(), header=True)
        msg.append_pair(56, self.target.encode(), header=True)
        seq = self.next_out
        msg.append_pair(34, b"%d" % seq, header=True)
        sending_time = utc_now()
        msg.append_pair(52, sending_time, header=True)
        if msg_type == b"A" and self.key is not None:
            signature = sign_logon(self.key, self.sender, self.target, seq, sending_time)
            body = [*body, (95, b"%d" % len(signature)), (96, signature)]
        for tag, value in body:
            msg.append_pair(tag, value)
        self.sock.sendall(msg.encode())
        if msg_type not in _SESSION_TYPES:  # remembered to say what a gap fill skipped
            self.sent[seq] = (msg_type.decode(), (msg.get(11) or b"-").decode("latin-1"))
            if len(self.sent) > 1000:
                del self.sent[next(iter(self.sent))]
        self.next_out += 1
        self._last_out = time.monotonic()

    def _gap_fill(self, begin: int, end: int) -> None:
        """Answer a ResendRequest the usual client way: orders are never resent (a stale order
        is worse than none), so the whole range becomes one SequenceReset-GapFill (35=4,
        123=Y, PossDupFlag=Y) carrying MsgSeqNum=BeginSeqNo and NewSeqNo = our next number."""
        new_seq = self.next_out
        if begin >= new_seq:
            return  # nothing of ours in the range
        msg = simplefix.FixMessage()
        msg.append_pair(8, b"FIX.4.4", header=True)
        msg.append_pair(35, b"4", header=True)
        msg.append_pair(49, self.sender.encode(), header=True)
        msg.append_pair(56, self.target.encode(), header=True)
        msg.append_pair(34, b"%d" % begin, header=True)
        msg.append_pair(43, b"Y", header=True)
        now = utc_now()
        msg.append_pair(52, now, header=True)
        msg.append_pair(122, now, header=True)
        msg.append_pair(123, b"Y")
        msg.append_pair(36, b"%d" % new_seq)
        self.sock.sendall(msg.encode())
        self._last_out = time.monotonic()
        upto = "infinity" if end == 0 else str(end)
        skipped = [
            f"{t}({cl})"
            for seq, (t, cl) in self.sent.items()
            if begin <= seq and (end in (0, seq) or seq < end)
        ]
        self._print(
            f"-- venue asked to resend {begin}..{upto}: sent a gap fill to {new_seq}"
            + (f"; not resent: {', '.join(skipped)}" if skipped else "")
        )

    def _print(self, text: str) -> None:
        self.printed.append(text)
        print(text, flush=True)

    def receive(
        self, seconds: float, until: frozenset[bytes] = frozenset()
    ) -> list[simplefix.FixMessage]:
        """Print (and return) everything that arrives within `seconds`, or up to and including
        the first message whose MsgType is in `until`."""
        got: list[simplefix.FixMessage] = []
        deadline = time.monotonic() + seconds
        while True:
            msg = self.parser.get_message()
            if msg is not None:
                got.append(msg)
                self._handle(msg)
                if msg.get(35) in until:
                    return got
                continue
            left = deadline - time.monotonic()
            if left <= 0:
                return got
            if time.monotonic() - self._last_out >= self.heartbeat:
                self._send(b"0", [])
            self.sock.settimeout(min(left, 1.0))
            try:
                data = self.sock.recv(65536)
            except TimeoutError:
                continue
            if not data:
                self.closed = True
                self._print("-- connection closed by the venue")
                return got
            self.parser.append_buffer(data)

    def _handle(self, msg: simplefix.FixMessage) -> None:
        mt = msg.get(35)
        if mt == b"1":
            self._send(b"0", [(112, msg.get(112) or b"")])
        if mt == b"2":
            self._gap_fill(int(msg.get(7) or b"1"), int(msg.get(16) or b"0"))
            return
        if mt in (b"0", b"1"):
            return
        if mt == b"A":
            self._print(f"-- logged on as {self.sender} (venue seq {_s(msg, 34)})")
        elif mt == b"5":
            self._print(f"-- logout: {_s(msg, 58)}")
        else:
            self._print(describe(msg))

    def logon(self) -> None:
        body = [(98, b"0"), (108, b"%d" % self.heartbeat)]
        if self.reset:
            body.append((141, b"Y"))
        if self.password is not None:
            body += [(553, self.sender.encode()), (554, self.password.encode())]
        if self.cod is not None:
            body.append((5001, self.cod.encode()))
        self._send(b"A", body)
        for msg in self.receive(5.0, until=frozenset({b"A", b"5"})):
            if msg.get(35) == b"A":
                return
            if msg.get(35) == b"5":
                raise ConnectionError(f"logon refused: {_s(msg, 58)}")
        if self.closed:  # the venue answers an unknown session with a disconnect, no Logout
            raise ConnectionError(
                f"the venue closed the connection without answering the Logon: it knows no "
                f"session SenderCompID={self.sender} TargetCompID={self.target} from this "
                f"address (the venue's log names the reason)"
            )
        raise ConnectionError("no Logon reply within 5 seconds")

    def run(self, line: str, linger: float = 0.5) -> bool:
        """Carry out one command line; False after `quit`."""
        words = line.split()
        if words and words[0].lower() == "quit":
            return False
        if words and words[0].lower() == "wait":
            self.receive(float(words[1]) if len(words) > 1 else 1.0)
            return True
        try:
            parsed = parse_command(line, self.ids)
        except CommandError as exc:
            self._print(f"?? {exc}")
            return True
        if parsed is not None:
            self._send(*parsed)
            self.receive(linger)
        return True

    def logout(self) -> None:
        try:
            self._send(b"5", [])
            self.receive(2.0, until=frozenset({b"5"}))
        finally:
            self.sock.close()


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description="FIX 4.4 order-entry client for the venue")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=9878)
    p.add_argument("--sender", required=True, help="your SenderCompID (e.g. ALPHA-MM)")
    p.add_argument("--target", default="VENUE")
    p.add_argument("--heartbeat", type=int, default=30)
    p.add_argument("--key", help="Ed25519 private key (PEM) for a signed Logon")
    p.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    p.add_argument("--password-prompt", action="store_true", help="prompt for the password")
    p.add_argument("--no-reset", action="store_true", help="keep sequence numbers (no 141=Y)")
    p.add_argument("--next-seq", type=int, default=1, help="with --no-reset: our next MsgSeqNum")
    p.add_argument("--cancel-on-disconnect", choices=["Y", "N"], help="Logon tag 5001")
    p.add_argument("-c", "--command", action="append", default=[], help="a command; repeatable")
    p.add_argument("--script", help="a file of commands, one per line")
    p.add_argument("--linger", type=float, default=0.5, help="seconds to read after each command")
    args = p.parse_args(argv)
    password = None
    if args.password_stdin:
        password = sys.stdin.readline().rstrip("\n")
    elif args.password_prompt:
        password = getpass.getpass("password: ")
    try:
        key_pem = Path(args.key).read_bytes() if args.key else None
        if key_pem is not None:
            load_private_key(key_pem)
    except OSError as exc:
        print(f"fixclient: --key {args.key}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except (ValueError, TypeError) as exc:
        print(f"fixclient: --key {args.key}: not an Ed25519 private key ({exc})", file=sys.stderr)
        return 2
    try:
        client = Client(
            args.host,
            args.port,
            sender=args.sender,
            target=args.target,
            heartbeat=args.heartbeat,
            reset=not args.no_reset,
            next_seq=args.next_seq,
            key_pem=key_pem,
            password=password,
            cancel_on_disconnect=args.cancel_on_disconnect,
        )
        client.logon()
    except (OSError, ConnectionError) as exc:
        print(f"fixclient: {exc}", file=sys.stderr)
        return 1
    try:
        if args.command or args.script:
            lines = list(args.command)
            if args.script:
                lines += Path(args.script).read_text().splitlines()
            for line in lines:
                if client.closed or not client.run(line, args.linger):
                    break
        else:
            interact(client, args.linger)
    except KeyboardInterrupt:
        pass
    finally:
        if not client.closed:
            client.logout()
    return 0


HELP = (
    "commands: buy/sell SYMBOL QTY [@ PRICE] [tif=..] [post] [reduce] [id=..] [account=..], "
    "cancel ID, replace ID QTY @ PRICE symbol=S, status ID, massstatus, masscancel [SYMBOL], "
    "securities, wait N, quit"
)


def interact(client: Client, linger: float) -> None:
    """Read commands from stdin while printing what the venue sends, and keep the session
    alive (heartbeats, TestRequests) while the person thinks."""
    print(HELP, flush=True)
    print("fix> ", end="", flush=True)
    while not client.closed:
        readable, _, _ = select.select([sys.stdin, client.sock], [], [], 1.0)
        if client.sock in readable or not readable:
            client.receive(0.01)  # prints what arrived; sends a Heartbeat when one is due
        if sys.stdin in readable:
            line = sys.stdin.readline()
            if not line or not client.run(line.strip(), linger):
                return
            print("fix> ", end="", flush=True)


if __name__ == "__main__":
    sys.exit(main())
