"""Safe defaults: loopback only, no open CORS, no default password in production."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from services.shared.settings import DEV_PASSWORD, LabSettings


def _listening_addresses(pid: int) -> set[str]:
    """The local addresses a process listens on, from /proc (IPv4 and IPv6)."""
    inodes = set()
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            target = fd.readlink().as_posix()
        except OSError:
            continue
        if target.startswith("socket:["):
            inodes.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        for line in Path(f"/proc/{pid}/net/{table}").read_text().splitlines()[1:]:
            fields = line.split()
            listening = fields[3] == "0A"
            if listening and fields[9] in inodes:
                found.add(fields[1].split(":")[0])
    return found


def test_every_part_listens_on_loopback_only(settings: LabSettings) -> None:
    records = list((settings.state_dir / "run").glob("*.json"))
    assert records, "no part of the lab is recorded as running"
    # 127.0.0.1 as IPv4, ::1, and 127.0.0.1 mapped into IPv6 (Java's way).
    loopback = {"0100007F", "00000000000000000000000001000000",
                "0000000000000000FFFF00000100007F"}
    for record in records:
        pid = json.loads(record.read_text())["pid"]
        addresses = _listening_addresses(pid)
        assert addresses, f"{record.stem} listens nowhere"
        assert addresses <= loopback, f"{record.stem} listens on {addresses}"


def test_collector_cors_admits_only_the_dashboard(settings: LabSettings) -> None:
    url = settings.service_url("traces") + "/api/traces"
    dashboard = f"http://{settings.host}:{settings.dashboard_port}"
    with httpx.Client(timeout=10) as client:
        evil = client.get(url, headers={"Origin": "http://evil.example"})
        ours = client.get(url, headers={"Origin": dashboard})
    assert "access-control-allow-origin" not in evil.headers
    assert ours.headers["access-control-allow-origin"] == dashboard
    assert ours.headers.get("access-control-allow-credentials") != "true"


def test_services_send_no_cors_headers_to_strangers(settings: LabSettings) -> None:
    with httpx.Client(timeout=10) as client:
        answer = client.get(settings.service_url("gateway") + "/health",
                            headers={"Origin": "http://evil.example"})
    assert "access-control-allow-origin" not in answer.headers


def test_the_development_password_is_refused_outside_development() -> None:
    production = LabSettings(mode="production", postgres_password=DEV_PASSWORD)
    with pytest.raises(ValueError, match="CQRS_LAB_POSTGRES_PASSWORD"):
        production.check_secrets()
    LabSettings(mode="production", postgres_password="s3cret").check_secrets()
