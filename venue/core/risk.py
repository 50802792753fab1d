"""`Margin`: the margin arithmetic over the engine state, pre-trade risk (R1) and the
liquidation predicate. Reads the state; never changes it (R1's reduce-only resize touches
only the order being decided, which is not in the state yet).

Units: see `venue.core.accounts` (money = 10^-6 USD). Rules:
- Mark price: `Market.mark` (the last `SetMarkPrice`, else the last index, else the reference
  price).
- Initial margin rate of an account in an instrument: max(instrument IMR, 1 / max_leverage).
- Worst-case initial margin of an account in an instrument (`symbol_requirement`): its
  position plus all its buys, or plus all its sells, filling (the larger), IM at mark rounded
  up, plus the loss of filling at worse than mark. For an isolated position the allocated
  margin counts against it. An account's requirement is the sum over its instruments.
- R1 (`pre_trade`): an order is refused (`INSUFFICIENT_MARGIN`) if it makes the account's
  requirement grow and the new requirement plus the order's own worst-case fee (`order_fee`:
  its leaves at its price, or at the band limit for a market order, at the larger of its
  account's taker and maker rates) is above its cross equity (balance + unrealized PnL of
  cross positions); or (`INDEX_STALE`) if it makes the requirement grow while the
  instrument's index is stale. An order that does not make the requirement grow is always
  accepted (risk-reducing orders pass), whatever its fee.
- Liquidation predicate (`below_maintenance`, the one function both the core's `Liquidate`
  and the risk monitor use): each isolated position on its own (its margin + unrealized PnL
  below its maintenance margin), and the cross part on its own (cross equity below the sum of
  the cross positions' maintenance margins, when there is a cross position).
- Options (`Market.option` set) use `venue.core.option_margin` in place of the linear
  rates, in the same places (`symbol_requirement`, `mm`, R1, `covers`); they are cross only,
  and a portfolio of options and futures on one underlying is margined position by position.
- Stale index (`stale`): an instrument with `index_stale_ns > 0` whose index was never set or
  is older than that.
"""

from __future__ import annotations

from fractions import Fraction

from venue.core.accounts import Account, Position, maintenance_margin, upnl
from venue.core.book import Market, Order
from venue.core.margin import fee
from venue.core.option_margin import option_mm, option_worst
from venue.core.state import EngineState
from venue.core.types import PPB, OrdType, RejectReason, Side

__all__ = ["Margin", "stale", "worst"]

_BUY = Side.BUY
_MARKET = OrdType.MARKET
_NO_EXPOSURE = (0, 0, 0, 0)


def stale(mkt: Market, ts: int) -> bool:
    """Is the instrument's index stale at `ts`?"""
    limit = mkt.instrument.index_stale_ns
    return bool(limit) and (mkt.index_ts < 0 or ts - mkt.index_ts > limit)


