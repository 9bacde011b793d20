"""The routes of a built app, for tests that check every endpoint."""

from __future__ import annotations

import importlib
from typing import Any

from fastapi.routing import APIRoute

from ..config import ServiceSettings

PROBES = frozenset({"/healthz", "/readyz", "/metrics"})
"""Open to anyone who reaches the port: liveness, readiness and metrics."""
CREDENTIAL_IN_REQUEST = frozenset({
    # the customer's status link: the signed, expiring link is the credential
    "/s/{token}", "/s/{token}/rating", "/s/{token}/reschedule",
    "/v1/providers/aliyun/sms-up", "/v1/providers/aliyun/sms-report",  # the SMS provider's signed callbacks
})
"""Routes that carry their credential in the request instead of a bearer token (notifications)."""
CUSTOMER_PAGES = frozenset({"/s/{token}", "/s/{token}/rating", "/s/{token}/reschedule"})
"""Server-rendered pages behind a short link in an SMS; not part of the /v1 API."""


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


def settings_class(service: str) -> type[ServiceSettings]:
    """The service's settings class (the ``ServiceSettings`` subclass in ``<service>.config``)."""
    config = importlib.import_module(f"{service}.config")
    return next(v for v in vars(config).values()
                if isinstance(v, type) and issubclass(v, ServiceSettings) and v is not ServiceSettings)
