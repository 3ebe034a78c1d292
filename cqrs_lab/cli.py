"""The `cqrs-lab` command: start, watch and stop the lab on this machine."""

from __future__ import annotations

import asyncio
import logging
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from cqrs_lab.stack import Stack, StackError
from cqrs_lab.stack.launcher import PartStatus
from services.shared.settings import LabSettings

app = typer.Typer(
    help="Run the CQRS Lab stack (PostgreSQL, Kafka, services) on this machine.",
    no_args_is_help=True,
    add_completion=False,
)
console = Console()
errors = Console(stderr=True)

ServiceName = Annotated[
    str, typer.Argument(help="A part: postgres, kafka, gateway, orders, "
                        "payments, inventory, traces, dashboard (or inventory-2).")
]


def _quiet_libraries() -> None:
    # aiokafka reports every refused connection while Kafka boots; the
    # progress line already says what the launcher is waiting for.
    logging.getLogger("aiokafka").setLevel(logging.CRITICAL)


def _stack() -> Stack:
    _quiet_libraries()
    return Stack(LabSettings())


def _fail(error: Exception) -> None:
    errors.print(f"[bold red]Error:[/] {error}", highlight=False)
    raise typer.Exit(1)


def _parse_scale(values: list[str]) -> dict[str, int]:
    scale = {}
    for value in values:
        name, _, count = value.partition("=")
        if not count.isdigit():
            raise typer.BadParameter(f"{value!r}: write NAME=COUNT, e.g. inventory=2")
        scale[name] = int(count)
    return scale


@app.command()
def up(
    scale: Annotated[list[str] | None, typer.Option(
        help="Run more instances of a service, e.g. --scale inventory=2.")] = None,
) -> None:
    """Start every part of the lab and wait until each one is healthy."""
    stack = _stack()
    started = time.monotonic()
    try:
        with console.status("Starting the lab...") as status:
            def progress(part: str, message: str) -> None:
                status.update(f"[bold]{part}[/]: {message}")
            wanted = _parse_scale(scale or [])
            changed = asyncio.run(stack.up(wanted, progress))
    except (StackError, ValueError) as error:
        _fail(error)
        return
    if not changed:
        console.print("The lab is already up; nothing changed.")
    else:
        took = time.monotonic() - started
        console.print(f"[green]The lab is up[/] in {took:.1f} s.")
    _print_urls(stack.settings)


def _print_urls(s: LabSettings) -> None:
    table = Table(title="Where things are", show_header=False)
    table.add_row("API gateway (Swagger UI)", f"{s.service_url('gateway')}/docs")
    table.add_row("Trace dashboard", s.service_url("dashboard"))
    table.add_row("Trace collector", s.service_url("traces"))
    table.add_row("Kafka", s.bootstrap_servers)
    table.add_row("PostgreSQL", f"{s.host}:{s.postgres_port}/{s.postgres_db}")
    console.print(table)


@app.command()
def status() -> None:
    """Show every part: up or down, port, PID and health."""
    rows = asyncio.run(_stack().status())
    console.print(_status_table(rows))
    if all(row.state == "down" for row in rows):
        console.print("The lab is down; start it with `cqrs-lab up`.")


def _status_table(rows: list[PartStatus]) -> Table:
    table = Table(title="CQRS Lab")
    for column in ("part", "state", "port", "pid", "health"):
        table.add_column(column)
    for row in rows:
        colour = "green" if row.health == "healthy" else "red"
        table.add_row(row.name, row.state, str(row.port), str(row.pid or "-"),
                      f"[{colour}]{row.health}[/]")
    return table


@app.command()
def logs(
    service: ServiceName,
    follow: Annotated[bool, typer.Option("--follow", "-f",
                                         help="Keep printing new lines.")] = False,
) -> None:
    """Print a part's log; every line carries the correlation id when there is one."""
    stack = _stack()
    try:
        path = stack.log_path(stack.instance(service).name)
    except ValueError as error:
        _fail(error)
        return
    if not path.exists():
        _fail(StackError(f"{service} has no log yet.", "start the lab: cqrs-lab up"))
    _print_log(path, follow)


def _print_log(path: Path, follow: bool) -> None:
    with open(path, errors="replace") as log:
        typer.echo(log.read(), nl=False)
        while follow:
            line = log.readline()
            if line:
                typer.echo(line, nl=False)
            else:
                time.sleep(0.2)


@app.command()
def stop(service: ServiceName) -> None:
    """Stop one part (for failure lessons); its data is kept."""
    try:
        stopped = _stack().stop(service)
    except ValueError as error:
        _fail(error)
        return
    console.print(f"Stopped {service}." if stopped else f"{service} was not running.")


@app.command()
def start(service: ServiceName) -> None:
    """Start one part again and wait until it is healthy."""
    try:
        started = asyncio.run(_stack().start(service))
    except (StackError, ValueError) as error:
        _fail(error)
        return
    console.print(f"Started {service}." if started else f"{service} is already running.")


@app.command()
def scale(
    service: ServiceName,
    count: Annotated[int, typer.Argument(help="How many instances to run.")],
) -> None:
    """Run exactly COUNT instances of a service (they share its Kafka partitions)."""
    try:
        names = asyncio.run(_stack().scale(service, count))
    except (StackError, ValueError) as error:
        _fail(error)
        return
    console.print(f"{service}: running " + ", ".join(names))


@app.command()
def down() -> None:
    """Stop everything the lab started, by PID; data is kept."""
    stopped = _stack().down()
    if stopped:
        console.print("Stopped: " + ", ".join(stopped))
    else:
        console.print("Nothing of the lab was running.")


@app.command()
def reset(
    yes: Annotated[bool, typer.Option("--yes", help="Do not ask.")] = False,
) -> None:
    """Stop everything and wipe the lab's data (Kafka's jar cache is kept)."""
    stack = _stack()
    if not yes:
        typer.confirm(f"Wipe every event, order and log under {stack.state}?",
                      abort=True)
    stack.reset()
    console.print("The lab's data is gone; `cqrs-lab up` starts afresh.")


if __name__ == "__main__":
    app()
