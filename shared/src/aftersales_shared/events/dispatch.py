"""Integration events published by the dispatch service: the job aggregate (``dispatch.job.v1``), since
issue 14 the zone-day plan (``dispatch.plan.v1``, keyed by zone so planner workers split zones by partition) and,
since issue 16, the customer service contract (``dispatch.contract.v1``, keyed by the contract code)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Literal

from pydantic import Field

from .envelope import IntegrationEvent, Payload, define_event, topic_for
from .envelope_types import Money

PRODUCER = "dispatch"
JOB_TOPIC = topic_for(PRODUCER, "job")
PLAN_TOPIC = topic_for(PRODUCER, "plan")
CONTRACT_TOPIC = topic_for(PRODUCER, "contract")  # issue 16: the customer service contract (keyed by its code)

Milestone = Literal["respond", "arrive", "resolve"]


class JobPayload(Payload):
    """Fields every job event carries so consumers need no lookup."""

    job_id: str
    ticket_id: str
    at: datetime
    engineer_id: str | None = None
    dealer_id: str | None = None  # the dealer employing the engineer (None: manufacturer staff)
    visit: int = 1  # which dispatch of the ticket this job is (2 and up: the ticket was reopened)


class JobCreatedPayload(JobPayload):
    zone_class: str
    contract_code: str | None = None
    deadlines: dict[str, datetime] = Field(default_factory=dict)


class JobCreated(IntegrationEvent):
    TYPE = "dispatch.job.created"
    TOPIC = JOB_TOPIC
    payload: JobCreatedPayload


class JobAssignedPayload(JobPayload):
    assigned_by: Literal["auto", "manual", "plan"] = "auto"
    planned_arrival: datetime | None = None  # a published plan's planned arrival (assigned_by "plan")
    plan_id: str | None = None


class JobAssigned(IntegrationEvent):
    TYPE = "dispatch.job.assigned"
    TOPIC = JOB_TOPIC
    payload: JobAssignedPayload


class JobStepPayload(JobPayload):
    """A step in the job's life (offered, accepted, declined, en route, arrived, paused, resumed...)."""

    reason: str | None = None
    lat: float | None = None
    lon: float | None = None


def _step(type_: str, name: str) -> type[IntegrationEvent]:
    return define_event(name, type_, JOB_TOPIC, JobStepPayload, __name__)


JobOffered = _step("dispatch.job.offered", "JobOffered")
JobAccepted = _step("dispatch.job.accepted", "JobAccepted")
JobDeclined = _step("dispatch.job.declined", "JobDeclined")
JobEnRoute = _step("dispatch.job.en_route", "JobEnRoute")
JobArrived = _step("dispatch.job.arrived", "JobArrived")
JobPaused = _step("dispatch.job.paused", "JobPaused")
JobResumed = _step("dispatch.job.resumed", "JobResumed")
JobCancelled = _step("dispatch.job.cancelled", "JobCancelled")
JobRemoteResolved = _step("dispatch.job.remote_resolved", "JobRemoteResolved")
class SpareUnitLentPayload(JobStepPayload):
    """A pool spare unit (R-S6) lent to the job; ``reason`` carries its serial (as before), ``due_back_at`` when it
    is due back (the customer is told)."""

    spare_id: str | None = None
    due_back_at: datetime | None = None


class SpareUnitLent(IntegrationEvent):
    TYPE = "dispatch.job.spare_unit_lent"
    TOPIC = JOB_TOPIC
    payload: SpareUnitLentPayload


SpareUnitCollected = _step("dispatch.job.spare_unit_collected", "SpareUnitCollected")


class SpareUnitOverduePayload(JobStepPayload):
    """A spare unit (R-S6) lent to the job is past its due-back time: collect it (one reminder per loan).
    ``reason`` carries the spare's serial, as on ``spare_unit_lent`` / ``spare_unit_collected``."""

    spare_id: str | None = None
    serial: str | None = None
    due_back_at: datetime | None = None


class SpareUnitOverdue(IntegrationEvent):
    TYPE = "dispatch.job.spare_unit_overdue"
    TOPIC = JOB_TOPIC
    payload: SpareUnitOverduePayload


class SlaPayload(JobPayload):
    milestone: Milestone
    deadline: datetime
    fraction: float | None = None  # for warnings: share of the allowed time used
    zone_class: str | None = None
    contract_code: str | None = None


class SlaWarning(IntegrationEvent):
    TYPE = "dispatch.job.sla_warning"
    TOPIC = JOB_TOPIC
    payload: SlaPayload


class SlaBreached(IntegrationEvent):
    TYPE = "dispatch.job.sla_breached"
    TOPIC = JOB_TOPIC
    payload: SlaPayload


