"""The risk monitor and options, on a real Sequencer + Journal: the series' index mirrors
the underlying's (BTC-PERP) index; marks and Greeks are Black-76 on the forward (the index,
or the same-expiry future's mark) at the mark IV (config default, then the committed one);
bid/ask IV from the book; submitted only on change; at expiry the series expires and settles
at the same 30-minute index average as dated futures, at its intrinsic value."""

from __future__ import annotations

from tests.risk.test_monitor import FUT, PERP, SEC, T0, USD, Harness, future, perp
from tests.risk.test_monitor import h as h  # noqa: PLC0414 -- the fixture, re-exported
from venue.core import (
    AddAccount,
    AddInstrument,
    Deposit,
    ExpireInstrument,
    Instrument,
    InstrumentKind,
    NewOrder,
    PositionSettled,
    PutCall,
    SetIndexPrice,
    SetMarkPrice,
    SetOptionMarks,
    SettleInstrument,
    Side,
)
from venue.risk.index import submit_index
from venue.risk.options import black76, figures, implied_vol, year_fraction
from venue.risk.settings import RiskConfig

EXPIRY = T0 + 30 * 86_400 * SEC
CALL = "BTC-30D-60000-C"


def call(expiry: int = EXPIRY) -> Instrument:
    """Tick 0.5 USD, lot 0.01 BTC; strike 60 000 USD = 120 000 ticks."""
    return Instrument(
        symbol=CALL,
        kind=InstrumentKind.OPTION,
        tick_size="0.5",
        lot_size="0.01",
        multiplier="1",
        ref_price=4_000,
        band_ppb=100_000_000,
        max_order_qty=10_000,
        expiry_ts=expiry,
        underlying="BTC",
        strike=120_000,
        put_call=PutCall.CALL,
    )


def expected(forward: float, now: int, iv: float) -> tuple[int, int, int, int, int]:
    g = black76(forward, 60_000.0, year_fraction(now, EXPIRY), iv, True)
    return figures(g, 0.5)


async def test_mirror_then_black76_marks_and_greeks(h: Harness) -> None:
    await h.submit(AddInstrument(instrument=perp()), AddInstrument(instrument=call()))
    m = h.start_monitor(RiskConfig(option_iv_ppb=500_000_000))
    now = h.clock.now_ns()
    assert [c for c in m.due(now) if type(c) is SetIndexPrice] == []  # no index yet
    submit_index(h.seq, PERP, "61000")
    await h.flush()
    cmds = await h.step(now)
    assert SetIndexPrice(symbol=CALL, price=122_000, source=f"underlying:{PERP}") in cmds
    assert h.engine.index_price(CALL) == 122_000
    now += 2 * SEC
    cmds = [c for c in await h.step(now) if type(c) is SetOptionMarks]
    mark, delta, gamma, vega, theta = expected(61_000.0, now, 0.5)
    assert cmds == [
        SetOptionMarks(
            symbol=CALL,
            price=mark,
            iv_ppb=500_000_000,
            delta=delta,
            gamma=gamma,
            vega=vega,
            theta=theta,
        )
    ]
    assert h.engine.mark_price(CALL) == mark
    # Nothing changed, within the interval: nothing is submitted.
    assert [c for c in await h.step(now + 1) if type(c) is SetOptionMarks] == []
    # A resting bid: its implied volatility is published as the bid IV.
    await h.submit(
        AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10),
        Deposit(account="ALPHA-1", amount=100_000 * USD),
        NewOrder(
            session="ALPHA-MM",
            firm="ALPHA",
            account="ALPHA-1",
            cl_ord_id="b",
            symbol=CALL,
            side=Side.BUY,
            price=mark - 200,
            qty=1,
        ),
    )
    now += 2 * SEC
    (marks,) = [c for c in await h.step(now) if type(c) is SetOptionMarks]
    assert isinstance(marks, SetOptionMarks)
    iv = implied_vol((mark - 200) * 0.5, 61_000.0, 60_000.0, year_fraction(now, EXPIRY), True)
    assert iv is not None and marks.bid_iv_ppb == round(iv * 1e9) and marks.ask_iv_ppb == 0


async def test_forward_is_the_same_expiry_future_mark_and_the_committed_iv_wins(
    h: Harness,
) -> None:
    await h.submit(
        AddInstrument(instrument=perp()),
        AddInstrument(instrument=call()),
        AddInstrument(instrument=future(EXPIRY)),
    )
    submit_index(h.seq, PERP, "61000")
    await h.flush()
    m = h.start_monitor()
    now = h.clock.now_ns()
    await h.step(now)  # mirror
    await h.submit(SetMarkPrice(symbol=FUT, price=124_000))  # future at 62 000 USD
    # An operator sets the series' mark IV (as `venue-admin options set-iv` does).
    await h.submit(SetOptionMarks(symbol=CALL, price=4_000, iv_ppb=800_000_000))
    now += 5 * SEC
    (marks,) = [c for c in m.due(now) if type(c) is SetOptionMarks]
    assert isinstance(marks, SetOptionMarks)
    assert marks.iv_ppb == 800_000_000
    assert marks.price == expected(62_000.0, now, 0.8)[0]


async def test_option_expires_and_settles_on_the_index_average(h: Harness) -> None:
    expiry = T0 + 3600 * SEC
    await h.submit(AddInstrument(instrument=perp()), AddInstrument(instrument=call(expiry)))
    await h.submit(
        AddAccount(firm="ALPHA", account="ALPHA-1", max_leverage=10),
        AddAccount(firm="BRAVO", account="BRAVO-1", max_leverage=10),
        Deposit(account="ALPHA-1", amount=100_000 * USD),
        Deposit(account="BRAVO-1", amount=100_000 * USD),
    )
    h.start_monitor()
    # The underlying at 60 000, 60 300, 60 150 from 40, 20 and 5 minutes before expiry; the
    # option's mirrored index follows, so its average is (as for futures) 120 350 ticks.
    for minutes, px in ((40, "60000"), (20, "60300"), (5, "60150")):
        h.clock.set(expiry - minutes * 60 * SEC)
        submit_index(h.seq, PERP, px)
        await h.flush()
        await h.step(expiry - minutes * 60 * SEC)
    # ALPHA buys one contract (0.01 BTC) from BRAVO at 100 USD (200 ticks).
    for acct, side in (("BRAVO-1", Side.SELL), ("ALPHA-1", Side.BUY)):
        await h.submit(
            NewOrder(
                session=f"{acct[:5]}-MM",
                firm=acct[:5],
                account=acct,
                cl_ord_id="o",
                symbol=CALL,
                side=side,
                price=200,
                qty=1,
            )
        )
    before = h.engine.accounts["ALPHA-1"].balance
    cmds = await h.step(expiry)
    settle = [c for c in cmds if type(c) in (ExpireInstrument, SettleInstrument)]
    assert settle == [ExpireInstrument(symbol=CALL), SettleInstrument(symbol=CALL, price=120_350)]
    # Intrinsic 120 350 - 120 000 = 350 ticks = 175 USD per BTC; 0.01 BTC: 1.75 USD,
    # against 1.00 USD paid: ALPHA's balance moves by 1.75 - 1.00 = +0.75 USD.
    settled = [e for e in h.events(PositionSettled) if isinstance(e, PositionSettled)]
    assert {e.price for e in settled} == {350}
    assert h.engine.accounts["ALPHA-1"].balance - before == 750_000
    assert h.engine.total_money() == h.engine.net_deposits
