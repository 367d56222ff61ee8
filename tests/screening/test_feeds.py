"""Department feed batches (rules.md §1.2; issue acceptance 3)."""

from __future__ import annotations

import uuid
from typing import Any

import httpx
import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.db.tables import feed_batch, feed_record, outbox
from shared.contracts.claims import ClaimLead
from tests.screening.conftest import PostFeed
from tests.screening.support import (
    CIPHER,
    COUNTY,
    OTHER_COUNTY_VILLAGE,
    add_household,
    control_total,
    jsonl,
    medical,
    national_id,
    record,
)
from tests.support.tokens import auth

pytestmark = pytest.mark.usefixtures("clock")


async def _records_of(session: AsyncSession, batch_id: str) -> list[Any]:
    return list(
        (
            await session.execute(
                select(feed_record).where(feed_record.c.batch_id == uuid.UUID(batch_id)).order_by(feed_record.c.line_no)
            )
        ).mappings()
    )


async def test_a_good_batch_is_matched_and_its_lineage_kept(session: AsyncSession, post_feed: PostFeed) -> None:
    h = await add_household(session, incomes={2025: 30000})
    records = [medical("YB-1", h.national_ids[0], "12000.00"), medical("YB-2", h.national_ids[1], "800.50")]
    batch = (await post_feed("medical_insurance", records)).json()
    assert batch["status"] == "succeeded"
    assert batch["counts"] == {
        "records": 2,
        "accepted": 2,
        "duplicates": 0,
        "invalid": 0,
        "matched": 2,
        "unmatched": 0,
        "claim_leads": 0,
    }
    assert batch["progress"] == {"done": 2, "total": 2}
    assert batch["declared_control_total"] == batch["control_total"]
    rows = await _records_of(session, batch["id"])
    assert [(r["member_id"], r["household_id"]) for r in rows] == [(h.member_ids[0], h.id), (h.member_ids[1], h.id)]
    assert [str(r["amount"]) for r in rows] == ["12000.00", "800.50"]
    assert rows[0]["amounts"]["self_paid"] == "12000.00"


async def test_no_plain_national_id_is_stored(session: AsyncSession, post_feed: PostFeed) -> None:
    nid = national_id()
    batch = (await post_feed("medical_insurance", [medical("YB-9", nid, "100.00")])).json()
    row = (await _records_of(session, batch["id"]))[0]
    dump = repr(dict(row)) + repr(batch)
    assert nid not in dump
    assert row["national_id_masked"] == nid[:6] + "********" + nid[-4:]
    assert CIPHER.decrypt(row["national_id_enc"], purpose="national_id") == nid
    assert row["national_id_index"] == CIPHER.blind_index(nid, purpose="national_id")
    stored = (
        await session.execute(
            text("SELECT count(*) FROM screening.feed_batch WHERE errors::text LIKE :n OR result::text LIKE :n"),
            {"n": f"%{nid}%"},
        )
    ).scalar_one()
    assert stored == 0


async def test_count_mismatch_rejects_the_whole_batch(session: AsyncSession, post_feed: PostFeed) -> None:
    h = await add_household(session)
    records = [medical("YB-1", h.national_ids[0], "100.00"), medical("YB-2", h.national_ids[1], "200.00")]
    batch = (await post_feed("medical_insurance", records, record_count=3)).json()
    assert batch["status"] == "rejected"
    assert batch["counts"]["accepted"] == 0
    assert [e["code"] for e in batch["errors"]] == ["record_count_mismatch"]
    assert "declared 3 records, the batch has 2" in batch["errors"][0]["message"]
    assert await _records_of(session, batch["id"]) == []
    # nothing was kept, so the same records go through once the batch is corrected
    again = (await post_feed("medical_insurance", records)).json()
    assert again["counts"]["accepted"] == 2


async def test_total_mismatch_rejects_the_whole_batch(session: AsyncSession, post_feed: PostFeed) -> None:
    h = await add_household(session)
    records = [medical("YB-1", h.national_ids[0], "100.00", total="300.00")]
    batch = (await post_feed("medical_insurance", records, total="499.99")).json()
    assert batch["status"] == "rejected"
    assert [e["code"] for e in batch["errors"]] == ["control_total_mismatch"]
    assert batch["control_total"] == "600.00"  # total_cost + basic_insurance + self_paid
    assert await _records_of(session, batch["id"]) == []


