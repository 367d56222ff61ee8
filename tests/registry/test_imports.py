"""Bulk import jobs: CSV/XLSX, valid_rows and all_or_nothing, idempotency, row errors, background runs."""

from __future__ import annotations

import csv
import io
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from openpyxl import Workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker, create_async_engine

from services.registry.demo import generate_households, household_csv_rows
from services.registry.domain.import_rows import COLUMN_KEYS
from tests.registry.conftest import CreateHousehold
from tests.support.tokens import DEMO_VILLAGE, OTHER_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")
XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
COL = {key: i for i, key in enumerate(COLUMN_KEYS)}
_seed = iter(range(1000, 100000))


def template_rows(members: int, *, seed: int | None = None, today: date | None = None) -> list[list[str]]:
    """Header + exactly `members` data rows of demo households (the last household may be cut short),
    born no later than `today` (by default the machine's date, as the registry's clock in these tests)."""
    households = []
    total = 0
    seed = seed or next(_seed)
    for h in generate_households(members, seed=seed, start=seed * 1000, today=today):
        households.append(h)
        total += len(h.members)
        if total >= members:
            break
    return list(household_csv_rows(households))[: members + 1]


def to_csv(rows: list[list[str]]) -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerows(rows)
    return buffer.getvalue().encode("utf-8")


def to_xlsx(rows: list[list[str]]) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    for cells in sheet.iter_rows():
        for cell in cells:
            cell.number_format = "@"
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def non_head_rows(rows: list[list[str]], count: int) -> list[int]:
    """Indexes (in `rows`) of data rows that are not a household's first (head) row."""
    picked = []
    for i in range(2, len(rows)):
        same_household = rows[i][COL["household_number"]] == rows[i - 1][COL["household_number"]]
        if same_household and rows[i][COL["relation"]] != "户主":
            picked.append(i)
    step = len(picked) // count
    return [picked[k * step] for k in range(count)]


async def _import(
    client: httpx.AsyncClient,
    data: bytes,
    *,
    mode: str = "valid_rows",
    key: str | None = None,
    headers: dict[str, str] = OFFICER,
    content_type: str = "text/csv",
    **params: Any,
) -> httpx.Response:
    sent = {**headers, "Content-Type": content_type}
    if key:
        sent["Idempotency-Key"] = key
    return await client.post("/v1/imports", params={"mode": mode, "wait": "true", **params}, content=data, headers=sent)


async def _counts(session: AsyncSession) -> tuple[int, int]:
    row = (
        await session.execute(
            text("SELECT (SELECT count(*) FROM registry.household), (SELECT count(*) FROM registry.member)")
        )
    ).one()
    return int(row[0]), int(row[1])


