"""Registry bulk import benchmark: 100,000 members (≈ 30,000 households) from CSV through the API.

    .venv/bin/python bench/registry_import.py [--members 100000] [--keep]

Starts a fresh database (an embedded PostgreSQL, or a new database on TEST_DATABASE_URL's
server), migrates it, starts the registry as a real process and waits for its import parse
process (IMPORT_PARSE_PROCESSES, by default one on two CPUs or more;
FANGPIN_REGISTRY_IMPORT_PARSE_PROCESSES=0 measures without it), generates the CSV with the
demo generator, POSTs it to /v1/imports (valid_rows, wait=true) and prints members per
second. In the same run it times a bare COPY of the same member rows (same columns and types,
ciphertexts included, no indexes) into a scratch table, and prints the ratio and the machine's
facts.
Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import httpx

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.registry.demo import (  # noqa: E402
    generate_households,
    households_csv,
    member_rows,
    seed_regions,
)
from services.registry.service.imports import default_parse_processes  # noqa: E402
from shared.auth import Role, mint_token  # noqa: E402
from shared.pii import PiiCipher  # noqa: E402
from tests.support.database import migrated_database, postgres_server  # noqa: E402
from tests.support.processes import service_processes  # noqa: E402
from tests.support.tokens import JWT_SECRET, PII_INDEX_KEY, PII_KEY, service_env  # noqa: E402


def machine_facts() -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    memory = ""
    try:
        kb = int(Path("/proc/meminfo").read_text().split()[1])
        memory = f", {kb / 1024 / 1024:.1f} GiB RAM"
    except (OSError, ValueError, IndexError):
        pass
    system = f"{platform.system()} {platform.release()}, Python {platform.python_version()}"
    return f"{os.cpu_count()} CPUs ({cpu}){memory}, {system}"


async def _server_version(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        return str(await conn.fetchval("SHOW server_version"))
    finally:
        await conn.close()


async def _seed_regions(url: str) -> None:
    from sqlalchemy.ext.asyncio import async_sessionmaker, create_async_engine

    from shared.settings import async_database_url

    engine = create_async_engine(async_database_url(url))
    try:
        async with async_sessionmaker(engine)() as session:
            await seed_regions(session)
    finally:
        await engine.dispose()


async def bare_copy(url: str, rows: list, cipher: PiiCipher) -> float:  # type: ignore[type-arg]
    """COPY the same member rows, already encrypted, into an unindexed scratch table: the floor."""
    from services.registry.service.bulk import MEMBER_COLUMNS, blind_indexes

    indexes = blind_indexes(cipher, [r.national_id for r in rows])
    household_ids = {r.household.household_number: uuid.uuid4() for r in rows}
    records = [
        (
            uuid.uuid4(),
            household_ids[r.household.household_number],
            r.household.village_code[:6],
            r.member_name,
            cipher.encrypt(r.national_id, purpose="national_id"),
            index,
            r.national_id[:6] + "********" + r.national_id[14:],
            r.sex.value,
            r.birth_date,
            r.relation.value,
            r.health.value,
            r.disability_grade,
            r.labour_ability.value,
            r.education_stage.value if r.education_stage else None,
            r.school,
            r.join_reason.value,
            None,
            None,
            r.education_level,  # the register's member columns (issue 12): the wider template
            r.employment,
            r.months_worked,
            list(r.medical_insured_years),
            list(r.pension_insured_years),
        )
        for r, index in zip(rows, indexes, strict=True)
    ]
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("CREATE TEMP TABLE scratch_member (LIKE registry.member INCLUDING DEFAULTS)")
        started = time.perf_counter()
        async with conn.transaction():
            await conn.copy_records_to_table("scratch_member", columns=list(MEMBER_COLUMNS), records=records)
        return time.perf_counter() - started
    finally:
        await conn.close()


@dataclass
class Run:
    seconds: float
    copy_seconds: float
    server_cpu: float
    database_cpu: float
    phases: dict[str, tuple[float, float | None]]
    load: float


def _cpu_seconds(pid: int) -> float:
    """User + system CPU time of a process (Linux)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return float("nan")


async def _postmaster_pid(url: str) -> int | None:
    conn = await asyncpg.connect(url)
    try:
        data_directory = await conn.fetchval("SHOW data_directory")
    finally:
        await conn.close()
    try:
        return int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    except (OSError, ValueError, IndexError):
        return None


def _server_cpu(postmaster: int | None) -> float:
    """CPU seconds of the database server and its backends (when it runs on this machine)."""
    if postmaster is None:
        return float("nan")
    total = _cpu_seconds(postmaster)
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                stat = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(stat[1]) == postmaster:
                total += (int(stat[11]) + int(stat[12])) / os.sysconf("SC_CLK_TCK")
    return total


