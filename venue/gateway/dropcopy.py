"""Drop copy: the application for `dropcopy` sessions (brokers, clearing firms).

Every order event of an entitled firm or account becomes an ExecutionReport copy
(`venue.fix.mapping_dropcopy`) for each drop-copy session entitled to it; a broker can ask for
past trades with TradeCaptureReportRequest (35=AD) and gets TradeCaptureReports (35=AE).

Invariants:
- Copies are made at submit time (`Sequencer.subscribe_applied`), right after the engine
  applied the command, and handed to the gateway's `send`, which numbers them and records them
  in the open batch: the copies commit in the *same transaction* as the command that produced
  them. A crash keeps both or neither; a restart re-copies nothing (replay does not call the
  hook) and misses nothing. Copies leave the process only after that commit (DESIGN rule 3);
  a broker that is not logged on gets them by ordinary ResendRequest after its Logon.
- Copies follow journal order: commands in sequence order, events in event order; one
  session's copies take increasing outbound sequence numbers in that order (interleaved only
  with its session-level messages and its own trade-capture answers).
- Wiring: construct before the first order command and `attach` before the first order
  command too; copies made before `attach` are kept and sent by it (then in a later batch than
  their command, which loses the same-transaction guarantee for them only, and is logged).
- A broker sees a copy only when the event's firm is one of its `dropcopy_firms` or the
  event's account one of its `dropcopy_accounts`; the same holds per side in trade reports.
- Trade capture is served from the journal: memory holds only a compact index of the journal
  rows that hold trades (their seqs in an `array('q')`, plus a (position, ts, first trade id)
  sample every 64 rows: under 9 bytes a row, whatever the trades' size), for at most
  `max_trades` trades (oldest rows dropped first). It is rebuilt from the journal at start-up
  (`load`). A request reaching before the oldest trade held
  is refused, never answered incompletely.
- A TradeCaptureReportRequest is answered asynchronously through `send` (in request order per
  DropCopy): once every row the index held when it arrived has committed, the rows in range are
  read with `Journal.read_rows` in chunks and decoded as `load` does, so the answer is the one
  the in-memory records gave and never names a trade a restart could take back. Refusals that
  need no journal (bad request, not entitled) are answered synchronously.
- Copied: every order event (`mapping_dropcopy.COPIERS`), liquidation orders included, and
  auto-deleveraging trades. Not copied: final settlement (its events do not carry the settled
  position size; the core would have to add it).
- A drop-copy session cannot enter orders or ask order-entry questions: BusinessMessageReject
  380=6 (not authorized); other message types 380=3 (unsupported).
- Never raises into the sequencer or the gateway on bad input (DESIGN rule 6).
"""

from __future__ import annotations

import asyncio
import bisect
import contextlib
from array import array
from collections.abc import Callable, Iterable, Iterator, Mapping
from typing import TYPE_CHECKING, Any

import msgspec

from venue.config import SessionConfig
from venue.core.events import (
    AdlExecuted,
    Event,
    OrderAccepted,
    OrderCanceled,
    OrderFilled,
    OrderRejected,
    OrderReplaced,
)
from venue.fix.codec import FixMessage
from venue.fix.mapping_dropcopy import COPIERS, CopyContext, Entitlement, copies
from venue.fix.mapping_num import InstrumentSpec, InstrumentTable
from venue.fix.mapping_out import business_reject
from venue.fix.mapping_trades import (
    TradeQuery,
    TradeRecord,
    TradeRefusal,
    TradeSide,
    decode_trade_request,
    trade_capture_report,
    trade_records,
)
from venue.gateway.application import Outbound
from venue.log import get_logger

if TYPE_CHECKING:
    from venue.core.commands import Command
    from venue.journal import Journal
    from venue.sequencer import Sequencer

__all__ = ["DropCopy"]

_log = get_logger("venue.dropcopy")

Send = Callable[[list[Outbound]], None]

# Messages a trading session would send: a broker asking them is not authorized (380=6).
_ORDER_ENTRY_TYPES = frozenset({b"D", b"F", b"G", b"q", b"H", b"AF", b"x"})
# events without these have no trades (msgspec tags structs by class name)
_FILLED_TAG = b"OrderFilled"
_ADL_TAG = b"AdlExecuted"
_ORDER_EVENTS = (OrderAccepted, OrderFilled, OrderCanceled, OrderReplaced, OrderRejected)
_READ_ROWS = 512  # rows per read_rows call: the journal's statement size, one prepared statement


