"""The one shape every service follows, as far as a client sees it (issue 12): every business route under /v1
with a declared response, and one Idempotency-Key rule."""

from __future__ import annotations

import importlib

import pytest
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute

from aftersales_shared import idempotency
from aftersales_shared.config import AuthSettings
from aftersales_shared.testing.processes import SERVICES
from aftersales_shared.testing.routes import CUSTOMER_PAGES, PROBES, api_routes, settings_class


def _app(service: str):
    main = importlib.import_module(f"{service}.main")
    settings_cls = settings_class(service)
    return main.create_app(settings_cls(environment="test", auth=AuthSettings(public_key_pem=None)))


def _routes(app) -> list[APIRoute]:
    return [r for r in api_routes(app.routes) if r.path not in PROBES]


def _declares_response(route: APIRoute) -> bool:
    if route.response_model is not None:
        return True
    if route.status_code == 204:
        return True
    # a download (CSV/XLSX) names its media type instead of a model
    return not issubclass(route.response_class, JSONResponse) if isinstance(route.response_class, type) else False


@pytest.mark.parametrize("service", SERVICES)
def test_every_business_route_is_under_v1_and_declares_its_response(service):
    routes = _routes(_app(service))
    assert len(routes) >= 8
    # the checks can fail: a bare route is caught by both
    bare = APIRoute("/tickets", endpoint=lambda: {}, methods=["GET"])
    assert not bare.path.startswith("/v1/") and not _declares_response(bare)
    outside = [f"{sorted(r.methods)} {r.path}" for r in routes
               if not r.path.startswith("/v1/") and r.path not in CUSTOMER_PAGES]
    assert not outside, f"{service}: business routes outside /v1: {outside}"
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in routes if not _declares_response(r)]
    assert not undeclared, f"{service}: routes without a response model: {undeclared}"


@pytest.mark.parametrize("service", SERVICES)
def test_one_idempotency_key_rule(service):
    spec = _app(service).openapi()
    seen = []
    for path, ops in spec["paths"].items():
        for method, op in ops.items():
            for p in op.get("parameters", []):
                if p.get("in") == "header" and p["name"].lower() == idempotency.HEADER.lower():
                    schema = p.get("schema", {})
                    if "anyOf" in schema:
                        schema = next(s for s in schema["anyOf"] if s.get("type") == "string")
                    seen.append((method, path, schema.get("minLength"), schema.get("maxLength")))
    wrong = [s for s in seen if s[2:] != (idempotency.MIN_LENGTH, idempotency.MAX_LENGTH)]
    assert not wrong, f"{service}: Idempotency-Key with another length rule: {wrong}"