def worst(  # noqa: PLR0917 -- hot-path arithmetic
    s: int, buys: int, sells: int, buy_pq: int, sell_pq: int, mark: int, f: int, imr: int
) -> int:
    """Worst-case initial margin of position `s` with resting buys/sells (lots, and sums of
    lots x price): all buys or all sells filling, IM at mark (rounded up), plus the loss of
    filling at worse than mark, taken over each side's orders as a whole."""
    mf = mark * f
    b = -(-abs(s + buys) * mf * imr // PPB) + max(0, buy_pq - buys * mark) * f
    a = -(-abs(s - sells) * mf * imr // PPB) + max(0, sells * mark - sell_pq) * f
    return b if b > a else a


class Margin:
    """Margin figures of accounts and positions, R1, and the liquidation predicate."""

    def __init__(self, state: EngineState) -> None:
        self.state = state

    # ------------------------------------------------------------------ figures

    def imr(self, acct: Account, mkt: Market) -> int:
        """The account's initial margin rate (ppb) in `mkt`."""
        return max(mkt.imr_ppb, acct.min_imr_ppb)

    def mm(self, pos: Position, mkt: Market) -> int:
        """Maintenance margin of `pos` at mark."""
        return self.mm_size(mkt, pos.size)

    @staticmethod
    def mm_size(mkt: Market, size: int) -> int:
        """Maintenance margin of a position of `size` lots (signed) in `mkt` at mark."""
        if mkt.option is not None:
            return option_mm(size, mkt.underlying, mkt.mark, mkt.factor)
        return maintenance_margin(abs(size) * mkt.mark * mkt.factor, mkt.mm_table)

    @staticmethod
    def option_requirement(mkt: Market, s: int, e: tuple[int, int, int, int]) -> int:
        """`option_worst` of position `s` and exposure `e` in the option market `mkt`."""
        opt = mkt.option
        assert opt is not None
        return option_worst(
            s, e[0], e[1], e[2], e[3], mkt.underlying, opt[0], opt[1], mkt.mark, mkt.factor
        )

    def cross_equity(self, acct: Account) -> int:
        """Balance + unrealized PnL of the cross positions."""
        markets = self.state.markets
        eq = acct.balance
        for pos in acct.positions.values():
            if not pos.isolated:
                eq += upnl(pos, markets[pos.symbol])
        return eq

    def cross_mm(self, acct: Account) -> tuple[int, int]:
        """(cross equity, cross maintenance margin)."""
        markets = self.state.markets
        mm = 0
        for pos in acct.positions.values():
            if not pos.isolated:
                mm += self.mm(pos, markets[pos.symbol])
        return self.cross_equity(acct), mm

    def symbol_requirement(
        self,
        acct: Account,
        mkt: Market,
        skip: Order | None = None,
        extra: tuple[Side, int, int] | None = None,
    ) -> int:
        """Worst-case initial margin of the account in `mkt` (module docstring). `skip` is
        left out, `extra` = (side, price, leaves) added (R1's what-if)."""
        symbol = mkt.instrument.symbol
        pos = acct.positions.get(symbol)
        s = pos.size if pos is not None else 0
        buys, sells, buy_pq, sell_pq = acct.exposure.get(symbol, _NO_EXPOSURE)
        if skip is not None and skip.order_id in acct.orders:
            leaves = skip.qty - skip.cum_qty
            if skip.side == _BUY:
                buys -= leaves
                buy_pq -= leaves * skip.price
            else:
                sells -= leaves
                sell_pq -= leaves * skip.price
        if extra is not None:
            side, price, leaves = extra
            if side == _BUY:
                buys += leaves
                buy_pq += leaves * price
            else:
                sells += leaves
                sell_pq += leaves * price
        if mkt.option is not None:
            return self.option_requirement(mkt, s, (buys, sells, buy_pq, sell_pq))
        req = worst(s, buys, sells, buy_pq, sell_pq, mkt.mark, mkt.factor, self.imr(acct, mkt))
        if pos is not None and pos.isolated:
            req = max(0, req - pos.margin - min(0, upnl(pos, mkt)))
        return req

    def requirement(self, acct: Account, replace: Market | None = None, value: int = 0) -> int:
        """Sum of `symbol_requirement` over the instruments the account has exposure in,
        with `replace`'s requirement taken as `value`."""
        seen: dict[str, None] = {}
        for pos in acct.positions.values():
            seen[pos.symbol] = None
        for symbol in acct.exposure:
            seen[symbol] = None
        markets = self.state.markets
        total = 0
        for symbol in seen:
            mkt = markets[symbol]
            if mkt is replace:
                continue
            total += self.symbol_requirement(acct, mkt)
        if replace is not None:
            total += value
        return total

    def available(self, acct: Account) -> int:
        """Cross equity - worst-case initial margin (what R1 and Withdraw use)."""
        return self.cross_equity(acct) - self.requirement(acct)

    # ------------------------------------------------------------------ liquidation

    def below_maintenance(self, acct: Account) -> tuple[bool, list[Position]]:
        """(the cross part is below maintenance, the isolated positions below maintenance):
        the liquidation predicate (module docstring). Either non-empty: liquidatable."""
        markets = self.state.markets
        equity, mm = self.cross_mm(acct)
        has_cross = False
        isolated: list[Position] = []
        for p in acct.positions.values():
            if not p.isolated:
                has_cross = True
                continue
            mkt = markets[p.symbol]
            if p.margin + upnl(p, mkt) < self.mm(p, mkt):
                isolated.append(p)
        return has_cross and equity < mm, isolated

    def price_where(
        self, acct: Account, pos: Position, mkt: Market, maintenance: bool
    ) -> Fraction | None:
        """The mark price (exact ticks) at which the position's backing equity equals its
        maintenance margin (liquidation price) or zero (bankruptcy price), other positions
        at their current marks. None if flat or no positive price does it."""
        s = pos.size
        if s == 0 or (maintenance and mkt.option is not None):
            return None  # an option's maintenance moves with its mark: no closed form here
        f = mkt.factor
        if pos.isolated:
            base = pos.margin
            other_mm = 0
        else:
            base = acct.balance
            other_mm = 0
            markets = self.state.markets
            for p in acct.positions.values():
                if p is not pos and not p.isolated:
                    m2 = markets[p.symbol]
                    base += upnl(p, m2)
                    other_mm += self.mm(p, m2) if maintenance else 0
        # equity(p) = base + f*(s*p - cost); want equity(p) == other_mm + MM(|s|*p*f)
        if not maintenance or not mkt.mm_table:
            price = Fraction(f * pos.cost - base + other_mm, f * s)
            return price if price > 0 else None
        a = abs(s) * f  # notional = a * p
        for floor, mmr, cumx in mkt.mm_table:
            # base + f*s*p - f*cost = other_mm + (a*p*mmr - cumx)/PPB
            den = f * s * PPB - a * mmr
            if den == 0:
                continue
            price = Fraction((other_mm + f * pos.cost - base) * PPB - cumx, den)
            if price <= 0:
                continue
            row = None
            for t in mkt.mm_table:
                if a * price >= t[0]:
                    row = t
            if row is not None and row[0] == floor:
                return price
        return None

    # ------------------------------------------------------------------ R1

    def pre_trade(  # noqa: PLR0917 -- hot path, called positionally
        self,
        mkt: Market,
        o: Order,
        ts: int,
        acct: Account | None,
        replace: bool = False,
        price: int = 0,
        qty: int = 0,
    ) -> RejectReason | None:
        """R1 for the new order `o`, or (`replace`) for resting `o` at `price` and `qty`:
        refuse if the account's worst-case initial margin grows beyond its cross equity (or
        the index is stale). Reduce-only orders are resized down to the position (or
        refused). No mutation on refusal (the resize touches only a not yet accepted order).
        `acct`: `o`'s account (None: unknown, refused)."""
        if acct is None:
            return RejectReason.UNKNOWN_ACCOUNT
        if mkt.option is not None:
            return self._pre_trade_option(mkt, o, ts, acct, replace, price, qty)
        is_buy = o.side == _BUY
        if replace and qty == o.qty and (price <= o.price if is_buy else price >= o.price):
            # Same lots at a price no worse for the account: lots1 == lots0 and pq1 <= pq0
            # below, so the requirement cannot grow (the second test accepts): skip the work.
            return None
        symbol = o.symbol  # mkt.instrument.symbol (the same string)
        pos = acct.positions.get(symbol)
        s = pos.size if pos is not None else 0
        if replace:
            leaves = qty - o.cum_qty
        else:
            if o.reduce_only:
                if s == 0 or (s > 0) == is_buy:
                    return RejectReason.REDUCE_ONLY_WOULD_INCREASE
                o.qty = min(o.qty, abs(s))
            price = o.price
            if o.ord_type == _MARKET:
                price = mkt.hi if is_buy else mkt.lo
            leaves = o.qty
        # `worst` before and after, inlined: only the order's side changes, so the other
        # side's term is computed once (same arithmetic as `symbol_requirement`). The
        # requirement does not grow (accepted) when after = max(mine1, other) <= before =
        # max(mine0, other), i.e. when mine1 <= other or mine1 <= mine0. A side's term is
        # ceil(lots * k / PPB) + pq * f over its |lots| and max(pq, 0), non-decreasing in both
        # (k > 0, f >= 0): when mine1's pair is no larger than another term's, so is mine1
        # itself, and the big-integer arithmetic is skipped.
        mark = mkt.mark
        buys, sells, bpq, spq = acct.exposure.get(symbol, _NO_EXPOSURE)
        if is_buy:
            lots0, pq0, other = s + buys, bpq - buys * mark, s - sells
            other_loss = sells * mark - spq
            lots1 = lots0 + leaves
            pq1 = pq0 + leaves * (price - mark)
            if replace:  # the resting order's current terms leave the what-if
                old = o.qty - o.cum_qty
                lots1 -= old
                pq1 -= old * (o.price - mark)
        else:
            lots0, pq0, other = s - sells, sells * mark - spq, s + buys
            other_loss = bpq - buys * mark
            lots1 = lots0 - leaves
            pq1 = pq0 + leaves * (mark - price)
            if replace:
                old = o.qty - o.cum_qty
                lots1 += old
                pq1 -= old * (mark - o.price)
        a1 = lots1 if lots1 > 0 else -lots1
        p1 = pq1 if pq1 > 0 else 0
        a_other = other if other > 0 else -other
        p_other = other_loss if other_loss > 0 else 0
        if a1 <= a_other and p1 <= p_other:
            return None
        a0 = lots0 if lots0 > 0 else -lots0
        p0 = pq0 if pq0 > 0 else 0
        if a1 <= a0 and p1 <= p0:
            return None
        f = mkt.factor
        k = mark * f * (mkt.imr_ppb if mkt.imr_ppb > acct.min_imr_ppb else acct.min_imr_ppb)
        after = -(-a1 * k // PPB) + p1 * f
        # With k >= PPB, ceil(a * k / PPB) grows strictly with a, so a1 > a and p1 >= p make
        # `after` larger than that term: the comparison (and its division) is skipped.
        strict = k >= PPB
        larger = strict and a1 > a_other and p1 >= p_other
        if not larger and after <= -(-a_other * k // PPB) + p_other * f:
            return None
        larger = strict and a1 > a0 and p1 >= p0
        if not larger and after <= -(-a0 * k // PPB) + p0 * f:
            return None
        if pos is not None and pos.isolated:
            after = max(0, after - pos.margin - min(0, upnl(pos, mkt)))
        stale_ns = mkt.instrument.index_stale_ns  # `stale(mkt, ts)`, inlined
        if stale_ns and (mkt.index_ts < 0 or ts - mkt.index_ts > stale_ns):
            return RejectReason.INDEX_STALE
        if not self.covers(acct, mkt, after + self.order_fee(acct, mkt, leaves, price)):
            return RejectReason.INSUFFICIENT_MARGIN
        return None

    def _pre_trade_option(  # noqa: PLR0917 -- `pre_trade`'s arguments
        self,
        mkt: Market,
        o: Order,
        ts: int,
        acct: Account,
        replace: bool,
        price: int,
        qty: int,
    ) -> RejectReason | None:
        """R1 in an option market: the same rule as `pre_trade`, through
        `symbol_requirement` (not inlined: options are not the hot path)."""
        is_buy = o.side == _BUY
        if replace:
            leaves = qty - o.cum_qty
        else:
            if o.reduce_only:
                pos = acct.positions.get(o.symbol)
                s = pos.size if pos is not None else 0
                if s == 0 or (s > 0) == is_buy:
                    return RejectReason.REDUCE_ONLY_WOULD_INCREASE
                o.qty = min(o.qty, abs(s))
            price = o.price
            if o.ord_type == _MARKET:
                price = mkt.hi if is_buy else mkt.lo
            leaves = o.qty
        before = self.symbol_requirement(acct, mkt)
        after = self.symbol_requirement(acct, mkt, o if replace else None, (o.side, price, leaves))
        if after <= before:
            return None
        if stale(mkt, ts):
            return RejectReason.INDEX_STALE
        if not self.covers(acct, mkt, after + self.order_fee(acct, mkt, leaves, price)):
            return RejectReason.INSUFFICIENT_MARGIN
        return None

    @staticmethod
    def order_fee(acct: Account, mkt: Market, leaves: int, price: int) -> int:
        """The most an order of `leaves` lots at `price` can pay in fees: all of it filled
        at the larger of the account's taker and maker rates (0 if neither is positive)."""
        rates = mkt.default_fee_rates
        if rates is None:
            return 0
        taker, maker = mkt.fee_rates.get(acct.fee_tier, rates)
        rate = taker if taker > maker else maker
        return fee(leaves * price * mkt.factor, rate) if rate > 0 else 0

    def covers(self, acct: Account, mkt: Market, value: int) -> bool:
        """`requirement(acct, mkt, value) <= cross_equity(acct)`, in one pass over the
        account's positions and exposures (R1's slow step; same arithmetic, integer sums)."""
        markets = self.state.markets
        positions = acct.positions
        exposure = acct.exposure
        min_imr = acct.min_imr_ppb
        equity = acct.balance
        req = value
        covered = 0  # exposures met in the loop (those of symbols with a position)
        for symbol, pos in positions.items():
            m = markets[symbol]
            mark = m.mark
            f = m.factor
            s = pos.size
            u = f * (s * mark - pos.cost)
            if not pos.isolated:
                equity += u
            e = exposure.get(symbol)
            if e is None:
                buys = sells = bpq = spq = 0
            else:
                covered += 1
                buys, sells, bpq, spq = e
            if m is mkt:
                continue
            if m.option is not None:
                req += self.option_requirement(m, s, (buys, sells, bpq, spq))
                continue
            k = mark * f * (m.imr_ppb if m.imr_ppb > min_imr else min_imr)
            # worst(s, buys, sells, bpq, spq, mark, f, imr), inlined: the larger side's
            # ceil(lots * k / PPB) + max(loss, 0) * f. Without a loss on either side (orders
            # at or better than mark, the usual case), only the larger lots are divided
            # (the ceiling is non-decreasing in lots).
            buy_lots = s + buys
            if buy_lots < 0:
                buy_lots = -buy_lots
            sell_lots = s - sells
            if sell_lots < 0:
                sell_lots = -sell_lots
            buy_loss = bpq - buys * mark
            sell_loss = sells * mark - spq
            if buy_loss <= 0 and sell_loss <= 0:
                r = -(-(buy_lots if buy_lots > sell_lots else sell_lots) * k // PPB)
            else:
                r = -(-buy_lots * k // PPB)
                if buy_loss > 0:
                    r += buy_loss * f
                a = -(-sell_lots * k // PPB)
                if sell_loss > 0:
                    a += sell_loss * f
                if a > r:  # noqa: PLR1730 -- cheaper than a max() call
                    r = a
            if pos.isolated:
                r = max(0, r - pos.margin - min(0, u))
            req += r
        if covered == len(exposure):  # no exposure without a position
            return req <= equity
        for symbol, e in exposure.items():
            if symbol in positions:
                continue
            m = markets[symbol]
            if m is mkt:
                continue
            if m.option is not None:
                req += self.option_requirement(m, 0, (e[0], e[1], e[2], e[3]))
                continue
            mark = m.mark
            imr = m.imr_ppb if m.imr_ppb > min_imr else min_imr
            req += worst(0, e[0], e[1], e[2], e[3], mark, m.factor, imr)
        return req <= equity
