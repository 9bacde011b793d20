"""The routes of a built app, for tests that check every endpoint."""

from __future__ import annotations

from typing import Any

from fastapi.routing import APIRoute


def api_routes(routes: Any) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI keeps them as their own objects)."""
    found: list[APIRoute] = []
    for r in routes:
        if isinstance(r, APIRoute):
            found.append(r)
        elif hasattr(r, "original_router"):
            found.extend(api_routes(r.original_router.routes))
        elif hasattr(r, "routes"):
            found.extend(api_routes(r.routes))
    return found
