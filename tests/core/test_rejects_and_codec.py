"""Every reject reason is reachable and leaves the state unchanged; codec round trips;
`apply` never raises; snapshot/restore on random states."""

from __future__ import annotations

from typing import Any

import msgspec
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.core.helpers import AMPLE, SYMBOL, instrument, new_engine, order
from venue.core import (
    AccountCommandRejected,
    AddAccount,
    AddInstrument,
    ApplyFunding,
    CancelOrder,
    CancelRejected,
    Command,
    CommandRejected,
    Deposit,
    Engine,
    Event,
    ExpireInstrument,
    Halt,
    InstrumentKind,
    Liquidate,
    MassCancel,
    MassCancelRejected,
    OrderRejected,
    OrdType,
    PutCall,
    RejectReason,
    ReplaceOrder,
    Resume,
    SetMarginMode,
    SetOptionMarks,
    SetReferencePrice,
    SettleInstrument,
    Side,
    StpMode,
    TimeInForce,
    Withdraw,
)

BUY, SELL = Side.BUY, Side.SELL
R = RejectReason

# Produced by the FIX edge (decimal conversion) or reserved for later issues, never by the core.
NOT_PRODUCED_BY_CORE = {R.PRICE_OFF_TICK, R.QTY_OFF_LOT, R.RISK_REJECTED}
# Refusals of one mass-quote entry, never of a whole command: tests/core/test_quotes.py
PER_QUOTE_ENTRY = {R.QUOTE_WOULD_CROSS, R.QUOTE_LIMIT_EXCEEDED, R.INVALID_QUOTE, R.MMP_FROZEN}


def _replace(**kw: Any) -> ReplaceOrder:
    fields: dict[str, Any] = {
        "session": "S1",
        "firm": "F1",
        "cl_ord_id": "r",
        "orig_cl_ord_id": "rest",
        "price": 1000,
        "qty": 2,
    }
    fields.update(kw)
    return ReplaceOrder(**fields)


def _prepare(engine: Engine, what: str) -> None:
    if what == "halted":
        engine.apply(Halt(symbol=SYMBOL))
    elif what == "expired":
        engine.apply(ExpireInstrument(symbol=SYMBOL))
    elif what == "partial":
        engine.apply(order("rest", SELL, 1000, 3))
        engine.apply(order("taker", BUY, 1000, 2, session="S2"))
    elif what == "ask":
        engine.apply(order("ask", SELL, 1001, 3, session="S2"))
    elif what == "poor":
        engine.apply(AddAccount(firm="F1", account="P", max_leverage=10))
    elif what == "stale":
        engine.apply(AddInstrument(instrument=instrument("STALE", index_stale_ns=5)))
    elif what == "future":
        engine.apply(
            AddInstrument(
                instrument=instrument("FUT", kind=InstrumentKind.FUTURE, expiry_ts=10**18)
            )
        )
    elif what == "option":
        engine.apply(
            AddInstrument(
                instrument=instrument(
                    "OPT",
                    kind=InstrumentKind.OPTION,
                    expiry_ts=10**18,
                    underlying="X",
                    strike=1000,
                    put_call=PutCall.CALL,
                )
            )
        )
    elif what == "settled":
        engine.apply(ExpireInstrument(symbol=SYMBOL))
        engine.apply(SettleInstrument(symbol=SYMBOL, price=1000))


