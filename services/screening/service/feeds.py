"""Department feed batches (rules.md §1.2) as jobs.

The request parses and validates every record, checks the declared record count and control
total (a batch that disagrees is rejected whole and nothing of it is kept), encrypts national
IDs, and stages the records (a source record id the department sent before is skipped and
counted as a duplicate). The job then matches the records to members and households in SQL
through the registry's read contract and sends claim leads for insured households through the
outbox. Plain national IDs exist only in this request's memory.

The batch itself is never held whole: the request's upload is an anonymous temporary file
(shared/limits.py `Upload`, hashed while it streamed in) that the parser reads line by line; the
route closes it when the request ends (the job works from the staged records, not the file).
"""

from __future__ import annotations

import asyncio
import uuid
from datetime import datetime
from decimal import Decimal
from typing import IO, Any, Literal, cast

from sqlalchemy.ext.asyncio import AsyncSession

from services.screening.api.schemas import BatchCounts, BatchRead, FeedRecordRead, JobError, Progress
from services.screening.db.feeds_repository import FeedBatch, FeedRecord, FeedRepository
from services.screening.db.tables import idempotency
from services.screening.domain.feeds import (
    MAX_CONTROL_TOTAL,
    FeedFormat,
    ParsedBatch,
    ParsedRecord,
    parse_batch,
    plain_decimal,
)
from services.screening.domain.risk import Department
from services.screening.service.common import (
    SERVICE,
    STORED_JOB_ACCEPTED,
    Context,
    Replayed,
    require_county_read,
    require_county_write,
)
from shared.audit import Auditor
from shared.auth import Principal, Role
from shared.contracts.vocabulary import mask_national_id
from shared.errors import FieldError, Forbidden, NotFound, PayloadTooLarge, Unprocessable
from shared.idempotency import Idempotency
from shared.jobs import JobContext
from shared.limits import Upload
from shared.logging import get_logger, log_failure, request_id_var
from shared.metrics import JOB_ROWS
from shared.pagination import Page, decode_cursor, next_cursor, read_cursor
from shared.pii import PiiCipher

log = get_logger("fangpin.screening.feeds")

CENT = Decimal("0.01")
JOB_KIND = "feed_batch"


_MEDIA_FORMATS: dict[str, FeedFormat] = {
    "text/csv": "csv",
    "application/csv": "csv",
    "application/x-ndjson": "jsonl",
    "application/jsonl": "jsonl",
    "application/json-lines": "jsonl",
    "application/jsonlines": "jsonl",
    "application/json": "jsonl",
}


def declared_control_total(value: str) -> Decimal:
    # a checksum over the amounts as sent (a bad amount with three places included), so not `Money`;
    # but written plainly: no exponent, no blanks inside, no NaN
    total = plain_decimal(value.strip())
    if total is None or total >= MAX_CONTROL_TOTAL:
        raise Unprocessable(
            "control_total must be a decimal number written like '1234.56'",
            code="validation_failed",
            errors=[FieldError(field="query.control_total", message="not a plain decimal", code="invalid_money")],
        )
    return total


def batch_format(upload: Upload, fmt: Literal["jsonl", "csv"] | None) -> FeedFormat:
    """The batch's format: as asked, else the form's `format` field, the file name or the content type."""
    media = (upload.content_type or "").split(";")[0].strip().lower()
    if (upload.filename or "").lower().endswith(".csv"):
        media = "text/csv"
    chosen = fmt or upload.fields.get("format") or _MEDIA_FORMATS.get(media)
    if chosen not in ("jsonl", "csv"):
        raise Unprocessable(
            "say the format: Content-Type text/csv or application/x-ndjson, or ?format=csv|jsonl",
            code="unsupported_format",
        )
    return cast(FeedFormat, chosen)


def department_or_404(name: str) -> Department:
    try:
        return Department(name)
    except ValueError:
        raise NotFound(
            f"unknown department {name!r}; one of {', '.join(d.value for d in Department)}",
            code="unknown_department",
        ) from None


