"""The floor of bench/api_reads.py: the least a Python service can do to answer a household read.

    FLOOR_DATABASE_URL=postgresql://… .venv/bin/uvicorn bench.floor_app:app --host 127.0.0.1 --port 9000

What it does, exactly, and nothing more:

- FastAPI with one route, ``GET /households/{household_id}`` (the id parsed as a UUID by FastAPI's
  path validation); no middleware, no dependencies, no authentication (no token is read, so no
  HS256 check either), no region scoping, no request id, no logging per request, no OpenAPI docs.
- One asyncpg pool (10 connections, as the services' ``db_pool_size``), opened at start-up; no
  ORM, no SQLAlchemy, no pre-ping. Per request it acquires one connection and runs two prepared
  statements (asyncpg caches them per connection): the household row by primary key and its active
  members by ``household_id``, the columns the registry's ``HouseholdRead`` shows (no ciphertext,
  so no decryption: the masked columns are stored). It does not read incomes.
- The answer is a plain dict (the household and a ``members`` list) returned through FastAPI's
  default ``JSONResponse`` (``jsonable_encoder`` + ``json.dumps``); 404 as a bare JSON object.

Served by uvicorn, one worker, httptools and uvloop like the services (uvicorn's defaults when
they are installed), access log off (the services' ``uvicorn_options`` turn it off too).
"""

from __future__ import annotations

import os
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
from fastapi import FastAPI
from fastapi.responses import JSONResponse

HOUSEHOLD_SQL = """
SELECT id, household_number, county_code, township_code, village_code, address, phone_masked, status,
       base_status, monitoring_case_id, monitoring_since, dibao, tekun, negative_list, negative_list_reason,
       bank_account_masked, bank_name, account_holder, insured_years, head_member_id, archived_at, version,
       created_at, updated_at
FROM registry.household WHERE id = $1
"""
MEMBERS_SQL = """
SELECT id, name, national_id_masked, sex, birth_date, relation, health, disability_grade, labour_ability,
       education_stage, school, join_reason, joined_on, active, left_on, version
FROM registry.member WHERE household_id = $1 AND active ORDER BY id
"""

POOL: dict[str, asyncpg.Pool] = {}


def _dsn() -> str:
    url = os.environ["FLOOR_DATABASE_URL"]
    return url.replace("postgresql+asyncpg://", "postgresql://")


@asynccontextmanager
async def lifespan(_: FastAPI) -> AsyncIterator[None]:
    POOL["db"] = await asyncpg.create_pool(_dsn(), min_size=10, max_size=10)
    try:
        yield
    finally:
        await POOL.pop("db").close()


app = FastAPI(lifespan=lifespan, openapi_url=None, docs_url=None, redoc_url=None)


@app.get("/readyz")
async def readyz() -> dict[str, str]:
    return {"status": "ready"}


@app.get("/households/{household_id}", response_model=None)
async def household(household_id: uuid.UUID) -> dict[str, Any] | JSONResponse:
    async with POOL["db"].acquire() as conn:
        row = await conn.fetchrow(HOUSEHOLD_SQL, household_id)
        if row is None:
            return JSONResponse({"code": "not_found"}, status_code=404)
        members = await conn.fetch(MEMBERS_SQL, household_id)
    body = dict(row)
    body["members"] = [dict(m) for m in members]
    return body