# reason -> (preparation, command). Each command must answer with exactly one rejection.
REJECT_CASES: dict[RejectReason, tuple[str, Any]] = {
    R.UNKNOWN_INSTRUMENT: ("", order("x", BUY, 1000, 1, symbol="NOPE")),
    R.UNKNOWN_ORDER: ("", CancelOrder(session="S1", firm="F1", cl_ord_id="c", orig_cl_ord_id="z")),
    R.INVALID_QUANTITY: ("", order("x", BUY, 1000, 0)),
    R.PRICE_OUTSIDE_BAND: ("", order("x", BUY, 1051, 1)),
    R.QTY_ABOVE_MAXIMUM: ("", order("x", BUY, 1000, 11)),
    R.DUPLICATE_CL_ORD_ID: ("partial", order("rest", BUY, 990, 1)),
    R.INSTRUMENT_HALTED: ("halted", order("x", BUY, 1000, 1)),
    R.INSTRUMENT_EXPIRED: ("expired", order("x", BUY, 1000, 1)),
    R.POST_ONLY_WOULD_TAKE: ("ask", order("x", BUY, 1001, 1, post_only=True)),
    R.FOK_NOT_FILLABLE: ("ask", order("x", BUY, 1001, 4, tif=TimeInForce.FOK)),
    R.MARKET_NO_LIQUIDITY: ("", order("x", BUY, 0, 1, ord_type=OrdType.MARKET)),
    R.TOO_LATE_TO_CANCEL: (
        "partial",
        CancelOrder(session="S2", firm="F1", cl_ord_id="c", order_id=2),
    ),
    R.INVALID_PRICE: ("", order("x", BUY, 0, 1)),
    R.INVALID_TIF: ("", order("x", BUY, 1000, 1, tif=TimeInForce.GTD, expire_ts=5)),
    R.REPLACE_QTY_NOT_ABOVE_CUM_QTY: ("partial", _replace(qty=2)),
    R.INVALID_ORDER: ("", order("x", BUY, 1000, 1, tif=TimeInForce.IOC, post_only=True)),
    R.DUPLICATE_INSTRUMENT: ("", AddInstrument(instrument=instrument())),
    R.INVALID_INSTRUMENT: ("", AddInstrument(instrument=instrument("X", ref_price=0))),
    R.INVALID_STATE_CHANGE: ("", Resume(symbol=SYMBOL)),
    R.MALFORMED_COMMAND: ("", "not a command"),
    R.UNKNOWN_ACCOUNT: ("", order("x", BUY, 1000, 1, account="NOPE")),
    R.INSUFFICIENT_MARGIN: ("poor", order("x", BUY, 1000, 1, account="P")),
    R.REDUCE_ONLY_WOULD_INCREASE: ("", order("x", BUY, 1000, 1, reduce_only=True)),
    R.INDEX_STALE: ("stale", order("x", BUY, 1000, 1, symbol="STALE")),
    R.DUPLICATE_ACCOUNT: ("", AddAccount(firm="F1", account="A1")),
    R.INVALID_ACCOUNT: ("", AddAccount(firm="F1", account="Z", max_leverage=0)),
    R.INVALID_AMOUNT: ("", Deposit(account="A1", amount=0)),
    R.WITHDRAWAL_EXCEEDS_AVAILABLE: ("", Withdraw(account="A1", amount=AMPLE + 1)),
    R.NOT_LIQUIDATABLE: ("", Liquidate(account="A1")),
    R.INSTRUMENT_NOT_EXPIRED: ("", SettleInstrument(symbol=SYMBOL, price=1000)),
    R.NOT_A_PERPETUAL: ("future", ApplyFunding(symbol="FUT", rate_ppb=100)),
    R.ALREADY_SETTLED: ("settled", SettleInstrument(symbol=SYMBOL, price=1000)),
    R.NOT_AN_OPTION: ("", SetOptionMarks(symbol=SYMBOL, price=10, iv_ppb=500_000_000)),
    R.OPTIONS_CROSS_ONLY: ("option", SetMarginMode(account="A1", symbol="OPT", isolated=True)),
}


def _reason(event: Event) -> RejectReason:
    assert isinstance(
        event,
        OrderRejected
        | CancelRejected
        | MassCancelRejected
        | CommandRejected
        | AccountCommandRejected,
    )
    return event.reason


@pytest.mark.parametrize(("reason", "case"), REJECT_CASES.items(), ids=str)
def test_each_reject_reason_leaves_state_unchanged(
    reason: RejectReason, case: tuple[str, Any]
) -> None:
    engine = new_engine()
    _prepare(engine, case[0])
    before = engine.state_hash()
    events = engine.apply(case[1])
    assert len(events) == 1
    assert _reason(events[0]) == reason
    assert engine.state_hash() == before


def test_every_reject_reason_is_covered() -> None:
    missing = set(RejectReason) - set(REJECT_CASES) - NOT_PRODUCED_BY_CORE - PER_QUOTE_ENTRY
    assert not missing


