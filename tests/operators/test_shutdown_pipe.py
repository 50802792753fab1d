"""Issue 19 item 2: the venue stops cleanly on SIGINT and on SIGTERM even when the reader of
its output pipe has gone (`make run 2>&1 | tee run.log`, then Ctrl-C kills tee too).

It used to hang for ever: the first log line written after the signal raised BrokenPipeError
out of `Venue.stop()`, the journal was never closed, and aiosqlite's threads kept the process
alive. "Closed cleanly" is what SQLite leaves when its last connection closes: no `-wal`
file beside the database, and the database opens and verifies.
"""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest

from tests.venue_process import write_config
from venue.journal.verify import main as verify_main

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("sig", [signal.SIGINT, signal.SIGTERM], ids=["SIGINT", "SIGTERM"])
def test_stop_with_a_broken_output_pipe(tmp_path: Path, sig: signal.Signals) -> None:
    config = write_config(tmp_path)
    proc = subprocess.Popen(
        [sys.executable, "-m", "venue", "run", "--config", str(config)],
        cwd=tmp_path,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,  # 2>&1 | tee
    )
    try:
        assert proc.stdout is not None
        for raw in proc.stdout:  # wait for the ready line, as a person watching tee would
            if b'"venue_ready"' in raw:
                break
        else:
            pytest.fail(f"venue exited with {proc.wait()} before it was ready")
        proc.stdout.close()  # the reader has gone: every write now fails with EPIPE
        proc.send_signal(sig)
        code = proc.wait(timeout=5)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert code == 0
    db = tmp_path / "venue.db"
    assert db.exists() and not Path(f"{db}-wal").exists(), "the journal was not closed"
    assert verify_main(["--db", str(db)]) == 0
