"""Composition root and the `venue` command: the only module that wires everything.

Invariants:
- Start-up order: configuration → journal recovery (snapshot + tail, chain and events checked,
  the durable marker compared) → instruments added as sequenced commands → sequencer → gateway
  listening. Ports open only after recovery. The history before the newest snapshot is checked
  after `venue_ready`, in the background; damage there is logged as an error and shown by
  `venue-admin status`.
- A journal loss accepted with `--accept-journal-loss` is journaled (`RecordAdminAction`
  `journal.accept_loss`) before any other command of this run.
- Shutdown order is the reverse; the sequencer flushes and commits before the journal closes.
- Replicated (`[replication]`): the node follows the stream as a standby (its admin socket
  answers `status`) until it holds the lease; promotion hands the caught-up engine and journal
  to the same start path (no second recovery) with the feed's resume point, and the sequencer
  releases a batch only once the stream acknowledged it. A fenced node exits 4; a node that
  stepped down (`venue-admin failover`) follows again.
- Every failure a person can cause (bad configuration, corrupt journal, port in use) ends the
  process with one clear line on stderr and a non-zero exit, never a traceback.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import ctypes
import gc
import json
import os
import pwd
import signal
import sys
from collections.abc import Awaitable
from pathlib import Path
from typing import Any

import msgspec
import uvloop
from prometheus_client import CollectorRegistry

from venue import log
from venue.admin import archive_cli
from venue.admin.argv import globals_anywhere
from venue.admin.custody import Custody
from venue.admin.custody_ops import CustodyOps, load_custody
from venue.admin.ops import AdminOps, ReplicationOps, StandbyOps
from venue.admin.server import AdminServer, AdminSocketInUse
from venue.admin.tape import Tape
from venue.clock import Clock, LiveClock
from venue.config import (
    ConfigError,
    VenueConfig,
    account_commands,
    configured_options,
    impact_notionals,
    instrument_from_config,
    load_config,
    margin_mode_commands,
)
from venue.config_quoting import mmp_commands
from venue.config_surveillance import SurveillanceConfig
from venue.core import AddInstrument, Engine, RecordAdminAction
from venue.demo import run_demo
from venue.fix.dictionary import load_dictionary
from venue.gateway import Gateway
from venue.gateway.dropcopy import DropCopy
from venue.gateway.fixlog import FixMessageLog
from venue.gateway.funding import FundingReports
from venue.gateway.marketdata_fix import FixMarketData
from venue.gateway.order_entry import OrderEntry, gateway_sender
from venue.gateway.positions import MSG_TYPES as POSITION_MSG_TYPES
from venue.gateway.positions import PositionsApplication
from venue.gateway.restart_cancel import RestartCancel
from venue.gateway.roles import RoleRouter
from venue.gateway.tls import make_server_context
from venue.journal import Journal, JournalError
from venue.journal.files import DIR_MODE
from venue.journal.history import HistoryCheck
from venue.journal.recovery import recover
from venue.journal.verify import main as verify_main
from venue.marketdata import MarketDataPublisher
from venue.marketdata.levels import LevelFeed
from venue.marketdata.publisher import FeedResume
from venue.marketdata.shadow import FeedShadow
from venue.metrics import MetricsServer, VenueMetrics
from venue.replication import ReplicaNode, ReplicationError
from venue.reports.cli import main as report_main
from venue.risk.expiry import OrderExpiry, run_expiry
from venue.risk.monitor import RiskMonitor, run_monitor
from venue.sequencer import Sequencer
from venue.surveillance import AlertStore, AlertStoreError, LiveSurveillance
from venue.surveillance.offline import main as surveil_main

_log = log.get_logger("venue.app")

EXIT_OK = 0
EXIT_USAGE = 2
EXIT_CONFIG = 3
EXIT_JOURNAL = 4
EXIT_RUNTIME = 5
EXIT_STEPPED_DOWN = -1  # internal: a replicated primary handed over and follows again


class Venue:
    """The whole venue in one object: recover, start, serve, stop.

    Tests start it in-process (`await venue.start()` with `gateway.port = 0`); `venue run` starts it
    from the command line and stops it on SIGINT/SIGTERM.
    """

    def __init__(
        self,
        cfg: VenueConfig,
        *,
        clock: Clock | None = None,
        create: bool = True,
        accept_journal_loss: bool = False,
        recovered: tuple[Engine, Journal] | None = None,
        replication: ReplicaNode | None = None,
        feed_resume: FeedResume | None = None,
    ) -> None:
        self.cfg = cfg
        # a replicated node hands over its caught-up engine and journal (promotion)
        self._recovered = recovered
        self.replication = replication
        self._feed_resume = feed_resume  # a promoted standby continues the primary's feed
        self.stop_reason = ""  # why a replicated primary stopped (fenced, stepped down)
        self.clock: Clock = clock if clock is not None else LiveClock()
        self.create = create
        self.accept_journal_loss = accept_journal_loss
        self.history: HistoryCheck | None = None
        self.log = log.get_logger("venue.app")
        self.journal: Journal | None = None
        self.sequencer: Sequencer | None = None
        self.gateway: Gateway | None = None
        self.order_entry: OrderEntry | None = None
        self.router: RoleRouter | None = None
        self.marketdata: MarketDataPublisher | None = None
        self.expiry: OrderExpiry | None = None
        self.admin: AdminServer | None = None
        self.risk: RiskMonitor | None = None
        self.dropcopy: DropCopy | None = None
        self.funding_reports: FundingReports | None = None
        self.fix_marketdata: FixMarketData | None = None
        self.restart_cancel: RestartCancel | None = None
        self.message_log: FixMessageLog | None = None
        self.metrics: VenueMetrics | None = None
        self.metrics_server: MetricsServer | None = None
        self.surveillance: LiveSurveillance | None = None
        self.surveillance_process: asyncio.subprocess.Process | None = None
        self._alert_store: AlertStore | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.stopped = asyncio.Event()

    @property
    def fix_port(self) -> int:
        return self.gateway.port if self.gateway is not None else 0

    async def start(self) -> None:
        """Recover, then open for business. Raises ConfigError, JournalError or StartupError."""
        cfg = self.cfg
        instruments = [instrument_from_config(i, cfg.source) for i in cfg.instruments]
        instruments += configured_options(cfg)
        ssl_context = make_server_context(cfg.gateway.tls) if cfg.gateway.tls is not None else None
        dictionary = load_dictionary()
        db = Path(cfg.journal.path)
        if self.create:
            problem = journal_location_problem(db)
            if problem is not None:
                raise JournalError(problem)
            if not db.parent.exists():
                try:  # journal files are the owner's only
                    db.parent.mkdir(mode=DIR_MODE, parents=True)
                except OSError as exc:
                    raise JournalError(
                        f"journal.path {db}: cannot create {db.parent}: {exc.strerror or exc}"
                    ) from exc
        if self._recovered is not None:
            engine, journal = self._recovered
            last_seq = journal.last_seq
        else:
            engine, journal, last_seq = await recover(
                db,
                synchronous=cfg.journal.synchronous,
                clock=self.clock,
                create=self.create,
                accept_loss=self.accept_journal_loss,
            )
        self.journal = journal
        report = journal.recovery
        self.log.info(
            "journal_recovered",
            path=str(db),
            last_seq=last_seq,
            snapshot_seq=report.snapshot_seq if report else 0,
            replayed=report.replayed if report else 0,
            duration_ms=report.duration_ns // 1_000_000 if report else 0,
        )
        seq = self.sequencer = Sequencer(
            engine,
            journal,
            self.clock,
            snapshot_every_commands=cfg.journal.snapshot_every_commands,
            snapshot_every_ns=cfg.journal.snapshot_every_seconds * 1_000_000_000,
            # replicated: a batch is one stream message, bounded by the servers' max_payload
            max_batch=self.replication.link.batch_limit() if self.replication else 4096,
        )
        seq.on_failure(self._on_journal_failure)
        if self.replication is not None and self.replication.publisher is not None:
            # nothing of a batch is released before the stream acknowledged it
            seq.set_replicator(self.replication.publisher.publish)
            self.replication.on_lease_lost(self._on_lease_lost)
        # The feed must see every command from the first one after recovery on.
        if cfg.marketdata.enabled:
            self.marketdata = MarketDataPublisher(
                cfg.marketdata, seq, self.clock, resume=self._feed_resume
            )
            if self.replication is not None and self.replication.publisher is not None:
                md = self.marketdata
                self.replication.publisher.feed_position = lambda: (md.session, md.next_seq)
        # FIX market data (35=V/W/X/Y) reads the committed book too: before the first submit.
        self.fix_marketdata = FixMarketData(
            sequencer=seq,
            sessions=cfg.sessions,
            levels=LevelFeed(  # shares the feed's translation of each batch when the feed runs
                engine,
                self.clock.now_ns(),
                shared=self.marketdata.committed_translator if self.marketdata else None,
            ),
        )
        self.expiry = OrderExpiry(engine, last_ts=journal.last_ts, now_ns=self.clock.now_ns())
        seq.subscribe(self.expiry.on_committed)
        self.risk = RiskMonitor(
            engine,
            cfg.risk,
            now_ns=self.clock.now_ns(),
            impact_notional=impact_notionals(cfg),
        )
        seq.subscribe(self.risk.on_committed)
        alerts_path = cfg.surveillance.alerts_path or str(db.parent / "surveillance.db")
        if cfg.surveillance.enabled:
            try:
                self._alert_store = AlertStore.open(alerts_path, create=self.create)
            except AlertStoreError as exc:
                raise StartupError(str(exc)) from exc
            if cfg.surveillance.run == "task":
                # queued by the subscriber, judged by its own task
                self.surveillance = LiveSurveillance(cfg.surveillance, self._alert_store)
                seq.subscribe(self.surveillance.on_committed)
            else:  # a process of its own follows the journal file: off the order path
                self._alert_store.close()
                self._alert_store = None
                self.surveillance_process = await start_follower(
                    str(db), alerts_path, cfg.surveillance, start_seq=last_seq + 1
                )
        await seq.start()
        if report is not None and report.lost:
            self.log.warning("journal_loss_accepted", path=str(db), lost=report.lost)
            seq.submit(
                RecordAdminAction(
                    operator=f"{_os_user()}/venue-run",
                    action="journal.accept_loss",
                    detail=f"started with --accept-journal-loss: {report.lost}",
                )
            )
        new_symbols = {i.symbol for i in instruments if engine.instrument(i.symbol) is None}
        new_accounts = {a for f in cfg.firms for a in f.accounts if a not in engine.accounts}
        for inst in instruments:
            if inst.symbol in new_symbols:
                seq.submit(AddInstrument(instrument=inst))
        for account_cmd in account_commands(cfg, engine.accounts):
            seq.submit(account_cmd)
        for mode_cmd in margin_mode_commands(cfg, new_accounts, new_symbols):
            seq.submit(mode_cmd)  # the firms' default margin mode (RoE section 15)
        for mmp_cmd in mmp_commands(cfg.sessions, instruments, engine.state.mmp):
            seq.submit(mmp_cmd)  # market-maker protection from the session files
        self.order_entry = OrderEntry(sequencer=seq, sessions=cfg.sessions)
        # Drop copies are made at submit time and join their command's batch (RoE section 12).
        self.dropcopy = DropCopy(
            sequencer=seq,
            sessions=cfg.sessions,
            account_firms={a: f.name for f in cfg.firms for a in f.accounts},
        )
        await self.dropcopy.load(journal)
        # Funding payments reach the account's trading sessions (RoE section 14), in the
        # funding's own batch like drop copies.
        self.funding_reports = FundingReports(sequencer=seq, sessions=cfg.sessions)
        # Order entry is the default application; other roles register on the router.
        self.router = RoleRouter(cfg.sessions, default=self.order_entry)
        self.router.register(
            PositionsApplication(engine=engine, sessions=cfg.sessions),
            roles=["trading"],
            msg_types=POSITION_MSG_TYPES,
        )
        # Before drop copy: a drop-copy session's V is refused by market data's entitlement check.
        self.router.register(
            self.fix_marketdata, roles=["marketdata", "trading", "dropcopy"], msg_types=[b"V"]
        )
        self.router.register(self.dropcopy, roles=["dropcopy"])
        if cfg.fixlog.enabled:
            self.message_log = FixMessageLog(
                db.parent / "fixlog",
                heartbeats=cfg.fixlog.heartbeats,
                max_bytes=cfg.fixlog.max_bytes,
                backups=cfg.fixlog.backups,
            )
        self.gateway = Gateway(
            message_log=self.message_log,
            config=cfg.gateway,
            sessions=cfg.sessions,
            sequencer=seq,
            journal=journal,
            clock=self.clock,
            dictionary=dictionary,
            ssl_context=ssl_context,
            application=self.router,
        )
        self.order_entry.attach(gateway_sender(self.gateway))
        self.dropcopy.attach(self.gateway.send)
        self.funding_reports.attach(self.gateway.send)
        self.fix_marketdata.attach(self.gateway.send)
        if self.marketdata is not None:
            try:
                await self.marketdata.start()
            except OSError as exc:
                raise StartupError(
                    f"cannot open the market data ports: {exc.strerror or exc}"
                ) from exc
        try:
            await self.gateway.start()
        except OSError as exc:
            raise StartupError(
                f"cannot listen for FIX on {cfg.gateway.host}:{cfg.gateway.port}: {exc.strerror}"
            ) from exc
        # Cancel on disconnect across the stop (crash, restart, failover): RoE section 9. A
        # promoted standby comes through this same start path (`_serve` hands the caught-up
        # engine to `Venue.start`), so the rule applies after a failover too.
        gateway = self.gateway
        self.restart_cancel = RestartCancel(
            sequencer=seq,
            sessions=cfg.sessions,
            logons=lambda name: gateway.slots[name].logons,
            grace_seconds=cfg.gateway.cancel_on_restart_grace_seconds,
            enabled=cfg.gateway.cancel_on_restart,
        )
        self.restart_cancel.start()
        self._tasks.append(
            asyncio.create_task(run_expiry(self.expiry, seq, self.clock), name="order-expiry")
        )
        self._tasks.append(
            asyncio.create_task(run_monitor(self.risk, seq, self.clock), name="risk-monitor")
        )
        tape = Tape()  # recent trades and funding for the admin, from committed events
        seq.subscribe(tape.on_committed)
        if self.surveillance is not None:
            self._tasks.append(
                asyncio.create_task(
                    self.surveillance.run(journal, last_seq, self.clock.monotonic_ns),
                    name="surveillance",
                )
            )
        ops = AdminOps(
            tape=tape,
            sequencer=seq,
            sessions=self.gateway,
            kill_switch=self.order_entry,
            journal_path=str(db),
            now_ns=self.clock.now_ns,
            mono_ns=self.clock.monotonic_ns,
            snapshot_now=seq.snapshot_now,
            replication=self._replication_ops(),
            history=self._history_status,
        )
        if cfg.custody.enabled:  # withdrawals become M-of-N approved requests
            custody = Custody(cfg.custody)
            await load_custody(journal, custody)
            CustodyOps(ops, custody)
        self.admin = AdminServer(ops, cfg.admin.socket)
        try:
            await self.admin.start()
        except (OSError, AdminSocketInUse) as exc:
            self.admin = None
            raise StartupError(f"cannot open the admin socket {cfg.admin.socket}: {exc}") from exc
        if cfg.metrics.enabled:
            await self._start_metrics()
        self.log.info(
            "venue_ready",
            metrics_port=self.metrics_server.port if self.metrics_server else None,
            role="primary" if self.replication is not None else "single",
            fix_port=self.fix_port,
            sessions=len(cfg.sessions),
            feed_session=self.marketdata.session if self.marketdata else None,
        )
        self.history = HistoryCheck(
            db, until_seq=report.snapshot_seq if report else 0, after=journal.base
        )
        self._tasks.append(asyncio.create_task(self._check_history(), name="journal-history"))

    def _history_status(self) -> dict[str, object]:
        return self.history.status() if self.history is not None else {"state": "pending"}

    async def _check_history(self) -> None:
        """The rows up to the newest snapshot, after `venue_ready` (see `journal.history`)."""
        check = self.history
        assert check is not None
        await check.run()
        if check.state == "ok":
            self.log.info("journal_history_checked", rows=check.rows, until_seq=check.until_seq)
        elif check.state != "stopped":
            self.log.error("journal_history_damaged", state=check.state, detail=check.detail)

    async def _start_metrics(self) -> None:
        """Prometheus `/metrics` (venue.metrics): the numbers are kept on the loop's thread,
        per batch where possible, and turned into metric families only when scraped."""
        seq, cfg = self.sequencer, self.cfg.metrics
        assert seq is not None and self.order_entry is not None
        metrics = self.metrics = VenueMetrics(
            engine=seq.engine,
            now_ns=self.clock.now_ns,
            mono_ns=self.clock.monotonic_ns,
            journal_seqs=lambda: (seq.last_seq, seq.committed_seq),
            sessions=self.gateway,
            feed=self.marketdata,
        )
        seq.subscribe(metrics.on_committed)
        seq.batch_observers.append(metrics.on_batch)
        self.order_entry.on_submitted = metrics.order_submitted
        self._tasks.append(asyncio.create_task(metrics.watch_loop_lag(), name="loop-lag"))
        registry = CollectorRegistry(auto_describe=False)
        registry.register(metrics)
        self.metrics_server = MetricsServer(registry, cfg.host, cfg.port)
        try:
            await self.metrics_server.start()
        except OSError as exc:
            self.metrics_server = None
            raise StartupError(
                f"cannot serve metrics on {cfg.host}:{cfg.port}: {exc.strerror or exc}"
            ) from exc

    def _replication_ops(self) -> ReplicationOps | None:
        node = self.replication
        if node is None:
            return None

        async def failover() -> dict[str, object]:
            self.stop_reason = "stepped down"
            self.stopped.set()
            return {"stepping_down": node.cfg.node_id}

        return ReplicationOps(status=node.status, failover=failover)

    def _on_lease_lost(self, exc: BaseException) -> None:
        self.stop_reason = f"fenced: {exc}"
        self.stopped.set()

    def _on_journal_failure(self, exc: BaseException) -> None:
        self.log.critical("journal_failed_stopping", error=str(exc))
        self.stopped.set()

    async def stop(self) -> None:
        """Stop in the reverse order of start; safe after a partial start. Whatever fails on
        the way (a part's stop, a log line), the journal is closed and `stopped` set."""
        try:
            await self._stop_parts()
        finally:
            await self._close_journal()
            self.stopped.set()

    async def _stop_parts(self) -> None:
        if self.metrics_server is not None:
            server, self.metrics_server = self.metrics_server, None
            await self._stop_step("metrics", server.stop())
        if self.admin is not None:
            admin, self.admin = self.admin, None
            await self._stop_step("admin", admin.stop())
        if self.restart_cancel is not None:
            await self._stop_step("restart-cancel", self.restart_cancel.stop())
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self._tasks.clear()
        if self.dropcopy is not None:  # trade-capture answers in progress read the journal
            await self._stop_step("dropcopy", self.dropcopy.close())
        if self.gateway is not None:
            await self._stop_step("gateway", self.gateway.stop())
        if self.message_log is not None:
            message_log, self.message_log = self.message_log, None
            message_log.close()
        if self.sequencer is not None:
            await self._stop_step("sequencer", self.sequencer.stop())
        if self.marketdata is not None:
            await self._stop_step("marketdata", self.marketdata.stop())
        if self.surveillance_process is not None:
            process, self.surveillance_process = self.surveillance_process, None
            await self._stop_step("surveillance", stop_follower(process))
        if self._alert_store is not None:
            store, self._alert_store = self._alert_store, None
            store.close()

    async def _stop_step(self, part: str, step: Awaitable[object]) -> None:
        try:
            await step
        except Exception as exc:
            self.log.error("stop_failed", part=part, error=str(exc))

    async def _close_journal(self) -> None:
        journal, self.journal = self.journal, None
        if journal is None:
            return
        seq = self.sequencer.committed_seq if self.sequencer is not None else journal.last_seq
        await journal.close()
        self.log.info("journal_closed", path=self.cfg.journal.path, seq=seq)


def _say(line: str) -> None:
    """One line on stderr for a person; a stderr that has gone is no reason to fail."""
    with contextlib.suppress(OSError, ValueError):
        print(line, file=sys.stderr)


async def start_follower(
    db: str, alerts_path: str, settings: SurveillanceConfig, *, start_seq: int
) -> asyncio.subprocess.Process:
    """The surveillance process (`venue surveil --follow`), at idle priority, stopped with
    the venue (and killed by the kernel should the venue die)."""
    # private like the journal's files; the child keeps its own descriptor
    log_file = os.open(f"{alerts_path}.log", os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o600)
    try:
        return await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "venue",
            "surveil",
            "--db",
            db,
            "--follow",
            "--alerts",
            alerts_path,
            "--start-seq",
            str(start_seq),
            "--settings",
            msgspec.json.encode(settings).decode(),
            "--watch-parent",
            stdin=asyncio.subprocess.DEVNULL,
            stdout=asyncio.subprocess.DEVNULL,
            # never the venue's own stderr: whoever reads it to its end would wait for this
            # process too; its failures go to a file beside the alerts
            stderr=log_file,
            preexec_fn=_die_with_parent,
        )
    finally:
        os.close(log_file)


