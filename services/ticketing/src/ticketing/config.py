"""Ticketing service settings (env prefix TICKETING_; DB_*, KAFKA_*, AUTH_* come from shared)."""

from typing import Literal

from pydantic import Field
from pydantic_settings import SettingsConfigDict

from aftersales_shared.config import ServiceSettings


class TicketingSettings(ServiceSettings):
    model_config = SettingsConfigDict(env_prefix="TICKETING_", extra="ignore")

    service_name: str = "ticketing"
    db_schema: str = "ticketing"
    # R-T6: answer a dealer's quality feedback within 3 days, an escalation within 2 days (000).
    complaint_response_hours: dict[str, int] = Field(
        default_factory=lambda: {"quality_feedback": 72, "escalation": 48, "service": 72, "other": 72})
    # Issue 16 item 1: these are the defaults; a customer service contract's own hours are effective-dated terms
    # (PUT /v1/contracts/{code}/complaint-terms), read for the ticket's contract on the complaint's filing day.
    # R-T4 (issue 16 item 6): finished tickets (with their transitions, repairs, complaints, callbacks) are kept at
    # least this many years after they closed; the retention job (retention/) archives what is older, once a
    # business day (checked every ``retention_every_seconds``).
    # Both are the defaults of contract terms (PUT /v1/contracts/{code}/retention-terms), read for the ticket's
    # contract on the run's day; ``purge_after_years``: the archive is purged this long after a ticket was archived.
    retention_years: int = Field(5, ge=5, le=100)
    purge_after_years: int = Field(10, ge=1, le=100)
    retention_every_seconds: int = Field(3600, ge=1, le=86400)
    # A run catches up batch after batch (each its own transaction) until nothing is past retention or purge, and
    # yields after this much wall time (at least one batch a tick): the next tick resumes the same day's run.
    retention_batch_size: int = Field(5000, ge=1, le=100_000)
    retention_max_seconds: float = Field(300, ge=0, le=86400)
    # Issue 15 (R-S7): a report's own time (e-mail, SMS, web form, voicemail) may lie this far back, and at most
    # this far ahead of the server clock (a sender's clock running a little fast).
    reported_at_max_age_hours: int = Field(72, ge=1, le=24 * 365)
    reported_at_skew_seconds: int = Field(120, ge=0, le=3600)
    # Issue 15 (R-W5 "a replaced main unit keeps warranty cover"): the unit shipped by an exchange or a unit
    # replacement inherits the old unit's remaining cover (same dates, policy version, extensions, delays) or starts
    # a fresh term on the day of the remedy. The 7/15 days and the 3 repairs are the policy version's terms.
    remedy_new_unit_warranty: Literal["inherited", "fresh"] = "inherited"
    # Intake group commit (tickets/hotpath.py): concurrent batch writers per process and the largest batch.
    intake_workers: int = Field(1, ge=1, le=16)
    intake_max_batch: int = Field(64, ge=1, le=500)
