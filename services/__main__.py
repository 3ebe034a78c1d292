"""Runs one service of the lab: `python -m services orders --port 3001`."""

from __future__ import annotations

import argparse

import uvicorn

from services.shared.correlation import configure_logging
from services.shared.parts import SERVICES
from services.shared.settings import get_settings
from services.shared.tracing import setup_tracing


def main() -> None:
    """Parses the command line, configures logging and serves the app."""
    apps = {part.name: part.app for part in SERVICES}
    parser = argparse.ArgumentParser(prog="python -m services")
    parser.add_argument("name", choices=sorted(apps))
    parser.add_argument("--port", type=int)
    parser.add_argument("--instance", type=int, default=1)
    args = parser.parse_args()

    settings = get_settings()
    label = args.name if args.instance == 1 else f"{args.name}-{args.instance}"
    configure_logging(label)
    # The trace collector and dashboard are not traced: their own spans
    # would feed back into the collector.
    if args.name not in ("traces", "dashboard"):
        setup_tracing(args.name, settings)
    port = args.port or getattr(settings, f"{args.name}_port")
    uvicorn.run(apps[args.name] or "", host=settings.host, port=port,
                log_config=None, access_log=False, lifespan="on")


if __name__ == "__main__":
    main()
