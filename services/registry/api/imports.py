"""Bulk import jobs (批量导入) and the import template (导入模板)."""

from __future__ import annotations

import uuid
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.registry.api.deps import Importer, ImportServiceDep, JobRunnerDep
from services.registry.api.schemas import ImportJobRead, ImportMode, ImportRowError
from services.registry.domain.import_rows import COLUMNS, template_csv
from services.registry.jobs import start
from services.registry.service.imports import detect_format
from shared.contracts.types import Cursor, Line
from shared.errors import problem_responses
from shared.idempotency import REPLAY_HEADERS, validate_idempotency_key
from shared.limits import body_limit, spool_upload
from shared.pagination import Page

router = APIRouter(prefix="/v1/imports", tags=["imports"])

JobId = Annotated[uuid.UUID, Path(description="import job id")]

# One household of two members (the walk-through's, docs/registry-walkthrough.md) in the Chinese template;
# columns not named here stay empty, so the example follows the template when columns are added.
_EXAMPLE_ROWS: tuple[dict[str, str], ...] = (
    {
        "household_number": "410602100202-W0002",
        "village_code": "410602100202",
        "address": "鹤壁集镇二村1组3号",
        "household_status": "一般农户",
        "insured_year": "2026",
        "member_name": "赵德明",
        "national_id": "410602195601012010",
        "sex": "男",
        "birth_date": "1956-01-01",
        "relation": "户主",
        "health": "健康",
        "labour_ability": "弱劳动力或半劳动力",
        "wage_income": "6000.00",
        "business_income": "0.00",
        "property_income": "0.00",
        "transfer_income": "2400.00",
        "production_costs": "0.00",
        "income_year": "2025",
    },
    {
        "household_number": "410602100202-W0002",
        "member_name": "孙秀兰",
        "national_id": "410602195903032228",
        "sex": "女",
        "birth_date": "1959-03-03",
        "relation": "配偶",
        "health": "长期慢性病",
        "labour_ability": "无劳动力",
    },
)
EXAMPLE_CSV = "".join(
    ",".join(cells) + "\n"
    for cells in [[c.header_zh for c in COLUMNS], *([row.get(c.key, "") for c in COLUMNS] for row in _EXAMPLE_ROWS)]
)

_TEMPLATE_DOC = "\n".join(
    f"| `{c.key}` | {c.header_zh} | {'yes' if c.required else ''} | {c.description} |" for c in COLUMNS
)

IMPORT_DESCRIPTION = f"""
Upload a CSV (UTF-8 or GB18030) or XLSX file in the import template, as `multipart/form-data`
(field `file`) or as the raw request body (`Content-Type: text/csv` or the XLSX type). One row per
member; rows of one household share its household number (户编号); household-level columns may be
filled on one row only. Headers in Chinese or English.

- `mode=all_or_nothing` (default): any row error → nothing is imported, every error is reported.
- `mode=valid_rows`: the valid rows are imported, each rejected row is reported with its row
  number, column and message.
- `Idempotency-Key`: the same key with the same file returns the first job (nothing is imported
  twice); with another file it is 409. The CLI (`fangpin import FILE`) uses the file's SHA-256.
- The job is created and committed first (`202 Accepted`, `Location: /v1/imports/{{id}}`); the work
  runs in the background in its own transaction, with rows written by `COPY`. Poll the job, or
  pass `wait=true` to get the finished job in the response (`200`).

Monitoring types (监测类型) cannot be imported (they are set through `/monitoring-status`); imports
create households and never merge into existing ones.

| column | 表头 | required | |
|---|---|---|---|
{_TEMPLATE_DOC}
"""


