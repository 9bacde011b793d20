"""Request and response bodies of the dispatch API."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, field_validator, model_validator

ZoneClass = Literal["in_zone", "urban", "county", "remote"]
Action = Literal["accept", "decline", "depart", "arrive", "pause", "resume", "remote_resolve", "lend_spare",
                 "collect_spare", "complete"]
Id = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.:-]+$")


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ZoneUpsert(Strict):
    name: str = Field(min_length=1, max_length=100)
    zone_class: ZoneClass
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)


class ServiceCentreUpsert(Strict):
    name: str = Field(min_length=1, max_length=100)
    dealer_id: str | None = Field(None, max_length=40)
    region_code: str = Field(pattern=r"^\d{6}$")
    lat: float = Field(ge=-90, le=90)
    lon: float = Field(ge=-180, le=180)


class CalendarUpsert(Strict):
    tz: str = Field("Asia/Shanghai", max_length=64)
    always_open: bool = False
    intervals: list[tuple[int, int]] = Field(default_factory=lambda: [(480, 720), (780, 1020)], max_length=12)
    use_statutory: bool = True
    weekdays: list[int] = Field(default_factory=lambda: [0, 1, 2, 3, 4], max_length=7)
    overrides: dict[date, bool] = Field(default_factory=dict, max_length=400)

    @field_validator("tz")
    @classmethod
    def _tz(cls, v: str) -> str:
        from zoneinfo import ZoneInfo
        try:
            ZoneInfo(v)
        except Exception as exc:  # noqa: BLE001
            raise ValueError(f"unknown time zone {v!r}") from exc
        return v

    @field_validator("weekdays")
    @classmethod
    def _weekdays(cls, v: list[int]) -> list[int]:
        if any(d < 0 or d > 6 for d in v):
            raise ValueError("weekdays are 0 (Monday) .. 6 (Sunday)")
        return sorted(set(v))

    @model_validator(mode="after")
    def _intervals(self) -> CalendarUpsert:
        prev = -1
        for a, b in self.intervals:
            if not (0 <= a < b <= 1440) or a < prev:
                raise ValueError("intervals are sorted, non-overlapping [start, end) minutes with end <= 1440")
            prev = b
        if not self.always_open and not self.intervals:
            raise ValueError("a service-hours calendar needs intervals")
        return self


class PolicyUpsert(Strict):
    contract_code: str | None = Field(None, max_length=40)
    zone_class: ZoneClass
    calendar_code: str = Field(min_length=1, max_length=40)
    respond_minutes: int = Field(gt=0, le=60 * 24 * 30)
    arrive_minutes: int = Field(gt=0, le=60 * 24 * 30)
    resolve_minutes: int = Field(gt=0, le=60 * 24 * 60)
    resolve_from: Literal["opened", "arrived"] = "arrived"
    warn_fractions: list[float] = Field(default_factory=lambda: [0.5, 0.8], max_length=5)

    @field_validator("warn_fractions")
    @classmethod
    def _fr(cls, v: list[float]) -> list[float]:
        if any(not (0 < f < 1) for f in v):
            raise ValueError("fractions lie strictly between 0 and 1")
        return sorted(set(v))


class ShiftIn(Strict):
    weekday: int = Field(ge=0, le=6)
    start_min: int = Field(ge=0, lt=1440)
    end_min: int = Field(gt=0, le=2880)


class AbsenceIn(Strict):
    from_: date = Field(alias="from")
    to: date

    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class EngineerUpsert(Strict):
    name: str = Field(min_length=1, max_length=100)
    employer: Literal["manufacturer", "dealer"]
    dealer_id: str | None = Field(None, max_length=40)
    skills: dict[str, int] = Field(min_length=1, max_length=50)
    zones: list[str] = Field(min_length=1, max_length=500)
    home_lat: float = Field(ge=-90, le=90)
    home_lon: float = Field(ge=-180, le=180)
    shifts: list[ShiftIn] = Field(default_factory=list, max_length=50)
    absences: list[AbsenceIn] = Field(default_factory=list, max_length=100)
    max_jobs: int = Field(3, ge=1, le=50)
    active: bool = True

    @model_validator(mode="after")
    def _dealer(self) -> EngineerUpsert:
        if (self.employer == "dealer") != bool(self.dealer_id):
            raise ValueError("dealer_id is required exactly when the employer is a dealer")
        if any(not (0 <= lvl <= 5) for lvl in self.skills.values()):
            raise ValueError("skill levels are 0..5")
        return self


class PartUsedIn(Strict):
    part_no: str = Field(min_length=1, max_length=64)
    quantity: int = Field(1, ge=1, le=1000)
    new_serial: str | None = Field(None, max_length=64)
    old_serial: str | None = Field(None, max_length=64)
    old_part_kept: bool = True
    reservation_id: str | None = Field(None, max_length=40)


class ServiceRecordIn(Strict):
    work_done: str = Field(min_length=1, max_length=4000)
    root_cause: Literal["supplier_part", "workmanship", "customer"] | None = None
    parts_used: list[PartUsedIn] = Field(default_factory=list, max_length=100)
    labour_minutes: int = Field(ge=0, le=60 * 24 * 7)
    customer_name: str | None = Field(None, max_length=100)
    signature_ref: str | None = Field(None, max_length=300)
    photos: list[str] = Field(default_factory=list, max_length=30)


class ActionIn(Strict):
    client_action_id: str = Field(min_length=8, max_length=64, pattern=r"^[A-Za-z0-9_.:-]+$")
    device_time: AwareDatetime
    action: Action
    reason: str | None = Field(None, max_length=300)
    lat: float | None = Field(None, ge=-90, le=90)
    lon: float | None = Field(None, ge=-180, le=180)
    spare_serial: str | None = Field(None, max_length=64)
    record: ServiceRecordIn | None = None


class AssignIn(Strict):
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
    pauses: list[dict]
    sla_met: dict[str, bool]
    warnings_sent: list[str]
    spare_serial: str | None
    spare_lent_at: datetime | None
    spare_collected_at: datetime | None
    routing_escalated: bool

    @classmethod
    def of(cls, j) -> JobRead:  # noqa: ANN001
        return cls(**{k: getattr(j, k) for k in cls.model_fields if k != "deadlines"},
                   deadlines={"respond": j.respond_due, "arrive": j.arrive_due, "resolve": j.resolve_due})
