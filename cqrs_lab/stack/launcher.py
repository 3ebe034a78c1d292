"""The lab's processes as one stack: up, status, start, stop, down, reset."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import shutil
import sys
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path

import httpx

from cqrs_lab.stack.errors import StackError
from cqrs_lab.stack.kafka import Kafka, check_java
from cqrs_lab.stack.postgres import Postgres, find_bin_dir
from cqrs_lab.stack.processes import (
    ProcessRecord,
    ProcessTable,
    log_tail,
    port_is_free,
    spawn,
    terminate,
)
from services.shared.parts import PARTS, Part, part
from services.shared.settings import LabSettings

logger = logging.getLogger(__name__)

Progress = Callable[[str, str], None]

START_TIMEOUT = {"postgres": 30.0, "kafka": 90.0, "service": 120.0}


@dataclass(frozen=True)
class Instance:
    """One running copy of a part: `inventory` or `inventory-2`."""

    name: str
    part: Part
    number: int
    port: int


@dataclass(frozen=True)
class PartStatus:
    """What `status` reports for one instance."""

    name: str
    state: str
    port: int
    pid: int | None
    health: str


def _quiet(part: str, message: str) -> None:
    pass


class Stack:
    """Starts and stops the lab's processes, recorded in the state folder."""

    def __init__(self, settings: LabSettings | None = None) -> None:
        self.settings = settings or LabSettings()
        self.state = self.settings.state_dir
        self.table = ProcessTable(self.state / "run")
        self.logs = self.state / "logs"

    # -- which instances exist -------------------------------------------

    def instances(self) -> list[Instance]:
        """Every instance of the lab, with scaled services' extra copies."""
        scale = self._scale()
        result = []
        for p in PARTS:
            for number in range(1, scale.get(p.name, 1) + 1):
                result.append(self._instance(p, number))
        return result

    def _instance(self, p: Part, number: int) -> Instance:
        port = getattr(self.settings, p.port_setting)
        port += self.settings.instance_port_step * (number - 1)
        name = p.name if number == 1 else f"{p.name}-{number}"
        return Instance(name, p, number, port)

    def instance(self, name: str) -> Instance:
        """The instance called `name`, such as `payments` or `inventory-2`."""
        base, _, number = name.partition("-")
        if number.isdigit():
            return self._instance(part(base), int(number))
        return self._instance(part(name), 1)

    def _scale(self) -> dict[str, int]:
        path = self.state / "scale.json"
        try:
            return dict(json.loads(path.read_text()))
        except (OSError, ValueError):
            return {}

    def _save_scale(self, scale: dict[str, int]) -> None:
        for name, count in scale.items():
            if part(name).kind != "service" or count < 1:
                raise StackError(
                    f"cannot scale {name!r} to {count}.",
                    "scale a service (orders, payments, inventory, ...) to 1 or more",
                )
        self.state.mkdir(parents=True, exist_ok=True)
        merged = {**self._scale(), **scale}
        (self.state / "scale.json").write_text(json.dumps(merged))

    # -- up ----------------------------------------------------------------

    async def up(self, scale: dict[str, int] | None = None,
                 progress: Progress = _quiet) -> bool:
        """Starts every part that is not running; False if all already were."""
        if scale:
            self._save_scale(scale)
        todo = [i for i in self.instances() if not self.table.alive(i.name)]
        if not todo:
            return False
        self._check_ports(todo)
        self._check_tools(todo)
        self.state.mkdir(parents=True, exist_ok=True)
        try:
            await self._start_all(todo, progress)
        except BaseException:
            # A half-started lab helps nobody: stop what this call started.
            for inst in reversed(todo):
                self.stop(inst.name)
            raise
        return True

    async def _start_all(self, todo: list[Instance], progress: Progress) -> None:
        names = {i.name for i in todo}
        if "postgres" in names:
            await self._start_postgres(progress)
        # Services boot while Kafka does: they wait for the broker themselves.
        try:
            async with asyncio.TaskGroup() as group:
                if "kafka" in names:
                    group.create_task(self._start_kafka(progress))
                for inst in todo:
                    if inst.part.kind == "service":
                        group.create_task(self._start_service(inst, progress))
        except* StackError as errors:
            # The first part to fail explains it; the others were cancelled.
            raise errors.exceptions[0] from None
        await Kafka(self.settings).ensure_topics()

    def _check_ports(self, todo: list[Instance]) -> None:
        ports = [(i, i.port) for i in todo]
        if any(i.part.kind == "kafka" for i in todo):
            kafka = next(i for i in todo if i.part.kind == "kafka")
            ports.append((kafka, self.settings.kafka_controller_port))
        for inst, port in ports:
            # Only a part of ours that just died deserves a moment's grace.
            grace = 5.0 if self.table.load(inst.name) else 0.0
            if not self._port_frees(port, grace):
                variable = inst.part.env_var
                if port == self.settings.kafka_controller_port:
                    variable = "CQRS_LAB_KAFKA_CONTROLLER_PORT"
                raise StackError(
                    f"port {port} on {self.settings.host}, needed by "
                    f"{inst.name}, is already taken by another program.",
                    f"stop that program, or move {inst.name} elsewhere with "
                    f"{variable}=<free port>",
                )

    def _port_frees(self, port: int, grace: float) -> bool:
        # A process that just died may hold its socket a moment longer.
        deadline = time.monotonic() + grace
        while not port_is_free(self.settings.host, port):
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    def _check_tools(self, todo: list[Instance]) -> None:
        # Fail before starting anything, so a missing tool leaves no process.
        kinds = {i.part.kind for i in todo}
        if "kafka" in kinds:
            check_java()
            Kafka(self.settings).check_maven()
        if "postgres" in kinds:
            find_bin_dir()

    async def _start_postgres(self, progress: Progress) -> None:
        progress("postgres", "initialising")
        pg = Postgres(self.settings)
        await asyncio.to_thread(pg.ensure_initialised)
        inst = self.instance("postgres")
        record = self._spawn(inst, pg.command(), user=pg.user,
                             cwd=pg.data.parent)
        progress("postgres", "waiting for a query to succeed")
        await self._wait(inst, record, pg.ready)

    async def _start_kafka(self, progress: Progress) -> None:
        java = check_java()
        kafka = Kafka(self.settings)
        progress("kafka", "resolving jars (first run downloads them)")
        await asyncio.to_thread(kafka.ensure_jars)
        config = kafka.write_config()
        progress("kafka", "formatting storage")
        await asyncio.to_thread(kafka.ensure_formatted, java, config)
        inst = self.instance("kafka")
        record = self._spawn(inst, kafka.command(java, config))
        progress("kafka", "waiting for a metadata answer")
        await self._wait(inst, record, kafka.ready)

    async def _start_service(self, inst: Instance, progress: Progress) -> None:
        command = [
            sys.executable, "-m", "services", inst.part.name,
            "--port", str(inst.port), "--instance", str(inst.number),
        ]
        record = self._spawn(inst, command, env=self.service_env())
        progress(inst.name, "waiting for /health")
        url = f"http://{self.settings.host}:{inst.port}/health"
        await self._wait(inst, record, lambda: _healthy(url))

    def service_env(self) -> dict[str, str]:
        """The environment a service runs with: this stack's settings, spelled out."""
        env = dict(os.environ)
        for field, value in self.settings.model_dump().items():
            if value is not None:
                env[f"CQRS_LAB_{field.upper()}"] = str(value)
        env["PYTHONUNBUFFERED"] = "1"
        return env

    def _spawn(self, inst: Instance, command: list[str],
               env: dict[str, str] | None = None, user: str | None = None,
               cwd: Path | None = None) -> ProcessRecord:
        record = spawn(inst.name, command, self.log_path(inst.name), inst.port,
                       env=env, user=user, cwd=cwd)
        self.table.save(record)
        return record

    async def _wait(self, inst: Instance, record: ProcessRecord,
                    ready: Callable[[], Awaitable[bool]]) -> None:
        deadline = time.monotonic() + START_TIMEOUT[inst.part.kind]
        while time.monotonic() < deadline:
            if not self.table.alive(inst.name):
                self.table.forget(inst.name)
                raise StackError(
                    f"{inst.name} exited while starting.",
                    f"read its log: cqrs-lab logs {inst.name}",
                    log_tail(self.log_path(inst.name)),
                )
            if await ready():
                return
            await asyncio.sleep(0.1)
        raise StackError(
            f"{inst.name} did not become ready within "
            f"{START_TIMEOUT[inst.part.kind]:.0f} s.",
            f"read its log: cqrs-lab logs {inst.name}",
            log_tail(self.log_path(inst.name)),
        )

    def log_path(self, name: str) -> Path:
        """The log file of an instance."""
        return self.logs / f"{name}.log"

    # -- status, start, stop, down, reset -----------------------------------

    async def status(self) -> list[PartStatus]:
        """The state of every instance: up or down, port, PID and health."""
        instances = self.instances()
        healths = await asyncio.gather(*(self._health(i) for i in instances))
        result = []
        for inst, health in zip(instances, healths):
            record = self.table.alive(inst.name)
            state = "up" if record else "down"
            pid = record.pid if record else None
            result.append(PartStatus(inst.name, state, inst.port, pid, health))
        return result

    async def scale(self, name: str, count: int,
                    progress: Progress = _quiet) -> list[str]:
        """Runs exactly `count` instances of a service; returns their names."""
        self._save_scale({name: count})
        for inst in self.instances_of(name, beyond=count):
            self.stop(inst.name)
        await self.up(progress=progress)
        return [i.name for i in self.instances() if i.part.name == name]

    def instances_of(self, name: str, beyond: int = 0) -> list[Instance]:
        """Instances of a part numbered above `beyond`, up to those recorded."""
        recorded = [self.instance(n) for n in self.table.names()]
        return [i for i in recorded if i.part.name == name and i.number > beyond]

    async def _health(self, inst: Instance) -> str:
        if not self.table.alive(inst.name):
            return "-"
        if inst.part.kind == "postgres":
            ok = await Postgres(self.settings).ready()
        elif inst.part.kind == "kafka":
            ok = await Kafka(self.settings).ready()
        else:
            url = f"http://{self.settings.host}:{inst.port}/health"
            ok = await _healthy(url)
        return "healthy" if ok else "unhealthy"

    async def start(self, name: str, progress: Progress = _quiet) -> bool:
        """Starts one stopped instance; False when it was already running."""
        inst = self.instance(name)
        if self.table.alive(inst.name):
            return False
        self._check_ports([inst])
        if inst.part.kind == "postgres":
            await self._start_postgres(progress)
        elif inst.part.kind == "kafka":
            await self._start_kafka(progress)
        else:
            await self._start_service(inst, progress)
        return True

    def stop(self, name: str) -> bool:
        """Stops one instance by its recorded PID; False when it was not running."""
        inst = self.instance(name)
        record = self.table.alive(inst.name)
        if record is None:
            self.table.forget(inst.name)
            return False
        # PostgreSQL's fast shutdown is SIGINT; the others shut down on SIGTERM.
        signal_number = 2 if inst.part.kind == "postgres" else 15
        terminate(record, signal_number)
        self.table.forget(inst.name)
        return True

    def down(self) -> list[str]:
        """Stops every instance the lab started, services first; keeps data."""
        stopped = []
        kinds = ["service", "kafka", "postgres"]
        order = sorted(self.instances(), key=lambda i: kinds.index(i.part.kind))
        for inst in order:
            if self.stop(inst.name):
                stopped.append(inst.name)
        return stopped

    def reset(self) -> None:
        """Stops everything and wipes the state folder (the jar cache stays)."""
        self.down()
        pg_link = self.state / "postgres"
        if pg_link.is_symlink():
            shutil.rmtree(pg_link.resolve(), ignore_errors=True)
        shutil.rmtree(self.state, ignore_errors=True)


async def _healthy(url: str) -> bool:
    try:
        async with httpx.AsyncClient(timeout=2.0) as client:
            response = await client.get(url)
    except httpx.HTTPError:
        return False
    return response.status_code == 200
