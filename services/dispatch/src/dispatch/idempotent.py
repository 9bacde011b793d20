"""The stored-response replay of dispatch's creating POSTs (appointments, absences): a retry with the same
``Idempotency-Key`` (per caller) gets the first answer and ``Idempotent-Replayed: true``; the key with another
body is a 409 naming the header. Key length and header names: ``aftersales_shared.idempotency``."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from typing import Any

import sqlalchemy as sa
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from aftersales_shared import clock
from aftersales_shared.auth import Principal
from aftersales_shared.errors import Conflict
from aftersales_shared.idempotency import HEADER, replay_headers

from .models import idempotency_keys as keys


async def idempotent(session: AsyncSession, principal: Principal, key: str | None, body: Any, status: int,
                     run: Callable[[], Awaitable[Any]]) -> JSONResponse:
    """Run ``run`` once per (caller, key); its result is the response (``status``)."""
    if key is None:
        return JSONResponse(jsonable_encoder(await run()), status_code=status, headers=replay_headers(False))
    digest = hashlib.sha256(json.dumps(jsonable_encoder(body), sort_keys=True).encode()).hexdigest()
    inserted = (await session.execute(
        insert(keys).values(principal=principal.sub[:200], key=key, request_hash=digest, created_at=clock.now())
        .on_conflict_do_nothing().returning(keys.c.key))).first()  # a concurrent duplicate waits for the first
    if inserted is None:
        row = (await session.execute(sa.select(keys.c.request_hash, keys.c.status_code, keys.c.response).where(
            keys.c.principal == principal.sub[:200], keys.c.key == key))).one()
        if row.request_hash != digest:
            raise Conflict("Idempotency-Key was used with a different body", field=HEADER,
                           code="idempotency_key_reused")
        return JSONResponse(row.response, status_code=row.status_code, headers=replay_headers(True))
    result = jsonable_encoder(await run())
    await session.execute(sa.update(keys).where(keys.c.principal == principal.sub[:200], keys.c.key == key)
                          .values(status_code=status, response=result))
    return JSONResponse(result, status_code=status, headers=replay_headers(False))
