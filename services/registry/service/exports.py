"""Export jobs (导出): the members of a region as CSV or XLSX in the import template's columns.

ID numbers, bank accounts and phones are masked unless the caller asked to reveal them, which
needs a role that may (county officer, admin) and a stated purpose, and is audited. The file is
kept for a day, zlib-compressed and AES-GCM encrypted (it may hold revealed ID numbers), and
streamed back decrypted by `GET /v1/exports/{id}/file` to the caller who made it.
"""

from __future__ import annotations

import asyncio
import base64
import uuid
import zlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.api.schemas import ExportCreate, ExportJobRead
from services.registry.db.export_job_repository import ExportJob, ExportJobRepository, ExportRow
from services.registry.domain.ids import uuid7
from services.registry.domain.import_rows import COLUMNS
from services.registry.domain.model import (
    LABELS_ZH,
    MONITORING_TYPES,
    DibaoClass,
    EducationLevel,
    EducationStage,
    Employment,
    Health,
    HouseholdStatus,
    JoinReason,
    LabourAbility,
    LeaveReason,
    PovertyCause,
    Relation,
    RiskType,
    Sex,
)
from services.registry.service.cadres import CADRE_PHONE
from services.registry.service.common import EXPORT_REVEALERS, SERVICE, may
from shared import spreadsheets
from shared.audit import Auditor
from shared.auth import Principal, Role
from shared.errors import FieldError, Forbidden, NotFound, Unprocessable
from shared.logging import get_logger
from shared.metrics import JOB_ROWS
from shared.pii import PiiCipher

log = get_logger("fangpin.registry.exports")
MONITORED = {s.value for s in MONITORING_TYPES}

EXTRA_HEADERS = (
    ("active", "成员状态"),
    ("left_on", "离开日期"),
    ("leave_reason", "离开原因"),
    ("township_name", "乡镇名称"),
    ("village_name", "村名称"),
)
CONTENT_TYPES = {"csv": spreadsheets.CSV_MEDIA_TYPE, "xlsx": spreadsheets.XLSX_MEDIA_TYPE}
_ENUMS: dict[str, Any] = {
    "household_status": HouseholdStatus,
    "dibao": DibaoClass,
    "sex": Sex,
    "relation": Relation,
    "health": Health,
    "labour_ability": LabourAbility,
    "education_stage": EducationStage,
    "join_reason": JoinReason,
    "leave_reason": LeaveReason,
    "poverty_cause": PovertyCause,
    "education_level": EducationLevel,
    "employment": Employment,
}


def _labels(enum: Any, values: Sequence[str] | None) -> str | None:
    return "、".join(LABELS_ZH[enum].get(v, v) for v in values) if values else None


def _years(values: Sequence[int] | None) -> str | None:
    return "、".join(str(y) for y in sorted(values)) if values else None


def export_not_found() -> NotFound:
    return NotFound("no such export job", code="export_not_found")


def export_read(row: ExportJob) -> ExportJobRead:
    available = row.status == "succeeded" and (row.expires_at is None or row.expires_at > datetime.now(UTC))
    return ExportJobRead(
        id=row.id,
        status=row.status,
        format=row.format,
        region=row.region,
        reveal=row.reveal,
        include_former_members=row.include_former_members,
        row_count=row.row_count,
        filename=row.filename,
        download_url=f"/v1/exports/{row.id}/file" if available else None,
        failure=row.failure,
        created_by=row.created_by,
        created_at=row.created_at,
        finished_at=row.finished_at,
        expires_at=row.expires_at,
    )


def _label(key: str, value: Any) -> Any:
    enum = _ENUMS.get(key)
    if enum is None or value is None:
        return value
    return LABELS_ZH[enum].get(value, value)


