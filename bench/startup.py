"""Times `cqrs-lab up` cold and warm, and the whole stack's peak memory.

Runs a separate stack (its own state folder and ports, Kafka's jar cache
shared) so a lab you have running is left alone:
- cold: fresh data folder, jars already cached;
- warm: the same data, after `cqrs-lab down`;
- memory: the summed resident memory of every process of the stack (each
  part's whole session, so PostgreSQL's backends count), sampled while a
  burst of orders runs, peak reported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

PORTS = {"GATEWAY": 24005, "ORDERS": 24001, "PAYMENTS": 24002,
         "INVENTORY": 24003, "TRACES": 28180, "DASHBOARD": 24000,
         "KAFKA": 29192, "KAFKA_CONTROLLER": 29193, "POSTGRES": 25532}


def lab(env: dict[str, str], *args: str) -> float:
    """Runs one cqrs-lab command; returns its wall time in seconds."""
    cli = Path(sys.executable).with_name("cqrs-lab")
    began = time.monotonic()
    subprocess.run([str(cli), *args], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    return time.monotonic() - began


def stack_rss_mb(state: Path) -> float:
    """Resident memory of every process in the sessions the lab started."""
    sessions = set()
    for record in (state / "run").glob("*.json"):
        sessions.add(json.loads(record.read_text())["pid"])
    total = 0
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            if os.getsid(int(proc.name)) not in sessions:
                continue
            status = (proc / "status").read_text()
        except (OSError, ProcessLookupError):
            continue
        for line in status.splitlines():
            if line.startswith("VmRSS:"):
                total += int(line.split()[1])
    return total / 1024


def peak_under_load(env: dict[str, str], state: Path, orders: int) -> float:
    """Places orders while sampling memory; returns the peak in MB."""
    url = f"http://127.0.0.1:{PORTS['GATEWAY']}"
    body = {"customerId": "bench", "items": [
        {"productId": "book-001", "quantity": 1, "unitPrice": 19.99}]}
    peak = stack_rss_mb(state)
    with httpx.Client(base_url=url, timeout=30) as client:
        client.post("/api/inventory/book-001/restock",
                    json={"quantity": orders}).raise_for_status()
        for n in range(orders):
            client.post("/api/orders", json=body).raise_for_status()
            if n % 50 == 0:
                peak = max(peak, stack_rss_mb(state))
    return max(peak, stack_rss_mb(state))


def main() -> None:
    """Prints cold and warm start times and the stack's peak memory."""
    state = Path(tempfile.mkdtemp(prefix="cqrs-lab-bench-"))
    state.chmod(0o755)
    env = dict(os.environ, CQRS_LAB_STATE_DIR=str(state))
    env.update({f"CQRS_LAB_{k}_PORT": str(v) for k, v in PORTS.items()})
    try:
        cold = lab(env, "up")
        idle = stack_rss_mb(state)
        peak = peak_under_load(env, state, 500)
        lab(env, "down")
        warm = lab(env, "up")
    finally:
        lab(env, "reset", "--yes")
    print(f"cqrs-lab up, cold (fresh data, jars cached): {cold:.1f} s")
    print(f"cqrs-lab up, warm (data kept): {warm:.1f} s")
    print(f"stack memory: {idle:.0f} MB idle, {peak:.0f} MB peak "
          "while placing 500 orders")


if __name__ == "__main__":
    main()
