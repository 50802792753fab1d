"""Builders for the derivatives tests: an instrument where one tick on one lot is worth 1 USD.

tick_size 1, lot_size 1, multiplier 1 -> factor = 10^6 money units (1 USD) per tick x lot,
so every worked example below reads in whole USD. Margin: IMR 10 %, maintenance tiers
5 % from 0 and 10 % from 50,000 USD notional (cum = 50,000 x 5 % = 2,500 USD).
"""

from __future__ import annotations

from typing import Any

from venue.core import (
    AddAccount,
    AddInstrument,
    Deposit,
    Engine,
    Event,
    Instrument,
    InstrumentKind,
    MarginTier,
    NewOrder,
    OrdType,
    SetMarkPrice,
    Side,
    TimeInForce,
)

USD = 1_000_000  # money units per USD
SYM = "X-PERP"
TIERS = [MarginTier(0, 50_000_000), MarginTier(50_000 * USD, 100_000_000)]


def x_instrument(symbol: str = SYM, **kw: Any) -> Instrument:
    fields: dict[str, Any] = {
        "symbol": symbol,
        "kind": InstrumentKind.PERPETUAL,
        "tick_size": "1",
        "lot_size": "1",
        "multiplier": "1",
        "ref_price": 1000,
        "band_ppb": 900_000_000,  # +-90 %: the tests move prices a lot
        "max_order_qty": 10_000,
        "imr_ppb": 100_000_000,
        "mm_tiers": TIERS,
    }
    fields.update(kw)
    return Instrument(**fields)


class Venue:
    """An engine with helpers; `ts` advances by one per command."""

    def __init__(self, *instruments: Instrument) -> None:
        self.engine = Engine()
        self.shadow: Engine | None = None  # when set: a restored copy that must agree
        self.ts = 1
        self.n = 0
        for inst in instruments or (x_instrument(),):
            self.apply(AddInstrument(instrument=inst))

    def apply(self, cmd: Any) -> list[Event]:
        self.ts += 1
        import msgspec

        stamped = msgspec.structs.replace(cmd, ts=self.ts)
        events = self.engine.apply(stamped)
        if self.shadow is not None:
            assert self.shadow.apply(stamped) == events, stamped
        return events

    def account(self, name: str, usd: int, leverage: int = 20, **kw: Any) -> None:
        self.apply(AddAccount(firm="F", account=name, max_leverage=leverage, **kw))
        if usd:
            self.apply(Deposit(account=name, amount=usd * USD))

    def order(  # noqa: PLR0917 -- test helper
        self,
        account: str,
        side: Side,
        price: int,
        qty: int,
        symbol: str = SYM,
        tif: TimeInForce = TimeInForce.GTC,
        **kw: Any,
    ) -> list[Event]:
        self.n += 1
        return self.apply(
            NewOrder(
                session=f"S-{account}",
                firm="F",
                account=account,
                cl_ord_id=f"c{self.n}",
                symbol=symbol,
                side=side,
                ord_type=OrdType.LIMIT if price else OrdType.MARKET,
                price=price,
                qty=qty,
                tif=tif,
                **kw,
            )
        )

    def trade(self, buyer: str, seller: str, price: int, qty: int, symbol: str = SYM) -> None:
        """`seller` rests an ask, `buyer` takes it."""
        self.order(seller, Side.SELL, price, qty, symbol)
        events = self.order(buyer, Side.BUY, price, qty, symbol, TimeInForce.IOC)
        filled = sum(getattr(e, "last_qty", 0) for e in events if type(e).__name__ == "OrderFilled")
        assert filled == 2 * qty, events

    def mark(self, price: int, symbol: str = SYM) -> None:
        self.apply(SetMarkPrice(symbol=symbol, price=price))

    def balance(self, account: str) -> int:
        return self.engine.accounts[account].balance

    def size(self, account: str, symbol: str = SYM) -> int:
        pos = self.engine.accounts[account].positions.get(symbol)
        return pos.size if pos is not None else 0

    def check(self) -> None:
        """Conservation, open interest, fund >= 0, account order index, book invariants."""
        e = self.engine
        e.validate_internal_state()
        assert e.total_money() == e.net_deposits
        for symbol in e.markets:
            long, short = e.open_interest(symbol)
            assert long == short, symbol
        assert e.insurance_fund >= 0
        for acct in e.accounts.values():
            want: dict[str, list[int]] = {}
            for order_id, o in acct.orders.items():
                assert e.orders.get(order_id) is o
                x = want.setdefault(o.symbol, [0, 0, 0, 0])
                i = 0 if o.side == Side.BUY else 1
                x[i] += o.qty - o.cum_qty
                x[i + 2] += (o.qty - o.cum_qty) * o.price
            assert acct.exposure == want, (acct.account, acct.exposure, want)
        assert sum(len(a.orders) for a in e.accounts.values()) == len(e.orders)
