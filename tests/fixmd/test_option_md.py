"""Option figures over FIX market data (RoE section 20, DICTIONARY.md): MDEntryTypes
i (mark IV), b / a (bid / ask IV), d (delta), g (gamma), v (vega), t (theta), each in
MDEntryPx (270) as an exact decimal, in W and X, valid against fix_specs/FIX44.xml; a request
for them is served; bid/ask IV only when there is one."""

from __future__ import annotations

from tests.fixmd.test_mapping_md import SPEC, SYMBOLS, D, message, request
from venue.fix.mapping_md import (
    OPTION_TYPES,
    MarketDataQuery,
    decode_market_data_request,
    incremental_refresh,
    snapshot_full_refresh,
    statistics_entries,
)
from venue.fix.validate import group_instances, validate
from venue.marketdata.messages import OptionMarksMsg

MARKS = OptionMarksMsg(
    1, 5, 4_000, 650_000_000, 0, 660_000_000, 512_000_000, 21_000, 123_450_000, -45_600_000
)


def test_a_request_for_option_figures_is_served() -> None:
    m = request(types=(b"i", b"b", b"a", b"d", b"g", b"v", b"t"))
    assert validate(m, D) is None
    q = decode_market_data_request(m, SYMBOLS)
    assert isinstance(q, MarketDataQuery)
    assert q.statistics == OPTION_TYPES


def test_option_entries_in_w_and_x() -> None:
    entries = statistics_entries(False, SPEC, None, OPTION_TYPES, MARKS)
    w = message(b"W", snapshot_full_refresh(b"r1", SPEC, entries))
    assert validate(w, D) is None
    got = {e[269]: e[270] for e in group_instances(w, 268, D)}
    assert got == {
        b"i": b"0.65",
        b"a": b"0.66",  # no bid: no b entry
        b"d": b"0.512",
        b"g": b"0.000021",
        b"v": b"123.45",
        b"t": b"-45.6",
    }
    x = message(
        b"X", incremental_refresh(b"r1", statistics_entries(True, SPEC, None, (b"d",), MARKS))
    )
    assert validate(x, D) is None
    # Not an option (no figures): nothing.
    assert statistics_entries(False, SPEC, None, OPTION_TYPES, None) == []
