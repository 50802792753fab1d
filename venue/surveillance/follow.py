"""The surveillance follower: a process of its own that follows the journal file as the venue
commits it, feeds every new row to the surveillance engine and writes alerts to the alerts
file. The venue starts it (`surveillance.run = "process"`, the default) right after recovery
and stops it at shutdown; `venue surveil --db J --follow --alerts FILE` runs it by hand.

Why a process: the detectors cost a few microseconds per journal row in Python, a sizeable
share of what the venue itself spends per order; in the venue's own thread that share comes
off its throughput. In a process of its own, at the idle scheduling class (`SCHED_IDLE`: it
runs only on a CPU nothing else wants), it costs the order path nothing; it lags under a burst
and catches up when the market is quiet.

Invariants:
- Read only on the journal (opened `create=False, exclusive=False`); it writes only the alerts
  file. Rows are fed once each, in seq order.
- Where it starts: the first row within the longest pattern window before the last seq the
  alerts file records (so windows are full again after a restart; an alert found again keeps
  its id and is updated, never duplicated), or, for an alerts file that records none,
  `start_seq` (the venue passes the first seq after its recovery).
- It stops on SIGTERM/SIGINT after the chunk in hand (its alerts saved), and by itself when its
  parent process goes away.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal

import msgspec

from venue.config_surveillance import SurveillanceConfig
from venue.core import Command, Event
from venue.journal import Journal
from venue.surveillance.engine import Surveillance
from venue.surveillance.live import first_seq_after, warmup_ns
from venue.surveillance.store import AlertStore

__all__ = ["follow", "idle_priority"]

_BATCH = 512  # rows per read (the journal's point-read statement size)
_decode_cmd = msgspec.msgpack.Decoder(Command).decode
_decode_events = msgspec.msgpack.Decoder(list[Event]).decode


def idle_priority() -> str:
    """Run this process only on otherwise idle CPUs; what was set ("idle" or "nice 19")."""
    try:
        os.sched_setscheduler(0, os.SCHED_IDLE, os.sched_param(0))
    except (AttributeError, OSError):
        with contextlib.suppress(OSError):
            os.nice(19)
        return "nice 19"
    return "idle"


async def follow(
    path: str,
    cfg: SurveillanceConfig,
    alerts_path: str,
    *,
    start_seq: int = 0,
    poll: float = 0.1,
    stop: asyncio.Event | None = None,
    watch_parent: bool = False,
) -> int:
    """Follow the journal at `path` until `stop` is set (or the parent goes away); returns the
    last seq fed."""
    stop = stop if stop is not None else asyncio.Event()
    parent = os.getppid()
    store = AlertStore.open(alerts_path)
    journal = await Journal.open(path, create=False, exclusive=False)
    engine = Surveillance(cfg)
    try:
        done = store.last_seq()
        if done > 0:
            after = await first_seq_after(journal, done, warmup_ns(cfg)) - 1
        else:
            after = max(start_seq - 1, 0)
        fed = after
        while not stop.is_set():
            # short statements, never one long scan: a reader that holds its snapshot while
            # it waits for a CPU would keep the venue's WAL from being checkpointed
            rows = await journal.read_rows(range(fed + 1, fed + 1 + _BATCH))
            for seq, ts, cmd, events in rows:
                if seq != fed + 1:
                    break  # not committed yet (seqs are contiguous)
                engine.feed(seq, ts, _decode_cmd(cmd), _decode_events(events))
                fed = seq
            if rows:
                store.save(engine.take(), fed)
            if watch_parent and os.getppid() != parent:
                break
            if len(rows) < _BATCH:
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(stop.wait(), poll)
        return fed
    finally:
        await journal.close()
        store.close()


async def follow_main(
    path: str, cfg: SurveillanceConfig, alerts_path: str, start_seq: int, watch_parent: bool
) -> int:
    """The follower process's body: idle priority (unless the settings say not), signals,
    follow."""
    if cfg.idle_priority:
        idle_priority()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    return await follow(
        path, cfg, alerts_path, start_seq=start_seq, stop=stop, watch_parent=watch_parent
    )
