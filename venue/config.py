"""Configuration: `venue.toml` and `sessions/*.toml`, decoded with msgspec and validated.

Invariants:
- Nothing outside this module reads configuration files; everything else receives the Structs.
- A bad file never produces a traceback: every failure is a `ConfigError` naming the file, the
  key (a dotted path such as `instruments[1].tick_size`) and the reason.
- Decimal settings (tick size, lot size, prices) stay decimal strings here and are checked to be
  exact positive decimals; integer conversion to ticks and lots happens once, in `venue.app`.
- Session names, CompID pairs and instrument symbols are unique; every account a session may use
  belongs to its firm; a session without credentials is accepted from loopback only.
- Derivatives settings are decimal fractions (margin rates, fees) and USD amounts (tier
  notionals, initial balances); they convert exactly to parts per 10^9 and to money units of
  10^-6 USD (`venue.core.MONEY_SCALE`) or are refused. Every firm's segment exists.
"""

from __future__ import annotations

import base64
import ipaddress
import re
from collections.abc import Container
from datetime import datetime
from decimal import Decimal, InvalidOperation
from importlib import resources
from pathlib import Path
from typing import Literal, TypeVar

import msgspec

from venue.config_custody import CustodyConfig
from venue.config_marketdata import MarketDataConfig
from venue.config_ops import FixLogConfig, MetricsConfig
from venue.config_options import ChainError, OptionChainConfig, chain_instruments
from venue.config_replication import ReplicationConfig
from venue.config_risk import RiskConfig
from venue.config_surveillance import SurveillanceConfig
from venue.core.commands import AddAccount, Deposit, SetMarginMode
from venue.core.margin import value_factor
from venue.core.types import (
    BAND_SCALE,
    MONEY_SCALE,
    PPB,
    FeeTier,
    Instrument,
    InstrumentKind,
    MarginTier,
)

Role = Literal["trading", "dropcopy", "marketdata"]
AuthMethod = Literal["none", "ed25519", "password"]
_COMP_ID = re.compile(r"[\x21-\x7e]{1,64}")  # printable ASCII, no SOH, no spaces
_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")
_SCRYPT = re.compile(r"scrypt\$\d+\$\d+\$\d+\$[A-Za-z0-9+/=]+\$[A-Za-z0-9+/=]+")
_HHMM = re.compile(r"([01]\d|2[0-3]):[0-5]\d")  # patterns are used with fullmatch
T = TypeVar("T")


class ConfigError(Exception):
    """A configuration problem: `file: key: reason`."""

    def __init__(self, file: str, key: str, reason: str) -> None:
        self.file, self.key, self.reason = file, key, reason
        where = f"{file}: {key}: " if key else f"{file}: "
        super().__init__(where + reason)


class JournalConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    path: str = "var/venue.db"
    synchronous: Literal["FULL", "NORMAL"] = "FULL"
    snapshot_every_commands: int = 100_000
    snapshot_every_seconds: int = 300


class TlsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    cert: str
    key: str
    client_ca: str | None = None  # when set, clients must present a certificate signed by it


class GatewayConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    host: str = "127.0.0.1"
    port: int = 9878
    max_message_size: int = 65536
    logon_timeout_seconds: int = 10
    sending_time_tolerance_seconds: int = 120
    outbound_buffer_limit: int = 4 * 1024 * 1024
    slow_consumer_seconds: int = 10
    busy_poll_us: int = 0  # 0: off; else spin the loop this long after input (gateway/busypoll)
    # After a start (restart, crash, failover): resting orders of cancel-on-disconnect sessions
    # that do not log on within the grace are canceled, as one command (gateway/restart_cancel).
    cancel_on_restart: bool = True
    cancel_on_restart_grace_seconds: int = 10
    password_checks: int = 2  # scrypt checks run at once (off the loop); more are refused
    sessions_dir: str | None = None
    tls: TlsConfig | None = None


class AdminConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    socket: str = "var/venue-admin.sock"


class SegmentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    max_leverage: int  # >= 1: initial margin rate at least 1 / max_leverage


class FirmConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    name: str
    accounts: list[str]
    segment: str = "market_maker"  # a `segments` name: the accounts' maximum leverage
    fee_tier: str = ""  # selects the instruments' `fee_tiers` entry of that name
    initial_balance: str = "0"  # USD deposited into each account when it is first created
    # The accounts' margin mode in an instrument they have not traded yet: "isolated" is set
    # (SetMarginMode) for each new (account, instrument) pair at start-up; venue-admin
    # `account margin-mode` changes it later.
    margin_mode: Literal["cross", "isolated"] = "cross"


class MarginTierConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    notional: str  # USD: the tier applies from this position notional up
    rate: str  # maintenance margin rate, e.g. "0.005"


class FeeTierConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    tier: str
    maker_fee: str  # fraction of notional; negative = rebate
    taker_fee: str


class InstrumentConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    symbol: str
    kind: Literal["perpetual", "future"]
    tick_size: str
    lot_size: str
    multiplier: str = "1"
    ref_price: str
    band: str = "0.05"  # half-width of the price band as a fraction of the reference price
    max_order_qty: str
    expiry: str | None = None  # ISO-8601 UTC, futures only
    initial_margin: str = "0"  # rate; the account's 1/max_leverage applies when higher
    maintenance_tiers: list[MarginTierConfig] = []  # first notional "0", rates not decreasing
    maker_fee: str = "0"  # fraction of notional; negative = rebate
    taker_fee: str = "0"
    fee_tiers: list[FeeTierConfig] = []
    index_stale_seconds: int = 0  # 0: no check; else risk-increasing orders need a fresh index
    impact_notional: str | None = None  # USD for the mark's impact prices; None: [risk] default


class AuthConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    method: AuthMethod = "none"
    public_key: str | None = None  # Ed25519 raw public key, base64 (32 bytes)
    password_hash: str | None = None  # scrypt$N$r$p$salt_b64$hash_b64
    lockout_failures: int = 10  # failed Logons within lockout_window_seconds lock it (0: never)
    lockout_window_seconds: int = 600
    lockout_seconds: int = 900  # a lock lifts by itself after this (or `session unlock`)


class HeartbeatConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    min_seconds: int = 1
    max_seconds: int = 300


class ThrottleConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    messages_per_second: int = 1000
    burst: int = 2000
    abuse_seconds: int = 5  # over the limit this long in a row: Logout
    cooldown_seconds: int = 60  # after that Logout, Logons are refused this long (0: none)


class MmpConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Market-maker protection of one account on one underlying (RoE section 19)."""

    account: str
    underlying: str  # e.g. "BTC": every instrument whose symbol starts "BTC-"
    window_ms: int
    max_qty: str = "0"  # traded quantity in the instruments' size units; "0": off
    max_fills: int = 0  # 0: off
    freeze_ms: int = 0  # 0: frozen until reset


class QuotingConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """Mass-quote limits of a trading session (RoE "Mass quotes") and the market-maker
    protection of its accounts."""

    max_entries_per_message: int = 100  # quote entries in one MassQuote (35=i)
    max_quoted_instruments: int = 100  # instruments with a live quote at once (0: no limit)
    mmp: list[MmpConfig] = []


class ResetConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    on_logon: bool = False  # reset both sequence numbers at every Logon
    daily_at: str | None = None  # "HH:MM" UTC: first Logon after this time each day resets


class SessionConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One counterparty session (`sessions/NAME.toml`, or `[[sessions]]` in venue.toml)."""

    name: str = ""  # defaults to the file's stem
    role: Role
    venue_comp_id: str  # the venue's SenderCompID (49) on this session
    client_comp_id: str  # the counterparty's SenderCompID
    firm: str
    accounts: list[str] = []
    dropcopy_firms: list[str] = []  # dropcopy role: whole firms whose flow the session sees
    dropcopy_accounts: list[str] = []  # dropcopy role: single accounts of other firms
    enabled: bool = True
    cancel_on_disconnect: bool = True
    cancel_on_logout: bool = False
    # outbound messages kept for resend: the newest N (0 keeps all); older ones are gap-filled
    resend_retention_messages: int = 0
    fix_marketdata: bool = False  # trading role: may also send MarketDataRequest (V)
    allowed_addresses: list[str] = msgspec.field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    auth: AuthConfig = AuthConfig()
    heartbeat: HeartbeatConfig = HeartbeatConfig()
    throttle: ThrottleConfig = ThrottleConfig()
    reset: ResetConfig = ResetConfig()
    quoting: QuotingConfig = QuotingConfig()
    source: str = ""  # the file this session came from (set by the loader)


class VenueConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    journal: JournalConfig = JournalConfig()
    gateway: GatewayConfig = GatewayConfig()
    admin: AdminConfig = AdminConfig()
    marketdata: MarketDataConfig = MarketDataConfig()
    risk: RiskConfig = RiskConfig()
    fixlog: FixLogConfig = FixLogConfig()
    metrics: MetricsConfig = MetricsConfig()
    surveillance: SurveillanceConfig = SurveillanceConfig()
    custody: CustodyConfig = CustodyConfig()
    replication: ReplicationConfig | None = None  # absent: one node, no NATS
    segments: list[SegmentConfig] = msgspec.field(
        default_factory=lambda: [
            SegmentConfig(name="retail", max_leverage=20),
            SegmentConfig(name="market_maker", max_leverage=50),
        ]
    )
    firms: list[FirmConfig] = []
    instruments: list[InstrumentConfig] = []
    option_chains: list[OptionChainConfig] = []  # venue.config_options
    sessions: list[SessionConfig] = []
    source: str = "<embedded default>"  # where this configuration came from (set by the loader)


# ---------------------------------------------------------------------------------------------
# Loading


def _decode(data: bytes, typ: type[T], file: str) -> T:
    try:
        return msgspec.toml.decode(data, type=typ)
    except msgspec.ValidationError as exc:
        msg = str(exc)
        key = ""
        if " - at `$" in msg:
            msg, _, path = msg.rpartition(" - at `$")
            key = path.rstrip("`").lstrip(".")
        raise ConfigError(file, key, msg) from None
    except msgspec.DecodeError as exc:
        raise ConfigError(file, "", f"not valid TOML: {exc}") from None


def _read(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), "", "file not found") from None
    except OSError as exc:
        raise ConfigError(str(path), "", f"cannot read: {exc.strerror}") from None


def load_config(path: str | Path | None = None) -> VenueConfig:
    """Load and validate `venue.toml` (or the embedded default when `path` is None)."""
    if path is None:
        data = resources.files("venue").joinpath("default.toml").read_bytes()
        cfg = _decode(data, VenueConfig, "<embedded default>")
        base = Path.cwd()
    else:
        p = Path(path)
        cfg = _decode(_read(p), VenueConfig, str(p))
        cfg = msgspec.structs.replace(cfg, source=str(p))
        base = p.parent
    if cfg.gateway.sessions_dir is not None:
        sessions_dir = Path(cfg.gateway.sessions_dir)
        if not sessions_dir.is_absolute():
            sessions_dir = base / sessions_dir
        cfg = msgspec.structs.replace(cfg, sessions=cfg.sessions + load_sessions_dir(sessions_dir))
    validate(cfg)
    return cfg


def load_session_file(path: Path) -> SessionConfig:
    """Decode one `sessions/NAME.toml`; its name defaults to the file stem."""
    s = _decode(_read(path), SessionConfig, str(path))
    s = msgspec.structs.replace(s, name=s.name or path.stem, source=str(path))
    _validate_session(s, str(path), "")
    return s


def load_sessions_dir(directory: Path) -> list[SessionConfig]:
    if not directory.is_dir():
        raise ConfigError(str(directory), "gateway.sessions_dir", "not a directory")
    return [load_session_file(p) for p in sorted(directory.glob("*.toml"))]


