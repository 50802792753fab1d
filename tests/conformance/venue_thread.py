"""A real venue (Journal + Sequencer + Gateway on uvloop) running in a background thread.

Synchronous tests (the conformance scripts use blocking sockets) start it once and talk to
`port` over 127.0.0.1.
"""

from __future__ import annotations

import asyncio
import threading
from pathlib import Path
from typing import Any

import uvloop

from venue.clock import LiveClock
from venue.config import GatewayConfig, SessionConfig
from venue.fix.dictionary import load_dictionary
from venue.gateway import Gateway
from venue.journal.recovery import recover
from venue.sequencer import Sequencer


class VenueThread:
    def __init__(self, db: Path, gateway: GatewayConfig, sessions: list[SessionConfig]) -> None:
        self.db = db
        self.gateway_config = gateway
        self.sessions = sessions
        self.port = 0
        self.gateway: Gateway | None = None
        self._ready = threading.Event()
        self._error: BaseException | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stop: asyncio.Event | None = None
        self._thread = threading.Thread(target=self._run, name="venue", daemon=True)

    def start(self) -> VenueThread:
        self._thread.start()
        if not self._ready.wait(30):
            raise RuntimeError("venue did not start within 30 s")
        if self._error is not None:
            raise RuntimeError(f"venue failed to start: {self._error!r}")
        return self

    def stop(self) -> None:
        if self._loop is not None and self._stop is not None:
            self._loop.call_soon_threadsafe(self._stop.set)
        self._thread.join(30)

    def call(self, fn: Any) -> Any:
        """Run `fn()` on the venue's loop and return its result (for status checks)."""
        assert self._loop is not None
        fut = asyncio.run_coroutine_threadsafe(_call(fn), self._loop)
        return fut.result(10)

    def _run(self) -> None:
        try:
            uvloop.run(self._main())
        except BaseException as exc:
            self._error = exc
            self._ready.set()

    async def _main(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        clock = LiveClock()
        engine, journal, _ = await recover(self.db, synchronous="NORMAL", clock=clock)
        sequencer = Sequencer(engine, journal, clock)
        await sequencer.start()
        gateway = Gateway(
            config=self.gateway_config,
            sessions=self.sessions,
            sequencer=sequencer,
            journal=journal,
            clock=clock,
            dictionary=load_dictionary(),
            log_messages=True,  # shown by pytest for a failing script
            log_heartbeats=True,
        )
        await gateway.start()
        self.gateway = gateway
        self.port = gateway.port
        self._ready.set()
        try:
            await self._stop.wait()
        finally:
            await gateway.stop()
            await sequencer.stop()
            await journal.close()


async def _call(fn: Any) -> Any:
    return fn()
