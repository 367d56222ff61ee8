"""Department feeds (部门数据): monthly batches in JSON lines or CSV, processed as jobs."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse

from services.screening.api.deps import FeedReader, FeedServiceDep, FeedWriter, IdempotencyKey, replay
from services.screening.api.schemas import BatchRead, FeedRecordRead
from services.screening.service.common import Replayed
from shared.contracts.types import CountyCode, Cursor
from shared.errors import problem_responses
from shared.limits import body_limit, spool_upload
from shared.pagination import Page

router = APIRouter(prefix="/v1/feeds", tags=["feeds"])

Department = Annotated[
    str,
    Path(
        description="medical_insurance 医保, education 教育, civil_affairs 民政, emergency_management 应急管理, "
        "public_security 公安, agriculture 农业农村, human_resources 人社, disability_federation 残联, "
        "housing 住建, water 水利",
        examples=["medical_insurance"],
    ),
]

EXAMPLE_CSV = (
    "source_record_id,national_id,kind,event_date,total_cost,basic_insurance,critical_illness_insurance,"
    "medical_assistance,self_paid\n"
    "YB-2026-000123,410602199001011234,medical_expense,2026-02-14,52000.00,30000.00,8000.00,2000.00,12000.00\n"
)
EXAMPLE_JSONL = (
    '{"source_record_id": "YB-2026-000123", "national_id": "410602199001011234", "kind": "medical_expense", '
    '"event_date": "2026-02-14", "amounts": {"total_cost": "52000.00", "basic_insurance": "30000.00", '
    '"critical_illness_insurance": "8000.00", "medical_assistance": "2000.00", "self_paid": "12000.00"}}\n'
)


@router.post(
    "/{department}/batches",
    status_code=202,
    summary="Send a batch of department records (报送部门数据)",
    description=(
        "The body is the batch: JSON lines (`application/x-ndjson`, one record per line) or CSV (`text/csv`, a "
        "header row: source_record_id, national_id or household_number, kind, event_date, the amount columns, "
        "grade, level; other columns become details); a multipart form with the batch as `file` works too. "
        "`record_count` and `control_total` (the sum of every amount in the batch) are checked: a batch that "
        "does not add up is rejected whole. A record id the department sent before is skipped as a duplicate. "
        "Answers 202 with the batch job; poll its `Location` until `status` is final. A `department_feeder` "
        "token sends only its own department.\n\nExample line:\n\n    " + EXAMPLE_JSONL
    ),
    responses={202: {"description": "the batch job", "model": BatchRead}, **problem_responses(403, 404, 409, 413, 422)},
    openapi_extra={
        **body_limit("feed_max_bytes"),
        "requestBody": {
            "required": True,
            "content": {
                "application/x-ndjson": {"schema": {"type": "string"}, "example": EXAMPLE_JSONL},
                "text/csv": {"schema": {"type": "string"}, "example": EXAMPLE_CSV},
                "multipart/form-data": {
                    "schema": {"type": "object", "properties": {"file": {"type": "string", "format": "binary"}}}
                },
            },
        },
    },
)
async def submit_batch(
    department: Department,
    request: Request,
    feeds: FeedServiceDep,
    principal: FeedWriter,
    key: IdempotencyKey,
    county_code: Annotated[CountyCode | None, Query(description="county the batch is about")] = None,
    record_count: Annotated[int | None, Query(ge=0, le=2**31 - 1, description="records in the batch")] = None,
    control_total: Annotated[
        str | None,
        Query(
            pattern=r"^[0-9]{1,16}(\.[0-9]{1,12})?$",
            description="sum of every amount in the batch (declared)",
            examples=["12000.00"],
        ),
    ] = None,
    period: Annotated[str | None, Query(pattern=r"^[0-9]{4}-(0[1-9]|1[0-2])$", description="month reported")] = None,
    format: Annotated[Literal["jsonl", "csv"] | None, Query(description="else from Content-Type")] = None,
) -> JSONResponse:
    # The batch (raw body or the `file` part of a form) spooled to an anonymous temporary file as
    # it streams in; it is parsed from there within this request and closed when the request ends.
    with await spool_upload(request, feeds.ctx.settings.feed_max_bytes) as upload:
        result = await feeds.receive(
            principal,
            department,
            upload,
            fmt=format,
            county_code=county_code,
            record_count=record_count,
            control_total=control_total,
            period=period,
            idempotency_key=key,
        )
    if isinstance(result, Replayed):
        return replay(result.stored)
    return JSONResponse(result.model_dump(mode="json"), status_code=202, headers={"Location": result.links["self"]})


@router.get("/{department}/batches", summary="Batches of a department (报送批次)", response_model=Page[BatchRead])
async def list_batches(
    department: Department,
    feeds: FeedServiceDep,
    principal: FeedReader,
    county_code: Annotated[CountyCode | None, Query()] = None,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> Page[BatchRead]:
    """The batches a department (医保, 教育, 民政, …) has sent (报送批次), newest first, optionally for one county,
    paged by `cursor`.
    """
    return await feeds.list_batches(principal, department, county_code=county_code, cursor=cursor, limit=limit)


@router.get(
    "/{department}/batches/{batch_id}",
    summary="A batch job: status, counts, per-record errors, unmatched records (批次结果)",
    responses=problem_responses(404),
)
async def get_batch(
    department: Department, batch_id: uuid.UUID, feeds: FeedServiceDep, principal: FeedReader
) -> BatchRead:
    """Reads a department batch job (批次结果): status, record count and control total (合计金额) as received, counts of
    matched and unmatched records, and the per-record errors.
    """
    return await feeds.get(principal, department, batch_id)


@router.get(
    "/{department}/batches/{batch_id}/records",
    summary="Records of a batch, with what they matched (批次记录)",
    response_model=Page[FeedRecordRead],
    responses=problem_responses(404),
)
async def batch_records(
    department: Department,
    batch_id: uuid.UUID,
    feeds: FeedServiceDep,
    principal: FeedReader,
    unmatched: Annotated[bool, Query(description="only records that matched no one")] = False,
    cursor: Annotated[Cursor | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> Page[FeedRecordRead]:
    """The records of a department batch (批次记录), with the member and household each matched by national ID (masked),
    paged by `cursor`; `unmatched=true` lists only records that matched no one in the registry.
    """
    return await feeds.records(principal, department, batch_id, unmatched_only=unmatched, cursor=cursor, limit=limit)
