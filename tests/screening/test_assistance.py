"""Assistance measures as typed records, payments through the outbox, visits with photos and the
coverage list (rules.md §4; issue 13), over HTTP against the real database."""

from __future__ import annotations

import io
import uuid
from datetime import date
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import outbox
from tests.screening.support import COUNTY, OTHER_COUNTY_VILLAGE, VILLAGE, Clock, add_household
from tests.support.tokens import auth

CADRE = auth("village_cadre", VILLAGE)
OUTSIDER = auth("village_cadre", OTHER_COUNTY_VILLAGE)
COUNTY_OFFICER = auth("county_officer", COUNTY)

JPEG = b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 2000
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 500


def post_measure(household_id: uuid.UUID, **over: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "household_id": str(household_id),
        "measure_type": "public_welfare_post",
        "status": "in_progress",
        "risk_code": "income_drop",
        "due_date": "2026-06-30",
        "start_date": "2026-01-01",
        "details": {"post": "护林员", "monthly_wage": "800", "months": 12},
    }
    body.update(over)
    return body


async def _outbox(session: AsyncSession) -> list[Any]:
    return list((await session.execute(select(outbox).order_by(outbox.c.seq))).mappings())


async def test_measure_typed_validated_history_and_plan(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    h = await add_household(session)
    bad = await screening_client.post(
        "/v1/measures",
        json=post_measure(h.id, details={"post": "", "monthly_wage": "8.001", "colour": "red"}),
        headers=CADRE,
    )
    assert bad.status_code == 422, bad.text
    assert bad.json()["code"] == "invalid_measure_details"
    fields = {e["field"] for e in bad.json()["errors"]}
    assert fields == {"details.post", "details.monthly_wage", "details.colour"}

    made = await screening_client.post("/v1/measures", json=post_measure(h.id), headers=CADRE)
    assert made.status_code == 201, made.text
    m = made.json()
    assert m["details"]["monthly_wage"] == "800.00"
    assert m["income_type"] == "wage"
    assert m["measure_type_label"] == "公益岗"
    planned = await screening_client.post(
        "/v1/measures",
        json=post_measure(
            h.id, measure_type="housing", status="planned", due_date="2026-03-01", details={"works": "屋顶"}
        ),
        headers=CADRE,
    )
    assert planned.status_code == 201, planned.text

    # progress: If-Match, status moves, history
    no_match = await screening_client.patch(f"/v1/measures/{m['id']}", json={"status": "delivered"}, headers=CADRE)
    assert no_match.status_code == 428
    done = await screening_client.patch(
        f"/v1/measures/{m['id']}", json={"status": "delivered"}, headers={**CADRE, "If-Match": '"1"'}
    )
    assert done.status_code == 200
    assert done.json()["version"] == 2
    back = await screening_client.patch(
        f"/v1/measures/{m['id']}", json={"status": "planned"}, headers={**CADRE, "If-Match": '"2"'}
    )
    assert back.status_code == 409
    assert back.json()["code"] == "measure_status_refused"
    history = (await screening_client.get(f"/v1/measures/{m['id']}/history", headers=CADRE)).json()
    assert [x["action"] for x in history] == ["create", "update"]
    assert history[1]["changes"]["status"] == {"from": "in_progress", "to": "delivered"}

    plan = (await screening_client.get(f"/v1/households/{h.id}/assistance-plan", headers=CADRE)).json()
    assert plan["progress"] == {"planned": 1, "in_progress": 0, "delivered": 1, "cancelled": 0, "overdue": 1}
    assert plan["measures"][0]["measure_type"] == "housing"
    assert plan["measures"][0]["overdue"] is True

    # out of scope: 404 on reads and writes
    assert (await screening_client.get(f"/v1/measures/{m['id']}", headers=OUTSIDER)).status_code == 404
    assert (await screening_client.post("/v1/measures", json=post_measure(h.id), headers=OUTSIDER)).status_code == 404
    audit = await session.execute(
        text("SELECT count(*) FROM audit.audit_log WHERE action LIKE 'screening.assistance_measure.%'")
    )
    assert audit.scalar_one() >= 3


async def test_payment_goes_to_the_registry_once_and_a_reversal_reverses(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    h = await add_household(session)
    m = (await screening_client.post("/v1/measures", json=post_measure(h.id), headers=CADRE)).json()
    pay = {"period": "2026-03", "amount": "800.00", "paid_date": "2026-03-31"}
    first = await screening_client.post(f"/v1/measures/{m['id']}/payments", json=pay, headers=CADRE)
    assert first.status_code == 201, first.text
    again = await screening_client.post(f"/v1/measures/{m['id']}/payments", json=pay, headers=CADRE)
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    other = await screening_client.post(
        f"/v1/measures/{m['id']}/payments", json={**pay, "amount": "700.00"}, headers=CADRE
    )
    assert other.status_code == 409
    assert other.json()["code"] == "payment_period_taken"

    messages = await _outbox(session)
    posted = [x for x in messages if x["path"].endswith("/assistance-income")]
    assert len(posted) == 1
    assert posted[0]["path"] == f"/v1/households/{h.id}/assistance-income"
    assert posted[0]["body"] == {
        "payment_id": first.json()["id"],
        "measure_id": m["id"],
        "measure_type": "public_welfare_post",
        "income_type": "wage",
        "amount": "800.00",
        "paid_date": "2026-03-31",
        "year": 2026,
    }
    assert posted[0]["idempotency_key"] == f"screening:assistance:{first.json()['id']}"

    reversal = await screening_client.post(
        f"/v1/payments/{first.json()['id']}/reversal", json={"reason": "考核不合格"}, headers=CADRE
    )
    assert reversal.status_code == 201, reversal.text
    assert reversal.json()["kind"] == "reversal"
    assert reversal.json()["reverses_id"] == first.json()["id"]
    twice = await screening_client.post(
        f"/v1/payments/{first.json()['id']}/reversal", json={"reason": "again"}, headers=CADRE
    )
    assert twice.status_code == 200
    assert twice.json()["id"] == reversal.json()["id"]
    reposted = await screening_client.post(
        f"/v1/measures/{m['id']}/payments", json={**pay, "amount": "700.00"}, headers=CADRE
    )
    assert reposted.status_code == 201  # the correction
    paths = [x["path"] for x in await _outbox(session)]
    assert paths == [
        f"/v1/households/{h.id}/assistance-income",
        f"/v1/households/{h.id}/assistance-income/{first.json()['id']}/reversal",
        f"/v1/households/{h.id}/assistance-income",
    ]
    read = (await screening_client.get(f"/v1/measures/{m['id']}", headers=CADRE)).json()
    assert read["paid_total"] == "700.00"

    housing = (
        await screening_client.post(
            "/v1/measures", json=post_measure(h.id, measure_type="water", details={"works": "管网"}), headers=CADRE
        )
    ).json()
    none = await screening_client.post(f"/v1/measures/{housing['id']}/payments", json=pay, headers=CADRE)
    assert none.status_code == 409
    assert none.json()["code"] == "measure_pays_no_income"
    assert (
        await screening_client.post(
            f"/v1/payments/{first.json()['id']}/reversal", json={"reason": "x"}, headers=OUTSIDER
        )
    ).status_code == 404


async def test_visit_photos_typed_by_content_bounded_and_scoped(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock, screening_app: Any
) -> None:
    h = await add_household(session)
    body = {
        "household_id": str(h.id),
        "visit_date": "2026-04-01",
        "visitors": ["村支书"],
        "findings": {"living": "difficult", "income_change": "decreased", "risks": []},
    }
    made = await screening_client.post("/v1/visits", json=body, headers=CADRE)
    assert made.status_code == 201, made.text
    visit_id = made.json()["id"]

    up = await screening_client.post(
        f"/v1/visits/{visit_id}/photos", files={"file": ("notes.txt", io.BytesIO(JPEG), "text/plain")}, headers=CADRE
    )
    assert up.status_code == 201, up.text  # named .txt, declared text/plain: the content decides
    assert up.json()["content_type"] == "image/jpeg"
    assert up.json()["size_bytes"] == len(JPEG)
    import hashlib

    assert up.json()["sha256"] == hashlib.sha256(JPEG).hexdigest()
    raw = await screening_client.post(
        f"/v1/visits/{visit_id}/photos", content=PNG, headers={**CADRE, "Content-Type": "image/png"}
    )
    assert raw.status_code == 201
    assert raw.json()["content_type"] == "image/png"

    wrong = await screening_client.post(
        f"/v1/visits/{visit_id}/photos",
        files={"file": ("photo.jpg", io.BytesIO(b"MZ\x90\x00 not a photo"), "image/jpeg")},
        headers=CADRE,
    )
    assert wrong.status_code == 415
    assert wrong.json()["code"] == "unsupported_media_type"
    pdf = await screening_client.post(
        f"/v1/visits/{visit_id}/photos",
        content=b"%PDF-1.7\n" + b"0" * 100,
        headers={**CADRE, "Content-Type": "application/pdf"},
    )
    assert pdf.status_code == 415  # a visit takes photos only

    screening_app.state.settings.attachment_max_bytes = 4096
    try:
        big = await screening_client.post(
            f"/v1/visits/{visit_id}/photos", content=JPEG * 3, headers={**CADRE, "Content-Type": "image/jpeg"}
        )
        assert big.status_code == 413
        assert big.json()["code"] == "payload_too_large"
    finally:
        screening_app.state.settings.attachment_max_bytes = 25 * 1024 * 1024

    got = await screening_client.get(f"/v1/visits/{visit_id}/photos/{up.json()['id']}", headers=CADRE)
    assert got.status_code == 200
    assert got.content == JPEG
    assert got.headers["content-type"] == "image/jpeg"
    assert got.headers["etag"] == f'"{hashlib.sha256(JPEG).hexdigest()}"'
    visit = (await screening_client.get(f"/v1/visits/{visit_id}", headers=CADRE)).json()
    assert len(visit["photos"]) == 2
    for path in (f"/v1/visits/{visit_id}", f"/v1/visits/{visit_id}/photos/{up.json()['id']}"):
        assert (await screening_client.get(path, headers=OUTSIDER)).status_code == 404
    assert (
        await screening_client.post(
            f"/v1/visits/{visit_id}/photos", content=JPEG, headers={**OUTSIDER, "Content-Type": "image/jpeg"}
        )
    ).status_code == 404
    assert (
        await screening_client.get(f"/v1/visits/{visit_id}/photos/{uuid.uuid4()}", headers=CADRE)
    ).status_code == 404
    chunks = await session.execute(text("SELECT count(*) FROM screening.attachment_chunk"))
    assert chunks.scalar_one() == 2


async def test_visit_opens_a_case_and_coverage_lists_the_unvisited(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock
) -> None:
    visited, other = await add_household(session), await add_household(session)
    body = {
        "household_id": str(visited.id),
        "visit_date": "2026-04-02",
        "visitors": ["驻村工作队员"],
        "findings": {"living": "emergency", "income_change": "decreased", "risks": ["income_drop"]},
        "open_case": True,
    }
    made = await screening_client.post("/v1/visits", json=body, headers=CADRE)
    assert made.status_code == 201, made.text
    case_id = made.json()["case_id"]
    assert case_id is not None
    case = (await screening_client.get(f"/v1/cases/{case_id}", headers=CADRE)).json()
    assert case["source"] == "cadre_visit"
    assert case["household_id"] == str(visited.id)

    coverage = await screening_client.get("/v1/visits/coverage", params={"county_code": COUNTY}, headers=COUNTY_OFFICER)
    assert coverage.status_code == 200, coverage.text
    listed = {i["household_id"] for i in coverage.json()["items"]}
    expected = {
        str(r[0])
        for r in await session.execute(
            text(
                "SELECT h.household_id FROM registry.household_snapshot_v1 h WHERE h.county_code = :c AND NOT EXISTS "
                "(SELECT 1 FROM screening.visit v WHERE v.household_id = h.household_id AND v.visit_date >= :since)"
            ),
            {"c": COUNTY, "since": date.fromisoformat(coverage.json()["since"])},
        )
    }
    assert listed == expected
    assert str(other.id) in listed
    assert str(visited.id) not in listed
    future = await screening_client.post("/v1/visits", json={**body, "visit_date": "2027-01-01"}, headers=CADRE)
    assert future.status_code == 422


@pytest.mark.parametrize("kind", ["dibao", "education_aid", "microcredit"])
async def test_each_type_checks_its_own_fields(
    screening_client: httpx.AsyncClient, session: AsyncSession, clock: Clock, kind: str
) -> None:
    h = await add_household(session)
    r = await screening_client.post(
        "/v1/measures", json=post_measure(h.id, measure_type=kind, details={}), headers=CADRE
    )
    assert r.status_code == 422
    assert r.json()["code"] == "invalid_measure_details"
    assert all(e["message"] in ("required",) or "one of" in e["message"] for e in r.json()["errors"])
