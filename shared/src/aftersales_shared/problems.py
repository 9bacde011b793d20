"""The problem+json answer (RFC 9457) as an OpenAPI schema, and the error statuses every route documents.

Every route of every service can answer these (a missing or wrong token, a role or tenant refusal, an unknown
id, a race lost, an oversized or invalid body, the database briefly away), so the app documents them once
for all routes; a route adds its own ``responses`` only where it means something more specific.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict

from .errors import PROBLEM_JSON


class ProblemField(BaseModel):
    field: str | None = None
    reason: str


class Problem(BaseModel):
    """An error answer: a stable ``code`` and, where one input is at fault, the ``field`` that names it."""

    model_config = ConfigDict(extra="allow")

    type: str
    title: str
    status: int
    detail: str
    code: str
    instance: str | None = None
    field: str | None = None
    errors: list[ProblemField] | None = None


def _doc(description: str) -> dict[str, Any]:
    return {"description": description, "model": Problem, "content": {PROBLEM_JSON: {}}}


COMMON_RESPONSES: dict[int | str, dict[str, Any]] = {
    400: _doc("The request breaks a business rule (problem+json with a stable code)"),
    401: _doc("No valid bearer token"),
    403: _doc("The caller's role or tenant may not do this"),
    404: _doc("Unknown resource, or not visible to the caller"),
    409: _doc("Conflicts with the current state (a race lost, a duplicate, a stale version)"),
    413: _doc("The request body is larger than the service accepts"),
    422: _doc("Invalid input: the problem names the field and the reason"),
    503: _doc("The database is briefly unavailable or a concurrent change got in the way; retry after Retry-After"),
}
