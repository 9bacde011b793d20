"""RFC 9457 problem+json for every error a service returns."""

from __future__ import annotations

import logging
from typing import Any

import asyncpg
from aiokafka.errors import KafkaError
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, IntegrityError
from sqlalchemy.exc import OperationalError as SAOperationalError
from sqlalchemy.exc import TimeoutError as SATimeoutError
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
UNAVAILABLE_SQLSTATES = {
    "57P01", "57P02", "57P03",  # admin shutdown, crash shutdown, cannot connect now (starting up)
    "53300",  # too many connections
    "08000", "08001", "08003", "08004", "08006",  # connection exceptions
}
_NOT_TRANSIENT_OS_ERRORS = (FileNotFoundError, IsADirectoryError, NotADirectoryError, PermissionError)


def _chain(exc: BaseException) -> list[BaseException]:
    """The exception, what it wraps (SQLAlchemy's ``orig``) and what caused it, each once."""
    seen: list[BaseException] = []
    todo: list[BaseException | None] = [exc]
    while todo:
        e = todo.pop(0)
        if e is None or any(e is s for s in seen) or len(seen) > 20:
            continue
        seen.append(e)
        orig = getattr(e, "orig", None)
        todo += [orig if isinstance(orig, BaseException) else None, e.__cause__, e.__context__]
    return seen


def sqlstate_of(exc: BaseException) -> str | None:
    """The first SQLSTATE found on the exception or anything it wraps."""
    for e in _chain(exc):
        state = getattr(e, "sqlstate", None) or getattr(e, "pgcode", None)
        if isinstance(state, str) and state:
            return state
    return None


def is_db_unavailable(exc: BaseException) -> bool:
    """The database cannot be reached or refuses sessions now (down, restarting, full, pool exhausted)."""
    state = sqlstate_of(exc)
    if state in UNAVAILABLE_SQLSTATES:
        return True
    for e in _chain(exc):
        if isinstance(e, (asyncpg.PostgresConnectionError, asyncpg.exceptions.ConnectionDoesNotExistError,
                          SATimeoutError, ConnectionError, TimeoutError)):
            return True
        if isinstance(e, DBAPIError) and e.connection_invalidated:
            return True
        if isinstance(e, asyncpg.InterfaceError) and "closed" in str(e):
            return True
        if isinstance(e, OSError) and not isinstance(e, _NOT_TRANSIENT_OS_ERRORS):
            return True
    return False


def is_transient(exc: BaseException) -> bool:
    """Retrying later can succeed: the database or broker is away, or a concurrent transaction got in the way.

    Everything else (validation, a constraint, a handler bug) is deterministic: retrying cannot help.
    """
    if is_db_unavailable(exc) or sqlstate_of(exc) in TRANSIENT_SQLSTATES:
        return True
    return any(isinstance(e, (KafkaError, SAOperationalError)) for e in _chain(exc))


def is_data_error(exc: BaseException) -> bool:
    """A value the database cannot take (SQLSTATE class 22: NUL byte, numeric or datetime overflow, ...)."""
    state = sqlstate_of(exc)
    if state is not None:
        return state.startswith("22")
    return any(isinstance(e, asyncpg.DataError) for e in _chain(exc))  # asyncpg refused to encode an argument


RETRY_AFTER_UNAVAILABLE = "5"


def problem_for(request: Request, exc: BaseException) -> JSONResponse:
    """The answer to an exception no narrower handler took: 503 + Retry-After when the database (or broker) is
    away or a concurrent change got in the way, 422 for a value the database cannot take, else 500 (logged)."""
    path = request.url.path
    if is_transient(exc):
        if sqlstate_of(exc) in TRANSIENT_SQLSTATES:
            response = problem(503, "Temporarily unavailable", "a concurrent change got in the way; retry shortly",
                               code="retry", instance=path)
            response.headers["Retry-After"] = "1"
        else:
            log.warning("dependency unavailable on %s %s: %s", request.method, path, type(exc).__name__)
            response = problem(503, "Service unavailable",
                               "the database (or another dependency) is unavailable; retry shortly",
                               code="unavailable", instance=path)
            response.headers["Retry-After"] = RETRY_AFTER_UNAVAILABLE
        return response
    if is_data_error(exc):
        return problem(422, "Invalid value", "a value is out of range or not representable (e.g. a NUL character, "
                       "a date or number too large)", code="invalid_value", instance=path)
    log.error("unhandled error on %s %s", request.method, path, exc_info=exc)
    return problem(500, "Internal error", "an unexpected error occurred; it has been logged",
                   code="internal_error", instance=path)


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
        code = {404: "not_found", 405: "method_not_allowed", 401: "unauthorized", 403: "forbidden",
                413: "payload_too_large"}.get(
            exc.status_code, "http_error"
        )
        if exc.status_code == 413:
            return problem(413, "Payload too large", str(exc.detail), code=code, instance=request.url.path)
        return problem(exc.status_code, str(exc.detail), str(exc.detail), code=code, instance=request.url.path)

    @app.exception_handler(IntegrityError)
    async def _integrity(request: Request, exc: IntegrityError) -> JSONResponse:
        # A constraint the service did not pre-check: the client raced another writer.
        constraint = getattr(getattr(exc.orig, "__cause__", None), "constraint_name", None)
        return problem(409, "Conflict", "the change conflicts with existing data", code="conflict",
                       instance=request.url.path, constraint=constraint)

    @app.exception_handler(DBAPIError)
    async def _dbapi(request: Request, exc: DBAPIError) -> JSONResponse:
        return problem_for(request, exc)

    # The same answers for hot paths that talk to asyncpg directly (db.create_raw_pool).
    @app.exception_handler(asyncpg.IntegrityConstraintViolationError)
    async def _raw_integrity(request: Request, exc: asyncpg.IntegrityConstraintViolationError) -> JSONResponse:
        return problem(409, "Conflict", "the change conflicts with existing data", code="conflict",
                       instance=request.url.path, constraint=getattr(exc, "constraint_name", None))

    @app.exception_handler(asyncpg.PostgresError)
    async def _raw_postgres(request: Request, exc: asyncpg.PostgresError) -> JSONResponse:
        return problem_for(request, exc)

    # Everything else (OSError, pool timeouts, asyncpg interface errors, handler bugs) is answered by
    # ProblemMiddleware (app.py) from the same problem_for: not by an ``Exception`` handler, which Starlette runs
    # in ServerErrorMiddleware and then re-raises, making the server drop the keep-alive connection.