async def test_both_mismatches_are_reported(post_feed: PostFeed) -> None:
    batch = (
        await post_feed("medical_insurance", [medical("YB-1", national_id(), "1.00")], record_count=5, total="0")
    ).json()
    assert {e["code"] for e in batch["errors"]} == {"record_count_mismatch", "control_total_mismatch"}


async def test_a_repeated_batch_key_replays_the_first_response(session: AsyncSession, post_feed: PostFeed) -> None:
    h = await add_household(session)
    records = [medical("YB-1", h.national_ids[0], "100.00")]
    first = await post_feed("medical_insurance", records, key="mi-2026-03-01")
    second = await post_feed("medical_insurance", records, key="mi-2026-03-01")
    assert second.headers["Idempotency-Replayed"] == "true"
    assert second.json()["id"] == first.json()["id"]
    assert second.headers["Location"] == first.headers["Location"]
    batches = (await session.execute(select(feed_batch.c.id))).scalars().all()
    assert len(batches) == 1
    # the same key with another body is refused
    other = await post_feed(
        "medical_insurance", [medical("YB-2", h.national_ids[0], "5.00")], key="mi-2026-03-01", expect=409
    )
    assert other.json()["code"] == "idempotency_key_reused"


async def test_repeated_record_ids_are_skipped_and_counted(session: AsyncSession, post_feed: PostFeed) -> None:
    h = await add_household(session)
    first = (await post_feed("medical_insurance", [medical("YB-1", h.national_ids[0], "100.00")])).json()
    assert first["counts"]["accepted"] == 1
    records = [
        medical("YB-1", h.national_ids[0], "100.00"),  # seen in the earlier batch
        medical("YB-2", h.national_ids[0], "50.00"),
        medical("YB-2", h.national_ids[0], "50.00"),  # repeated inside this batch
    ]
    batch = (await post_feed("medical_insurance", records)).json()
    assert batch["status"] == "succeeded"
    assert batch["counts"]["records"] == 3
    assert batch["counts"]["accepted"] == 1
    assert batch["counts"]["duplicates"] == 2
    assert batch["result"]["duplicates"] == [
        {"line": 1, "source_record_id": "YB-1"},
        {"line": 3, "source_record_id": "YB-2"},
    ]
    # the same id from another department is another record
    other = (
        await post_feed(
            "emergency_management",
            [record("YB-1", "accident", "2026-01-02", national_id=h.national_ids[0], amounts={"loss": "10.00"})],
        )
    ).json()
    assert other["counts"]["accepted"] == 1


async def test_unknown_people_are_reported_not_dropped(
    session: AsyncSession, post_feed: PostFeed, screening_client: httpx.AsyncClient
) -> None:
    h = await add_household(session)
    stranger = national_id()
    elsewhere = await add_household(session, village=OTHER_COUNTY_VILLAGE)  # registered in another county
    records = [
        medical("YB-1", h.national_ids[0], "100.00"),
        medical("YB-2", stranger, "200.00"),
        medical("YB-3", elsewhere.national_ids[0], "300.00"),
        record(
            "HS-1",
            "medical_expense",
            "2026-01-05",
            household_number="no-such-household",
            amounts={"total_cost": "10.00", "self_paid": "10.00"},
        ),
    ]
    batch = (await post_feed("medical_insurance", records)).json()
    assert batch["status"] == "succeeded"
    assert batch["counts"]["matched"] == 1
    assert batch["counts"]["unmatched"] == 3
    unmatched = batch["result"]["unmatched"]
    assert [u["source_record_id"] for u in unmatched] == ["YB-2", "YB-3", "HS-1"]
    assert unmatched[0]["national_id_masked"] == stranger[:6] + "********" + stranger[-4:]
    assert unmatched[2]["household_number"] == "no-such-household"
    page = await batch_records(screening_client, batch, unmatched=True)
    assert [r["source_record_id"] for r in page["items"]] == ["YB-2", "YB-3", "HS-1"]
    assert all(r["matched"] is False for r in page["items"])


