"""The trace dashboard: a web page that shows traces from the collector live.

The page is plain HTML, CSS and JavaScript in `static/`; it reads the
collector's address from `/config.json` and talks to the collector itself.
"""

from __future__ import annotations

import re
from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, JSONResponse
from fastapi.staticfiles import StaticFiles

from services.shared.http import CorrelationMiddleware, install_error_handlers
from services.shared.settings import LabSettings, get_settings

STATIC = Path(__file__).parent / "static"
# A host name or IPv4 address; anything else falls back to the settings' host.
_HOST = re.compile(r"^[A-Za-z0-9.-]{1,253}$")


def collector_url(settings: LabSettings, request_host: str | None) -> str:
    """The collector's base URL as the browser that asked can reach it."""
    host = request_host if request_host and _HOST.match(request_host) else None
    if host is None:
        host = settings.host if settings.host not in ("0.0.0.0", "::") \
            else "127.0.0.1"
    return f"http://{host}:{settings.traces_port}"


def _policy(collector: str) -> str:
    # The page runs only its own scripts and talks only to the collector.
    return ("default-src 'self'; script-src 'self'; style-src 'self'; "
            f"img-src 'self' data:; connect-src 'self' {collector}; "
            "object-src 'none'; base-uri 'none'; frame-ancestors 'none'")


def create_app(settings: LabSettings | None = None) -> FastAPI:
    """The dashboard's FastAPI app."""
    lab = settings or get_settings()
    app = FastAPI(title="CQRS Lab trace dashboard")
    install_error_handlers(app)
    app.add_middleware(CorrelationMiddleware)
    app.mount("/static", StaticFiles(directory=STATIC), name="static")

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    async def page(request: Request) -> FileResponse:
        """The dashboard page."""
        url = collector_url(lab, request.url.hostname)
        return FileResponse(STATIC / "index.html", headers={
            "Content-Security-Policy": _policy(url),
            "Cache-Control": "no-cache"})

    @app.get("/config.json", tags=["dashboard"], summary="Where the collector is")
    async def config(request: Request) -> JSONResponse:
        """The collector's base URL for the page's requests."""
        url = collector_url(lab, request.url.hostname)
        return JSONResponse({"collectorUrl": url},
                            headers={"Cache-Control": "no-store"})

    @app.get("/health", tags=["health"], summary="Health of the dashboard")
    async def health() -> dict[str, str]:
        """Answers while the dashboard runs."""
        return {"status": "ok", "service": "dashboard"}

    return app


app = create_app()
