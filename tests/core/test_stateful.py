"""The engine and the naive reference book, side by side on random command streams.

Two perpetuals and a dated future (`BTC-FUT`, expiring at ts `FUT_EXPIRY`): time moves on by
one per command and jumps (`advance_time`, `expire_orders`), so orders and replaces reach a
future at and after its expiry time before and after `ExpireInstrument`.
"""

# ruff: noqa: PLR0917 -- hypothesis rules and event builders take their fields positionally

from __future__ import annotations

import msgspec
from hypothesis import settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, initialize, invariant, rule

from tests.core.helpers import add_accounts, instrument
from tests.core.reference_book import ReferenceBook
from venue.core import (
    AddInstrument,
    CancelOrder,
    CancelRejected,
    Command,
    CommandRejected,
    Engine,
    Event,
    ExpireInstrument,
    ExpireOrders,
    Halt,
    InstrumentKind,
    MassCancel,
    MassCancelRejected,
    NewOrder,
    OrderRejected,
    OrdType,
    ReplaceOrder,
    Resume,
    SetReferencePrice,
    Side,
    StpMode,
    TimeInForce,
)

SYMBOLS = ["BTC-PERP", "ETH-PERP", "BTC-FUT", "NOPE"]
TRADED = ["BTC-PERP", "ETH-PERP", "BTC-FUT"]
FUT_EXPIRY = 160  # ts: the stream starts at 101 and adds one per command
SESSIONS = [("S1", "F1"), ("S2", "F1"), ("S3", "F2")]
REJECTIONS = (OrderRejected, CancelRejected, MassCancelRejected, CommandRejected)

_enc = msgspec.msgpack.Encoder()
_cmd_dec = msgspec.msgpack.Decoder(Command)
_ev_dec = msgspec.msgpack.Decoder(list[Event])

symbols = st.sampled_from(SYMBOLS)
sessions = st.sampled_from(SESSIONS)
cl_ids = st.sampled_from([f"c{i}" for i in range(8)] + [""])
prices = st.integers(min_value=-1, max_value=1070) | st.integers(min_value=940, max_value=1060)
qtys = st.integers(min_value=-1, max_value=12)


def view(book: ReferenceBook | Engine, symbol: str) -> tuple[list[tuple[int, int, int]], ...]:
    if isinstance(book, ReferenceBook):
        return book.book_view(symbol)
    from tests.core.helpers import book_view

    return book_view(book, symbol)


