"""Busy polling: the loop keeps polling for the configured window after input, then blocks;
over real sockets a venue with it on answers as one without. (Its config bounds: test_config.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import pytest

from tests.gateway.conftest import FixClient, VenueFactory, wait_until
from venue.gateway.busypoll import BusyPoll


class FakeClock:
    def __init__(self) -> None:
        self.now = 0

    def monotonic_ns(self) -> int:
        return self.now


async def _passes(loop_turns: int) -> None:
    for _ in range(loop_turns):
        await asyncio.sleep(0)


async def test_spins_for_the_window_after_the_last_touch_then_stops() -> None:
    clock = FakeClock()
    poll = BusyPoll(asyncio.get_running_loop(), clock.monotonic_ns, window_ns=1000)
    assert not poll.spinning
    poll.touch()
    poll.touch()  # one spin callback, not two
    assert poll.spinning
    await _passes(5)
    assert poll.spinning
    assert 4 <= poll.passes <= 5  # one pass per loop iteration
    clock.now = 900
    poll.touch()  # input again: the window restarts from here
    await _passes(2)
    clock.now = 1500  # past the first window, inside the second
    await _passes(2)
    assert poll.spinning
    clock.now = 1900
    await _passes(2)
    assert not poll.spinning  # idle for the window: the loop may block again
    passes = poll.passes
    await _passes(3)
    assert poll.passes == passes
    poll.touch()
    assert poll.spinning


async def test_no_spinning_while_told_to_hold_off() -> None:
    clock = FakeClock()
    hold = [False]
    poll = BusyPoll(asyncio.get_running_loop(), clock.monotonic_ns, 1000, lambda: hold[0])
    poll.touch()
    await _passes(2)
    assert poll.spinning
    hold[0] = True  # e.g. a commit waits for the database thread
    await _passes(2)
    assert not poll.spinning
    passes = poll.passes
    await _passes(2)
    assert poll.passes == passes
    hold[0] = False
    poll.touch()
    await _passes(2)
    assert poll.spinning and poll.passes > passes


async def test_a_window_must_be_positive() -> None:
    with pytest.raises(ValueError, match="positive"):
        BusyPoll(asyncio.get_running_loop(), FakeClock().monotonic_ns, window_ns=0)


async def test_a_venue_with_busy_polling_answers_orders(
    start_venue: VenueFactory, clients: Callable[..., FixClient]
) -> None:
    venue = await start_venue(busy_poll_us=20_000)
    poll = venue.gateway.busy_poll
    assert poll is not None and poll.window_ns == 20_000_000
    c = await clients(venue.port).connect()
    await c.logon()
    await c.order(b"BP1")
    er = await c.receive(b"8")
    assert er.get(11) == b"BP1"
    assert poll.passes > 0  # the input made the loop spin
    await wait_until(lambda: not poll.spinning)  # and it stops once input stops
