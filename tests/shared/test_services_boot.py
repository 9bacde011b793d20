"""Every service boots against the real stack: migrations applied, probes answer, OpenAPI served."""

import importlib

import pytest

from aftersales_shared.testing.isolation import own_kafka, start_at_end
from aftersales_shared.testing.plugin import running
from aftersales_shared.testing.processes import SERVICES
from aftersales_shared.testing.routes import settings_class


@pytest.mark.integration
@pytest.mark.parametrize("service", SERVICES)
async def test_service_boots_migrated_and_ready(service, infra_settings, admin_db):
    main = importlib.import_module(f"{service}.main")
    settings_cls = settings_class(service)
    settings = settings_cls(**infra_settings(service, **own_kafka("boot")))
    # consumer groups of the test's own, at the topics' end: booting replays no other test's or run's events
    await start_at_end((settings, importlib.import_module(f"{service}.consumers").consumer_specs(settings)))
    app = main.create_app(settings)
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
