"""The risk monitor publishes each instrument's statistics (`PublishStatistics`) on a real
sequencer and journal: once at start, then only when a figure changed, at most once per
`statistics_interval_ms`; the predicted rate is the funding rule applied to the samples so far,
and after a funding the published rate is the one applied."""

from __future__ import annotations

from tests.risk.test_monitor import PERP, SEC, T0, Harness, h, long_alpha, order, perp
from venue.core import (
    ApplyFunding,
    PublishStatistics,
    Side,
    StatisticsPublished,
)
from venue.risk.index import submit_index
from venue.risk.settings import RiskConfig

__all__ = ["h"]  # the fixture, imported from test_monitor

FUNDING = T0 + 8 * 3600 * SEC


def published(cmds: list[object]) -> list[PublishStatistics]:
    return [c for c in cmds if isinstance(c, PublishStatistics)]


async def test_published_at_start_then_on_change_only(h: Harness) -> None:
    await long_alpha(h, perp(), alpha_usd=100_000)  # ALPHA-1 long 1 BTC, BRAVO-1 short
    m = h.start_monitor(RiskConfig(statistics_interval_ms=1_000))
    now = h.clock.now_ns()
    # no premium (an empty book): the predicted rate is the interest rate, 0.01 %
    assert published(await h.step_all(now)) == [
        PublishStatistics(symbol=PERP, predicted_rate_ppb=100_000, next_funding_ts=FUNDING)
    ]
    (ev,) = h.events(StatisticsPublished)
    assert isinstance(ev, StatisticsPublished)
    assert (ev.index, ev.mark, ev.open_interest) == (120_000, 120_000, 1_000)
    assert (ev.funding_rate_ppb, ev.funding_ts) == (0, 0)
    # nothing changed: nothing published
    assert published(await h.step_all(now + SEC)) == []
    # a fill moves open interest: published, but not before the interval has passed
    await h.submit(
        order("BRAVO-1", Side.SELL, 120_000, 500, "S9"),
        order("ALPHA-1", Side.BUY, 120_000, 500, "B9"),
    )
    assert published(m.due(now + SEC + 500 * 1_000_000)) == []
    assert len(published(await h.step_all(now + 2 * SEC))) == 1
    assert h.events(StatisticsPublished)[-1].open_interest == 1_500  # type: ignore[union-attr]


async def test_predicted_rate_follows_the_samples_and_funding_is_reported(h: Harness) -> None:
    await long_alpha(h, perp(), alpha_usd=100_000)
    # a resting bid 120 ticks above the index: premium 0.1 %, predicted 0.05 % (RoE 14)
    await h.submit(order("ALPHA-1", Side.BUY, 120_120, 1, "B2"))
    submit_index(h.seq, PERP, "60000")
    await h.flush()
    m = h.start_monitor(RiskConfig(impact_notional_usd=1))
    cmds = published(await h.step_all(h.clock.now_ns()))
    assert [c.predicted_rate_ppb for c in cmds] == [500_000]
    assert m.predicted_rate_ppb(PERP) == 500_000
    submit_index(h.seq, PERP, "60000")
    await h.flush()
    cmds = await h.step_all(FUNDING)
    assert ApplyFunding(symbol=PERP, rate_ppb=500_000) in cmds
    # the next step publishes the funding applied and the next funding time
    await h.step_all(FUNDING + SEC)
    last = h.events(StatisticsPublished)[-1]
    assert isinstance(last, StatisticsPublished)
    assert (last.funding_rate_ppb, last.funding_ts) == (500_000, FUNDING)
    assert last.next_funding_ts == FUNDING + 8 * 3600 * SEC
    assert h.engine.markets[PERP].next_funding_ts == FUNDING + 8 * 3600 * SEC
