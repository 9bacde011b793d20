"""Bodies of the jobs API: the engineer app's actions, manual assignment, job reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import AwareDatetime, BaseModel, Field

from aftersales_shared.schemas import ReadModel, StrictModel

from ..models import Job

Action = Literal["accept", "decline", "depart", "arrive", "pause", "resume", "remote_resolve", "lend_spare",
                 "collect_spare", "complete"]


class PartUsedIn(StrictModel):
    part_no: str = Field(min_length=1, max_length=64)
    quantity: int = Field(1, ge=1, le=1000)
    new_serial: str | None = Field(None, max_length=64)
    old_serial: str | None = Field(None, max_length=64)
    old_part_kept: bool = True
    reservation_id: str | None = Field(None, max_length=40)


class ServiceRecordIn(StrictModel):
    work_done: str = Field(min_length=1, max_length=4000)
    root_cause: Literal["supplier_part", "workmanship", "customer"] | None = None
    parts_used: list[PartUsedIn] = Field(default_factory=list, max_length=100)
    labour_minutes: int = Field(ge=0, le=60 * 24 * 7)
    customer_name: str | None = Field(None, max_length=100)
    signature_ref: str | None = Field(None, max_length=300)
    photos: list[str] = Field(default_factory=list, max_length=30)


class ActionIn(StrictModel):
    """One engineer-app action; ``client_action_id`` makes a resent action a no-op returning the first result."""

    client_action_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    device_time: AwareDatetime
    action: Action
    reason: str | None = Field(None, max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    spare_serial: str | None = Field(None, max_length=64)
    record: ServiceRecordIn | None = None


class ActionRead(BaseModel):
    """The result of an action (also what a replay returns)."""

    job_id: str
    action: str
    status: str
    at: datetime
    engineer_id: str | None


class AssignIn(StrictModel):
    engineer_id: str = Field(min_length=1, max_length=40)


class JobRead(BaseModel):
    id: str
    ticket_id: str
    ticket_no: str
    visit: int
    status: str
    serial: str
    product_line: str
    required_skill: str
    zone_class: str
    region_code: str
    contract_code: str | None
    engineer_id: str | None
    engineer_dealer_id: str | None
    customer_name: str
    phone: str
    address: str
    lat: float | None
    lon: float | None
    fault_description: str
    opened_at: datetime
    deadlines: dict[str, datetime | None]
    responded_at: datetime | None
    arrived_at: datetime | None
    resolved_at: datetime | None
    paused_reason: str | None
    pauses: list[dict[str, Any]]
    sla_met: dict[str, bool]
    warnings_sent: list[str]
    spare_serial: str | None
    spare_lent_at: datetime | None
    spare_collected_at: datetime | None
    routing_escalated: bool

    @classmethod
    def of(cls, j: Job, **extra: Any) -> Self:
        fields = {k: getattr(j, k) for k in JobRead.model_fields if k != "deadlines"}
        return cls(**fields, deadlines={"respond": j.respond_due, "arrive": j.arrive_due, "resolve": j.resolve_due},
                   **extra)


class ServiceRecordRead(ReadModel):
    work_done: str
    root_cause: str | None
    parts_used: list[dict[str, Any]]
    labour_minutes: int
    customer_name: str | None
    signature_ref: str | None
    photos: list[str]
    remote: bool
    completed_at: datetime


class JobDetailRead(JobRead):
    """A job with its service record once completed."""

    service_record: ServiceRecordRead | None
