"""Bodies of the planning API (issue 14): what a plan needs per job and per product line, plan requests, plans,
publishing, and an engineer's route for a day."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

from pydantic import BaseModel, Field

from aftersales_shared.money import Money
from aftersales_shared.schemas import BusinessDate, BusinessDateTime, StrictModel

from ..fields import Id, RegionCode

Minutes = Annotated[int, Field(ge=0, le=1440)]
Level = Annotated[int, Field(ge=1, le=5)]
PartNo = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$", examples=["RLY-1"])]
"""A part number as the parts catalogue spells it."""
ToolName = Annotated[str, Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9._/-]+$",
                                examples=["refrigerant-gauge"])]
"""A tool's name (an engineer carries it, a job needs it)."""
PartQty = Annotated[int, Field(ge=1, le=1000)]
"""How many of a part a job is expected to need."""
StockQty = Annotated[int, Field(ge=0, le=100_000)]
"""How many of a part a van or a service centre holds."""


class JobPlanningUpdate(StrictModel):
    """What a plan needs of a job; only the fields sent change, ``null`` goes back to the default.

    ``earliest_start``: a booked slot (default: the job's opening); ``service_minutes`` (default: the product line x
    fault class table); ``required_skills`` ``{skill: min_level}`` (default ``{required_skill: 1}``);
    ``unserved_cost``: what leaving it unserved costs (default: its SLA policy's); ``pinned_engineer_id``: the
    engineer a plan must give it to; ``expected_parts`` ``{part_no: qty}`` (default: its product line x fault
    class's, ``{}`` = none); ``required_tools`` ``[tool]`` (default: its product line x fault class's, ``[]`` =
    none): only an engineer carrying every one may serve it."""

    earliest_start: BusinessDateTime | None = None
    service_minutes: Minutes | None = None
    fault_class: Id | None = None
    required_skills: dict[Id, Level] | None = Field(None, min_length=1, max_length=20)
    unserved_cost: Money | None = None
    pinned_engineer_id: Id | None = None
    expected_parts: dict[PartNo, PartQty] | None = Field(None, max_length=100)
    required_tools: list[ToolName] | None = Field(None, max_length=50)


class JobPlanningRead(BaseModel):
    """A job as a plan sees it: the window for the start of service, the service minutes, skills, cost, pin,
    and the published plan's planned arrival."""

    job_id: str
    status: str
    engineer_id: str | None
    earliest_start: dt.datetime
    latest_start: dt.datetime | None = Field(description="the SLA arrive deadline")
    booked: bool = Field(description="earliest_start is a booked slot (not the job's opening)")
    booked_end: dt.datetime | None = Field(description="the booked window's end (a slot, a PM visit's window): the "
                                                       "latest start a plan keeps; null = latest_start")
    service_minutes: int = Field(description="the minutes at no particular level (the level-less value)")
    service_minutes_by_level: dict[int, int] = Field(
        description="{level: minutes} for levels 1..5: what an engineer of that level in the job's required skill "
                    "gets (the job's own minutes, else the level's configured/learned value, else the level-less "
                    "one)")
    fault_class: str | None
    required_skills: dict[str, int]
    unserved_cost: Money
    pinned_engineer_id: str | None
    expected_parts: dict[str, int] = Field(description="{part_no: qty} the job is expected to need")
    expected_parts_from: str = Field(description="job (named for it) | fault_class (its product line x fault "
                                                 "class) | none")
    required_tools: list[str] = Field(description="the tools an engineer must carry to serve it")
    required_tools_from: str = Field(description="job (named for it) | fault_class (its product line x fault "
                                                 "class) | none")
    planned_arrival: dt.datetime | None
    plan_id: str | None


SkillLevel = Annotated[int, Field(ge=1, le=5, description="the engineer's level in the job's required skill")]


class DurationUpsert(StrictModel):
    """Expected service minutes of a product line's jobs; ``fault_class`` null = any fault class of the line;
    ``skill_level`` null = any level (the fallback of every level), else for engineers of that level (1..5) in the
    job's required skill."""

    product_line: Id
    fault_class: Id | None = None
    skill_level: SkillLevel | None = None
    minutes: Minutes
    override: bool = False  # wins over the value learned from completed jobs


class DurationRead(BaseModel):
    product_line: str
    fault_class: str | None
    skill_level: int | None  # null: any level
    minutes: int | None  # configured (null: only learned)
    override: bool
    learned_minutes: int | None  # from the last completions' labour minutes; null below the minimum sample count
    samples: int  # completions the learned value is computed from
    effective_minutes: int | None  # what a plan uses: override, else learned, else configured (docs/dispatch.md)

    @classmethod
    def of(cls, v: Any) -> DurationRead:
        return cls(product_line=v.product_line, fault_class=v.fault_class or None,
                   skill_level=v.skill_level or None, minutes=v.minutes,
                   override=v.override, learned_minutes=v.learned_minutes, samples=v.samples,
                   effective_minutes=v.effective_minutes)