MORE_REJECTS = [
    ("", order("", BUY, 1000, 1), R.INVALID_ORDER),
    ("", order("x", BUY, 1000, -5), R.INVALID_QUANTITY),
    ("", order("x", BUY, 1000, 1, ord_type=OrdType.MARKET), R.INVALID_PRICE),
    ("", order("x", BUY, 1000, 1, expire_ts=500), R.INVALID_TIF),
    ("", order("x", BUY, 0, 1, ord_type=OrdType.MARKET, post_only=True), R.INVALID_ORDER),
    ("partial", _replace(price=1051, qty=5), R.PRICE_OUTSIDE_BAND),
    ("partial", _replace(qty=11), R.QTY_ABOVE_MAXIMUM),
    ("partial", _replace(cl_ord_id="rest", qty=5), R.DUPLICATE_CL_ORD_ID),
    ("partial", _replace(cl_ord_id="", qty=5), R.INVALID_ORDER),
    ("partial", _replace(qty=0), R.INVALID_QUANTITY),
    ("partial", _replace(price=0, qty=5), R.INVALID_PRICE),
    ("partial", _replace(firm="F2"), R.UNKNOWN_ORDER),
    ("halted", Halt(symbol=SYMBOL), R.INVALID_STATE_CHANGE),
    ("expired", Resume(symbol=SYMBOL), R.INSTRUMENT_EXPIRED),
    ("", Halt(symbol="NOPE"), R.UNKNOWN_INSTRUMENT),
    ("", SetReferencePrice(symbol=SYMBOL, ref_price=0), R.INVALID_PRICE),
    ("", SetReferencePrice(symbol="NOPE", ref_price=5), R.UNKNOWN_INSTRUMENT),
    ("", MassCancel(session="S1", firm="F1", symbol="NOPE"), R.UNKNOWN_INSTRUMENT),
    (
        "",
        AddInstrument(instrument=instrument("F", kind=InstrumentKind.PERPETUAL, expiry_ts=9)),
        R.INVALID_INSTRUMENT,
    ),
    (
        "",
        order("x", BUY, 1000, 1, symbol="FUT", ts=2_000),
        R.INSTRUMENT_EXPIRED,
    ),
]


@pytest.mark.parametrize(("prep", "cmd", "reason"), MORE_REJECTS)
def test_more_rejections(prep: str, cmd: Any, reason: RejectReason) -> None:
    engine = new_engine(
        instrument(), instrument("FUT", kind=InstrumentKind.FUTURE, expiry_ts=1_000)
    )
    _prepare(engine, prep)
    before = engine.state_hash()
    events = engine.apply(cmd)
    assert [_reason(e) for e in events] == [reason]
    assert engine.state_hash() == before


def test_rejections_consume_no_counters() -> None:
    engine = new_engine()
    engine.apply(order("x", BUY, 0, 1))
    accepted = engine.apply(order("y", BUY, 1000, 1))
    assert accepted[0].order_id == 1  # type: ignore[union-attr]
    assert accepted[0].exec_id == 1  # type: ignore[union-attr]


# ---------------------------------------------------------------- codec and robustness

_enc = msgspec.msgpack.Encoder()
INT64 = st.integers(min_value=-(2**63), max_value=2**63 - 1)
small_text = st.sampled_from(["", SYMBOL, "S1", "F1", "A1", "c1"]) | st.text(max_size=4)


def _strategy(tp: Any) -> st.SearchStrategy[Any]:
    """Any value msgspec would decode for annotation `tp` (ints limited to int64)."""
    import enum
    import types
    import typing

    if tp is int:
        return INT64
    if tp is str:
        return small_text
    if tp is bool:
        return st.booleans()
    if isinstance(tp, type) and issubclass(tp, enum.Enum):
        return st.sampled_from(tp)
    if typing.get_origin(tp) is list:
        return st.lists(_strategy(typing.get_args(tp)[0]), max_size=2)
    if isinstance(tp, types.UnionType):
        return st.one_of(*[st.none() if a is type(None) else _strategy(a) for a in tp.__args__])
    return _struct(tp)


def _struct(cls: Any) -> st.SearchStrategy[Any]:
    fields = {f.name: _strategy(f.type) for f in msgspec.structs.fields(cls)}
    return st.builds(cls, **fields)


def _commands() -> st.SearchStrategy[Any]:
    return st.one_of(*[_struct(c) for c in Command.__args__])