class JobEscalatedPayload(JobPayload):
    """R-S8: a request still not routed when checked again (``deadline`` = reported + the check time, 4 h by
    default) is escalated to a dispatcher. An internal alarm, not an SLA breach: whether the contract's respond
    milestone was missed is said by ``sla_breached`` alone (once per milestone)."""

    reason: Literal["unrouted"] = "unrouted"
    opened_at: datetime
    deadline: datetime
    zone_class: str | None = None
    contract_code: str | None = None


class JobEscalated(IntegrationEvent):
    TYPE = "dispatch.job.escalated"
    TOPIC = JOB_TOPIC
    payload: JobEscalatedPayload


class JobEtaChangedPayload(JobPayload):
    """The job's planned arrival moved: insertion into a route, a (re-)plan, a displaced job, or the customer
    booking another slot. Dispatch emits every move; whoever tells the customer decides which moves matter."""

    planned_arrival: datetime
    previous_arrival: datetime | None = None
    window_start: datetime | None = None  # the arrival window promised (customer's slot or SLA window)
    window_end: datetime | None = None
    reason: Literal["insertion", "plan", "replan", "displaced", "rescheduled"] = "plan"


class JobEtaChanged(IntegrationEvent):
    TYPE = "dispatch.job.eta_changed"
    TOPIC = JOB_TOPIC
    payload: JobEtaChangedPayload


class QuoteLine(Payload):
    kind: Literal["labour", "part", "visit_fee", "shipping"]
    description: str
    amount: Money
    part_no: str | None = None
    quantity: int = 1


class JobQuotePayload(JobPayload):
    """A paid repair's quote (issue 15): presented on site by the engineer, then accepted or declined by the
    customer."""

    quote_id: str
    total: Money
    lines: list[QuoteLine] = Field(default_factory=list)
    status: Literal["presented", "accepted", "declined"] = "presented"
    valid_until: datetime | None = None


class JobQuotePresented(IntegrationEvent):
    TYPE = "dispatch.job.quote_presented"
    TOPIC = JOB_TOPIC
    payload: JobQuotePayload


class JobQuoteAccepted(IntegrationEvent):
    TYPE = "dispatch.job.quote_accepted"
    TOPIC = JOB_TOPIC
    payload: JobQuotePayload


class JobQuoteDeclined(IntegrationEvent):
    TYPE = "dispatch.job.quote_declined"
    TOPIC = JOB_TOPIC
    payload: JobQuotePayload


class DiagnosedComponent(Payload):
    """A failed component as the engineer names it: the product line's component, and the catalogue part."""

    component: str
    part_no: str | None = None


class JobDiagnosedPayload(JobPayload):
    """The engineer's diagnosis on site (issue 15): failed components, the root-cause class (R-T3) and any
    exclusion found (R-W3) with its evidence (photo references). Ticketing re-determines coverage from it."""

    serial: str
    product_line: str
    components: list[DiagnosedComponent] = Field(default_factory=list)
    root_cause: Literal["supplier_part", "workmanship", "customer"] | None = None
    exclusions: list[str] = Field(default_factory=list)
    evidence: list[str] = Field(default_factory=list)
    note: str | None = None
    revision: int = 1  # counts the job's diagnoses: a later one supersedes an earlier one
    # issue 15: the components were checked against the product line's component list (False: no list had reached
    # dispatch yet, accepted as named; None: a producer from before the check)
    components_validated: bool | None = None


class JobDiagnosed(IntegrationEvent):
    TYPE = "dispatch.job.diagnosed"
    TOPIC = JOB_TOPIC
    payload: JobDiagnosedPayload


class PartUsed(Payload):
    part_no: str
    quantity: int = 1
    new_serial: str | None = None
    old_serial: str | None = None
    old_part_kept: bool = True
    reservation_id: str | None = None


class JobCompletedPayload(JobPayload):
    """The service record (R-T4) as dispatch closes the job."""

    serial: str
    product_line: str
    coverage: str
    home_visit: bool
    remote: bool = False
    work_done: str
    root_cause: Literal["supplier_part", "workmanship", "customer"] | None = None
    parts_used: list[PartUsed] = Field(default_factory=list)
    labour_minutes: int = 0
    arrived_at: datetime | None = None
    sla_met: dict[str, bool] = Field(default_factory=dict)
    zone_class: str | None = None
    contract_code: str | None = None
    coverage_reason: str | None = None  # why the coverage is what it is, when ticketing changed it (issue 15)
    components: list[str] = Field(default_factory=list)  # the diagnosed failed components (issue 15)
    outcome: Literal["repaired", "quote_declined"] = "repaired"  # quote_declined: a paid repair refused (issue 15)


