"""Order expiry scheduling: pure decisions, then a real sequencer, journal and restart."""

from __future__ import annotations

import asyncio
from pathlib import Path

import msgspec

from venue.clock import ManualClock
from venue.config import account_commands, instrument_from_config, load_config
from venue.core import (
    AddInstrument,
    CancelReason,
    Engine,
    ExpireOrders,
    NewOrder,
    OrderAccepted,
    OrderCanceled,
    Side,
    TimeInForce,
)
from venue.journal.recovery import recover
from venue.risk.expiry import DAY_NS, OrderExpiry, run_expiry
from venue.sequencer import Sequencer

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z
SEC = 1_000_000_000


def _engine_with_instrument() -> tuple[Engine, str, int]:
    inst = instrument_from_config(load_config(None).instruments[0])
    engine = Engine()
    engine.apply(AddInstrument(ts=T0, instrument=inst))
    for cmd in account_commands(load_config(None)):  # the core requires known accounts
        engine.apply(msgspec.structs.replace(cmd, ts=T0))
    return engine, inst.symbol, inst.ref_price


def _order(
    symbol: str, price: int, cl: str, tif: TimeInForce, *, expire_ts: int = 0, ts: int = T0
) -> NewOrder:
    return NewOrder(
        ts=ts,
        session="ALPHA-MM",
        firm="ALPHA",
        account="ALPHA-1",
        cl_ord_id=cl,
        symbol=symbol,
        side=Side.BUY,
        price=price,
        qty=1,
        tif=tif,
        expire_ts=expire_ts,
    )


def test_gtd_is_due_exactly_at_its_expire_time_and_only_once() -> None:
    engine, sym, px = _engine_with_instrument()
    sched = OrderExpiry(engine, last_ts=T0, now_ns=T0)
    cmd = _order(sym, px, "G1", TimeInForce.GTD, expire_ts=T0 + 10 * SEC)
    sched.on_committed(2, T0, cmd, engine.apply(cmd))
    assert sched.due(T0 + 10 * SEC - 1) is None
    assert sched.due(T0 + 10 * SEC) == ExpireOrders(include_day=False)
    assert sched.due(T0 + 11 * SEC) is None
    assert sched.pending == 0


def test_day_orders_expire_at_the_utc_day_boundary_only_when_there_are_some() -> None:
    engine, sym, px = _engine_with_instrument()
    now = T0 + 3600 * SEC
    sched = OrderExpiry(engine, last_ts=now, now_ns=now)
    assert sched.due(T0 + DAY_NS) is None  # no Day order: nothing to journal
    cmd = _order(sym, px, "D1", TimeInForce.DAY, ts=T0 + DAY_NS + SEC)
    sched.on_committed(2, cmd.ts, cmd, engine.apply(cmd))
    assert sched.due(T0 + 2 * DAY_NS - 1) is None
    assert sched.due(T0 + 2 * DAY_NS) == ExpireOrders(include_day=True)
    assert sched.due(T0 + 2 * DAY_NS + SEC) is None


def test_start_up_seeds_gtd_from_the_book_and_expires_stale_day_orders() -> None:
    engine, sym, px = _engine_with_instrument()
    engine.apply(_order(sym, px, "G1", TimeInForce.GTD, expire_ts=T0 + 5 * SEC))
    engine.apply(_order(sym, px - 1, "D1", TimeInForce.DAY))
    # The journal's last command was yesterday; the venue starts today.
    sched = OrderExpiry(engine, last_ts=T0 + SEC, now_ns=T0 + DAY_NS + SEC)
    assert sched.pending == 1
    assert sched.due(T0 + DAY_NS + SEC) == ExpireOrders(include_day=True)


async def test_expiry_runs_through_the_sequencer_and_survives_a_restart(tmp_path: Path) -> None:
    db = tmp_path / "venue.db"
    clock = ManualClock(T0)
    engine, journal, _ = await recover(db, clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    inst = instrument_from_config(load_config(None).instruments[0])
    seq.submit(AddInstrument(instrument=inst))
    for cmd in account_commands(load_config(None)):
        seq.submit(cmd)
    _, events = seq.submit(
        _order(inst.symbol, inst.ref_price, "G1", TimeInForce.GTD, expire_ts=T0 + 60 * SEC)
    )
    assert isinstance(events[0], OrderAccepted)
    await seq.stop()
    await journal.close()

    clock.advance(61 * SEC)
    engine, journal, _ = await recover(db, clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    sched = OrderExpiry(engine, last_ts=journal.last_ts, now_ns=clock.now_ns())
    expired: asyncio.Future[list[object]] = asyncio.get_running_loop().create_future()

    def watch(_seq: int, _ts: int, cmd: object, evs: list[object]) -> None:
        if isinstance(cmd, ExpireOrders) and not expired.done():
            expired.set_result(evs)

    seq.subscribe(watch)
    task = asyncio.create_task(run_expiry(sched, seq, clock, interval_s=0.01))
    try:
        evs = await asyncio.wait_for(expired, timeout=10)
    finally:
        task.cancel()
    assert len(evs) == 1
    ev = evs[0]
    assert isinstance(ev, OrderCanceled)
    assert ev.reason == CancelReason.EXPIRED
    assert ev.cl_ord_id == "G1"
    assert not seq.engine.orders
    await seq.stop()
    await journal.close()
