"""Notifications service settings (env prefix NOTIFICATIONS_; DB_*, KAFKA_*, AUTH_* come from shared).

Provider credentials live here; with none configured, the development and test environments write
every message to the ``dev_outbox`` table and the log instead of the world.
"""

from __future__ import annotations

from pydantic import BaseModel, Field, SecretStr, model_validator
from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import PLACEHOLDER_SECRETS, ServiceSettings


class SmtpSettings(BaseModel):
    name: str = "smtp"
    host: str
    port: int = 25
    username: str | None = None
    password: SecretStr | None = None
    from_addr: str = "售后服务 <service@aftersales.local>"
    starttls: bool = False
    use_tls: bool = False
    timeout_s: float = 10.0
    pool_size: int = 8


class AliyunSmsSettings(BaseModel):
    """One Aliyun SMS account (dysmsapi SendSms, RPC signature v1); several give provider failover."""

    name: str = "aliyun"
    endpoint: str = "https://dysmsapi.aliyuncs.com/"
    access_key_id: str
    access_key_secret: SecretStr
    sign_name: str
    region_id: str = "cn-hangzhou"
    timeout_s: float = 5.0


class WechatSettings(BaseModel):
    """A WeChat official account sending template messages."""

    name: str = "wechat"
    api_base: str = "https://api.weixin.qq.com"
    app_id: str
    app_secret: SecretStr
    template_ids: dict[str, str] = Field(default_factory=dict)
    timeout_s: float = 5.0


class NotificationsSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="NOTIFICATIONS_", extra="ignore", env_nested_delimiter="__")

    service_name: str = "notifications"
    db_schema: str = "notifications"

    public_base_url: str = "http://127.0.0.1:8005"
    link_secret: SecretStr = SecretStr("dev-link-secret-change-me")
    link_ttl_days: int = 30
    callback_token: SecretStr = SecretStr("dev-callback-token")
    """Shared secret in the provider callback URLs (receipts, inbound SMS): ``?token=...``."""

    smtp: SmtpSettings | None = None
    sms_providers: list[AliyunSmsSettings] = Field(default_factory=list)
    wechat: WechatSettings | None = None

    ticketing_url: str = "http://127.0.0.1:8001"
    dispatch_url: str = "http://127.0.0.1:8002"
    service_token: SecretStr | None = None
    """A bearer token for ticketing/dispatch; or mint one from ``service_token_key_file`` (development)."""
    service_token_key_file: str | None = None
    service_token_roles: list[str] = Field(default_factory=lambda: ["notifier"])
    http_timeout_s: float = 5.0

    eta_change_margin_minutes: int = Field(30, ge=0)
    """An ETA change smaller than this (either way) is not worth a message; the customer's own reschedule is
    always confirmed (domain/rules.py::eta_notice)."""

    run_sender: bool = True
    sender_batch: int = 100
    sender_concurrency: int = 64
    sender_loops: int = 4
    """Sender loops claiming batches side by side (SKIP LOCKED keeps them apart): one batch's database work
    overlaps another's SMTP/HTTP sends."""
    sender_idle_poll_ms: int = 100
    rate_limit_per_hour: int = 10
    retry_base_s: float = 2.0
    retry_cap_s: float = 300.0
    attempts_per_provider: int = 3

    @model_validator(mode="after")
    def _real_secrets_outside_development(self) -> NotificationsSettings:
        if self.environment not in {"development", "test"}:
            for name in ("link_secret", "callback_token"):
                value = getattr(self, name).get_secret_value()
                if value in PLACEHOLDER_SECRETS or value.startswith("dev-"):
                    raise ValueError(f"NOTIFICATIONS_{name.upper()} is a placeholder; set a real secret")
        return self

    @property
    def writes_to_dev_outbox(self) -> bool:
        """Development/test without provider credentials: messages go to the dev_outbox table and the log."""
        return self.environment in {"development", "test"}
