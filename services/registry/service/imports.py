"""Bulk import jobs (批量导入): CSV or XLSX in the documented template, one row per member.

`submit` checks the request, stores the job row and the idempotency key, and commits: from then
on the job exists for `GET /v1/imports/{id}` even if the work fails. `run` does the work in its
own transactions: parse and validate every row (domain/import_rows.py), check the rows against
the database (villages in the region tree and in the caller's region, household numbers not yet
registered, people not active elsewhere), then write everything with COPY in one transaction
together with the job's result, the row errors and one audit record.

Modes: `all_or_nothing` imports nothing when any row has an error; `valid_rows` imports every
valid row (a household whose own fields are invalid is skipped whole; a household whose head's
row is rejected is imported without a head and counted in `households_without_head`).
Households are created, never merged: a household number already registered is a row error.

The file is not held whole in memory: `read_upload`'s spool (an anonymous temporary file,
shared/limits.py `Upload`) is hashed while it streams in, scanned in chunks, and parsed from
disk (openpyxl read-only, CSV through a text wrapper). A large CSV (at least twice
`import_parallel_min_bytes`) is cut into byte ranges, read by position, that `ParsePool`'s
processes parse from the spool (opened by its descriptor under /proc) at the same time as the
job's thread parses the first (domain/import_parts.py; the result is the whole file's, or the
file is parsed whole).
The job takes the spool over and closes it when it ends, however it ends; the file has no
name on disk, so a crash leaves nothing behind (and the job is failed at the next start,
services/registry/jobs.py).
Only the first `import_max_stored_errors` errors are ever kept, in the parser too; all are counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import ctypes.util
import gc
import math
import multiprocessing
import os
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from functools import partial
from typing import IO, Any

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.registry.api.schemas import (
    ImportJobRead,
    ImportResult,
    ImportRowError,
    JobProgress,
)
from services.registry.db.household_repository import HouseholdRepository
from services.registry.db.import_job_repository import ImportJob, ImportJobError, ImportJobRepository
from services.registry.db.regions_repository import RegionRepository
from services.registry.db.tables import idempotency
from services.registry.domain.ids import uuid7
from services.registry.domain.import_parts import (
    CsvPart,
    PartResult,
    merge_parts,
    parse_part,
    split_csv,
    spool_path,
)
from services.registry.domain.import_rows import (
    ErrorLog,
    InvalidImportFile,
    MemberRow,
    ParseResult,
    RowError,
    Village,
    VillageDirectory,
    Villages,
    parse_rows,
    read_csv,
    read_xlsx,
)
from services.registry.service import bulk
from services.registry.service.common import SERVICE, Created
from shared.audit import Auditor
from shared.auth import Principal
from shared.clock import BusinessClock
from shared.contracts.vocabulary import mask_household_number
from shared.errors import NotFound, PayloadTooLarge, Unprocessable
from shared.idempotency import Idempotency, no_checks
from shared.jobs import xact_lock
from shared.limits import Upload
from shared.logging import get_logger, request_id_var
from shared.metrics import JOB_ROWS
from shared.pagination import Page, decode_cursor, encode_cursor
from shared.pii import PiiCipher
from shared.spreadsheets import XlsxLimits, XlsxRefused, check_xlsx_archive

log = get_logger("fangpin.registry.imports")
keys = Idempotency(idempotency)

ERRORS_IN_JOB = 100
XLSX_TYPES = ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",)


@dataclass(frozen=True)
class ImportLimits:
    """Bounds on the work one import may cause (settings `import_max_*`; docs/operations.md)."""

    max_rows: int = 200_000  # rows read from the file (header and blank rows included)
    max_stored_errors: int = 1_000  # row errors kept for GET …/errors; all are counted in error_count
    xlsx: XlsxLimits = field(default_factory=XlsxLimits)


def import_limits(settings: Any) -> ImportLimits:
    """The limits from the registry settings (`FANGPIN_REGISTRY_IMPORT_MAX_*`)."""
    return ImportLimits(
        max_rows=settings.import_max_rows,
        max_stored_errors=settings.import_max_stored_errors,
        xlsx=XlsxLimits(
            max_expanded_bytes=settings.import_max_expanded_bytes,
            max_member_bytes=settings.import_max_part_bytes,
            max_shared_strings_bytes=settings.import_max_shared_strings_bytes,
            max_ratio=settings.import_max_compression_ratio,
        ),
    )


class ParsePool:
    """Processes that parse the later parts of a large CSV import (`import_parse_processes`) while
    the job's thread parses the first: on two cores the parse, the longest phase of an import, takes
    about half as long. Started with `spawn` (a fresh interpreter: nothing of the service's threads,
    connections or keys is inherited) when first needed, or at start-up by `warm`; a pool whose
    process died is replaced at the next import. The parts' results come back pickled."""

    def __init__(self, processes: int) -> None:
        self.processes = processes
        self._executor: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()

    def executor(self) -> ProcessPoolExecutor | None:
        if self.processes <= 0:
            return None
        with self._lock:
            if self._executor is None:
                self._executor = ProcessPoolExecutor(
                    self.processes, mp_context=multiprocessing.get_context("spawn"), initializer=_parse_worker_start
                )
            return self._executor

    def warm(self) -> None:
        """Start the processes now (they import the parser), not at the first large import."""
        executor = self.executor()
        if executor is not None:
            for _ in range(self.processes):
                executor.submit(_parse_worker_ready).add_done_callback(_log_ready)

    def discard(self, executor: ProcessPoolExecutor) -> None:
        """Forget a broken pool (a process died): the next import starts a new one."""
        with self._lock:
            if self._executor is executor:
                self._executor = None
        executor.shutdown(wait=False, cancel_futures=True)

    def shutdown(self) -> None:
        with self._lock:
            executor, self._executor = self._executor, None
        if executor is not None:
            executor.shutdown(wait=True, cancel_futures=True)