class PartsPut(StrictModel):
    """The parts a job of a product line x fault class is expected to need ``{part_no: qty}`` (replaces the
    whole list; ``{}`` = none)."""

    parts: dict[PartNo, PartQty] = Field(max_length=100)


class FaultClassPartsRead(BaseModel):
    product_line: str
    fault_class: str
    parts: dict[str, int]


class ToolsPut(StrictModel):
    """A set of tools (replaces the whole set; ``[]`` = none; duplicates collapse)."""

    tools: list[ToolName] = Field(max_length=50)


class EngineerToolsRead(BaseModel):
    engineer_id: str
    tools: list[str]


class FaultClassToolsRead(BaseModel):
    product_line: str
    fault_class: str
    tools: list[str]


class StockPut(StrictModel):
    """What a van or a service centre holds ``{part_no: qty}`` (replaces the whole stock; ``{}`` = empty)."""

    parts: dict[PartNo, StockQty] = Field(max_length=1000)


class VanStockRead(BaseModel):
    engineer_id: str
    parts: dict[str, int]


class CentreStockRead(BaseModel):
    centre_id: str
    parts: dict[str, int]


class PlanRequest(StrictModel):
    """Plan one zone (region code) for one business date (today or later)."""

    zone: RegionCode
    date: BusinessDate


class PlanScore(BaseModel):
    distance_m: int
    travel_s: int
    lateness_s: int
    late_jobs: int
    engineers_used: int
    overtime_s: int
    planned_jobs: int
    unplanned_jobs: int
    unplanned_penalty: Money = Field(description="what the unplanned jobs' not being served costs")
    objective: int
    runtime_s: float


class StopRead(BaseModel):
    position: int
    kind: str = Field("job", description="job | restock (a stop at a service centre to restock the van)")
    job_id: str | None = Field(description="the job served (null at a restock stop)")
    centre_id: str | None = Field(None, description="the service centre of a restock stop")
    planned_arrival: dt.datetime
    planned_start: dt.datetime
    planned_end: dt.datetime
    window_start: dt.datetime | None = Field(description="null at a restock stop")
    window_end: dt.datetime | None = Field(description="null at a restock stop")
    window_met: bool
    started: bool


class RouteRead(BaseModel):
    engineer_id: str
    depart_at: dt.datetime
    return_at: dt.datetime
    distance_m: int
    travel_s: int
    stops: list[StopRead]


class UnplannedRead(BaseModel):
    job_id: str
    reason: str = Field(description="no_qualified_engineer | engineer_unavailable | cannot_fit_window | "
                                    "dropped_under_capacity | parts_unavailable | no_location")
    detail: str


class PlanSummary(BaseModel):
    id: str
    zone: str
    date: dt.date
    version: int
    status: str = Field(description="requested | running | done | published | failed")
    time_limit_s: float
    created_at: dt.datetime
    started_at: dt.datetime | None
    finished_at: dt.datetime | None
    published_at: dt.datetime | None
    error: str | None


class PlanRead(PlanSummary):
    score: PlanScore | None
    routes: list[RouteRead]
    unplanned: list[UnplannedRead]


class SkippedRead(BaseModel):
    job_id: str
    reason: str = Field(description="closed | started_elsewhere | pinned_elsewhere | engineer_inactive")


class PublishRead(BaseModel):
    plan_id: str
    status: str
    assigned: list[str] = Field(description="jobs assigned to the planned engineer with the planned arrival")
    kept: list[str] = Field(description="jobs already started by the planned engineer: left as they are")
    skipped: list[SkippedRead]


class MyStopRead(BaseModel):
    position: int
    kind: str = Field("job", description="job | restock (a stop at a service centre to restock the van)")
    job_id: str | None = Field(description="the job served (null at a restock stop)")
    ticket_no: str | None = Field(description="null at a restock stop")
    status: str | None = Field(description="the job's status (null at a restock stop)")
    centre_id: str | None = Field(None, description="the service centre of a restock stop")
    centre_name: str | None = Field(None, description="the service centre's name (restock stop)")
    plan_id: str | None = Field(description="the published plan of the stop (null: put there by live insertion)")
    planned_arrival: dt.datetime
    planned_start: dt.datetime
    planned_end: dt.datetime
    latest_start: dt.datetime | None = Field(description="the window's latest start (null at a restock stop)")
    lat: float | None
    lon: float | None


class MyRouteRead(BaseModel):
    engineer_id: str
    date: dt.date
    stops: list[MyStopRead]