class JobCompleted(IntegrationEvent):
    TYPE = "dispatch.job.completed"
    TOPIC = JOB_TOPIC
    payload: JobCompletedPayload


# --- the zone-day plan (issue 14) ------------------------------------------------------------------

class PlanRequestedPayload(Payload):
    """A plan of one zone and day was requested: a planner worker (consumer group) plans it."""

    plan_id: str
    zone: str  # region code
    date: date
    version: int
    time_limit_s: float
    at: datetime


class PlanRequested(IntegrationEvent):
    TYPE = "dispatch.plan.requested"
    TOPIC = PLAN_TOPIC
    payload: PlanRequestedPayload


class PlannedStop(Payload):
    job_id: str
    ticket_id: str
    position: int
    planned_arrival: datetime
    planned_start: datetime
    planned_end: datetime


class PlannedRestock(Payload):
    """A stop at a service centre to restock the van before the jobs that need the parts (``position`` counts with
    the route's job stops)."""

    centre_id: str
    position: int
    planned_arrival: datetime
    planned_start: datetime
    planned_end: datetime
    parts: dict[str, int] | None = Field(None, description="{part_no: qty} the engineer picks up at this stop (what "
                                         "the publish moved from the centre to the van); optional")


class PlannedRoute(Payload):
    engineer_id: str
    stops: list[PlannedStop] = Field(default_factory=list)
    restocks: list[PlannedRestock] = Field(default_factory=list)


class PlanPublishedPayload(Payload):
    """A plan was published: its jobs went to the planned engineers (each also has its ``dispatch.job.assigned``
    with ``assigned_by="plan"`` and the planned arrival)."""

    plan_id: str
    zone: str
    date: date
    version: int
    at: datetime
    routes: list[PlannedRoute] = Field(default_factory=list)
    unplanned_job_ids: list[str] = Field(default_factory=list)
    skipped_job_ids: list[str] = Field(default_factory=list)  # closed, started elsewhere or pinned elsewhere


class PlanPublished(IntegrationEvent):
    TYPE = "dispatch.plan.published"
    TOPIC = PLAN_TOPIC
    payload: PlanPublishedPayload


class JobThirdPartyCostPayload(JobPayload):
    """R-S9 (issue 16): the owner had the job's repair done by a third party and recorded its cost; the dealer
    whose engineer held the job (``dealer_id``) is charged it as a deduction (once per job and invoice number)."""

    dealer_id: str  # always a dealer: without one the cost is credited in dispatch
    amount: Money
    invoice_no: str
    vendor: str | None = None
    cost_id: str | None = None
    contract_code: str | None = None


class JobThirdPartyCost(IntegrationEvent):
    TYPE = "dispatch.job.third_party_cost"
    TOPIC = JOB_TOPIC
    payload: JobThirdPartyCostPayload


class ContractCreditIssuedPayload(Payload):
    """R-S9 (issue 16): the customer's contract is owed a credit — a breached milestone of a job no dealer held
    (``arrive``/``resolve``), a missed PM visit (``pm_visit``, ``ref`` = the PM occurrence) or a third-party repair
    cost (``third_party``, ``ref`` = the invoice). Once per credit (``credit_id``)."""

    credit_id: str
    contract_code: str
    customer_ref: str | None = None  # the registered contract's customer reference (None: code not registered)
    job_id: str | None = None
    milestone: str
    ref: str = ""
    basis: str  # percent | fixed | third_party
    amount: Money
    terms_version: int | None = None
    occurred_at: datetime


class ContractCreditIssued(IntegrationEvent):
    TYPE = "dispatch.contract.credit_issued"
    TOPIC = CONTRACT_TOPIC
    payload: ContractCreditIssuedPayload


class PmBreachedPayload(Payload):
    """R-S10 + R-S9 (issue 16): a missed PM visit is an SLA breach (milestone ``pm_visit``) of the contract, once per
    PM occurrence. ``dealer_id``: the dealer whose engineer held the PM job — it owes ``amount`` (the contract's
    ``pm_missed_*`` terms in force on the day it was missed; None or 0: nothing to charge); without a dealer the
    contract is credited instead (``dispatch.contract.credit_issued``)."""

    breach_id: str
    contract_code: str
    milestone: Literal["pm_visit"] = "pm_visit"
    occurrence_id: str
    plan_id: str
    serial: str
    kind: str
    ticket_id: str | None = None
    job_id: str | None = None
    dealer_id: str | None = None
    engineer_id: str | None = None
    window_end: datetime
    missed_at: datetime
    basis: str | None = None  # percent | fixed
    amount: Money | None = None
    terms_version: int | None = None


class PmBreached(IntegrationEvent):
    TYPE = "dispatch.contract.pm_breached"
    TOPIC = CONTRACT_TOPIC
    payload: PmBreachedPayload
