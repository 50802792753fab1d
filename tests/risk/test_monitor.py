"""The risk monitor on a real Sequencer + Journal (temp SQLite) + Engine, driven by a
ManualClock: marks, funding at the scheduled time, liquidation triggers without double
submission, stale index, futures expiry and settlement at the 30-minute index average."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from venue.clock import ManualClock
from venue.core import (
    AddAccount,
    AddInstrument,
    ApplyFunding,
    Command,
    Deposit,
    Event,
    ExpireInstrument,
    FundingApplied,
    Instrument,
    InstrumentKind,
    InstrumentSettled,
    Liquidate,
    LiquidationStarted,
    MarginTier,
    NewOrder,
    PublishStatistics,
    SetIndexPrice,
    SetMarginMode,
    SetMarkPrice,
    SettleInstrument,
    Side,
)
from venue.journal.recovery import recover
from venue.risk.index import submit_index
from venue.risk.monitor import RiskMonitor, run_monitor
from venue.risk.settings import RiskConfig
from venue.sequencer import Sequencer

T0 = 1_767_225_600_000_000_000  # 2026-01-01T00:00:00Z, a funding time
SEC = 1_000_000_000
MS = 1_000_000
USD = 1_000_000  # money units per USD
PERP = "BTC-PERP"
FUT = "BTC-FUT"


def perp(symbol: str = PERP, *, stale_ns: int = 0) -> Instrument:
    """Tick 0.5 USD, lot 0.001 BTC: one tick on one lot is worth 0.0005 USD = 500 units.
    IM 10 %, MM 5 % (one tier)."""
    return Instrument(
        symbol=symbol,
        kind=InstrumentKind.PERPETUAL,
        tick_size="0.5",
        lot_size="0.001",
        multiplier="1",
        ref_price=120_000,
        band_ppb=200_000_000,
        max_order_qty=100_000,
        imr_ppb=100_000_000,
        mm_tiers=[MarginTier(0, 50_000_000)],
        index_stale_ns=stale_ns,
    )


def future(expiry_ts: int) -> Instrument:
    return Instrument(
        symbol=FUT,
        kind=InstrumentKind.FUTURE,
        tick_size="0.5",
        lot_size="0.001",
        multiplier="1",
        ref_price=120_000,
        band_ppb=200_000_000,
        max_order_qty=100_000,
        expiry_ts=expiry_ts,
        imr_ppb=100_000_000,
        mm_tiers=[MarginTier(0, 50_000_000)],
    )


class Harness:
    def __init__(self, seq: Sequencer, clock: ManualClock) -> None:
        self.seq = seq
        self.clock = clock
        self.engine = seq.engine
        self.committed: list[tuple[int, Command, list[Event]]] = []
        self.monitor: RiskMonitor | None = None
        seq.subscribe(lambda s, ts, cmd, evs: self.committed.append((s, cmd, evs)))

    async def flush(self) -> None:
        fut: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.seq.after_commit(lambda: fut.set_result(None))
        await asyncio.wait_for(fut, 10)

    async def submit(self, *cmds: Command) -> list[Event]:
        events: list[Event] = []
        for cmd in cmds:
            events += self.seq.submit(cmd)[1]
        await self.flush()
        return events

    def start_monitor(self, cfg: RiskConfig | None = None) -> RiskMonitor:
        self.monitor = RiskMonitor(self.engine, cfg or RiskConfig(), now_ns=self.clock.now_ns())
        self.seq.subscribe(self.monitor.on_committed)
        return self.monitor

    async def step(self, now: int) -> list[Command]:
        """Move the clock to `now`, submit what the monitor decides, wait for the commit.
        Answers the commands but `PublishStatistics` (`step_all`: all of them)."""
        return no_statistics(await self.step_all(now))

    async def step_all(self, now: int) -> list[Command]:
        assert self.monitor is not None
        self.clock.set(now)
        cmds = self.monitor.due(now)
        await self.submit(*cmds)
        return cmds

    def events(self, tp: type) -> list[Event]:
        return [e for _, _, evs in self.committed for e in evs if type(e) is tp]


@pytest.fixture
async def h(tmp_path: Path) -> AsyncIterator[Harness]:
    clock = ManualClock(T0 + SEC)
    engine, journal, _ = await recover(tmp_path / "v.db", synchronous="NORMAL", clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    yield Harness(seq, clock)
    await seq.stop()
    await journal.close()


def no_statistics(cmds: list[Command]) -> list[Command]:
    """The commands but `PublishStatistics` (tested in test_statistics_monitor)."""
    return [c for c in cmds if type(c) is not PublishStatistics]


def order(account: str, side: Side, price: int, qty: int, cl: str) -> NewOrder:
    firm = account.split("-", maxsplit=1)[0]
    return NewOrder(
        session=f"{firm}-MM",
        firm=firm,
        account=account,
        cl_ord_id=cl,
        symbol=PERP,
        side=side,
        price=price,
        qty=qty,
    )


async def long_alpha(h: Harness, instrument: Instrument, alpha_usd: int) -> None:
    """ALPHA-1 long 1 BTC (1000 lots) at 60 000 USD (120 000 ticks) from BRAVO-1."""
    await h.submit(
        AddInstrument(instrument=instrument),
        AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10),
        AddAccount(firm="BRAVO", account="BRAVO-1", max_leverage=10),
        SetIndexPrice(symbol=instrument.symbol, price=120_000, source="test"),
        Deposit(account="ALPHA-1", amount=alpha_usd * USD),
        Deposit(account="BRAVO-1", amount=1_000_000 * USD),
        order("BRAVO-1", Side.SELL, 120_000, 1_000, "S1"),
        order("ALPHA-1", Side.BUY, 120_000, 1_000, "B1"),
    )
    pos = h.engine.position_view("ALPHA-1", PERP)
    assert pos is not None and pos.size == 1_000


async def test_index_decimal_is_converted_exactly(h: Harness) -> None:
    await h.submit(AddInstrument(instrument=perp()))
    seq, _ = submit_index(h.seq, PERP, "55500.5", source="test")
    assert h.engine.index_price(PERP) == 111_001
    with pytest.raises(ValueError):
        submit_index(h.seq, PERP, "55500.25")
    with pytest.raises(ValueError):
        submit_index(h.seq, "NOPE", "1")
    assert h.seq.last_seq == seq  # the refused ones submitted nothing
    await h.flush()


async def test_mark_is_index_plus_book_premium_and_submitted_only_on_change(h: Harness) -> None:
    await h.submit(AddInstrument(instrument=perp()))
    await h.submit(
        AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10),
        Deposit(account="ALPHA-1", amount=1_000_000 * USD),
        order("ALPHA-1", Side.BUY, 120_100, 1, "B1"),  # bid 100 ticks above the index
    )
    submit_index(h.seq, PERP, "60000")
    await h.flush()
    # an impact notional of 1 USD fills inside the one resting lot: impact bid = its price
    m = h.start_monitor(RiskConfig(mark_window_samples=2, impact_notional_usd=1))
    now = h.clock.now_ns()
    # window [100] → mark = 120 000 + 100
    assert await h.step(now) == [SetMarkPrice(symbol=PERP, price=120_100)]
    assert h.engine.mark_price(PERP) == 120_100
    # same premium: the mark does not change, nothing is submitted
    assert await h.step(now + SEC) == []
    # the index moves up 40 ticks: premium 60; window [100, 60] → mean 80 → 120 040 + 80
    submit_index(h.seq, PERP, "60020")
    await h.flush()
    assert await h.step(now + 2 * SEC) == [SetMarkPrice(symbol=PERP, price=120_120)]
    # a change inside mark_min_interval_ms is held back until the interval has passed
    submit_index(h.seq, PERP, "60030")
    await h.flush()
    assert no_statistics(m.due(now + 2 * SEC + 100 * MS)) == []  # before the next sample
    cmds = await h.step(now + 3 * SEC)
    assert [type(c) for c in cmds] == [SetMarkPrice]


async def test_funding_at_the_scheduled_time_with_the_premium_rate(h: Harness) -> None:
    await long_alpha(h, perp(), alpha_usd=100_000)
    # a resting bid 120 ticks above the index: premium 120 ticks = 0.1 % of 120 000
    await h.submit(order("ALPHA-1", Side.BUY, 120_120, 1, "B2"))
    submit_index(h.seq, PERP, "60000")
    await h.flush()
    m = h.start_monitor(RiskConfig(impact_notional_usd=1))  # impact bid = the one lot's price
    assert m.next_funding_ns == T0 + 8 * 3600 * SEC
    start = h.clock.now_ns()
    cmds = await h.step(start)
    assert [c for c in cmds if type(c) is ApplyFunding] == []
    assert h.engine.mark_price(PERP) == 120_120  # 120 000 + 120 (inside the 0.5 % clamp)
    # keep the index fresh up to just before the funding time: still no funding
    submit_index(h.seq, PERP, "60000")
    await h.flush()
    assert not [c for c in await h.step(T0 + 8 * 3600 * SEC - 1) if type(c) is ApplyFunding]
    # at the funding time: P = 1 000 000 ppb (0.1 %); I − P = −0.09 % → clamp −0.05 %;
    # rate = 0.1 % − 0.05 % = 0.05 % = 500 000 ppb
    cmds = await h.step(T0 + 8 * 3600 * SEC)
    assert [c for c in cmds if type(c) is ApplyFunding] == [
        ApplyFunding(symbol=PERP, rate_ppb=500_000)
    ]
    (applied,) = h.events(FundingApplied)
    assert isinstance(applied, FundingApplied)
    assert applied.mark == 120_120
    # ALPHA-1 long 1000 lots pays 1000 × 120 120 × 500 units × 0.05 % = 30.03 USD
    paid = {p.account: p.amount for p in applied.payments}
    assert paid["ALPHA-1"] == -30_030_000
    assert paid["BRAVO-1"] == 30_030_000
    assert m.next_funding_ns == T0 + 16 * 3600 * SEC
    # not again until the next funding time
    assert not [c for c in await h.step(T0 + 8 * 3600 * SEC + SEC) if type(c) is ApplyFunding]


async def test_liquidation_submitted_once_when_the_mark_crosses(h: Harness) -> None:
    # equity 7 000 + (P − 60 000) USD against MM 5 % × P: liquidated below P = 55 789.47
    await long_alpha(h, perp(), alpha_usd=7_000)
    m = h.start_monitor(RiskConfig(liquidation_retry_ms=1_000))
    now = h.clock.now_ns()
    assert await h.step(now) == []
    submit_index(h.seq, PERP, "56000")  # equity 3 000 ≥ MM 2 800
    await h.flush()
    # no mark set yet: the core values at the index, which the monitor's mark equals
    assert await h.step(now + SEC) == []
    assert h.engine.mark_price(PERP) == 112_000
    submit_index(h.seq, PERP, "55500")  # equity 2 500 < MM 2 775
    await h.flush()
    view = h.engine.account_view("ALPHA-1")
    assert view is not None and view.equity == 2_500 * USD
    assert view.maintenance_margin == 2_775 * USD
    # the committed index is a trigger: the holders are checked on the next tick
    h.clock.set(now + 2 * SEC)
    first = no_statistics(m.due(now + 2 * SEC))
    assert first == [Liquidate(account="ALPHA-1")]
    assert m.in_flight == ["ALPHA-1"]
    # in flight (submitted, not committed): never twice
    h.seq.submit(first[0])
    assert no_statistics(m.due(now + 2 * SEC + MS)) == []
    await h.flush()
    assert m.in_flight == []
    # committed: not again before liquidation_retry_ms, then only if still below maintenance
    assert await h.step(now + 2 * SEC + 500 * MS) == []
    again = await h.step(now + 4 * SEC)
    view = h.engine.account_view("ALPHA-1")
    assert view is not None
    below = view.equity < view.maintenance_margin
    assert again == ([Liquidate(account="ALPHA-1")] if below else [])
    liquidates = [c for _, c, _ in h.committed if type(c) is Liquidate]
    assert len(liquidates) == 1 + below


def _order(account: str, symbol: str, side: Side, qty: int, cl: str) -> NewOrder:
    firm = account.split("-", maxsplit=1)[0]
    return NewOrder(
        session=f"{firm}-MM",
        firm=firm,
        account=account,
        cl_ord_id=cl,
        symbol=symbol,
        side=side,
        price=120_000,
        qty=qty,
    )


async def _accounts(h: Harness, *symbols: str) -> None:
    await h.submit(
        *[AddInstrument(instrument=perp(s)) for s in symbols],
        AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10),
        AddAccount(firm="BRAVO", account="BRAVO-1", max_leverage=10),
        *[SetIndexPrice(symbol=s, price=120_000, source="test") for s in symbols],
        Deposit(account="BRAVO-1", amount=1_000_000 * USD),
    )


async def test_an_isolated_position_past_bankruptcy_is_submitted_despite_other_money(
    h: Harness,
) -> None:
    """RoE section 14: an isolated position is liquidated on its own. ALPHA-1 holds 100 000
    USD and an isolated long of 1 BTC at 60 000 (margin = IM 10 % = 6 000 USD; bankruptcy
    at 54 000). At 53 000 the position's margin + PnL is 6 000 - 7 000 = -1 000 USD, below
    its MM 5 % x 53 000 = 2 650, while the account's total equity (93 000) is far above
    the total MM: the old trigger (total equity vs total MM) never submitted it."""
    await _accounts(h, PERP)
    await h.submit(
        Deposit(account="ALPHA-1", amount=100_000 * USD),
        SetMarginMode(account="ALPHA-1", symbol=PERP, isolated=True),
        _order("BRAVO-1", PERP, Side.SELL, 1_000, "S1"),
        _order("ALPHA-1", PERP, Side.BUY, 1_000, "B1"),
    )
    pos = h.engine.position_view("ALPHA-1", PERP)
    assert pos is not None and pos.isolated and pos.margin == 6_000 * USD
    m = h.start_monitor()
    now = h.clock.now_ns()
    submit_index(h.seq, PERP, "53000")
    await h.flush()
    view = h.engine.account_view("ALPHA-1")
    assert view is not None and view.equity == 93_000 * USD
    assert view.equity >= view.maintenance_margin  # what the old trigger compared
    assert no_statistics(m.due(now + SEC)) == [Liquidate(account="ALPHA-1")]


async def test_a_cross_part_below_maintenance_is_not_hidden_by_an_isolated_profit(
    h: Harness,
) -> None:
    """RoE section 14: the cross part is judged on its own. ALPHA-1: a cross long of 1 BTC
    at 60 000 backed by 7 000 USD, and an isolated short of 1 ETH-PERP at 60 000 (margin
    6 000). BTC at 55 500: cross equity 7 000 - 4 500 = 2 500 < MM 5 % x 55 500 = 2 775.
    ETH-PERP at 50 000: the isolated short gains 10 000, so the account's total equity
    (18 500) exceeds its total MM (5 275): the old trigger never submitted it."""
    eth = "ETH-PERP"
    await _accounts(h, PERP, eth)
    await h.submit(
        Deposit(account="ALPHA-1", amount=13_000 * USD),
        SetMarginMode(account="ALPHA-1", symbol=eth, isolated=True),
        _order("BRAVO-1", eth, Side.BUY, 1_000, "B2"),
        _order("ALPHA-1", eth, Side.SELL, 1_000, "S2"),
        _order("BRAVO-1", PERP, Side.SELL, 1_000, "S1"),
        _order("ALPHA-1", PERP, Side.BUY, 1_000, "B1"),
    )
    assert h.engine.accounts["ALPHA-1"].balance == 7_000 * USD
    m = h.start_monitor()
    now = h.clock.now_ns()
    submit_index(h.seq, PERP, "55500")
    submit_index(h.seq, eth, "50000")
    await h.flush()
    view = h.engine.account_view("ALPHA-1")
    assert view is not None and view.equity == 18_500 * USD
    assert view.maintenance_margin == 5_275 * USD
    assert no_statistics(m.due(now + SEC)) == [Liquidate(account="ALPHA-1")]
    await h.submit(Liquidate(account="ALPHA-1"))  # the core agrees: it liquidates the cross
    assert h.events(LiquidationStarted)


async def test_stale_index_pauses_marks_and_liquidations(h: Harness) -> None:
    await long_alpha(h, perp(stale_ns=30 * SEC), alpha_usd=7_000)
    submit_index(h.seq, PERP, "56000")
    await h.flush()
    m = h.start_monitor()
    t = h.clock.now_ns()
    assert await h.step(t) == []  # healthy; the mark (= index) unchanged
    # the mark drops below the liquidation price, but the index is already stale
    h.clock.set(t + 31 * SEC)
    await h.submit(SetMarkPrice(symbol=PERP, price=111_000))
    assert await h.step(t + 31 * SEC) == []
    assert m.stale_symbols() == [PERP]
    # a fresh index: the holders are checked again and the account is submitted
    submit_index(h.seq, PERP, "55500")
    await h.flush()
    assert m.stale_symbols() == []
    cmds = await h.step(t + 32 * SEC)
    assert Liquidate(account="ALPHA-1") in cmds


async def test_future_expires_and_settles_at_the_30_minute_index_average(h: Harness) -> None:
    expiry = T0 + 3600 * SEC
    await h.submit(AddInstrument(instrument=future(expiry)))
    m = h.start_monitor()
    # 120 000 from 40 min before expiry, 120 600 from 20 min before, 120 300 from 5 min before
    for minutes, px in ((40, "60000"), (20, "60300"), (5, "60150")):
        h.clock.set(expiry - minutes * 60 * SEC)
        submit_index(h.seq, FUT, px)
        await h.flush()
        await h.step(expiry - minutes * 60 * SEC)
    assert not [c for c in await h.step(expiry - 1) if type(c) is ExpireInstrument]
    cmds = await h.step(expiry)
    # (120 000 × 10 + 120 600 × 15 + 120 300 × 5) / 30 = 3 610 500 / 30 = 120 350
    assert [c for c in cmds if type(c) in (ExpireInstrument, SettleInstrument)] == [
        ExpireInstrument(symbol=FUT),
        SettleInstrument(symbol=FUT, price=120_350),
    ]
    (settled,) = h.events(InstrumentSettled)
    assert isinstance(settled, InstrumentSettled) and settled.price == 120_350
    assert no_statistics(m.due(expiry + SEC)) == []  # once only


async def test_run_monitor_submits_funding_when_the_manual_clock_reaches_it(
    h: Harness,
) -> None:
    await long_alpha(h, perp(), alpha_usd=100_000)
    submit_index(h.seq, PERP, "60000")
    await h.flush()
    m = h.start_monitor(RiskConfig(tick_ms=5, funding_interval_seconds=3600))
    funded = asyncio.Event()
    h.seq.subscribe(lambda s, ts, cmd, evs: funded.set() if type(cmd) is ApplyFunding else None)
    task = asyncio.create_task(run_monitor(m, h.seq, h.clock))
    try:
        assert not funded.is_set()
        h.clock.set(T0 + 3600 * SEC)
        submit_index(h.seq, PERP, "60000")
        await asyncio.wait_for(funded.wait(), 10)
    finally:
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
    (applied,) = h.events(FundingApplied)
    assert isinstance(applied, FundingApplied)
    assert applied.rate_ppb == 100_000  # empty book: P = 0, rate = interest 0.01 %


def test_commands_are_journal_types() -> None:
    # the monitor submits only these commands (DESIGN rule 4)
    assert {SetMarkPrice, ApplyFunding, Liquidate, ExpireInstrument, SettleInstrument}
    assert SetIndexPrice(symbol=PERP, price=1).source == ""


async def test_after_a_restart_nothing_is_submitted_twice_and_holders_are_known(
    tmp_path: Path,
) -> None:
    expiry = T0 + 3600 * SEC
    clock = ManualClock(expiry - 600 * SEC)
    db = tmp_path / "r.db"
    engine, journal, _ = await recover(db, synchronous="NORMAL", clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    first = Harness(seq, clock)
    await long_alpha(first, perp(), alpha_usd=7_000)
    await first.submit(AddInstrument(instrument=future(expiry)))
    submit_index(seq, FUT, "60000")
    await first.flush()
    first.start_monitor()
    cmds = await first.step(expiry)
    assert [type(c) for c in cmds if type(c) in (ExpireInstrument, SettleInstrument)] == [
        ExpireInstrument,
        SettleInstrument,
    ]
    await seq.stop()
    await journal.close()

    engine, journal, _ = await recover(db, synchronous="NORMAL", clock=clock)
    seq = Sequencer(engine, journal, clock)
    await seq.start()
    try:
        again = Harness(seq, clock)
        m = again.start_monitor()
        # the future is expired and settled in the recovered engine: nothing to do for it
        assert [
            c for c in m.due(expiry + SEC) if type(c) in (ExpireInstrument, SettleInstrument)
        ] == []
        # the perpetual's holders were seeded from the recovered positions: a new index that
        # puts ALPHA-1 below maintenance is acted on without any fill after the restart
        clock.set(expiry + 2 * SEC)
        submit_index(seq, PERP, "55500")
        await again.flush()
        assert Liquidate(account="ALPHA-1") in m.due(expiry + 2 * SEC)
    finally:
        await seq.stop()
        await journal.close()
