"""The side-by-side peer: a minimal FIX 4.4 acceptor on the QuickFIX C++ engine.

    python tools/bench/peer_quickfix.py --dir TMPDIR --sessions BENCH1,BENCH2 [--port 0]

    python tools/bench/peer_quickfix.py ... --fair

It accepts the given client CompIDs (TargetCompID) as SenderCompID VENUE, with sequence numbers
reset at Logon, a memory store and no log, and answers each order message with one
ExecutionReport and does nothing else: NewOrderSingle (D) -> ExecType 0 New, cancel/replace (G)
-> 5 Replaced, cancel (F) -> 4 Canceled (so the e2e generator's flow, which also moves and
cancels quotes, gets one answer per message, as from the venue). No matching, no risk, no
journal: the figure is what a lean C++ FIX engine costs per order.

`--fair` gives the peer the venue's session duties, for a like-for-like comparison: every
message validated against the venue's own dictionary (`fix_specs/FIX44.xml`, user-defined
fields included) and a persistent file message store written at each message without fsync,
as the venue's journal at `synchronous=NORMAL` (`FileStoreSync=N`: the OS page cache, a
killed process loses nothing). It still does no matching, risk or market data.

On start it prints one JSON line `{"port": N}` on stdout, then serves until SIGTERM/SIGINT.
The `quickfix` package (PyPI, built from source) is an optional extra: `make bench-peer`.

Invariants: listens on 127.0.0.1 only; writes its settings file in --dir only; an unknown
message type gets no answer (never an exception out of a callback).
"""

from __future__ import annotations

import argparse
import itertools
import json
import signal
import socket
import sys
import threading
from pathlib import Path

try:
    import quickfix as fix  # type: ignore[import-not-found, unused-ignore]
except ImportError as exc:  # pragma: no cover - optional extra
    print(f"quickfix is not installed ({exc}); run `make bench-peer`", file=sys.stderr)
    sys.exit(3)

EXEC_TYPE = {"D": "0", "G": "5", "F": "4"}
ORD_STATUS = {"D": "0", "G": "0", "F": "4"}


class Peer(fix.Application):  # type: ignore[misc]
    def __init__(self) -> None:
        super().__init__()
        self.ids = itertools.count(1)

    def onCreate(self, session_id: object) -> None:  # QuickFIX callback names are camelCase
        pass

    def onLogon(self, session_id: object) -> None:
        pass

    def onLogout(self, session_id: object) -> None:
        pass

    def toAdmin(self, message: object, session_id: object) -> None:
        pass

    def fromAdmin(self, message: object, session_id: object) -> None:
        pass

    def toApp(self, message: object, session_id: object) -> None:
        pass

    def fromApp(self, message: fix.Message, session_id: fix.SessionID) -> None:
        try:
            msg_type = fix.MsgType()
            message.getHeader().getField(msg_type)
            mt = msg_type.getValue()
            if mt not in EXEC_TYPE:
                return
            n = next(self.ids)
            er = fix.Message()
            er.getHeader().setField(fix.MsgType("8"))
            er.setField(fix.StringField(37, str(n)))
            er.setField(fix.StringField(17, f"E{n}"))
            for tag in (11, 41, 55, 54, 38, 44):
                if message.isSetField(tag):
                    er.setField(fix.StringField(tag, message.getField(tag)))
            er.setField(fix.StringField(150, EXEC_TYPE[mt]))
            er.setField(fix.StringField(39, ORD_STATUS[mt]))
            er.setField(fix.StringField(151, "0" if mt == "F" else message.getField(38)))
            er.setField(fix.StringField(14, "0"))
            er.setField(fix.StringField(6, "0"))
            fix.Session.sendToTarget(er, session_id)
        except Exception as exc:  # never let an exception into the engine's thread
            print(f"peer: {exc!r}", file=sys.stderr)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--dir", required=True, type=Path)
    parser.add_argument("--sessions", required=True, help="client CompIDs, comma separated")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--fair", action="store_true", help="validate and persist (see above)")
    args = parser.parse_args(argv)
    port = args.port or free_port()
    lines = [
        "[DEFAULT]",
        "ConnectionType=acceptor",
        f"SocketAcceptPort={port}",
        "SocketAcceptHost=127.0.0.1",
        "SocketReuseAddress=Y",
        "SocketNodelay=Y",
        "StartTime=00:00:00",
        "EndTime=00:00:00",
        "BeginString=FIX.4.4",
        "SenderCompID=VENUE",
        "ResetOnLogon=Y",
        "CheckLatency=N",
    ]
    if args.fair:
        dictionary = Path(__file__).resolve().parents[2] / "fix_specs" / "FIX44.xml"
        store_dir = args.dir / "store"
        store_dir.mkdir(exist_ok=True)
        lines += [
            "UseDataDictionary=Y",
            f"DataDictionary={dictionary}",
            "ValidateUserDefinedFields=Y",
            "ValidateFieldsOutOfOrder=Y",
            "ValidateFieldsHaveValues=Y",
            f"FileStorePath={store_dir}",
            "FileStoreSync=N",
        ]
    else:
        lines += ["UseDataDictionary=N", "ValidateUserDefinedFields=N"]
    for comp in args.sessions.split(","):
        lines += ["", "[SESSION]", f"TargetCompID={comp}"]
    settings_path = args.dir / "peer.cfg"
    settings_path.write_text("\n".join(lines) + "\n")
    settings = fix.SessionSettings(str(settings_path))
    app = Peer()
    store = fix.FileStoreFactory(settings) if args.fair else fix.MemoryStoreFactory()
    acceptor = fix.SocketAcceptor(app, store, settings)
    acceptor.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    print(json.dumps({"port": port}), flush=True)
    while not stop.wait(0.5):
        pass
    acceptor.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
