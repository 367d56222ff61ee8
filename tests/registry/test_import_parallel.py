"""A large CSV import parsed in parts by the parse pool's process (services/registry/service/imports.py
`ParsePool`, domain/import_parts.py): the job's result is the whole file's, and a file whose parts
cannot stand for it is parsed whole."""

from __future__ import annotations

import asyncio
import dataclasses
import os
import signal
import tempfile
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

import services.registry.service.imports as imports
from services.registry.domain import import_parts
from services.registry.domain.import_rows import ParseResult, parse_rows, read_csv
from tests.conftest import AppHarness
from tests.registry.test_imports import COL, OFFICER, _import, non_head_rows, template_rows, to_csv

pytestmark = pytest.mark.usefixtures("demo_regions")


@pytest.fixture
async def merges(app_harness: AppHarness, monkeypatch: pytest.MonkeyPatch) -> list[ParseResult | None]:
    """Parts of 64 KiB, and what each merge of parts gave (the real merge, recorded)."""
    app = await app_harness.get("registry")
    monkeypatch.setattr(app.state.settings, "import_parallel_min_bytes", 64 * 1024)
    assert app.state.parse_pool.processes == 1  # the tests' setting (tests/conftest.py make_settings)
    seen: list[ParseResult | None] = []
    real = imports.merge_parts

    def recording(*args: Any, **kwargs: Any) -> ParseResult | None:
        merged = real(*args, **kwargs)
        # a copy: the job clears the result's error list once the errors are stored
        seen.append(None if merged is None else dataclasses.replace(merged, errors=list(merged.errors)))
        return merged

    monkeypatch.setattr(imports, "merge_parts", recording)
    return seen


def expected(data: bytes) -> ParseResult:
    return parse_rows(read_csv(data), today=date.today(), max_errors=1000)


async def job_errors(client: httpx.AsyncClient, job: dict[str, Any]) -> list[tuple[int, str | None, str]]:
    page = (await client.get(f"/v1/imports/{job['id']}/errors?limit=1000", headers=OFFICER)).json()
    return [(e["row"], e["column"], e["code"]) for e in page["items"]]


async def test_a_large_file_parsed_in_two_parts_imports_as_the_whole_file(
    registry_client: httpx.AsyncClient, session: AsyncSession, merges: list[ParseResult | None]
) -> None:
    rows = template_rows(1500)
    bad = non_head_rows(rows, 4)
    rows[bad[0]][COL["birth_date"]] = "1901-01-01"
    rows[bad[1]][COL["member_name"]] = ""
    rows[bad[2]][COL["national_id"]] = rows[bad[2]][COL["national_id"]][:17] + "Z"
    rows[bad[3]][COL["sex"]] = "?"
    data = to_csv(rows)
    assert len(data) > 2 * 64 * 1024
    whole = expected(data)

    response = await _import(registry_client, data, key="parts-1")
    job = response.json()
    assert job["status"] == "succeeded", job
    assert len(merges) == 1  # cut in two
    assert merges[0] is not None  # and merged
    assert merges[0] == whole
    assert job["result"]["imported_members"] == len(whole.rows) == 1496
    assert job["result"]["rejected_rows"] == 4
    assert job["result"]["total_rows"] == 1500
    assert await job_errors(registry_client, job) == [(e.row_number, e.column, e.code) for e in whole.errors]
    assert max(b + 1 for b in bad) > 800  # errors in the second part too, numbered as in the file
    stored = (
        await session.execute(
            text("SELECT count(*) FROM registry.member WHERE import_job_id = :job"), {"job": job["id"]}
        )
    ).scalar_one()
    assert stored == 1496


async def test_a_household_split_across_the_file_is_parsed_whole(
    registry_client: httpx.AsyncClient, merges: list[ParseResult | None]
) -> None:
    rows = template_rows(1500)
    # the second member of the first household moves to the end: its household spans the parts
    moved = next(i for i in range(2, len(rows)) if rows[i][COL["household_number"]] == rows[1][COL["household_number"]])
    rows.append(rows.pop(moved))
    data = to_csv(rows)
    whole = expected(data)

    job = (await _import(registry_client, data, key="parts-2")).json()
    assert job["status"] == "succeeded", job
    assert merges == [None]  # the parts could not stand for the file
    assert job["result"]["imported_members"] == len(whole.rows) == 1500  # the household is whole
    assert job["result"]["imported_households"] == len({r.household_number for r in whole.rows})


async def test_a_dead_parse_process_costs_the_parallel_parse_not_the_import(
    registry_client: httpx.AsyncClient, app_harness: AppHarness, merges: list[ParseResult | None]
) -> None:
    app = await app_harness.get("registry")
    pool = app.state.parse_pool
    executor = pool.executor()
    pid = executor.submit(imports._parse_worker_ready).result(timeout=60)
    os.kill(pid, signal.SIGKILL)
    for _ in range(100):  # until the executor has noticed
        if getattr(executor, "_broken", False):
            break
        await asyncio.sleep(0.05)
    data = to_csv(template_rows(1500))
    job = (await _import(registry_client, data, key="parts-3")).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["imported_members"] == 1500
    assert merges == []  # parsed whole: nothing was merged
    replacement = pool.executor()
    assert replacement is not executor  # the next import starts a new process
    assert replacement.submit(imports._parse_worker_ready).result(timeout=60) != pid


async def test_a_spool_the_parse_processes_cannot_open_is_parsed_whole(
    registry_client: httpx.AsyncClient, merges: list[ParseResult | None], monkeypatch: pytest.MonkeyPatch
) -> None:
    # where /proc/<pid>/fd is not readable by the parse processes (a hardened host), every part
    # fails to open its range: the file is parsed whole and the import is the same
    monkeypatch.setattr(imports, "spool_path", lambda file: "/proc/self/fd/not-a-descriptor")
    data = to_csv(template_rows(1500))
    job = (await _import(registry_client, data, key="parts-4")).json()
    assert job["status"] == "succeeded", job
    assert job["result"]["imported_members"] == 1500
    assert merges == []  # the parts failed before any merge


def test_the_spool_path_is_the_descriptor_under_proc_or_none() -> None:
    with tempfile.TemporaryFile() as file:
        path = import_parts.spool_path(file)
        assert path == f"/proc/{os.getpid()}/fd/{file.fileno()}"
        file.write(b"abc")
        file.flush()
        with open(path, "rb") as other:  # another open file description: its own offset
            assert other.read() == b"abc"
        assert file.tell() == 3

    class Closed:
        def fileno(self) -> int:
            return 1_000_000  # no such descriptor: as where /proc cannot be read

    assert import_parts.spool_path(Closed()) is None  # type: ignore[arg-type]
