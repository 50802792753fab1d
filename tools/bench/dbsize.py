"""Database size per million orders, and what retention saves; prints one JSON object.

    python tools/bench/dbsize.py [--orders 20000] [--retention 10000]

Runs the real venue (`venue run` through e2e_serve.py, NORMAL) with two signed trading sessions
and three drop-copy sessions of their firm (not connected: a copy is stored for resend all the
same), drives the e2e market maker's flow for `--orders` orders, stops cleanly and measures the
database file and its tables (SQLite's dbstat), per million orders:

- `before`: everything kept (the default);
- `after`: the same run with `resend_retention_messages = --retention` on every session, then
  `venue journal archive` (rows up to the clean stop's snapshot into the archive file) and a
  VACUUM; the archive file's size is reported beside it.

Invariants: 127.0.0.1 only; everything lives in a temporary directory removed at exit; the run
fails (exit 1, `error`) when an order went unanswered or a phase measured nothing.
"""

from __future__ import annotations

import argparse
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from e2e import default_instruments  # noqa: E402
from e2e_client import Driver, Flow, Session  # noqa: E402
from e2e_venue import VenueProcess, write_setup  # noqa: E402
from verdict import Checks  # noqa: E402

DROPCOPIES = 3


def _dropcopies(sessions_dir: Path, retention: int) -> None:
    for i in range(DROPCOPIES):
        (sessions_dir / f"copy{i + 1}.toml").write_text(
            'role = "dropcopy"\nvenue_comp_id = "VENUE"\n'
            f'client_comp_id = "COPY{i + 1}"\nfirm = "BENCH"\ndropcopy_firms = ["BENCH"]\n'
            'allowed_addresses = ["127.0.0.0/8"]\n'
            f"resend_retention_messages = {retention}\n"
        )
    if retention:
        for path in sessions_dir.glob("bench*.toml"):
            text = path.read_text()
            head, _, rest = text.partition("[auth]")
            path.write_text(f"{head}resend_retention_messages = {retention}\n[auth]{rest}")


def _sizes(db: Path) -> dict[str, int]:
    conn = sqlite3.connect(db)
    try:
        rows = conn.execute("SELECT name, sum(pgsize) FROM dbstat GROUP BY name").fetchall()
    finally:
        conn.close()
    return {str(name): int(size) for name, size in rows}


def run(directory: Path, orders: int, retention: int) -> dict[str, Any]:
    config, creds = write_setup(directory, sessions=2, synchronous="NORMAL", marketdata_port=None)
    _dropcopies(directory / "sessions", retention)
    venue = VenueProcess(config)
    try:
        port = int(venue.wait_ready()["fix_port"])
        flow = Flow(default_instruments(), 1)
        sessions = [
            Session("127.0.0.1", port, sender=c, target="VENUE", key=k, flow=flow, tag=f"{i}")
            for i, (c, k) in enumerate(creds)
        ]
        for s in sessions:
            s.logon()
        driver = Driver(sessions)
        driver.closed_loop(16, 600.0, time.perf_counter_ns(), max_orders=orders)
        driver.drain(10.0)
        unanswered = sum(len(s.pending) for s in sessions)
        answered = sum(s.counts.answered for s in sessions)
        driver.close()
    finally:
        code = venue.stop()
    db = directory / "venue.db"
    out: dict[str, Any] = {
        "orders": answered,
        "unanswered": unanswered,
        "venue_exit": code,
        "db_bytes": db.stat().st_size,
        "tables": _sizes(db),
    }
    return out


def per_million(nbytes: int, orders: int) -> float:
    return round(nbytes / max(1, orders) * 1e6 / 2**20, 1)  # MiB per million orders


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--orders", type=int, default=20_000)
    p.add_argument("--retention", type=int, default=10_000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory(prefix="venue-dbsize-") as tmp:
        before_dir, after_dir = Path(tmp) / "before", Path(tmp) / "after"
        before_dir.mkdir()
        after_dir.mkdir()
        before = run(before_dir, args.orders, 0)
        after = run(after_dir, args.orders, args.retention)
        db = after_dir / "venue.db"
        archived = subprocess.run(
            [sys.executable, "-m", "venue", "journal", "archive", "--db", str(db)],
            capture_output=True,
            text=True,
            cwd=ROOT,
            check=False,
        )
        conn = sqlite3.connect(db)
        conn.execute("VACUUM")
        conn.close()
        after["archive_exit"] = archived.returncode
        after["archive_stderr"] = archived.stderr.strip()[-300:]
        after["db_bytes_after_archive"] = db.stat().st_size
        after["tables_after_archive"] = _sizes(db)
        folder = db.with_name(db.name + ".archive")
        after["archive_file_bytes"] = sum(f.stat().st_size for f in folder.glob("*.vja"))
    result = {
        "bench": "dbsize",
        "orders": args.orders,
        "retention_messages": args.retention,
        "dropcopy_sessions": DROPCOPIES,
        "before": before,
        "after": after,
        "mib_per_million_orders": {
            "before": per_million(before["db_bytes"], before["orders"]),
            "with_retention": per_million(after["db_bytes"], after["orders"]),
            "with_retention_and_archive": per_million(
                after["db_bytes_after_archive"], after["orders"]
            ),
            "archive_file": per_million(after["archive_file_bytes"], after["orders"]),
        },
        "loadavg_1m": round(os.getloadavg()[0], 2),
    }
    checks = Checks()
    for name, r in (("before", before), ("after", after)):
        checks.expect(r["orders"] > 0, f"{name}: no order answered")
        checks.expect(r["unanswered"] == 0, f"{name}: {r['unanswered']} orders unanswered")
        checks.expect(r["venue_exit"] == 0, f"{name}: venue exit {r['venue_exit']}")
    checks.expect(after["archive_exit"] == 0, f"archive failed: {after['archive_stderr']}")
    return checks.emit(result, indent=1)


if __name__ == "__main__":
    sys.exit(main())