def _libc_prctl() -> Any:
    try:
        return ctypes.CDLL(None, use_errno=True).prctl
    except (OSError, AttributeError):  # not Linux: --watch-parent remains
        return None


_PRCTL = _libc_prctl()  # looked up here: the forked child only calls it


def _die_with_parent() -> None:
    """In the child, before exec: SIGKILL when the venue dies (Linux prctl PR_SET_PDEATHSIG),
    so a killed venue never leaves its surveillance process behind."""
    if _PRCTL is not None:
        _PRCTL(1, int(signal.SIGKILL))  # PR_SET_PDEATHSIG = 1


async def stop_follower(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        with contextlib.suppress(ProcessLookupError):
            proc.terminate()
        try:
            await asyncio.wait_for(proc.wait(), 10)
        except TimeoutError:
            proc.kill()
            await proc.wait()


class StartupError(Exception):
    """A start-up problem a person can fix (a port in use): one line, no traceback."""


def _os_user() -> str:
    try:
        return pwd.getpwuid(os.getuid()).pw_name
    except KeyError:
        return str(os.getuid())


async def _serve(cfg: VenueConfig, ready_file: str | None, accept_loss: bool = False) -> int:
    # The journal commits on aiosqlite's thread; with the default 5 ms switch interval that
    # thread waits for the event loop to give up the GIL, which stretches commit latency.
    sys.setswitchinterval(0.0002)
    shutdown = asyncio.Event()
    loop = asyncio.get_running_loop()
    signals: list[str] = []

    def on_signal(sig: signal.Signals) -> None:
        """The first SIGINT/SIGTERM stops cleanly; another one during the stop exits at once
        (the journal is safe either way: an uncommitted batch was never acknowledged)."""
        signals.append(sig.name)
        if len(signals) == 1:
            _log.info("stopping", signal=sig.name)
            shutdown.set()
        else:
            _log.warning("stop_forced", signals=signals)
            os._exit(EXIT_RUNTIME)

    for sig in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(sig, on_signal, sig)
    if cfg.replication is not None:
        return await _serve_replicated(cfg, ready_file, shutdown)
    return await _serve_venue(Venue(cfg, accept_journal_loss=accept_loss), ready_file, shutdown)


async def _serve_venue(venue: Venue, ready_file: str | None, shutdown: asyncio.Event) -> int:
    """Start `venue`, serve until it stops or `shutdown` is set, stop it; the exit status."""
    try:
        await venue.start()
    except JournalError as exc:
        await venue.stop()
        _say(f"venue: journal: {exc}")
        return EXIT_JOURNAL
    except ConfigError as exc:
        await venue.stop()
        _say(f"venue: configuration: {exc}")
        return EXIT_CONFIG
    except StartupError as exc:
        await venue.stop()
        _say(f"venue: {exc}")
        return EXIT_RUNTIME
    except BaseException:
        await venue.stop()  # close the journal so its thread cannot keep the process alive
        raise
    gc.freeze()  # start-up objects (recovered state, code) leave the collector's view
    if ready_file:
        tmp = f"{ready_file}.tmp"
        Path(tmp).write_text(json.dumps({"fix_port": venue.fix_port, "pid": os.getpid()}))
        Path(tmp).replace(ready_file)
    waiters = [asyncio.create_task(shutdown.wait()), asyncio.create_task(venue.stopped.wait())]
    await asyncio.wait(waiters, return_when=asyncio.FIRST_COMPLETED)
    for task in waiters:
        task.cancel()
    await venue.stop()
    failure = venue.sequencer.failed if venue.sequencer is not None else None
    if venue.stop_reason.startswith("fenced") or failure is not None:
        why = venue.stop_reason if failure is None else str(failure)
        _say(f"venue: stopped, releasing nothing more: {why}")
        return EXIT_JOURNAL
    return EXIT_STEPPED_DOWN if venue.stop_reason == "stepped down" else EXIT_OK


async def _serve_replicated(
    cfg: VenueConfig, ready_file: str | None, shutdown: asyncio.Event
) -> int:
    """A replicated node: follow the stream as a standby until the lease is ours, serve as
    primary; after a deliberate step-down (`venue-admin failover`) follow again."""
    assert cfg.replication is not None
    node = ReplicaNode(
        cfg.replication,
        db=Path(cfg.journal.path),
        synchronous=cfg.journal.synchronous,
        create=True,
    )
    Path(cfg.journal.path).parent.mkdir(parents=True, exist_ok=True)
    connecting = asyncio.create_task(node.connect())
    waiter = asyncio.create_task(shutdown.wait())
    await asyncio.wait([connecting, waiter], return_when=asyncio.FIRST_COMPLETED)
    waiter.cancel()
    if not connecting.done():  # stopped while NATS was still out of reach
        connecting.cancel()
        with contextlib.suppress(asyncio.CancelledError, ReplicationError):
            await connecting
        await node.close()
        return EXIT_OK
    try:
        connecting.result()
    except ReplicationError as exc:
        _say(f"venue: replication: {exc}")
        await node.close()
        return EXIT_RUNTIME
    try:
        first = True
        while True:
            # while it follows, the node answers `venue-admin status` on its admin socket
            standby_admin = AdminServer(StandbyOps(node.status), cfg.admin.socket)
            try:
                await standby_admin.start()
            except (OSError, AdminSocketInUse) as exc:
                print(
                    f"venue: cannot open the admin socket {cfg.admin.socket}: {exc}",
                    file=sys.stderr,
                )
                return EXIT_RUNTIME
            # a new shadow of the primary's feed for each time this node follows
            shadow = FeedShadow(cfg.marketdata.history_messages) if cfg.marketdata.enabled else None
            node.observer = shadow
            promoted = asyncio.create_task(node.until_primary(first=first), name="replication")
            waiter = asyncio.create_task(shutdown.wait())
            await asyncio.wait([promoted, waiter], return_when=asyncio.FIRST_COMPLETED)
            waiter.cancel()
            await standby_admin.stop()
            if not promoted.done():
                promoted.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await promoted
                return EXIT_OK
            engine, journal, _publisher = promoted.result()
            first = False
            resume = shadow.resume() if shadow is not None else None
            venue = Venue(cfg, recovered=(engine, journal), replication=node, feed_resume=resume)
            code = await _serve_venue(venue, ready_file, shutdown)
            if code != EXIT_STEPPED_DOWN:
                return code
            await node.step_down()
    except (ReplicationError, JournalError) as exc:
        _say(f"venue: replication: {exc}")
        return EXIT_JOURNAL
    finally:
        await node.close()


def _run(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
    except ConfigError as exc:
        _say(f"venue: configuration: {exc}")
        return EXIT_CONFIG
    return int(uvloop.run(_serve(cfg, args.ready_file, args.accept_journal_loss)))


def journal_location_problem(db: Path) -> str | None:
    """Why the journal cannot live at `db` (its directory is missing and cannot be made, is
    not a directory, or is not writable), or None. Creates nothing."""
    where = db.parent
    while not where.exists() and where != where.parent:
        where = where.parent  # the nearest existing ancestor is where the directory would start
    if not where.is_dir():
        return f"journal.path {db}: {where} is not a directory"
    if not os.access(where, os.W_OK | os.X_OK):
        return f"journal.path {db}: {where} is not writable by this user"
    if db.exists() and not os.access(db, os.R_OK | os.W_OK):
        return f"journal.path {db}: the file is not readable and writable by this user"
    return None


def _check_config(args: argparse.Namespace) -> int:
    try:
        cfg = load_config(args.config)
        for i in cfg.instruments:
            instrument_from_config(i, cfg.source)
    except ConfigError as exc:
        _say(f"venue: configuration: {exc}")
        return EXIT_CONFIG
    problem = journal_location_problem(Path(cfg.journal.path))
    if problem is not None:
        _say(f"venue: journal: {problem}")
        return EXIT_JOURNAL
    print(f"{cfg.source}: ok ({len(cfg.instruments)} instruments, {len(cfg.sessions)} sessions)")
    rep = cfg.replication
    if rep is not None:
        servers = len(rep.servers)
        print(f"replicated: node {rep.node_id}, {rep.role} at start, {servers} NATS servers")
    return EXIT_OK


def _journal_verify(args: argparse.Namespace) -> int:
    """`venue journal verify`: every problem the verifier finds (a difference, a database it
    cannot open or read) is a journal problem, exit 4 as for `venue run`."""
    code = verify_main(["--db", args.db])
    return EXIT_OK if code == 0 else EXIT_JOURNAL


def _demo(_args: argparse.Namespace) -> int:
    try:
        return run_demo(load_config(None))
    except BrokenPipeError:  # `venue demo | head`: the reader has seen enough
        _quiet_exit()
        return EXIT_OK


_EPILOG = """\
Examples (--log-level may come before or after the command):
    venue run --config venue.toml --log-level debug
    venue check-config --config venue.toml
    venue journal verify --db var/venue.db
    venue demo

Exit status: 0 clean stop (or check passed), 2 usage, 3 configuration, 4 journal (corrupt,
gap, failed commit, verify found a difference or an unreadable database), 5 runtime (for
example the FIX port is in use).
"""


def _global_options(p: argparse.ArgumentParser, default: object) -> None:
    p.add_argument(
        "--log-level",
        default="info" if default is None else default,
        choices=["debug", "info", "warning", "error"],
    )


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="venue",
        description="A FIX 4.4 derivatives venue.",
        epilog=_EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    sub = p.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run the venue")
    run.add_argument("--config", help="venue.toml (default: the embedded default configuration)")
    run.add_argument("--ready-file", help="write {fix_port, pid} as JSON here once listening")
    run.add_argument(
        "--accept-journal-loss",
        action="store_true",
        help="start although the journal ends before what its durable marker proves "
        "(the loss is journaled as an admin action; see README, Durability)",
    )
    run.set_defaults(func=_run)
    check = sub.add_parser("check-config", help="load and validate a configuration, then exit")
    check.add_argument("--config", help="venue.toml (default: the embedded default)")
    check.set_defaults(func=_check_config)
    journal = sub.add_parser("journal", help="journal tools")
    jsub = journal.add_subparsers(dest="journal_command", required=True)
    verify = jsub.add_parser("verify", help="replay the journal from empty and compare")
    verify.add_argument("--db", default="var/venue.db", help="the journal database")
    verify.set_defaults(func=_journal_verify)
    archive_cli.add_parser(jsub)
    # these two parse their own arguments (venue.surveillance.offline, venue.reports.cli)
    sub.add_parser(
        "surveil", help="market surveillance over a journal file", add_help=False
    ).set_defaults(func=lambda a: surveil_main(a.rest), own_args=True)
    sub.add_parser(
        "report", help="compliance reports over a journal file", add_help=False
    ).set_defaults(func=lambda a: report_main(a.rest), own_args=True)
    demo = sub.add_parser("demo", help="run a short order flow through the core and print it")
    demo.set_defaults(func=_demo)
    globals_anywhere(p, _global_options)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    args, rest = parser.parse_known_args(argv)
    if not getattr(args, "own_args", False) and rest:
        parser.error(f"unrecognized arguments: {' '.join(rest)}")
    args.rest = rest
    log.configure(level=args.log_level)
    try:
        return int(args.func(args))
    finally:
        if log.output_lost() is not None:
            _quiet_exit()


def _quiet_exit() -> None:
    """Our output's reader has gone: point stdout and stderr at /dev/null so the interpreter's
    last flush cannot fail and turn a clean stop's exit status into 120."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    for fd in (1, 2):
        with contextlib.suppress(OSError):
            os.dup2(devnull, fd)
    os.close(devnull)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
