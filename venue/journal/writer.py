"""The journal's writer thread and its background checkpointer.

DESIGN section 1 runs SQLite I/O on aiosqlite's worker thread. The writing connection is the
exception, allowed there because it measured better (tools/bench/journal.py, batch commit): a
dedicated thread with a plain `sqlite3` connection, fed by a `queue.SimpleQueue`, whose results
come back to the event loop with `call_soon_threadsafe`. It keeps the Python on the commit path
to one queue get, the call and one hand-back per batch. The reading connection stays aiosqlite.

Invariants:
- Every call runs on the writer thread, one at a time, in submission order; never on the event
  loop thread (commits never block the loop).
- Each call's result or exception goes to the future of the loop that submitted it; a future
  cancelled meanwhile, or a loop already closed, simply drops it (the call itself still ran,
  as with aiosqlite).
- `stop()` lets the calls already queued finish, then ends the thread.
- Checkpoints of the write-ahead log run on their own thread and connection (`Checkpointer`),
  at most once per `interval_s` and only after a commit asked for one, so the commit path
  never waits for a checkpoint's page copies and fsync; the writer keeps a large
  `wal_autocheckpoint` as the bound should the checkpointer fall behind. A checkpoint that
  fails (busy, I/O) is retried at the next poke: committed data never depends on it.
"""

from __future__ import annotations

import asyncio
import contextlib
import queue
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

T = TypeVar("T")

_Item = tuple[Callable[..., Any], tuple[Any, ...], "asyncio.Future[Any]", asyncio.AbstractEventLoop]


def _deliver(fut: asyncio.Future[Any], result: Any, exc: BaseException | None) -> None:
    if fut.cancelled():
        return
    if exc is None:
        fut.set_result(result)
    else:
        fut.set_exception(exc)


class WriterThread:
    """Runs functions on one thread in submission order; `await run(fn, *args)`."""

    __slots__ = ("_queue", "_thread")

    def __init__(self, name: str) -> None:
        self._queue: queue.SimpleQueue[_Item | None] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._main, name=name, daemon=True)
        self._thread.start()

    def run(self, fn: Callable[..., T], *args: Any) -> asyncio.Future[T]:
        """Queue `fn(*args)` for the writer thread; the future holds its result."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[T] = loop.create_future()
        self._queue.put((fn, args, fut, loop))
        return fut

    def stop(self) -> None:
        """End the thread after the calls already queued (does not wait for it)."""
        self._queue.put(None)

    def _main(self) -> None:
        get = self._queue.get
        while True:
            item = get()
            if item is None:
                return
            fn, args, fut, loop = item
            try:
                result, exc = fn(*args), None
            except BaseException as error:  # handed to the awaiting coroutine
                result, exc = None, error
            try:  # noqa: SIM105 - cheaper than contextlib.suppress, once per commit
                loop.call_soon_threadsafe(_deliver, fut, result, exc)
            except RuntimeError:  # the loop closed while the call ran: nobody waits for it
                pass
            del item, fn, args, fut, loop, result, exc


class Checkpointer:
    """Passive WAL checkpoints on a thread of their own (see the module docstring)."""

    __slots__ = ("_closing", "_interval_s", "_path", "_thread", "_wanted", "checkpoints")

    def __init__(self, path: Path, *, interval_s: float) -> None:
        self._path = path
        self._interval_s = interval_s
        self._wanted = threading.Event()
        self._closing = False
        self.checkpoints = 0  # checkpoints run (for tests and tools/bench)
        self._thread = threading.Thread(target=self._main, name="journal-checkpoint", daemon=True)
        self._thread.start()

    def poke(self) -> None:
        """A commit happened: checkpoint soon (cheap; called on the writer thread)."""
        self._wanted.set()

    def stop(self) -> None:
        """End the thread (does not wait for it); closing the writer checkpoints anyway."""
        self._closing = True
        self._wanted.set()

    def join(self) -> None:
        """Wait for the thread to end (after `stop`); runs on the writer thread at close."""
        self._thread.join()

    def _main(self) -> None:
        conn: sqlite3.Connection | None = None
        uri = self._path.resolve().as_uri() + "?mode=rw"  # never creates a file
        try:
            while True:
                self._wanted.wait()
                if self._closing:
                    return
                self._wanted.clear()
                try:
                    if conn is None:
                        conn = sqlite3.connect(
                            uri, uri=True, isolation_level=None, check_same_thread=False
                        )
                    conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
                    self.checkpoints += 1
                except sqlite3.Error:
                    pass  # retried at the next poke; the writer's autocheckpoint is the bound
                time.sleep(self._interval_s)
        finally:
            if conn is not None:
                with contextlib.suppress(sqlite3.Error):
                    conn.close()