async def test_thousand_rows_with_three_bad_ones(registry_client: httpx.AsyncClient, session: AsyncSession) -> None:
    rows = template_rows(1000)
    bad = non_head_rows(rows, 3)
    nid = rows[bad[0]][COL["national_id"]]
    rows[bad[0]][COL["national_id"]] = nid[:17] + ("0" if nid[17] != "0" else "1")  # check digit
    rows[bad[1]][COL["birth_date"]] = "1901-01-01"  # disagrees with the ID
    rows[bad[2]][COL["member_name"]] = ""  # required
    data = to_csv(rows)
    bad_row_numbers = sorted(i + 1 for i in bad)  # the header is row 1
    before = await _counts(session)

    strict = await _import(registry_client, data, mode="all_or_nothing", key="strict-1")
    assert strict.status_code == 200, strict.text
    job = strict.json()
    assert job["status"] == "failed"
    assert job["mode"] == "all_or_nothing"
    assert job["result"]["imported_members"] == 0
    assert job["result"]["rejected_rows"] == 3
    assert sorted({e["row"] for e in job["errors"]}) == bad_row_numbers
    assert await _counts(session) == before

    lenient = await _import(registry_client, data, mode="valid_rows", key="lenient-1")
    job = lenient.json()
    assert job["status"] == "succeeded", job
    assert job["result"]["imported_members"] == 997
    assert job["result"]["rejected_rows"] == 3
    assert job["result"]["total_rows"] == 1000
    assert job["progress"] == {"phase": "done", "done": 1000, "total": 1000}
    errors = {e["row"]: e for e in job["errors"]}
    assert sorted(errors) == bad_row_numbers
    assert errors[bad_row_numbers[0]]["column"] in ("national_id", "birth_date", "member_name")
    by_code = {e["code"] for e in job["errors"]}
    assert {"invalid_check_digit", "birth_date_mismatch", "required"} <= by_code
    households, members = await _counts(session)
    assert members - before[1] == 997
    assert households - before[0] == job["result"]["imported_households"]
    assert lenient.headers["location"] == f"/v1/imports/{job['id']}"

    again = await _import(registry_client, data, mode="valid_rows", key="lenient-1")
    assert again.status_code == 200
    assert again.json()["id"] == job["id"]
    assert again.headers["idempotency-replayed"] == "true"
    assert await _counts(session) == (households, members)
    other_file = await _import(registry_client, to_csv(rows[:10]), mode="valid_rows", key="lenient-1")
    assert other_file.status_code == 409
    assert other_file.json()["code"] == "idempotency_key_reused"

    page = (await registry_client.get(f"/v1/imports/{job['id']}/errors?limit=2", headers=OFFICER)).json()
    assert [e["row"] for e in page["items"]] == bad_row_numbers[:2]
    assert page["next_cursor"]
    rest = (
        await registry_client.get(f"/v1/imports/{job['id']}/errors?cursor={page['next_cursor']}", headers=OFFICER)
    ).json()
    assert [e["row"] for e in rest["items"]] == bad_row_numbers[2:]
    assert rest["next_cursor"] is None
    # the imported households are ordinary registry households: readable, searchable, with history
    first_number = rows[1][COL["household_number"]]
    found = (
        await registry_client.post("/v1/households:search", json={"household_number": first_number}, headers=OFFICER)
    ).json()["items"][0]
    detail = (await registry_client.get(f"/v1/households/{found['id']}", headers=OFFICER)).json()
    assert detail["members"][0]["relation"] == "head"
    assert detail["latest_income"] is not None
    history = (await registry_client.get(f"/v1/households/{found['id']}/history", headers=OFFICER)).json()
    assert history["items"][0]["action"] == "household.import"
    assert history["items"][0]["reason"] == f"import {job['id']}"
    changes = {c["field"]: c["after"] for c in history["items"][0]["changes"]}
    assert changes["household_number"] == first_number
    assert sorted(changes["members"]) == sorted(m["national_id_masked"] for m in detail["members"])
    assert changes[f"incomes.{detail['latest_income']['year']}.net_income"] == detail["latest_income"]["net_income"]


async def test_xlsx_multipart_and_english_headers(registry_client: httpx.AsyncClient, session: AsyncSession) -> None:
    rows = template_rows(40)
    rows[0] = list(COLUMN_KEYS)  # English headers
    before = await _counts(session)
    response = await registry_client.post(
        "/v1/imports",
        params={"wait": "true"},
        files={"file": ("花名册.xlsx", to_xlsx(rows), XLSX)},
        headers=OFFICER,
    )
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded", job
    assert job["format"] == "xlsx"
    assert job["filename"] == "花名册.xlsx"
    assert (await _counts(session))[1] - before[1] == 40
    csv_multipart = await registry_client.post(
        "/v1/imports",
        params={"wait": "true"},
        files={"file": ("more.csv", to_csv(template_rows(5)), "text/csv")},
        headers=OFFICER,
    )
    assert csv_multipart.json()["status"] == "succeeded"
    assert csv_multipart.json()["format"] == "csv"


