"""R-P2 / R-P3: what must be on file before a request may ship."""

from __future__ import annotations

from dataclasses import dataclass

REPLACEMENT_LIST = "replacement_list"
OLD_PART_WAYBILL = "old_part_waybill"
DOCUMENT_KINDS = (REPLACEMENT_LIST, OLD_PART_WAYBILL)


@dataclass(frozen=True)
class GatePolicy:
    """Whether warranty replacements need the dealer's documents before shipping (R-P3)."""

    warranty_requires_documents: bool = True


def missing_gates(
    *, coverage: str, payment_recorded: bool, documents: set[str] | frozenset[str], policy: GatePolicy
) -> list[str]:
    """The gates still closed; an empty list means the request may ship."""
    if coverage == "paid":
        return [] if payment_recorded else ["payment"]  # R-P2 款到发货
    if coverage == "warranty":
        if not policy.warranty_requires_documents:
            return []
        return [d for d in DOCUMENT_KINDS if d not in documents]  # R-P3
    raise ValueError(f"unknown coverage {coverage!r}")


def is_shippable(**kwargs) -> bool:
    """True when every gate is open."""
    return not missing_gates(**kwargs)
