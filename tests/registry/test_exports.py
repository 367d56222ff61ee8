"""Export jobs: masked by default, revealed only for a county officer with a purpose (audited)."""

from __future__ import annotations

import csv
import io

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession

from shared.auth import mint_token
from tests.registry.conftest import CreateHousehold
from tests.support.tokens import DEMO_VILLAGE, JWT_SECRET, OTHER_VILLAGE, auth

pytestmark = pytest.mark.usefixtures("demo_regions")
OFFICER = auth("county_officer")


async def _export(client: httpx.AsyncClient, body: dict[str, object], headers: dict[str, str]) -> httpx.Response:
    return await client.post("/v1/exports", params={"wait": "true"}, json=body, headers=headers)


async def test_masked_csv_export_of_a_village(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold
) -> None:
    here = await create_household()
    there = await create_household(village=OTHER_VILLAGE)
    cadre = auth("village_cadre", DEMO_VILLAGE)
    response = await _export(registry_client, {"region": DEMO_VILLAGE}, cadre)
    assert response.status_code == 200, response.text
    job = response.json()
    assert job["status"] == "succeeded"
    assert job["reveal"] is False
    assert job["download_url"] == f"/v1/exports/{job['id']}/file"
    download = await registry_client.get(job["download_url"], headers=cadre)
    assert download.status_code == 200
    assert download.headers["content-type"].startswith("text/csv")
    assert "attachment" in download.headers["content-disposition"]
    rows = list(csv.reader(io.StringIO(download.content.decode("utf-8-sig"))))
    header = rows[0]
    assert header[:3] == ["户编号", "村代码", "地址"]
    assert header[-5:] == ["成员状态", "离开日期", "离开原因", "乡镇名称", "村名称"]
    numbers = {r[0] for r in rows[1:]}
    assert here["household_number"] in numbers
    assert there["household_number"] not in numbers
    ours = [r for r in rows[1:] if r[0] == here["household_number"]]
    assert len(ours) == 3
    assert ours[0][header.index("与户主关系")] == "户主"
    assert ours[0][header.index("户类型")] == "脱贫户"
    assert (ours[0][header.index("乡镇名称")], ours[0][header.index("村名称")]) == ("鹤壁集镇", "鹤壁集村")
    for person in here["_body"]["members"]:
        assert person["national_id"] not in download.text
    assert "6222021234567890123" not in download.text
    assert "13812345678" not in download.text
    assert ours[0][header.index("银行账号")] == "***************0123"
    assert job["row_count"] == len(rows) - 1
    outside = await _export(registry_client, {"region": OTHER_VILLAGE}, cadre)
    assert outside.status_code == 403
    assert outside.json()["code"] == "out_of_scope"


async def test_revealed_xlsx_export_needs_the_role_and_a_purpose_and_is_audited(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    here = await create_household()
    body = {"region": "410602100", "format": "xlsx", "reveal": True}
    cadre = await _export(
        registry_client, {**body, "region": DEMO_VILLAGE, "purpose": "核对"}, auth("village_cadre", DEMO_VILLAGE)
    )
    assert cadre.status_code == 403
    assert cadre.json()["code"] == "role_not_allowed"
    no_purpose = await _export(registry_client, body, OFFICER)
    assert no_purpose.status_code == 422
    assert no_purpose.json()["code"] == "purpose_required"
    response = await _export(registry_client, {**body, "purpose": "省级比对核查"}, OFFICER)
    job = response.json()
    assert job["status"] == "succeeded"
    assert job["reveal"] is True
    assert job["filename"].endswith("-revealed.xlsx")
    download = await registry_client.get(f"/v1/exports/{job['id']}/file", headers=OFFICER)
    assert download.status_code == 200
    sheet = load_workbook(io.BytesIO(download.content), read_only=True).worksheets[0]
    cells = [list(r) for r in sheet.iter_rows(values_only=True)]
    header = cells[0]
    ids = {r[header.index("身份证号")] for r in cells[1:]}
    assert {m["national_id"] for m in here["_body"]["members"]} <= ids
    ours = next(r for r in cells[1:] if r[0] == here["household_number"])
    assert ours[header.index("银行账号")] == "6222021234567890123"
    actions = (
        await session.execute(
            text("SELECT action, detail FROM audit.audit_log WHERE resource_id = :id ORDER BY id"), {"id": job["id"]}
        )
    ).all()
    assert [a for a, _ in actions] == ["export.submit", "export.reveal", "export.download"]
    assert actions[1][1]["purpose"] == "省级比对核查"
    assert actions[1][1]["reveal"] is True
    # only the officer who asked may download a revealed file
    other = {
        "Authorization": "Bearer "
        + mint_token(JWT_SECRET, sub="someone-else", roles=["county_officer"], region="410602")
    }
    assert (await registry_client.get(f"/v1/exports/{job['id']}/file", headers=other)).status_code == 404
    assert (await registry_client.get(f"/v1/exports/{job['id']}", headers=other)).status_code == 200
    assert (
        await registry_client.get(f"/v1/exports/{job['id']}", headers=auth("county_officer", "410603"))
    ).status_code == 404


async def test_the_stored_export_file_is_encrypted(
    registry_client: httpx.AsyncClient, create_household: CreateHousehold, session: AsyncSession
) -> None:
    here = await create_household()
    job = (await _export(registry_client, {"region": DEMO_VILLAGE, "reveal": True, "purpose": "核查"}, OFFICER)).json()
    blob = (
        await session.execute(text("SELECT content_enc FROM registry.export_job WHERE id = :id"), {"id": job["id"]})
    ).scalar_one()
    assert here["_body"]["members"][0]["national_id"].encode() not in bytes(blob)
    assert b"PK" not in bytes(blob)[:2]
    assert not bytes(blob).startswith(b"\xef\xbb\xbf")
    assert (await registry_client.get(f"/v1/exports/{job['id']}", headers=auth("auditor"))).status_code == 200
    assert (
        await registry_client.post("/v1/exports", json={"region": "410602"}, headers=auth("service"))
    ).status_code == 403
