"""Running the `cqrs-lab` command on a stack of its own, apart from the lab."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
from pathlib import Path

from services.shared.parts import PARTS

# The console script pip installed next to this interpreter.
CLI = str(Path(sys.executable).parent / "cqrs-lab")
# The second stack drops every inherited CQRS_LAB_* host: it runs here.
HOST = "127.0.0.1"


BASE_PORTS = {"gateway": 3005, "orders": 3001, "payments": 3002,
              "inventory": 3003, "traces": 8080, "dashboard": 3000,
              "kafka": 9092, "kafka_controller": 9093, "postgres": 5432}
PORT_NAMES = tuple(BASE_PORTS)


def ports(offset: int) -> dict[str, int]:
    """Every port setting moved by `offset`, e.g. 20000 for 3005 -> 23005."""
    return {name: port + offset for name, port in BASE_PORTS.items()}


def free_ports() -> dict[str, int]:
    """Every port setting on a port the system says is free right now.

    Fixed offsets above 32768 fall in Linux's range for outgoing
    connections, where any client (this suite's own) may hold them.
    """
    sockets = []
    try:
        for _ in PORT_NAMES:
            sock = socket.socket()
            sock.bind((HOST, 0))
            sockets.append(sock)
        return {name: sock.getsockname()[1]
                for name, sock in zip(PORT_NAMES, sockets, strict=True)}
    finally:
        for sock in sockets:
            sock.close()


def new_state_dir() -> Path:
    """A fresh state folder the postgres OS user may enter (we may be root)."""
    path = Path(tempfile.mkdtemp(prefix="cqrs-lab-it-"))
    path.chmod(0o755)
    return path


def environment(state_dir: Path, port_map: dict[str, int],
                **extra: str) -> dict[str, str]:
    """This process's environment with the lab's settings replaced.

    Inherited CQRS_LAB_* variables point at the stack under test; all of
    them go, except the jar cache, which the second stack may share.
    """
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("CQRS_LAB_") or k == "CQRS_LAB_CACHE_DIR"}
    env["CQRS_LAB_STATE_DIR"] = str(state_dir)
    for name, port in port_map.items():
        env[f"CQRS_LAB_{name.upper()}_PORT"] = str(port)
    # Rich wraps at 80 columns without a terminal; keep messages on a line.
    env["COLUMNS"] = "200"
    env.update(extra)
    return env


def run(env: dict[str, str], *args: str,
        timeout: float = 60.0) -> subprocess.CompletedProcess[str]:
    """Runs `cqrs-lab ARGS` and returns its exit code and output."""
    return subprocess.run([CLI, *args], env=env, capture_output=True,
                          text=True, timeout=timeout, check=False)


def status_rows(output: str) -> dict[str, list[str]]:
    """The cells of `cqrs-lab status`'s table, by part name."""
    names = {p.name for p in PARTS}
    rows = {}
    for line in output.splitlines():
        cells = [c.strip() for c in line.replace("┃", "│").split("│")]
        cells = [c for c in cells if c]
        if cells and cells[0] in names:
            rows[cells[0]] = cells
    return rows


def records(state_dir: Path) -> dict[str, dict]:
    """The PID records the stack wrote, by part name."""
    return {path.stem: json.loads(path.read_text())
            for path in (state_dir / "run").glob("*.json")
            if path.stem != "scale"}


def still_running(record: dict) -> bool:
    """True while the very process of a record lives (not a reused PID)."""
    try:
        stat = Path(f"/proc/{record['pid']}/stat").read_text()
    except OSError:
        return False
    # Fields after the parenthesised name: state is 3rd, starttime 22nd.
    after_name = stat.rsplit(")", 1)[1].split()
    return after_name[0] != "Z" and int(after_name[19]) == record["start_ticks"]


def listening(host: str, port: int) -> bool:
    """True when something accepts connections on host:port."""
    with socket.socket() as sock:
        sock.settimeout(1.0)
        return sock.connect_ex((host, port)) == 0
