"""Issue 19 item 5: every exit status the documents list is the one the programs give.

The tables are read from the documents themselves (`venue-admin --help`, the README's line on
`venue`), and each documented status has a case here that must produce it; a status added to a
document without a case fails the test.
"""

from __future__ import annotations

import os
import re
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.admin.conftest import AdminVenue
from tests.venue_process import REPO, write_config
from venue.admin import cli

pytestmark = pytest.mark.slow


def admin_table() -> dict[int, str]:
    doc = cli.__doc__ or ""
    table = doc[doc.index("Exit status:") : doc.index("Every state-changing")]
    return {int(m[1]): m[2] for m in re.finditer(r"^\s+(\d)\s+(\S[^\n]*)", table, re.M)}


def venue_table() -> dict[int, str]:
    readme = (REPO / "README.md").read_text()
    m = re.search(r"Exit codes of `venue`: (.*?)\.\n\n", readme, re.S)
    assert m is not None
    return {int(c): what for c, what in re.findall(r"(\d) ([a-z]+)", m.group(1))}


async def test_venue_admin_exit_codes(admin_venue: AdminVenue, tmp_path: Path) -> None:
    av = admin_venue

    async def failing(_a: Any, _op: str) -> Any:
        raise RuntimeError("a bug")

    def forbid_all() -> None:
        av.server.allowed_uids = set()

    notadb = tmp_path / "notadb.db"
    notadb.write_text("this is not a database")
    cases: dict[int, list[tuple[list[str], Any]]] = {
        0: [(["status"], None), (["instrument", "list", "--json"], None)],
        1: [(["status"], lambda: av.ops._ops.__setitem__("status", (dict, failing)))],
        2: [(["instrument", "bogus"], None), (["index", "set", "BTC-PERP", "x"], None)],
        3: [
            (["account", "deposit", "NOPE-1", "5"], None),
            (["-y", "account", "withdraw", "NOPE-1", "5"], None),
            (["session", "show", "NOPE"], None),
            (["-y", "instrument", "halt", "NOPE"], None),
            (["-y", "cancel-all", "--firm", "NOPE"], None),
        ],
        4: [(["-y", "instrument", "halt", "ETH-PERP"], None)],  # the second halt (below)
        5: [(["--socket", str(tmp_path / "none.sock"), "status"], None)],
        6: [(["status"], forbid_all)],
        7: [(["cancel-all", "--firm", "ALPHA"], None)],
        8: [(["journal", "verify", "--db", str(notadb)], None)],
    }
    assert set(cases) == set(admin_table()), "a documented status without a case, or vice versa"
    assert (await av.cli("-y", "instrument", "halt", "ETH-PERP")).code == 0
    saved = dict(av.ops._ops)
    for code in sorted(cases):
        for argv, arrange in cases[code]:
            if arrange is not None:
                arrange()
            try:
                r = await av.cli(*argv)
            finally:
                av.ops._ops.clear()
                av.ops._ops.update(saved)
                av.server.allowed_uids = {os.getuid()}
            assert r.code == code, (argv, r.code, r.stderr)
            if code not in (0, 2):  # argparse's usage errors print the usage first
                assert len(r.stderr.strip().splitlines()) == 1, r.stderr


def _venue(*argv: str, cwd: Path) -> int:
    return subprocess.run(
        [sys.executable, "-m", "venue", *argv],
        cwd=cwd,
        capture_output=True,
        timeout=60,
        check=False,
    ).returncode


def test_venue_exit_codes(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    bad = tmp_path / "bad.toml"
    bad.write_text(config.read_text().replace('synchronous = "FULL"', 'synchronous = "MAYBE"'))
    notadb = tmp_path / "notadb.db"
    notadb.write_text("this is not a database")
    on_notadb = tmp_path / "notadb.toml"
    on_notadb.write_text(config.read_text().replace(str(tmp_path / "venue.db"), str(notadb)))
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        busy = tmp_path / "busy.toml"
        fix_port = 'host = "127.0.0.1"\nport = '
        busy.write_text(config.read_text().replace(f"{fix_port}0", f"{fix_port}{port}", 1))
        assert f"port = {port}" in busy.read_text()
        cases = {
            0: [["check-config", "--config", str(config)], ["demo"]],
            2: [["bogus"], ["run", "--no-such-option"]],
            3: [["check-config", "--config", str(bad)], ["run", "--config", str(bad)]],
            4: [["journal", "verify", "--db", str(notadb)], ["run", "--config", str(on_notadb)]],
            5: [["run", "--config", str(busy)]],
        }
        assert set(cases) == set(venue_table()), "a documented status without a case"
        for code, runs in cases.items():
            for argv in runs:
                assert _venue(*argv, cwd=tmp_path) == code, argv
