"""Reference data from DOMAIN.md, inserted when missing: R-S3 core provinces, calendars, default policies."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from ..models import CoreProvince, SlaCalendar, SlaPolicyRow

CORE_PROVINCES = {"31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang", "34": "Anhui"}
# (zone class, respond, arrive, resolve) in minutes: R-S1 1 h, R-S2 2 h, R-S3 24 h, R-S4 48 h, R-S5 12/24 h
DEFAULT_POLICIES = (("in_zone", 60, 120, 720), ("urban", 60, 1440, 1440), ("county", 60, 2880, 1440),
                    ("remote", 60, 4320, 2880))
CALENDARS = (
    {"code": "24x7", "tz": "Asia/Shanghai", "always_open": True, "intervals": [], "use_statutory": False,
     "weekdays": [0, 1, 2, 3, 4, 5, 6], "overrides": {}},
    {"code": "office", "tz": "Asia/Shanghai", "always_open": False, "intervals": [[480, 720], [780, 1020]],
     "use_statutory": True, "weekdays": [0, 1, 2, 3, 4], "overrides": {}},
)


async def ensure_reference_data(session: AsyncSession, now: datetime) -> None:
    """Insert the defaults that are absent; never overwrites what an admin configured."""
    await session.execute(insert(CoreProvince).values(
        [{"province_code": c, "name": n} for c, n in CORE_PROVINCES.items()]).on_conflict_do_nothing())
    await session.execute(insert(SlaCalendar).values(
        [{**c, "updated_at": now} for c in CALENDARS]).on_conflict_do_nothing())
    await session.execute(insert(SlaPolicyRow).values([
        {"id": f"default-{zc}", "contract_code": "", "zone_class": zc, "calendar_code": "24x7",
         "respond_minutes": respond, "arrive_minutes": arrive, "resolve_minutes": resolve, "resolve_from": "arrived",
         "warn_fractions": [0.5, 0.8], "updated_at": now}
        for zc, respond, arrive, resolve in DEFAULT_POLICIES]).on_conflict_do_nothing())
