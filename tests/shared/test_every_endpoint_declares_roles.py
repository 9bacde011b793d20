"""Every endpoint of every service declares who may call it: a require_roles dependency, or (a hot route that
reads its request itself) ``declares_roles`` on an endpoint that calls ``authorize``."""

import importlib
import inspect

import pytest
from fastapi.routing import APIRoute

from aftersales_shared.config import AuthSettings
from aftersales_shared.testing.processes import SERVICES
from aftersales_shared.testing.routes import CREDENTIAL_IN_REQUEST, PROBES, api_routes, settings_class

OPEN = PROBES | CREDENTIAL_IN_REQUEST


def _declares_roles_itself(route: APIRoute) -> bool:
    roles = getattr(route.endpoint, "allowed_roles", None)
    return bool(roles) and "authorize(request, " in inspect.getsource(route.endpoint)


def _declares_roles(dependant) -> bool:
    return any(getattr(d.call, "allowed_roles", None) for d in dependant.dependencies) or any(
        _declares_roles(d) for d in dependant.dependencies)


@pytest.mark.parametrize("service", SERVICES)
def test_every_endpoint_declares_its_roles(service):
    main = importlib.import_module(f"{service}.main")
    settings_cls = settings_class(service)
    app = main.create_app(settings_cls(environment="test", auth=AuthSettings(public_key_pem=None)))
    every = api_routes(app.routes)
    # the detector can fail: the deliberately open probe is reported as undeclared
    assert not _declares_roles(next(r for r in every if r.path == "/healthz").dependant)
    routes = [r for r in every if r.path not in OPEN]
    assert len(routes) >= 8, "the service exposes its endpoints"
    undeclared = [f"{sorted(r.methods)} {r.path}" for r in routes
                  if not (_declares_roles(r.dependant) or _declares_roles_itself(r))]
    assert not undeclared, f"{service}: endpoints without require_roles: {undeclared}"