def _cells(row: ExportRow, secrets: dict[str, str | None]) -> list[Any]:
    insured = sorted(row.insured_years or [])
    monitored = row.status in MONITORED
    values: dict[str, Any] = {
        "household_number": row.household_number,
        "village_code": row.village_code,
        "address": row.address,
        "phone": secrets.get("phone", row.phone_masked),
        # 户类型 is the base status (一般农户/脱贫户); a monitored household's type is in 监测对象类别
        "household_status": _label("household_status", row.base_status or row.status),
        "bank_account": secrets.get("bank_account", row.bank_account_masked),
        "account_holder": row.account_holder,
        "bank_name": row.bank_name,
        "dibao": _label("dibao", row.dibao),
        "tekun": "是" if row.tekun else "否",
        "insured_year": insured[-1] if insured else None,
        "member_name": row.name,
        "national_id": secrets.get("national_id", row.national_id_masked),
        "sex": _label("sex", row.sex),
        "birth_date": row.birth_date,
        "relation": _label("relation", row.relation),
        "health": _label("health", row.health),
        "disability_grade": row.disability_grade,
        "labour_ability": _label("labour_ability", row.labour_ability),
        "education_stage": _label("education_stage", row.education_stage),
        "school": row.school,
        "join_reason": _label("join_reason", row.join_reason),
        "wage_income": row.wage_income,
        "business_income": row.business_income,
        "property_income": row.property_income,
        "transfer_income": row.transfer_income,
        "production_costs": row.production_costs,
        "income_year": row.income_year,
        "grid_code": row.grid_code,
        "poverty_cause": _label("poverty_cause", row.poverty_cause),
        "other_causes": _labels(PovertyCause, row.other_causes),
        "registered_year": row.registered_year,
        "lifted_out_year": row.lifted_out_year,
        "monitoring_type": _label("household_status", row.status) if monitored else None,
        "monitoring_since": row.monitoring_since if monitored else None,
        "risk_types": _labels(RiskType, row.risk_types) if monitored else None,
        "relocated": "是" if row.relocated else "否",
        "resettlement_site": row.resettlement_site,
        "education_level": _label("education_level", row.education_level),
        "employment": _label("employment", row.employment),
        "months_worked": row.months_worked,
        "medical_insured_years": _years(row.medical_insured_years),
        "pension_insured_years": _years(row.pension_insured_years),
        "cadre_name": row.cadre_name,
        "cadre_work_unit": row.cadre_work_unit,
        "cadre_affiliation": row.cadre_affiliation,
        "cadre_phone": secrets.get("cadre_phone", row.cadre_phone_masked),
        "cadre_start_date": row.cadre_start_date,
        "cadre_end_date": row.cadre_end_date,
        "township_name": row.township_name,
        "village_name": row.village_name,
        "active": "在册" if row.active else "已离开",
        "left_on": row.left_on,
        "leave_reason": _label("leave_reason", row.leave_reason),
    }
    return [values[k] for k in KEYS]


#: The template's columns, then the extra ones; 乡镇名称 and 村名称 (template columns, read on import when 村代码
#: is blank) stay the last two, where the export wrote them before they were template columns.
_NAME_KEYS = ("township_name", "village_name")
KEYS = [c.key for c in COLUMNS if c.key not in _NAME_KEYS] + [k for k, _ in EXTRA_HEADERS]


def headers() -> list[str]:
    by_key = {c.key: c.header_zh for c in COLUMNS} | dict(EXTRA_HEADERS)
    return [by_key[k] for k in KEYS]


def build_file(rows: Sequence[ExportRow], fmt: str, pii: PiiCipher | None) -> bytes:
    """The export file (CPU-bound: a worker thread). `pii` given = reveal (decrypt the secrets).

    Written by shared/spreadsheets.py: text that starts like a formula is neutralised; amounts,
    years and grades are numbers; ID, account and phone numbers stay text.
    """

    def table() -> Iterator[list[Any]]:
        for row in rows:
            secrets: dict[str, str | None] = {}
            if pii is not None:
                if row.national_id_enc is not None:  # always, for a revealing export (the column is NOT NULL)
                    secrets["national_id"] = pii.decrypt(bytes(row.national_id_enc), purpose="national_id")
                secrets["bank_account"] = (
                    pii.decrypt(bytes(row.bank_account_enc), purpose="bank_account") if row.bank_account_enc else None
                )
                secrets["phone"] = pii.decrypt(bytes(row.phone_enc), purpose="phone") if row.phone_enc else None
                secrets["cadre_phone"] = (
                    pii.decrypt(bytes(row.cadre_phone_enc), purpose=CADRE_PHONE) if row.cadre_phone_enc else None
                )
            yield _cells(row, secrets)

    if fmt == "xlsx":
        return spreadsheets.xlsx_bytes([spreadsheets.Sheet("户籍成员", headers(), table())])
    return spreadsheets.csv_bytes(headers(), table())


def seal(pii: PiiCipher, content: bytes) -> bytes:
    return pii.encrypt(base64.b64encode(zlib.compress(content, 6)).decode("ascii"), purpose="export")


def unseal(pii: PiiCipher, blob: bytes) -> bytes:
    return zlib.decompress(base64.b64decode(pii.decrypt(blob, purpose="export")))


@dataclass(frozen=True)
class ExportFile:
    """A finished export, decrypted, for its download."""

    content: bytes
    filename: str
    content_type: str


