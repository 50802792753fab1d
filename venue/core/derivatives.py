"""`DerivativesState`: accounts, positions, margin (R1/R2) and the account commands.

The matching engine (`venue.core.engine.Engine`) extends this class (through
`venue.core.prices.PricesAndSettlement`, index/mark prices, funding and final settlement,
`venue.core.queries.Queries`, the read-only side and `check_accounts`, and
`venue.core.liquidation.Liquidation`). Units: see `venue.core.accounts` (money = 10^-6 USD).

Invariants kept here:
- Every order's account exists (`UNKNOWN_ACCOUNT` otherwise; that the account belongs to the
  order's firm is checked by the FIX edge from the session configuration); `Account.orders`
  holds exactly the account's resting orders (those in `orders`).
- Money is conserved: sum(balances) + sum(isolated margins) + sum(unrealized PnL at any marks)
  + insurance_fund + fees_collected == sum(deposits) - sum(withdrawals). Trades move money
  between balances and unrealized PnL (`Position.trade`) and fees to `fees_collected`; funding
  (`venue.core.prices`) and liquidation move it between balances and the fund.
- Open interest balances: for every instrument the positions' sizes sum to zero.
- Account commands that are refused change nothing (`AccountCommandRejected`).
- Mark price (`_mark`): the last `SetMarkPrice`, else the last index, else the reference price.
- Stale index: an instrument with `index_stale_ns > 0` has a stale index when none was set or
  `ts - index_ts > index_stale_ns`; then orders that increase margin are refused
  (`INDEX_STALE`) and `Liquidate` is refused.
"""

from __future__ import annotations

from venue.core.accounts import (
    Account,
    Position,
    initial_margin,
    maintenance_margin,
)
from venue.core.book import Market, Order
from venue.core.commands import (
    AddAccount,
    Deposit,
    FundInsurance,
    SetMarginMode,
    Withdraw,
)
from venue.core.events import (
    AccountAdded,
    AccountCommandRejected,
    BalanceChanged,
    Event,
    InsuranceFundChanged,
    MarginModeSet,
    OrderCanceled,
    OrderFilled,
)
from venue.core.state import EngineState
from venue.core.types import (
    PPB,
    BalanceReason,
    OrdType,
    RejectReason,
    Side,
)

__all__ = ["DerivativesState"]

_BUY = Side.BUY
MAX_MONEY = 10**18
"""Largest balance a deposit may reach (money units: 10^12 USD), so state stays in int64."""
_MARKET = OrdType.MARKET


def _reject(cmd: object, account: str, symbol: str, reason: RejectReason) -> list[Event]:
    return [
        AccountCommandRejected(
            ts=getattr(cmd, "ts", 0),
            command=type(cmd).__name__,
            account=account,
            symbol=symbol,
            reason=reason,
        )
    ]


