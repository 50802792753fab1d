"""The `[replication]` table: absent by default, validated key by key, shown by check-config."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.venue_process import write_config
from venue.app import main
from venue.config import ConfigError, load_config

GOOD = """
[replication]
servers = ["nats://10.0.0.1:4222", "nats://10.0.0.2:4222", "nats://10.0.0.3:4222"]
node_id = "venue-a"
role = "primary"
"""


def test_the_embedded_default_is_one_node_without_nats() -> None:
    assert load_config(None).replication is None


def test_a_good_table_loads_with_its_defaults(tmp_path: Path) -> None:
    cfg = load_config(write_config(tmp_path, extra=GOOD))
    rep = cfg.replication
    assert rep is not None
    assert (rep.role, rep.replicas, rep.stream, rep.subject) == (
        "primary",
        3,
        "VENUE",
        "venue.VENUE",
    )
    assert rep.lease_renew_ms * 3 <= rep.lease_ttl_ms


@pytest.mark.parametrize(
    ("change", "key"),
    [
        (("servers = [", 'servers = ["http://x:1", '), "replication.servers"),
        (('node_id = "venue-a"', 'node_id = "bad id"'), "replication.node_id"),
        (('role = "primary"', 'role = "leader"'), "replication.role"),
        (('role = "primary"', 'role = "primary"\nreplicas = 2'), "replication.replicas"),
        (('role = "primary"', 'role = "primary"\nlease_ttl_ms = 500'), "replication.lease_ttl_ms"),
        (
            ('role = "primary"', 'role = "primary"\nlease_ttl_ms = 3000\nlease_renew_ms = 1500'),
            "replication.lease_renew_ms",
        ),
        (('role = "primary"', 'role = "primary"\nstream = "a.b"'), "replication.stream"),
        (('role = "primary"', 'role = "primary"\nleader = true'), "unknown field `leader`"),
    ],
)
def test_each_bad_key_is_named(tmp_path: Path, change: tuple[str, str], key: str) -> None:
    text = GOOD.replace(*change)
    with pytest.raises(ConfigError) as err:
        load_config(write_config(tmp_path, extra=text))
    assert key in str(err.value), str(err.value)


def test_check_config_validates_the_table(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    good = write_config(tmp_path, extra=GOOD)
    assert main(["check-config", "--config", str(good)]) == 0
    assert "replicated: node venue-a, primary at start, 3 NATS servers" in capsys.readouterr().out
    bad = write_config(tmp_path, extra=GOOD.replace("venue-a", "venue a"))
    assert main(["check-config", "--config", str(bad)]) == 3
    assert "replication.node_id" in capsys.readouterr().err


async def test_unreachable_nats_servers_do_not_hang_the_node(tmp_path: Path) -> None:
    """No NATS at the configured address: the node says what it is trying to reach and stops
    at once on SIGTERM (it does not sit in the client's endless reconnect loop)."""
    from tests.replication.cluster import free_ports
    from tests.replication.harness import HaNode

    (port,) = free_ports(1)
    node = HaNode(tmp_path, "a", [f"nats://127.0.0.1:{port}"], "primary")
    await node.start()
    try:
        ev = await node.wait_event("nats_error", timeout=20)
        assert "Connect" in ev["error"] or "refused" in ev["error"]
        assert await node.stop() == 0
    finally:
        await node.kill()
