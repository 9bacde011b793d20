"""R-P7 the dealer's quarterly parts budget: a percent of the quarter's remittance (回款) is supplied directly;
the list-price value drawn beyond it is charged to the dealer. Pure: no I/O, ``now`` passed in."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from zoneinfo import ZoneInfo

from aftersales_shared.money import to_fen

ZERO = Decimal("0.00")
QUARTER_PATTERN = r"^[0-9]{4}Q[1-4]$"  # '2026Q4', as the API path and the table's CHECK take it


def quarter_of(at: datetime, tz: ZoneInfo | str) -> str:
    """The business-calendar quarter of an aware instant in ``tz`` (callers pass ``clock.BUSINESS_TZ``): '2026Q4'."""
    if at.tzinfo is None:
        raise ValueError("naive datetime")
    local = at.astimezone(tz if isinstance(tz, ZoneInfo) else ZoneInfo(tz))
    return f"{local.year}Q{(local.month - 1) // 3 + 1}"


def budget_amount(remittance: Decimal, percent: Decimal) -> Decimal:
    """The quarter's budget: remittance × percent / 100, rounded once half-up to the fen."""
    if remittance < 0 or not 0 <= percent <= 100:
        raise ValueError("remittance >= 0 and 0 <= percent <= 100")
    return to_fen(remittance * percent / 100)


def draw_value(lines: list[tuple[Decimal, int]]) -> Decimal:
    """List-price value of drawn lines: Σ list_price × quantity, to the fen."""
    return to_fen(sum((price * qty for price, qty in lines), ZERO))


def excess(*, value: Decimal, used_before: Decimal, budget: Decimal) -> Decimal:
    """The part of ``value`` beyond what is left of ``budget`` after ``used_before``: charged at list price."""
    if value < 0 or used_before < 0 or budget < 0:
        raise ValueError("amounts are non-negative")
    remaining = max(budget - used_before, ZERO)
    return to_fen(max(value - remaining, ZERO))
