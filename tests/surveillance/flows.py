"""A market maker's flow as in tools/bench/e2e.py (quotes a few ticks from a mid that takes a
slow random walk, moves (replaces), cancels, and IOCs through the mid that trade), driven
straight into a core `Engine` by `Market`, with funding times on the perpetuals.

Differences from e2e.py's own set-up, which make it a normal market rather than a benchmark:
each session is its own firm (e2e.py puts every session in one firm, so its trades between
sessions are, by definition, trades of one beneficial owner), and every order carries a
self-trade prevention id (a market maker's IOC never trades with its own quotes).
"""

from __future__ import annotations

import random

from tests.surveillance.market import MS, Market, S, instrument
from venue.core import ApplyFunding, OrderAccepted, OrderCanceled, OrderFilled, Side, TimeInForce

SYMBOLS = {"BTC-PERP": 120_000, "ETH-PERP": 60_000, "SOL-PERP": 30_000}  # reference ticks
QUOTE_CAP = 24


def market_making_market(sessions: int = 4, *, one_firm: bool = False) -> Market:
    """A firm per session, or (`one_firm`, as e2e.py sets it up) one firm MM with accounts
    MM1-1, MM2-1, ..."""
    if one_firm:
        firms = {"MM": [f"MM{i + 1}-1" for i in range(sessions)]}
    else:
        firms = {f"MM{i + 1}": [f"MM{i + 1}-1"] for i in range(sessions)}
    return Market(firms, [instrument(s, ref) for s, ref in SYMBOLS.items()])


def market_making(
    m: Market,
    commands: int,
    *,
    seed: int = 7,
    rate_per_s: int = 2_000,
    funding_every_s: int = 600,
    stp: bool = True,
) -> None:
    """Append `commands` order commands of the flow to `m` (plus ApplyFunding at every
    multiple of `funding_every_s` of the flow's time). `stp`: orders carry a self-trade
    prevention id (e2e.py's orders carry none)."""
    stp_id = 1 if stp else 0
    rng = random.Random(seed)
    accounts = [a for a in m.firm_of if a.startswith("MM")]
    mids = dict(SYMBOLS)
    symbols = list(SYMBOLS)
    live: dict[str, dict[int, tuple[str, Side]]] = {a: {} for a in accounts}
    gap = S // rate_per_s
    next_funding = (m.now // (funding_every_s * S) + 1) * funding_every_s * S
    for _ in range(commands):
        m.now += gap + rng.randrange(-gap // 2, gap // 2 + 1)
        if m.now >= next_funding:
            for sym in symbols:
                m.do(ApplyFunding(symbol=sym, rate_ppb=0))
            next_funding += funding_every_s * S
        sym = rng.choice(symbols)
        ref = SYMBOLS[sym]
        limit = max(ref // 100, 20)
        mids[sym] = max(ref - limit, min(ref + limit, mids[sym] + rng.choice((-1, 1))))
        acct = rng.choice(accounts)
        mine = live[acct]
        r = rng.random()
        full = len(mine) >= QUOTE_CAP
        if r < 0.10 or (full and not mine):
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            mid = mids[sym]
            px = mid + 6 if side == Side.BUY else mid - 6
            events = m.do_order(acct, side, px, rng.randint(1, 4), sym, TimeInForce.IOC, stp_id)
        elif (r >= 0.45 or full) and mine:
            order_id = rng.choice(list(mine))
            o_sym, side = mine[order_id]
            mid = mids[o_sym]
            if r < 0.85:
                off = rng.randint(1, 8)
                px = mid - off if side == Side.BUY else mid + off
                events = m.replace(acct, order_id, px, rng.randint(1, 10))
            else:
                events = m.cancel(acct, order_id)
        else:
            side = Side.BUY if rng.random() < 0.5 else Side.SELL
            off = rng.randint(1, 8)
            mid = mids[sym]
            px = mid - off if side == Side.BUY else mid + off
            events = m.do_order(acct, side, px, rng.randint(1, 10), sym, TimeInForce.GTC, stp_id)
        for ev in events:
            book = live.get(ev.account) if hasattr(ev, "account") else None
            if book is None:
                continue
            if isinstance(ev, OrderAccepted) and ev.tif == TimeInForce.GTC:
                book[ev.order_id] = (ev.symbol, ev.side)
            elif isinstance(ev, OrderCanceled) or (
                isinstance(ev, OrderFilled) and ev.leaves_qty == 0
            ):
                book.pop(ev.order_id, None)


__all__ = ["MS", "market_making", "market_making_market"]
