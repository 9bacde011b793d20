"""HTTP: the customer's status page ``/s/{token}`` (no login: the signed, expiring link is the credential and
reveals only that ticket, with masked name and address)."""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse

from aftersales_shared import clock
from aftersales_shared.app import DbSession
from aftersales_shared.errors import DomainError

from . import render, service

router = APIRouter(tags=["status page"])
Token = Annotated[str, Path(min_length=10, max_length=300)]
HTML: dict[int | str, dict[str, Any]] = {
    200: {"content": {"text/html": {}}, "description": "The page"},
    403: {"content": {"text/html": {}}, "description": "Tampered or malformed link"},
    410: {"content": {"text/html": {}}, "description": "Expired link"},
}
RESCHEDULE: dict[int | str, dict[str, Any]] = {
    **HTML,
    409: {"content": {"text/html": {}}, "description": "The slot is not offered, or the visit can no longer move"},
    422: {"content": {"text/html": {}}, "description": "No slot chosen"},
    503: {"content": {"text/html": {}}, "description": "Dispatch is not reachable"},
}


def _secret(request: Request) -> bytes:
    return bytes(request.app.state.settings.link_secret.get_secret_value().encode())


def _refused(exc: DomainError) -> HTMLResponse:
    return HTMLResponse(render.refused_page(exc.code), status_code=exc.status)


@router.get("/s/{token}", response_class=HTMLResponse, responses=HTML, summary="The customer's status page")
async def status_page(token: Token, request: Request, session: DbSession, thanks: bool = False,
                      rescheduled: bool = False) -> HTMLResponse:
    try:
        ticket_id = service.ticket_of_link(token, secret=_secret(request), now=clock.now())
        v = await service.view(session, ticket_id=ticket_id)
    except DomainError as exc:
        return _refused(exc)
    slots = await service.offered_slots(v, dispatch=request.app.state.dispatch)
    return HTMLResponse(render.status_page(v, token=token, thanks=thanks, slots=slots, rescheduled=rescheduled),
                        headers={"Cache-Control": "no-store", "Referrer-Policy": "no-referrer"})


@router.post("/s/{token}/reschedule", response_class=HTMLResponse, status_code=303, responses=RESCHEDULE,
             summary="Move the visit to one of the slots dispatch offers (form field slot=<start>|<end>)")
async def reschedule(token: Token, request: Request, session: DbSession) -> Any:
    try:
        ticket_id = service.ticket_of_link(token, secret=_secret(request), now=clock.now())
        form = parse_qs((await request.body()).decode("utf-8", "replace")[:4000])
        slot = service.parse_slot((form.get("slot") or [""])[0])
        await service.reschedule(session, ticket_id=ticket_id, slot=slot, dispatch=request.app.state.dispatch)
    except DomainError as exc:
        if exc.code.startswith("link_"):
            return _refused(exc)
        return HTMLResponse(render.reschedule_refused(exc.code, token=token), status_code=exc.status)
    return RedirectResponse(f"/s/{token}?rescheduled=1", status_code=303)


@router.post("/s/{token}/rating", response_class=HTMLResponse, status_code=303, responses=HTML,
             summary="Rate the service from the status page (form field rating=1..5)")
async def rate(token: Token, request: Request, session: DbSession) -> Any:
    try:
        ticket_id = service.ticket_of_link(token, secret=_secret(request), now=clock.now())
    except DomainError as exc:
        return _refused(exc)
    form = parse_qs((await request.body()).decode("utf-8", "replace")[:4000])
    raw = (form.get("rating") or [""])[0]
    if raw not in {"1", "2", "3", "4", "5"}:
        return HTMLResponse(render.page("评分无效", '<p id="refused">请选择 1 到 5 分。</p>'), status_code=422)
    comments = form.get("comment")
    comment = comments[0] if comments else None
    try:
        await service.rate(session, ticket_id=ticket_id, rating=int(raw), comment=comment, now=clock.now())
    except DomainError as exc:
        return _refused(exc)
    return RedirectResponse(f"/s/{token}?thanks=1", status_code=303)
