"""Screening run benchmark: one county of 1,000,000 households, 3,000,000 members and 5,000,000
department feed records, screened for one month by the screening service.

    .venv/bin/python bench/screening_run.py [--households 1000000] [--feeds 5000000] [--work-mem 256MB]

Starts a fresh database (an embedded PostgreSQL, or a new database on TEST_DATABASE_URL's server),
migrates it and generates the data straight into the registry's and screening's tables with
INSERT … SELECT generate_series (the registry's read-contract views then see it as any county).
Starts the screening service as a real process, POSTs /v1/runs and polls the job until it is done:
the run time. In the same database it times one hand-written SQL aggregate over the same tables
(the snapshot view joined to the window sums of the feed records, the least any screening must
read): the floor. Prints both, their ratio, the service's peak resident memory (VmHWM), and the
machine's facts. Results go in docs/benchmarks.md.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import platform
import statistics
import sys
import tempfile
import time
from contextlib import ExitStack
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from shared.auth import Role, mint_token  # noqa: E402
from shared.migrate import upgrade  # noqa: E402
from tests.support.database import migrated_database, postgres_server  # noqa: E402
from tests.support.processes import service_processes  # noqa: E402
from tests.support.tokens import JWT_SECRET, service_env  # noqa: E402

COUNTY = "410602"
PERIOD = "2026-03"
WINDOW = ("2025-04-01", "2026-03-31")

# Feed kinds with their department and share of the records (per mille).
KINDS = [
    ("medical_expense", "medical_insurance", 400),
    ("education_expense", "education", 120),
    ("school_admission", "education", 30),
    ("disaster_loss", "emergency_management", 80),
    ("accident", "public_security", 60),
    ("industry_loss", "agriculture", 80),
    ("job_loss", "human_resources", 80),
    ("disability_new", "disability_federation", 30),
    ("housing_unsafe", "housing", 3),
    ("water_unsafe", "water", 3),
    ("dibao_change", "civil_affairs", 114),
]

#: The floor: one aggregate reading every input the rules need (the snapshot's members, labour,
#: income and previous income; the feed window per household), and nothing else.
FLOOR_SQL = f"""
SELECT count(*) AS households,
       count(*) FILTER (WHERE s.annual_net_income - coalesce(f.total, 0) < 6000 * s.member_count) AS below,
       count(*) FILTER (WHERE s.previous_annual_net_income > s.annual_net_income) AS dropped,
       count(*) FILTER (WHERE s.labour_count = 0) AS no_labour,
       count(*) FILTER (WHERE f.unsafe) AS unsafe,
       sum(f.medical) AS medical
  FROM registry.household_snapshot_v1 s
  LEFT JOIN (SELECT household_id, sum(amount) AS total,
                    sum(amount) FILTER (WHERE kind = 'medical_expense') AS medical,
                    bool_or(kind IN ('housing_unsafe', 'water_unsafe')) AS unsafe
               FROM screening.feed_record
              WHERE county_code = '{COUNTY}' AND household_id IS NOT NULL
                AND event_date BETWEEN '{WINDOW[0]}' AND '{WINDOW[1]}'
              GROUP BY household_id) f ON f.household_id = s.household_id
 WHERE s.county_code = '{COUNTY}'
