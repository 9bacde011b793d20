"""Dispatch service settings (env prefix DISPATCH_; DB_*, KAFKA_*, AUTH_* come from shared) and the
``DispatchConfig`` the use cases receive (the settings turned into durations and a travel-time estimator)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import time, timedelta
from decimal import Decimal
from typing import Any, Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings

from .domain.assignment import HaversineEstimator, TravelTimeEstimator


class DispatchSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="DISPATCH_", extra="ignore")

    service_name: str = "dispatch"
    db_schema: str = "dispatch"

    offer_ttl_seconds: int = Field(600, ge=5, description="an unanswered offer moves to the next candidate")
    device_skew_seconds: int = Field(300, ge=0, description="how far a device clock may run ahead")
    road_factor: float = Field(1.3, ge=1.0)
    speeds_kmh: dict[str, float] = Field(default_factory=lambda: {
        "in_zone": 30.0, "urban": 35.0, "county": 50.0, "remote": 60.0})
    # R-S8: routed within 2 h, checked again at 4 h, escalated when still unrouted. Since issue 16 these are the
    # defaults of the customer contract terms routing_flag_minutes / routing_escalate_minutes (contracts/)
    route_within_minutes: int = 120
    route_check_minutes: int = 240
    background_interval_seconds: float = Field(5.0, gt=0)
    # issue 14: planning a zone-day
    plan_time_limit_seconds: float = Field(30.0, gt=0, le=3600, description="solver time limit per plan")
    run_planner: bool = Field(True, description="this instance runs a planner worker (consumer group 'planner')")
    planner_only: bool = Field(False, description="a planner process: only the planner worker, no other "
                                                  "consumers or periodic jobs (docker-compose dispatch-planner)")
    planner_executor: Literal["process", "thread"] = Field(
        "process", description="where plan_day runs: a worker process (the event loop and the GIL stay free) "
                               "or a thread")
    default_service_minutes: int = Field(60, ge=0, le=1440, description="when no service_durations row applies")
    # learned service durations (plans/durations.py): robust estimate over the last completions' labour minutes
    duration_min_samples: int = Field(20, ge=1, le=10000, description="completions before a learned value is used")
    duration_window: int = Field(200, ge=1, le=100000, description="the last N completions learned from")
    duration_trim: float = Field(0.1, ge=0, lt=0.5, description="share of shortest and of longest left out")
    # issue 14, the live path: insertion into routes, slots, nightly planning, re-planning on disruption
    live_candidates: int = Field(24, ge=1, le=500, description="nearest qualified engineers whose day sequence "
                                                              "an insertion evaluates exactly")
    eta_change_seconds: int = Field(60, ge=0, description="a planned arrival moving less than this is no change")
    live_cache_seconds: int = Field(30, ge=0, le=3600, description="service durations are re-read by the live "
                                                                   "path after this (0: every decision)")
    slot_minutes: int = Field(120, ge=30, le=720, description="length of an appointment slot offered")
    slot_days: int = Field(3, ge=1, le=14, description="business days ahead appointment slots are offered for")
    slot_day_start: time = Field(time(8), description="first slot of a day starts (Asia/Shanghai)")
    slot_day_end: time = Field(time(18), description="last slot of a day ends (Asia/Shanghai)")
    slot_lead_minutes: int = Field(60, ge=0, description="a slot starts at least this long from now")
    nightly_plan_at: time = Field(time(20), description="when tomorrow is planned each evening (Asia/Shanghai)")
    auto_publish: bool = Field(True, description="publish nightly and re-plans when done")
    replan_debounce_seconds: int = Field(60, ge=0, description="disruptions within this make one re-plan")
    overrun_margin_minutes: int = Field(30, ge=0, description="on site past the planned end by this: re-plan")
    # issue 16, R-S6: spare units. The loan term is a contract term; until the terms model (issue 16 item 1) exists
    # it is read from this one setting
    spare_due_back_hours: int = Field(168, ge=1, le=24 * 365, description="a lent spare unit is due back after")
    spare_parts_wait_fraction: float = Field(0.5, gt=0, le=1, description="waiting for parts longer than this "
                                             "share of the resolve time puts the resolve deadline at risk")
    # issue 16, R-S9: defaults of the customer contract terms (contracts/), each changeable per contract from a date
    contract_sla_penalty: Literal["none", "percent", "fixed"] = "none"
    contract_sla_penalty_percent: Decimal = Field(Decimal("10"), ge=0, le=100)
    contract_sla_penalty_amount: Decimal = Field(Decimal("0"), ge=0)
    contract_sla_service_value: Decimal | None = Field(None, ge=0, description="the value the % is taken of")
    contract_sla_penalty_milestones: tuple[Literal["respond", "arrive", "resolve"], ...] = ("arrive", "resolve")
    contract_pm_missed_penalty: Literal["none", "percent", "fixed"] = "none"  # R-S10 + R-S9: a missed PM visit
    contract_pm_missed_percent: Decimal = Field(Decimal("0"), ge=0, le=100)
    contract_pm_missed_amount: Decimal = Field(Decimal("0"), ge=0)
    # R-T4: default of the contract term retention_years (closed jobs and service records kept, at least 5 years)
    retention_years: int = Field(5, ge=5, le=100)
    retention_every_seconds: float = Field(3600, gt=0, description="how often the retention job looks (once a day)")
    retention_batch_size: int = Field(5000, ge=1, le=100_000, description="jobs archived per transaction; a run "
                                      "goes batch after batch until nothing is past retention")
    retention_max_seconds: float = Field(300, ge=0, le=86400, description="a run yields after this much wall time "
                                         "(at least one batch a tick); the next tick resumes the same day's run")


@dataclass(frozen=True)
class DispatchConfig:
    offer_ttl: timedelta = timedelta(minutes=10)
    device_skew: timedelta = timedelta(minutes=5)
    route_within: timedelta = timedelta(hours=2)
    route_check: timedelta = timedelta(hours=4)
    estimator: TravelTimeEstimator = HaversineEstimator()
    road_factor: float = 1.3
    speeds_kmh: tuple[tuple[str, float], ...] = (("in_zone", 30.0), ("urban", 35.0), ("county", 50.0),
                                                 ("remote", 60.0))
    plan_time_limit: float = 30.0
    planner_executor: str = "process"
    default_service_minutes: int = 60
    duration_min_samples: int = 20
    duration_window: int = 200
    duration_trim: float = 0.1
    live_candidates: int = 24
    eta_change: timedelta = timedelta(seconds=60)
    live_cache: timedelta = timedelta(seconds=30)
    slot_length: timedelta = timedelta(hours=2)
    slot_days: int = 3
    slot_day_start: time = time(8)
    slot_day_end: time = time(18)
    slot_lead: timedelta = timedelta(hours=1)
    nightly_plan_at: time = time(20)
    auto_publish: bool = True
    replan_debounce: timedelta = timedelta(seconds=60)
    overrun_margin: timedelta = timedelta(minutes=30)
    spare_due_back: timedelta = timedelta(hours=168)  # default loan term of a spare entering the pool
    spare_parts_wait_fraction: float = 0.5
    # issue 16: the customer contract terms' R-S9 defaults (the routing and spare defaults are the fields above)
    contract_penalty_defaults: tuple[tuple[str, Any], ...] = ()

    def speed_kmh(self, zone_class: str) -> float:
        return dict(self.speeds_kmh).get(zone_class, 30.0)

    @classmethod
    def from_settings(cls, s: ServiceSettings) -> DispatchConfig:
        assert isinstance(s, DispatchSettings)
        return cls(
            offer_ttl=timedelta(seconds=s.offer_ttl_seconds), device_skew=timedelta(seconds=s.device_skew_seconds),
            route_within=timedelta(minutes=s.route_within_minutes),
            route_check=timedelta(minutes=s.route_check_minutes),
            estimator=HaversineEstimator(road_factor=s.road_factor, speeds_kmh=dict(s.speeds_kmh)),
            road_factor=s.road_factor, speeds_kmh=tuple(sorted(s.speeds_kmh.items())),
            plan_time_limit=s.plan_time_limit_seconds, planner_executor=s.planner_executor,
            default_service_minutes=s.default_service_minutes, duration_min_samples=s.duration_min_samples,
            duration_window=s.duration_window, duration_trim=s.duration_trim,
            live_candidates=s.live_candidates, eta_change=timedelta(seconds=s.eta_change_seconds),
            live_cache=timedelta(seconds=s.live_cache_seconds),
            slot_length=timedelta(minutes=s.slot_minutes), slot_days=s.slot_days, slot_day_start=s.slot_day_start,
            slot_day_end=s.slot_day_end, slot_lead=timedelta(minutes=s.slot_lead_minutes),
            nightly_plan_at=s.nightly_plan_at, auto_publish=s.auto_publish,
            replan_debounce=timedelta(seconds=s.replan_debounce_seconds),
            overrun_margin=timedelta(minutes=s.overrun_margin_minutes),
            spare_due_back=timedelta(hours=s.spare_due_back_hours),
            spare_parts_wait_fraction=s.spare_parts_wait_fraction,
            contract_penalty_defaults=(
                ("sla_penalty", s.contract_sla_penalty), ("sla_penalty_percent", s.contract_sla_penalty_percent),
                ("sla_penalty_amount", s.contract_sla_penalty_amount),
                ("sla_service_value", s.contract_sla_service_value),
                ("sla_penalty_milestones", tuple(s.contract_sla_penalty_milestones)),
                ("pm_missed_penalty", s.contract_pm_missed_penalty),
                ("pm_missed_percent", s.contract_pm_missed_percent),
                ("pm_missed_amount", s.contract_pm_missed_amount), ("retention_years", s.retention_years)),
        )
