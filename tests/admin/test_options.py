"""venue-admin and options: `instrument list` shows strike, expiry and put/call of the
embedded chain; `instrument add-options` lists new series as sequenced AddInstrument
commands (audited), refuses a duplicate series or an underlying without a listed chain."""

from __future__ import annotations

from tests.admin.conftest import AdminVenue
from tests.admin.test_trading import journal_commands
from venue.admin.cli import EXIT_OK, EXIT_USAGE
from venue.core import AddInstrument, InstrumentKind, PutCall, SetOptionMarks
from venue.core.commands import RecordAdminAction


async def test_instrument_list_shows_the_option_terms(admin_venue: AdminVenue) -> None:
    r = await admin_venue.cli("--json", "instrument", "list")
    assert r.code == EXIT_OK, r.stderr
    rows = {i["symbol"]: i for i in r.json()}
    call = rows["BTC-26MAR27-60000-C"]
    assert call["kind"] == "option"
    assert (call["strike"], call["put_call"], call["underlying"]) == ("60000", "call", "BTC")
    assert call["expiry"] == "2027-03-26T08:00:00Z"
    assert rows["BTC-26MAR27-55000-P"]["put_call"] == "put"
    assert rows["BTC-PERP"]["strike"] == "" and rows["BTC-PERP"]["expiry"] == ""
    r = await admin_venue.cli("instrument", "list")
    assert r.code == EXIT_OK and "BTC-26MAR27-65000-P" in r.stdout and "put" in r.stdout


async def test_add_options_lists_series_as_sequenced_commands(admin_venue: AdminVenue) -> None:
    av = admin_venue
    r = await av.cli(
        "--json",
        "--operator",
        "alice",
        "instrument",
        "add-options",
        "BTC",
        "2027-06-25T08:00:00Z",
        "--strikes",
        "50000,70000.5",
    )
    assert r.code == EXIT_OK, r.stderr
    out = r.json()
    want = ["BTC-25JUN27-50000-C", "BTC-25JUN27-50000-P", "BTC-25JUN27-70000.5-C"]
    assert out["symbols"][:3] == want and len(out["symbols"]) == 4
    cmds = dict(await journal_commands(av))
    added = [cmds[s] for s in out["seqs"]]
    assert all(isinstance(c, AddInstrument) for c in added)
    first = added[0]
    assert isinstance(first, AddInstrument)
    inst = first.instrument
    assert inst.kind == InstrumentKind.OPTION and inst.put_call == PutCall.CALL
    assert inst.strike == 100_000  # 50000 USD / tick 0.5
    assert inst.tick_size == "0.5" and inst.lot_size == "0.01"  # the configured chain's terms
    audit = cmds[out["audit_seq"]]
    assert isinstance(audit, RecordAdminAction) and audit.action == "instrument.add_options"
    assert av.venue.sequencer is not None
    assert "BTC-25JUN27-70000.5-P" in av.venue.sequencer.engine.markets
    # The same series again, a strike off the tick, an underlying with no chain: refused.
    again = await av.cli(
        "instrument", "add-options", "BTC", "2027-06-25T08:00:00Z", "--strikes", "50000"
    )
    assert again.code == EXIT_USAGE and "already listed" in again.stderr
    off = await av.cli(
        "instrument", "add-options", "BTC", "2027-06-25T08:00:00Z", "--strikes", "1.2"
    )
    assert off.code == EXIT_USAGE and "multiple" in off.stderr
    eth = await av.cli(
        "instrument", "add-options", "ETH", "2027-06-25T08:00:00Z", "--strikes", "3000"
    )
    assert eth.code == EXIT_USAGE and "no option series" in eth.stderr


async def test_options_set_iv_is_a_sequenced_command(admin_venue: AdminVenue) -> None:
    av = admin_venue
    symbol = "BTC-26MAR27-60000-C"
    r = await av.cli("--json", "options", "set-iv", symbol, "0.65")
    assert r.code == EXIT_OK, r.stderr
    cmd = dict(await journal_commands(av))[r.json()["seq"]]
    assert isinstance(cmd, SetOptionMarks) and cmd.iv_ppb == 650_000_000
    assert av.venue.sequencer is not None
    assert av.venue.sequencer.engine.markets[symbol].option_marks[0] == 650_000_000
    bad = await av.cli("options", "set-iv", symbol, "0")
    assert bad.code == EXIT_USAGE
    perp = await av.cli("options", "set-iv", "BTC-PERP", "0.5")
    assert perp.code == EXIT_USAGE and "not a listed option" in perp.stderr
