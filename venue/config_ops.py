"""Operations settings: the `[fixlog]` (per-session FIX message log) and `[metrics]`
(Prometheus endpoint) tables of `venue.toml`. They live beside `venue.config`, which embeds them
in `VenueConfig` and re-exports them, like `venue.config_marketdata`.

Invariants:
- Both are on in the embedded default; the metrics endpoint listens on loopback only.
- `validate()` is total and names the first bad key; it reads nothing but the struct.
"""

from __future__ import annotations

import ipaddress

import msgspec

__all__ = ["FixLogConfig", "MetricsConfig"]


class FixLogConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """One file per session under `<journal directory>/fixlog/`, one message per line."""

    enabled: bool = True
    heartbeats: bool = False  # log Heartbeats (35=0) too
    max_bytes: int = 16 * 1024 * 1024  # a file is rotated to NAME.log.1 ... at this size
    backups: int = 5  # rotated files kept per session

    def validate(self) -> tuple[str, str] | None:
        if self.max_bytes < 4096:
            return "max_bytes", "must be at least 4096"
        if not 0 <= self.backups <= 1000:
            return "backups", "must be 0..1000"
        return None


class MetricsConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """`/metrics` in the Prometheus text format (prometheus_client)."""

    enabled: bool = True
    host: str = "127.0.0.1"  # loopback only: a scraper on this host, or a forwarding agent
    port: int = 9903  # 0: an ephemeral port (logged at start-up)

    def validate(self) -> tuple[str, str] | None:
        try:
            address = ipaddress.ip_address(self.host)
        except ValueError:
            return "host", f"{self.host!r} is not an IP address"
        if not address.is_loopback:
            return "host", f"{self.host} is not a loopback address"
        if not 0 <= self.port <= 65535:
            return "port", f"{self.port} is not a port"
        return None
