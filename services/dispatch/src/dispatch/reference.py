"""Reference data from DOMAIN.md, inserted when missing: R-S3 core provinces, calendars, default policies."""

from datetime import datetime

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

CORE_PROVINCES = {"31": "Shanghai", "32": "Jiangsu", "33": "Zhejiang", "34": "Anhui"}
# (zone class, respond, arrive, resolve) in minutes: R-S1 1 h, R-S2 2 h, R-S3 24 h, R-S4 48 h, R-S5 12/24 h
DEFAULT_POLICIES = (("in_zone", 60, 120, 720), ("urban", 60, 1440, 1440), ("county", 60, 2880, 1440),
                    ("remote", 60, 4320, 2880))


async def ensure_reference_data(session: AsyncSession, now: datetime) -> None:
    """Insert the defaults that are absent; never overwrites what an admin configured."""
    for code, name in CORE_PROVINCES.items():
        await session.execute(text(
            "INSERT INTO core_provinces (province_code, name) VALUES (:c, :n) ON CONFLICT DO NOTHING"),
            {"c": code, "n": name})
    await session.execute(text(
        "INSERT INTO sla_calendars (code, tz, always_open, intervals, use_statutory, weekdays, overrides, updated_at) "
        "VALUES ('24x7', 'Asia/Shanghai', true, '[]', false, '[0,1,2,3,4,5,6]', '{}', :now), "
        "('office', 'Asia/Shanghai', false, '[[480,720],[780,1020]]', true, '[0,1,2,3,4]', '{}', :now) "
        "ON CONFLICT DO NOTHING"), {"now": now})
    for zc, respond, arrive, resolve in DEFAULT_POLICIES:
        await session.execute(text(
            "INSERT INTO sla_policies (id, contract_code, zone_class, calendar_code, respond_minutes, "
            "arrive_minutes, resolve_minutes, resolve_from, warn_fractions, updated_at) VALUES "
            "(:id, '', :zc, '24x7', :r, :a, :s, 'arrived', '[0.5, 0.8]', :now) ON CONFLICT DO NOTHING"),
            {"id": f"default-{zc}", "zc": zc, "r": respond, "a": arrive, "s": resolve, "now": now})
