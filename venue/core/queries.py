"""`Queries`: the derivatives state read by the FIX, risk and admin sides, and its checks.

Everything here only reads: `mark_price`, `index_price`, `index_stale`, `account_view`,
`position_view` (with exact liquidation and bankruptcy prices), `open_interest`,
`total_money`, `check_accounts` (the invariants of `venue.core.derivatives`, from scratch),
`instrument` (current reference price and state), `snapshot` and `state_hash` (the canonical
encoding of `venue.core.snapshot`). `restore` is the one constructor: it rebuilds a fresh
engine from `snapshot()` bytes, and the restored engine has the same `state_hash()`.
"""

from __future__ import annotations

import hashlib
from fractions import Fraction
from typing import Self

import msgspec

from venue.core.accounts import (
    Account,
    AccountView,
    Position,
    PositionView,
    initial_margin,
)
from venue.core.book import Market
from venue.core.derivatives import _BUY, _mark, _stale, _upnl
from venue.core.prices import PricesAndSettlement
from venue.core.snapshot import decode_accounts, decode_state, encode_state
from venue.core.types import PPB, Instrument

__all__ = ["Queries"]


class Queries(PricesAndSettlement):
    # ------------------------------------------------------------------ queries

    def mark_price(self, symbol: str) -> int | None:
        mkt = self.markets.get(symbol)
        return None if mkt is None else _mark(mkt)

    def index_price(self, symbol: str) -> int | None:
        """The last index price (ticks), or None if unknown or never set."""
        mkt = self.markets.get(symbol)
        return None if mkt is None or mkt.index_ts < 0 else mkt.index_price

    def index_stale(self, symbol: str, ts: int) -> bool:
        mkt = self.markets.get(symbol)
        return mkt is not None and _stale(mkt, ts)

    def account_view(self, account: str) -> AccountView | None:
        acct = self.accounts.get(account)
        if acct is None:
            return None
        upnl = iso = mm = 0
        for pos in acct.positions.values():
            mkt = self.markets[pos.symbol]
            upnl += _upnl(pos, mkt)
            iso += pos.margin
            mm += self._mm(pos, mkt)
        req = self._requirement(acct)
        cross = self._cross_equity(acct)
        return AccountView(
            firm=acct.firm,
            account=acct.account,
            segment=acct.segment,
            max_leverage=acct.max_leverage,
            balance=acct.balance,
            unrealized_pnl=upnl,
            isolated_margin=iso,
            equity=acct.balance + iso + upnl,
            initial_margin=req,
            maintenance_margin=mm,
            available=cross - req,
        )

    def position_view(self, account: str, symbol: str) -> PositionView | None:
        """The position (flat positions too) of a known account in a known instrument."""
        acct = self.accounts.get(account)
        mkt = self.markets.get(symbol)
        if acct is None or mkt is None:
            return None
        pos = acct.positions.get(symbol) or Position(symbol, acct.isolated.get(symbol, False))
        mark = _mark(mkt)
        s = pos.size
        return PositionView(
            account=account,
            symbol=symbol,
            size=s,
            cost=pos.cost,
            entry_price=Fraction(pos.cost, s) if s else None,
            mark_price=mark,
            realized_pnl=pos.realized_pnl,
            unrealized_pnl=_upnl(pos, mkt),
            isolated=pos.isolated,
            margin=pos.margin,
            initial_margin=initial_margin(abs(s) * mark * mkt.factor, self._imr(acct, mkt)),
            maintenance_margin=self._mm(pos, mkt),
            liquidation_price=self._price_where(acct, pos, mkt, maintenance=True),
            bankruptcy_price=self._price_where(acct, pos, mkt, maintenance=False),
        )

    def open_interest(self, symbol: str) -> tuple[int, int]:
        """(long lots, short lots) over all accounts; equal by invariant."""
        long = short = 0
        for acct in self.accounts.values():
            pos = acct.positions.get(symbol)
            if pos is not None:
                if pos.size > 0:
                    long += pos.size
                else:
                    short -= pos.size
        return long, short

    def total_money(self) -> int:
        """Balances + isolated margins + unrealized PnL at mark + fund + fees (conserved)."""
        total = self.insurance_fund + self.fees_collected
        for acct in self.accounts.values():
            total += acct.balance
            for pos in acct.positions.values():
                total += pos.margin + _upnl(pos, self.markets[pos.symbol])
        return total

    def check_accounts(self) -> None:
        """Raise AssertionError naming the first broken derivatives invariant: account order
        indexes and exposures match the resting orders; no flat position is kept; open
        interest balances; money is conserved; the fund is not negative."""

        def check(ok: bool, what: str) -> None:
            if not ok:
                raise AssertionError(what)

        held = 0
        for name, acct in self.accounts.items():
            want: dict[str, list[int]] = {}
            for order_id, o in acct.orders.items():
                check(self.orders.get(order_id) is o, f"{name}: order {order_id} not resting")
                check(o.account == name, f"{name}: order {order_id} of another account")
                x = want.setdefault(o.symbol, [0, 0, 0, 0])
                i = 0 if o.side == _BUY else 1
                x[i] += o.qty - o.cum_qty
                x[i + 2] += (o.qty - o.cum_qty) * o.price
            check(acct.exposure == want, f"{name}: exposure does not match its orders")
            held += len(acct.orders)
            for symbol, pos in acct.positions.items():
                check(pos.size != 0, f"{name}: flat position {symbol} kept")
                check(pos.margin >= 0, f"{name}: negative isolated margin in {symbol}")
        check(held == len(self.orders), "resting orders missing from account indexes")
        for symbol in self.markets:
            long, short = self.open_interest(symbol)
            check(long == short, f"{symbol}: open interest long {long} != short {short}")
        check(self.insurance_fund >= 0, "insurance fund negative")
        check(self.total_money() == self.net_deposits, "money not conserved")

    def _price_where(
        self, acct: Account, pos: Position, mkt: Market, maintenance: bool
    ) -> Fraction | None:
        """The mark price (exact ticks) at which the position's backing equity equals its
        maintenance margin (liquidation price) or zero (bankruptcy price), other positions
        at their current marks. None if flat or no positive price does it."""
        s = pos.size
        if s == 0:
            return None
        f = mkt.factor
        if pos.isolated:
            base = pos.margin
            other_mm = 0
        else:
            base = acct.balance
            other_mm = 0
            for p in acct.positions.values():
                if p is not pos and not p.isolated:
                    m2 = self.markets[p.symbol]
                    base += _upnl(p, m2)
                    other_mm += self._mm(p, m2) if maintenance else 0
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

    # ------------------------------------------------------------------ instrument, snapshot

    def instrument(self, symbol: str) -> Instrument | None:
        """The instrument with its current reference price and state, or None if unknown."""
        mkt = self.markets.get(symbol)
        if mkt is None:
            return None
        inst = mkt.instrument
        if inst.ref_price != mkt.ref_price or inst.state != mkt.state:
            inst = msgspec.structs.replace(inst, ref_price=mkt.ref_price, state=mkt.state)
        return inst

    def snapshot(self) -> bytes:
        """msgspec msgpack of the whole state, in canonical order (see `venue.core.snapshot`)."""
        return encode_state(
            self.next_order_id,
            self.next_exec_id,
            self.next_trade_id,
            self.markets,
            self.accounts,
            (self.insurance_fund, self.fees_collected, self.net_deposits),
        )

    def state_hash(self) -> str:
        """Hex sha256 of the canonical snapshot encoding."""
        return hashlib.sha256(self.snapshot()).hexdigest()

    @classmethod
    def restore(cls, data: bytes) -> Self:
        """Rebuild an engine from `snapshot()` bytes (same `state_hash()`)."""
        rec, markets, orders = decode_state(data)
        engine = cls()
        engine.next_order_id = rec.next_order_id
        engine.next_exec_id = rec.next_exec_id
        engine.next_trade_id = rec.next_trade_id
        engine.markets = markets
        engine.accounts = decode_accounts(rec)
        engine.insurance_fund = rec.insurance_fund
        engine.fees_collected = rec.fees_collected
        engine.net_deposits = rec.net_deposits
        for o in orders:  # ascending order_id
            engine._index(o)
        return engine
