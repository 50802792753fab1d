"""Session files' [quoting] and [[quoting.mmp]]: decoded, validated, turned into SetMmp."""

from __future__ import annotations

from pathlib import Path

import pytest

from venue.config import ConfigError, instrument_from_config, load_config, load_session_file
from venue.config_quoting import mmp_commands

SESSIONS = Path(__file__).resolve().parents[1] / "sessions"
INSTRUMENTS = [instrument_from_config(i) for i in load_config(None).instruments]


def test_the_example_session_file_sets_protection() -> None:
    s = load_session_file(SESSIONS / "alpha-trading.toml")
    assert s.quoting.max_entries_per_message == 100
    (cmd,) = mmp_commands([s], INSTRUMENTS, {})
    assert (cmd.account, cmd.underlying, cmd.window_ms) == ("ALPHA-1", "BTC", 500)
    assert (cmd.max_qty, cmd.max_fills, cmd.freeze_ms) == (2000, 20, 0)  # 2 BTC in 0.001 lots


@pytest.mark.parametrize(
    ("extra", "where"),
    [
        ('[[quoting.mmp]]\naccount = "BRAVO-1"\nunderlying = "BTC"\nwindow_ms = 5\n', "account"),
        ('[[quoting.mmp]]\naccount = "ALPHA-1"\nunderlying = "BTC"\nwindow_ms = 0\n', "mmp[0]"),
        ("[quoting]\nmax_entries_per_message = 0\n", "quoting"),
    ],
)
def test_bad_settings_name_their_key(tmp_path: Path, extra: str, where: str) -> None:
    base = (SESSIONS / "alpha-trading.toml").read_text().split("\n[quoting]")[0]
    path = tmp_path / "s.toml"
    path.write_text(base + "\n" + extra)
    with pytest.raises(ConfigError) as err:
        load_session_file(path)
    assert where in str(err.value)


def test_an_unknown_underlying_or_a_fractional_lot_is_refused(tmp_path: Path) -> None:
    s = load_session_file(SESSIONS / "alpha-trading.toml")
    import msgspec

    bad = msgspec.structs.replace(
        s,
        quoting=msgspec.structs.replace(
            s.quoting, mmp=[msgspec.structs.replace(s.quoting.mmp[0], max_qty="0.0005")]
        ),
    )
    with pytest.raises(ConfigError, match="multiple"):
        mmp_commands([bad], INSTRUMENTS, {})
    none = msgspec.structs.replace(
        s,
        quoting=msgspec.structs.replace(
            s.quoting, mmp=[msgspec.structs.replace(s.quoting.mmp[0], underlying="DOGE")]
        ),
    )
    with pytest.raises(ConfigError, match="DOGE"):
        mmp_commands([none], INSTRUMENTS, {})
