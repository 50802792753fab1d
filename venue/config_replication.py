"""Replication settings: the optional `[replication]` table of `venue.toml`, one
`ReplicationConfig` struct. It lives beside `venue.config` (which embeds it in `VenueConfig`),
like `venue.config_marketdata`.

Invariants:
- Absent table = one node, SQLite only, no NATS (the embedded default).
- `validate()` is total and names the first bad key; it reads nothing but the struct.
- The lease is renewed at least three times per TTL, so one late renewal never loses it.
"""

from __future__ import annotations

import re
from typing import Literal
from urllib.parse import urlsplit

import msgspec

__all__ = ["ReplicationConfig"]

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")  # NATS stream / bucket / node names


class ReplicationConfig(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """The journal replicated on a NATS JetStream stream, a leadership lease, a hot standby."""

    servers: list[str]  # nats://host:port of the NATS cluster's nodes
    node_id: str  # this venue node's name, unique in the cluster (shown as the lease holder)
    role: Literal["primary", "standby"] = "standby"  # at start; the lease decides after that
    stream: str = "VENUE"  # the JetStream stream holding the batches (subject venue.<stream>)
    replicas: int = 3  # stream and lease bucket replicas (quorum = replicas // 2 + 1)
    lease_bucket: str = "venue_lease"  # JetStream key-value bucket holding the lease
    lease_ttl_ms: int = 3000  # a lease not renewed for this long expires
    lease_renew_ms: int = 500  # how often the primary renews it (and a standby looks at it)
    publish_timeout_ms: int = 2000  # one publish attempt; then it is retried (same message id)
    retry_ms: int = 250  # pause between publish attempts while the stream has no quorum
    advertise: str = ""  # host:port members reach this node's FIX acceptor on (status only)

    @property
    def subject(self) -> str:
        return f"venue.{self.stream}"

    def validate(self) -> tuple[str, str] | None:
        """None when usable, else (key, reason) for the first bad setting."""
        if not self.servers:
            return "servers", "name at least one NATS server (nats://host:port)"
        for url in self.servers:
            parts = urlsplit(url)
            if parts.scheme not in ("nats", "tls") or not parts.hostname:
                return "servers", f"{url!r} is not a nats://host:port URL"
            try:
                parts.port  # noqa: B018 -- raises ValueError on a bad port
            except ValueError:
                return "servers", f"{url!r} has a bad port"
        for key in ("node_id", "stream", "lease_bucket"):
            if not _NAME.fullmatch(getattr(self, key)):
                return key, f"{getattr(self, key)!r}: letters, digits, '_' or '-' (1-64)"
        if self.replicas not in (1, 3, 5):
            return "replicas", "1, 3 or 5 (an odd number up to JetStream's maximum of 5)"
        if self.lease_ttl_ms < 1000:
            return "lease_ttl_ms", "at least 1000 (JetStream expires keys at that grain)"
        if not 50 <= self.lease_renew_ms <= self.lease_ttl_ms // 3:
            return "lease_renew_ms", "at least 50 and at most a third of lease_ttl_ms"
        if self.publish_timeout_ms < 100 or self.retry_ms < 10:
            return "", "publish_timeout_ms >= 100 and retry_ms >= 10"
        return None
