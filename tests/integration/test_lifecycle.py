"""The `cqrs-lab` lifecycle on a second stack with its own ports and state."""

from __future__ import annotations

import shutil

import pytest

from services.shared.parts import PARTS
from tests.integration import lab_cli


def _assert_all_healthy(env: dict[str, str]) -> dict[str, list[str]]:
    result = lab_cli.run(env, "status")
    assert result.returncode == 0, result.stderr
    rows = lab_cli.status_rows(result.stdout)
    assert set(rows) == {p.name for p in PARTS}, result.stdout
    for cells in rows.values():
        assert cells[1:2] == ["up"] and cells[-1] == "healthy", cells
    return rows


@pytest.mark.timeout(600)
def test_up_status_stop_start_and_down_manage_a_whole_second_stack() -> None:
    state = lab_cli.new_state_dir()
    port_map = lab_cli.ports(20000)
    env = lab_cli.environment(state, port_map)
    try:
        up = lab_cli.run(env, "up", timeout=180)
        assert up.returncode == 0, up.stdout + up.stderr
        assert "The lab is up" in up.stdout
        before = lab_cli.records(state)
        assert set(before) == {p.name for p in PARTS}

        again = lab_cli.run(env, "up", timeout=60)
        assert again.returncode == 0, again.stderr
        assert "already up" in again.stdout
        assert lab_cli.records(state) == before

        rows = _assert_all_healthy(env)
        assert rows["payments"][2] == str(port_map["payments"])
        assert rows["payments"][3] == str(before["payments"]["pid"])

        stop = lab_cli.run(env, "stop", "payments")
        assert stop.returncode == 0, stop.stderr
        assert not lab_cli.still_running(before["payments"])
        status = lab_cli.run(env, "status")
        rows = lab_cli.status_rows(status.stdout)
        assert rows["payments"][1:] == ["down", str(port_map["payments"]),
                                        "-", "-"], rows["payments"]
        assert rows["orders"][1] == "up"

        start = lab_cli.run(env, "start", "payments", timeout=150)
        assert start.returncode == 0, start.stdout + start.stderr
        _assert_all_healthy(env)

        running = lab_cli.records(state)
        down = lab_cli.run(env, "down", timeout=120)
        assert down.returncode == 0, down.stderr
        alive = [n for n, r in running.items() if lab_cli.still_running(r)]
        assert alive == []
        taken = [p for p in port_map.values()
                 if lab_cli.listening(lab_cli.HOST, p)]
        assert taken == []
        assert lab_cli.records(state) == {}
    finally:
        lab_cli.run(env, "reset", "--yes", timeout=120)
        shutil.rmtree(state, ignore_errors=True)
