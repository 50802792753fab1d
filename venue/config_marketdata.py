"""Market-data settings: the `[marketdata]` table of `venue.toml`, one `MarketDataConfig`
struct with defaults. It lives beside `venue.config` (which embeds it in `VenueConfig` and
re-exports it), like `venue.config_risk`.

Invariants:
- The defaults send unicast to 127.0.0.1: `make run` never emits multicast on a host's
  interfaces; a multicast group, interface and TTL come only from configuration.
- `validate()` is total and names the first bad key; it reads nothing but the struct.
"""

from __future__ import annotations

import ipaddress
import re

import msgspec

__all__ = ["MarketDataConfig"]

_SESSION = re.compile(r"[\x20-\x7e]{1,10}")


class MarketDataConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The MoldUDP64 feed, its re-request server and the SoupBinTCP snapshot server."""

    enabled: bool = True
    session: str = ""  # MoldUDP64 session (10 ASCII chars); default: derived at start-up
    destination: str = "127.0.0.1"  # multicast group in production; unicast loopback by default
    port: int = 9900
    interface: str = "127.0.0.1"  # address of the interface multicast leaves by
    ttl: int = 0
    heartbeat_ms: int = 1000
    rerequest_host: str = "127.0.0.1"
    rerequest_port: int = 9901
    history_messages: int = 1_000_000  # how far back re-requests are answered
    max_rerequest_messages: int = 10_000  # cap per re-request
    snapshot_host: str = "127.0.0.1"
    snapshot_port: int = 9902

    def validate(self) -> tuple[str, str] | None:
        """None when usable, else (key, reason) for the first bad setting ("" = the table)."""
        if self.session and not _SESSION.fullmatch(self.session):
            return "session", "at most 10 printable ASCII characters"
        for key in ("destination", "interface", "rerequest_host", "snapshot_host"):
            try:
                ipaddress.ip_address(getattr(self, key))
            except ValueError:
                return key, f"{getattr(self, key)!r} is not an IP address"
        for key in ("port", "rerequest_port", "snapshot_port"):
            if not 0 <= getattr(self, key) <= 65535:
                return key, f"{getattr(self, key)} is not a port"
        if not 0 <= self.ttl <= 255:
            return "ttl", "must be 0..255"
        if self.heartbeat_ms < 10 or self.history_messages < 1 or self.max_rerequest_messages < 1:
            return "", "heartbeat_ms >= 10, history and re-request caps >= 1"
        return None
