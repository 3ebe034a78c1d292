"""HTTP edges every service shares: correlation ids, size limits, JSON errors."""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Sequence
from typing import Annotated, Any, Generic, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import Match
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.shared import correlation
from services.shared.db import is_transient
from services.shared.eventstore import ConcurrencyConflict
from services.shared.tracing import annotate

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024

T = TypeVar("T")


class Answer(BaseModel, Generic[T]):
    """Every successful answer: `{"success": true, "data": ...}`."""

    success: Literal[True] = True
    data: T


class FieldProblem(BaseModel):
    """One field of the request and what is wrong with it."""

    field: str
    problem: str


class ErrorDetail(BaseModel):
    """What went wrong: a stable code, a sentence, and the fields at fault."""

    code: str
    message: str
    fields: list[FieldProblem] | None = None


class ErrorBody(BaseModel):
    """Every error answer: `{"success": false, "error": {...}}`."""

    success: Literal[False] = False
    error: ErrorDetail


def _error(description: str) -> dict[str, Any]:
    return {"model": ErrorBody, "description": description}


# Documented on every route, replacing FastAPI's default 422 schema, so the
# OpenAPI document describes the error bodies the services really send.
ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _error("Malformed JSON body"),
    404: _error("Unknown route or resource"),
    409: _error("The command conflicts with the current state"),
    413: _error("Request body too large"),
    422: _error("A field is missing or invalid; `fields` names it"),
    503: _error("A service or the database is not answering"),
}


def error_body(status: int, code: str, message: str,
               fields: Sequence[dict[str, str]] = ()) -> JSONResponse:
    """A JSON error answer: what went wrong and, when known, which field."""
    error: dict[str, Any] = {"code": code, "message": message}
    if fields:
        error["fields"] = list(fields)
    return JSONResponse({"success": False, "error": error}, status_code=status)


def field_path(location: Sequence[Any]) -> str:
    """Turns pydantic's location tuple into `items[0].quantity`."""
    path = ""
    for part in location:
        if part in ("body", "path", "query", "header"):
            continue
        if isinstance(part, int):
            path += f"[{part}]"
        else:
            path += f".{part}" if path else str(part)
    return path or "body"


def _validation_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = list(exc.errors())
    if any(p.get("type") == "json_invalid" for p in problems):
        return error_body(400, "malformed_json",
                          "the request body is not valid JSON")
    fields = [{"field": field_path(p["loc"]), "problem": p["msg"]}
              for p in problems]
    summary = "; ".join(f"{f['field']}: {f['problem']}" for f in fields)
    return error_body(422, "validation_error", summary, fields)


