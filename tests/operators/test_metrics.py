"""Issue 19 item 16: a live venue serves /metrics in the Prometheus text format on its
loopback port; the scrape parses with prometheus_client's own parser and carries the numbers
the issue lists, named venue_*."""

from __future__ import annotations

import subprocess
import sys
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.venue_process import REPO, start_venue, write_config
from venue.metrics import Histogram

pytestmark = pytest.mark.slow


def _fixclient(port: int, sender: str, *commands: str) -> str:
    argv = [sys.executable, str(REPO / "tools" / "fixclient.py"), "--port", str(port)]
    argv += ["--sender", sender, "--cancel-on-disconnect", "N"]
    for c in commands:
        argv += ["-c", c]
    r = subprocess.run(
        argv, capture_output=True, text=True, timeout=60, check=False, stdin=subprocess.DEVNULL
    )
    assert r.returncode == 0, r.stdout + r.stderr
    return r.stdout


def _scrape(port: int, path: str = "/metrics") -> tuple[str, str]:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as answer:
        return answer.headers["Content-Type"], answer.read().decode()


def test_scrape_a_live_venue(tmp_path: Path) -> None:
    venue = start_venue(write_config(tmp_path), cwd=tmp_path)
    try:
        ready = venue.wait_ready()
        fix, port = ready["fix_port"], ready["metrics_port"]
        assert isinstance(port, int) and port > 0
        _fixclient(fix, "ALPHA-MM", "sell BTC-PERP 0.002 @ 60000 id=A1")
        _fixclient(fix, "BRAVO-MM", "buy BTC-PERP 0.002 @ 60000 id=B1")
        _fixclient(fix, "BRAVO-MM", "buy BTC-PERP 0.001 @ 1000 id=B2")  # outside the band
        ctype, text = _scrape(port)
        with pytest.raises(urllib.error.HTTPError) as not_here:
            _scrape(port, "/")
        assert not_here.value.code == 404
        not_here.value.close()  # the error holds the response and its socket
    finally:
        assert venue.terminate() == 0
    assert ctype.startswith("text/plain; version=")  # prometheus_client's CONTENT_TYPE_LATEST
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert families and all(name.startswith("venue_") for name in families)

    def value(name: str, **labels: str) -> float:
        for s in families[name].samples if name in families else []:
            if all(s.labels.get(k) == v for k, v in labels.items()):
                return float(s.value)
        for fam in families.values():
            for s in fam.samples:
                if s.name == name and all(s.labels.get(k) == v for k, v in labels.items()):
                    return float(s.value)
        raise AssertionError(f"no sample {name} {labels}")

    assert value("venue_sessions", state="configured") == 3
    assert value("venue_sessions", state="connected") == 0  # the clients logged out
    assert value("venue_fix_messages_in_total", msg_type="D") == 3
    assert value("venue_fix_messages_in_total", msg_type="A") == 3
    assert value("venue_fix_messages_out_total", msg_type="8") >= 4
    assert value("venue_orders_accepted_total") == 2
    assert value("venue_fills_total") == 2
    assert value("venue_order_rejects_total", reason="PRICE_OUTSIDE_BAND") == 1
    assert value("venue_order_ack_latency_seconds_count") == 3
    assert value("venue_order_ack_latency_seconds_bucket", le="+Inf") == 3
    assert value("venue_commit_latency_seconds_count") >= 1
    assert value("venue_commit_batch_commands_count") >= 1
    assert value("venue_journal_seq", state="committed") > 0
    assert value("venue_event_loop_lag_seconds_count") >= 1
    assert value("venue_feed_packets_total") >= 0
    assert value("venue_feed_rerequests_total", result="answered") == 0
    assert value("venue_insurance_fund_usd") == 0
    assert value("venue_open_interest_contracts", symbol="BTC-PERP") == 0.002
    assert families["venue_order_ack_latency_seconds"].type == "histogram"


def test_histogram_buckets() -> None:
    h = Histogram([0.001, 0.01])
    for v in (0.0005, 0.001, 0.005, 1.0):
        h.observe(v)
    fam = h.family("venue_x_seconds", "x")
    buckets = [(s.labels["le"], s.value) for s in fam.samples if s.name.endswith("_bucket")]
    assert buckets == [("0.001", 2.0), ("0.01", 3.0), ("+Inf", 4.0)]  # cumulative, le inclusive
    assert h.count == 4 and h.sum == pytest.approx(1.0065)
