"""Issue 9 (3): XLSX bombs are refused from the zip directory; rows per file bounded; stored errors capped."""

from __future__ import annotations

import gc
import io
import zipfile
from typing import Any

import httpx
import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from services.registry.domain.import_rows import template_headers
from tests.conftest import AppHarness
from tests.registry.test_imports import XLSX, _import, template_rows, to_csv, to_xlsx

pytestmark = pytest.mark.usefixtures("demo_regions")

_CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '<Override PartName="/xl/worksheets/sheet1.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
    '<Override PartName="/xl/sharedStrings.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sharedStrings+xml"/></Types>'
)


def shared_string_bomb(megabytes: int = 150) -> bytes:
    """A well-formed workbook whose one shared string is `megabytes` MB of 'A' (about 1 KB per MB zipped)."""
    ns = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"'
    rel = 'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=9) as archive:
        archive.writestr("[Content_Types].xml", _CONTENT_TYPES)
        archive.writestr(
            "_rels/.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org'
            '/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org'
            '/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/workbook.xml",
            f'<?xml version="1.0"?><workbook {ns} {rel}><sheets>'
            '<sheet name="s" sheetId="1" r:id="rId1"/></sheets></workbook>',
        )
        relations = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        archive.writestr(
            "xl/_rels/workbook.xml.rels",
            '<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
            f'<Relationship Id="rId1" Type="{relations}/worksheet" Target="worksheets/sheet1.xml"/>'
            f'<Relationship Id="rId2" Type="{relations}/sharedStrings" Target="sharedStrings.xml"/></Relationships>',
        )
        archive.writestr(
            "xl/worksheets/sheet1.xml",
            f'<?xml version="1.0"?><worksheet {ns}><sheetData><row r="1"><c r="A1" t="s"><v>0</v></c></row>'
            "</sheetData></worksheet>",
        )
        with archive.open("xl/sharedStrings.xml", "w", force_zip64=True) as part:
            part.write(f'<?xml version="1.0"?><sst {ns} count="1" uniqueCount="1"><si><t>'.encode())
            chunk = b"A" * (1024 * 1024)
            for _ in range(megabytes):
                part.write(chunk)
            part.write(b"</t></si></sst>")
    return buffer.getvalue()


async def test_a_shared_string_bomb_is_refused_without_parsing(
    registry_client: httpx.AsyncClient, monkeypatch: pytest.MonkeyPatch, session: AsyncSession
) -> None:
    bomb = shared_string_bomb(150)
    assert len(bomb) < 400 * 1024
    import openpyxl

    def never(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("openpyxl must not parse a refused file")

    monkeypatch.setattr(openpyxl, "load_workbook", never)
    monkeypatch.setattr("openpyxl.reader.excel.load_workbook", never)
    before = (await session.execute(text("SELECT count(*) FROM registry.import_job"))).scalar_one()
    for content_type in (XLSX, "application/octet-stream"):
        response = await _import(registry_client, bomb, content_type=content_type)
        assert response.status_code == 413, response.text
        problem = response.json()
        assert response.headers["content-type"].startswith("application/problem+json")
        assert problem["code"] == "xlsx_too_large_expanded"
    jobs = (await session.execute(text("SELECT count(*) FROM registry.import_job"))).scalar_one()
    assert jobs == before  # refused before a job exists (other tests' committed jobs may be there)


async def test_an_ordinary_xlsx_still_imports(registry_client: httpx.AsyncClient) -> None:
    response = await _import(registry_client, to_xlsx(template_rows(20)), content_type=XLSX)
    assert response.status_code == 200, response.text
    assert response.json()["status"] == "succeeded", response.json()


def _junk_csv(rows: int) -> bytes:
    header = template_headers("zh")[:26]  # the columns before the register's (issue 12): a file under 3 MB
    line = ",".join(["x"] * len(header))
    return ("\ufeff" + ",".join(header) + "\r\n" + (line + "\r\n") * rows).encode("utf-8")


async def test_junk_rows_store_at_most_the_first_errors_with_the_total(
    registry_client: httpx.AsyncClient, session: AsyncSession
) -> None:
    data = _junk_csv(50_000)
    assert len(data) < 3_000_000
    response = await _import(registry_client, data, mode="all_or_nothing")
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "failed"
    assert job["result"]["imported_members"] == 0
    assert job["error_count"] > 50_000 * 10  # every error is counted...
    stored = (
        await session.execute(
            text("SELECT count(*), max(seq) FROM registry.import_job_error WHERE job_id = :id"), {"id": job["id"]}
        )
    ).one()
    assert stored[0] == 1000  # ...only the first 1,000 are kept
    assert job["result"]["stored_errors"] == 1000
    assert job["result"]["total_rows"] == 50_000
    first = await registry_client.get(
        f"/v1/imports/{job['id']}/errors", params={"limit": 5}, headers={"Authorization": _officer()}
    )
    assert next(e["row"] for e in first.json()["items"]) == 2  # the first ones, in row order
    gc.collect()


def _officer() -> str:
    from tests.registry.test_imports import OFFICER

    return OFFICER["Authorization"]


async def test_rows_per_file_are_bounded(
    registry_client: httpx.AsyncClient,
    app_harness: AppHarness,
    monkeypatch: pytest.MonkeyPatch,
    session: AsyncSession,
) -> None:
    app = await app_harness.get("registry")
    monkeypatch.setattr(app.state.settings, "import_max_rows", 50)
    for data, content_type in ((to_csv(template_rows(60)), "text/csv"), (to_xlsx(template_rows(60)), XLSX)):
        response = await _import(registry_client, data, content_type=content_type)
        assert response.status_code == 200, response.text
        job = response.json()
        assert job["status"] == "failed"
        assert "50" in job["failure"]
        assert [e["code"] for e in job["errors"]] == ["too_many_rows"]
        assert job["result"]["imported_members"] == 0
    within = await _import(registry_client, to_csv(template_rows(50)))
    assert within.json()["status"] == "succeeded", within.text
