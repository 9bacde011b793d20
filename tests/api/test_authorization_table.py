"""The authorization table, generated from the routes (issue 13): every endpoint × every role, over HTTP.

For each route the roles it declares are read from the app itself (``require_roles`` / ``declares_roles``). A role
outside them must get 403; a role inside must never get 401/403 when it names its own tenant (a dealer or an
engineer fills ``dealer_id``/``engineer_id`` path parameters with its own id). Other path parameters are ids
nobody has (so 404 is a fine answer), bodies are empty objects (so 422 is too); what matters is that the role
check, not a missing row, decides. Cross-tenant references are tested per service in its own suite.
"""

from __future__ import annotations

import importlib
import re
from collections import Counter

import pytest
import requests

from aftersales_shared.auth import mint_token
from aftersales_shared.config import AuthSettings
from aftersales_shared.testing.processes import ROLES, SERVICES
from aftersales_shared.testing.routes import CREDENTIAL_IN_REQUEST, PROBES, api_routes, settings_class

pytestmark = pytest.mark.integration



def _allowed(route) -> frozenset[str] | None:
    declared = getattr(route.endpoint, "allowed_roles", None)
    if declared:
        return frozenset(declared)

    def walk(dependant):
        for d in dependant.dependencies:
            roles = getattr(d.call, "allowed_roles", None)
            if roles:
                return frozenset(roles)
            found = walk(d)
            if found:
                return found
        return None

    return walk(route.dependant)


def _table(service: str) -> list[tuple[str, str, frozenset[str]]]:
    main = importlib.import_module(f"{service}.main")
    settings_cls = settings_class(service)
    app = main.create_app(settings_cls(environment="test", auth=AuthSettings(public_key_pem=None)))
    rows = []
    for r in api_routes(app.routes):
        if r.path in PROBES or r.path in CREDENTIAL_IN_REQUEST:
            continue
        allowed = _allowed(r)
        assert allowed, f"{service}: {r.path} declares no roles"
        for method in sorted(r.methods - {"HEAD", "OPTIONS"}):
            rows.append((method, r.path, allowed))
    return rows


def _path(template: str, role: str) -> str:
    claims = ROLES[role]

    def fill(m: re.Match[str]) -> str:
        name = m.group(1)
        if name == "dealer_id" and "dealer_id" in claims:
            return claims["dealer_id"]
        if name == "engineer_id" and "engineer_id" in claims:
            return claims["engineer_id"]
        if name == "quarter":
            return "2026Q4"
        if name == "month":
            return "2026-11"
        if name == "year":
            return "2026"
        return "AUTHZ-NOBODY-1"

    return re.sub(r"\{(\w+)(?::\w+)?\}", fill, template)


@pytest.mark.parametrize("service", SERVICES)
def test_every_endpoint_answers_every_role_as_it_declares(servers, jwt_keys, service):
    table = _table(service)
    assert len(table) >= 8
    session = requests.Session()
    tokens = {role: mint_token(jwt_keys[0], sub=f"authz-{role}", roles=[role], **claims)
              for role, claims in ROLES.items()}
    wrong: list[str] = []
    cells: Counter[str] = Counter()
    for method, template, allowed in table:
        for role in ROLES:
            url = servers[service] + _path(template, role)
            kwargs = {"json": {}} if method in {"POST", "PUT", "PATCH"} else {}
            r = session.request(method, url, headers={"Authorization": f"Bearer {tokens[role]}"}, timeout=30,
                                **kwargs)
            cells["cells"] += 1
            if r.status_code >= 500:
                wrong.append(f"{role:12} {method} {template}: {r.status_code} {r.text[:160]}")
            elif role in allowed and r.status_code in (401, 403):
                wrong.append(f"{role:12} {method} {template}: {r.status_code} although allowed: {r.text[:160]}")
            elif role not in allowed and r.status_code != 403:
                wrong.append(f"{role:12} {method} {template}: {r.status_code}, expected 403 (allowed: "
                             f"{sorted(allowed)})")
        # and no token at all is always 401
        r = session.request(method, servers[service] + _path(template, "admin"), timeout=30)
        if r.status_code != 401:
            wrong.append(f"{'(no token)':12} {method} {template}: {r.status_code}, expected 401")
    assert cells["cells"] == len(table) * len(ROLES)
    assert not wrong, f"{service}: {len(wrong)} of {cells['cells']} cells wrong\n" + "\n".join(wrong)
