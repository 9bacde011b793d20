"""``/v1/admin/clock``: read the service's clock, and move it forward in development and test only."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import AwareDatetime, Field, model_validator

from . import clock
from .auth import Principal, Role, require_roles
from .errors import NotFound, Unprocessable
from .schemas import ReadModel, StrictModel

router = APIRouter(prefix="/v1/admin/clock", tags=["admin"])
Admin = Annotated[Principal, Depends(require_roles(Role.ADMIN))]


class ClockRead(ReadModel):
    now: datetime
    offset_seconds: float
    movable: bool


class ClockAdvance(StrictModel):
    """Move forward by ``seconds`` or to the instant ``to`` (exactly one)."""

    seconds: int | None = Field(default=None, gt=0, le=int(clock.MAX_ADVANCE.total_seconds()))
    to: AwareDatetime | None = None

    @model_validator(mode="after")
    def _one(self) -> ClockAdvance:
        if (self.seconds is None) == (self.to is None):
            raise ValueError("give exactly one of seconds or to")
        return self


def _read(request: Request) -> ClockRead:
    env = request.app.state.settings.environment
    return ClockRead(now=clock.now(), offset_seconds=clock.offset().total_seconds(), movable=clock.can_move(env))


_DOC: dict[int | str, dict[str, Any]] = {
    404: {"description": "The clock cannot be moved in this environment (production)"},
    422: {"description": "Not forward, or more than one move's maximum"}}


@router.get("", response_model=ClockRead, summary="The service's clock (admin)")
async def read_clock(request: Request, _p: Admin) -> ClockRead:
    return _read(request)


@router.post("", response_model=ClockRead, responses=_DOC,
             summary="Move the clock forward (admin; development and test only, 404 in production)")
async def advance_clock(request: Request, body: ClockAdvance, _p: Admin) -> ClockRead:
    env = request.app.state.settings.environment
    if not clock.can_move(env):
        raise NotFound("the clock cannot be moved in this environment")
    delta = timedelta(seconds=body.seconds) if body.seconds is not None else body.to - clock.now()  # type: ignore[operator]
    try:
        clock.advance(delta, environment=env)
    except clock.ClockNotMovable as exc:
        raise Unprocessable(str(exc), field="to" if body.to is not None else "seconds") from exc
    return _read(request)