class ExportService:
    def __init__(
        self,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        pii: PiiCipher,
        principal: Principal,
    ) -> None:
        self.session = session
        self.sessionmaker = sessionmaker
        self.repo = ExportJobRepository(session)
        self.pii = pii
        self.principal = principal

    async def _job(self, job_id: uuid.UUID) -> ExportJob:
        row = await self.repo.get_export_job(job_id)
        if row is None or not self.principal.can_see(row.scope_region):
            raise export_not_found()
        return row

    async def get(self, job_id: uuid.UUID) -> ExportJobRead:
        return export_read(await self._job(job_id))

    async def submit(self, body: ExportCreate, *, ttl_hours: int) -> ExportJobRead:
        if not self.principal.can_see(body.region):
            raise Forbidden("the region is outside yours", code="out_of_scope")
        if body.reveal:
            if not may(self.principal, EXPORT_REVEALERS):
                raise Forbidden(
                    "revealing ID numbers in an export needs the county_officer role", code="role_not_allowed"
                )
            if not body.purpose:
                raise Unprocessable(
                    "a purpose (用途) is required to reveal ID numbers",
                    code="purpose_required",
                    errors=[FieldError(field="purpose", message="required with reveal")],
                )
        await self.repo.purge_expired_exports()
        job_id = uuid7()
        row = await self.repo.insert_export_job(
            {
                "id": job_id,
                "status": "queued",
                "format": body.format,
                "region": body.region,
                "county_code": body.region[:6] if len(body.region) >= 6 else None,
                "reveal": body.reveal,
                "purpose": body.purpose,
                "include_former_members": body.include_former_members,
                "created_by": self.principal.sub,
                "scope_region": self.principal.region,
                "expires_at": datetime.now(UTC) + timedelta(hours=ttl_hours),
            }
        )
        await Auditor(self.session, SERVICE, self.principal).record(
            action="export.submit",
            resource_type="export_job",
            resource_id=str(job_id),
            detail={"region": body.region, "format": body.format, "reveal": body.reveal, "purpose": body.purpose},
        )
        await self.session.commit()
        return export_read(row)

    async def run(self, job_id: uuid.UUID) -> None:
        """Write the file. Never raises for a failure: it ends in the job row (the runner times the job)."""
        try:
            await self._run(job_id)
        except asyncio.CancelledError:
            await self._fail(job_id, "interrupted: the service stopped; request the export again")
            raise
        except Exception as exc:
            log.error("registry.export.failed", job_id=str(job_id), error_type=type(exc).__name__)
            await self._fail(job_id, "the export failed unexpectedly")

    async def _fail(self, job_id: uuid.UUID, message: str) -> None:
        try:
            async with self.sessionmaker() as session:
                await ExportJobRepository(session).update_export_job(
                    job_id, {"status": "failed", "failure": message, "finished_at": datetime.now(UTC)}
                )
                await session.commit()
        except Exception as exc:
            log.error("registry.export.fail_record_failed", job_id=str(job_id), error_type=type(exc).__name__)

    async def _run(self, job_id: uuid.UUID) -> None:
        async with self.sessionmaker() as session:
            repo = ExportJobRepository(session)
            job = await repo.get_export_job(job_id)
            if job is None:
                return
            await repo.update_export_job(job_id, {"status": "running"})
            await session.commit()
            rows = [
                r
                async for r in repo.export_rows(
                    region_prefix=job.region,
                    include_former=job.include_former_members,
                    with_secrets=job.reveal,
                )
            ]
            content = await asyncio.to_thread(build_file, rows, job.format, self.pii if job.reveal else None)
            sealed = await asyncio.to_thread(seal, self.pii, content)
            stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
            filename = f"registry-{job.region}-{stamp}{'-revealed' if job.reveal else ''}.{job.format}"
            await repo.update_export_job(
                job_id,
                {
                    "status": "succeeded",
                    "row_count": len(rows),
                    "filename": filename,
                    "content_type": CONTENT_TYPES[job.format],
                    "content_enc": sealed,
                    "finished_at": datetime.now(UTC),
                },
            )
            await Auditor(session, SERVICE, self.principal).record(
                action="export.reveal" if job.reveal else "export.complete",
                resource_type="export_job",
                resource_id=str(job_id),
                detail={"region": job.region, "rows": len(rows), "reveal": job.reveal, "purpose": job.purpose},
            )
            await session.commit()
        JOB_ROWS.labels(SERVICE, "export", "exported").inc(len(rows))

    async def download(self, job_id: uuid.UUID) -> ExportFile:
        job = await self._job(job_id)
        if job.reveal and job.created_by != self.principal.sub and Role.ADMIN not in self.principal.roles:
            raise export_not_found()
        full = await self.repo.get_export_job(job_id, with_content=True)
        if (
            full is None
            or full.status != "succeeded"
            or full.content_enc is None
            or (full.expires_at is not None and full.expires_at <= datetime.now(UTC))
        ):
            raise NotFound(
                "the export file is not available (not ready, failed or expired)", code="export_not_available"
            )
        content = await asyncio.to_thread(unseal, self.pii, bytes(full.content_enc))
        if job.reveal:
            await Auditor(self.session, SERVICE, self.principal).record(
                action="export.download",
                resource_type="export_job",
                resource_id=str(job_id),
                detail={"region": job.region, "reveal": True},
            )
            await self.session.commit()
        return ExportFile(content, str(full.filename), str(full.content_type))