def test_every_command_and_event_type_round_trips() -> None:
    engine = new_engine()
    events: list[Event] = []
    for cmd in (
        order("a", SELL, 1001, 3),
        order("b", BUY, 1001, 5, session="S2", tif=TimeInForce.IOC),
        order("c", BUY, 999, 5),
        ReplaceOrder(session="S1", firm="F1", cl_ord_id="d", orig_cl_ord_id="c", price=998, qty=4),
        CancelOrder(session="S1", firm="F1", cl_ord_id="e", orig_cl_ord_id="zz"),
        MassCancel(session="S1", firm="F1", side=Side.BUY),
        MassCancel(session="S1", firm="F1", symbol="NOPE"),
        order("bad", BUY, 1, 1),
        SetReferencePrice(symbol=SYMBOL, ref_price=1001),
        Halt(symbol=SYMBOL),
        Halt(symbol=SYMBOL),
    ):
        assert msgspec.msgpack.decode(_enc.encode(cmd), type=Command) == cmd
        events += engine.apply(cmd)
    kinds = {type(e).__name__ for e in events}
    assert kinds >= {
        "OrderAccepted",
        "OrderFilled",
        "OrderCanceled",
        "OrderReplaced",
        "OrderRejected",
        "CancelRejected",
        "MassCancelCompleted",
        "MassCancelRejected",
        "ReferencePriceChanged",
        "InstrumentStateChanged",
        "CommandRejected",
    }
    decoder = msgspec.msgpack.Decoder(list[Event])
    assert decoder.decode(_enc.encode(events)) == events


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(cmds=st.lists(_commands(), max_size=8))
def test_apply_never_raises_on_any_well_typed_command(cmds: list[Any]) -> None:
    engine = new_engine(instrument(), instrument("S1", band_ppb=0, max_order_qty=10**8))
    decoder = msgspec.msgpack.Decoder(list[Event])
    for cmd in cmds:
        before = engine.state_hash()
        events = engine.apply(cmd)
        assert decoder.decode(_enc.encode(events)) == events
        if len(events) == 1 and type(events[0]).__name__.endswith("Rejected"):
            assert engine.state_hash() == before
        engine.validate_internal_state()


# ---------------------------------------------------------------- snapshot / restore

order_cmds = st.builds(
    lambda i, side, px, qty, tif, stp, sess: order(
        f"o{i}",
        side,
        px,
        qty,
        tif=tif,
        expire_ts=10_000 if tif == TimeInForce.GTD else 0,
        stp_id=stp,
        stp_mode=StpMode.CANCEL_RESTING,
        session=sess,
    ),
    st.integers(min_value=0, max_value=30),
    st.sampled_from(Side),
    st.integers(min_value=990, max_value=1010),
    st.integers(min_value=1, max_value=10),
    st.sampled_from([TimeInForce.GTC, TimeInForce.DAY, TimeInForce.GTD, TimeInForce.IOC]),
    st.sampled_from([0, 1]),
    st.sampled_from(["S1", "S2"]),
)


@settings(max_examples=100, deadline=None)
@given(prefix=st.lists(order_cmds, max_size=40), suffix=st.lists(order_cmds, max_size=10))
def test_snapshot_restore_round_trip(prefix: list[Any], suffix: list[Any]) -> None:
    engine = new_engine()
    for cmd in prefix:
        engine.apply(cmd)
    restored = Engine.restore(engine.snapshot())
    restored.validate_internal_state()
    assert restored.state_hash() == engine.state_hash()
    assert restored.snapshot() == engine.snapshot()
    for cmd in suffix:  # the restored engine behaves identically afterwards
        assert restored.apply(cmd) == engine.apply(cmd)
    assert restored.state_hash() == engine.state_hash()


def test_restore_refuses_another_version() -> None:
    from venue.core.snapshot import StateRecord

    data = msgspec.msgpack.encode(StateRecord(99, 1, 1, 1, [], [], 0, 0, 0))
    with pytest.raises(ValueError, match="version"):
        Engine.restore(data)


@settings(max_examples=50, deadline=None)
@given(cmds=st.lists(order_cmds, max_size=40))
def test_replay_from_empty_reproduces_events_and_hash(cmds: list[Any]) -> None:
    first, second = new_engine(), new_engine()
    assert [first.apply(c) for c in cmds] == [second.apply(c) for c in cmds]
    assert first.state_hash() == second.state_hash()
