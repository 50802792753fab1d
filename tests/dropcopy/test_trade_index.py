"""The drop copy's sparse trade index against a plain list of rows: for any rows (several trades
per row, equal timestamps), any sampling interval, history put in front, trims and queries, the
rows it names for a query include every row that holds a matching trade, trims drop whole
oldest rows only and report the last trade id dropped, and the trade count is exact."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from venue.gateway.dropcopy import _TradeIndex

Row = tuple[int, int, int, int]  # seq, ts, first trade id, last trade id


@st.composite
def journals(draw: st.DrawFn) -> list[Row]:
    rows: list[Row] = []
    seq, ts, trade = 0, 1_000, 1
    for _ in range(draw(st.integers(0, 300))):
        seq += draw(st.integers(1, 3))
        ts += draw(st.sampled_from([0, 0, 1, 5]))
        n = draw(st.integers(1, 3))
        rows.append((seq, ts, trade, trade + n - 1))
        trade += n
    return rows


def build(rows: list[Row], every: int, split: int) -> _TradeIndex:
    """History (`rows[:split]`, as `load` finds it) put in front of the live rows."""
    live = _TradeIndex(every)
    for r in rows[split:]:
        live.append(*r)
    older = _TradeIndex(every)
    for r in rows[:split]:
        older.append(*r)
    live.prepend(older)
    return live


@settings(max_examples=200, deadline=None)
@given(
    rows=journals(),
    every=st.integers(1, 9),
    split_at=st.floats(0, 1),
    queries=st.lists(st.tuples(st.integers(0, 700), st.integers(0, 700)), max_size=8),
    keep=st.integers(1, 400),
)
def test_sparse_index_names_every_matching_row(
    rows: list[Row],
    every: int,
    split_at: float,
    queries: list[tuple[int, int]],
    keep: int,
) -> None:
    index = build(rows, every, int(len(rows) * split_at))
    assert list(index.seqs) == [r[0] for r in rows]
    assert index.trades == (rows[-1][3] - rows[0][2] + 1 if rows else 0)
    held = rows
    dropped = index.drop_oldest(keep)
    if dropped:
        held = [r for r in rows if r[2] > dropped]
        assert all(r[3] <= dropped for r in rows[: len(rows) - len(held)])
        assert index.trades <= keep or len(index.pos) == 1
    assert list(index.seqs) == [r[0] for r in held]
    if held:
        assert index.oldest_ts == held[0][1]
    for a, b in queries:
        lo_id, hi_id = min(a, b), max(a, b)
        from_ts, to_ts = 1_000 + min(a, b) // 2, 1_000 + max(a, b) // 2
        for lo, hi, t0, t1 in ((lo_id, hi_id, 0, 2**63 - 1), (0, 2**63 - 1, from_ts, to_ts)):
            named = set(index.rows_for(lo, hi, t0, t1))
            wanted = {r[0] for r in held if r[3] >= lo and r[2] <= hi and t0 <= r[1] <= t1}
            assert wanted <= named