def _trade_span(events: Iterable[Event]) -> tuple[int, int]:
    """(first, last) trade id among the events of one command; (0, 0) when it has no trade.
    A command's trade ids are consecutive (the core's counter)."""
    first = last = 0
    for ev in events:
        tp = type(ev)
        if tp is OrderFilled or tp is AdlExecuted:
            tid: int = ev.trade_id  # type: ignore[union-attr]
            if not first:
                first = tid
            last = tid
    return first, last


class _TradeIndex:
    """The journal rows that hold trades, ascending: their seqs (`array('q')`, 8 bytes a row)
    and, every `every` rows, a sample of the row's position, ts and first trade id (24 bytes).
    A row's ts and trade ids never decrease from one row to the next, and the trade ids of the
    rows held are contiguous (each one the core assigns is a trade of exactly one row), so the
    samples bound any trade-id or time range to whole sample blocks; the rows at the two ends
    are read and filtered exactly. The first row held is always a sample."""

    def __init__(self, every: int = 64) -> None:
        self.every = max(1, every)
        self.seqs = array("q")
        self.pos = array("q")  # the sample rows' positions in `seqs`
        self.ts = array("q")  # their ts
        self.first = array("q")  # their first trade id
        self.last_trade_id = 0  # of the newest row

    def __len__(self) -> int:
        return len(self.seqs)

    @property
    def trades(self) -> int:
        return self.last_trade_id - self.first[0] + 1 if self.seqs else 0

    @property
    def oldest_ts(self) -> int:
        return self.ts[0]

    def append(self, seq: int, ts: int, first: int, last: int) -> None:
        n = len(self.seqs)
        if not n or n - self.pos[-1] >= self.every:
            self.pos.append(n)
            self.ts.append(ts)
            self.first.append(first)
        self.seqs.append(seq)
        self.last_trade_id = last

    def prepend(self, older: _TradeIndex) -> None:
        if not older.seqs:
            return
        if self.seqs:
            shift = len(older.seqs)
            self.pos = older.pos + array("q", (p + shift for p in self.pos))
        else:
            self.pos = array("q", older.pos)
            self.last_trade_id = older.last_trade_id
        self.seqs[:0] = older.seqs
        self.ts[:0] = older.ts
        self.first[:0] = older.first

    def drop_oldest(self, keep_trades: int) -> int:
        """Drop the oldest sample blocks until at most `keep_trades` trades remain (the newest
        block is always kept). Returns the last trade id dropped (0: none)."""
        k = bisect.bisect_left(self.first, self.last_trade_id + 1 - keep_trades)
        k = min(k, len(self.first) - 1)
        if k <= 0:
            return 0
        rows = self.pos[k]
        del self.seqs[:rows]
        del self.ts[:k]
        del self.first[:k]
        self.pos = array("q", (p - rows for p in self.pos[k:]))
        return self.first[0] - 1

    def rows_for(self, lo_id: int, hi_id: int, from_ts: int, to_ts: int) -> array[int]:
        """The seqs of the rows that may hold trades with ids in [lo_id, hi_id] and times in
        [from_ts, to_ts] (a row's events carry its ts): whole sample blocks."""
        first, ts = self.first, self.ts
        start = max(
            bisect.bisect_right(first, lo_id) - 1,  # blocks before end below lo_id
            bisect.bisect_left(ts, from_ts) - 1,  # blocks before end before from_ts
            0,
        )
        stop = min(bisect.bisect_right(first, hi_id), bisect.bisect_right(ts, to_ts))
        if stop <= start:
            return array("q")
        end = self.pos[stop] if stop < len(self.pos) else len(self.seqs)
        return self.seqs[self.pos[start] : end]


class _AccountFirms(Mapping[str, str]):
    """account → firm: the engine's accounts (an account's firm never changes), then the
    configured ones. Only point lookups are used."""

    def __init__(self, engine: Any, configured: dict[str, str]) -> None:
        self._accounts: Mapping[str, Any] = getattr(engine, "accounts", {})
        self._configured = configured

    def __getitem__(self, account: str) -> str:
        acct = self._accounts.get(account)
        if acct is not None:
            return str(acct.firm)
        return self._configured[account]

    def __iter__(self) -> Iterator[str]:
        return iter(self._configured)

    def __len__(self) -> int:
        return len(self._configured)


