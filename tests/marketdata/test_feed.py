"""End to end over 127.0.0.1: a real Sequencer + Journal, the publisher and the feed handler."""

from __future__ import annotations

import asyncio
import random
import socket
from pathlib import Path

import pytest

from tests.marketdata.harness import (
    TIMEOUT,
    Venue,
    engine_view,
    free_port,
    md_config,
    random_command,
    run_flow,
    start_feed,
)
from venue.clock import ManualClock
from venue.core import ExpireInstrument
from venue.marketdata import FeedHandler, MarketDataPublisher


@pytest.mark.parametrize(("seed", "pre_commit"), [(1, False), (2, False), (3, False), (4, True)])
async def test_random_flow_books_equal_engine(tmp_path: Path, seed: int, pre_commit: bool) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock(), pre_commit=pre_commit).open()
    pub, client = await start_feed(venue)
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(seed), 2000)
        if seed >= 3:  # an instrument expires: H 'X' and a D for each of its orders
            venue.submit(ExpireInstrument(symbol="ETH-PERP"))
            await venue.committed()
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        venue.engine.validate_internal_state()
        client.books.validate()
        assert pub.translator.inconsistencies == 0
        assert client.errors == 0
        assert client.books.view() == engine_view(venue.engine)
        assert pub.translator.book.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


@pytest.mark.parametrize("pre_commit", [False, True])
async def test_dropped_packets_are_recovered_by_rerequest(tmp_path: Path, pre_commit: bool) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock(), pre_commit=pre_commit).open()
    pub, client = await start_feed(venue)
    rng = random.Random(7)
    dropped: list[int] = []

    def drop(seq: int, count: int) -> bool:
        if rng.random() < 0.2:
            dropped.append(seq)
            return True
        return False

    client.drop = drop
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(2), 1500)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert dropped and client.gaps > 0 and client.rerequests_sent > 0
        assert pub.rerequests_answered > 0
        assert client.snapshots_taken == 1  # only the first one: re-requests closed every gap
        assert client.errors == 0
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_publisher_side_loss_of_the_last_packet_is_found_by_heartbeat(
    tmp_path: Path,
) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue)
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(3), 200)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        pub.drop = lambda seq, count: True  # every live packet from now on is lost
        await run_flow(venue, random.Random(4), 20)
        # nothing more is sent live: only the heartbeat names the next seq, the rest is
        # re-requested
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.rerequests_sent > 0
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_late_joiner_recovers_through_snapshot(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue, start_client=False)
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(5), 1000)
        # joins late: its history is the snapshot, then the live feed
        await client.start()
        assert client.snapshots_taken == 1
        assert client.next_seq == pub.next_seq
        assert client.books.view() == engine_view(venue.engine)
        await run_flow(venue, random.Random(6), 500)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.books.view() == engine_view(venue.engine)
        assert any(b.bids.keys and b.asks.keys for b in client.books.instruments.values())
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


@pytest.mark.parametrize("pre_commit", [False, True])
async def test_snapshot_during_live_flow_continues_without_loss(
    tmp_path: Path, pre_commit: bool
) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock(), pre_commit=pre_commit).open()
    pub, client = await start_feed(venue)
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(8), 300)
        flow = asyncio.ensure_future(run_flow(venue, random.Random(9), 600, every=5))
        while not flow.done():
            await client.resync()  # snapshots interleaved with commits
        await flow
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.snapshots_taken > 2
        assert client.books.view() == engine_view(venue.engine)
        if pre_commit:  # some snapshots were built ahead of their commit and waited for it
            assert pub.release_waits > 0
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_symbol_subset_snapshot_and_feed(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client0 = await start_feed(venue, start_client=False)
    client = FeedHandler(feed_port=client0.feed_port, symbols=["ETH-PERP"])
    await client0.stop()  # free the port for the filtered handler
    client.rerequest_addr = client0.rerequest_addr
    client.snapshot_addr = client0.snapshot_addr
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(10), 300)
        await client.start()
        await run_flow(venue, random.Random(11), 300)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.errors == 0
        assert list(client.books.by_symbol) == ["ETH-PERP"]
        assert client.books.view()["ETH-PERP"] == engine_view(venue.engine)["ETH-PERP"]
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_restart_starts_a_new_session_and_the_handler_follows(tmp_path: Path) -> None:
    clock = ManualClock()
    ports = {"rerequest_port": free_port(), "snapshot_port": free_port(socket.SOCK_STREAM)}
    venue = await Venue(tmp_path / "venue.db", clock).open()
    pub, client = await start_feed(venue, **ports)
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(12), 500)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        first_session = pub.session
        await pub.stop()
        await asyncio.wait_for(client.ended.wait(), TIMEOUT)
        await venue.close()

        clock.advance(100_000_000)  # sessions are named by the tenth of a second they start
        venue = await Venue(tmp_path / "venue.db", clock).open()
        pub = MarketDataPublisher(
            md_config(client.feed_port, **ports), venue.sequencer, venue.clock
        )
        assert pub.session != first_session
        assert client.books.view() == engine_view(venue.engine)  # recovered = before
        await pub.start()
        await client.wait_until(lambda: client.session == pub.session, TIMEOUT)
        await run_flow(venue, random.Random(13), 300)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.session_changes == 1
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_gap_older_than_history_falls_back_to_snapshot(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue, history_messages=20)
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(40), 100)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        lost = True
        client.drop = lambda seq, count: lost  # a long outage: far more than 20 messages
        await run_flow(venue, random.Random(41), 300)
        lost = False
        await run_flow(venue, random.Random(42), 20)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert pub.rerequests_ignored > 0  # asked for messages no longer held
        assert client.snapshots_taken >= 2
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_app_wiring_order(tmp_path: Path) -> None:
    """The order venue.app uses: publisher built right after the sequencer, before the first
    submit; started after; stopped after the sequencer (which flushes the last commits)."""
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    client = FeedHandler(feed_port=0)
    cfg = md_config(await client.bind())
    pub = MarketDataPublisher(cfg, venue.sequencer, venue.clock)
    venue.add_instruments()  # submitted before start(): sent once the socket is open
    with pytest.raises(RuntimeError):
        MarketDataPublisher(cfg, venue.sequencer, venue.clock)  # too late: uncommitted state
    await pub.start()
    client.rerequest_addr = ("127.0.0.1", pub.rerequest_port)
    client.snapshot_addr = ("127.0.0.1", pub.snapshot_port)
    await client.start()
    try:
        await run_flow(venue, random.Random(50), 200)
        for _ in range(5):  # uncommitted when the sequencer is told to stop
            venue.submit(random_command(random.Random(51), venue.engine, 10**6))
        await venue.sequencer.stop()
        await pub.stop()
        await asyncio.wait_for(client.ended.wait(), TIMEOUT)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await venue.journal.close()


