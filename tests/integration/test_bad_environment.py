"""`cqrs-lab up` on a broken machine: it says what is wrong and how to fix it."""

from __future__ import annotations

import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.integration import lab_cli


@pytest.fixture
def state() -> Iterator[Path]:
    path = lab_cli.new_state_dir()
    yield path
    shutil.rmtree(path, ignore_errors=True)


def _reset(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    # Whatever a failed `up` left running must not outlive the test.
    return lab_cli.run(env, "reset", "--yes", timeout=120)


def _nothing_started(state: Path, port_map: dict[str, int]) -> None:
    assert lab_cli.records(state) == {}
    taken = [p for p in port_map.values()
             if lab_cli.listening(lab_cli.HOST, p)]
    assert taken == []


def test_a_taken_port_is_named_with_the_variable_that_moves_it(
        state: Path) -> None:
    with socket.socket() as squatter:
        squatter.bind((lab_cli.HOST, 0))
        squatter.listen()
        port = squatter.getsockname()[1]
        port_map = {**lab_cli.free_ports(), "postgres": port}
        env = lab_cli.environment(state, port_map)
        try:
            result = lab_cli.run(env, "up", timeout=60)
            output = result.stdout + result.stderr
            assert result.returncode != 0, output
            assert f"port {port}" in output
            assert "CQRS_LAB_POSTGRES_PORT" in output
            # PostgreSQL is the first part; failing on it started nothing.
            assert lab_cli.records(state) == {}
        finally:
            _reset(env)


def test_a_missing_java_is_reported_before_anything_starts(
        state: Path) -> None:
    port_map = lab_cli.free_ports()
    # A PATH of the lab's other tools only; the CLI is called by full path.
    bin_dir = Path(tempfile.mkdtemp(prefix="cqrs-lab-it-bin-"))
    for tool in ("initdb", "postgres", "pg_ctl", "mvn", "test", "sh"):
        found = shutil.which(tool)
        if found:
            (bin_dir / tool).symlink_to(found)
    env = lab_cli.environment(state, port_map, PATH=str(bin_dir))
    try:
        result = lab_cli.run(env, "up", timeout=120)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "Java was not found" in output
        assert "apt-get install openjdk-17-jre-headless" in output
        _nothing_started(state, port_map)
    finally:
        _reset(env)
        shutil.rmtree(bin_dir, ignore_errors=True)


@pytest.mark.timeout(300)
def test_a_part_that_exits_while_starting_shows_its_log_tail(
        state: Path) -> None:
    port_map = lab_cli.free_ports()
    # The JVM refuses this heap size and exits at once.
    env = lab_cli.environment(state, port_map, CQRS_LAB_KAFKA_HEAP="notasize")
    try:
        result = lab_cli.run(env, "up", timeout=180)
        output = result.stdout + result.stderr
        assert result.returncode != 0, output
        assert "kafka exited while starting" in output
        assert "cqrs-lab logs kafka" in output
        assert "Last lines of its log" in output
        assert "Invalid maximum heap size" in output
    finally:
        reset = _reset(env)
    assert reset.returncode == 0, reset.stderr
    _nothing_started(state, port_map)