def _http_error(request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    if exc.status_code == 404 and exc.detail == "Not Found":
        message = f"no route for {request.method} {request.url.path}"
        return error_body(404, "not_found", message)
    if exc.status_code == 405:
        message = f"{request.method} is not allowed on {request.url.path}"
        response = error_body(405, "method_not_allowed", message)
        response.headers["Allow"] = ", ".join(_allowed_methods(request))
        return response
    response = error_body(exc.status_code, "http_error", str(exc.detail))
    response.headers.update(exc.headers or {})
    return response


def _allowed_methods(request: Request) -> list[str]:
    # Starlette names only the first route matching the path; a path can
    # have several (GET and POST /orders), and Allow must list them all.
    methods: set[str] = set()
    for route in request.app.routes:
        match, _ = route.matches(request.scope)
        if match != Match.NONE:
            methods |= set(getattr(route, "methods", None) or ())
    return sorted(methods)


def _conflict(request: Request, exc: Exception) -> JSONResponse:
    return error_body(409, "concurrency_conflict", str(exc))


def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    if is_transient(exc):
        logger.warning("database unavailable path=%s error=%r",
                       request.url.path, exc)
        return error_body(503, "database_unavailable",
                          "the database is not answering; nothing was saved, "
                          "try again shortly")
    logger.exception("unhandled error path=%s", request.url.path)
    return error_body(500, "internal_error",
                      "the service failed; its log has the details")


def install_error_handlers(app: FastAPI) -> None:
    """Makes every error a JSON body that names the problem."""
    app.add_exception_handler(RequestValidationError, _validation_error)
    app.add_exception_handler(StarletteHTTPException, _http_error)
    app.add_exception_handler(ConcurrencyConflict, _conflict)
    app.add_exception_handler(Exception, _unexpected)


class CorrelationMiddleware:
    """Binds the caller's X-Correlation-ID (or a new one) and echoes it back."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        incoming = _header(scope, b"x-correlation-id")
        value = incoming if incoming and correlation.is_valid(incoming) else None
        correlation_id = value or correlation.new_correlation_id()
        scope.setdefault("state", {})["correlation_id"] = correlation_id
        token = correlation.bind(correlation_id)
        annotate()

        began = time.perf_counter()
        status = 500

        async def send_with_header(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((b"x-correlation-id", correlation_id.encode()))
                message["headers"] = headers
            await send(message)

        try:
            await self.app(scope, receive, send_with_header)
        finally:
            _log_request(scope, status, time.perf_counter() - began)
            correlation.unbind(token)


def _log_request(scope: Scope, status: int, seconds: float) -> None:
    # One line per request, inside the correlation scope, so grepping a
    # correlation id finds the call that started a flow; health polls are
    # kept to DEBUG so they do not bury it.
    path = scope.get("path", "")
    level = logging.DEBUG if path.endswith("/health") else logging.INFO
    logger.log(level, "request method=%s path=%s status=%s duration_ms=%.1f",
               scope.get("method"), path, status, seconds * 1000)


class BodyLimitMiddleware:
    """Answers 413 to request bodies larger than the limit, before parsing."""

    def __init__(self, app: ASGIApp, limit: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _header(scope, b"content-length")
        if declared and declared.isdigit() and int(declared) > self.limit:
            await self._too_large(scope, receive, send)
            return
        # A chunked body declares no length: read it here, within the limit,
        # and hand the app a copy, so the app never parses an oversized one.
        body = await self._read_limited(receive)
        if body is None:
            await self._too_large(scope, receive, send)
            return
        sent = False

        async def replay() -> Message:
            nonlocal sent
            if sent:
                return await receive()
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}

        await self.app(scope, replay, send)

    async def _read_limited(self, receive: Receive) -> bytes | None:
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                return b"".join(chunks)
            chunk = message.get("body", b"")
            size += len(chunk)
            if size > self.limit:
                return None
            chunks.append(chunk)
            if not message.get("more_body", False):
                return b"".join(chunks)

    async def _too_large(self, scope: Scope, receive: Receive, send: Send) -> None:
        response = error_body(413, "body_too_large",
                              f"the request body exceeds {self.limit} bytes")
        await response(scope, receive, send)


def _header(scope: Scope, name: bytes) -> str | None:
    for key, value in scope.get("headers", []):
        if key == name:
            return bytes(value).decode("latin-1")
    return None


IF_MATCH_DOC = ("The order's version as you last read it (the ETag of "
                "`GET /api/orders/{orderId}`, e.g. `\"3\"`). When it is given "
                "and the order has changed since, the command is refused "
                "with 409 and changes nothing.")
# An ETag of ours is the stream version in quotes; the quotes may be left off.
ETAG_PATTERN = r'^(W/)?"?[0-9]{1,9}"?$'


def expected_version(if_match: Annotated[str | None, Header(
        alias="If-Match", pattern=ETAG_PATTERN, description=IF_MATCH_DOC,
        examples=['"3"'])] = None) -> int | None:
    """The version an If-Match header expects, when the caller sent one."""
    if if_match is None:
        return None
    return int(if_match.removeprefix("W/").strip('"'))


ExpectedVersion = Annotated[int | None, Depends(expected_version)]


def etag(version: int) -> str:
    """The ETag of a stream at a version."""
    return f'"{version}"'


def correlation_id_of(request: Request) -> str:
    """The correlation id the middleware bound to this request."""
    return str(request.scope.get("state", {}).get("correlation_id", ""))


def dumps(data: Any) -> str:
    """Compact JSON for logs."""
    return json.dumps(data, separators=(",", ":"), default=str)
