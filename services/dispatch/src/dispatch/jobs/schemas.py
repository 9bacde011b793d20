"""Bodies of the jobs API: the engineer app's actions, manual assignment, job reads."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal, Self

from pydantic import BaseModel, Field

from aftersales_shared.pii import mask_address, mask_name, mask_phone
from aftersales_shared.schemas import BusinessDateTime, LongText, ReadModel, StrictModel

from ..fields import Id, Latitude, Longitude, Name, Reason, Serial
from ..models import Job

Action = Literal["accept", "decline", "depart", "arrive", "pause", "resume", "remote_resolve", "lend_spare",
                 "collect_spare", "complete"]
JobStatus = Literal["queued", "offered", "accepted", "en_route", "on_site", "paused", "completed", "remote_resolved",
                   "cancelled"]
"""The lifecycle's statuses (``domain/job_lifecycle.py``; a test keeps the two equal)."""


class PartUsedIn(StrictModel):
    part_no: Serial
    quantity: int = Field(1, ge=1, le=1000)
    new_serial: Serial | None = None
    old_serial: Serial | None = None
    old_part_kept: bool = True
    reservation_id: Id | None = None


class ServiceRecordIn(StrictModel):
    work_done: LongText
    root_cause: Literal["supplier_part", "workmanship", "customer"] | None = None
    parts_used: list[PartUsedIn] = Field(default_factory=list, max_length=100)
    labour_minutes: int = Field(ge=0, le=60 * 24 * 7)
    customer_name: Name | None = None
    signature_ref: Reason | None = None
    photos: list[Reason] = Field(default_factory=list, max_length=30)


class ActionIn(StrictModel):
    """One engineer-app action; ``client_action_id`` makes a resent action a no-op returning the first result.

    ``device_time`` (when the engineer did it, with an offset) may not lie before the job's last recorded action
    (nor its creation) nor after the server clock plus the allowed device skew: 422 naming it otherwise."""

    client_action_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    device_time: BusinessDateTime
    action: Action
    reason: Reason | None = None
    lat: Latitude | None = None
    lon: Longitude | None = None
    spare_serial: Serial | None = None
    spare_id: Id | None = Field(None, description="lend_spare: the pool spare unit (or name it by spare_serial)")
    spare_condition: Literal["new", "good", "fair", "faulty"] | None = Field(
        None, description="collect_spare: the spare's condition as collected (default good; faulty: to repair)")
    record: ServiceRecordIn | None = None


class ActionRead(BaseModel):
    """The result of an action (also what a replay returns)."""

    job_id: str
    action: str
    status: str
    at: datetime
    engineer_id: str | None


class AssignIn(StrictModel):
    """A dispatcher's manual assignment: ``version`` is the job's version the dispatcher saw (``JobRead.version``);
    if the job moved since (another dispatcher assigned it, the engineer declined, ...), the answer is 409 naming
    the current assignee and version, never a silent overwrite."""

    engineer_id: Id
    version: int = Field(ge=1, le=2**31 - 1, description="the job's version as last read")


class JobRead(BaseModel):
    """A job as the caller may see it: the customer's name, phone and address (and the site's exact position)
    in clear only for those who must call or visit the customer (``aftersales_shared.pii``), masked otherwise."""

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
    pinned_engineer_id: str | None = None
    planned_arrival: datetime | None = Field(None, description="from the published plan that assigned the job")
    version: int = Field(description="counts the job's moves; send it back with a manual assignment")

    @classmethod
    def of(cls, j: Job, *, clear: bool, **extra: Any) -> Self:
        """The job's view; ``clear`` (``access.sees_customer``) shows the customer's contact unmasked."""
        fields = {k: getattr(j, k) for k in JobRead.model_fields if k != "deadlines"}
        if not clear:
            fields.update(customer_name=mask_name(j.customer_name), phone=mask_phone(j.phone),
                          address=mask_address(j.address), lat=_coarse(j.lat), lon=_coarse(j.lon))
        return cls(**fields, deadlines={"respond": j.respond_due, "arrive": j.arrive_due, "resolve": j.resolve_due},
                   **extra)


def _coarse(degrees: float | None) -> float | None:
    """A position to about a kilometre: enough to plan by, not to find the customer's door."""
    return None if degrees is None else round(degrees, 2)


class ServiceRecordRead(ReadModel):
    """The service record; the name the customer signed with is masked like the job's contact."""

    work_done: str
    root_cause: str | None
    parts_used: list[dict[str, Any]]
    labour_minutes: int
    customer_name: str | None
    signature_ref: str | None
    photos: list[str]
    remote: bool
    completed_at: datetime

    def masked(self, clear: bool) -> Self:
        return self if clear else self.model_copy(update={"customer_name": mask_name(self.customer_name)})


class JobDetailRead(JobRead):
    """A job with its service record once completed."""

    service_record: ServiceRecordRead | None


class SlotRead(BaseModel):
    start: datetime
    end: datetime
    label: str = Field(description="the day, 上午/下午 and the hours, Asia/Shanghai")


class SlotsRead(BaseModel):
    """Appointment slots the plan can keep for the job (each checked by a trial insertion into a route)."""

    job_id: str
    slots: list[SlotRead]


class AppointmentIn(StrictModel):
    """Book one of the slots ``GET /v1/jobs/{job_id}/slots`` offers, exactly as offered."""

    start: BusinessDateTime
    end: BusinessDateTime


class AppointmentRead(BaseModel):
    """The job after booking: its window (the slot) and the planned arrival on its engineer's route."""

    job_id: str
    ticket_id: str
    status: str
    engineer_id: str | None
    planned_arrival: datetime | None
    window_start: datetime
    window_end: datetime
    version: int
