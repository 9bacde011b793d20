"""The customer's status page in a real headless Chromium (Debian's), with a screenshot under test-artifacts/;
a tampered or expired link is refused."""

from __future__ import annotations

import asyncio
import shutil
from datetime import timedelta
from pathlib import Path

import pytest
import uvicorn

from aftersales_shared import clock
from aftersales_shared.dev.devstack import free_port
from aftersales_shared.events import dispatch as dsp
from aftersales_shared.testing.plugin import reset_schema, wait_for
from notifications.domain import links
from notifications.main import create_app

from .conftest import uid
from .helpers import completed, created, customer, job_event, opened, wait_count

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync"]



@pytest.fixture(autouse=True)
def _a_real_browser() -> None:
    """The page is tested in Debian's Chromium, which `make test` installs (deploy/install-system-deps.sh): its
    absence is a broken setup, never a reason to skip."""
    assert shutil.which(CHROMIUM), "Debian chromium is missing: run `make system-deps`"


@pytest.fixture
async def served(settings_for, admin_db):
    """The app behind a real uvicorn on a free port (the browser needs a real socket)."""
    await reset_schema(admin_db, "notifications")
    port = free_port()
    app = create_app(settings_for(public_base_url=f"http://127.0.0.1:{port}"))
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning", lifespan="on"))
    task = asyncio.create_task(server.serve())
    await wait_for(lambda: asyncio.sleep(0, server.started), timeout=60)
    yield f"http://127.0.0.1:{port}", app
    server.should_exit = True
    await task


async def test_status_page_in_chromium(served, publish, sms_a, ticketing, dispatch, admin_db):
    from playwright.async_api import async_playwright

    base, app = served
    t = customer(ticketing)
    ticketing.callbacks["cb-" + t["id"]] = {"id": "cb-" + t["id"], "ticket_id": t["id"], "status": "pending"}
    dispatch.engineers["E1"] = "李师傅"
    job = uid("j-")
    await publish(opened(t), created(t, job), job_event(dsp.JobAssigned, t, job))
    await wait_count(lambda: sms_a.to(t["phone"]), 2)
    await publish(completed(t, job))
    await wait_count(lambda: sms_a.to(t["phone"]), 3)
    link = sms_a.to(t["phone"])[-1]["vars"]["link"]
    assert link.startswith(base + "/s/")
    token = link.rsplit("/", 1)[1]
    secret = app.state.settings.link_secret.get_secret_value().encode()
    ARTIFACTS.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = await browser.new_page(viewport={"width": 390, "height": 844}, locale="zh-CN")
        r = await page.goto(link)
        assert r is not None and r.status == 200
        text = await page.inner_text("main")
        assert t["ticket_no"] in text and "维修完成" in text and "李师傅" in text
        assert "张**" in text and t["phone"] not in await page.content()  # masked; nothing beyond the ticket
        await page.screenshot(path=str(ARTIFACTS / "status-page.png"), full_page=True)
        await page.click("button[value='5']")
        await page.wait_for_selector("#rated")
        assert "5 分" in await page.inner_text("#rated")
        await page.screenshot(path=str(ARTIFACTS / "status-page-rated.png"), full_page=True)

        body, mac = token.split(".")
        tampered = f"{body}.{('A' if mac[0] != 'A' else 'B')}{mac[1:]}"
        r = await page.goto(f"{base}/s/{tampered}")
        assert r is not None and r.status == 403 and "链接无效" in await page.inner_text("#refused")
        expired = links.sign(t["id"], expires_at=clock.now() + timedelta(minutes=5), secret=secret)
        clock.advance(timedelta(minutes=6), environment="test")
        r = await page.goto(f"{base}/s/{expired}")
        assert r is not None and r.status == 410 and "过期" in await page.inner_text("#refused")
        await browser.close()

    async def rated() -> bool:
        return ticketing.callbacks["cb-" + t["id"]]["status"] == "done"

    await wait_for(rated)
    assert ticketing.callbacks["cb-" + t["id"]]["satisfaction"] == 5
    assert (ARTIFACTS / "status-page.png").stat().st_size > 1000
