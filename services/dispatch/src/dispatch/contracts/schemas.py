"""The customer service contract's terms and credits over HTTP: a change (some terms, from a date), the terms in
force on a date, the history; the R-S9 credits, a waiver, a third-party repair cost. Money and percentages as
exact strings."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import Field, model_validator

from aftersales_shared.money import DecimalText, Money, Percent
from aftersales_shared.schemas import (
    BusinessDate,
    LongText,
    ReadModel,
    StrictModel,
    TermsChangeRead,
    TermsInForceRead,
    Text,
)

UnitAmount = Annotated[Money, Field(le=Decimal("9999999999.99"))]
MilestoneName = Literal["respond", "arrive", "resolve"]
Reason = Annotated[LongText, Field(max_length=2000)]
Minutes = Annotated[int, Field(ge=1, le=7 * 24 * 60)]


class ContractTermValues(StrictModel):
    """The terms a change sets (a term left out keeps the value in force before the change)."""

    routing_flag_minutes: Minutes | None = Field(None, description="R-S8: unrouted this long → flagged (2 h)")
    routing_escalate_minutes: Minutes | None = Field(
        None, description="R-S8: still unrouted this long → escalated (4 h); not below routing_flag_minutes")
    spare_entitled: bool | None = Field(
        None, description="R-S6: the contract entitles a spare unit when the resolve deadline is at risk")
    spare_due_back_hours: Annotated[int, Field(ge=1, le=24 * 365)] | None = Field(
        None, description="R-S6: a spare lent under this contract is due back after")
    sla_penalty: Literal["none", "percent", "fixed"] | None = Field(
        None, description="R-S9: liquidated damages for a missed milestone: none, a % of the service value, fixed")
    sla_penalty_percent: Percent | None = None
    sla_penalty_amount: UnitAmount | None = None
    sla_service_value: UnitAmount | None = Field(None, description="R-S9: the service value the % is taken of")
    sla_penalty_milestones: Annotated[list[MilestoneName], Field(max_length=3)] | None = None
    pm_missed_penalty: Literal["none", "percent", "fixed"] | None = Field(
        None, description="R-S10 + R-S9: damages for a missed PM visit: none, a % of sla_service_value, fixed")
    pm_missed_percent: Percent | None = None
    pm_missed_amount: UnitAmount | None = None
    retention_years: Annotated[int, Field(ge=5, le=100)] | None = Field(
        None, description="R-T4: closed jobs and service records are kept this many years (at least 5)")


class ContractTermsPut(StrictModel):
    effective_from: BusinessDate = Field(description="the first day the change applies to (today or later)")
    values: ContractTermValues
    reason: Reason | None = None

    @model_validator(mode="after")
    def _something(self) -> ContractTermsPut:
        if not self.values.model_dump(exclude_none=True):
            raise ValueError("values must set at least one term")
        return self


class ContractTermValuesRead(ReadModel):
    routing_flag_minutes: int
    routing_escalate_minutes: int
    spare_entitled: bool | None = Field(description="null: as the SLA policy says (sla_policies.spare_entitled)")
    spare_due_back_hours: int
    sla_penalty: str
    sla_penalty_percent: Percent
    sla_penalty_amount: Annotated[Decimal, DecimalText]
    sla_service_value: Annotated[Decimal, DecimalText] | None
    sla_penalty_milestones: list[str]
    pm_missed_penalty: str
    pm_missed_percent: Percent
    pm_missed_amount: Annotated[Decimal, DecimalText]
    retention_years: int


class ContractTermsRead(TermsInForceRead):
    contract_code: str
    values: ContractTermValuesRead


class ContractTermsChangeRead(TermsChangeRead):
    contract_code: str


class ContractCreditRead(ReadModel):
    id: str
    contract_code: str
    job_id: str | None = Field(description="the job (null: a missed PM visit that had none)")
    milestone: str = Field(description="arrive | resolve (a breach), pm_visit (a missed PM visit), or third_party "
                                       "(a third-party repair cost)")
    ref: str = Field(description="the invoice number of a third-party cost, the PM occurrence of a missed visit "
                                 "('' for a breach)")
    basis: str = Field(description="percent | fixed | third_party")
    amount: Annotated[Decimal, DecimalText]
    percent: Annotated[Decimal, DecimalText] | None
    service_value: Annotated[Decimal, DecimalText] | None
    terms_version: int | None
    occurred_at: datetime
    status: str = Field(description="credited | waived")
    waiver_kind: str | None
    waiver_evidence: str | None
    waived_by: str | None
    waived_at: datetime | None
    created_at: datetime


class ContractStatement(ReadModel):
    """R-S9: what the customer's contract is owed (one month, or every month), for the service manager to send."""

    contract_code: str
    customer_name: str | None = Field(description="the registered customer (null: the code is not registered)")
    customer_ref: str | None
    month: str | None = Field(description="YYYY-MM (Shanghai calendar month of occurred_at); null: every month")
    total_credited: Annotated[Decimal, DecimalText] = Field(description="the credits not waived, to the fen")
    total_waived: Annotated[Decimal, DecimalText] = Field(
        description="the waived credits (shown, not owed), to the fen")
    count: int = Field(description="credits in the statement (all pages)")
    limit: int
    offset: int
    items: list[ContractCreditRead] = Field(description="this page, oldest first; waived ones have status waived")


