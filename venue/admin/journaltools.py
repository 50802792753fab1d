"""`venue-admin journal verify` and `audit`: read the journal file directly, in the CLI process.

Both open the database read-only beside the running venue (`readonly=True`: SQLite WAL lets a
reader in while the venue writes, and nothing beside the file is written, see
`venue.journal.schema.readonly_uri`), so a long replay or scan never runs on the venue's loop.

Invariants:
- The audit is the journal's `RecordAdminAction` commands (what `venue.admin.ops` records for
  every admin action), in sequence order; nothing else is read as an admin action.
- `verify_journal` never raises for a bad journal: it answers (False, {"error": ...}).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import msgspec

from venue.core import Command
from venue.journal import Journal, JournalError
from venue.journal.rows import scan_all
from venue.journal.verify import Diverged, verify

__all__ = ["AuditFilter", "parse_time", "read_audit", "verify_journal"]


class AuditFilter(msgspec.Struct, frozen=True, kw_only=True):
    # exact operator ("root/alice"), or one of its parts: the OS user ("root") or the name
    # given with --operator ("alice")
    operator: str | None = None
    action: str | None = None  # exact action or a prefix ("session." matches all session ones)
    since_ns: int | None = None
    until_ns: int | None = None

    def matches(self, operator: str, action: str, ts: int) -> bool:
        if self.operator is not None and self.operator not in (operator, *operator.split("/")):
            return False
        if self.action is not None and not action.startswith(self.action):
            return False
        if self.since_ns is not None and ts < self.since_ns:
            return False
        return self.until_ns is None or ts <= self.until_ns


def parse_time(text: str | None) -> int | None:
    """ISO-8601 (UTC when no offset is given) to integer nanoseconds; raises ValueError."""
    if text is None:
        return None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is not an ISO-8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return (int(dt.timestamp()) * 1_000_000_000) + dt.microsecond * 1000


async def read_audit(path: str, flt: AuditFilter) -> list[dict[str, Any]]:
    """The admin actions on record in the journal at `path` that match `flt`."""
    decoder = msgspec.msgpack.Decoder(Command)
    out: list[dict[str, Any]] = []

    def on_chunk(rows: list[Any]) -> None:
        for seq, ts, raw in rows:
            if b"RecordAdminAction" not in raw:  # the tag: skip decoding everything else
                continue
            cmd = decoder.decode(raw)
            operator = getattr(cmd, "operator", "")
            action = getattr(cmd, "action", "")
            if type(cmd).__name__ == "RecordAdminAction" and flt.matches(operator, action, ts):
                detail = getattr(cmd, "detail", "")
                out.append(
                    {"seq": seq, "ts": ts, "operator": operator, "action": action, "detail": detail}
                )

    journal = await Journal.open(path, create=False, readonly=True)
    try:
        await scan_all(journal, on_chunk)
    finally:
        await journal.close()
    return out


async def verify_journal(path: str) -> tuple[bool, dict[str, Any]]:
    try:
        result = await verify(path)
    except Diverged as exc:
        return False, {"ok": False, "db": path, "error": f"DIVERGED at seq {exc.seq}: {exc}"}
    except JournalError as exc:
        return False, {"ok": False, "db": path, "error": f"{type(exc).__name__}: {exc}"}
    return True, {"ok": True, "db": path, **msgspec.structs.asdict(result)}
