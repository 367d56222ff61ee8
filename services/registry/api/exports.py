"""Export jobs (导出): the register of a region as CSV or XLSX."""

from __future__ import annotations

import uuid
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Path, Query, Request
from fastapi.responses import JSONResponse, Response

from services.registry.api.deps import Exporter, ExportServiceDep, JobRunnerDep
from services.registry.api.schemas import ExportCreate, ExportJobRead
from services.registry.jobs import start
from services.registry.service.exports import headers as export_headers
from shared.errors import problem_responses

router = APIRouter(prefix="/v1/exports", tags=["exports"])

JobId = Annotated[uuid.UUID, Path(description="export job id")]


@router.post(
    "",
    status_code=202,
    response_model=ExportJobRead,
    summary="Export a region's register (导出花名册) as CSV or XLSX, as a job",
    description="Columns of the import template (Chinese headers) plus membership status. ID numbers, bank "
    "accounts and phones are masked; `reveal=true` (county officers, with a `purpose`) writes them in full and "
    "is audited, and only its creator may download the file. Files are kept encrypted for a day. "
    "`wait=true` answers when the file is ready (200).",
    responses={200: {"model": ExportJobRead}, **problem_responses(403, 422)},
)
async def submit_export(
    body: ExportCreate,
    request: Request,
    exports: ExportServiceDep,
    runner: JobRunnerDep,
    _: Exporter,
    wait: Annotated[bool, Query(description="answer when the file is ready")] = False,
) -> JSONResponse:
    job = await exports.submit(body, ttl_hours=request.app.state.settings.export_ttl_hours)
    await start(runner, "export", job.id, lambda _: exports.run(job.id), wait=wait)
    if wait:
        job = await exports.get(job.id)
    finished = job.status in ("succeeded", "failed")
    return JSONResponse(
        job.model_dump(mode="json"),
        status_code=200 if finished else 202,
        headers={"Location": f"/v1/exports/{job.id}"},
    )


@router.get("/{job_id}", summary="An export job", responses=problem_responses(404))
async def get_export(job_id: JobId, exports: ExportServiceDep, _: Exporter) -> ExportJobRead:
    """Reads an export job (导出任务): status, row count, and when it has succeeded the `download_url` of its file."""
    return await exports.get(job_id)


@router.get(
    "/{job_id}/file",
    summary="Download the exported file",
    response_class=Response,
    responses={
        200: {
            "content": {
                "text/csv": {"example": ",".join(export_headers()) + "\n"},
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": {},
            }
        },
        **problem_responses(404),
    },
)
async def download_export(job_id: JobId, exports: ExportServiceDep, _: Exporter) -> Response:
    """Downloads the file of a finished export job (花名册), CSV or XLSX. ID numbers, bank accounts and phones are
    masked unless the export asked to reveal them (audited). 404 `export_not_available` while the job has not
    succeeded, after it failed, or once the file has expired (it is kept for a day).
    """
    file = await exports.download(job_id)
    filename = file.filename
    return Response(
        file.content,
        media_type=file.content_type,
        headers={
            "Content-Disposition": f"attachment; filename=\"{filename}\"; filename*=UTF-8''{quote(filename)}",
            "Cache-Control": "no-store",
        },
    )
