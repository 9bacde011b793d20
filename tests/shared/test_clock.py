"""The one clock: every service reads it, development and test can move it forward, production cannot."""

from __future__ import annotations

import importlib
from datetime import UTC, datetime, timedelta

import httpx
import pytest

from aftersales_shared import clock
from aftersales_shared.config import AuthSettings, DatabaseSettings
from aftersales_shared.testing.routes import settings_class

SERVICES = ["ticketing", "dispatch", "parts", "settlement", "notifications"]


def test_clock_moves_forward_in_test_and_development_only():
    before = clock.now()
    clock.advance(timedelta(days=3), environment="test")
    assert clock.now() - before >= timedelta(days=3)
    assert clock.business_today() == (datetime.now(UTC) + timedelta(days=3)).astimezone(clock.BUSINESS_TZ).date()
    for env in ("production", "staging", ""):
        with pytest.raises(clock.ClockNotMovable):
            clock.advance(timedelta(seconds=1), environment=env)
        with pytest.raises(clock.ClockNotMovable):
            clock.reset(environment=env)
    with pytest.raises(clock.ClockNotMovable, match="forward"):
        clock.advance(timedelta(seconds=-1), environment="development")
    with pytest.raises(clock.ClockNotMovable):
        clock.advance(clock.MAX_ADVANCE + timedelta(seconds=1), environment="test")
    clock.reset(environment="test")
    assert abs(clock.now() - datetime.now(UTC)) < timedelta(seconds=5)


def test_business_day_is_shanghai_not_utc():
    # 2026-11-30 17:30 UTC is already 1 December in Shanghai
    assert clock.business_date(datetime(2026, 11, 30, 17, 30, tzinfo=UTC)).isoformat() == "2026-12-01"


def _app(service: str, environment: str, public_pem: str):
    main = importlib.import_module(f"{service}.main")
    settings_cls = settings_class(service)
    db = DatabaseSettings(password="a-real-secret-for-the-test")  # production refuses placeholder secrets
    secrets = {"link_secret": "a-real-link-secret-for-the-test", "callback_token": "a-real-callback-token"} \
        if service == "notifications" else {}
    return main.create_app(settings_cls(environment=environment, db=db, auth=AuthSettings(public_key_pem=public_pem),
                                        **secrets))


@pytest.mark.parametrize("service", SERVICES)
async def test_admin_moves_every_services_clock_in_test_and_gets_404_in_production(service, jwt_keys, auth_headers):
    admin = auth_headers("admin", sub="ops-lead")
    public = jwt_keys[1].decode()
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(service, "test", public)),
                                 base_url="http://t") as c:
        start = (await c.get("/v1/admin/clock", headers=admin)).json()
        r = await c.post("/v1/admin/clock", headers=admin, json={"seconds": 7 * 86400})
        assert r.status_code == 200, r.text
        moved = r.json()
        assert moved["offset_seconds"] == start["offset_seconds"] + 7 * 86400
        assert datetime.fromisoformat(moved["now"]) - datetime.fromisoformat(start["now"]) >= timedelta(days=7)
        # the same process-wide clock is what the service's code reads
        assert clock.now() - datetime.now(UTC) >= timedelta(days=7) - timedelta(seconds=5)
        # backwards and other roles are refused with problem+json naming the field / the roles
        back = await c.post("/v1/admin/clock", headers=admin, json={"to": "2000-01-01T00:00:00Z"})
        assert back.status_code == 422 and back.json()["field"] == "to"
        both = await c.post("/v1/admin/clock", headers=admin, json={"seconds": 5, "to": "2999-01-01T00:00:00Z"})
        assert both.status_code == 422
        r = await c.post("/v1/admin/clock", headers=auth_headers("ops", sub="o"), json={"seconds": 60})
        assert r.status_code == 403
    clock.reset(environment="test")
    async with httpx.AsyncClient(transport=httpx.ASGITransport(app=_app(service, "production", public)),
                                 base_url="http://t") as c:
        r = await c.post("/v1/admin/clock", headers=admin, json={"seconds": 60})
        assert r.status_code == 404
        assert r.headers["content-type"].startswith("application/problem+json")
        assert (await c.get("/v1/admin/clock", headers=admin)).json()["movable"] is False
    assert clock.offset() == timedelta(0)
