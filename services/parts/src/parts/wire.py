"""What the parts API puts on the wire: instants, JSON-ready data, the Idempotency-Key fingerprint and the
stored-response replay of the session routes (stock movements; ``POST /v1/part-requests`` does the same inside
its PL/pgSQL function, ``requests/hotpath.py``). Key length and replay header: ``aftersales_shared.idempotency``.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import datetime
from decimal import Decimal
from typing import Annotated, Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from pydantic import PlainSerializer
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict
from aftersales_shared.idempotency import HEADER, replay_headers

from .models import idempotency_keys as keys

Instant = Annotated[datetime, PlainSerializer(lambda d: d.isoformat(), return_type=str, when_used="json")]
"""An aware instant as ``isoformat()`` writes it ("…+00:00"), as the PL/pgSQL response of a new request does,
so ``GET /v1/part-requests/{id}`` answers byte-for-byte what the POST answered."""


def out(value: Any) -> Any:
    """JSON-ready data with money as exact strings ("33.50"), never floats (R-D8)."""
    return jsonable_encoder(value, custom_encoder={Decimal: lambda d: format(d, "f")})


def body_hash(body: Any) -> str:
    """THE fingerprint stored with an Idempotency-Key: the same body (key order aside) gives the same digest."""
    return hashlib.sha256(json.dumps(out(body), sort_keys=True).encode()).hexdigest()


async def idempotent(session: AsyncSession, principal: Principal, key: str | None, body: Any, status: int,
                     run: Callable[[], Awaitable[Any]]) -> JSONResponse:
    """Run ``run`` once per (caller, key); a replay returns the stored response, a different body is a 409."""
    if key is None:
        return JSONResponse(out(await run()), status_code=status)
    digest = body_hash(body)
    # The primary key makes a concurrent duplicate wait here until the first transaction commits.
    inserted = (await session.execute(
        insert(keys).values(principal=principal.sub, key=key, request_hash=digest, created_at=clock.now())
        .on_conflict_do_nothing().returning(keys.c.key))).first()
    if inserted is None:
        row = (await session.execute(sa.select(keys.c.request_hash, keys.c.status_code, keys.c.response).where(
            keys.c.principal == principal.sub, keys.c.key == key))).one()
        if row.request_hash != digest:
            raise Conflict("Idempotency-Key was used with a different body", field=HEADER,
                           code="idempotency_key_reused")
        return JSONResponse(row.response, status_code=row.status_code, headers=replay_headers(True))
    result = out(await run())
    await session.execute(sa.update(keys).where(keys.c.principal == principal.sub, keys.c.key == key)
                          .values(status_code=status, response=result))
    return JSONResponse(result, status_code=status)