def one_run(server: str, data: bytes, households: list, members: int, log_dir: Path) -> Run:  # type: ignore[type-arg]
    with ExitStack() as stack:
        url = stack.enter_context(migrated_database(server, "bench"))
        asyncio.run(_seed_regions(url))
        env = service_env(url)
        env["FANGPIN_LOG_LEVEL"] = "INFO"
        registry = service_processes(["registry"], env, log_dir)["registry"]
        ready_line = "registry.import.parse_pool_ready"
        readies = registry.logs().count(ready_line) if registry.log_path.exists() else 0  # one log per run dir
        registry.start()
        stack.callback(registry.stop)
        # Measured as a county's service is when an import arrives: running, its parse process
        # started (IMPORT_PARSE_WARM_START; the start-up itself is not an import's cost).
        parallel = os.environ.get(
            "FANGPIN_REGISTRY_IMPORT_PARSE_PROCESSES", os.environ.get("FANGPIN_IMPORT_PARSE_PROCESSES")
        )
        processes = default_parse_processes() if not parallel else int(parallel)
        deadline = time.monotonic() + (60 if processes else 0)
        while registry.logs().count(ready_line) <= readies and time.monotonic() < deadline:
            time.sleep(0.1)
        token = mint_token(JWT_SECRET, sub="bench:county_officer", roles=[Role.COUNTY_OFFICER], region="410602")
        headers = {
            "Authorization": f"Bearer {token}",
            "Content-Type": "text/csv",
            "Idempotency-Key": f"bench-{uuid.uuid4()}",
        }
        assert registry.proc is not None
        load = os.getloadavg()[0]
        postmaster = asyncio.run(_postmaster_pid(url))
        with httpx.Client(base_url=registry.url, timeout=600) as client:
            cpu0, db0 = _cpu_seconds(registry.proc.pid), _server_cpu(postmaster)
            t0 = time.perf_counter()
            response = client.post(
                "/v1/imports", params={"mode": "valid_rows", "wait": "true"}, content=data, headers=headers
            )
            elapsed = time.perf_counter() - t0
            cpu, db_cpu = _cpu_seconds(registry.proc.pid) - cpu0, _server_cpu(postmaster) - db0
        job = response.json() if response.status_code == 200 else {}
        result = job.get("result") or {}
        if job.get("status") != "succeeded" or result.get("imported_members") != members:
            print(response.status_code, response.text[:2000])
            raise SystemExit(1)
        phases: dict[str, tuple[float, float | None]] = {}
        for line in registry.logs().splitlines():
            if "registry.import.succeeded" in line:
                logged = json.loads(line)
                phases = {k: (v, logged.get("cpu_seconds", {}).get(k)) for k, v in logged.get("seconds", {}).items()}
        copy_seconds = asyncio.run(bare_copy(url, member_rows(households), PiiCipher(PII_KEY, PII_INDEX_KEY)))
        return Run(elapsed, copy_seconds, cpu, db_cpu, phases, load)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--members", type=int, default=100_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs, each on a fresh database (best is reported)")
    parser.add_argument("--keep", action="store_true", help="keep the CSV in the temp directory")
    args = parser.parse_args()

    print(f"machine: {machine_facts()}")
    started = time.perf_counter()
    households = []
    members = 0
    for h in generate_households(args.members, seed=42):
        households.append(h)
        members += len(h.members)
        if members >= args.members:
            break
    data = households_csv(households)
    print(
        f"generated {members:,} members in {len(households):,} households, {len(data) / 1e6:.1f} MB CSV "
        f"in {time.perf_counter() - started:.1f}s"
    )
    log_dir = Path(tempfile.mkdtemp(prefix="fangpin-bench-"))
    if args.keep:
        (log_dir / "import.csv").write_bytes(data)
    runs: list[Run] = []
    with postgres_server() as server:
        version_url = server
        print(
            f"PostgreSQL {asyncio.run(_server_version(version_url))} "
            f"({'TEST_DATABASE_URL' if os.environ.get('TEST_DATABASE_URL') else 'embedded'})"
        )
        for number in range(1, args.repeat + 1):
            run = one_run(server, data, households, members, log_dir)
            runs.append(run)
            print(
                f"run {number}: API import {run.seconds:.2f}s = {members / run.seconds:,.0f} members/s; "
                f"bare COPY {run.copy_seconds:.2f}s; registry CPU {run.server_cpu:.2f}s; "
                f"database CPU {run.database_cpu:.2f}s (all its processes); "
                f"load average {run.load:.1f}; server phases (wall, CPU) {run.phases}"
            )
    best = min(runs, key=lambda r: r.seconds)
    median = statistics.median(r.seconds for r in runs)
    print(
        f"API import (HTTP upload, parse and validation of every row, encryption and blind indexes, checks "
        f"against the register, COPY with all indexes and constraints, history, commit): best {best.seconds:.2f}s "
        f"= {members / best.seconds:,.0f} members/s, median {median:.2f}s = {members / median:,.0f} members/s"
    )
    print(
        f"bare COPY of the same {members:,} member rows (already encrypted) into an unindexed table in the same run: "
        f"{best.copy_seconds:.2f}s = {members / best.copy_seconds:,.0f} rows/s"
    )
    print(f"ratio API import / bare COPY: {best.seconds / best.copy_seconds:.1f}x")


if __name__ == "__main__":
    main()