async def test_rows_are_checked_against_the_register(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    existing = await create_household()
    rows = template_rows(30)
    heads = [i for i in range(1, len(rows)) if rows[i][COL["relation"]] == "户主"]
    first, second, third, fourth = heads[:4]
    original = rows[first][COL["household_number"]]
    for row in rows[1:]:
        if row[COL["household_number"]] == original:
            row[COL["household_number"]] = existing["household_number"]  # already registered
    rows[second][COL["village_code"]] = "410602100299"  # not in the region tree
    rows[third][COL["grid_code"]] = rows[third][COL["village_code"]] + "99"  # no such grid (网格)
    member_row = next(i for i in range(fourth + 1, len(rows)) if rows[i][COL["relation"]] != "户主")
    rows[member_row][COL["national_id"]] = existing["_body"]["members"][1]["national_id"]  # active elsewhere
    rows[member_row][COL["birth_date"]] = rows[member_row][COL["sex"]] = ""  # taken from the ID
    response = await _import(registry_client, to_csv(rows), mode="valid_rows")
    job = response.json()
    codes = {(e["row"], e["code"]) for e in job["errors"]}
    assert (first + 1, "household_exists") in codes
    assert (second + 1, "unknown_village") in codes
    assert (third + 1, "unknown_grid") in codes
    assert (member_row + 1, "person_in_other_household") in codes
    message = next(e["message"] for e in job["errors"] if e["code"] == "person_in_other_household")
    assert existing["household_number"] not in message
    assert existing["_body"]["members"][1]["national_id"] not in message
    assert job["status"] == "succeeded"
    assert job["result"]["rejected_rows"] >= 4


async def test_a_village_cadre_imports_only_into_the_village(registry_client: httpx.AsyncClient) -> None:
    rows = template_rows(20)
    for row in rows[1:]:
        if row[COL["village_code"]]:
            row[COL["village_code"]] = DEMO_VILLAGE
    heads = [i for i in range(1, len(rows)) if rows[i][COL["relation"]] == "户主"]
    rows[heads[0]][COL["village_code"]] = OTHER_VILLAGE
    cadre = auth("village_cadre", DEMO_VILLAGE)
    job = (await _import(registry_client, to_csv(rows), headers=cadre)).json()
    assert {e["code"] for e in job["errors"]} == {"out_of_scope"}
    assert job["status"] == "succeeded"
    assert (await registry_client.get(f"/v1/imports/{job['id']}", headers=cadre)).status_code == 200
    assert (
        await registry_client.get(f"/v1/imports/{job['id']}", headers=auth("village_cadre", OTHER_VILLAGE))
    ).status_code == 404
    assert (await registry_client.get(f"/v1/imports/{job['id']}", headers=OFFICER)).status_code == 200
    listed = (await registry_client.get("/v1/imports", headers=cadre)).json()
    assert job["id"] in [j["id"] for j in listed]


@pytest.mark.parametrize(
    ("data", "failure"),
    [
        (b"\xff\xfe\x00garbage\x81\x82", "neither UTF-8 nor GB18030"),
        (b"name,age\n1,2\n", "template"),
        (b"PK\x03\x04 not really a zip", "not an XLSX workbook"),
        ("户编号,村代码\n".encode(), "template"),
    ],
)
async def test_unreadable_files_fail_the_job_not_the_service(
    registry_client: httpx.AsyncClient, data: bytes, failure: str
) -> None:
    response = await _import(registry_client, data)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "failed"
    assert failure in job["failure"]
    assert job["result"]["imported_members"] == 0


async def test_requests_that_cannot_become_jobs(registry_client: httpx.AsyncClient) -> None:
    assert (await _import(registry_client, b"")).status_code == 422
    assert (await _import(registry_client, b" \n ")).json()["code"] == "empty_file"
    assert (await _import(registry_client, b"x", mode="sometimes")).status_code == 422
    assert (await _import(registry_client, b"x", headers=auth("auditor"))).status_code == 403
    assert (await _import(registry_client, b"x", headers={})).status_code == 401
    no_file = await registry_client.post("/v1/imports", files={"other": ("a.csv", b"x", "text/csv")}, headers=OFFICER)
    assert no_file.status_code == 422
    assert no_file.json()["code"] == "invalid_upload"
    assert (await registry_client.get(f"/v1/imports/{uuid.uuid4()}", headers=OFFICER)).status_code == 404


async def test_nul_characters_are_row_errors(registry_client: httpx.AsyncClient) -> None:
    rows = template_rows(6)
    member_row = next(i for i in range(2, len(rows)) if rows[i][COL["relation"]] != "户主")
    rows[member_row][COL["member_name"]] = "张\x00三"
    job = (await _import(registry_client, to_csv(rows))).json()
    assert job["status"] == "succeeded"
    assert [(e["row"], e["code"]) for e in job["errors"]] == [(member_row + 1, "invalid_character")]
    assert job["result"]["imported_members"] == 5


async def test_template_download(registry_client: httpx.AsyncClient) -> None:
    zh = await registry_client.get("/v1/imports/template", headers=OFFICER)
    assert zh.status_code == 200
    assert zh.headers["content-type"].startswith("text/csv")
    assert zh.content.decode("utf-8-sig").startswith("户编号,村代码")
    en = await registry_client.get("/v1/imports/template?lang=en", headers=OFFICER)
    assert en.content.decode("utf-8-sig").startswith("household_number,village_code")


# ---------------------------------------------------------------- the background path, with real commits


async def _clean_import(committed_url: str, job_id: str) -> None:
    engine = create_async_engine(committed_url.replace("postgresql://", "postgresql+asyncpg://"))
    try:
        async with async_sessionmaker(engine)() as session:
            params = {"job": job_id}
            await session.execute(
                text(
                    "DELETE FROM registry.household_history WHERE household_id IN "
                    "(SELECT id FROM registry.household WHERE import_job_id = :job)"
                ),
                params,
            )
            await session.execute(
                text(
                    "DELETE FROM registry.income WHERE household_id IN "
                    "(SELECT id FROM registry.household WHERE import_job_id = :job)"
                ),
                params,
            )
            await session.execute(
                text(
                    "DELETE FROM registry.household_cadre WHERE household_id IN "
                    "(SELECT id FROM registry.household WHERE import_job_id = :job)"
                ),
                params,
            )
            await session.execute(text("DELETE FROM registry.member WHERE import_job_id = :job"), params)
            await session.execute(text("DELETE FROM registry.household WHERE import_job_id = :job"), params)
            await session.execute(text("DELETE FROM registry.import_job WHERE id = :job"), params)
            await session.execute(text("DELETE FROM registry.idempotency_key WHERE response->>'id' = :job"), params)
            await session.commit()
    finally:
        await engine.dispose()


async def test_background_job_is_committed_first_then_done_in_its_own_transaction(
    committed_registry: tuple[Any, httpx.AsyncClient], committed_url: str
) -> None:
    app, client = committed_registry
    rows = template_rows(60)
    response = await client.post(
        "/v1/imports",
        params={"mode": "valid_rows"},
        content=to_csv(rows),
        headers={**OFFICER, "Content-Type": "text/csv", "Idempotency-Key": f"bg-{uuid.uuid4()}"},
    )
    try:
        assert response.status_code == 202, response.text
        job_id = response.json()["id"]
        assert response.headers["location"] == f"/v1/imports/{job_id}"
        assert response.json()["status"] in ("queued", "running", "succeeded")
        await app.state.jobs.drain()
        job = (await client.get(f"/v1/imports/{job_id}", headers=OFFICER)).json()
        assert job["status"] == "succeeded", job
        assert job["result"]["imported_members"] == 60
        assert job["started_at"]
        assert job["finished_at"]
        # a second engine (another connection) sees the committed rows
        engine = create_async_engine(committed_url.replace("postgresql://", "postgresql+asyncpg://"))
        try:
            async with engine.connect() as conn:
                count = await conn.scalar(
                    text("SELECT count(*) FROM registry.member WHERE import_job_id = :j"), {"j": job_id}
                )
            assert count == 60
        finally:
            await engine.dispose()
    finally:
        if response.status_code == 202:
            await _clean_import(committed_url, response.json()["id"])


async def test_jobs_whose_process_died_are_marked_failed(
    session: AsyncSession, session_factory: async_sessionmaker[AsyncSession]
) -> None:
    from services.registry.jobs import KINDS
    from shared.jobs import JobRunner

    stale, fresh = uuid.uuid4(), uuid.uuid4()
    for job_id, age in ((stale, "1 hour"), (fresh, "1 second")):
        await session.execute(
            text(
                "INSERT INTO registry.import_job (id, status, mode, format, file_sha256, file_bytes, scope_region, "
                f"created_by, heartbeat_at) VALUES (:id, 'running', 'valid_rows', 'csv', 'x', 1, '410602', 't', "
                f"now() - interval '{age}')"
            ),
            {"id": job_id},
        )
    runner = JobRunner("registry", session_factory)  # the kernel's runner, with the registry's job kinds
    runner.register(*KINDS)
    recovered = await runner.recover()
    assert ("import", stale) in recovered.failed
    assert ("import", fresh) not in recovered.failed
    assert not recovered.resumed  # an upload is never stored: nothing to resume
    statuses = dict(
        (
            await session.execute(
                text("SELECT id, status FROM registry.import_job WHERE id IN (:a, :b)"), {"a": stale, "b": fresh}
            )
        ).all()
    )
    assert statuses == {stale: "failed", fresh: "running"}
    failure = await session.execute(text("SELECT failure FROM registry.import_job WHERE id = :a"), {"a": stale})
    assert failure.scalar_one() == "interrupted: the service stopped; submit it again"