# ---------------------------------------------------------------------------------------------
# Validation


def parse_positive_decimal(value: str, file: str, key: str) -> Decimal:
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise ConfigError(file, key, f"{value!r} is not a decimal number") from None
    if not d.is_finite() or d <= 0:
        raise ConfigError(file, key, f"{value!r} must be a positive decimal number")
    return d


def parse_expiry_ns(value: str, file: str, key: str) -> int:
    try:
        dt = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ConfigError(file, key, f"{value!r} is not an ISO-8601 date-time") from None
    if dt.tzinfo is None or dt.utcoffset() is None or dt.utcoffset().total_seconds() != 0:  # type: ignore[union-attr]
        raise ConfigError(file, key, f"{value!r} must be in UTC (end with Z)")
    epoch = datetime(1970, 1, 1, tzinfo=dt.tzinfo)
    delta = dt - epoch  # exact: timedelta keeps microseconds, no float on the way
    return (delta.days * 86_400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1_000


def _validate_instrument(i: InstrumentConfig, file: str, key: str) -> None:
    if not _NAME.fullmatch(i.symbol):
        raise ConfigError(file, f"{key}.symbol", f"{i.symbol!r} is not a valid symbol")
    tick = parse_positive_decimal(i.tick_size, file, f"{key}.tick_size")
    lot = parse_positive_decimal(i.lot_size, file, f"{key}.lot_size")
    parse_positive_decimal(i.multiplier, file, f"{key}.multiplier")
    ref = parse_positive_decimal(i.ref_price, file, f"{key}.ref_price")
    if ref % tick != 0:
        raise ConfigError(
            file, f"{key}.ref_price", f"{i.ref_price} is not a multiple of the tick {i.tick_size}"
        )
    band = parse_positive_decimal(i.band, file, f"{key}.band")
    if band >= 1:
        raise ConfigError(file, f"{key}.band", "must be a fraction below 1 (0.05 is 5%)")
    mx = parse_positive_decimal(i.max_order_qty, file, f"{key}.max_order_qty")
    if mx % lot != 0:
        raise ConfigError(
            file,
            f"{key}.max_order_qty",
            f"{i.max_order_qty} is not a multiple of the lot {i.lot_size}",
        )
    if i.kind == "future":
        if i.expiry is None:
            raise ConfigError(file, f"{key}.expiry", "a dated future needs an expiry")
        parse_expiry_ns(i.expiry, file, f"{key}.expiry")
    elif i.expiry is not None:
        raise ConfigError(file, f"{key}.expiry", "a perpetual has no expiry")
    if i.impact_notional is not None:
        _money(i.impact_notional, file, f"{key}.impact_notional")


def impact_notionals(cfg: VenueConfig) -> dict[str, int]:
    """symbol → impact notional (money units) of the instruments that set their own."""
    return {
        i.symbol: _money(i.impact_notional, cfg.source, f"instruments[{i.symbol}]")
        for i in cfg.instruments
        if i.impact_notional is not None
    }


def _is_loopback_network(text: str) -> bool:
    return ipaddress.ip_network(text, strict=False).is_loopback


def _validate_session(s: SessionConfig, file: str, key: str) -> None:
    k = f"{key}." if key else ""
    if not _NAME.fullmatch(s.name):
        raise ConfigError(file, f"{k}name", f"{s.name!r} is not a valid session name")
    for field in ("venue_comp_id", "client_comp_id"):
        value = getattr(s, field)
        if not _COMP_ID.fullmatch(value):
            raise ConfigError(
                file, f"{k}{field}", f"{value!r} must be 1-64 printable ASCII characters"
            )
    for idx, net in enumerate(s.allowed_addresses):
        try:
            ipaddress.ip_network(net, strict=False)
        except ValueError:
            raise ConfigError(
                file, f"{k}allowed_addresses[{idx}]", f"{net!r} is not an address or network"
            ) from None
    if not s.allowed_addresses:
        raise ConfigError(file, f"{k}allowed_addresses", "empty: the session could never connect")
    a = s.auth
    if a.method == "ed25519":
        if not a.public_key:
            raise ConfigError(file, f"{k}auth.public_key", "required for method 'ed25519'")
        try:
            raw = base64.b64decode(a.public_key, validate=True)
        except ValueError:
            raise ConfigError(file, f"{k}auth.public_key", "not valid base64") from None
        if len(raw) != 32:
            raise ConfigError(file, f"{k}auth.public_key", "an Ed25519 public key is 32 bytes")
    elif a.method == "password":
        if not a.password_hash or not _SCRYPT.fullmatch(a.password_hash):
            raise ConfigError(
                file,
                f"{k}auth.password_hash",
                "required for method 'password', as scrypt$N$r$p$salt$hash",
            )
    elif not all(_is_loopback_network(n) for n in s.allowed_addresses):
        raise ConfigError(
            file,
            f"{k}allowed_addresses",
            "a session without credentials is allowed from loopback only",
        )
    hb = s.heartbeat
    if not 1 <= hb.min_seconds <= hb.max_seconds <= 3600:
        raise ConfigError(file, f"{k}heartbeat", "need 1 <= min_seconds <= max_seconds <= 3600")
    if s.resend_retention_messages < 0:
        raise ConfigError(
            file, f"{k}resend_retention_messages", "need 0 (keep all) or a positive count"
        )
    if a.lockout_failures < 0 or a.lockout_window_seconds < 1 or a.lockout_seconds < 1:
        raise ConfigError(
            file,
            f"{k}auth",
            "need lockout_failures >= 0, lockout_window_seconds >= 1, lockout_seconds >= 1",
        )
    t = s.throttle
    if (
        t.messages_per_second < 1
        or t.burst < t.messages_per_second
        or t.abuse_seconds < 1
        or t.cooldown_seconds < 0
    ):
        raise ConfigError(
            file,
            f"{k}throttle",
            "need messages_per_second >= 1, burst >= messages_per_second, abuse_seconds >= 1,"
            " cooldown_seconds >= 0",
        )
    q = s.quoting
    if not 1 <= q.max_entries_per_message <= 1000 or q.max_quoted_instruments < 0:
        raise ConfigError(
            file,
            f"{k}quoting",
            "need 1 <= max_entries_per_message <= 1000 and max_quoted_instruments >= 0",
        )
    for i, m in enumerate(q.mmp):
        if m.account not in s.accounts:
            raise ConfigError(file, f"{k}quoting.mmp[{i}].account", "not one of the session's")
        if m.window_ms < 1 or m.max_fills < 0 or m.freeze_ms < 0:
            raise ConfigError(
                file, f"{k}quoting.mmp[{i}]", "need window_ms >= 1, max_fills, freeze_ms >= 0"
            )
    if s.reset.daily_at is not None and not _HHMM.fullmatch(s.reset.daily_at):
        raise ConfigError(file, f"{k}reset.daily_at", f"{s.reset.daily_at!r} is not HH:MM (UTC)")
    if s.role != "dropcopy" and (s.dropcopy_firms or s.dropcopy_accounts):
        raise ConfigError(file, f"{k}role", "dropcopy_firms/dropcopy_accounts need role 'dropcopy'")


def validate(cfg: VenueConfig) -> None:
    """Cross-field checks; raises ConfigError naming the first problem."""
    f = cfg.source
    j = cfg.journal
    if j.snapshot_every_commands < 1 or j.snapshot_every_seconds < 1:
        raise ConfigError(f, "journal", "snapshot intervals must be positive")
    g = cfg.gateway
    if not 0 <= g.port <= 65535:
        raise ConfigError(f, "gateway.port", f"{g.port} is not a TCP port")
    if not 512 <= g.max_message_size <= 16 * 1024 * 1024:
        raise ConfigError(
            f, "gateway.max_message_size", "must be at least 512 bytes and at most 16 MiB"
        )
    if g.outbound_buffer_limit < 64 * 1024:
        raise ConfigError(f, "gateway.outbound_buffer_limit", "must be at least 65536 bytes")
    if not 0 <= g.busy_poll_us <= 1_000_000:
        raise ConfigError(
            f, "gateway.busy_poll_us", "must be 0 (off) or at most 1000000 (one second)"
        )
    try:
        ipaddress.ip_address(g.host)
    except ValueError:
        raise ConfigError(f, "gateway.host", f"{g.host!r} is not an IP address") from None
    for name in (
        "logon_timeout_seconds",
        "sending_time_tolerance_seconds",
        "slow_consumer_seconds",
        "password_checks",
    ):
        if getattr(g, name) < 1:
            raise ConfigError(f, f"gateway.{name}", "must be at least 1")
    if g.cancel_on_restart_grace_seconds < 0:
        raise ConfigError(f, "gateway.cancel_on_restart_grace_seconds", "must be at least 0")
    md_bad = cfg.marketdata.validate()
    if md_bad is not None:
        key, why = md_bad
        raise ConfigError(f, f"marketdata.{key}" if key else "marketdata", why)
    bad = cfg.risk.validate()
    if bad is not None:
        key, _, why = bad.partition(": ")
        raise ConfigError(f, f"risk.{key}", why)
    for table, ops_bad in (("fixlog", cfg.fixlog.validate()), ("metrics", cfg.metrics.validate())):
        if ops_bad is not None:
            raise ConfigError(f, f"{table}.{ops_bad[0]}", ops_bad[1])
    if cfg.replication is not None:
        rep_bad = cfg.replication.validate()
        if rep_bad is not None:
            key, why = rep_bad
            raise ConfigError(f, f"replication.{key}" if key else "replication", why)
    accounts: dict[str, str] = {}
    firms: set[str] = set()
    segments: dict[str, int] = {}
    for idx, seg in enumerate(cfg.segments):
        if not _NAME.fullmatch(seg.name) or seg.name in segments:
            raise ConfigError(f, f"segments[{idx}].name", f"{seg.name!r} is invalid or duplicated")
        if seg.max_leverage < 1:
            raise ConfigError(f, f"segments[{idx}].max_leverage", "must be at least 1")
        segments[seg.name] = seg.max_leverage
    for idx, firm in enumerate(cfg.firms):
        if not _NAME.fullmatch(firm.name) or firm.name in firms:
            raise ConfigError(f, f"firms[{idx}].name", f"{firm.name!r} is invalid or duplicated")
        if firm.segment not in segments:
            raise ConfigError(f, f"firms[{idx}].segment", f"unknown segment {firm.segment!r}")
        _money(firm.initial_balance, f, f"firms[{idx}].initial_balance", allow_zero=True)
        firms.add(firm.name)
        for a_idx, acct in enumerate(firm.accounts):
            if not _NAME.fullmatch(acct) or acct in accounts:
                raise ConfigError(
                    f, f"firms[{idx}].accounts[{a_idx}]", f"{acct!r} is invalid or duplicated"
                )
            accounts[acct] = firm.name
    _validate_surveillance(cfg, firms)
    symbols: set[str] = set()
    for idx, inst in enumerate(cfg.instruments):
        _validate_instrument(inst, f, f"instruments[{idx}]")
        instrument_from_config(inst, f, f"instruments[{idx}]")
        if inst.symbol in symbols:
            raise ConfigError(f, f"instruments[{idx}].symbol", f"{inst.symbol!r} is duplicated")
        symbols.add(inst.symbol)
    for series in configured_options(cfg):
        if series.symbol in symbols:
            raise ConfigError(f, "option_chains", f"{series.symbol!r} is duplicated")
        symbols.add(series.symbol)
    names: set[str] = set()
    pairs: set[tuple[str, str]] = set()
    for idx, s in enumerate(cfg.sessions):
        f, key = (s.source, "") if s.source else (cfg.source, f"sessions[{idx}]")
        _validate_session(s, f, key)
        k = f"{key}." if key else ""
        if s.name in names:
            raise ConfigError(f, f"{k}name", f"session {s.name!r} is defined twice")
        names.add(s.name)
        pair = (s.venue_comp_id, s.client_comp_id)
        if pair in pairs:
            raise ConfigError(
                f,
                key or "client_comp_id",
                f"CompIDs {pair[0]}/{pair[1]} are used by another session",
            )
        pairs.add(pair)
        if s.firm not in firms:
            raise ConfigError(f, f"{k}firm", f"unknown firm {s.firm!r}")
        for a_idx, acct in enumerate(s.accounts):
            if accounts.get(acct) != s.firm:
                raise ConfigError(
                    f, f"{k}accounts[{a_idx}]", f"{acct!r} is not an account of firm {s.firm}"
                )
        for d_idx, firm_name in enumerate(s.dropcopy_firms):
            if firm_name not in firms:
                raise ConfigError(f, f"{k}dropcopy_firms[{d_idx}]", f"unknown firm {firm_name!r}")
        for d_idx, acct in enumerate(s.dropcopy_accounts):
            if acct not in accounts:
                raise ConfigError(f, f"{k}dropcopy_accounts[{d_idx}]", f"unknown account {acct!r}")


def configured_options(cfg: VenueConfig) -> list[Instrument]:
    """The option series of `cfg.option_chains` (raises ConfigError)."""
    try:
        return chain_instruments(
            cfg.option_chains, lambda v, key: parse_expiry_ns(v, cfg.source, key)
        )
    except ChainError as exc:
        raise ConfigError(cfg.source, exc.key, exc.reason) from None


def _validate_surveillance(cfg: VenueConfig, firms: set[str]) -> None:
    for name, table in (("surveillance", cfg.surveillance), ("custody", cfg.custody)):
        bad = table.validate()
        if bad is not None:
            key, _, why = bad.partition(": ")
            raise ConfigError(cfg.source, f"{name}.{key}", why)
    for idx, group in enumerate(cfg.surveillance.affiliated_firms):
        for firm in group:
            if firm not in firms:
                raise ConfigError(
                    cfg.source, f"surveillance.affiliated_firms[{idx}]", f"unknown firm {firm!r}"
                )


def instrument_from_config(
    i: InstrumentConfig, source: str = "<config>", key: str = ""
) -> Instrument:
    """Convert decimal settings to the core's integers; refuse anything inexact."""
    key = key or f"instruments[{i.symbol}]"
    tick = Decimal(i.tick_size)
    lot = Decimal(i.lot_size)
    ref = Decimal(i.ref_price) / tick
    max_qty = Decimal(i.max_order_qty) / lot
    band = Decimal(i.band) * BAND_SCALE
    for name, value in (("ref_price", ref), ("max_order_qty", max_qty), ("band", band)):
        if value != value.to_integral_value():
            raise ConfigError(source, f"{key}.{name}", "not exact in ticks, lots or parts per 10^9")
    tiers: list[MarginTier] = []
    for t_idx, t in enumerate(i.maintenance_tiers):
        k = f"{key}.maintenance_tiers[{t_idx}]"
        floor = _money(t.notional, source, f"{k}.notional", allow_zero=True)
        rate = _ppb(t.rate, source, f"{k}.rate", lo=0)
        if (t_idx == 0 and floor != 0) or (tiers and floor <= tiers[-1].notional_floor):
            raise ConfigError(source, f"{k}.notional", "first tier starts at 0; tiers increase")
        if tiers and rate < tiers[-1].mmr_ppb:
            raise ConfigError(source, f"{k}.rate", "rates must not decrease with notional")
        tiers.append(MarginTier(floor, rate))
    fee_tiers = [
        FeeTier(
            ft.tier,
            _ppb(ft.maker_fee, source, f"{key}.fee_tiers[{f_idx}].maker_fee", lo=-PPB),
            _ppb(ft.taker_fee, source, f"{key}.fee_tiers[{f_idx}].taker_fee", lo=-PPB),
        )
        for f_idx, ft in enumerate(i.fee_tiers)
    ]
    if i.index_stale_seconds < 0:
        raise ConfigError(source, f"{key}.index_stale_seconds", "must not be negative")
    inst = Instrument(
        symbol=i.symbol,
        kind=InstrumentKind(i.kind),
        tick_size=i.tick_size,
        lot_size=i.lot_size,
        multiplier=i.multiplier,
        ref_price=int(ref),
        band_ppb=int(band),
        max_order_qty=int(max_qty),
        expiry_ts=parse_expiry_ns(i.expiry, source, f"{key}.expiry") if i.expiry else 0,
        imr_ppb=_ppb(i.initial_margin, source, f"{key}.initial_margin", lo=0),
        mm_tiers=tiers,
        maker_fee_ppb=_ppb(i.maker_fee, source, f"{key}.maker_fee", lo=-PPB),
        taker_fee_ppb=_ppb(i.taker_fee, source, f"{key}.taker_fee", lo=-PPB),
        fee_tiers=fee_tiers,
        index_stale_ns=i.index_stale_seconds * 1_000_000_000,
    )
    if value_factor(inst) is None:
        raise ConfigError(
            source,
            f"{key}.tick_size",
            "tick_size x lot_size x multiplier must be a whole number of 10^-6 USD",
        )
    return inst


def _ppb(value: str, source: str, key: str, lo: int) -> int:
    """A decimal fraction in [lo/10^9, 1) as exact parts per 10^9."""
    try:
        d = Decimal(value) * PPB
    except InvalidOperation:
        raise ConfigError(source, key, f"{value!r} is not a decimal number") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ConfigError(source, key, f"{value!r} is not exact in parts per 10^9")
    if not lo <= d < PPB:
        raise ConfigError(source, key, f"{value!r} is outside the allowed range")
    return int(d)


def _money(value: str, source: str, key: str, allow_zero: bool = False) -> int:
    """USD as exact money units (10^-6 USD)."""
    try:
        d = Decimal(value) * MONEY_SCALE
    except InvalidOperation:
        raise ConfigError(source, key, f"{value!r} is not a decimal number") from None
    if not d.is_finite() or d != d.to_integral_value():
        raise ConfigError(source, key, f"{value!r} is not exact in 10^-6 USD")
    if d < 0 or (d == 0 and not allow_zero) or d > 10**18:
        raise ConfigError(source, key, f"{value!r} is outside the allowed range")
    return int(d)


def account_commands(cfg: VenueConfig, existing: Container[str] = ()) -> list[AddAccount | Deposit]:
    """The start-up commands creating every configured account that is not in `existing`
    (the engine's accounts after recovery): AddAccount, then its initial Deposit if any."""
    leverage = {seg.name: seg.max_leverage for seg in cfg.segments}
    out: list[AddAccount | Deposit] = []
    for firm in cfg.firms:
        amount = _money(firm.initial_balance, cfg.source, "initial_balance", allow_zero=True)
        for acct in firm.accounts:
            if acct in existing:
                continue
            out.append(
                AddAccount(
                    firm=firm.name,
                    account=acct,
                    segment=firm.segment,
                    max_leverage=leverage[firm.segment],
                    fee_tier=firm.fee_tier,
                )
            )
            if amount:
                out.append(Deposit(account=acct, amount=amount, operator="config"))
    return out


def margin_mode_commands(
    cfg: VenueConfig, new_accounts: Container[str], new_symbols: Container[str]
) -> list[SetMarginMode]:
    """The firms' default `margin_mode = "isolated"` as SetMarginMode commands, for every
    (account, instrument) pair made at this start-up: a new account in every instrument, and
    every account in a new instrument. A pair that existed before keeps what it has (an
    operator may have changed it)."""
    symbols = [i.symbol for i in cfg.instruments]
    return [
        SetMarginMode(account=acct, symbol=symbol, isolated=True, operator="config")
        for firm in cfg.firms
        if firm.margin_mode == "isolated"
        for acct in firm.accounts
        for symbol in symbols
        if acct in new_accounts or symbol in new_symbols
    ]