async def batch_records(client: httpx.AsyncClient, batch: dict[str, Any], **params: Any) -> dict[str, Any]:
    response = await client.get(
        batch["links"]["records"], params=params, headers=auth("department_feeder", department=batch["department"])
    )
    assert response.status_code == 200, response.text
    result: dict[str, Any] = response.json()
    return result


async def test_matching_by_household_number(session: AsyncSession, post_feed: PostFeed) -> None:
    h = await add_household(session)
    batch = (
        await post_feed("housing", [record("ZJ-1", "housing_unsafe", "2026-02-01", household_number=h.number)])
    ).json()
    assert batch["counts"]["matched"] == 1
    rows = await _records_of(session, batch["id"])
    assert rows[0]["household_id"] == h.id
    assert rows[0]["member_id"] is None


async def test_a_feeder_posts_only_its_own_department(screening_client: httpx.AsyncClient, post_feed: PostFeed) -> None:
    records = [medical("YB-1", national_id(), "1.00")]
    wrong = await post_feed(
        "medical_insurance", records, headers=auth("department_feeder", department="education"), expect=403
    )
    assert wrong.json()["code"] == "wrong_department"
    none = await post_feed("medical_insurance", records, headers=auth("department_feeder"), expect=403)
    assert none.json()["code"] == "wrong_department"
    other_county = await post_feed(
        "medical_insurance",
        records,
        county="410603",
        headers=auth("department_feeder", department="medical_insurance"),
        expect=403,
    )
    assert other_county.json()["code"] == "out_of_scope"
    officer = await post_feed("medical_insurance", records, headers=auth("county_officer"), expect=403)
    assert officer.json()["code"] == "role_not_allowed"
    unknown = await post_feed("ministry_of_magic", records, headers=auth("admin", ""), expect=404)
    assert unknown.json()["code"] == "unknown_department"
    # the feeder sees its own department's batches only
    mine = await post_feed("medical_insurance", records)
    seen = await screening_client.get(
        mine.headers["Location"], headers=auth("department_feeder", department="education")
    )
    assert seen.status_code == 404
    listed = await screening_client.get(
        "/v1/feeds/medical_insurance/batches", headers=auth("department_feeder", department="education")
    )
    assert listed.json()["items"] == []
    own = await screening_client.get(
        "/v1/feeds/medical_insurance/batches", headers=auth("department_feeder", department="medical_insurance")
    )
    assert [b["id"] for b in own.json()["items"]] == [mine.json()["id"]]


@pytest.mark.parametrize(
    ("department", "line", "field", "code"),
    [
        ("medical_insurance", {"kind": "job_loss"}, "kind", "kind_not_allowed"),
        ("medical_insurance", {"kind": "lottery_win"}, "kind", "unknown_kind"),
        (
            "medical_insurance",
            {"amounts": {"total_cost": "10.00", "self_paid": "-1.00"}},
            "amounts.self_paid",
            "invalid_amount",
        ),
        (
            "medical_insurance",
            {"amounts": {"total_cost": "10.001", "self_paid": "1"}},
            "amounts.total_cost",
            "invalid_amount",
        ),
        (
            "medical_insurance",
            {"amounts": {"total_cost": "10", "self_paid": "11"}},
            "amounts.self_paid",
            "inconsistent_amounts",
        ),
        ("medical_insurance", {"amounts": {"total_cost": "10"}}, "amounts.self_paid", "missing_field"),
        (
            "medical_insurance",
            {"amounts": {"total_cost": "10", "self_paid": "1", "loss": "3"}},
            "amounts.loss",
            "unknown_field",
        ),
        ("medical_insurance", {"event_date": "2026-13-01"}, "event_date", "invalid_date"),
        ("medical_insurance", {"event_date": "2026-04-06"}, "event_date", "invalid_date"),  # tomorrow
        ("medical_insurance", {"national_id": "410602199001011235"}, "national_id", "invalid_national_id"),
        ("medical_insurance", {"national_id": None}, "national_id", "missing_field"),
        ("medical_insurance", {"source_record_id": ""}, "source_record_id", "missing_field"),
        ("disability_federation", {"kind": "disability_new", "grade": 7, "amounts": {}}, "grade", "invalid_grade"),
        ("education", {"kind": "school_admission", "level": "kindergarten", "amounts": {}}, "level", "invalid_level"),
    ],
)
async def test_each_record_is_validated(
    post_feed: PostFeed, department: str, line: dict[str, Any], field: str, code: str
) -> None:
    good = medical("OK-1", national_id(), "5.00")
    bad = {**medical("BAD-1", national_id(), "1.00"), **line}
    bad = {k: v for k, v in bad.items() if v is not None}
    if department != "medical_insurance":
        good = record(
            "OK-1",
            "disability_new" if department == "disability_federation" else "school_admission",
            "2026-01-01",
            national_id=national_id(),
            grade=1,
            level="senior_high",
        )
    batch = (await post_feed(department, [good, bad])).json()
    assert batch["status"] == "succeeded", batch
    assert batch["counts"]["accepted"] == 1
    assert batch["counts"]["invalid"] == 1
    assert [(e["line"], e["field"], e["code"]) for e in batch["errors"]] == [(2, field, code)]


