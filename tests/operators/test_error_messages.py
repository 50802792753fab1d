"""Issue 19 item 4: errors a person meets say what happened, in one line, on both sides."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.venue_process import REPO, start_venue, write_config

pytestmark = pytest.mark.slow


def _venue(*argv: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "venue", *argv],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _one_line(stderr: str) -> str:
    assert "Traceback" not in stderr, stderr
    return stderr.strip().splitlines()[-1]


@pytest.mark.parametrize("kind", ["tcp snapshot", "udp re-request"])
def test_market_data_port_in_use_names_the_port(tmp_path: Path, kind: str) -> None:
    proto, key = kind.split()
    family = socket.SOCK_STREAM if proto == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, family) as taken:
        taken.bind(("127.0.0.1", 0))
        if proto == "tcp":
            taken.listen()
        port = taken.getsockname()[1]
        config = write_config(tmp_path)
        option = {"snapshot": "snapshot_port", "re-request": "rerequest_port"}[key]
        text = config.read_text()
        config.write_text(text.replace(f"{option} = 0", f"{option} = {port}"))
        r = _venue("run", "--config", str(config), cwd=tmp_path)
    assert r.returncode == 5
    line = _one_line(r.stderr)
    assert f"{key} port {proto} 127.0.0.1:{port}" in line, line
    assert "Address already in use" in line, line


def test_journal_directory_unusable(tmp_path: Path) -> None:
    (tmp_path / "afile").write_text("")
    config = write_config(tmp_path)
    text = config.read_text().replace(str(tmp_path / "venue.db"), str(tmp_path / "afile/v.db"))
    config.write_text(text)
    checked = _venue("check-config", "--config", str(config), cwd=tmp_path)
    assert checked.returncode == 4
    assert f"{tmp_path / 'afile'} is not a directory" in _one_line(checked.stderr)
    run = _venue("run", "--config", str(config), cwd=tmp_path)
    assert run.returncode == 4
    assert f"{tmp_path / 'afile'} is not a directory" in _one_line(run.stderr)
    ok = _venue("check-config", "--config", str(write_config(tmp_path)), cwd=tmp_path)
    assert ok.returncode == 0 and "ok" in ok.stdout


def _fixclient(*argv: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(REPO / "tools" / "fixclient.py"), *argv],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        stdin=subprocess.DEVNULL,
    )


def test_fixclient_missing_key(tmp_path: Path) -> None:
    r = _fixclient("--sender", "ALPHA-MM", "--key", str(tmp_path / "missing.pem"), "-c", "quit")
    assert r.returncode == 2
    assert _one_line(r.stderr) == (
        f"fixclient: --key {tmp_path / 'missing.pem'}: No such file or directory"
    )
    (tmp_path / "bad.pem").write_text("not a key")
    r = _fixclient("--sender", "ALPHA-MM", "--key", str(tmp_path / "bad.pem"), "-c", "quit")
    assert r.returncode == 2 and "not an Ed25519 private key" in _one_line(r.stderr)


def test_unknown_comp_ids_named_on_both_sides(tmp_path: Path) -> None:
    venue = start_venue(write_config(tmp_path), cwd=tmp_path)
    try:
        port = venue.wait_ready()["fix_port"]
        r = _fixclient("--port", str(port), "--sender", "NOPE-MM", "-c", "quit")
    finally:
        assert venue.terminate() == 0
    assert r.returncode == 1
    line = _one_line(r.stderr)
    assert "closed the connection without answering the Logon" in line, line
    assert "SenderCompID=NOPE-MM TargetCompID=VENUE" in line, line
    assert "SenderCompID='NOPE-MM' TargetCompID='VENUE'" in venue.stderr