async def test_start_with_a_port_in_use_raises_oserror(tmp_path: Path) -> None:
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        cfg = md_config(free_port(), snapshot_port=busy.getsockname()[1])
        pub = MarketDataPublisher(cfg, venue.sequencer, venue.clock)
        try:
            with pytest.raises(OSError):
                await pub.start()
            assert pub.rerequest_port == 0  # what had opened was closed again
        finally:
            await pub.stop()
            await venue.close()


async def test_a_stray_session_packet_does_not_wipe_the_books(tmp_path: Path) -> None:
    from venue.marketdata.framing import encode_packet, session_bytes
    from venue.marketdata.messages import encode_delete

    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue)
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(60), 300)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        snapshots = client.snapshots_taken
        stray = encode_packet(session_bytes("FORGED"), 1, [encode_delete(1, 0, 1)])
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
            s.sendto(stray, ("127.0.0.1", client.feed_port))
        await client.wait_until(lambda: client.snapshots_taken > snapshots, TIMEOUT)
        assert client.foreign_packets == 1 and client.session == pub.session
        await run_flow(venue, random.Random(61), 100)
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()


async def test_raw_packets_are_contiguous_and_at_most_1400_bytes(tmp_path: Path) -> None:
    from venue.marketdata.framing import MAX_PACKET, decode_packet
    from venue.marketdata.messages import decode

    received: list[bytes] = []

    class Sink(asyncio.DatagramProtocol):
        def datagram_received(self, data: bytes, addr: object) -> None:
            received.append(data)

    loop = asyncio.get_running_loop()
    sink, _ = await loop.create_datagram_endpoint(Sink, local_addr=("127.0.0.1", 0))
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub = MarketDataPublisher(
        md_config(sink.get_extra_info("sockname")[1]), venue.sequencer, venue.clock
    )
    await pub.start()
    try:
        venue.add_instruments()
        await run_flow(venue, random.Random(70), 1000, every=200)  # big commit batches
        await pub.stop()
        async with asyncio.timeout(TIMEOUT):
            while len(received) < pub.packets_sent:
                await asyncio.sleep(0)
        expected = 1
        for data in received:
            assert len(data) <= MAX_PACKET
            _session, seq, count, bodies = decode_packet(data)
            if count in (0, 0xFFFF):
                assert seq == expected
                continue
            assert seq == expected
            for body in bodies:
                decode(body)
            expected += count
        assert expected == pub.next_seq
        assert max(len(d) for d in received) > MAX_PACKET - 50  # batches fill packets
    finally:
        sink.close()
        await venue.close()


async def test_a_commit_batch_is_translated_once_and_leaves_in_one_packet(tmp_path: Path) -> None:
    """Commands of one commit batch are numbered at its last command, in sequence order, and a
    batch whose messages fit one packet costs one packet."""
    venue = await Venue(tmp_path / "venue.db", ManualClock()).open()
    pub, client = await start_feed(venue, heartbeat_ms=600_000)  # no heartbeat packet between
    try:
        venue.add_instruments()
        await venue.committed()
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        packets, seq = pub.packets_sent, pub.next_seq
        rng = random.Random(5)
        for n in range(12):  # one batch: no await in between
            venue.submit(random_command(rng, venue.engine, n))
        assert pub.next_seq == seq  # nothing translated before the commit
        await venue.committed()
        assert pub.next_seq > seq and pub.released_next == pub.next_seq
        assert pub.packets_sent == packets + 1
        await client.wait_for_seq(pub.next_seq, TIMEOUT)
        assert client.books.view() == engine_view(venue.engine)
    finally:
        await client.stop()
        await pub.stop()
        await venue.close()
