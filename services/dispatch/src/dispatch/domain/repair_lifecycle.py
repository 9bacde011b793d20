"""A job's repair on site (issue 15): when the engineer may record a diagnosis, and what a diagnosis says.

Pure data and small functions (no I/O, no clock). Coverage itself is ticketing's decision: dispatch records the
engineer's findings and emits ``dispatch.job.diagnosed``; ticketing re-determines coverage and answers with
``ticketing.ticket.coverage_changed``, which dispatch keeps on the job (``jobs.coverage``).
"""

from __future__ import annotations

from typing import Final, Literal, get_args

from .job_lifecycle import ACCEPTED, EN_ROUTE, ON_SITE, PAUSED

RootCause = Literal["supplier_part", "workmanship", "customer"]
"""R-T3: the root-cause class of a diagnosis."""
ExclusionCode = Literal["misuse", "human_damage", "unauthorised_repair", "cosmetic_damage", "liquid_spill",
                        "improper_storage", "normal_wear", "consumable", "force_majeure"]
"""R-W3: the exclusions an engineer can find on site (the same codes as ticketing's warranty catalogue)."""
ROOT_CAUSES: Final = frozenset(get_args(RootCause))
EXCLUSION_CODES: Final = frozenset(get_args(ExclusionCode))

DIAGNOSABLE: Final = (ACCEPTED, EN_ROUTE, ON_SITE, PAUSED)
"""Statuses in which the engineer holding the job may record (or revise) its diagnosis: on site, paused, or
before arriving (a remote diagnosis)."""


def may_diagnose(status: str) -> bool:
    return status in DIAGNOSABLE


def points_to_paid(root_cause: str | None, exclusions: list[str] | tuple[str, ...]) -> bool:
    """Whether the findings turn the repair into a paid one (R-W3 exclusion or R-T3 customer-side cause); the
    decision is ticketing's, this only says what the engineer's app should warn about."""
    return bool(exclusions) or root_cause == "customer"
