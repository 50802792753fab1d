"""An exception inside `Engine.apply` is an internal error (issue 17 item 4, DESIGN.md rule 7):
the sequencer stops like a failed commit, logs the seq and the traceback, and releases
nothing of that batch; a command with a field of the wrong type never reaches the engine.
Real Engine, real Journal (SQLite), and a real venue process."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import sys
from pathlib import Path
from typing import Any

import msgspec
import pytest
import structlog

from tests.venue_process import start_venue, write_config
from venue.app import EXIT_JOURNAL
from venue.clock import ManualClock
from venue.core import AddAccount, Deposit, Engine, Event, NewOrder, Side
from venue.core.ledger import Ledger
from venue.journal import Journal, JournalFailed
from venue.sequencer import Sequencer

TIMEOUT = 10.0
FAULT = 777  # USD: the deposit amount that the injected fault answers with an exception


_deposit = Ledger.deposit


def _faulty_deposit(self: Ledger, cmd: Deposit) -> list[Event]:
    """A handler bug after its first mutation (for one amount): the balance changed, then
    it raises."""
    if cmd.amount == FAULT * 10**6:
        self.state.accounts[cmd.account].balance += cmd.amount
        raise RuntimeError("injected fault after the first mutation")
    return _deposit(self, cmd)


async def test_an_exception_in_a_handler_stops_the_sequencer_and_releases_nothing(
    db_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(Ledger, "deposit", _faulty_deposit)
    journal = await Journal.open(db_path)
    engine = Engine()
    seqr = Sequencer(engine, journal, ManualClock())
    released: list[int] = []
    seqr.subscribe(lambda seq, ts, cmd, events: released.append(seq))
    failures: list[BaseException] = []
    seqr.on_failure(failures.append)
    await seqr.start()
    seqr.submit(AddAccount(firm="F", account="A"))
    committed = asyncio.Event()
    seqr.after_commit(committed.set)
    await asyncio.wait_for(committed.wait(), TIMEOUT)
    assert released == [1]
    seqr.submit(Deposit(account="A", amount=5 * 10**6))  # seq 2, in the open batch
    with (
        structlog.testing.capture_logs() as logs,
        pytest.raises(JournalFailed, match="internal error applying seq 3"),
    ):
        seqr.submit(Deposit(account="A", amount=FAULT * 10**6))
    assert failures and isinstance(failures[0].__cause__ or failures[0], RuntimeError)
    assert seqr.failed is not None
    entry = next(e for e in logs if e["event"] == "engine_apply_failed")
    assert entry["seq"] == 3 and entry["log_level"] == "critical"
    assert isinstance(entry["exc_info"], RuntimeError)
    with pytest.raises(JournalFailed):
        seqr.submit(Deposit(account="A", amount=1))
    await seqr.stop(snapshot=False)
    assert released == [1]  # seq 2 shared the failed batch: never released
    rows: list[Any] = []
    await journal.scan(0, rows.extend)
    assert [r[0] for r in rows] == [1]  # nor written
    await journal.close()


async def test_an_ill_typed_command_is_refused_before_it_takes_a_seq(db_path: Path) -> None:
    journal = await Journal.open(db_path)
    engine = Engine()
    seqr = Sequencer(engine, journal, ManualClock())
    await seqr.start()
    seqr.submit(AddAccount(firm="F", account="A"))
    before = engine.state_hash()
    bad = NewOrder(
        session="S", firm="F", account="A", cl_ord_id="x", symbol="X", side=Side.BUY, qty=1
    )
    for field, value, name in (("price", "100", "price"), ("qty", True, "qty")):
        with pytest.raises(ValueError, match=f"NewOrder is malformed: {name}: Expected"):
            seqr.submit(msgspec.structs.replace(bad, **{field: value}))
    assert engine.state_hash() == before and seqr.last_seq == 1
    assert seqr.failed is None
    seq, events = seqr.submit(bad)  # well-typed: applied (refused by the engine: no such symbol)
    assert seq == 2 and type(events[0]).__name__ == "OrderRejected"
    await seqr.stop(snapshot=False)
    await journal.close()


SITECUSTOMIZE = f"""
import os
if os.environ.get("VENUE_TEST_FAULT") == "deposit":
    import venue.core.ledger as ledger
    _deposit = ledger.Ledger.deposit
    def deposit(self, cmd):
        if cmd.amount == {FAULT} * 10**6:
            self.state.accounts[cmd.account].balance += cmd.amount
            raise RuntimeError("injected fault after the first mutation")
        return _deposit(self, cmd)
    ledger.Ledger.deposit = deposit
"""


def test_a_venue_process_exits_4_on_an_internal_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    inject = tmp_path / "inject"
    inject.mkdir()
    (inject / "sitecustomize.py").write_text(SITECUSTOMIZE)
    monkeypatch.setenv("PYTHONPATH", f"{inject}:{Path(__file__).resolve().parents[2]}")
    monkeypatch.setenv("VENUE_TEST_FAULT", "deposit")
    config = write_config(tmp_path)
    venue = start_venue(config, cwd=tmp_path)
    try:
        venue.wait_ready()
        admin = [sys.executable, "-m", "venue.admin.cli", "--config", str(config), "--yes"]
        ok = subprocess.run([*admin, "account", "deposit", "ALPHA-1", "5"], check=False)
        assert ok.returncode == 0
        subprocess.run(
            [*admin, "account", "deposit", "ALPHA-1", str(FAULT)],
            check=False,
            timeout=TIMEOUT,
            capture_output=True,
        )
        assert venue.proc.wait(timeout=30) == EXIT_JOURNAL
    finally:
        venue.kill()
    err = venue.stderr
    assert "engine_apply_failed" in err and "injected fault" in err
    assert "Traceback" in err  # the traceback is logged (structlog's exception field)
    db = sqlite3.connect(tmp_path / "venue.db")
    kinds = [bytes(r[0]) for r in db.execute("SELECT cmd FROM journal ORDER BY seq")]
    db.close()
    deposits = [k for k in kinds if b"Deposit" in k]
    assert len(deposits) >= 1
    assert not any(msgspec.msgpack.decode(k)[3] == FAULT * 10**6 for k in deposits)
