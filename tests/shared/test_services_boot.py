"""Every service boots against the real stack: migrations applied, probes answer, OpenAPI served."""

import importlib

import pytest

from aftersales_shared.testing.plugin import running

SERVICES = ["ticketing", "dispatch", "parts", "settlement"]


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
async def test_service_boots_migrated_and_ready(service, infra_settings, admin_db):
    main = importlib.import_module(f"{service}.main")
    config = importlib.import_module(f"{service}.config")
    settings_cls = next(v for k, v in vars(config).items() if k.endswith("Settings") and k != "ServiceSettings")
    app = main.create_app(settings_cls(**infra_settings(service)))
    async with running(app) as client:
        assert (await client.get("/healthz")).json() == {"status": "ok"}
        ready = await client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"] == {"database": True, "kafka": True}
        assert (await client.get("/openapi.json")).status_code == 200
        metrics = (await client.get("/metrics")).text
        assert "http_requests_total" in metrics
    version = await admin_db.fetchval(f'SELECT version_num FROM "{service}".alembic_version')
    assert version, "alembic version table lives in the service schema"
