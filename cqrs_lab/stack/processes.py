"""Processes the lab starts: spawned detached, recorded by PID, stopped by PID.

A PID file records the process's start time as the kernel reports it, so a
PID the system has reused for another program is never signalled.
"""

from __future__ import annotations

import json
import logging
import os
import signal
import socket
import subprocess
import time
from dataclasses import asdict, dataclass
from pathlib import Path

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class ProcessRecord:
    """What the lab remembers of a process it started."""

    name: str
    pid: int
    start_ticks: int
    port: int
    command: list[str]


def start_ticks(pid: int) -> int | None:
    """The kernel's start time of `pid` in clock ticks, or None if it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # The command name is in parentheses and may hold spaces: split after it.
    fields = stat.rsplit(")", 1)[1].split()
    if fields[0] == "Z":
        return None
    return int(fields[19])


class ProcessTable:
    """PID files of the lab's processes, one per part, in the state folder."""

    def __init__(self, run_dir: Path) -> None:
        self.run_dir = run_dir

    def _path(self, name: str) -> Path:
        return self.run_dir / f"{name}.json"

    def save(self, record: ProcessRecord) -> None:
        """Remembers a started process."""
        self.run_dir.mkdir(parents=True, exist_ok=True)
        self._path(record.name).write_text(json.dumps(asdict(record)))

    def load(self, name: str) -> ProcessRecord | None:
        """The record of a part, or None when the lab has not started it."""
        try:
            data = json.loads(self._path(name).read_text())
        except (OSError, ValueError):
            return None
        return ProcessRecord(**data)

    def forget(self, name: str) -> None:
        """Drops the record of a part."""
        self._path(name).unlink(missing_ok=True)

    def names(self) -> list[str]:
        """Names of every part with a record."""
        if not self.run_dir.exists():
            return []
        return sorted(p.stem for p in self.run_dir.glob("*.json"))

    def alive(self, name: str) -> ProcessRecord | None:
        """The record of a part whose very process is still running."""
        record = self.load(name)
        if record is None:
            return None
        if start_ticks(record.pid) != record.start_ticks:
            return None
        return record


def spawn(
    name: str,
    command: list[str],
    log_path: Path,
    port: int,
    env: dict[str, str] | None = None,
    user: str | None = None,
    cwd: Path | None = None,
) -> ProcessRecord:
    """Starts a detached process writing to `log_path` and returns its record."""
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with open(log_path, "ab") as log:
        process = subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            env=env,
            cwd=cwd,
            user=user,
            start_new_session=True,
        )
    ticks = start_ticks(process.pid) or 0
    logger.debug("spawned name=%s pid=%s", name, process.pid)
    return ProcessRecord(name, process.pid, ticks, port, command)


def terminate(record: ProcessRecord, sig: int = signal.SIGTERM,
              timeout: float = 20.0) -> bool:
    """Signals a recorded process and waits for it to exit; kills it if it won't."""
    if start_ticks(record.pid) != record.start_ticks:
        return False
    os.kill(record.pid, sig)
    if _wait_gone(record, timeout):
        return True
    if start_ticks(record.pid) == record.start_ticks:
        logger.warning("kill name=%s pid=%s after %ss", record.name, record.pid,
                       timeout)
        os.kill(record.pid, signal.SIGKILL)
        _wait_gone(record, 5.0)
    return True


def _wait_gone(record: ProcessRecord, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        _reap(record.pid)
        if start_ticks(record.pid) != record.start_ticks:
            return True
        time.sleep(0.05)
    return False


def _reap(pid: int) -> None:
    # Our own children turn into zombies until waited for.
    try:
        os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        pass


def port_is_free(host: str, port: int) -> bool:
    """True when nothing listens on host:port."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def log_tail(path: Path, lines: int = 20) -> str:
    """The last lines of a log file, or a note that it is empty."""
    try:
        text = path.read_text(errors="replace")
    except OSError:
        return "(no log written)"
    tail = text.splitlines()[-lines:]
    return "\n".join(tail) if tail else "(log is empty)"