"""


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
    return (
        f"{os.cpu_count()} CPUs ({cpu}){memory}, {platform.system()} {platform.release()}, "
        f"Python {platform.python_version()}"
    )


def _kind_case() -> tuple[str, str]:
    """SQL CASE expressions picking a kind and its department from a uniform draw `k` in [0, 1000)."""
    kind, dept, upper = ["CASE"], ["CASE"], 0
    for name, department, share in KINDS:
        upper += share
        kind.append(f"WHEN k < {upper} THEN '{name}'")
        dept.append(f"WHEN k < {upper} THEN '{department}'")
    return " ".join(kind) + " ELSE 'death' END", " ".join(dept) + " ELSE 'civil_affairs' END"


async def generate(url: str, households: int, feeds: int) -> dict[str, float]:
    """Registry and feed data straight into the tables, set-based. Returns seconds per table."""
    members = households * 3
    kind_sql, dept_sql = _kind_case()
    steps = {
        "household": f"""
            INSERT INTO registry.household (id, county_code, township_code, village_code, household_number, status,
                                            base_status, monitoring_case_id, insured_years)
            SELECT md5('h' || i)::uuid, '{COUNTY}', '{COUNTY}' || (100 + i % 20),
                   '{COUNTY}' || (100 + i % 20) || (201 + (i / 20) % 50),
                   '{COUNTY}' || lpad(i::text, 10, '0'),
                   CASE WHEN i % 100 < 3 THEN 'marginal' WHEN i % 100 < 30 THEN 'lifted_out' ELSE 'ordinary' END,
                   CASE WHEN i % 100 < 30 THEN 'lifted_out' ELSE 'ordinary' END,
                   CASE WHEN i % 100 < 3 THEN md5('c' || i)::uuid END,
                   CASE WHEN i % 10 < 6 THEN ARRAY[2025, 2026] ELSE '{{}}'::int[] END
              FROM generate_series(0, {households - 1}) i""",
        "member": f"""
            INSERT INTO registry.member (id, household_id, county_code, name, national_id_enc, national_id_index,
                                         national_id_masked, sex, birth_date, relation, health, labour_ability,
                                         join_reason, active)
            SELECT md5('m' || m)::uuid, md5('h' || (m / 3))::uuid, '{COUNTY}', '成员' || m % 1000,
                   decode('01' || md5('e' || m) || md5('f' || m) || md5('g' || m), 'hex'),
                   decode(md5('n' || m) || md5('x' || m), 'hex'), '{COUNTY}********' || lpad((m % 10000)::text, 4, '0'),
                   CASE WHEN m % 2 = 0 THEN 'male' ELSE 'female' END, date '1950-01-01' + (m % 25000),
                   CASE WHEN m % 3 = 0 THEN 'head' WHEN m % 3 = 1 THEN 'spouse' ELSE 'son' END, 'healthy',
                   CASE WHEN (m / 3) % 50 = 0 OR m % 3 = 2 THEN 'none' ELSE 'normal' END, 'registration', true
              FROM generate_series(0, {members - 1}) m""",
        "income": f"""
            INSERT INTO registry.income (household_id, year, county_code, wage_income, business_income,
                                         transfer_income, production_costs)
            SELECT md5('h' || i)::uuid, y, '{COUNTY}',
                   round(wage * CASE WHEN y = 2025 THEN 1 WHEN i % 40 = 0 THEN 1.7
                                     ELSE (0.85 + random() * 0.3)::numeric END, 2),
                   round((random() * 8000)::numeric, 2), round((random() * 3000)::numeric, 2),
                   round((random() * 4000)::numeric, 2)
              FROM (SELECT i, (14000 + random() * 90000)::numeric AS wage
                      FROM generate_series(0, {households - 1}) i) h
             CROSS JOIN (VALUES (2024), (2025)) v(y)""",
        "monitoring_case": f"""
            INSERT INTO screening.monitoring_case (id, county_code, township_code, village_code, household_id,
                                                   source, state, monitoring_type, opened_at, state_entered_at,
                                                   identification_deadline, confirmed_at)
            SELECT md5('c' || i)::uuid, '{COUNTY}', '{COUNTY}' || (100 + i % 20),
                   '{COUNTY}' || (100 + i % 20) || (201 + (i / 20) % 50), md5('h' || i)::uuid, 'screening',
                   'monitoring', 'marginal', now() - interval '200 days', now() - interval '150 days',
                   current_date - 170, now() - interval '150 days'
              FROM generate_series(0, {households - 1}) i WHERE i % 100 < 3""",
        "feed_batch": "INSERT INTO screening.feed_batch (id, county_code, department, format, declared_record_count, "
        "declared_control_total, status, content_sha256) "
        f"SELECT md5('b' || d)::uuid, '{COUNTY}', d, 'jsonl', 0, 0, 'succeeded', '' FROM (VALUES "
        + ", ".join(f"('{d}')" for d in sorted({d for _, d, _ in KINDS}))
        + ") v(d)",
        "feed_record": f"""
            INSERT INTO screening.feed_record (id, county_code, batch_id, department, source_record_id, line_no,
                                               kind, event_date, national_id_enc, national_id_index,
                                               national_id_masked, member_id, household_id, amount, amounts, grade,
                                               matched_at)
            SELECT md5('r' || r)::uuid, '{COUNTY}', md5('b' || dept)::uuid, dept, 'B' || r, r, kind,
                   CASE WHEN r % 10 = 0 THEN date '2024-06-01' + (r % 300)
                        ELSE date '{WINDOW[0]}' + (r % 365) END,
                   decode('01' || md5('e' || m) || md5('f' || m) || md5('g' || m), 'hex'),
                   decode(md5('n' || m) || md5('x' || m), 'hex'), '{COUNTY}********0000',
                   md5('m' || m)::uuid, md5('h' || (m / 3))::uuid, amount,
                   CASE WHEN amount > 0 THEN jsonb_build_object('self_paid', amount::text,
                                                                'total_cost', (amount * 3)::text) ELSE '{{}}' END,
                   CASE WHEN kind = 'disability_new' THEN 1 + r % 4 END, now()
              FROM (SELECT r, m, kind, {dept_sql} AS dept,
                           CASE WHEN kind IN ('medical_expense', 'education_expense', 'disaster_loss', 'accident',
                                              'industry_loss')
                                THEN round(least(-ln(1 - random()) * 1500, 200000)::numeric, 2) ELSE 0 END AS amount
                      FROM (SELECT r, m, k, {kind_sql} AS kind
                              FROM (SELECT r, (random() * {members - 1})::int AS m, (random() * 1000)::int AS k
                                      FROM generate_series(0, {feeds - 1}) r) draws) kinds) rows""",
    }
    seconds: dict[str, float] = {}
    conn = await asyncpg.connect(url)
    try:
        await conn.execute("SELECT setseed(0.42)")
        await conn.execute("SET maintenance_work_mem = '512MB'")
        for table, sql in steps.items():
            started = time.perf_counter()
            await conn.execute(sql)
            seconds[table] = time.perf_counter() - started
            print(f"  {table}: {seconds[table]:.1f}s", flush=True)
        started = time.perf_counter()
        await conn.execute(
            "VACUUM ANALYZE registry.household, registry.member, registry.income, "
            "screening.feed_record, screening.monitoring_case"
        )
        seconds["vacuum_analyze"] = time.perf_counter() - started
    finally:
        await conn.close()
    return seconds


async def has_data(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        query = f"SELECT EXISTS (SELECT 1 FROM registry.household WHERE county_code = '{COUNTY}')"
        return bool(await conn.fetchval(query))
    finally:
        await conn.close()


def cpu_seconds(pid: int) -> float:
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return 0.0
    return float(times.user + times.system)


async def service_backends(url: str) -> dict[int, float]:
    """CPU seconds so far of each database backend serving the screening service."""
    conn = await asyncpg.connect(url)
    try:
        pids = await conn.fetch("SELECT pid FROM pg_stat_activity WHERE application_name = 'fangpin-screening'")
    finally:
        await conn.close()
    return {row["pid"]: cpu_seconds(row["pid"]) for row in pids}


async def floor(url: str, work_mem: str) -> tuple[float, float, Any]:
    """(wall seconds, database CPU seconds, the row) of the floor query."""
    conn = await asyncpg.connect(url)
    try:
        await conn.execute(f"SET work_mem = '{work_mem}'")
        backend = await conn.fetchval("SELECT pg_backend_pid()")
        cpu = cpu_seconds(backend)
        started = time.perf_counter()
        row = await conn.fetchrow(FLOOR_SQL)
        return time.perf_counter() - started, cpu_seconds(backend) - cpu, row
    finally:
        await conn.close()


async def server_facts(url: str) -> str:
    conn = await asyncpg.connect(url)
    try:
        names = ("server_version", "shared_buffers", "max_parallel_workers_per_gather", "jit")
        values = [f"{n}={await conn.fetchval(f'SHOW {n}')}" for n in names]
        return ", ".join(values)
    finally:
        await conn.close()


def peak_rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=5_000_000)
    parser.add_argument("--work-mem", default="256MB", help="FANGPIN_SCREENING_RUN_WORK_MEM, and the floor's")
    parser.add_argument("--repeat", type=int, default=3, help="runs and floors, alternating; medians reported")
    parser.add_argument("--database-url", help="use this database (migrated here; data generated if it has none)")
    args = parser.parse_args()

    print(f"machine: {machine_facts()}")
    with ExitStack() as stack:
        if args.database_url:
            url = args.database_url
            upgrade(url)
        else:
            server = stack.enter_context(postgres_server())
            url = stack.enter_context(migrated_database(server, "bench_screening"))
        print(f"PostgreSQL: {asyncio.run(server_facts(url))}")
        if asyncio.run(has_data(url)):
            print("using the data already there", flush=True)
        else:
            print(
                f"generating {args.households:,} households, {args.households * 3:,} members, "
                f"{args.households * 2:,} income years, {args.feeds:,} feed records:",
                flush=True,
            )
            started = time.perf_counter()
            asyncio.run(generate(url, args.households, args.feeds))
            print(f"generated in {time.perf_counter() - started:.0f}s", flush=True)

        warm, _, _ = asyncio.run(floor(url, args.work_mem))  # every measurement with warm caches
        print(f"floor (warm-up): {warm:.2f}s", flush=True)

        env = service_env(url)
        env.update(
            {
                "FANGPIN_LOG_LEVEL": os.environ.get("BENCH_LOG_LEVEL", "WARNING"),
                "FANGPIN_SCREENING_SCHEDULE_ENABLED": "false",
                "FANGPIN_SCREENING_RUN_WORK_MEM": args.work_mem,
            }
        )
        service = service_processes(["screening"], env, Path(tempfile.mkdtemp(prefix="fangpin-bench-")))["screening"]
        service.start()
        stack.callback(service.stop)
        assert service.proc is not None
        baseline = peak_rss_mb(service.proc.pid)
        token = mint_token(JWT_SECRET, sub="bench:county_officer", roles=[Role.COUNTY_OFFICER], region=COUNTY)
        headers = {"Authorization": f"Bearer {token}"}
        runs: list[float] = []
        floors: list[float] = []
        run_cpus: list[float] = []
        floor_cpus: list[float] = []
        first_claims = 0
        with httpx.Client(base_url=service.url, timeout=600) as client:
            for attempt in range(1, args.repeat + 1):
                load = os.getloadavg()[0]
                before = asyncio.run(service_backends(url))
                t0 = time.perf_counter()
                response = client.post("/v1/runs", json={"county_code": COUNTY, "period": PERIOD}, headers=headers)
                if response.status_code != 202:
                    print(response.status_code, response.text[:2000])
                    raise SystemExit(1)
                location = response.headers["Location"]
                while True:
                    job = client.get(location, headers=headers).json()
                    if job["status"] not in ("queued", "running"):
                        break
                    time.sleep(0.05)
                elapsed = time.perf_counter() - t0
                after = asyncio.run(service_backends(url))
                run_cpus.append(sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items()))
                if job["status"] != "succeeded":
                    print(f"run failed: {job['errors']}\n{service.logs()[-3000:]}")
                    raise SystemExit(1)
                result = job["result"]
                first_claims = first_claims or result["claim_leads"]
                runs.append(elapsed)
                print(
                    f"run {attempt} (version {job['version']}, load {load:.2f}): {elapsed:.2f}s from POST to "
                    f"succeeded, database CPU {run_cpus[-1]:.2f}s; job {result['seconds']['total']:.2f}s = "
                    + ", ".join(f"{k} {v:.2f}" for k, v in result["seconds"].items() if k != "total"),
                    flush=True,
                )
                load = os.getloadavg()[0]
                floor_seconds, floor_cpu, row = asyncio.run(floor(url, args.work_mem))
                floors.append(floor_seconds)
                floor_cpus.append(floor_cpu)
                print(
                    f"floor {attempt} (load {load:.2f}): {floor_seconds:.2f}s, database CPU {floor_cpu:.2f}s",
                    flush=True,
                )
        peak = peak_rss_mb(service.proc.pid)
        run_median, floor_median = statistics.median(runs), statistics.median(floors)
        print(
            f"\n{result['households']:,} households ({result['evaluated']:,} evaluated), {result['leads']:,} leads, "
            f"{result['case_evidence']:,} findings on open cases, {result['evidence_links']:,} evidence links, "
            f"{first_claims:,} income-drop claim leads (first run; a re-run sends none again)"
        )
        print(f"floor reads {row['households']:,} households, {row['below']:,} with I_adj / n below the line")
        print(f"run:   median {run_median:.2f}s of {', '.join(f'{r:.2f}' for r in runs)}")
        print(f"floor: median {floor_median:.2f}s of {', '.join(f'{f:.2f}' for f in floors)}")
        print(
            f"ratio run / floor: {run_median / floor_median:.2f} (wall); "
            f"{statistics.median(run_cpus) / statistics.median(floor_cpus):.2f} (database CPU, medians "
            f"{statistics.median(run_cpus):.2f}s / {statistics.median(floor_cpus):.2f}s)"
        )
        print(f"service peak RSS: {peak:.0f} MB (VmHWM; {baseline:.0f} MB after start-up)")


if __name__ == "__main__":
    main()
