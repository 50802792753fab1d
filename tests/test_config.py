"""venue.config: the embedded default, the example sessions/, and every ConfigError path.

Every failure must name the file, the key (a dotted path) and the reason, and never be a
traceback. Tests marked xfail(strict=True) document bugs reported to the owner of config.py:
they start failing (XPASS) the day the bug is fixed, as a reminder to drop the mark.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from venue.config import (
    ConfigError,
    SessionConfig,
    VenueConfig,
    load_config,
    load_session_file,
    load_sessions_dir,
    parse_expiry_ns,
    parse_positive_decimal,
)

REPO = Path(__file__).resolve().parents[1]
DEFAULT = (REPO / "venue" / "default.toml").read_text()

FIRMS = """
[[firms]]
name = "ALPHA"
accounts = ["ALPHA-1", "ALPHA-2"]

[[firms]]
name = "BRAVO"
accounts = ["BRAVO-1"]
"""

INSTRUMENT = """
[[instruments]]
symbol = "BTC-PERP"
kind = "perpetual"
tick_size = "0.5"
lot_size = "0.001"
ref_price = "60000"
max_order_qty = "100"
"""

SESSION = """
[[sessions]]
name = "S1"
role = "trading"
venue_comp_id = "VENUE"
client_comp_id = "ALPHA-MM"
firm = "ALPHA"
accounts = ["ALPHA-1"]
"""


def write(tmp_path: Path, text: str, name: str = "venue.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def error_of(path: Path) -> ConfigError:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    err = info.value
    assert str(err).startswith(f"{err.file}: ")
    assert err.reason and err.reason in str(err)
    return err


# --- what loads -------------------------------------------------------------------------------


def test_the_embedded_default_loads() -> None:
    cfg = load_config(None)
    assert isinstance(cfg, VenueConfig)
    assert cfg.source == "<embedded default>"
    assert [i.symbol for i in cfg.instruments] == ["BTC-PERP", "ETH-PERP", "BTC-27MAR27"]
    assert [s.name for s in cfg.sessions] == ["ALPHA-MM", "BRAVO-MM", "ALPHA-DC"]
    assert [f.name for f in cfg.firms] == ["ALPHA", "BRAVO"]
    assert cfg.gateway.host == "127.0.0.1"
    assert all(s.auth.method == "none" for s in cfg.sessions)  # loopback-only demo sessions


def test_the_default_file_on_disk_is_the_embedded_default(tmp_path: Path) -> None:
    from_disk = load_config(write(tmp_path, DEFAULT))
    embedded = load_config(None)
    assert from_disk.source == str(tmp_path / "venue.toml")
    assert from_disk.sessions == embedded.sessions
    assert from_disk.instruments == embedded.instruments


def test_the_example_session_files_load_one_by_one() -> None:
    files = sorted((REPO / "sessions").glob("*.toml"))
    assert [p.stem for p in files] == ["alpha-dropcopy", "alpha-trading", "bravo-trading"]
    sessions = {p.stem: load_session_file(p) for p in files}
    assert sessions["alpha-trading"].auth.method == "ed25519"
    assert sessions["bravo-trading"].auth.method == "password"
    assert sessions["alpha-dropcopy"].role == "dropcopy"
    for name, s in sessions.items():
        assert s.name == name
        assert s.source == str(REPO / "sessions" / f"{name}.toml")


def test_the_example_sessions_load_next_to_the_default_sessions(tmp_path: Path) -> None:
    text = DEFAULT.replace('# sessions_dir = "sessions"', f'sessions_dir = "{REPO / "sessions"}"')
    cfg = load_config(write(tmp_path, text))
    assert [s.name for s in cfg.sessions] == [
        "ALPHA-MM",
        "BRAVO-MM",
        "ALPHA-DC",
        "alpha-dropcopy",
        "alpha-trading",
        "bravo-trading",
    ]


def test_sessions_dir_is_relative_to_the_config_file(tmp_path: Path) -> None:
    (tmp_path / "sessions").mkdir()
    write(
        tmp_path / "sessions",
        'role = "trading"\nvenue_comp_id = "VENUE"\nclient_comp_id = "X1"\nfirm = "ALPHA"\n',
        "x1.toml",
    )
    cfg = load_config(write(tmp_path, FIRMS + '[gateway]\nsessions_dir = "sessions"\n'))
    (s,) = cfg.sessions
    assert (s.name, s.source) == ("x1", str(tmp_path / "sessions" / "x1.toml"))


def test_a_minimal_file_gets_the_documented_defaults(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, FIRMS + INSTRUMENT + SESSION))
    (s,) = cfg.sessions
    assert s.allowed_addresses == ["127.0.0.0/8", "::1/128"]
    assert s.auth.method == "none"
    assert (s.throttle.messages_per_second, s.throttle.burst) == (1000, 2000)
    assert cfg.instruments[0].band == "0.05"


# --- every error names file, key and reason ---------------------------------------------------


def test_missing_file(tmp_path: Path) -> None:
    err = error_of(tmp_path / "nope.toml")
    assert (err.file, err.key, err.reason) == (str(tmp_path / "nope.toml"), "", "file not found")


def test_bad_toml(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "[gateway\nport = 1\n"))
    assert err.file == str(tmp_path / "venue.toml")
    assert err.key == ""
    assert err.reason.startswith("not valid TOML")
    assert "line 1" in err.reason


def test_unknown_key(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "[gateway]\nprot = 9878\n"))
    assert err.key == "gateway"
    assert "unknown field `prot`" in err.reason


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ('[gateway]\nport = "nine"\n', "gateway.port", "Expected `int`, got `str`"),
        ("[journal]\npath = 3\n", "journal.path", "Expected `str`, got `int`"),
        ('[journal]\nsynchronous = "OFF"\n', "journal.synchronous", "Invalid enum value 'OFF'"),
        ("[[firms]]\nname = 1\naccounts = []\n", "firms[0].name", "Expected `str`"),
        ('[[firms]]\nname = "A"\n', "firms[0]", "missing required field `accounts`"),
    ],
)
def test_wrong_type(tmp_path: Path, text: str, key: str, reason: str) -> None:
    err = error_of(write(tmp_path, text))
    assert err.key == key
    assert reason in err.reason


@pytest.mark.parametrize(
    ("field", "value", "reason"),
    [
        ("tick_size", "abc", "'abc' is not a decimal number"),
        ("tick_size", "0", "'0' must be a positive decimal number"),
        ("tick_size", "-0.5", "must be a positive decimal number"),
        ("tick_size", "NaN", "must be a positive decimal number"),
        ("tick_size", "Infinity", "must be a positive decimal number"),
        ("lot_size", "", "'' is not a decimal number"),
        ("multiplier", "x", "is not a decimal number"),
        ("ref_price", "60000.25", "60000.25 is not a multiple of the tick 0.5"),
        ("max_order_qty", "1.0005", "1.0005 is not a multiple of the lot 0.001"),
        ("band", "1", "must be a fraction below 1"),
        ("symbol", "BTC PERP", "'BTC PERP' is not a valid symbol"),
        ("expiry", "2027-03-26T08:00:00Z", "a perpetual has no expiry"),
    ],
)
def test_bad_instrument_values(tmp_path: Path, field: str, value: str, reason: str) -> None:
    lines = [ln for ln in INSTRUMENT.splitlines() if not ln.startswith(f"{field} =")]
    text = "\n".join([*lines, f'{field} = "{value}"', ""])
    err = error_of(write(tmp_path, text))
    assert err.key == f"instruments[0].{field}"
    assert reason in err.reason


@pytest.mark.parametrize(
    ("expiry", "reason"),
    [
        (None, "a dated future needs an expiry"),
        ("next friday", "is not an ISO-8601 date-time"),
        ("2027-03-26T08:00:00", "must be in UTC (end with Z)"),
        ("2027-03-26T08:00:00+01:00", "must be in UTC (end with Z)"),
    ],
)
def test_bad_future_expiry(tmp_path: Path, expiry: str | None, reason: str) -> None:
    text = INSTRUMENT.replace('"perpetual"', '"future"')
    if expiry is not None:
        text += f'expiry = "{expiry}"\n'
    err = error_of(write(tmp_path, text))
    assert err.key == "instruments[0].expiry"
    assert reason in err.reason


def test_duplicate_symbol(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, INSTRUMENT + INSTRUMENT))
    assert (err.key, err.reason) == ("instruments[1].symbol", "'BTC-PERP' is duplicated")


def test_duplicate_firm_and_account(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, FIRMS + '[[firms]]\nname = "ALPHA"\naccounts = []\n'))
    assert err.key == "firms[2].name"
    assert "invalid or duplicated" in err.reason
    err = error_of(write(tmp_path, FIRMS + '[[firms]]\nname = "C"\naccounts = ["BRAVO-1"]\n'))
    assert err.key == "firms[2].accounts[0]"


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ("[gateway]\nport = 70000\n", "gateway.port", "70000 is not a TCP port"),
        ("[gateway]\nmax_message_size = 100\n", "gateway.max_message_size", "at least 512"),
        ("[gateway]\nlogon_timeout_seconds = 0\n", "gateway.logon_timeout_seconds", "at least 1"),
        ("[gateway]\nbusy_poll_us = -1\n", "gateway.busy_poll_us", "0 (off) or at most"),
        ("[gateway]\nbusy_poll_us = 1000001\n", "gateway.busy_poll_us", "at most 1000000"),
        ("[journal]\nsnapshot_every_commands = 0\n", "journal", "must be positive"),
    ],
)
def test_bad_gateway_and_journal_numbers(tmp_path: Path, text: str, key: str, reason: str) -> None:
    err = error_of(write(tmp_path, text))
    assert err.key == key
    assert reason in err.reason


def session_error(tmp_path: Path, extra: str, *, base: str = SESSION) -> ConfigError:
    return error_of(write(tmp_path, FIRMS + base + extra))


def test_session_without_credentials_from_a_non_loopback_network(tmp_path: Path) -> None:
    err = session_error(tmp_path, 'allowed_addresses = ["127.0.0.1/32", "10.0.0.0/8"]\n')
    assert (err.key, err.reason) == (
        "sessions[0].allowed_addresses",
        "a session without credentials is allowed from loopback only",
    )


def test_the_same_session_with_credentials_may_come_from_anywhere(tmp_path: Path) -> None:
    cfg = load_config(
        write(
            tmp_path,
            FIRMS
            + SESSION
            + 'allowed_addresses = ["10.0.0.0/8"]\n'
            + '[sessions.auth]\nmethod = "ed25519"\n'
            + 'public_key = "A6EHv/POEL4dcN0Y50vAmWfk1jCbpQ1fHdyGZBJVMbg="\n',
        )
    )
    assert cfg.sessions[0].auth.method == "ed25519"


@pytest.mark.parametrize(
    ("extra", "key", "reason"),
    [
        ('allowed_addresses = ["10.0.0.300"]\n', "allowed_addresses[0]", "not an address"),
        ("allowed_addresses = []\n", "allowed_addresses", "empty"),
        ('[sessions.auth]\nmethod = "ed25519"\n', "auth.public_key", "required"),
        ('[sessions.auth]\nmethod = "ed25519"\npublic_key = "!!"\n', "auth.public_key", "base64"),
        ('[sessions.auth]\nmethod = "ed25519"\npublic_key = "AAAA"\n', "auth.public_key", "32"),
        ('[sessions.auth]\nmethod = "password"\n', "auth.password_hash", "required"),
        (
            '[sessions.auth]\nmethod = "password"\npassword_hash = "hunter2"\n',
            "auth.password_hash",
            "scrypt$N$r$p$salt$hash",
        ),
        ("[sessions.heartbeat]\nmin_seconds = 0\n", "heartbeat", "1 <= min_seconds"),
        ("[sessions.heartbeat]\nmax_seconds = 7200\n", "heartbeat", "<= 3600"),
        ("[sessions.throttle]\nburst = 10\n", "throttle", "burst >= messages_per_second"),
        ('[sessions.reset]\ndaily_at = "25:00"\n', "reset.daily_at", "is not HH:MM"),
        ('dropcopy_firms = ["ALPHA"]\n', "role", "need role 'dropcopy'"),
        ('firm = "CHARLIE"\n', "firm", "unknown firm 'CHARLIE'"),
        ('accounts = ["BRAVO-1"]\n', "accounts[0]", "'BRAVO-1' is not an account of firm ALPHA"),
        ('accounts = ["NOPE"]\n', "accounts[0]", "is not an account of firm ALPHA"),
        ('role = "broker"\n', "role", "Invalid enum value 'broker'"),
    ],
)
def test_bad_session(tmp_path: Path, extra: str, key: str, reason: str) -> None:
    base = SESSION
    if extra.startswith(("firm =", "accounts =", "role =")):  # replace, do not repeat, the key
        name = extra.split(" =", maxsplit=1)[0]
        base = "\n".join(ln for ln in SESSION.splitlines() if not ln.startswith(f"{name} ="))
        base += "\n"
    err = session_error(tmp_path, extra, base=base)
    assert err.key == f"sessions[0].{key}"
    assert reason in err.reason


def test_dropcopy_targets_must_exist(tmp_path: Path) -> None:
    dc = SESSION.replace('role = "trading"', 'role = "dropcopy"')
    err = session_error(tmp_path, 'dropcopy_firms = ["ZULU"]\n', base=dc)
    assert (err.key, err.reason) == ("sessions[0].dropcopy_firms[0]", "unknown firm 'ZULU'")
    err = session_error(tmp_path, 'dropcopy_accounts = ["ZULU-1"]\n', base=dc)
    assert (err.key, err.reason) == ("sessions[0].dropcopy_accounts[0]", "unknown account 'ZULU-1'")


def test_duplicate_compids(tmp_path: Path) -> None:
    second = SESSION.replace('name = "S1"', 'name = "S2"')
    err = error_of(write(tmp_path, FIRMS + SESSION + second))
    assert err.key == "sessions[1]"
    assert err.reason == "CompIDs VENUE/ALPHA-MM are used by another session"


def test_duplicate_session_name(tmp_path: Path) -> None:
    second = SESSION.replace('"ALPHA-MM"', '"ALPHA-MM2"')
    err = error_of(write(tmp_path, FIRMS + SESSION + second))
    assert (err.key, err.reason) == ("sessions[1].name", "session 'S1' is defined twice")


@pytest.mark.parametrize(
    "toml_value", ['""', '"HAS SPACE"', '"SOH\\u0001"', '"\u00e9"', '"' + "X" * 65 + '"']
)
def test_bad_compids(tmp_path: Path, toml_value: str) -> None:
    text = SESSION.replace('client_comp_id = "ALPHA-MM"', f"client_comp_id = {toml_value}")
    err = session_error(tmp_path, "", base=text)
    assert err.key == "sessions[0].client_comp_id"
    assert "printable ASCII" in err.reason


# --- errors in session files name the session file --------------------------------------------


def sessions_dir(tmp_path: Path, **files: str) -> Path:
    d = tmp_path / "sessions"
    d.mkdir()
    for name, text in files.items():
        write(d, text, f"{name}.toml")
    return d


SESSION_FILE = 'role = "trading"\nvenue_comp_id = "VENUE"\nclient_comp_id = "X1"\nfirm = "ALPHA"\n'


def test_error_in_a_session_file_names_that_file(tmp_path: Path) -> None:
    d = sessions_dir(tmp_path, x1=SESSION_FILE + "heartbeat = 5\n")
    cfg = write(tmp_path, FIRMS + f'[gateway]\nsessions_dir = "{d}"\n')
    err = error_of(cfg)
    assert (err.file, err.key) == (str(d / "x1.toml"), "heartbeat")
    assert "Expected `object`" in err.reason


def test_cross_check_in_a_session_file_names_that_file(tmp_path: Path) -> None:
    d = sessions_dir(tmp_path, x1=SESSION_FILE.replace('"ALPHA"', '"NOBODY"'))
    err = error_of(write(tmp_path, FIRMS + f'[gateway]\nsessions_dir = "{d}"\n'))
    assert (err.file, err.key, err.reason) == (str(d / "x1.toml"), "firm", "unknown firm 'NOBODY'")


def test_duplicate_compids_across_session_files(tmp_path: Path) -> None:
    d = sessions_dir(tmp_path, a=SESSION_FILE, b=SESSION_FILE)
    err = error_of(write(tmp_path, FIRMS + f'[gateway]\nsessions_dir = "{d}"\n'))
    assert (err.file, err.key) == (str(d / "b.toml"), "client_comp_id")
    assert "used by another session" in err.reason


def test_session_file_name_must_be_a_valid_session_name(tmp_path: Path) -> None:
    path = write(tmp_path, SESSION_FILE, "bad name.toml")
    with pytest.raises(ConfigError) as info:
        load_session_file(path)
    assert (info.value.file, info.value.key) == (str(path), "name")


def test_sessions_dir_that_is_not_a_directory(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as info:
        load_sessions_dir(tmp_path / "missing")
    assert (info.value.key, info.value.reason) == ("gateway.sessions_dir", "not a directory")
    err = error_of(write(tmp_path, '[gateway]\nsessions_dir = "missing"\n'))
    assert err.reason == "not a directory"


def test_unreadable_session_file_is_a_config_error(tmp_path: Path) -> None:
    d = tmp_path / "sessions"
    d.mkdir()
    (d / "x.toml").mkdir()  # a directory named like a session file: read fails with an OSError
    with pytest.raises(ConfigError) as info:
        load_sessions_dir(d)
    assert info.value.file == str(d / "x.toml")
    assert info.value.reason.startswith("cannot read")


# --- helpers ----------------------------------------------------------------------------------


def test_parse_helpers() -> None:
    assert str(parse_positive_decimal("0.001", "f", "k")) == "0.001"
    assert parse_expiry_ns("2027-03-26T08:00:00Z", "f", "k") == 1_806_048_000 * 10**9
    with pytest.raises(ConfigError, match="f: k: "):
        parse_positive_decimal("-1", "f", "k")


def test_session_config_is_frozen() -> None:
    s = SessionConfig(role="trading", venue_comp_id="V", client_comp_id="C", firm="F")
    with pytest.raises(AttributeError):
        s.firm = "G"  # type: ignore[misc]


# --- bugs found by review, fixed in config.py ---------------------------------------------------


def test_a_compid_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    text = SESSION.replace('client_comp_id = "ALPHA-MM"', 'client_comp_id = "ALPHA-MM\\n"')
    err = session_error(tmp_path, "", base=text)
    assert err.key == "sessions[0].client_comp_id"


def test_a_daily_reset_time_with_a_trailing_newline_is_refused(tmp_path: Path) -> None:
    err = session_error(tmp_path, '[sessions.reset]\ndaily_at = "22:00\\n"\n')
    assert err.key == "sessions[0].reset.daily_at"


def test_a_fractional_second_expiry_is_kept_or_refused(tmp_path: Path) -> None:
    try:
        ns = parse_expiry_ns("2027-03-26T08:00:00.5Z", "f", "k")
    except ConfigError:
        return
    assert ns == 1_806_048_000 * 10**9 + 500_000_000


def test_a_negative_outbound_buffer_limit_is_refused(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, "[gateway]\noutbound_buffer_limit = -1\n"))
    assert err.key == "gateway.outbound_buffer_limit"


# --- market data section and the conversion to core integers ----------------------------------


@pytest.mark.parametrize(
    ("text", "key", "reason"),
    [
        ('[marketdata]\ndestination = "feed.example"\n', "marketdata.destination", "IP address"),
        ('[marketdata]\ninterface = "eth0"\n', "marketdata.interface", "IP address"),
        ("[marketdata]\nport = 70000\n", "marketdata.port", "is not a port"),
        ("[marketdata]\nsnapshot_port = -1\n", "marketdata.snapshot_port", "is not a port"),
        ("[marketdata]\nttl = 256\n", "marketdata.ttl", "0..255"),
        ('[marketdata]\nsession = "ELEVENCHARS"\n', "marketdata.session", "at most 10"),
        ("[marketdata]\nheartbeat_ms = 5\n", "marketdata", "heartbeat_ms >= 10"),
        ("[marketdata]\nmulticast = true\n", "marketdata", "unknown field `multicast`"),
    ],
)
def test_bad_marketdata(tmp_path: Path, text: str, key: str, reason: str) -> None:
    err = error_of(write(tmp_path, text))
    assert err.key == key
    assert reason in err.reason


def test_instruments_convert_to_exact_integers() -> None:
    from venue.config import instrument_from_config

    cfg = load_config(None)
    btc, _, future = (instrument_from_config(i) for i in cfg.instruments)
    assert (btc.ref_price, btc.max_order_qty) == (120_000, 100_000)  # 60000 / 0.5, 100 / 0.001
    assert btc.band_ppb == 50_000_000  # 0.05 in parts per 10^9
    assert future.expiry_ts == 1_806_048_000 * 10**9
    assert btc.expiry_ts == 0


def test_a_band_finer_than_one_ppb_is_refused(tmp_path: Path) -> None:
    err = error_of(write(tmp_path, INSTRUMENT + 'band = "0.0000000001"\n'))
    assert "band" in err.key
    assert "BTC-PERP" in err.key or "instruments[0]" in err.key
    assert "not exact" in err.reason


def test_the_risk_table_is_part_of_the_venue_configuration(tmp_path: Path) -> None:
    cfg = load_config(write(tmp_path, "[risk]\nfunding_interval_seconds = 3600\n"))
    assert cfg.risk.funding_interval_seconds == 3600
    err = error_of(write(tmp_path, "[risk]\nmark_window_samples = 0\n"))
    assert err.key == "risk.mark_window_samples"
    assert "positive" in err.reason