class EngineVsReference(RuleBasedStateMachine):
    def __init__(self) -> None:
        super().__init__()
        self.engine = add_accounts(Engine())
        self.ref = ReferenceBook()
        self.ts = 100
        self.next_cl = 0

    def run(self, cmd: Command) -> list[Event]:
        self.ts += 1
        cmd = msgspec.structs.replace(cmd, ts=self.ts)
        assert _cmd_dec.decode(_enc.encode(cmd)) == cmd
        before = self.engine.state_hash()
        got = self.engine.apply(cmd)
        want = self.ref.apply(cmd)
        assert got == want, f"{cmd}\nengine:    {got}\nreference: {want}"
        assert _ev_dec.decode(_enc.encode(got)) == got
        if len(got) == 1 and isinstance(got[0], REJECTIONS):
            assert self.engine.state_hash() == before, f"rejection changed the state: {got}"
        self.engine.validate_internal_state()
        return got

    @initialize()
    def add_instruments(self) -> None:
        self.run(AddInstrument(instrument=instrument("BTC-PERP")))
        self.run(AddInstrument(instrument=instrument("ETH-PERP", band_ppb=0, ref_price=990)))
        fut = instrument("BTC-FUT", kind=InstrumentKind.FUTURE, expiry_ts=FUT_EXPIRY)
        self.run(AddInstrument(instrument=fut))

    @rule(
        sess=sessions,
        cl=cl_ids,
        symbol=symbols,
        side=st.sampled_from(Side),
        ord_type=st.sampled_from(OrdType),
        price=prices,
        qty=qtys,
        tif=st.sampled_from(TimeInForce),
        expire=st.sampled_from([0, 0, 50, 10_000]),
        post_only=st.booleans(),
        stp_id=st.sampled_from([0, 0, 1]),
        stp_mode=st.sampled_from(StpMode),
        account=st.sampled_from(["A1", "A2"]),
    )
    def new_order(
        self,
        sess: tuple[str, str],
        cl: str,
        symbol: str,
        side: Side,
        ord_type: OrdType,
        price: int,
        qty: int,
        tif: TimeInForce,
        expire: int,
        post_only: bool,
        stp_id: int,
        stp_mode: StpMode,
        account: str,
    ) -> None:
        if ord_type == OrdType.MARKET and price > 0 and price % 3:
            price = 0  # mostly well-formed market orders
        if tif == TimeInForce.GTD and expire == 0:
            expire = 10_000
        if tif != TimeInForce.GTD and expire == 10_000:
            expire = 0
        self.run(
            NewOrder(
                session=sess[0],
                firm=sess[1],
                account=account,
                cl_ord_id=cl,
                symbol=symbol,
                side=side,
                ord_type=ord_type,
                price=price,
                qty=qty,
                tif=tif,
                expire_ts=expire,
                post_only=(post_only and tif in (TimeInForce.GTC, TimeInForce.DAY)) or expire == 50,
                stp_id=stp_id,
                stp_mode=stp_mode,
            )
        )

    def well_formed(
        self,
        sess: tuple[str, str],
        side: Side,
        price: int,
        qty: int,
        tif: TimeInForce,
        stp: int,
        symbol: str = "BTC-PERP",
        ord_type: OrdType = OrdType.LIMIT,
    ) -> None:
        self.next_cl += 1
        self.run(
            NewOrder(
                session=sess[0],
                firm=sess[1],
                account="A1" if self.next_cl % 3 else "A2",
                cl_ord_id=f"k{self.next_cl}",
                symbol=symbol,
                side=side,
                ord_type=ord_type,
                price=price if ord_type == OrdType.LIMIT else 0,
                qty=qty,
                tif=tif,
                expire_ts=self.ts + 500 if tif == TimeInForce.GTD else 0,
                stp_id=stp,
                stp_mode=StpMode(1 + self.next_cl % 3),
            )
        )

    @rule(
        sess=sessions,
        side=st.sampled_from(Side),
        price=st.integers(min_value=990, max_value=1010),
        qty=st.integers(min_value=1, max_value=10),
        tif=st.sampled_from([TimeInForce.GTC, TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD]),
        stp=st.sampled_from([0, 0, 1]),
        symbol=st.sampled_from(["BTC-PERP", "BTC-PERP", "BTC-FUT"]),
    )
    def resting_order(
        self,
        sess: tuple[str, str],
        side: Side,
        price: int,
        qty: int,
        tif: TimeInForce,
        stp: int,
        symbol: str,
    ) -> None:
        self.well_formed(sess, side, price, qty, tif, stp, symbol)

    @rule(
        sess=sessions,
        side=st.sampled_from(Side),
        price=st.integers(min_value=990, max_value=1010),
        qty=st.integers(min_value=1, max_value=10),
        tif=st.sampled_from(TimeInForce),
        stp=st.sampled_from([0, 1]),
        symbol=st.sampled_from(TRADED),
        ord_type=st.sampled_from([OrdType.LIMIT, OrdType.LIMIT, OrdType.MARKET]),
    )
    def taking_order(
        self,
        sess: tuple[str, str],
        side: Side,
        price: int,
        qty: int,
        tif: TimeInForce,
        stp: int,
        symbol: str,
        ord_type: OrdType,
    ) -> None:
        self.well_formed(sess, side, price, qty, tif, stp, symbol, ord_type)

    def live(self, pick: int) -> tuple[int, str, str, str] | None:
        rows = sorted((o.order_id, o.session, o.firm, o.cl_ord_id) for o in self.ref.resting)
        return rows[pick % len(rows)] if rows else None

    @rule(pick=st.integers(min_value=0, max_value=99), by_id=st.booleans())
    def cancel_live(self, pick: int, by_id: bool) -> None:
        row = self.live(pick)
        if row is not None:
            self.next_cl += 1
            self.run(
                CancelOrder(
                    session=row[1],
                    firm=row[2],
                    cl_ord_id=f"x{self.next_cl}",
                    orig_cl_ord_id=row[3],
                    order_id=row[0] if by_id else 0,
                )
            )

    @rule(
        pick=st.integers(min_value=0, max_value=99),
        dprice=st.integers(min_value=-6, max_value=6),
        dqty=st.integers(min_value=-3, max_value=3),
    )
    def replace_live(self, pick: int, dprice: int, dqty: int) -> None:
        row = self.live(pick)
        if row is not None:
            o = next(o for o in self.ref.resting if o.order_id == row[0])
            self.next_cl += 1
            self.run(
                ReplaceOrder(
                    session=row[1],
                    firm=row[2],
                    cl_ord_id=f"k{self.next_cl}",
                    orig_cl_ord_id=row[3],
                    price=o.price + (dprice if abs(dprice) > 2 else 0),
                    qty=o.qty + dqty,
                )
            )

    @rule(sess=sessions, cl=cl_ids, orig=cl_ids, order_id=st.sampled_from([0, 0, 1, 2, 3, 5, 8]))
    def cancel(self, sess: tuple[str, str], cl: str, orig: str, order_id: int) -> None:
        self.run(
            CancelOrder(
                session=sess[0], firm=sess[1], cl_ord_id=cl, orig_cl_ord_id=orig, order_id=order_id
            )
        )

    @rule(
        sess=sessions,
        cl=cl_ids,
        orig=cl_ids,
        order_id=st.sampled_from([0, 0, 0, 1, 2, 4]),
        price=prices,
        qty=qtys,
    )
    def replace(
        self, sess: tuple[str, str], cl: str, orig: str, order_id: int, price: int, qty: int
    ) -> None:
        self.run(
            ReplaceOrder(
                session=sess[0],
                firm=sess[1],
                cl_ord_id=cl,
                orig_cl_ord_id=orig,
                order_id=order_id,
                price=price,
                qty=qty,
            )
        )

    @rule(
        sess=sessions,
        symbol=st.sampled_from(["", *SYMBOLS]),
        account=st.sampled_from(["", "A1"]),
        side=st.sampled_from([None, Side.BUY, Side.SELL]),
        session_only=st.booleans(),
    )
    def mass_cancel(
        self,
        sess: tuple[str, str],
        symbol: str,
        account: str,
        side: Side | None,
        session_only: bool,
    ) -> None:
        self.run(
            MassCancel(
                session=sess[0],
                firm=sess[1],
                cl_ord_id="m",
                symbol=symbol,
                account=account,
                side=side,
                session_only=session_only,
            )
        )

    @rule(include_day=st.booleans(), jump=st.sampled_from([0, 0, 10_000]))
    def expire_orders(self, include_day: bool, jump: int) -> None:
        self.ts += jump
        self.run(ExpireOrders(include_day=include_day))

    @rule(jump=st.sampled_from([5, 20, 60]))
    def advance_time(self, jump: int) -> None:
        """Time passes without a command (the next command's ts jumps), e.g. past the expiry
        time of the future, which the venue has not marked expired yet."""
        self.ts += jump

    @rule(symbol=symbols, what=st.sampled_from(["halt", "resume", "resume", "expire", "ref"]))
    def instrument_admin(self, symbol: str, what: str) -> None:
        if what == "halt":
            self.run(Halt(symbol=symbol))
        elif what == "resume":
            self.run(Resume(symbol=symbol))
        elif what == "expire":
            if self.ts % 7 == 0:  # rarely: it ends trading in that instrument
                self.run(ExpireInstrument(symbol=symbol))
        else:
            self.run(SetReferencePrice(symbol=symbol, ref_price=1000 + self.ts % 21 - 10))

    @invariant()
    def books_agree(self) -> None:
        for symbol in self.engine.markets:
            assert view(self.engine, symbol) == view(self.ref, symbol)

    @invariant()
    def snapshot_round_trips(self) -> None:
        if self.ts % 5 == 0:
            restored = Engine.restore(self.engine.snapshot())
            restored.validate_internal_state()
            assert restored.state_hash() == self.engine.state_hash()
            self.engine = restored  # carry on from the restored engine


EngineVsReference.TestCase.settings = settings(
    max_examples=150, stateful_step_count=60, deadline=None
)
TestEngineVsReference = EngineVsReference.TestCase