SlaTier = Annotated[Text, Field(max_length=40)]
ContractStatus = Literal["active", "suspended", "ended"]


class ContractCreate(StrictModel):
    code: Annotated[Text, Field(max_length=40, pattern=r"^[A-Za-z0-9][A-Za-z0-9._-]*$")]
    customer_name: Annotated[Text, Field(max_length=200)]
    customer_ref: Annotated[Text, Field(max_length=64)]
    sla_tier: SlaTier = Field(description="the SLA tier the contract buys (e.g. gold); policies are per contract code")
    valid_from: BusinessDate
    valid_to: BusinessDate | None = None
    reason: Reason | None = None


class ContractUpdate(StrictModel):
    customer_name: Annotated[Text, Field(max_length=200)] | None = None
    customer_ref: Annotated[Text, Field(max_length=64)] | None = None
    sla_tier: SlaTier | None = None
    valid_from: BusinessDate | None = None
    valid_to: BusinessDate | None = None
    status: ContractStatus | None = None
    version: Annotated[int, Field(ge=1)] | None = Field(None, description="the version you saw (409 if stale)")
    reason: Reason | None = None

    @model_validator(mode="after")
    def _something(self) -> ContractUpdate:
        if not self.model_fields_set - {"version", "reason"}:
            raise ValueError("set at least one field to change")
        for name in ("customer_name", "customer_ref", "sla_tier", "valid_from", "status"):
            if name in self.model_fields_set and getattr(self, name) is None:
                raise ValueError(f"{name} cannot be null")
        return self


class ContractRead(ReadModel):
    code: str
    customer_name: str
    customer_ref: str
    sla_tier: str
    valid_from: date
    valid_to: date | None
    status: str = Field(description="active | suspended | ended")
    version: int
    created_by: str
    created_at: datetime
    updated_by: str
    updated_at: datetime


class ContractChangeRead(ReadModel):
    version: int
    action: str = Field(description="created | updated")
    changes: dict[str, Any] = Field(description="per field: [before, after]")
    reason: str | None
    actor: str
    at: datetime


class UnknownContractJobRead(ReadModel):
    job_id: str
    ticket_id: str
    contract_code: str | None
    status: str
    created_at: datetime


class CreditWaive(StrictModel):
    kind: Literal["force_majeure", "customer_delay"]
    evidence: Reason | None = Field(None, description="required for customer_delay: what shows the customer caused it")
    reason: Reason | None = None

    @model_validator(mode="after")
    def _evidence(self) -> CreditWaive:
        if self.kind == "customer_delay" and not self.evidence:
            raise ValueError("evidence is required to waive for a customer-caused delay")
        return self


class ThirdPartyCostCreate(StrictModel):
    amount: Annotated[UnitAmount, Field(gt=0)]
    vendor: Text
    invoice_no: Annotated[Text, Field(max_length=64)]


class ThirdPartyCostRead(ReadModel):
    id: str
    job_id: str
    invoice_no: str
    vendor: str
    amount: Annotated[Decimal, DecimalText]
    dealer_id: str | None = Field(description="the dealer charged it (its engineer held the job)")
    contract_code: str | None
    credit_id: str | None = Field(description="the contract credit it became (no dealer held the job)")
    recorded_by: str
    recorded_at: datetime
