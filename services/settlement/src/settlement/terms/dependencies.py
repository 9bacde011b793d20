"""The configured defaults of the dealer terms as a FastAPI dependency (routers that read terms in force)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import Depends, Request

from aftersales_shared.app import settings_of

from .service import defaults_of


def _defaults(request: Request) -> dict[str, Any]:
    return defaults_of(settings_of(request))


TermDefaults = Annotated[dict[str, Any], Depends(_defaults)]
"""Every term's configured default (SETTLEMENT_TERMS_*), for a use case that resolves the terms in force."""
