"""Statistics over FIX market data: index `3`, mark `x`, funding rate `y`, predicted funding rate
`z` (with the next funding time) and open interest `C`, in W and X, validating against
fix_specs/FIX44.xml with the venue's own validator; and on real TCP: a subscriber gets them in
its W and again in an X when the venue publishes new statistics."""

from __future__ import annotations

from collections.abc import Callable

from tests.fixmd.conftest import MdClient, VenueFactory, check_valid
from tests.fixmd.test_fixmd import logged_on, order
from tests.fixmd.test_mapping_md import SPEC, SYMBOLS, D, message, request
from venue.core import ApplyFunding, PublishStatistics, SetIndexPrice, SetMarkPrice, Side
from venue.fix.mapping_md import (
    STATISTICS_TYPES,
    MarketDataQuery,
    decode_market_data_request,
    incremental_refresh,
    snapshot_full_refresh,
    statistics_entries,
)
from venue.fix.validate import group_instances, validate
from venue.marketdata.messages import StatisticsMsg

Clients = Callable[[int, str], MdClient]
T_FUNDED = 1_795_241_000_000_000_000  # 2026-11-21T06:03:20Z
T_NEXT = 1_795_248_000_000_000_000  # 2026-11-21T08:00:00Z
STATS = StatisticsMsg(1, 5, 1_002, 1_001, 100_000, T_FUNDED, -125_000, T_NEXT, 1_500)


def test_requests_for_statistics_are_served() -> None:
    m = request(types=(b"x", b"3", b"C", b"y", b"z"))
    assert validate(m, D) is None
    q = decode_market_data_request(m, SYMBOLS)
    assert isinstance(q, MarketDataQuery)
    assert q.statistics == STATISTICS_TYPES[:5]  # in the venue's order: 3, x, y, z, C
    assert not (q.bids or q.offers or q.trades)


def test_statistics_entries_in_w_and_x_validate() -> None:
    w = message(
        b"W",
        snapshot_full_refresh(
            b"r1", SPEC, statistics_entries(False, SPEC, STATS, STATISTICS_TYPES)
        ),
    )
    assert validate(w, D) is None
    entries = group_instances(w, 268, D)
    assert [e[269] for e in entries] == [b"3", b"x", b"y", b"z", b"C"]
    index, mark, rate, predicted, oi = entries
    assert (index[270], mark[270]) == (b"500.5", b"501")  # tick 0.5
    assert (rate[270], rate[272], rate[273]) == (b"0.0001", b"20261121", b"06:03:20.000")
    assert (predicted[270], predicted[272], predicted[273]) == (
        b"-0.000125",
        b"20261121",
        b"08:00:00.000",
    )
    assert oi == {269: b"C", 271: b"1.5"}  # lot 0.001
    x = message(
        b"X", incremental_refresh(b"r1", statistics_entries(True, SPEC, STATS, (b"x", b"C")))
    )
    assert validate(x, D) is None
    assert [(e[279], e[269], e[55]) for e in group_instances(x, 268, D)] == [
        (b"0", b"x", b"BTC-PERP"),
        (b"0", b"C", b"BTC-PERP"),
    ]


def test_entries_without_a_value_are_left_out() -> None:
    # a dated future (no funding) before its first index: mark and open interest only
    future = StatisticsMsg(1, 5, 1_000, 0, 0, 0, 0, 0, 0)
    got = statistics_entries(False, SPEC, future, STATISTICS_TYPES)
    assert [dict(e)[269] for e in got] == [b"x", b"C"]
    # a perpetual before its first funding: no funding rate entry, a predicted one
    fresh = StatisticsMsg(1, 5, 1_000, 1_000, 0, 0, 100_000, T_NEXT, 0)
    got = statistics_entries(False, SPEC, fresh, STATISTICS_TYPES)
    assert [dict(e)[269] for e in got] == [b"3", b"x", b"z", b"C"]


async def test_subscriber_gets_statistics_in_w_then_x(
    md_venue: VenueFactory, clients: Clients
) -> None:
    venue = await md_venue()
    venue.submit(order(1, Side.SELL, 1_000, 3, firm="BRAVO"))
    venue.submit(order(2, Side.BUY, 1_000, 3))  # open interest 3 lots
    venue.submit(SetIndexPrice(symbol="BTC-PERP", price=1_001))
    venue.submit(SetMarkPrice(symbol="BTC-PERP", price=1_002))
    venue.submit(ApplyFunding(symbol="BTC-PERP", rate_ppb=100_000))
    venue.submit(
        PublishStatistics(symbol="BTC-PERP", predicted_rate_ppb=-7, next_funding_ts=T_NEXT)
    )
    await venue.committed()
    c = await logged_on(clients, venue, "MD1")
    await c.request("s1", ["BTC-PERP"], types=(b"3", b"x", b"y", b"z", b"C"))
    w = await c.receive(b"W")
    check_valid(w)
    got = {e[269]: e for e in group_instances(w, 268, D)}
    assert (got[b"3"][270], got[b"x"][270], got[b"C"][271]) == (b"500.5", b"501", b"0.003")
    assert got[b"y"][270] == b"0.0001"
    assert (got[b"z"][270], got[b"z"][272], got[b"z"][273]) == (
        b"-0.000000007",
        b"20261121",
        b"08:00:00.000",
    )
    # new statistics: one X with the asked-for entries, each replacing its type's value
    venue.submit(order(3, Side.SELL, 1_000, 2, firm="BRAVO"))
    venue.submit(order(4, Side.BUY, 1_000, 2))
    venue.submit(PublishStatistics(symbol="BTC-PERP", predicted_rate_ppb=9, next_funding_ts=T_NEXT))
    await venue.committed()
    x = await c.receive(b"X")
    check_valid(x)
    entries = group_instances(x, 268, D)
    assert [(e[279], e[269]) for e in entries] == [
        (b"0", b"3"),
        (b"0", b"x"),
        (b"0", b"y"),
        (b"0", b"z"),
        (b"0", b"C"),
    ]
    assert entries[-1][271] == b"0.005"
    assert entries[3][270] == b"0.000000009"