def check_feeder(principal: Principal, department: Department) -> None:
    """A department_feeder posts only its own department's feed (token claim `department`)."""
    if principal.has_any(Role.ADMIN, Role.SERVICE):
        return
    if principal.department != department.value:
        raise Forbidden(
            f"this token feeds {principal.department or 'no department'}, not {department.value}",
            code="wrong_department",
        )


def _money(value: Decimal) -> str:
    return format(value.quantize(CENT), "f")


def _record_row(
    record: ParsedRecord, *, batch_id: uuid.UUID, county_code: str, department: str, cipher: PiiCipher
) -> dict[str, Any]:
    nid = record.national_id
    return {
        "id": uuid.uuid4(),
        "county_code": county_code,
        "batch_id": batch_id,
        "department": department,
        "source_record_id": record.source_record_id,
        "line_no": record.line_no,
        "kind": record.kind.value,
        "event_date": record.event_date,
        "national_id_enc": cipher.encrypt(nid, purpose="national_id") if nid else None,
        "national_id_index": cipher.blind_index(nid, purpose="national_id") if nid else None,
        "national_id_masked": mask_national_id(nid) if nid else None,
        "household_number": record.household_number,
        "amount": record.amount.quantize(CENT),
        "amounts": {k: _money(v) for k, v in record.amounts.items()},
        "grade": record.grade,
        "details": dict(record.details),
    }


def _prepare(
    content: IO[bytes],
    fmt: FeedFormat,
    department: Department,
    today: Any,
    batch_id: uuid.UUID,
    county_code: str,
    cipher: PiiCipher,
) -> tuple[ParsedBatch, list[dict[str, Any]]]:
    """CPU work (parse, validate, encrypt), run in a worker thread."""
    parsed = parse_batch(content, fmt, department, today)
    rows = [
        _record_row(r, batch_id=batch_id, county_code=county_code, department=department.value, cipher=cipher)
        for r in parsed.records
    ]
    return parsed, rows


def batch_read(row: FeedBatch) -> BatchRead:
    base = f"/v1/feeds/{row.department}/batches/{row.id}"
    return BatchRead(
        id=row.id,
        department=row.department,
        county_code=row.county_code,
        period=row.period,
        format=row.format,
        status=row.status,
        progress=Progress(done=row.progress_done, total=row.progress_total),
        declared_record_count=row.declared_record_count,
        declared_control_total=row.declared_control_total,
        control_total=row.control_total,
        counts=BatchCounts(
            records=row.record_count,
            accepted=row.accepted_count,
            duplicates=row.duplicate_count,
            invalid=row.invalid_count,
            matched=row.matched_count,
            unmatched=row.unmatched_count,
            claim_leads=row.claim_lead_count,
        ),
        errors=[JobError.model_validate(e) for e in row.errors or []],
        result=row.result,
        created_by=row.created_by,
        created_at=row.created_at,
        finished_at=row.finished_at,
        links={"self": base, "records": f"{base}/records", "unmatched": f"{base}/records?unmatched=true"},
    )


def feed_record_read(row: FeedRecord) -> FeedRecordRead:
    return FeedRecordRead(
        id=row.id,
        line=row.line_no,
        source_record_id=row.source_record_id,
        kind=row.kind,
        event_date=row.event_date,
        national_id_masked=row.national_id_masked,
        household_number=row.household_number,
        member_id=row.member_id,
        household_id=row.household_id,
        matched=row.household_id is not None,
        amount=row.amount,
        amounts=row.amounts,
        details=row.details,
    )