def usable_cpus(cgroup: str = "/sys/fs/cgroup") -> float:
    """The CPUs this process may use: those it may run on (its affinity), capped by its cgroup's
    CPU quota where there is one (a container's CPU limit: cgroup v2 `cpu.max`, or v1's
    `cpu.cfs_quota_us` over `cpu.cfs_period_us`)."""
    cpus = float(len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    for quota_file, period_file in (("cpu.max", None), ("cpu/cpu.cfs_quota_us", "cpu/cpu.cfs_period_us")):
        try:
            with open(os.path.join(cgroup, quota_file), encoding="ascii") as file:
                fields = file.read().split()
            if period_file is not None:
                with open(os.path.join(cgroup, period_file), encoding="ascii") as file:
                    fields.append(file.read().strip())
        except (OSError, UnicodeDecodeError):
            continue
        try:
            quota, period = int(fields[0]), int(fields[1])
        except (IndexError, ValueError):  # "max": no quota
            break
        if quota > 0 and period > 0:
            cpus = min(cpus, quota / period)
        break
    return cpus


def default_parse_processes(cgroup: str = "/sys/fs/cgroup") -> int:
    """`import_parse_processes` when it is not set: one parse process where the service has two
    whole CPUs or more, none where it has less (a second process would only share the one)."""
    return 1 if math.floor(usable_cpus(cgroup)) >= 2 else 0


def _parse_worker_start() -> None:
    # The parse makes hundreds of thousands of objects without cycles, then pickles them: with the
    # collector on, its passes cost more than the pickling (measured 1.4 s against 0.5 s for
    # 50,000 rows). A worker does nothing else; what a part leaves is freed by reference counts.
    gc.disable()


def _parse_worker_ready() -> int:
    return multiprocessing.current_process().pid or 0


def _log_ready(done: Future[int]) -> None:
    if not done.cancelled() and done.exception() is None:
        log.info("registry.import.parse_pool_ready", pid=done.result())


class TooManyRows(InvalidImportFile):
    code = "too_many_rows"

    def __init__(self, limit: int, row_number: int) -> None:
        super().__init__(f"the file has more than {limit} rows; split it into files of at most {limit}")
        self.row_number = row_number


def release_memory() -> None:
    """After a job: collect what it left and hand freed heap pages back to the system (glibc)."""
    gc.collect()
    if _libc is not None:
        with contextlib.suppress(Exception):
            _libc.malloc_trim(0)


def _load_libc() -> ctypes.CDLL | None:
    name = ctypes.util.find_library("c")
    try:
        libc = ctypes.CDLL(name) if name else None
    except OSError:
        return None
    return libc if libc is not None and hasattr(libc, "malloc_trim") else None


_libc = _load_libc()


def detect_format(head: bytes, filename: str | None, content_type: str | None, explicit: str | None) -> str:
    """The file's format: as asked, else from its first bytes (`head`: a zip), its name, its type."""
    if explicit:
        return explicit
    if head[:4] == b"PK\x03\x04":
        return "xlsx"
    if filename and filename.lower().endswith(".xlsx"):
        return "xlsx"
    if content_type and content_type.split(";")[0].strip() in XLSX_TYPES:
        return "xlsx"
    return "csv"


def import_not_found() -> NotFound:
    return NotFound("no such import job", code="import_not_found")


def job_read(row: ImportJob, errors: Sequence[ImportJobError]) -> ImportJobRead:
    result = ImportResult.model_validate(row.result) if row.result else None
    return ImportJobRead(
        id=row.id,
        status=row.status,
        mode=row.mode,
        format=row.format,
        filename=row.filename,
        file_sha256=row.file_sha256,
        file_bytes=row.file_bytes,
        progress=JobProgress(phase=row.phase, done=row.processed_rows, total=row.total_rows),
        error_count=row.error_count,
        errors=[error_read(e) for e in errors],
        result=result,
        failure=row.failure,
        created_by=row.created_by,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def error_read(row: ImportJobError) -> ImportRowError:
    return ImportRowError(row=row.row_number, column=row.column_key, message=row.message, code=row.code)


class _Counter:
    """Counts rows as the parser pulls them (read from the event loop for progress); stops the
    parse with `TooManyRows` at the first row beyond the bound (header: row 1)."""

    def __init__(self, rows: Iterable[Sequence[str]], max_rows: int) -> None:
        self._rows = iter(rows)
        self._max = max_rows + 1  # the header row is not a data row
        self.count = 0

    def __iter__(self) -> Iterator[Sequence[str]]:
        for row in self._rows:
            self.count += 1
            if self.count > self._max:
                raise TooManyRows(self._max - 1, self.count)
            yield row


@dataclass(frozen=True)
class FileFacts:
    """What a pass over the file in chunks tells before parsing."""

    newlines: int
    has_nul: bool
    blank: bool  # nothing but whitespace


_SCAN_CHUNK = 1024 * 1024


def scan_file(source: bytes | IO[bytes]) -> FileFacts:
    """Count lines and look for NUL and content, a chunk at a time (the file is left at the start)."""
    if isinstance(source, bytes | bytearray):
        return FileFacts(source.count(b"\n"), b"\x00" in source, not source.strip())
    newlines, nul, blank = 0, False, True
    source.seek(0)
    while chunk := source.read(_SCAN_CHUNK):
        newlines += chunk.count(b"\n")
        nul = nul or b"\x00" in chunk
        blank = blank and not chunk.strip()
    source.seek(0)
    return FileFacts(newlines, nul, blank)


@dataclass
class Parsed:
    result: ParseResult | None
    failure: str | None = None
    error: RowError | None = None  # the one error a refused file is reported with (too_many_rows)


def parse_file(
    source: bytes | IO[bytes],
    fmt: str,
    day: date,
    counter_box: list[_Counter],
    limits: ImportLimits | None = None,
    villages: Villages = None,
) -> Parsed:
    """Read and validate the file, bytes or a binary file read as it goes (CPU-bound: a worker thread)."""
    limits = limits or ImportLimits()
    try:
        if fmt == "xlsx":
            check_xlsx_archive(source, limits.xlsx)  # before any XML parser sees a part
        rows = read_xlsx(source) if fmt == "xlsx" else read_csv(source)
        counter = _Counter(rows, limits.max_rows)
        counter_box.append(counter)
        return Parsed(parse_rows(counter, today=day, max_errors=limits.max_stored_errors, villages=villages))
    except TooManyRows as exc:
        log.info("registry.import.too_many_rows", format=fmt, limit=limits.max_rows)
        return Parsed(None, f"the file cannot be read: {exc}", RowError(exc.row_number, None, str(exc), exc.code))
    except XlsxRefused as exc:
        log.info("registry.import.xlsx_refused", code=exc.code)
        error = RowError(1, None, str(exc), exc.code) if exc.code != "invalid_file" else None
        return Parsed(None, f"the file cannot be read: {exc}", error)
    except InvalidImportFile as exc:
        log.info("registry.import.unreadable", format=fmt)
        return Parsed(None, f"the file cannot be read: {exc}")
    except Exception as exc:  # a file we cannot read is the job's failure, not the service's
        log.warning("registry.import.unreadable", format=fmt, error_type=type(exc).__name__)
        if fmt == "xlsx":
            return Parsed(None, "the file is not a readable XLSX workbook")
        return Parsed(None, "the file is not a readable CSV (UTF-8 or GB18030, comma-separated)")


def _has_nul(row: MemberRow) -> str | None:
    for column, value in (
        ("member_name", row.member_name),
        ("school", row.school),
        ("address", row.household.address),
        ("household_number", row.household.household_number),
    ):
        if value is not None and "\x00" in value:
            return column
    return None


class ImportService:
    def __init__(
        self,
        session: AsyncSession,
        sessionmaker: async_sessionmaker[AsyncSession],
        pii: PiiCipher,
        principal: Principal,
        limits: ImportLimits | None = None,
        clock: BusinessClock | None = None,
        parse_pool: ParsePool | None = None,
        parallel_min_bytes: int = 4 * 1024 * 1024,
    ) -> None:
        self.parse_pool = parse_pool
        self.parallel_min_bytes = parallel_min_bytes
        self.clock = clock or BusinessClock()
        self.session = session
        self.sessionmaker = sessionmaker
        self.repo = ImportJobRepository(session)
        self.pii = pii
        self.principal = principal
        self.limits = limits or ImportLimits()

    # ------------------------------------------------------------------ reads

    async def _job(self, job_id: uuid.UUID) -> ImportJob:
        row = await self.repo.get_import_job(job_id)
        if row is None or not self.principal.can_see(row.scope_region):
            raise import_not_found()
        return row

    async def get(self, job_id: uuid.UUID) -> ImportJobRead:
        row = await self._job(job_id)
        errors = await self.repo.import_errors(job_id, after_seq=0, limit=ERRORS_IN_JOB)
        return job_read(row, errors)

    async def errors(self, job_id: uuid.UUID, *, cursor: str | None, limit: int) -> Page[ImportRowError]:
        await self._job(job_id)
        after = decode_cursor(cursor, 1)
        after_seq = int(after[0]) if after and isinstance(after[0], int) else 0
        rows = await self.repo.import_errors(job_id, after_seq=after_seq, limit=limit + 1)
        items = [error_read(r) for r in rows[:limit]]
        next_cursor = encode_cursor([rows[limit - 1].seq]) if len(rows) > limit else None
        return Page[ImportRowError](items=items, next_cursor=next_cursor)

    async def list_jobs(self, *, limit: int) -> list[ImportJobRead]:
        rows = await self.repo.list_import_jobs(scope_prefix=self.principal.region, before=None, limit=limit)
        return [job_read(r, []) for r in rows]

    # ------------------------------------------------------------------ submit

    async def submit(
        self,
        upload: Upload,
        *,
        filename: str | None,
        fmt: str,
        mode: str,
        idempotency_key: str | None,
        max_bytes: int,
    ) -> Created[ImportJobRead]:
        """Create the job (committed). A replay of the caller's key answers the first job (not created).

        The upload stays the caller's (it is read, never closed here)."""
        if upload.size > max_bytes:
            raise PayloadTooLarge(f"the file is larger than {max_bytes} bytes", code="payload_too_large")
        if upload.size == 0 or (await asyncio.to_thread(scan_file, upload.file)).blank:
            raise Unprocessable("the file is empty", code="empty_file")
        if fmt == "xlsx":
            # From the zip directory alone: a small file that would expand beyond the bounds
            # (an "XLSX bomb") is refused before a job exists. An unreadable zip fails its job.
            try:
                await asyncio.to_thread(check_xlsx_archive, upload.file, self.limits.xlsx)
            except XlsxRefused as exc:
                if exc.code != "invalid_file":
                    raise PayloadTooLarge(str(exc), code=exc.code) from None
        digest = upload.sha256  # computed while the body streamed in
        # the Importer dependency checked the role; the job is the caller's (key scope: sub@region)
        attempt = await keys.begin(
            self.session,
            self.principal,
            route="POST /v1/imports",
            key=idempotency_key,
            payload={"sha256": digest, "mode": mode, "format": fmt},
            authorize=no_checks,
        )
        if attempt.replay is not None:
            job_id = uuid.UUID(str(attempt.replay.body["id"]))
            await self.session.commit()
            return Created(await self.get(job_id), created=False, replayed=True)
        job_id = uuid7()
        row = await self.repo.insert_import_job(
            {
                "id": job_id,
                "status": "queued",
                "mode": mode,
                "format": fmt,
                "filename": (filename or "")[:200] or None,
                "file_sha256": digest,
                "file_bytes": upload.size,
                "scope_region": self.principal.region,
                "created_by": self.principal.sub,
                "phase": "queued",
            }
        )
        await attempt.save(self.session, 202, {"id": str(job_id)})
        await Auditor(self.session, SERVICE, self.principal).record(
            action="import.submit",
            resource_type="import_job",
            resource_id=str(job_id),
            detail={"mode": mode, "format": fmt, "file_sha256": digest, "bytes": upload.size},
        )
        await self.session.commit()
        return Created(job_read(row, []))

    # ------------------------------------------------------------------ run

    async def run(self, job_id: uuid.UUID, upload: Upload, *, fmt: str, mode: str) -> None:
        """Do the import. Never raises for bad input: every outcome ends in the job row.

        The job owns `upload` and closes it (the temporary file is gone then) whatever happens."""
        try:
            # The parse makes a million-odd long-lived objects; with the cyclic collector on, its first
            # passes afterwards re-examine all of them (measured: over a second for 100,000 rows). They
            # hold no cycles and die with the job, so the collector waits until the job is done.
            with bulk.collector_paused():
                await self._run(job_id, upload, fmt=fmt, mode=mode)
        except asyncio.CancelledError:
            await self._fail(job_id, "interrupted: the service stopped; submit it again")
            raise
        except Exception as exc:
            log.error("registry.import.failed", job_id=str(job_id), error_type=type(exc).__name__)
            await self._fail(job_id, "the import failed unexpectedly; nothing was imported")
        finally:
            with contextlib.suppress(Exception):
                upload.close()
            release_memory()  # the parse's objects are gone: give their memory back

    async def _update(self, job_id: uuid.UUID, **values: Any) -> None:
        async with self.sessionmaker() as session:
            await ImportJobRepository(session).update_import_job(job_id, values)
            await session.commit()

    async def _fail(self, job_id: uuid.UUID, message: str) -> None:
        try:
            await self._update(job_id, status="failed", phase="done", failure=message, finished_at=datetime.now(UTC))
        except Exception as exc:
            log.error("registry.import.fail_record_failed", job_id=str(job_id), error_type=type(exc).__name__)

    async def _run(self, job_id: uuid.UUID, upload: Upload, *, fmt: str, mode: str) -> None:
        day = self.clock.today()
        facts = await asyncio.to_thread(scan_file, upload.file) if fmt == "csv" else None
        estimate = max(facts.newlines - 1, 0) if facts is not None else None
        await self._update(job_id, status="running", phase="parsing", started_at=datetime.now(UTC), total_rows=estimate)
        timings: dict[str, float] = {}
        cpu: dict[str, float] = {}
        mark, cpu_mark = time.perf_counter(), time.process_time()
        box: list[_Counter] = []
        stop = asyncio.Event()
        ticker = asyncio.create_task(self._tick(job_id, box, stop))
        loop = asyncio.get_running_loop()

        def villages() -> VillageDirectory:
            # called from the parser's thread, only when a household names its village (村名称) without a code
            return asyncio.run_coroutine_threadsafe(self._villages(), loop).result(timeout=120)

        try:
            parsed = None
            if fmt == "csv" and facts is not None and facts.newlines <= self.limits.max_rows:
                parsed = await self._parse_in_parts(upload, day, box)  # None: not cut, parse it whole
            if parsed is None:
                box.clear()
                parsed = await asyncio.to_thread(parse_file, upload.file, fmt, day, box, self.limits, villages)
        finally:
            stop.set()
            await ticker
        # PostgreSQL text cannot hold NUL: look row by row only when the file has one (XLSX cannot).
        may_hold_nul = facts is not None and facts.has_nul
        upload.close()  # the plain file is not needed any more
        timings["parse"] = time.perf_counter() - mark
        cpu["parse"] = time.process_time() - cpu_mark
        if parsed.result is None:
            await self._finish_failed(
                job_id,
                parsed.failure or "unreadable file",
                [parsed.error] if parsed.error else [],
                total=box[0].count - 1 if box and parsed.error else 0,
            )
            return
        result = parsed.result
        header_errors = [e for e in result.errors if e.row_number == 1]
        if header_errors or result.total_rows == 0:
            failure = "the file does not follow the import template" if header_errors else "the file has no data rows"
            await self._finish_failed(
                job_id, failure, result.errors, total=result.total_rows, error_total=result.total_errors
            )
            return
        await self._update(job_id, phase="checking", total_rows=result.total_rows, processed_rows=result.total_rows)

        rows = result.rows
        extra = ErrorLog(self.limits.max_stored_errors)
        nul_rows = set()
        if may_hold_nul:
            for row in rows:
                column = _has_nul(row)
                if column is not None:
                    extra.add(RowError(row.row_number, column, "contains a NUL character", "invalid_character"))
                    nul_rows.add(row.row_number)
            rows = [r for r in rows if r.row_number not in nul_rows]
        # The blind indexes are computed (worker thread) while the database checks the households.
        mark, cpu_mark = time.perf_counter(), time.process_time()
        indexing = asyncio.ensure_future(asyncio.to_thread(bulk.blind_indexes, self.pii, [r.national_id for r in rows]))
        history = bulk.HistoryContext(
            actor=self.principal, request_id=request_id_var.get(), reason=f"import {job_id}", on=day
        )
        planning: asyncio.Future[bulk.BulkPlan] | None = None
        try:
            async with self.sessionmaker() as session:
                repo = HouseholdRepository(session)
                jobs = ImportJobRepository(session)
                # One import at a time: rows are checked against the database, then written.
                await xact_lock(session, "registry.import")  # the kernel's lock
                groups = bulk.group_by_household(rows)
                db_errors, rejected = await self._check_households(repo, rows, groups)
                indexes = await indexing
                if not (mode == "all_or_nothing" and (result.errors or extra or db_errors)):
                    # Plan the writes (ids, households, history; worker thread) while the database
                    # checks the people; rarely, a person is active elsewhere and it is planned again.
                    candidates = [p for p, row in enumerate(rows) if row.row_number not in rejected]
                    planning = asyncio.ensure_future(
                        asyncio.to_thread(
                            bulk.plan_records,
                            [rows[p] for p in candidates],
                            [indexes[p] for p in candidates],
                            pii=self.pii,
                            job_id=job_id,
                            history=history,
                        )
                    )
                people_errors, people_rejected = await self._check_people(repo, rows, indexes, rejected)
                timings["check"] = time.perf_counter() - mark
                cpu["check"] = time.process_time() - cpu_mark
                db_errors.merge(people_errors)
                rejected |= people_rejected
                # Every error is counted; only the first ones are kept (a file of junk rows makes
                # twenty per row): each part kept its own first ones, so the first of all are among them.
                merged = ErrorLog(self.limits.max_stored_errors)
                merged.extend(result.errors)
                merged.count = result.total_errors
                merged.merge(extra)
                merged.merge(db_errors)
                error_total = merged.count
                errors = merged.first()
                result.errors.clear()
                rejected_rows = set(result.invalid_row_numbers) | nul_rows | rejected
                if errors and mode == "all_or_nothing":
                    await session.rollback()
                    await self._finish_failed(
                        job_id,
                        f"{len(rejected_rows)} rows have errors; nothing was imported (all_or_nothing)",
                        errors,
                        total=result.total_rows,
                        rejected=len(rejected_rows),
                        error_total=error_total,
                    )
                    return
                await self._update(job_id, phase="writing")  # its own short transaction: visible now
                mark, cpu_mark = time.perf_counter(), time.process_time()
                plan = await planning if planning is not None else None
                if plan is None or people_rejected:
                    keep = [p for p, row in enumerate(rows) if row.row_number not in rejected]
                    plan = await asyncio.to_thread(
                        bulk.plan_records,
                        [rows[p] for p in keep],
                        [indexes[p] for p in keep],
                        pii=self.pii,
                        job_id=job_id,
                        history=history,
                    )
                written = await bulk.write_plan(repo, plan)
                timings["write"] = time.perf_counter() - mark
                cpu["write"] = time.process_time() - cpu_mark
                stored = await self._write_errors(jobs, job_id, errors)
                summary = ImportResult(
                    imported_households=written.households,
                    imported_members=written.members,
                    rejected_rows=len(rejected_rows),
                    total_rows=result.total_rows,
                    households_without_head=written.households_without_head,
                    stored_errors=stored,
                )
                await jobs.update_import_job(
                    job_id,
                    {
                        "status": "succeeded",
                        "phase": "done",
                        "processed_rows": result.total_rows,
                        "error_count": error_total,
                        "imported_households": summary.imported_households,
                        "imported_members": summary.imported_members,
                        "result": summary.model_dump(),
                        "finished_at": datetime.now(UTC),
                    },
                )
                await Auditor(session, SERVICE, self.principal).record(
                    action="import.complete",
                    resource_type="import_job",
                    resource_id=str(job_id),
                    detail={"mode": mode, **summary.model_dump()},
                )
                if written.monitored:
                    # 监测对象 brought over from the national system: a migration, recorded as such
                    job = await jobs.get_import_job(job_id)
                    await Auditor(session, SERVICE, self.principal).record(
                        action="import.migrate_monitoring",
                        resource_type="import_job",
                        resource_id=str(job_id),
                        detail={
                            "monitored_households": written.monitored,
                            "filename": job.filename if job else None,
                            "file_sha256": job.file_sha256 if job else None,
                            "submitted_at": job.created_at.isoformat() if job else None,
                        },
                    )
                mark, cpu_mark = time.perf_counter(), time.process_time()
                await session.commit()
                timings["commit"] = time.perf_counter() - mark
                cpu["commit"] = time.process_time() - cpu_mark
        finally:
            for future in (indexing, planning):
                if future is not None and not future.done():
                    await asyncio.wait([future])
        JOB_ROWS.labels(SERVICE, "import", "imported").inc(summary.imported_members)
        JOB_ROWS.labels(SERVICE, "import", "rejected").inc(summary.rejected_rows)
        log.info(
            "registry.import.succeeded",
            job_id=str(job_id),
            households=summary.imported_households,
            members=summary.imported_members,
            rejected_rows=summary.rejected_rows,
            seconds={k: round(v, 3) for k, v in timings.items()},
            cpu_seconds={k: round(v, 3) for k, v in cpu.items()},
        )

    async def _parse_in_parts(self, upload: Upload, day: date, box: list[_Counter]) -> Parsed | None:
        """A large CSV parsed in parts at once (`ParsePool`); None when it is not cut, or its parts
        cannot stand for the whole (domain/import_parts.py): the caller then parses it whole.
        The caller made sure the file has no more lines than `max_rows`."""
        pool = self.parse_pool
        executor = pool.executor() if pool is not None else None
        if pool is None or executor is None or upload.size < 2 * self.parallel_min_bytes:
            return None
        path = spool_path(upload.file)
        if path is None:
            return None
        split = await asyncio.to_thread(
            split_csv, upload.file, pool.processes + 1, min_part_bytes=self.parallel_min_bytes
        )
        if split is None:
            return None
        villages = await self._villages() if split.names_villages else None
        max_errors = self.limits.max_stored_errors
        loop = asyncio.get_running_loop()
        started = time.perf_counter()
        # Paused until the parts' results are unpickled (the executor's thread does it): with the
        # collector on, its passes over the rows already parsed cost more than the unpickling.
        with bulk.collector_paused():
            try:
                later = [
                    loop.run_in_executor(
                        executor,
                        partial(
                            parse_part,
                            part,
                            split.encoding,
                            source=path,
                            today=day,
                            max_errors=max_errors,
                            villages=villages,
                        ),
                    )
                    for part in split.parts[1:]
                ]
            except (BrokenProcessPool, RuntimeError) as exc:  # a process died since the last import; shut down
                pool.discard(executor)
                log.warning("registry.import.parse_pool_unusable", error_type=type(exc).__name__)
                return None
            first = await asyncio.to_thread(
                self._parse_first_part, split.parts[0], path, split.encoding, day, max_errors, villages, box
            )
            outcome = await asyncio.gather(*later, return_exceptions=True)
            failures = [r for r in outcome if isinstance(r, BaseException)]
            if failures or first is None:
                if any(isinstance(f, BrokenProcessPool) for f in failures):
                    pool.discard(executor)
                log.warning(
                    "registry.import.parts_failed",
                    error_types=sorted({type(f).__name__ for f in failures}) or None,
                    first_part_failed=first is None,
                )
                return None
            merged = merge_parts([first, *(r for r in outcome if isinstance(r, PartResult))], max_errors)
        log.info(
            "registry.import.parsed_in_parts",
            parts=len(split.parts),
            merged=merged is not None,
            seconds=round(time.perf_counter() - started, 3),
        )
        return Parsed(merged) if merged is not None else None

    def _parse_first_part(
        self,
        part: CsvPart,
        path: str,
        encoding: str,
        day: date,
        max_errors: int,
        villages: VillageDirectory | None,
        box: list[_Counter],
    ) -> PartResult | None:
        """The job thread's part (its rows are counted for the progress); None if it does not parse."""
        try:
            return parse_part(
                part,
                encoding,
                source=path,
                today=day,
                max_errors=max_errors,
                villages=villages,
                count=lambda rows: self._counted(rows, box),
            )
        except Exception as exc:  # whatever it is, the whole file's parse reports it
            log.info("registry.import.first_part_unparsed", error_type=type(exc).__name__)
            return None

    def _counted(self, rows: Iterable[Sequence[str]], box: list[_Counter]) -> Iterable[Sequence[str]]:
        counter = _Counter(rows, self.limits.max_rows)
        box.append(counter)
        return counter

    async def _villages(self) -> VillageDirectory:
        """The villages of the caller's region, for the villages given by name (村名称, 乡镇名称)."""
        async with self.sessionmaker() as session:
            rows = await RegionRepository(session).villages_with_townships(self.principal.region)
        return VillageDirectory(Village(code, name, township) for code, name, township in rows)

    async def _tick(self, job_id: uuid.UUID, box: list[_Counter], stop: asyncio.Event) -> None:
        """Progress while the parser runs: rows read so far, every half second."""
        last = -1
        while not stop.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), 0.5)
            if stop.is_set():
                return
            done = box[0].count if box else 0
            if done != last:
                last = done
                try:
                    await self._update(job_id, processed_rows=done)
                except Exception as exc:  # progress is best effort
                    log.warning("registry.import.progress_failed", error_type=type(exc).__name__)

    async def _check_households(
        self, repo: HouseholdRepository, rows: Sequence[MemberRow], groups: dict[str, list[int]]
    ) -> tuple[ErrorLog, set[int]]:
        """Villages in the region tree and the caller's region, importable statuses, new household numbers."""
        errors = ErrorLog(self.limits.max_stored_errors)
        rejected: set[int] = set()
        by_household = {number: [rows[p] for p in positions] for number, positions in groups.items()}

        def reject_household(number: str, column: str, message: str, code: str) -> None:
            for member_row in by_household[number]:
                errors.add(RowError(member_row.row_number, column, message, code))
                rejected.add(member_row.row_number)

        villages = {members[0].household.village_code for members in by_household.values()}
        known = await RegionRepository(repo.session).existing_villages(sorted(villages))
        wanted = sorted({g for members in by_household.values() if (g := members[0].household.grid_code)})
        grids = await RegionRepository(repo.session).existing_grids(wanted)
        pairs: list[tuple[str, str]] = []
        for number, members in by_household.items():
            household = members[0].household
            village = household.village_code
            if village not in known:
                reject_household(
                    number, "village_code", "no such village in the region tree (行政区划)", "unknown_village"
                )
            elif not self.principal.can_see(village):
                reject_household(number, "village_code", "the village is outside your region", "out_of_scope")
            elif household.grid_code is not None and household.grid_code not in grids:
                reject_household(
                    number,
                    "grid_code",
                    "no such grid (网格) in the village; import the county's division list first",
                    "unknown_grid",
                )
            else:
                # A monitored household (监测对象类别) is imported as a migration from the national system: its
                # type, 识别监测时间 and risk types, audited with the job (who, which file, when); no case is opened.
                pairs.append((village[:6], number))
        for _county, number in await repo.taken_household_numbers(pairs):
            reject_household(
                number,
                "household_number",
                "the household number is already registered in the county (imports add new households)",
                "household_exists",
            )
        return errors, rejected

    async def _check_people(
        self, repo: HouseholdRepository, rows: Sequence[MemberRow], indexes: Sequence[bytes], rejected: set[int]
    ) -> tuple[ErrorLog, set[int]]:
        """People already active in a household (by blind index), among the rows not yet rejected."""
        errors = ErrorLog(self.limits.max_stored_errors)
        newly: set[int] = set()
        taken = await repo.active_indexes_among(list(indexes))
        for row, index in zip(rows, indexes, strict=True):
            found = taken.get(index) if taken else None
            if found is not None and row.row_number not in rejected:
                other = mask_household_number(found.household_number)
                errors.add(
                    RowError(
                        row.row_number,
                        "national_id",
                        f"this person is an active member of household {other}",
                        "person_in_other_household",
                    )
                )
                newly.add(row.row_number)
        return errors, newly

    async def _write_errors(self, jobs: ImportJobRepository, job_id: uuid.UUID, errors: Sequence[RowError]) -> int:
        """Store the first `max_stored_errors` errors; returns how many were stored."""
        kept = errors[: self.limits.max_stored_errors]
        if kept:
            await jobs.insert_errors(
                [(job_id, i, e.row_number, e.column, e.message[:1000], e.code[:40]) for i, e in enumerate(kept, 1)]
            )
        return len(kept)

    async def _finish_failed(
        self,
        job_id: uuid.UUID,
        failure: str,
        errors: Sequence[RowError],
        *,
        total: int,
        rejected: int | None = None,
        error_total: int | None = None,
    ) -> None:
        async with self.sessionmaker() as session:
            repo = ImportJobRepository(session)
            stored = await self._write_errors(repo, job_id, errors)
            summary = ImportResult(
                imported_households=0,
                imported_members=0,
                rejected_rows=rejected if rejected is not None else len({e.row_number for e in errors}),
                total_rows=total,
                stored_errors=stored,
            )
            error_total = len(errors) if error_total is None else error_total
            await repo.update_import_job(
                job_id,
                {
                    "status": "failed",
                    "phase": "done",
                    "failure": failure,
                    "error_count": error_total,
                    "processed_rows": total,
                    "total_rows": total,
                    "result": summary.model_dump(),
                    "finished_at": datetime.now(UTC),
                },
            )
            await Auditor(session, SERVICE, self.principal).record(
                action="import.failed",
                resource_type="import_job",
                resource_id=str(job_id),
                detail={"failure": failure, "errors": error_total},
            )
            await session.commit()
        JOB_ROWS.labels(SERVICE, "import", "rejected").inc(total)
        log.info("registry.import.rejected", job_id=str(job_id), errors=error_total)
