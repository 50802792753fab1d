"""`venue-admin instrument show SYMBOL` against an in-process venue: mark, index, premium,
funding rate and time, predicted rate, next funding time, open interest and state, for people
at the instrument's tick precision and with `--json` as exact decimal strings."""

from __future__ import annotations

import asyncio
import contextlib

import pytest

from tests.admin.conftest import AdminVenue
from venue.admin.cli import EXIT_NOT_FOUND, EXIT_OK
from venue.core import (
    AddAccount,
    ApplyFunding,
    Deposit,
    NewOrder,
    PublishStatistics,
    SetIndexPrice,
    SetMarkPrice,
    Side,
)

NEXT = 1_767_254_400_000_000_000  # 2026-01-01T08:00:00Z


@pytest.fixture
async def av(admin_venue: AdminVenue) -> AdminVenue:
    """The venue with its risk monitor stopped after its first statistics (its outlook for
    every perpetual), so that only this test sets the figures from then on."""
    venue = admin_venue.venue
    seq = venue.sequencer
    assert seq is not None
    perpetuals = [m for m in seq.engine.markets.values() if str(m.instrument.kind) == "perpetual"]

    def published() -> bool:
        return all(m.next_funding_ts for m in perpetuals)

    if not published():
        done = asyncio.Event()
        seq.subscribe(lambda *_: done.set() if published() else None)
        await asyncio.wait_for(done.wait(), 30)
    for task in list(venue._tasks):
        if task.get_name() == "risk-monitor":
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
    for firm, account in (("ALPHA", "ALPHA-1"), ("BRAVO", "BRAVO-1")):
        seq.submit(AddAccount(firm=firm, account=account, max_leverage=10))
        seq.submit(Deposit(account=account, amount=10**12))
    return admin_venue


def order(account: str, side: Side, qty: int, cl: str) -> NewOrder:
    firm = account.split("-", maxsplit=1)[0]
    return NewOrder(
        session=f"{firm}-MM",
        firm=firm,
        account=account,
        cl_ord_id=cl,
        symbol="BTC-PERP",
        side=side,
        price=120_000,
        qty=qty,
    )


async def test_figures_before_anything_is_published(av: AdminVenue) -> None:
    r = await av.cli("--json", "instrument", "show", "ETH-PERP")
    assert r.code == EXIT_OK, r.stderr
    f = r.json()
    # no index, no mark, no funding yet: the mark is the reference price
    assert (f["state"], f["mark_price"], f["mark_source"]) == ("open", "3000", "reference")
    assert f["index_price"] is None and f["premium"] is None
    assert f["funding_rate"] is None and f["funding_time_ns"] is None
    # the risk monitor published its outlook at start: no premium samples (no index), so the
    # predicted rate is the interest rate (RoE 14), due at the next multiple of 8 hours
    assert f["predicted_funding_rate"] == "0.0001"
    interval = 8 * 3600 * 10**9
    assert f["next_funding_time_ns"] % interval == 0
    assert 0 < f["next_funding_time_ns"] - av.venue.clock.now_ns() <= interval
    assert f["open_interest"] == "0"
    r = await av.cli("instrument", "show", "NOPE")
    assert r.code == EXIT_NOT_FOUND


async def test_mark_index_premium_funding_and_open_interest(av: AdminVenue) -> None:
    seq = av.venue.sequencer
    assert seq is not None
    seq.submit(order("BRAVO-1", Side.SELL, 1_500, "s1"))
    seq.submit(order("ALPHA-1", Side.BUY, 1_500, "b1"))  # 1.5 BTC open interest
    seq.submit(SetIndexPrice(symbol="BTC-PERP", price=120_001))  # 60 000.5
    seq.submit(SetMarkPrice(symbol="BTC-PERP", price=120_020))  # 60 010.0
    seq.submit(ApplyFunding(symbol="BTC-PERP", rate_ppb=125_000))  # 0.0125 %
    seq.submit(
        PublishStatistics(symbol="BTC-PERP", predicted_rate_ppb=-50_000, next_funding_ts=NEXT)
    )
    r = await av.cli("--json", "instrument", "show", "BTC-PERP")
    assert r.code == EXIT_OK, r.stderr
    f = r.json()
    assert (f["mark_price"], f["mark_source"], f["index_price"]) == ("60010", "mark", "60000.5")
    assert f["premium"] == "9.5"  # 60 010.0 - 60 000.5
    assert (f["funding_rate"], f["predicted_funding_rate"]) == ("0.000125", "-0.00005")
    assert f["next_funding_time_ns"] == NEXT and f["funding_time_ns"] > 0
    assert (f["open_interest"], f["units"]["open_interest_lots"]) == ("1.5", 1_500)
    assert f["state"] == "open"
    # for people: prices at the tick's precision (0.5), rates in percent, times in UTC
    r = await av.cli("instrument", "show", "BTC-PERP")
    assert r.code == EXIT_OK, r.stderr
    for text in (
        "60010.0 (mark)",
        "60000.5",
        "9.5",
        "0.0125 %",
        "-0.005 %",
        "2026-01-01T08:00:00.000Z",
        "1.5 (1500 lots)",
    ):
        assert text in r.stdout, (text, r.stdout)