class FeedService:
    def __init__(self, session: AsyncSession, ctx: Context) -> None:
        self.session = session
        self.ctx = ctx
        self.repo = FeedRepository(session)
        self.idempotency = Idempotency(idempotency)

    async def receive(
        self,
        principal: Principal,
        department_name: str,
        upload: Upload,
        *,
        fmt: Literal["jsonl", "csv"] | None,
        county_code: str | None,
        record_count: int | None,
        control_total: str | None,
        period: str | None,
        idempotency_key: str | None,
    ) -> BatchRead | Replayed:
        """A batch as posted: its declaration from the query or, for a form, the form's fields."""
        chosen = batch_format(upload, fmt)
        fields = upload.fields
        county = county_code or fields.get("county_code")
        count = record_count if record_count is not None else fields.get("record_count")
        total = control_total if control_total is not None else fields.get("control_total")
        missing = [
            name
            for name, value in (("county_code", county), ("record_count", count), ("control_total", total))
            if value in (None, "")
        ]
        if missing:
            raise Unprocessable(
                "declare the batch: " + ", ".join(missing),
                code="validation_failed",
                errors=[FieldError(field=f"query.{m}", message="required") for m in missing],
            )
        if not (isinstance(county, str) and len(county) == 6 and county.isascii() and county.isdigit()):
            raise Unprocessable(
                "county_code must be 6 digits", errors=[FieldError(field="query.county_code", message="6 digits")]
            )
        if not str(count).isdigit():
            raise Unprocessable(
                "record_count must be an integer ≥ 0",
                errors=[FieldError(field="query.record_count", message="integer ≥ 0")],
            )
        return await self.submit(
            principal,
            department_name,
            county_code=county,
            period=period or fields.get("period"),
            fmt=chosen,
            record_count=int(str(count)),
            control_total=declared_control_total(str(total)),
            content=upload,
            idempotency_key=idempotency_key,
        )

    async def submit(
        self,
        principal: Principal,
        department_name: str,
        *,
        county_code: str,
        period: str | None,
        fmt: FeedFormat,
        record_count: int,
        control_total: Decimal,
        content: Upload,
        idempotency_key: str | None,
    ) -> BatchRead | Replayed:
        """The batch job, or the stored first response on a replay."""

        async def authorize() -> Department:
            department = department_or_404(department_name)
            check_feeder(principal, department)
            require_county_write(principal, county_code)
            return department

        if content.size > self.ctx.settings.feed_max_bytes:
            raise PayloadTooLarge(f"a feed batch may have at most {self.ctx.settings.feed_max_bytes} bytes")
        digest = content.sha256  # computed while the body streamed in
        attempt = await self.idempotency.begin(
            self.session,
            principal,
            route="POST /v1/feeds/{department}/batches",
            resource=department_name,
            key=idempotency_key,
            payload={
                "county_code": county_code,
                "period": period,
                "format": fmt,
                "record_count": record_count,
                "control_total": str(control_total),
                "sha256": digest,
            },
            authorize=authorize,
        )
        if attempt.replay is not None:
            await self.session.rollback()
            return Replayed(attempt.replay)
        department = attempt.checked

        batch_id = uuid.uuid4()
        cipher = self.ctx.cipher()
        try:
            parsed, rows = await asyncio.to_thread(
                _prepare, content.file, fmt, department, self.ctx.today(), batch_id, county_code, cipher
            )
        except ValueError as exc:
            raise Unprocessable(str(exc), code="invalid_batch") from exc

        limit = self.ctx.settings.feed_error_limit
        errors = [
            {
                "line": e.line_no,
                "source_record_id": e.source_record_id,
                "field": e.field,
                "message": e.message,
                "code": e.code,
            }
            for e in parsed.errors[:limit]
        ]
        mismatches = []
        if parsed.record_count != record_count:
            mismatches.append(
                {
                    "line": None,
                    "field": "record_count",
                    "code": "record_count_mismatch",
                    "message": f"declared {record_count} records, the batch has {parsed.record_count}",
                }
            )
        if parsed.control_total != control_total:
            mismatches.append(
                {
                    "line": None,
                    "field": "control_total",
                    "code": "control_total_mismatch",
                    "message": f"declared total {control_total}, the amounts add up to {parsed.control_total}",
                }
            )
        now = self.ctx.now()
        batch: dict[str, Any] = {
            "id": batch_id,
            "county_code": county_code,
            "department": department.value,
            "period": period,
            "format": fmt,
            "declared_record_count": record_count,
            "declared_control_total": control_total,
            "record_count": parsed.record_count,
            "control_total": parsed.control_total,
            "invalid_count": len(parsed.invalid_lines),
            "content_sha256": digest,
            "created_by": principal.sub,
            "created_at": now,
        }
        if mismatches:
            batch.update(
                status="rejected",
                errors=mismatches + errors,
                finished_at=now,
                result={"rejected": True, "reason": [m["code"] for m in mismatches]},
            )
            await self.repo.insert_batch(batch)
            JOB_ROWS.labels("screening", JOB_KIND, "rejected").inc(parsed.record_count)
        else:
            stored_lines = await self._stage(batch, rows)
            duplicates = [r for r in rows if r["line_no"] not in stored_lines]
            dup_list = [{"line": r["line_no"], "source_record_id": r["source_record_id"]} for r in duplicates[:limit]]
            await self.repo.update_batch(
                batch_id,
                accepted_count=len(stored_lines),
                duplicate_count=len(duplicates),
                progress_total=len(stored_lines),
                errors=errors,
                result={"duplicates": dup_list},
            )
        row = await self.repo.batch(batch_id)
        assert row is not None
        await attempt.save(self.session, STORED_JOB_ACCEPTED, batch_read(row).model_dump(mode="json"))
        await Auditor(self.session, SERVICE, principal).record(
            "screening.feed_batch.received",
            "feed_batch",
            batch_id,
            {
                "department": department.value,
                "county_code": county_code,
                "records": parsed.record_count,
                "status": row.status,
            },
        )
        await self.session.commit()
        log.info(
            "screening.feed_batch.received",
            batch_id=str(batch_id),
            department=department.value,
            records=parsed.record_count,
            status=row.status,
        )
        if row.status == "queued":
            await self.ctx.jobs.submit(JOB_KIND, batch_id)  # process_batch (jobs.py registers it)
            row = await self.repo.batch(batch_id)
            assert row is not None
        return batch_read(row)

    async def _stage(self, batch: dict[str, Any], rows: list[dict[str, Any]]) -> set[int]:
        await self.repo.insert_batch({**batch, "status": "queued"})
        return await self.repo.stage_records(rows)

    async def _batch(self, principal: Principal, department_name: str, batch_id: uuid.UUID) -> FeedBatch:
        department = department_or_404(department_name)
        row = await self.repo.batch(batch_id)
        if row is None or row.department != department.value:
            raise NotFound("no such feed batch")
        self._check_read(principal, row)
        return row

    async def get(self, principal: Principal, department_name: str, batch_id: uuid.UUID) -> BatchRead:
        return batch_read(await self._batch(principal, department_name, batch_id))

    def _check_read(self, principal: Principal, row: FeedBatch) -> None:
        require_county_read(principal, row.county_code, "feed batch")
        if (
            principal.has_any(Role.DEPARTMENT_FEEDER)
            and not principal.has_any(Role.COUNTY_OFFICER, Role.AUDITOR, Role.ADMIN)
            and principal.department != row.department
        ):
            raise NotFound("no such feed batch")

    async def list_batches(
        self,
        principal: Principal,
        department_name: str,
        *,
        county_code: str | None,
        cursor: str | None,
        limit: int,
    ) -> Page[BatchRead]:
        department = department_or_404(department_name)
        after = read_cursor(cursor, datetime.fromisoformat, uuid.UUID)
        if (
            principal.has_any(Role.DEPARTMENT_FEEDER)
            and not principal.has_any(Role.COUNTY_OFFICER, Role.AUDITOR, Role.ADMIN)
            and principal.department != department.value
        ):
            return Page[BatchRead](items=[])
        if county_code is not None:
            require_county_read(principal, county_code, "county")
        rows = await self.repo.list_batches(
            department=department.value,
            county_prefix=principal.region[:6],
            county_code=county_code,
            after=after,
            limit=limit + 1,
        )
        return Page[BatchRead](
            items=[batch_read(r) for r in rows[:limit]],
            next_cursor=next_cursor(rows, limit, lambda r: [r.created_at.isoformat(), str(r.id)]),
        )

    async def records(
        self,
        principal: Principal,
        department_name: str,
        batch_id: uuid.UUID,
        *,
        unmatched_only: bool,
        cursor: str | None,
        limit: int,
    ) -> Page[FeedRecordRead]:
        await self._batch(principal, department_name, batch_id)
        after = decode_cursor(cursor, 1)
        after_line = int(after[0]) if after and str(after[0]).isdigit() else None
        rows = await self.repo.records(batch_id, unmatched_only=unmatched_only, after_line=after_line, limit=limit + 1)
        items = [feed_record_read(r) for r in rows[:limit]]
        return Page[FeedRecordRead](items=items, next_cursor=next_cursor(rows, limit, lambda r: [r.line_no]))


