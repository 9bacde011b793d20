"""Schema isolation between service roles, and 401/403 as problem+json (foundation tests 6-7)."""

from __future__ import annotations

from decimal import Decimal

import asyncpg
import pytest
from fastapi import APIRouter, Depends
from sqlalchemy.exc import DBAPIError

from aftersales_shared.app import ServiceParts, create_service_app
from aftersales_shared.auth import Principal, Role, require_roles
from aftersales_shared.config import ServiceSettings
from aftersales_shared.testing.plugin import running

SERVICES = ["ticketing", "dispatch", "parts", "settlement"]


@pytest.mark.integration
@pytest.mark.parametrize("reader,owner", [(a, b) for a in SERVICES for b in SERVICES if a != b])
async def test_service_role_cannot_read_another_services_schema(stack, reader, owner, admin_db):
    await admin_db.execute(f'CREATE TABLE IF NOT EXISTS "{owner}".isolation_probe (x int)')
    await admin_db.execute(f'ALTER TABLE "{owner}".isolation_probe OWNER TO "{owner}"')
    conn = await asyncpg.connect(host="127.0.0.1", port=stack.pg_port, user=reader,
                                 password=stack.service_password(reader), database="aftersales")
    try:
        with pytest.raises(asyncpg.InsufficientPrivilegeError, match="permission denied for schema"):
            await conn.fetch(f'SELECT * FROM "{owner}".isolation_probe')
        with pytest.raises(asyncpg.InsufficientPrivilegeError):
            await conn.execute(f'CREATE TABLE "{owner}".intruder (x int)')
        # its own schema works
        assert await conn.fetchval("SELECT current_schema()") == reader
    finally:
        await conn.close()
        await admin_db.execute(f'DROP TABLE IF EXISTS "{owner}".isolation_probe')


def _app(infra_settings):
    router = APIRouter()

    @router.get("/v1/dispatch-only")
    async def dispatch_only(who: Principal = Depends(require_roles(Role.DISPATCHER, Role.ADMIN))) -> dict:
        return {"sub": who.sub, "roles": sorted(who.roles)}

    @router.get("/v1/deadlock")
    async def deadlock(who: Principal = Depends(require_roles(Role.DISPATCHER))) -> dict:
        # a real deadlock_detected error as asyncpg raises it, wrapped the way SQLAlchemy wraps it
        orig = asyncpg.DeadlockDetectedError("deadlock detected")
        raise DBAPIError("SELECT ... FOR UPDATE", {}, orig)

    @router.get("/v1/money")
    async def money(who: Principal = Depends(require_roles(Role.FINANCE))) -> dict:
        return {"net_amount": Decimal("110.50"), "lines": [{"amount": Decimal("-0.10")}]}

    kwargs = infra_settings("ticketing")
    settings = ServiceSettings(**{**kwargs, "run_relay": False, "run_consumers": False})
    from ticketing.main import MIGRATIONS

    return create_service_app(settings, ServiceParts(title="auth probe", migrations_dir=MIGRATIONS, routers=[router]))


@pytest.mark.integration
async def test_missing_invalid_token_401_and_wrong_role_403_as_problem_json(infra_settings, auth_headers, make_token):
    async with running(_app(infra_settings)) as client:
        missing = await client.get("/v1/dispatch-only")
        assert missing.status_code == 401
        assert missing.headers["content-type"] == "application/problem+json"
        assert missing.json()["code"] == "unauthorized"
        assert missing.headers["www-authenticate"] == "Bearer"

        forged = await client.get("/v1/dispatch-only", headers={"Authorization": "Bearer not.a.jwt"})
        assert forged.status_code == 401 and forged.json()["code"] == "unauthorized"

        from aftersales_shared.auth import generate_keypair, mint_token

        other_key = generate_keypair()[0]
        wrong_signer = mint_token(other_key, sub="mallory", roles=["admin"])
        r = await client.get("/v1/dispatch-only", headers={"Authorization": f"Bearer {wrong_signer}"})
        assert r.status_code == 401

        expired = make_token("dispatcher", sub="late", exp=1)
        r = await client.get("/v1/dispatch-only", headers={"Authorization": f"Bearer {expired}"})
        assert r.status_code == 401

        wrong_role = await client.get("/v1/dispatch-only", headers=auth_headers("engineer", sub="e1"))
        assert wrong_role.status_code == 403
        assert wrong_role.headers["content-type"] == "application/problem+json"
        body = wrong_role.json()
        assert body["code"] == "forbidden" and "dispatcher" in body["detail"]

        ok = await client.get("/v1/dispatch-only", headers=auth_headers("dispatcher", sub="d1"))
        assert ok.status_code == 200 and ok.json() == {"sub": "d1", "roles": ["dispatcher"]}

        unknown = await client.get("/v1/nowhere")
        assert unknown.status_code == 404 and unknown.headers["content-type"] == "application/problem+json"


@pytest.mark.integration
async def test_deadlock_is_a_503_retry_problem_not_a_500(infra_settings, auth_headers):
    async with running(_app(infra_settings)) as client:
        r = await client.get("/v1/deadlock", headers=auth_headers("dispatcher"))
        assert r.status_code == 503
        assert r.headers["content-type"] == "application/problem+json"
        assert r.headers["retry-after"] == "1" and r.json()["code"] == "retry"


@pytest.mark.integration
async def test_R_D8_plain_dict_answers_write_decimals_as_exact_strings(infra_settings, auth_headers):
    async with running(_app(infra_settings)) as client:
        body = (await client.get("/v1/money", headers=auth_headers("finance"))).json()
        assert body == {"net_amount": "110.50", "lines": [{"amount": "-0.10"}]}


@pytest.mark.integration
async def test_a_remembered_token_is_refused_once_it_expires(infra_settings, make_token):
    """Verified tokens are cached for speed; the cache must not outlive the token's exp."""
    import asyncio
    import time

    async with running(_app(infra_settings)) as client:
        token = make_token("dispatcher", sub="brief", exp=int(time.time()) + 2)
        headers = {"Authorization": f"Bearer {token}"}
        assert (await client.get("/v1/dispatch-only", headers=headers)).status_code == 200
        assert (await client.get("/v1/dispatch-only", headers=headers)).status_code == 200  # served from cache
        await asyncio.sleep(2.5)
        late = await client.get("/v1/dispatch-only", headers=headers)
        assert late.status_code == 401 and late.json()["code"] == "unauthorized"
