"""RFC 9457 problem+json for every error a service returns."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from starlette.exceptions import HTTPException as StarletteHTTPException

PROBLEM_JSON = "application/problem+json"
log = logging.getLogger(__name__)


class DomainError(Exception):
    """A business rule refused the request; ``code`` is stable for clients."""

    status: int = 400
    code: str = "domain_error"
    title: str = "Request refused"

    def __init__(
        self,
        detail: str,
        *,
        field: str | None = None,
        code: str | None = None,
        status: int | None = None,
        extra: dict[str, Any] | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.field = field
        if code:
            self.code = code
        if status:
            self.status = status
        self.extra = extra or {}


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = "Conflict"


class Unprocessable(DomainError):
    status = 422
    code = "unprocessable"
    title = "Unprocessable request"


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = "Forbidden"


def problem(
    status: int, title: str, detail: str, *, code: str, instance: str | None = None, **extra: Any
) -> JSONResponse:
    """Build a problem+json response."""
    body: dict[str, Any] = {
        "type": f"https://errors.aftersales.local/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
    }
    if instance:
        body["instance"] = instance
    body.update({k: v for k, v in extra.items() if v is not None})
    headers = {"WWW-Authenticate": "Bearer"} if status == 401 else None
    return JSONResponse(body, status_code=status, media_type=PROBLEM_JSON, headers=headers)


def _field_of(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header")]
    return ".".join(parts) or ".".join(str(p) for p in loc)


TRANSIENT_SQLSTATES = {"40001", "40P01", "55P03"}  # serialization failure, deadlock, lock not available


def _sqlstate(exc: DBAPIError) -> str | None:
    orig = exc.orig
    return getattr(orig, "sqlstate", None) or getattr(getattr(orig, "__cause__", None), "sqlstate", None)


def install_error_handlers(app: FastAPI) -> None:
    """Route every error through problem+json; never a bare 500 for client mistakes."""

    @app.exception_handler(DomainError)
    async def _domain(request: Request, exc: DomainError) -> JSONResponse:
        extra = dict(exc.extra)
        errors = extra.pop("errors", None) or ([{"field": exc.field, "reason": exc.detail}] if exc.field else None)
        return problem(
            exc.status, exc.title, exc.detail, code=exc.code, instance=request.url.path,
            field=exc.field, errors=errors, **extra,
        )

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"field": _field_of(e.get("loc", ())), "reason": e.get("msg", "invalid")} for e in exc.errors()]
        first = errors[0] if errors else {"field": None, "reason": "invalid request"}
        return problem(
            422, "Invalid request", f"{first['field']}: {first['reason']}", code="validation_error",
            instance=request.url.path, field=first["field"], errors=errors,
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden"}.get(
            exc.status_code, "http_error"
        )
        return problem(exc.status_code, str(exc.detail), str(exc.detail), code=code, instance=request.url.path)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint the service did not pre-check: the client raced another writer.
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
        return problem(409, "Conflict", "the change conflicts with existing data", code="conflict",
                       instance=request.url.path, constraint=constraint)

    @app.exception_handler(DBAPIError)
    async def _transient(request: Request, exc: DBAPIError) -> JSONResponse:
        # Deadlocks and serialization failures are the database asking the client to try again.
        if _sqlstate(exc) in TRANSIENT_SQLSTATES:
            response = problem(503, "Temporarily unavailable", "a concurrent change got in the way; retry shortly",
                               code="retry", instance=request.url.path)
            response.headers["Retry-After"] = "1"
            return response
        return await _unexpected(request, exc)

    # The same two answers for hot paths that talk to asyncpg directly (db.create_raw_pool).
    @app.exception_handler(asyncpg.IntegrityConstraintViolationError)
    async def _raw_integrity(request: Request, exc: asyncpg.IntegrityConstraintViolationError) -> JSONResponse:
        return problem(409, "Conflict", "the change conflicts with existing data", code="conflict",
                       instance=request.url.path, constraint=getattr(exc, "constraint_name", None))

    @app.exception_handler(asyncpg.PostgresError)
    async def _raw_transient(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
        if getattr(exc, "sqlstate", None) in TRANSIENT_SQLSTATES:
            response = problem(503, "Temporarily unavailable", "a concurrent change got in the way; retry shortly",
                               code="retry", instance=request.url.path)
            response.headers["Retry-After"] = "1"
            return response
        return await _unexpected(request, exc)

    @app.exception_handler(Exception)
    async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return problem(500, "Internal error", "an unexpected error occurred; it has been logged",
                       code="internal_error", instance=request.url.path)