class DropCopy:
    """The drop-copy application (see the module docstring). Implements `Application`.

    Construct it before the first order command is submitted, `attach` the gateway's `send`
    before the first order command too, and `await load(journal)` before serving requests.
    `account_firms` (account → firm, e.g. from the config's firms) resolves events that name an
    account but no firm; the trading sessions' accounts are known without it."""

    def __init__(
        self,
        *,
        sequencer: Sequencer,
        sessions: Iterable[SessionConfig],
        send: Send | None = None,
        max_trades: int = 1_000_000,
        max_reports: int = 10_000,
        account_firms: Mapping[str, str] | None = None,
    ) -> None:
        configs = list(sessions)
        self._engine = sequencer.engine
        self._entitled: dict[str, Entitlement] = {
            s.name: Entitlement(
                firms=frozenset(s.dropcopy_firms), accounts=frozenset(s.dropcopy_accounts)
            )
            for s in configs
            if s.role == "dropcopy" and s.enabled
        }
        # every firm and account some broker watches: a command none of whose order events
        # concerns them makes no copies, and is skipped before any copy is built
        self._watched_firms = frozenset().union(*(e.firms for e in self._entitled.values()))
        self._watched_accounts = frozenset().union(*(e.accounts for e in self._entitled.values()))
        self._comp_ids = {s.name: s.client_comp_id for s in configs}
        self._account_firm = dict(account_firms or {})
        for s in configs:
            if s.role == "trading":
                for acct in s.accounts:
                    self._account_firm.setdefault(acct, s.firm)
        self._firms = _AccountFirms(self._engine, self._account_firm)
        self._send = send
        self._table: InstrumentTable = {}
        self._max_trades = max(1, max_trades)
        self._max_reports = max_reports
        self._sequencer = sequencer
        self._index = _TradeIndex(self._sample_every())
        self._dropped_upto = 0  # trades with trade_id <= this were dropped from the index
        self._decode_events = msgspec.msgpack.Decoder(list[Event]).decode
        self._serving: asyncio.Task[None] | None = None  # the last trade capture answer
        self._tasks: set[asyncio.Task[None]] = set()
        self._first_live_seq = 0  # the first seq the hook saw (0: none yet)
        self.copies_sent = 0
        self._early: list[Outbound] = []
        self._ctx: CopyContext | None = None
        sequencer.subscribe_applied(self._on_applied)

    def attach(self, send: Send) -> None:
        """Where copies go: the gateway's `send` (numbers, stores, sends after commit). Copies
        made before (a wiring mistake) are sent now, in order, rather than lost."""
        self._send = send
        if self._early:
            early, self._early = self._early, []
            _log.warning("dropcopy_copies_before_attach", count=len(early))
            send(early)

    @property
    def sessions(self) -> list[str]:
        return list(self._entitled)

    async def load(self, journal: Journal) -> int:
        """Rebuild the trade index from the journal (trades the hook has not seen). Returns the
        number of trades loaded."""
        decode = self._decode_events
        found = _TradeIndex(self._sample_every())

        def on_chunk(rows: list[Any]) -> None:
            for seq, ts, _cmd, raw in rows:
                live = self._first_live_seq  # read each time: the hook may run meanwhile
                if live and seq >= live:
                    return  # the hook has indexed this command and every later one
                if _FILLED_TAG in raw or _ADL_TAG in raw:
                    first, last = _trade_span(decode(raw))
                    if first:
                        found.append(seq, ts, first, last)
            if found.trades > 2 * self._max_trades:
                self._dropped_upto = max(self._dropped_upto, found.drop_oldest(self._max_trades))

        await journal.scan(0, on_chunk, with_events=True)
        loaded = found.trades
        self._insert_history(found)
        _log.info("dropcopy_trades_loaded", trades=loaded, held=self._index.trades)
        return loaded

    async def wait_idle(self) -> None:
        """Until every trade capture request received so far is answered (tests, shutdown)."""
        while self._serving is not None and not self._serving.done():
            await asyncio.wait([self._serving])

    async def close(self) -> None:
        """Cancel the trade capture answers in progress."""
        for task in list(self._tasks):
            task.cancel()
        for task in list(self._tasks):
            with contextlib.suppress(asyncio.CancelledError):
                await task

    # -- the Application seam -----------------------------------------------------------------

    def on_logon(self, session: str, logon: FixMessage | None = None) -> None:
        """Nothing to do: missed copies are recovered by the broker's ResendRequest."""

    def on_logout(self, session: str, clean: bool = False) -> None:
        """Copies keep being numbered and stored for the session while it is away."""

    def on_session_reset(self, session: str) -> None:
        """A sequence reset deletes the stored copies (by the gateway); nothing kept here."""

    def on_message(self, session: str, msg: FixMessage, ts_recv: int) -> list[Outbound]:
        try:
            return self._answer(session, msg)
        except Exception:  # DESIGN rule 6: a bug here costs one answer, not the gateway
            _log.exception("dropcopy_request_failed", session=session)
            return [self._reject(session, msg, 0, "request failed")]

    # -- copies -------------------------------------------------------------------------------

    def _on_applied(self, seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        if self._first_live_seq == 0:
            self._first_live_seq = seq
        if not events:
            return
        first, last = _trade_span(events)
        if first:
            self._add_trade(seq, ts, first, last)
        if not self._entitled or not self._watched(events):
            return
        made = copies(seq, events, self._context())
        if not made:
            return
        outbound: list[Outbound] = []
        for c in made:
            for name, ent in self._entitled.items():
                if ent.sees(c.firm, c.account):
                    outbound.append(Outbound(session=name, msg_type=c.msg_type, body=c.body))
        if not outbound:
            return
        if self._send is None:  # not wired yet: keep them for `attach` (not in this batch)
            self._early += outbound
            return
        self._send(outbound)
        self.copies_sent += len(outbound)

    def _watched(self, events: list[Event]) -> bool:
        """Whether any event may make a copy some broker sees. Order events name their firm
        and account; the others that make copies (ADL, settlement) resolve them per copy."""
        firms, accounts = self._watched_firms, self._watched_accounts
        for ev in events:
            if isinstance(ev, _ORDER_EVENTS):
                if ev.firm in firms or ev.account in accounts:
                    return True
            elif type(ev) in COPIERS:
                return True
        return False

    def _context(self) -> CopyContext:
        table = self._instruments()
        ctx = self._ctx
        if ctx is None or ctx.specs is not table:
            ctx = self._ctx = CopyContext(
                specs=table, comp_ids=self._comp_ids, account_firm=self._firms
            )
        return ctx

    def _instruments(self) -> InstrumentTable:
        markets = self._engine.markets
        if len(markets) != len(self._table):
            self._table = {s: InstrumentSpec(m.instrument) for s, m in markets.items()}
        return self._table

    # -- the trade index ----------------------------------------------------------------------

    def _sample_every(self) -> int:
        """Rows per index sample: 64, fewer for a small `max_trades` (so that trimming, which
        drops whole sample blocks, stays close to the bound)."""
        return max(1, min(64, self._max_trades // 64))

    def _add_trade(self, seq: int, ts: int, first: int, last: int) -> None:
        index = self._index
        index.append(seq, ts, first, last)
        if index.trades > self._max_trades + self._max_trades // 4:
            self._trim()

    def _insert_history(self, older: _TradeIndex) -> None:
        """Put the rows read from the journal before the ones the hook has seen."""
        if not len(older):
            return
        self._index.prepend(older)
        if self._index.trades > self._max_trades:
            self._trim()

    def _trim(self) -> None:
        dropped = self._index.drop_oldest(self._max_trades)
        if dropped:
            self._dropped_upto = max(self._dropped_upto, dropped)

    # -- requests -----------------------------------------------------------------------------

    def _answer(self, session: str, msg: FixMessage) -> list[Outbound]:
        refused = self._refusal(session, msg)
        if refused is not None:
            return [refused]
        prev = self._serving
        task = asyncio.get_running_loop().create_task(self._serve(session, msg, prev))
        self._serving = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        return []

    def _refusal(self, session: str, msg: FixMessage) -> Outbound | None:
        """The answer to a message that needs no journal read; None for a request to serve."""
        if session not in self._entitled:
            return self._reject(session, msg, 6, "not a drop-copy session")
        if msg.msg_type in _ORDER_ENTRY_TYPES:
            return self._reject(session, msg, 6, "a drop-copy session cannot enter orders")
        if msg.msg_type != b"AD":
            return self._reject(session, msg, 3, "Unsupported Message Type")
        decoded = decode_trade_request(msg)
        if isinstance(decoded, TradeRefusal):
            return self._reject(session, msg, decoded.reason, decoded.text)
        return None

    async def _serve(self, session: str, msg: FixMessage, prev: asyncio.Task[None] | None) -> None:
        """Answer one request through `send`, after the previous one (request order)."""
        if prev is not None and not prev.done():
            await asyncio.wait([prev])
        try:
            answer = await self.trade_capture(session, msg)
        except Exception:  # DESIGN rule 6: a bug here costs one answer, not the gateway
            _log.exception("dropcopy_request_failed", session=session)
            answer = [self._reject(session, msg, 0, "request failed")]
        if self._send is None:
            _log.warning("dropcopy_answer_not_sent", session=session, reason="no sender")
            return
        try:
            self._send(answer)
        except Exception:  # the gateway or the sequencer stopped meanwhile
            _log.exception("dropcopy_answer_not_sent", session=session)

    async def trade_capture(self, session: str, msg: FixMessage) -> list[Outbound]:
        """The whole answer to a message of `session`: TradeCaptureReports read from the journal
        for a TradeCaptureReportRequest, else the BusinessMessageReject `on_message` gives."""
        refused = self._refusal(session, msg)
        if refused is not None:
            return [refused]
        decoded = decode_trade_request(msg)
        assert isinstance(decoded, TradeQuery)
        return await self._trade_reports(session, msg, self._entitled[session], decoded)

    async def _committed(self) -> None:
        """Until everything applied so far is committed (at once if the sequencer stopped:
        then only committed rows are read)."""
        seq = self._sequencer
        if seq.committed_seq >= seq.last_seq:
            return
        done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

        def committed() -> None:
            if not done.done():
                done.set_result(None)

        try:
            seq.after_commit(committed)
        except Exception:  # stopped or failed: what is committed is all there will be
            return
        await done

    async def _trade_reports(
        self, session: str, msg: FixMessage, ent: Entitlement, q: TradeQuery
    ) -> list[Outbound]:
        index = self._index
        reaches_back = self._dropped_upto and q.from_trade_id <= self._dropped_upto
        if reaches_back and (not len(index) or q.from_ts < index.oldest_ts):
            text = f"trades up to {self._dropped_upto} are no longer held; ask from a later one"
            return [self._reject(session, msg, 0, text)]
        seqs = index.rows_for(q.from_trade_id, q.to_trade_id, q.from_ts, q.to_ts)
        if seqs:
            await self._committed()
        journal = self._sequencer.journal
        decode = self._decode_events
        found: list[tuple[TradeRecord, list[TradeSide]]] = []
        for start in range(0, len(seqs), _READ_ROWS):
            for seq, _ts, _cmd, raw in await journal.read_rows(seqs[start : start + _READ_ROWS]):
                for rec in trade_records(seq, decode(raw), self._firms):
                    if not q.matches(rec):
                        continue
                    sides = [s for s in rec.sides if ent.sees(s.firm, s.account)]
                    if sides:
                        found.append((rec, sides))
                        if len(found) > self._max_reports:
                            text = f"more than {self._max_reports} trades match; narrow the range"
                            return [self._reject(session, msg, 0, text)]
        if not found:
            return [self._reject(session, msg, 0, "no trades match the request")]
        table = self._instruments()
        total = len(found)
        return [
            Outbound(
                session=session,
                msg_type=b"AE",
                body=trade_capture_report(
                    rec,
                    sides,
                    table.get(rec.symbol),
                    trade_request_id=q.trade_request_id,
                    total=total,
                    last=n == total,
                    comp_ids=self._comp_ids,
                ),
            )
            for n, (rec, sides) in enumerate(found, start=1)
        ]

    def _reject(self, session: str, msg: FixMessage, reason: int, text: str) -> Outbound:
        ref_id = msg.get(568) if msg.msg_type == b"AD" else msg.get(11)
        body = business_reject(
            ref_seq_num=msg.get(34),
            ref_msg_type=msg.msg_type,
            reason=reason,
            text=text,
            ref_id=ref_id or b"",
        )
        return Outbound(session=session, msg_type=b"j", body=body)
