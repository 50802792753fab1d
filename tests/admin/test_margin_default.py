"""The firm's default margin mode (`margin_mode` in `[[firms]]`): every (account, instrument)
pair made at a start-up is set to it by a journaled SetMarginMode; a pair that already existed
keeps what it has across restarts (an operator's change is not undone)."""

from __future__ import annotations

import asyncio
import shutil
import tempfile
from pathlib import Path

import msgspec

from tests.venue_process import write_config
from venue.app import Venue
from venue.config import VenueConfig, load_config, margin_mode_commands
from venue.core import Command
from venue.core.commands import SetMarginMode


def test_margin_mode_commands_cover_new_pairs_only() -> None:
    cfg = load_config(None)
    firms = [
        msgspec.structs.replace(f, margin_mode="isolated") if f.name == "ALPHA" else f
        for f in cfg.firms
    ]
    cfg = msgspec.structs.replace(cfg, firms=firms)
    symbols = [i.symbol for i in cfg.instruments]
    fresh = margin_mode_commands(cfg, {"ALPHA-1", "ALPHA-2", "BRAVO-1"}, set(symbols))
    assert {(c.account, c.symbol) for c in fresh} == {
        (a, s) for a in ("ALPHA-1", "ALPHA-2") for s in symbols
    }
    assert all(c.isolated and c.operator == "config" for c in fresh)
    assert margin_mode_commands(cfg, set(), set()) == []  # nothing new: nothing set
    new_symbol = margin_mode_commands(cfg, set(), {"ETH-PERP"})
    assert {(c.account, c.symbol) for c in new_symbol} == {
        ("ALPHA-1", "ETH-PERP"),
        ("ALPHA-2", "ETH-PERP"),
    }


def isolated_config(tmp_path: Path, short: Path) -> VenueConfig:
    path = write_config(tmp_path)
    text = path.read_text().replace(str(tmp_path / "admin.sock"), str(short / "admin.sock"))
    text = text.replace("[marketdata]\nenabled = true", "[marketdata]\nenabled = false")
    text = text.replace('name = "ALPHA"\n', 'name = "ALPHA"\nmargin_mode = "isolated"\n', 1)
    path.write_text(text)
    return load_config(path)


async def mode_commands(venue: Venue) -> list[SetMarginMode]:
    """The SetMarginMode commands in the journal, once everything submitted has committed."""
    assert venue.journal is not None and venue.sequencer is not None
    done = asyncio.Event()
    venue.sequencer.after_commit(done.set)
    await asyncio.wait_for(done.wait(), 10)
    decoder = msgspec.msgpack.Decoder(Command)
    out: list[SetMarginMode] = []

    def take(rows: list[tuple[int, int, bytes, bytes]]) -> None:
        out.extend(c for r in rows if isinstance(c := decoder.decode(r[2]), SetMarginMode))

    await venue.journal.scan(0, take)
    return out


async def test_firm_default_applies_at_start_up_and_survives_restarts(tmp_path: Path) -> None:
    short = Path(tempfile.mkdtemp(prefix="vm", dir="/tmp"))  # AF_UNIX paths: < 108 bytes
    try:
        cfg = isolated_config(tmp_path, short)
        symbols = sorted(i.symbol for i in cfg.instruments)
        venue = Venue(cfg)
        await venue.start()
        try:
            accounts = venue.sequencer.engine.accounts  # type: ignore[union-attr]
            assert sorted(accounts["ALPHA-1"].isolated) == symbols
            assert sorted(accounts["ALPHA-2"].isolated) == symbols
            assert accounts["BRAVO-1"].isolated == {}
            assert len(await mode_commands(venue)) == 2 * len(symbols)
            assert venue.admin is not None
            await venue.admin.ops.run(
                "account.margin_mode",
                {"account": "ALPHA-1", "symbol": "BTC-PERP", "mode": "cross"},
                "ops",
            )
        finally:
            await venue.stop()
        venue = Venue(cfg)  # a restart with the same configuration and journal
        await venue.start()
        try:
            accounts = venue.sequencer.engine.accounts  # type: ignore[union-attr]
            assert sorted(accounts["ALPHA-1"].isolated) == [s for s in symbols if s != "BTC-PERP"]
            assert len(await mode_commands(venue)) == 2 * len(symbols) + 1  # nothing new
        finally:
            await venue.stop()
    finally:
        shutil.rmtree(short, ignore_errors=True)