async def test_a_line_that_is_not_json_is_an_error_of_its_own(screening_client: httpx.AsyncClient) -> None:
    good = medical("YB-1", national_id(), "1.00")
    body = jsonl([good]) + b"{not json\n"
    response = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params={"county_code": COUNTY, "record_count": 2, "control_total": control_total([good])},
        content=body,
        headers={"Content-Type": "application/x-ndjson", **auth("department_feeder", department="medical_insurance")},
    )
    assert response.status_code == 202
    batch = response.json()
    assert batch["counts"]["accepted"] == 1
    assert batch["errors"][0]["line"] == 2
    assert batch["errors"][0]["code"] == "invalid_record"


async def test_csv_batches_and_multipart_uploads(session: AsyncSession, screening_client: httpx.AsyncClient) -> None:
    h = await add_household(session)
    csv_text = (
        "source_record_id,national_id,kind,event_date,total_cost,basic_insurance,self_paid,hospital\n"
        f"YB-1,{h.national_ids[0]},medical_expense,2026-01-03,5000.00,3000.00,2000.00,县人民医院\n"
        f"YB-2,{h.national_ids[1]},medical_expense,2026-01-04,100,,100,乡卫生院\n"
    )
    headers = auth("department_feeder", department="medical_insurance")
    raw = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params={"county_code": COUNTY, "record_count": 2, "control_total": "10200.00"},
        content=csv_text.encode(),
        headers={"Content-Type": "text/csv", **headers},
    )
    assert raw.status_code == 202, raw.text
    assert raw.json()["format"] == "csv"
    assert raw.json()["counts"]["matched"] == 2
    rows = await _records_of(session, raw.json()["id"])
    assert rows[0]["details"] == {"hospital": "县人民医院"}
    assert rows[1]["amounts"] == {
        "total_cost": "100.00",
        "basic_insurance": "0.00",
        "critical_illness_insurance": "0.00",
        "medical_assistance": "0.00",
        "self_paid": "100.00",
    }

    upload = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        files={"file": ("march.jsonl", jsonl([medical("YB-3", h.national_ids[0], "7.00")]), "application/x-ndjson")},
        data={"county_code": COUNTY, "record_count": "1", "control_total": "42.00", "period": "2026-03"},
        headers=headers,
    )
    assert upload.status_code == 202, upload.text
    assert upload.json()["period"] == "2026-03"
    assert upload.json()["counts"]["accepted"] == 1


