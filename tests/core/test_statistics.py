"""`PublishStatistics` → `StatisticsPublished`: an instrument's mark, index, last funding
applied, the risk monitor's funding outlook and open interest; the figures survive a snapshot,
and a state without them still snapshots as version 2, byte for byte."""

from __future__ import annotations

import msgspec

from tests.core.deriv_helpers import SYM, USD, Venue, x_instrument
from venue.core import (
    ApplyFunding,
    CommandRejected,
    Engine,
    InstrumentKind,
    PublishStatistics,
    RejectReason,
    SetIndexPrice,
    StatisticsPublished,
)
from venue.core.snapshot import StateRecord

FUT = "X-FUT"


def _venue() -> Venue:
    v = Venue(x_instrument(), x_instrument(FUT, kind=InstrumentKind.FUTURE, expiry_ts=10**19))
    v.account("A", 100_000)
    v.account("B", 100_000)
    v.account("C", 100_000)
    v.trade("A", "B", 1_000, 3)  # A long 3, B short 3
    v.trade("C", "B", 1_000, 2)  # C long 2, B short 5
    v.trade("B", "A", 1_000, 1)  # A long 2, B short 4
    return v


def test_the_event_carries_every_figure() -> None:
    v = _venue()
    (ev,) = v.apply(PublishStatistics(symbol=SYM))
    # no mark nor index yet: the mark is the reference price; long 2 + 2 = short 4
    assert ev == StatisticsPublished(
        ts=v.ts,
        symbol=SYM,
        mark=1_000,
        index=0,
        funding_rate_ppb=0,
        funding_ts=0,
        predicted_rate_ppb=0,
        next_funding_ts=0,
        open_interest=4,
    )
    v.apply(SetIndexPrice(symbol=SYM, price=990))
    v.mark(995)
    v.apply(ApplyFunding(symbol=SYM, rate_ppb=100_000))
    funded_at = v.ts
    (ev,) = v.apply(PublishStatistics(symbol=SYM, predicted_rate_ppb=-250_000, next_funding_ts=77))
    assert isinstance(ev, StatisticsPublished)
    assert (ev.mark, ev.index, ev.open_interest) == (995, 990, 4)
    assert (ev.funding_rate_ppb, ev.funding_ts) == (100_000, funded_at)
    assert (ev.predicted_rate_ppb, ev.next_funding_ts) == (-250_000, 77)
    mkt = v.engine.markets[SYM]
    assert (mkt.predicted_rate_ppb, mkt.next_funding_ts) == (-250_000, 77)
    v.check()


def test_refusals_change_nothing() -> None:
    v = _venue()
    before = v.engine.state_hash()
    for cmd, reason in (
        (PublishStatistics(symbol="NOPE"), RejectReason.UNKNOWN_INSTRUMENT),
        (PublishStatistics(symbol=FUT, predicted_rate_ppb=1), RejectReason.NOT_A_PERPETUAL),
        (PublishStatistics(symbol=FUT, next_funding_ts=5), RejectReason.NOT_A_PERPETUAL),
        (PublishStatistics(symbol=SYM, predicted_rate_ppb=10**9 + 1), RejectReason.INVALID_AMOUNT),
        (PublishStatistics(symbol=SYM, next_funding_ts=-1), RejectReason.INVALID_AMOUNT),
    ):
        (ev,) = v.apply(cmd)
        assert isinstance(ev, CommandRejected) and ev.reason == reason, cmd
    assert v.engine.state_hash() == before
    # a future has statistics too (mark, index, open interest), without a funding outlook
    (ev,) = v.apply(PublishStatistics(symbol=FUT))
    assert isinstance(ev, StatisticsPublished) and ev.open_interest == 0


def test_snapshot_keeps_the_figures_and_the_old_layout_without_them() -> None:
    v = _venue()
    plain = v.engine.snapshot()
    assert msgspec.msgpack.decode(plain, type=StateRecord).version == 2
    assert len(msgspec.msgpack.decode(plain)) == 9  # exactly the version 2 fields
    assert Engine.restore(plain).state_hash() == v.engine.state_hash()
    v.apply(SetIndexPrice(symbol=SYM, price=1_000))
    v.apply(ApplyFunding(symbol=SYM, rate_ppb=-30_000))
    v.apply(PublishStatistics(symbol=SYM, predicted_rate_ppb=42, next_funding_ts=9))
    data = v.engine.snapshot()
    assert msgspec.msgpack.decode(data, type=StateRecord).version == 3
    restored = Engine.restore(data)
    assert restored.state_hash() == v.engine.state_hash()
    mkt = restored.markets[SYM]
    assert (mkt.funding_rate_ppb, mkt.predicted_rate_ppb, mkt.next_funding_ts) == (-30_000, 42, 9)
    assert mkt.funding_ts > 0
    assert restored.accounts["A"].balance != 100_000 * USD  # funding was paid