@router.post(
    "",
    status_code=202,
    response_model=ImportJobRead,
    summary="Import households from CSV or XLSX (批量导入), as a job",
    description=IMPORT_DESCRIPTION,
    responses={200: {"model": ImportJobRead}, **problem_responses(403, 409, 413, 422)},
    openapi_extra={
        **body_limit("import_max_bytes"),
        "requestBody": {
            "content": {
                "multipart/form-data": {
                    "schema": {
                        "type": "object",
                        "properties": {"file": {"type": "string", "format": "binary"}},
                        "required": ["file"],
                    }
                },
                "text/csv": {"schema": {"type": "string"}, "example": EXAMPLE_CSV},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {
                    "schema": {"type": "string", "format": "binary"}
                },
            },
            "required": True,
        },
    },
)
async def submit_import(
    request: Request,
    imports: ImportServiceDep,
    runner: JobRunnerDep,
    _: Importer,
    mode: Annotated[ImportMode, Query(description="all_or_nothing or valid_rows")] = "all_or_nothing",
    wait: Annotated[bool, Query(description="answer when the job has finished (200) instead of at once (202)")] = False,
    file_format: Annotated[
        Literal["csv", "xlsx"] | None, Query(alias="format", description="default: from the file")
    ] = None,
    filename: Annotated[Line | None, Query(description="file name, for a raw-body upload")] = None,
) -> JSONResponse:
    key = validate_idempotency_key(request.headers.get("idempotency-key"))
    max_bytes = request.app.state.settings.import_max_bytes
    # Spooled to an anonymous temporary file as it streams in (hashed on the way): never in memory.
    upload = await spool_upload(request, max_bytes, max_fields=5)
    owned = True  # until a job takes the file over
    try:
        fmt = detect_format(upload.head(4), upload.filename or filename, upload.content_type, file_format)
        submitted = await imports.submit(
            upload,
            filename=upload.filename or filename,
            fmt=fmt,
            mode=mode,
            idempotency_key=key,
            max_bytes=max_bytes,
        )
        job, created = submitted.value, submitted.created
        location = f"/v1/imports/{job.id}"
        if created:
            owned = False  # the job closes the file when it ends, however it ends
            await start(runner, "import", job.id, lambda _: imports.run(job.id, upload, fmt=fmt, mode=mode), wait=wait)
    finally:
        if owned:
            upload.close()
    if wait or not created:
        job = await imports.get(job.id)
    finished = job.status in ("succeeded", "failed")
    headers = {"Location": location}
    if submitted.replayed:
        headers.update(REPLAY_HEADERS)
    return JSONResponse(job.model_dump(mode="json"), status_code=200 if finished else 202, headers=headers)


@router.get(
    "/template",
    summary="The import template (导入模板) as CSV, Chinese or English headers",
    response_class=Response,
    responses={200: {"content": {"text/csv": {"example": template_csv("zh").decode("utf-8-sig")}}}},
)
async def import_template(_: Importer, lang: Literal["zh", "en"] = "zh") -> Response:
    """The import template (导入模板): the header row of `POST /v1/imports` as a CSV, UTF-8 with a BOM so that Excel
    opens it as UTF-8; Chinese headers (`lang=zh`, the default, what a village office fills in) or English ones
    (`lang=en`). Both are accepted by the import.
    """
    return Response(
        template_csv(lang),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="registry-import-template-{lang}.csv"'},
    )


@router.get("", summary="Recent import jobs in your region (导入任务)")
async def list_imports(
    imports: ImportServiceDep, _: Importer, limit: Annotated[int, Query(ge=1, le=100)] = 20
) -> list[ImportJobRead]:
    """The most recent import jobs (导入任务) of your region, newest first, with their status and counts."""
    return await imports.list_jobs(limit=limit)


@router.get("/{job_id}", summary="An import job: status, progress, errors, result", responses=problem_responses(404))
async def get_import(job_id: JobId, imports: ImportServiceDep, _: Importer) -> ImportJobRead:
    """Reads an import job (导入任务): status (queued, running, succeeded, failed), progress by phase, counts of rows
    imported and refused, and the first errors (all of them at `/errors`).
    """
    return await imports.get(job_id)


@router.get(
    "/{job_id}/errors",
    response_model=Page[ImportRowError],
    summary="Every row error of an import job (row, column, message)",
    responses=problem_responses(404),
)
async def import_errors(
    job_id: JobId,
    imports: ImportServiceDep,
    _: Importer,
    cursor: Annotated[Cursor | None, Query(max_length=100)] = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 500,
) -> Page[ImportRowError]:
    """Every row error of an import job (导入错误明细): row number, column (the template's header), message and stable
    code, paged by `cursor`; fix the rows in the file and import it again.
    """
    return await imports.errors(job_id, cursor=cursor, limit=limit)
