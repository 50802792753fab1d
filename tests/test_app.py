"""The `venue` command: exit codes, the demo, and a real `venue run` process start and stop."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.venue_process import start_venue, write_config
from venue.app import EXIT_CONFIG, EXIT_OK, main
from venue.config import load_config
from venue.demo import run_demo


def test_check_config_accepts_the_embedded_default(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["check-config"]) == EXIT_OK
    assert "<embedded default>: ok (3 instruments, 3 sessions)" in capsys.readouterr().out


def test_check_config_names_file_key_and_reason(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "venue.toml"
    bad.write_text('[gateway]\nport = "nine"\n')
    assert main(["check-config", "--config", str(bad)]) == EXIT_CONFIG
    err = capsys.readouterr().err
    assert str(bad) in err
    assert "gateway.port" in err
    assert "Traceback" not in err


def test_run_with_a_missing_config_file_exits_with_a_clear_line(tmp_path: Path) -> None:
    missing = tmp_path / "nope.toml"
    proc = subprocess.run(
        [sys.executable, "-m", "venue", "run", "--config", str(missing)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
        check=False,
    )
    assert proc.returncode == EXIT_CONFIG
    assert f"{missing}: file not found" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_demo_is_repeatable_and_trades() -> None:
    first: list[str] = []
    second: list[str] = []
    cfg = load_config(None)
    assert run_demo(cfg, first.append) == 0
    assert run_demo(cfg, second.append) == 0
    assert first == second
    text = "\n".join(first)
    assert "OrderFilled" in text
    assert "OrderCanceled" in text
    assert "OrderRejected" in text


def test_venue_run_listens_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    venue = start_venue(write_config(tmp_path), cwd=tmp_path)
    try:
        ready = venue.wait_ready()
        with socket.create_connection(("127.0.0.1", ready["fix_port"]), timeout=5):
            pass
        assert venue.terminate() == EXIT_OK
    finally:
        venue.kill()
    assert "Traceback" not in venue.stderr