class DerivativesState(EngineState):
    def __init__(self) -> None:
        super().__init__()
        self.accounts: dict[str, Account] = {}
        self.insurance_fund = 0
        self.fees_collected = 0
        self.net_deposits = 0

    def _index(self, o: Order) -> None:
        super()._index(o)
        self._hold(o)

    def _unindex(self, o: Order) -> None:
        super()._unindex(o)
        self._drop(o)

    def _hold(self, o: Order) -> None:
        """`o` rests: it joins its account's order index and exposure."""
        acct = self.accounts[o.account]
        if o.order_id not in acct.orders:
            acct.orders[o.order_id] = o
            _expose(acct, o.symbol, o.side, o.qty - o.cum_qty, o.price)

    def _reexpose(self, acct: Account, o: Order, price: int, qty: int) -> None:
        """`o` (of `acct`) keeps resting but changes to `price` and `qty` (a replace that does
        not trade): its exposure moves from its current terms to the new ones in place (`_drop`
        then `_hold`, without leaving and re-entering the account's order index). Call before
        changing `o`."""
        e = acct.exposure[o.symbol]
        cum = o.cum_qty
        old = o.qty - cum
        new = qty - cum
        if o.side == _BUY:
            e[0] += new - old
            e[2] += new * price - old * o.price
        else:
            e[1] += new - old
            e[3] += new * price - old * o.price

    def _drop(self, o: Order) -> None:
        """`o` no longer rests (or is about to change): out of the index and exposure.
        No-op if it is not there (R2 may have dropped it already)."""
        acct = self.accounts[o.account]
        if acct.orders.pop(o.order_id, None) is not None:
            _expose(acct, o.symbol, o.side, o.cum_qty - o.qty, o.price)

    # ------------------------------------------------------------------ margin arithmetic

    def _imr(self, acct: Account, mkt: Market) -> int:
        return max(mkt.imr_ppb, acct.min_imr_ppb)

    def _mm(self, pos: Position, mkt: Market) -> int:
        return maintenance_margin(abs(pos.size) * _mark(mkt) * mkt.factor, mkt.mm_table)

    def _cross_equity(self, acct: Account) -> int:
        eq = acct.balance
        for pos in acct.positions.values():
            if not pos.isolated:
                eq += _upnl(pos, self.markets[pos.symbol])
        return eq

    def _symbol_requirement(
        self,
        acct: Account,
        mkt: Market,
        skip: Order | None = None,
        extra: tuple[Side, int, int] | None = None,
    ) -> int:
        """Worst-case initial margin of the account in `mkt`: position plus open orders (all
        buys or all sells filling, at mark, plus the loss of filling at worse than mark). For
        an isolated position the allocated margin counts against it. `skip` is left out,
        `extra` = (side, price, leaves) added (R1's what-if)."""
        symbol = mkt.instrument.symbol
        pos = acct.positions.get(symbol)
        s = pos.size if pos is not None else 0
        mark = _mark(mkt)
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
        req = _worst(s, buys, sells, buy_pq, sell_pq, mark, mkt.factor, self._imr(acct, mkt))
        if pos is not None and pos.isolated:
            req = max(0, req - pos.margin - min(0, _upnl(pos, mkt)))
        return req

    def _requirement(self, acct: Account, replace: Market | None = None, value: int = 0) -> int:
        """Sum of `_symbol_requirement` over the instruments the account has exposure in,
        with `replace`'s requirement taken as `value`."""
        seen: dict[str, None] = {}
        for pos in acct.positions.values():
            seen[pos.symbol] = None
        for symbol in acct.exposure:
            seen[symbol] = None
        total = 0
        for symbol in seen:
            mkt = self.markets[symbol]
            if mkt is replace:
                continue
            total += self._symbol_requirement(acct, mkt)
        if replace is not None:
            total += value
        return total

    def _account_mm(self, acct: Account) -> tuple[int, int]:
        """(cross equity, cross maintenance margin)."""
        mm = 0
        for pos in acct.positions.values():
            if not pos.isolated:
                mm += self._mm(pos, self.markets[pos.symbol])
        return self._cross_equity(acct), mm

    # ------------------------------------------------------------------ R1 / R2

    def _risk_check(  # noqa: PLR0917 -- hot path, called positionally
        self,
        mkt: Market,
        o: Order,
        ts: int,
        replace: bool = False,
        price: int = 0,
        qty: int = 0,
        acct: Account | None = None,
    ) -> RejectReason | None:
        """R1 for the new order `o`, or (`replace`) for resting `o` at `price` and `qty`:
        refuse if the account's worst-case initial margin grows beyond its cross equity (or
        the index is stale). Reduce-only orders are resized down to the position (or
        refused). No mutation on refusal (the resize touches only a not yet accepted order).
        `acct`: `o`'s account when the caller holds it already (None: looked up here)."""
        if acct is None:
            acct = self.accounts.get(o.account)
            if acct is None:
                return RejectReason.UNKNOWN_ACCOUNT
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
        # `_worst` before and after, inlined: only the order's side changes, so the other
        # side's term is computed once (same arithmetic as `_symbol_requirement`). The
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
            after = max(0, after - pos.margin - min(0, _upnl(pos, mkt)))
        stale_ns = mkt.instrument.index_stale_ns  # `_stale(mkt, ts)`, inlined
        if stale_ns and (mkt.index_ts < 0 or ts - mkt.index_ts > stale_ns):
            return RejectReason.INDEX_STALE
        if not self._covers(acct, mkt, after):
            return RejectReason.INSUFFICIENT_MARGIN
        return None

    def _covers(self, acct: Account, mkt: Market, value: int) -> bool:
        """`_requirement(acct, mkt, value) <= _cross_equity(acct)`, in one pass over the
        account's positions and exposures (R1's slow step; same arithmetic, integer sums)."""
        markets = self.markets
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
            upnl = f * (s * mark - pos.cost)
            if not pos.isolated:
                equity += upnl
            e = exposure.get(symbol)
            if e is None:
                buys = sells = bpq = spq = 0
            else:
                covered += 1
                buys, sells, bpq, spq = e
            if m is mkt:
                continue
            k = mark * f * (m.imr_ppb if m.imr_ppb > min_imr else min_imr)
            # _worst(s, buys, sells, bpq, spq, mark, f, imr), inlined: the larger side's
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
                r = max(0, r - pos.margin - min(0, upnl))
            req += r
        if covered == len(exposure):  # no exposure without a position
            return req <= equity
        for symbol, e in exposure.items():
            if symbol in positions:
                continue
            m = markets[symbol]
            if m is mkt:
                continue
            mark = m.mark
            imr = m.imr_ppb if m.imr_ppb > min_imr else min_imr
            req += _worst(0, e[0], e[1], e[2], e[3], mark, m.factor, imr)
        return req <= equity

    def _settle_fills(self, mkt: Market, events: list[Event], start: int) -> None:
        """R2: positions, realized PnL, fees and isolated margin of `events[start:]`'s fills;
        resting orders that left the book leave their account's order index."""
        f = mkt.factor
        fees = mkt.fee_rates
        default_rates = mkt.default_fee_rates
        accounts = self.accounts
        for i in range(start, len(events)):
            e = events[i]
            if type(e) is OrderFilled:
                acct = accounts[e.account]
                q = e.last_qty
                aggressor = e.aggressor
                if not aggressor and e.order_id in acct.orders:
                    _expose(acct, e.symbol, e.side, -q, e.price)
                    if not e.leaves_qty:
                        del acct.orders[e.order_id]
                px = e.last_px
                fee = 0
                if default_rates is not None:  # the account's tier's rates, else the instrument's
                    rate = fees.get(acct.fee_tier, default_rates)[0 if aggressor else 1]
                    fee = -(-(q * px * f * rate) // PPB)
                dq = q if e.side == _BUY else -q
                pos = acct.positions.get(e.symbol)
                if pos is not None and not pos.isolated and (pos.size > 0) == (dq > 0):
                    # `_trade`, inlined for a cross position that grows (size != 0, q > 0)
                    pos.size += dq
                    pos.cost += dq * px
                    acct.balance -= fee
                    self.fees_collected += fee
                else:
                    self._trade(acct, mkt, dq, px, fee, pos)
            elif type(e) is OrderCanceled:  # self-trade prevention canceled a resting order
                acct = accounts[e.account]
                if acct.orders.pop(e.order_id, None) is not None:
                    _expose(acct, e.symbol, e.side, e.cum_qty - e.qty, e.price)

    def _trade(  # noqa: PLR0917 -- hot path, called positionally
        self, acct: Account, mkt: Market, dq: int, px: int, fee: int, pos: Position | None = None
    ) -> None:
        """Book one side of a trade on `acct`: position, realized PnL, fee, isolated margin.
        `pos`: the account's position in `mkt` when the caller has looked it up (None: looked
        up here, and opened if there is none)."""
        symbol = mkt.instrument.symbol
        if pos is None:
            pos = acct.positions.get(symbol)
        if pos is None:
            pos = acct.positions[symbol] = Position(symbol, acct.isolated.get(symbol, False))
        s = pos.size
        if dq and (s == 0 or (s > 0) == (dq > 0)) and not pos.isolated:
            # a cross position opens or grows (`Position.trade` without a close), dq != 0
            pos.size = s + dq
            pos.cost += dq * px
            acct.balance -= fee
            self.fees_collected += fee
            return
        before = abs(s)
        realized, closed, opened = pos.trade(dq, px, mkt.factor)
        acct.balance += realized - fee
        self.fees_collected += fee
        if pos.isolated:
            if closed:
                release = pos.margin * closed // before
                pos.margin -= release
                acct.balance += release
            if opened:
                alloc = initial_margin(opened * px * mkt.factor, self._imr(acct, mkt))
                pos.margin += alloc
                acct.balance -= alloc
        if pos.size == 0:
            acct.balance += pos.margin
            pos.margin = 0
            del acct.positions[symbol]

    # ------------------------------------------------------------------ account commands

    def _add_account(self, cmd: AddAccount) -> list[Event]:
        if cmd.account in self.accounts:
            return _reject(cmd, cmd.account, "", RejectReason.DUPLICATE_ACCOUNT)
        if not cmd.account or not cmd.firm or cmd.max_leverage < 1:
            return _reject(cmd, cmd.account, "", RejectReason.INVALID_ACCOUNT)
        self.accounts[cmd.account] = Account(
            cmd.firm, cmd.account, cmd.segment, cmd.max_leverage, cmd.fee_tier
        )
        return [
            AccountAdded(
                ts=cmd.ts,
                firm=cmd.firm,
                account=cmd.account,
                segment=cmd.segment,
                max_leverage=cmd.max_leverage,
                fee_tier=cmd.fee_tier,
            )
        ]

    def _deposit(self, cmd: Deposit) -> list[Event]:
        acct = self.accounts.get(cmd.account)
        if acct is None:
            return _reject(cmd, cmd.account, "", RejectReason.UNKNOWN_ACCOUNT)
        if not 0 < cmd.amount <= MAX_MONEY - acct.balance:
            return _reject(cmd, cmd.account, "", RejectReason.INVALID_AMOUNT)
        acct.balance += cmd.amount
        self.net_deposits += cmd.amount
        return [
            self._balance_event(cmd.ts, acct, cmd.amount, BalanceReason.DEPOSIT, "", cmd.operator)
        ]

    def _withdraw(self, cmd: Withdraw) -> list[Event]:
        acct = self.accounts.get(cmd.account)
        if acct is None:
            return _reject(cmd, cmd.account, "", RejectReason.UNKNOWN_ACCOUNT)
        if cmd.amount <= 0:
            return _reject(cmd, cmd.account, "", RejectReason.INVALID_AMOUNT)
        available = min(acct.balance, self._cross_equity(acct) - self._requirement(acct))
        if cmd.amount > available:
            return _reject(cmd, cmd.account, "", RejectReason.WITHDRAWAL_EXCEEDS_AVAILABLE)
        acct.balance -= cmd.amount
        self.net_deposits -= cmd.amount
        return [
            self._balance_event(
                cmd.ts, acct, -cmd.amount, BalanceReason.WITHDRAWAL, "", cmd.operator
            )
        ]

    def _fund_insurance(self, cmd: FundInsurance) -> list[Event]:
        if not 0 < cmd.amount <= MAX_MONEY - self.insurance_fund:
            return _reject(cmd, "", "", RejectReason.INVALID_AMOUNT)
        self.net_deposits += cmd.amount
        return [self._fund(cmd.ts, cmd.amount, "", BalanceReason.DEPOSIT)]

    def _set_margin_mode(self, cmd: SetMarginMode) -> list[Event]:
        acct = self.accounts.get(cmd.account)
        if acct is None:
            return _reject(cmd, cmd.account, cmd.symbol, RejectReason.UNKNOWN_ACCOUNT)
        if cmd.symbol not in self.markets:
            return _reject(cmd, cmd.account, cmd.symbol, RejectReason.UNKNOWN_INSTRUMENT)
        busy = cmd.symbol in acct.positions or any(
            o.symbol == cmd.symbol for o in acct.orders.values()
        )
        if busy:
            return _reject(cmd, cmd.account, cmd.symbol, RejectReason.INVALID_STATE_CHANGE)
        if cmd.isolated:
            acct.isolated[cmd.symbol] = True
        else:
            acct.isolated.pop(cmd.symbol, None)
        return [
            MarginModeSet(
                ts=cmd.ts,
                account=cmd.account,
                symbol=cmd.symbol,
                isolated=cmd.isolated,
                operator=cmd.operator,
            )
        ]

    def _balance_event(  # noqa: PLR0917 -- small private helper
        self,
        ts: int,
        acct: Account,
        delta: int,
        reason: BalanceReason,
        symbol: str = "",
        operator: str = "",
    ) -> BalanceChanged:
        return BalanceChanged(
            ts=ts,
            account=acct.account,
            delta=delta,
            balance=acct.balance,
            reason=reason,
            symbol=symbol,
            operator=operator,
        )

    def _fund(self, ts: int, delta: int, account: str, reason: BalanceReason) -> Event:
        self.insurance_fund += delta
        return InsuranceFundChanged(
            ts=ts, delta=delta, balance=self.insurance_fund, account=account, reason=reason
        )


_NO_EXPOSURE = (0, 0, 0, 0)


def _worst(  # noqa: PLR0917 -- hot-path arithmetic
    s: int, buys: int, sells: int, buy_pq: int, sell_pq: int, mark: int, f: int, imr: int
) -> int:
    """Worst-case initial margin of position `s` with resting buys/sells (lots, and sums of
    lots x price): all buys or all sells filling, IM at mark (rounded up), plus the loss of
    filling at worse than mark, taken over each side's orders as a whole."""
    mf = mark * f
    b = -(-abs(s + buys) * mf * imr // PPB) + max(0, buy_pq - buys * mark) * f
    a = -(-abs(s - sells) * mf * imr // PPB) + max(0, sells * mark - sell_pq) * f
    return b if b > a else a


def _expose(acct: Account, symbol: str, side: Side, leaves: int, price: int) -> None:
    """Add `leaves` lots at `price` (negative: remove) to the account's exposure."""
    e = acct.exposure.get(symbol)
    if e is None:
        e = acct.exposure[symbol] = [0, 0, 0, 0]
    if side == _BUY:
        e[0] += leaves
        e[2] += leaves * price
    else:
        e[1] += leaves
        e[3] += leaves * price
    if not e[0] and not e[1]:
        del acct.exposure[symbol]


def _mark(mkt: Market) -> int:
    return mkt.mark  # = mark_price or index_price or ref_price (kept so by `Market`)


def _upnl(pos: Position, mkt: Market) -> int:
    return mkt.factor * (pos.size * _mark(mkt) - pos.cost)


def _stale(mkt: Market, ts: int) -> bool:
    limit = mkt.instrument.index_stale_ns
    return bool(limit) and (mkt.index_ts < 0 or ts - mkt.index_ts > limit)
