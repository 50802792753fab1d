"""Output helpers: plain-text tables without rich, times, durations, top's rates."""

from __future__ import annotations

import sys

import pytest

from venue.admin import render
from venue.admin.top import frame


def test_plain_table_when_rich_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "rich.table", None)  # import fails: rich not installed
    text = render.table_text("t", ["name", "n"], [["ALPHA-MM", 1], ["B", None], ["C", True]])
    assert text.splitlines() == [
        "t",
        "name      n  ",
        "ALPHA-MM  1  ",
        "B         -  ",
        "C         yes",
    ]


def test_times_and_durations() -> None:
    assert render.ts_text(1_795_244_656_017_634_140) == "2026-11-21T07:04:16.017Z"
    assert render.ts_text(0) == "-"
    assert render.duration(45_000) == "45 µs"
    assert render.duration(2_500_000) == "2.5 ms"
    assert render.duration(3_725 * 10**9) == "1h02m05s"


def test_top_rates_between_frames() -> None:
    def answer(mono: int, seq: int, msgs: int) -> dict[str, object]:
        session = {"name": "S", "messages_in": msgs, "messages_out": 2 * msgs}
        return {
            "now_ns": mono,
            "mono_ns": mono,
            "journal": {"last_seq": seq},
            "sessions": [session],
            "instruments": [],
        }

    first = frame(answer(0, 10, 5), None)
    assert first["journal"]["commands_per_s"] is None and first["sessions"][0]["in_per_s"] is None
    second = frame(answer(500_000_000, 60, 15), answer(0, 10, 5))
    assert second["journal"]["commands_per_s"] == 100.0
    assert second["sessions"][0]["in_per_s"] == 20.0 and second["sessions"][0]["out_per_s"] == 40.0
