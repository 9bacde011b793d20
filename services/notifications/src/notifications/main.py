"""Notifications service: FastAPI app factory (wiring only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from fastapi import FastAPI

from aftersales_shared.app import ServiceParts, create_service_app

from . import metrics
from .background import background
from .channels.registry import build_channels
from .clients.dispatch import HttpDispatch
from .clients.ticketing import HttpTicketing
from .clients.tokens import ServiceToken
from .config import NotificationsSettings
from .consumers import consumer_specs
from .contacts.router import router as contacts_router
from .delivery.router import router as delivery_router
from .delivery.sender import Sender
from .messages.router import router as messages_router
from .replies.router import router as replies_router
from .status_page.router import router as status_router

MIGRATIONS = Path(__file__).resolve().parents[2] / "migrations"


def create_app(settings: NotificationsSettings | None = None, *, trace_exporter: Any = None,
               ticketing: Any = None, dispatch: Any = None) -> FastAPI:
    """Build the notifications app; its lifespan migrates, then runs the consumer, the sender and the reply worker.

    ``ticketing`` / ``dispatch`` replace the HTTP clients (a TicketingDirectory / DispatchDirectory).
    """
    settings = settings or NotificationsSettings()

    async def on_startup(app: FastAPI) -> None:
        token = ServiceToken(settings)
        app.state.ticketing = ticketing or HttpTicketing(settings.ticketing_url, token, settings.http_timeout_s)
        app.state.dispatch = dispatch or HttpDispatch(settings.dispatch_url, token, settings.http_timeout_s)
        app.state.channels = build_channels(settings, app.state.sessions)
        metrics.prime(app.state.channels.by_channel)
        app.state.sender = Sender(sessions=app.state.sessions, channels=app.state.channels,
                                  ticketing=app.state.ticketing, dispatch=app.state.dispatch, settings=settings)

    async def on_shutdown(app: FastAPI) -> None:
        await app.state.channels.close()
        for client in (app.state.ticketing, app.state.dispatch):
            close = getattr(client, "close", None)
            if close is not None:
                await close()

    return create_service_app(
        settings,
        ServiceParts(
            title="Notifications service",
            migrations_dir=MIGRATIONS,
            routers=[messages_router, contacts_router, delivery_router, replies_router, status_router],
            produces_topics=set(),
            consumers=consumer_specs,
            background=background,
            on_startup=on_startup,
            on_shutdown=on_shutdown,
        ),
        trace_exporter=trace_exporter,
    )
