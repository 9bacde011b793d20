"""Notifications fixtures: the real app on the real stack, real SMTP and HTTP provider stand-ins."""

from __future__ import annotations

import uuid
from datetime import datetime, time, timedelta
from typing import Any

import pytest
from pydantic import SecretStr

from aftersales_shared import clock
from aftersales_shared.kafka import make_producer
from aftersales_shared.testing.plugin import reset_schema, running
from notifications.config import AliyunSmsSettings, NotificationsSettings, SmtpSettings, WechatSettings
from notifications.domain.policy import QUIET_FROM, QUIET_UNTIL, SHANGHAI
from notifications.domain.templates import SMS_TEMPLATE_CODES
from notifications.main import create_app

from .servers import AliyunSms, Dispatch, SmtpServer, Ticketing, Wechat

DAYTIME = time(9, 0)
MARGIN = timedelta(hours=1)  # a test may run a while: within this of the quiet hours counts as inside them


@pytest.fixture(autouse=True)
def _daytime_in_shanghai() -> None:
    """SMS are held in the quiet hours (21:00-08:00 Asia/Shanghai, ``domain/policy.py``). A test that does not
    move the clock itself must not depend on the hour the suite runs at: inside the quiet hours (or within an hour
    of them) the shared clock moves forward to the next 09:00 in Shanghai. A test about quiet hours moves it on
    from there (``_move_to``); the plugin gives real time back after each test."""
    now = clock.now().astimezone(SHANGHAI)
    last = (datetime.combine(now.date(), QUIET_FROM) - MARGIN).time()
    if QUIET_UNTIL <= now.time() < last:
        return
    target = datetime.combine(now.date(), DAYTIME, SHANGHAI)
    if target <= now:
        target += timedelta(days=1)
    clock.advance(target - now, environment="test")


def uid(prefix: str = "") -> str:
    return f"{prefix}{uuid.uuid4().hex[:10]}"


@pytest.fixture
def smtp():
    with SmtpServer() as s:
        yield s


@pytest.fixture
def sms_a():
    with AliyunSms() as s:
        yield s


@pytest.fixture
def sms_b():
    with AliyunSms(access_key_id="LTAI-second", secret="second-secret") as s:
        yield s


@pytest.fixture
def wechat():
    with Wechat() as s:
        yield s


@pytest.fixture
def ticketing():
    with Ticketing() as s:
        yield s


@pytest.fixture
def dispatch():
    with Dispatch() as s:
        yield s


@pytest.fixture
def settings_for(infra_settings, smtp, sms_a, sms_b, wechat, ticketing, dispatch):
    def _make(**overrides: Any) -> NotificationsSettings:
        base: dict[str, Any] = dict(
            **infra_settings("notifications"),
            smtp=SmtpSettings(host="127.0.0.1", port=smtp.port),
            sms_providers=[
                AliyunSmsSettings(name="aliyun-a", endpoint=sms_a.url + "/", access_key_id=sms_a.access_key_id,
                                  access_key_secret=SecretStr(sms_a.secret), sign_name="售后服务"),
                AliyunSmsSettings(name="aliyun-b", endpoint=sms_b.url + "/", access_key_id=sms_b.access_key_id,
                                  access_key_secret=SecretStr(sms_b.secret), sign_name="售后服务"),
            ],
            wechat=WechatSettings(api_base=wechat.url, app_id=wechat.app_id, app_secret=SecretStr(wechat.secret),
                                  template_ids={k: f"tpl-{k}" for k in SMS_TEMPLATE_CODES}),
            ticketing_url=ticketing.url, dispatch_url=dispatch.url, service_token=SecretStr(ticketing.token),
            retry_base_s=0.05, retry_cap_s=0.2, sender_idle_poll_ms=50, public_base_url="http://status.test",
        )
        base.update(overrides)
        return NotificationsSettings(**base)

    return _make


@pytest.fixture
async def client(settings_for, admin_db):
    await reset_schema(admin_db, "notifications")
    async with running(create_app(settings_for())) as c:
        yield c


@pytest.fixture
async def publish(stack):
    producer = make_producer(stack.bootstrap, client_id="notify-tests")
    await producer.start()

    async def _send(*events: Any) -> None:
        for e in events:
            await producer.send_and_wait(e.TOPIC, value=e.to_json().encode(), key=e.aggregate_id.encode(),
                                         headers=[("event_type", e.type.encode())])

    yield _send
    await producer.stop()
