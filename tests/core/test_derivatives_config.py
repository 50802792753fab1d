"""Derivatives settings in the configuration: exact conversion, errors naming file/key/reason,
and the start-up account commands (the app submits them like the AddInstrument loop)."""

from __future__ import annotations

from pathlib import Path

import pytest

from venue.config import ConfigError, account_commands, instrument_from_config, load_config
from venue.core import AddAccount, AddInstrument, Deposit, Engine, MarginTier

BASE = """
[[segments]]
name = "retail"
max_leverage = 10

[[segments]]
name = "market_maker"
max_leverage = 50

[[firms]]
name = "ALPHA"
accounts = ["ALPHA-1"]
segment = "retail"
initial_balance = "1000.5"

[[instruments]]
symbol = "BTC-PERP"
kind = "perpetual"
tick_size = "0.5"
lot_size = "0.001"
ref_price = "60000"
max_order_qty = "100"
initial_margin = "0.01"
maintenance_tiers = [
  { notional = "0", rate = "0.004" },
  { notional = "1000000", rate = "0.005" },
]
maker_fee = "-0.0001"
taker_fee = "0.0005"
index_stale_seconds = 30
"""


def _load(tmp_path: Path, text: str) -> object:
    p = tmp_path / "venue.toml"
    p.write_text(text)
    return load_config(p)


def test_default_config_converts_and_starts_accounts() -> None:
    cfg = load_config(None)
    engine = Engine()
    for i in cfg.instruments:
        engine.apply(AddInstrument(ts=1, instrument=instrument_from_config(i)))
    cmds = account_commands(cfg)
    assert [type(c).__name__ for c in cmds[:2]] == ["AddAccount", "Deposit"]
    for c in cmds:
        engine.apply(c)
    assert list(engine.accounts) == ["ALPHA-1", "ALPHA-2", "BRAVO-1"]
    assert engine.markets["BTC-PERP"].factor == 500  # 0.5 x 0.001 x 1 USD = 500 x 10^-6 USD
    # After recovery the existing accounts are not added (nor funded) again.
    assert account_commands(cfg, engine.accounts) == []


def test_settings_convert_exactly(tmp_path: Path) -> None:
    cfg = _load(tmp_path, BASE)
    inst = instrument_from_config(cfg.instruments[0])  # type: ignore[attr-defined]
    assert inst.imr_ppb == 10_000_000
    assert inst.mm_tiers == [MarginTier(0, 4_000_000), MarginTier(10**12, 5_000_000)]
    assert (inst.maker_fee_ppb, inst.taker_fee_ppb) == (-100_000, 500_000)
    assert inst.index_stale_ns == 30 * 10**9
    cmds = account_commands(cfg)  # type: ignore[arg-type]
    assert cmds == [
        AddAccount(firm="ALPHA", account="ALPHA-1", segment="retail", max_leverage=10),
        Deposit(account="ALPHA-1", amount=1_000_500_000, operator="config"),
    ]


@pytest.mark.parametrize(
    ("old", "new", "key"),
    [
        ('segment = "retail"', 'segment = "vip"', "firms[0].segment"),
        ('initial_balance = "1000.5"', 'initial_balance = "0.0000001"', "initial_balance"),
        ('initial_margin = "0.01"', 'initial_margin = "1.5"', "initial_margin"),
        ('initial_margin = "0.01"', 'initial_margin = "1e-10"', "initial_margin"),
        ('{ notional = "0", rate', '{ notional = "5", rate', "maintenance_tiers[0].notional"),
        ('rate = "0.005"', 'rate = "0.003"', "maintenance_tiers[1].rate"),
        ('taker_fee = "0.0005"', 'taker_fee = "x"', "taker_fee"),
        ("max_leverage = 10", "max_leverage = 0", "segments[0].max_leverage"),
        ('lot_size = "0.001"', 'lot_size = "0.0000001"', "tick_size"),
    ],
)
def test_bad_settings_name_the_key(tmp_path: Path, old: str, new: str, key: str) -> None:
    assert old in BASE
    with pytest.raises(ConfigError) as info:
        _load(tmp_path, BASE.replace(old, new))
    assert key in str(info.value)
    assert "venue.toml" in str(info.value)
