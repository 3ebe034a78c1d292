"""The trace dashboard: a web page that shows traces from the collector live."""

from __future__ import annotations

from fastapi import FastAPI

from services.shared.http import CorrelationMiddleware, install_error_handlers

app = FastAPI(title="CQRS Lab trace dashboard")
install_error_handlers(app)
app.add_middleware(CorrelationMiddleware)


@app.get("/health", tags=["health"], summary="Health of the dashboard")
async def health() -> dict[str, str]:
    """Answers while the dashboard runs."""
    return {"status": "ok", "service": "dashboard"}
