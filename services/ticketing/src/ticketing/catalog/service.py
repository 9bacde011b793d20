"""Catalog use cases: product lines, policy versions, and the pure policy built from stored terms; a product
line's component list (issue 15), announced as ``ticketing.product_line.components_changed`` so dispatch checks a
diagnosis against it without reading ticketing's tables. The list names only part numbers the parts catalogue
announced and has not withdrawn (``catalogue_parts``, the read model of ``parts.catalog.part_changed``), and a
policy's per-component terms only components of the line's list (``domain/line_catalogue.py``)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared.errors import Conflict, NotFound, Unprocessable
from aftersales_shared.events.parts import PartChangedPayload
from aftersales_shared.events.ticketing import ProductLineComponentsChanged
from aftersales_shared.ids import new_id
from aftersales_shared.outbox import add_events

from ..domain import line_catalogue
from ..domain.warranty import WarrantyPolicy
from ..models import catalogue_parts, product_lines, warranty_policies
from .schemas import LineComponentIn, PolicyCreate, PolicyTerms, ProductLineCreate


def to_domain(terms: dict[str, Any]) -> WarrantyPolicy:
    """Build the pure policy from stored terms."""
    t = PolicyTerms.model_validate(terms)
    return WarrantyPolicy(
        months=t.months, start_basis=t.start_basis, component_months=dict(t.component_months),
        uncovered=tuple(t.uncovered), exclusions=tuple(t.exclusions), return_days=t.return_days,
        exchange_days=t.exchange_days, dealer_doa_days=t.dealer_doa_days,
        repeat_repair_threshold=t.repeat_repair_threshold, extension_months=t.extension_months,
        extension_price=t.extension_price, repair_warranty_months=t.repair_warranty_months,
        parts_warranty_months=t.parts_warranty_months, shipping_customer_share=t.shipping_customer_share,
    )


async def create_product_line(session: AsyncSession, *, line: ProductLineCreate, actor: str,
                              now: datetime) -> dict[str, Any]:
    """A new product line; 409 when the code exists. A component list given with it is its version 1."""
    if line.components:
        await check_part_nos(session, line.components)
    row = (await session.execute(
        pg_insert(product_lines).values(**line.model_dump(exclude={"components"})).on_conflict_do_nothing()
        .returning(*product_lines.c))).mappings().first()
    if row is None:
        raise Conflict(f"product line {line.code} exists", field="code")
    if line.components:
        await put_components(session, code=line.code, components=line.components, actor=actor, now=now)
        row = (await session.execute(sa.select(product_lines).where(product_lines.c.code == line.code))
               ).mappings().one()
    return dict(row)


def _refuse(problems: list[line_catalogue.Problem], **extra: Any) -> None:
    if problems:
        first = problems[0]
        raise Unprocessable(first.reason, field=first.field, code=first.code, extra={
            "errors": [{"field": p.field, "reason": p.reason, "code": p.code} for p in problems], **extra})


async def check_part_nos(session: AsyncSession, components: list[LineComponentIn]) -> None:
    """422 ``part_not_in_catalog`` naming ``components[i].part_nos[j]`` for every part number the parts catalogue
    has not announced, or has withdrawn."""
    wanted = {p for c in components for p in c.part_nos}
    known = set((await session.execute(sa.select(catalogue_parts.c.part_no).where(
        catalogue_parts.c.part_no.in_(wanted), catalogue_parts.c.active))).scalars()) if wanted else set()
    _refuse(line_catalogue.parts_outside_catalogue([(c.component, c.part_nos) for c in components], known))


async def part_changed(session: AsyncSession, p: PartChangedPayload, now: datetime) -> None:
    """The parts catalogue announced a part: keep it when it is newer than the one held (one conditional upsert:
    a redelivery or an older event arriving late changes nothing)."""
    ins = pg_insert(catalogue_parts).values(part_no=p.part_no, name=p.name, active=p.active, version=p.version,
                                            updated_at=p.updated_at, received_at=now)
    await session.execute(ins.on_conflict_do_update(
        index_elements=[catalogue_parts.c.part_no],
        set_={c: ins.excluded[c] for c in ("name", "active", "version", "updated_at", "received_at")},
        where=catalogue_parts.c.version < ins.excluded.version))


def component_list(row: Any) -> dict[str, Any]:
    return {"product_line": row["code"], "version": row["components_version"], "components": row["components"],
            "changed_at": row["components_changed_at"], "changed_by": row["components_changed_by"]}


async def put_components(session: AsyncSession, *, code: str, components: list[LineComponentIn], actor: str,
                         now: datetime) -> dict[str, Any]:
    """Replace the product line's component list (the line row is locked, so versions never collide) and announce
    it; the same list again changes nothing and announces nothing. 404 for an unknown line."""
    row = (await session.execute(sa.select(product_lines).where(product_lines.c.code == code).with_for_update())
           ).mappings().first()
    if row is None:
        raise NotFound(f"product line {code} not found", field="code")
    await check_part_nos(session, components)
    new = [c.model_dump(mode="json") for c in components]
    if row["components_version"] > 0 and row["components"] == new:
        return component_list(row)
    row = (await session.execute(sa.update(product_lines).where(product_lines.c.code == code).values(
        components=new, components_version=product_lines.c.components_version + 1, components_changed_at=now,
        components_changed_by=actor).returning(*product_lines.c))).mappings().one()
    await add_events(session, ProductLineComponentsChanged(aggregate_id=code, payload={
        "product_line": code, "version": row["components_version"], "components": new, "changed_at": now,
        "changed_by": actor}))
    return component_list(row)


async def get_components(session: AsyncSession, *, code: str) -> dict[str, Any]:
    row = (await session.execute(sa.select(product_lines).where(product_lines.c.code == code))).mappings().first()
    if row is None:
        raise NotFound(f"product line {code} not found", field="code")
    return component_list(row)


async def list_product_lines(session: AsyncSession) -> list[dict[str, Any]]:
    """Every product line, by code."""
    return [dict(r) for r in (await session.execute(
        sa.select(product_lines).order_by(product_lines.c.code))).mappings()]


async def create_policy(session: AsyncSession, *, code: str, policy: PolicyCreate, actor: str) -> dict[str, Any]:
    """The product line's next policy version (the line is locked so versions never collide). When the line has a
    component list, per-component terms (``component_months`` keys, ``uncovered``) name only its components (422
    ``component_not_in_line`` naming the key); a line without a list keeps accepting any name."""
    line = (await session.execute(sa.select(product_lines.c.components).where(product_lines.c.code == code)
                                  .with_for_update())).first()
    if line is None:
        raise NotFound(f"product line {code} not found", field="code")
    _refuse(line_catalogue.names_outside_line(policy.component_months, policy.uncovered,
                                              [c["component"] for c in line.components]))
    version = (await session.execute(sa.select(sa.func.coalesce(sa.func.max(warranty_policies.c.version), 0))
                                     .where(warranty_policies.c.product_line == code))).scalar_one() + 1
    terms = PolicyTerms.model_validate(policy.model_dump(exclude={"effective_from"})).model_dump(mode="json")
    row = (await session.execute(sa.insert(warranty_policies).values(
        id=new_id(), product_line=code, version=version, effective_from=policy.effective_from, terms=terms,
        created_by=actor).returning(*warranty_policies.c))).mappings().one()
    return dict(row)


async def list_policies(session: AsyncSession, *, code: str) -> list[dict[str, Any]]:
    """The product line's policy versions, oldest first; 404 for an unknown line."""
    rows = (await session.execute(sa.select(warranty_policies).where(warranty_policies.c.product_line == code)
                                  .order_by(warranty_policies.c.version))).mappings().all()
    if not rows and (await session.execute(sa.select(product_lines.c.code).where(product_lines.c.code == code))
                     ).scalar() is None:
        raise NotFound(f"product line {code} not found", field="code")
    return [dict(r) for r in rows]
