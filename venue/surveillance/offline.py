"""`venue surveil --db JOURNAL [--from X] [--to Y] [--config venue.toml] [--alerts FILE]
[--json]`: run the surveillance engine over a journal file, read-only.

`--from` / `--to` take a journal seq (an integer) or an ISO-8601 UTC time; the range is
`from <= seq|ts` and `seq <= to` (a seq) or `ts < to` (a time). The patterns' windows start
empty at `--from`. Alerts are printed (a table, or one JSON document with `--json`) and, with
`--alerts FILE`, saved in that alerts file for case handling (`venue-admin surveillance`).
`--follow --alerts FILE` keeps following the journal as it grows (`venue.surveillance.follow`:
what the venue runs as its surveillance process).

Invariants: the journal is never written; the same journal, range and settings print the same
alerts with the same ids (the engine is deterministic). Exit status: 0 done (alerts or not),
2 usage, 3 configuration, 4 the journal or alerts file cannot be read.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from collections.abc import Sequence
from datetime import UTC, datetime

import msgspec

from venue.config import ConfigError, load_config
from venue.config_surveillance import SurveillanceConfig
from venue.core import Command, Event
from venue.journal import JournalError
from venue.journal.rows import read_rows_decoded
from venue.surveillance.alerts import Alert
from venue.surveillance.engine import Surveillance
from venue.surveillance.follow import follow_main
from venue.surveillance.store import AlertStore, AlertStoreError

__all__ = ["main", "parse_bound", "surveil_journal"]


def parse_bound(text: str | None) -> tuple[int | None, int | None]:
    """(seq, ts) of a `--from`/`--to` value: an integer is a seq, anything else an ISO-8601
    time (UTC when it names no offset). Raises ValueError."""
    if text is None:
        return None, None
    if text.isdigit():
        return int(text), None
    try:
        dt = datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise ValueError(f"{text!r} is neither a journal seq nor an ISO-8601 time") from None
    if dt.tzinfo is None:
        dt = dt.replace(tzinfo=UTC)
    return None, int(dt.timestamp()) * 10**9 + dt.microsecond * 1000


async def surveil_journal(
    path: str,
    cfg: SurveillanceConfig,
    *,
    from_bound: str | None = None,
    to_bound: str | None = None,
) -> tuple[list[Alert], int]:
    """The alerts over the selected rows of the journal at `path`, and the last seq fed."""
    from_seq, from_ts = parse_bound(from_bound)
    to_seq, to_ts = parse_bound(to_bound)
    engine = Surveillance(cfg)
    alerts: dict[str, Alert] = {}

    def on_row(seq: int, ts: int, cmd: Command, events: list[Event]) -> None:
        engine.feed(seq, ts, cmd, events)
        for a in engine.take():
            alerts[a.alert_id] = a

    await read_rows_decoded(
        path,
        on_row,
        after_seq=(from_seq - 1) if from_seq else 0,
        until_seq=to_seq,
        from_ts=from_ts,
        until_ts=to_ts,
    )
    return list(alerts.values()), engine.last_seq


def _print_table(alerts: list[Alert]) -> None:
    if not alerts:
        print("no alerts")
        return
    for a in alerts:
        t0 = datetime.fromtimestamp(a.ts_from / 1e9, UTC).isoformat(timespec="milliseconds")
        t1 = datetime.fromtimestamp(a.ts_to / 1e9, UTC).isoformat(timespec="milliseconds")
        print(
            f"{a.alert_id:>12}  {a.pattern:<17} {a.owner:<12} {a.instrument:<12} "
            f"score {a.score:>5}  {t0} .. {t1}  seqs {a.evidence[:6]}"
            f"{' ...' if a.evidence_count > 6 else ''}\n{'':>14}{a.detail}"
        )


def main(argv: Sequence[str]) -> int:
    p = argparse.ArgumentParser(prog="venue surveil", description=__doc__.split("\n\n")[1])
    p.add_argument("--db", required=True, help="the journal database (read only)")
    p.add_argument("--from", dest="from_", metavar="FROM", help="first journal seq or ISO time")
    p.add_argument("--to", help="last journal seq, or ISO-8601 UTC time (exclusive)")
    p.add_argument("--config", help="venue.toml ([surveillance] settings, affiliated firms)")
    p.add_argument("--alerts", help="also save the alerts in this alerts file")
    p.add_argument("--json", action="store_true", help="one JSON document on stdout")
    p.add_argument(
        "--follow", action="store_true", help="keep following the journal (needs --alerts)"
    )
    p.add_argument("--start-seq", type=int, default=0, help="--follow: first seq (new alerts)")
    p.add_argument("--settings", help="the [surveillance] settings as JSON (the venue's)")
    p.add_argument("--watch-parent", action="store_true", help="stop when the parent exits")
    args = p.parse_args(list(argv))
    try:
        if args.settings:
            cfg = msgspec.json.decode(args.settings, type=SurveillanceConfig)
        else:
            cfg = load_config(args.config).surveillance
    except (ConfigError, msgspec.ValidationError, msgspec.DecodeError) as exc:
        print(f"venue surveil: configuration: {exc}", file=sys.stderr)
        return 3
    if args.follow:
        if not args.alerts:
            print("venue surveil: --follow needs --alerts FILE", file=sys.stderr)
            return 2
        try:
            asyncio.run(follow_main(args.db, cfg, args.alerts, args.start_seq, args.watch_parent))
        except (JournalError, AlertStoreError) as exc:
            print(f"venue surveil: {exc}", file=sys.stderr)
            return 4
        return 0
    try:
        alerts, last = asyncio.run(
            surveil_journal(args.db, cfg, from_bound=args.from_, to_bound=args.to)
        )
    except ValueError as exc:
        print(f"venue surveil: {exc}", file=sys.stderr)
        return 2
    except JournalError as exc:
        print(f"venue surveil: journal: {exc}", file=sys.stderr)
        return 4
    if args.alerts:
        try:
            store = AlertStore.open(args.alerts)
            try:
                store.save(alerts, last)
            finally:
                store.close()
        except AlertStoreError as exc:
            print(f"venue surveil: {exc}", file=sys.stderr)
            return 4
    if args.json:
        print(json.dumps(msgspec.to_builtins(alerts), indent=1))
    else:
        _print_table(alerts)
    return 0