async def batch_job(job: JobContext, ctx: Context) -> None:
    """The feed-batch job on the kernel's runner (shared/jobs.py), which holds the job's lock."""
    async with job.session() as session:
        await process_batch(session, ctx, job.job_id)


async def process_batch(session: AsyncSession, ctx: Context, batch_id: uuid.UUID) -> None:
    """The job: match records in SQL, report the unmatched, send claim leads; once per batch
    (a batch no longer queued or running is left alone)."""
    repo = FeedRepository(session)
    batch = await repo.batch(batch_id, for_update=True)
    if batch is None or batch.status not in ("queued", "running"):
        await session.rollback()
        return
    await repo.update_batch(batch_id, status="running", started_at=ctx.now())
    await session.commit()
    try:
        county = batch.county_code
        now = ctx.now()
        await repo.match_batch(batch_id, county, now)
        matched, unmatched = await repo.match_counts(batch_id)
        unmatched_rows = await repo.unmatched(batch_id, ctx.settings.feed_error_limit)
        claim_leads = await repo.enqueue_claim_leads(
            county_code=county,
            reported=ctx.clock.local_date(batch.created_at),
            request_id=request_id_var.get(),
            batch_id=batch_id,
        )
        result = dict(batch.result or {})
        result.update(
            unmatched=[
                {
                    "line": r.line_no,
                    "source_record_id": r.source_record_id,
                    "kind": r.kind,
                    "national_id_masked": r.national_id_masked,
                    "household_number": r.household_number,
                }
                for r in unmatched_rows
            ],
            claim_leads=claim_leads,
        )
        await repo.update_batch(
            batch_id,
            status="succeeded",
            matched_count=matched,
            unmatched_count=unmatched,
            claim_lead_count=claim_leads,
            progress_done=batch.progress_total,
            result=result,
            finished_at=ctx.now(),
        )
        await session.commit()
    except Exception as exc:
        await session.rollback()
        log_failure(log, "screening.feed_batch.failed", exc, batch_id=str(batch_id))
        await repo.update_batch(
            batch_id,
            status="failed",
            finished_at=ctx.now(),
            errors=[
                *batch.errors,
                {
                    "line": None,
                    "field": "batch",
                    "code": "job_failed",
                    "message": f"processing failed ({type(exc).__name__}); submit again",
                },
            ],
        )
        await session.commit()
        JOB_ROWS.labels("screening", JOB_KIND, "failed").inc(batch.accepted_count)
        return
    # the job's duration is observed by the kernel's runner (JOB_DURATION)
    JOB_ROWS.labels("screening", JOB_KIND, "matched").inc(matched)
    JOB_ROWS.labels("screening", JOB_KIND, "unmatched").inc(unmatched)
    log.info(
        "screening.feed_batch.processed",
        batch_id=str(batch_id),
        matched=matched,
        unmatched=unmatched,
        claim_leads=claim_leads,
    )
    if claim_leads:
        ctx.wake_outbox()
