"""Logs never carry personal data (issue 13, item 4, the log half): checked through the real JSON formatter and
filter of ``configure_logging``, with real SQLAlchemy and asyncpg errors from the real Postgres."""

from __future__ import annotations

import io
import json
import logging
import uuid
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
import sqlalchemy as sa

from aftersales_shared.config import DatabaseSettings
from aftersales_shared.db import create_engine, create_raw_pool
from aftersales_shared.dev import devstack
from aftersales_shared.logging import configure_logging, mask_phones

NAME, MOBILE, LANDLINE, ADDRESS = "张三丰", "13812345678", "0571 8765 4321", "西湖区文三路 88 号"
CLEAR = [NAME, MOBILE, "8765 4321", "87654321", ADDRESS, "12345678"]


@pytest.fixture
def log_lines() -> Iterator[Any]:
    """The service log handler (real formatter + filter) writing into a buffer; returns the parsed lines."""
    configure_logging("masking-test")
    handler = next(h for h in logging.getLogger().handlers if getattr(h, "_aftersales", False))
    buffer = io.StringIO()
    assert isinstance(handler, logging.StreamHandler)
    handler.setStream(buffer)

    def lines() -> list[dict[str, Any]]:
        return [json.loads(line) for line in buffer.getvalue().splitlines() if line.strip()]

    lines.raw = buffer  # type: ignore[attr-defined]
    yield lines
    logging.getLogger().removeHandler(handler)


def _assert_clean(text: str) -> None:
    for value in CLEAR:
        assert value not in text, f"{value!r} in clear in: {text}"


@pytest.mark.parametrize("number, masked", [
    ("13812345678", "138****5678"),
    ("+86 138 1234 5678", "138****5678"),
    ("010-12345678", "010-****5678"),
    ("0571 8765 4321", "0571-****4321"),
    ("(021)87654321", "021-****4321"),
    ("+86 10 1234 5678", "10-****5678"),
    ("+86-571-87654321", "571-****4321"),
    ("0755-2345678", "0755-****5678"),
])
def test_mobiles_and_landlines_are_masked(number, masked):
    assert mask_phones(f"call {number} now") == f"call {masked} now"


@pytest.mark.parametrize("text", [
    "2026-01-05 12:34:56", "job 01J9ZP6Q8R", "123e4567-e89b-12d3-a456-426614174000", "port 52371",
    "amount 1234567.89", "order 20240105123456",
])
def test_dates_ids_and_amounts_are_left_alone(text):
    assert mask_phones(text) == text


def test_message_args_and_extra_are_masked(log_lines):
    log = logging.getLogger("masking")
    log.info("customer %s at %s, landline %s", {"phone": MOBILE}, ADDRESS.replace("88", "88"), LANDLINE)
    log.warning("callback requested", extra={"contact": f"tel {LANDLINE} / {MOBILE}"})
    text = log_lines.raw.getvalue()
    for value in (MOBILE, "8765 4321"):
        assert value not in text
    assert "138****5678" in text and "0571-****4321" in text


def test_formatted_exception_and_traceback_are_masked(log_lines):
    log = logging.getLogger("masking")
    try:
        raise ValueError(f"cannot reach customer at {LANDLINE} or {MOBILE}")
    except ValueError:
        log.exception("callback failed")
    [line] = log_lines()
    assert "Traceback" in line["exc_info"]
    assert "0571-****4321" in line["exc_info"] and "138****5678" in line["exc_info"]
    _assert_clean(json.dumps(line, ensure_ascii=False))


@pytest.mark.integration
async def test_sqlalchemy_errors_log_neither_parameters_nor_the_failing_row(stack, log_lines):
    engine = create_engine(DatabaseSettings(host="127.0.0.1", port=stack.pg_port, name=devstack.DB_NAME,
                                            user="ticketing", password=stack.service_password("ticketing")),
                           schema="ticketing", application_name="masking-test")
    log = logging.getLogger("masking")
    table = f"masking_probe_{uuid.uuid4().hex[:8]}"  # service roles may not create temporary tables
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.text(f"CREATE TABLE {table} (name text, phone text UNIQUE, "
                                       "address text NOT NULL CHECK (address <> 'x'))"))
            await conn.execute(sa.text(f"INSERT INTO {table} VALUES (:n, :p, :a)"),
                               {"n": NAME, "p": LANDLINE, "a": ADDRESS})
            for params in ({"n": NAME, "p": MOBILE, "a": None},      # NOT NULL: "Failing row contains (...)"
                           {"n": NAME, "p": LANDLINE, "a": ADDRESS},  # UNIQUE: "Key (phone)=(...)"
                           {"n": NAME, "p": MOBILE, "a": "x"}):       # CHECK: the failing row again
                try:
                    async with conn.begin_nested():
                        await conn.execute(sa.text(f"INSERT INTO {table} VALUES (:n, :p, :a)"), params)
                except sa.exc.DBAPIError:
                    log.exception("insert failed")
            try:
                async with conn.begin_nested():
                    await conn.execute(sa.text("SELECT CAST(:v AS integer)"), {"v": f"{NAME} {MOBILE}"})
            except sa.exc.DBAPIError:
                log.exception("cast failed")
            await conn.execute(sa.text(f"DROP TABLE {table}"))
    finally:
        await engine.dispose()
    lines = log_lines()
    assert len(lines) == 4
    assert all("SQL parameters hidden" in line["exc_info"] for line in lines)
    for line in lines:
        _assert_clean(json.dumps(line, ensure_ascii=False))


@pytest.mark.integration
async def test_asyncpg_errors_on_the_raw_pool_are_masked(stack, log_lines):
    settings = DatabaseSettings(host="127.0.0.1", port=stack.pg_port, name=devstack.DB_NAME,
                                user="ticketing", password=stack.service_password("ticketing"))
    pool = await create_raw_pool(settings, schema="ticketing", application_name="masking-test", size=1)
    log = logging.getLogger("masking")
    try:
        async with pool.acquire() as conn:
            try:  # asyncpg quotes the argument it cannot encode
                await conn.fetchval("SELECT $1::integer", f"{NAME} {MOBILE}")
            except asyncpg.DataError:
                log.exception("raw cast failed")
            try:
                await conn.fetchval("SELECT CAST($1::text AS integer)", f"{NAME} {MOBILE}")
            except asyncpg.PostgresError:
                log.exception("raw server-side cast failed")
    finally:
        await pool.close()
    lines = log_lines()
    assert len(lines) == 2
    for line in lines:
        _assert_clean(json.dumps(line, ensure_ascii=False))
