"""A ResendRequest never replays market data (RoE sections 3 and 13): the stored
MarketDataSnapshotFullRefresh (W) and MarketDataIncrementalRefresh (X) messages are answered
with SequenceReset-GapFill, so a recovering client never sees old prices as if they were new;
other application messages (a MarketDataRequestReject here) are still re-sent with PossDupFlag.
Over real TCP with the real journal and outbound store."""

from __future__ import annotations

from collections.abc import Callable

from tests.fixmd.conftest import MdClient, VenueFactory, check_valid
from tests.fixmd.test_fixmd import logged_on, order
from venue.core import Side

Clients = Callable[[int, str], MdClient]


async def test_resend_gap_fills_market_data_and_replays_the_rest(
    md_venue: VenueFactory, clients: Clients
) -> None:
    venue = await md_venue()
    venue.submit(order(1, Side.BUY, 990, 3))
    await venue.committed()
    c = await logged_on(clients, venue, "MD1")  # Logon reply: 1
    await c.request("s1", ["BTC-PERP"])
    c.apply(await c.receive(b"W"))  # 2
    venue.submit(order(2, Side.BUY, 985, 1))
    c.apply(await c.receive(b"X"))  # 3
    await c.request("s1", ["BTC-PERP"])  # the same MDReqID again: refused
    reject = await c.receive(b"Y")  # 4
    assert reject.get(34) == b"4"
    venue.submit(order(3, Side.BUY, 980, 1))
    c.apply(await c.receive(b"X"))  # 5

    await c.send(b"2", [(7, b"1"), (16, b"0")])
    got = []
    while len(got) < 3:
        m = await c.read()
        if m.msg_type == b"0" and m.get(43) != b"Y":
            continue  # a live heartbeat
        check_valid(m)
        got.append((m.msg_type, m.get(34), m.get(36), m.get(43)))
    assert got == [
        (b"4", b"1", b"4", b"Y"),  # Logon (admin), W and X: one gap fill to 4
        (b"Y", b"4", None, b"Y"),  # the reject is re-sent
        (b"4", b"5", b"6", b"Y"),  # the last X: gap-filled
    ]
