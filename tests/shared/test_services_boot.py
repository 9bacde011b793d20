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


@pytest.mark.integration
async def test_a_started_service_collects_young_objects_at_its_configured_threshold(infra_settings):
    """A started service freezes what it loaded and collects the young generation every GC_YOUNG_THRESHOLD net
    allocations (CPython's 700 made a full collection about every hundred live decisions: their p99)."""
    import gc

    from pydantic import ValidationError

    settings_cls = settings_class("parts")
    before = gc.get_threshold()
    try:
        gc.set_threshold(700, *before[1:])
        app = importlib.import_module("parts.main").create_app(
            settings_cls(**infra_settings("parts"), run_consumers=False, run_relay=False, run_background=False,
                         gc_young_threshold=12_345))
        async with running(app):
            assert gc.get_threshold()[0] == 12_345
            assert gc.get_threshold()[1:] == before[1:]
            assert gc.get_freeze_count() > 0
        with pytest.raises(ValidationError, match="gc_young_threshold|GC_YOUNG_THRESHOLD"):
            settings_cls(**infra_settings("parts"), gc_young_threshold=10)
    finally:
        gc.set_threshold(*before)