@pytest.mark.parametrize(
    ("params", "content_type", "code"),
    [
        ({"record_count": 1, "control_total": "1"}, "application/x-ndjson", "validation_failed"),  # no county
        ({"county_code": COUNTY, "control_total": "1"}, "application/x-ndjson", "validation_failed"),
        (
            {"county_code": COUNTY, "record_count": 1, "control_total": "abc"},
            "application/x-ndjson",
            "validation_failed",
        ),
        ({"county_code": COUNTY, "record_count": 1, "control_total": "1"}, "application/pdf", "unsupported_format"),
        ({"county_code": "41", "record_count": 1, "control_total": "1"}, "application/x-ndjson", "validation_failed"),
    ],
)
async def test_malformed_envelopes_are_422(
    screening_client: httpx.AsyncClient, params: dict[str, Any], content_type: str, code: str
) -> None:
    response = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params=params,
        content=b"{}\n",
        headers={"Content-Type": content_type, **auth("department_feeder", department="medical_insurance")},
    )
    assert response.status_code == 422, response.text
    assert response.json()["code"] == code


async def test_bad_bytes_and_bad_csv_are_422_not_500(screening_client: httpx.AsyncClient) -> None:
    headers = auth("department_feeder", department="medical_insurance")
    params = {"county_code": COUNTY, "record_count": 0, "control_total": "0"}
    latin = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params=params,
        content=b"\xff\xfe\x00",
        headers={"Content-Type": "application/x-ndjson", **headers},
    )
    assert latin.status_code == 422
    assert latin.json()["code"] == "invalid_batch"
    csv_bad = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params=params,
        content=b"a,b\n1,2\n",
        headers={"Content-Type": "text/csv", **headers},
    )
    assert csv_bad.status_code == 422
    empty = await screening_client.post(
        "/v1/feeds/medical_insurance/batches",
        params=params,
        content=b"",
        headers={"Content-Type": "application/x-ndjson", **headers},
    )
    assert empty.status_code == 202
    assert empty.json()["status"] == "succeeded"


async def test_claim_leads_for_insured_households_go_to_the_outbox(session: AsyncSession, post_feed: PostFeed) -> None:
    insured = await add_household(session, insured_years=[2026])
    uninsured = await add_household(session, insured_years=[2025])
    records = [
        medical("YB-1", insured.national_ids[0], "9000.00", day="2026-02-01"),
        medical("YB-2", insured.national_ids[1], "10.00", day="2025-12-30"),  # incident in 2025: not insured then
        medical("YB-3", uninsured.national_ids[0], "9000.00", day="2026-02-01"),
    ]
    batch = (await post_feed("medical_insurance", records)).json()
    assert batch["counts"]["claim_leads"] == 1
    school = (
        await post_feed(
            "education",
            [
                record(
                    "JY-1", "school_admission", "2026-03-01", national_id=insured.national_ids[2], level="undergraduate"
                )
            ],
        )
    ).json()
    assert school["counts"]["claim_leads"] == 1
    messages = (
        (await session.execute(select(outbox).where(outbox.c.target == "claims").order_by(outbox.c.seq)))
        .mappings()
        .all()
    )
    assert len(messages) == 2
    illness = ClaimLead.model_validate(messages[0]["body"])
    assert messages[0]["method"] == "POST"
    assert messages[0]["path"] == "/v1/claims/leads"
    assert messages[0]["idempotency_key"] == f"claim-lead:{COUNTY}:medical_insurance:YB-1"
    assert illness.source == "feed"
    assert illness.source_record_id == "medical_insurance:YB-1"
    assert illness.category == "illness"
    assert illness.household_id == insured.id
    assert illness.member_id == insured.member_ids[0]
    assert illness.village_code == insured.village
    assert str(illness.incident_date) == "2026-02-01"
    assert str(illness.reported_date) == "2026-04-05"
    assert illness.expense == {
        "total_cost": "27000.00",
        "basic_insurance_paid": "18000.00",
        "critical_illness_paid": "0.00",
        "medical_assistance_paid": "0.00",
    }
    assert illness.evidence.batch_id == uuid.UUID(batch["id"])
    entry = ClaimLead.model_validate(messages[1]["body"])
    assert entry.category == "school_entry"
    assert entry.expense == {"level": "undergraduate", "student_member_id": str(insured.member_ids[2])}
    assert insured.national_ids[0] not in str(messages[0]["body"])
    # a record sent again is a duplicate: no second claim lead
    again = (await post_feed("medical_insurance", records[:1])).json()
    assert again["counts"]["duplicates"] == 1
    assert again["counts"]["claim_leads"] == 0
