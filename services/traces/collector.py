"""The trace collector ("trace BFF"): receives spans and serves trace records."""

from __future__ import annotations

from fastapi import FastAPI

from services.shared.http import (
    BodyLimitMiddleware,
    CorrelationMiddleware,
    install_error_handlers,
)

app = FastAPI(title="CQRS Lab trace collector")
install_error_handlers(app)
app.add_middleware(CorrelationMiddleware)
app.add_middleware(BodyLimitMiddleware)


@app.get("/health", tags=["health"], summary="Health of the trace collector")
async def health() -> dict[str, str]:
    """Answers while the collector runs."""
    return {"status": "ok", "service": "traces"}
