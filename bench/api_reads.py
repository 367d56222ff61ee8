"""Benchmark of the read path (issue 15): the services' reads and the preview against a floor, in one run.

    .venv/bin/python bench/api_reads.py [--households 3000] [--duration 5] [--rounds 2] [--connections 16]
        [--engine-claims 100000] [--json]
    TEST_DATABASE_URL=postgresql://postgres@127.0.0.1:5432/postgres .venv/bin/python bench/api_reads.py

Creates a fresh database (embedded PostgreSQL, or a new database on TEST_DATABASE_URL's server),
migrates it and seeds it with ``fangpin seed --households N`` (the demo regions of 鹤山区, the
reference scheme and N demo households written by the registry's bulk path). It starts the three
services as real processes (``fangpin serve``, one uvicorn worker each, bound to 127.0.0.1) and
the floor (bench/floor_app.py: FastAPI + asyncpg, no ORM, no middleware, no token check; read its
docstring for exactly what it does) in a fourth uvicorn process on the same database. Over HTTP it
opens a few screening cases (``POST /v1/cases``, cadre visits) and claims (``POST /v1/claims/leads``,
the claims service reading the household from the registry), so the case list and claim read have
data.

Measured endpoints (each with a county officer's or village cadre's HS256 token, as a mobile app):

- ``household``: ``GET /v1/households/{id}`` (registry), rotating over 200 household ids;
- ``list``: ``GET /v1/households?region=<village>&limit=20`` (registry), rotating over the villages;
- ``search``: ``POST /v1/households:search`` with a village, a surname prefix and ``limit`` 20;
- ``cases``: ``GET /v1/cases?limit=20`` (screening);
- ``claim``: ``GET /v1/claims/{id}`` (claims), rotating over the claims opened;
- ``preview``: ``POST /v1/assessments:preview`` with the reference scheme inline (claims), rotating
  over 200 generated claims of all six categories.

The floor is ``GET /households/{id}`` on the floor app over the same 200 household ids. The order
is floor, endpoint, floor, endpoint, … floor (A B A B): each endpoint's ratio is its throughput over
the mean of the two floor runs either side of it, so both saw the same machine. ``--rounds`` repeats
the whole sequence; figures are medians over rounds. Each run lasts ``--duration`` seconds at
``--connections`` keep-alive connections, after a one-second warm-up of every target.

Load: ``wrk`` (C, two threads; ``apt-get install wrk``) when it is installed, as the issue measured
(``--load-tool wrk``); otherwise a small HTTP/1.1 client on asyncio streams (uvloop when installed)
in a separate process (``--load-tool python``), pre-encoded requests, every answer's status
checked. The Python client costs about as much CPU per request as the floor, so on two cores it
caps the floor and flatters every ratio: compare ratios measured with the same tool only. wrk
rotates the same pre-encoded requests (a Lua script, each thread from its own offset) and counts
answers outside 2xx/3xx as errors. The target process's CPU time (psutil, user + system) is
sampled at the start and end of each run: CPU per request; and, when the database server runs on
this machine, the server's (postmaster and backends, all clients included).

Last, the claims engine: assessments per second of the pure ``assess`` (bench/claims_assess.py's
engine part, after the services are stopped).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import random
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import ExitStack, suppress
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

COUNTY = "410602"
VILLAGE = "410602100201"
SURNAMES = "王李张刘陈杨赵黄周吴"

# The acceptance targets (issue 15, acceptance 1): ratio of the floor, p99, absolute.
TARGETS: dict[str, str] = {
    "household": ">= 35% of floor, p99 <= 20 ms",
    "list": ">= 25% of floor",
    "preview": ">= 1,500 req/s per worker",
    "engine": ">= 50,000 assessments/s",
}


# ---------------------------------------------------------------- the load generator (its own process)


def _percentile(values: list[float], fraction: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def _cpu(pid: int | None) -> float:
    import psutil

    if pid is None:
        return float("nan")
    try:
        times = psutil.Process(pid).cpu_times()
    except psutil.Error:
        return float("nan")
    return float(times.user + times.system)


def _server_cpu(postmaster: int | None) -> dict[int, float] | None:
    """CPU seconds of the database server and each of its processes, by pid (when it runs on this machine)."""
    import psutil

    if postmaster is None:
        return None
    try:
        parent = psutil.Process(postmaster)
        times = {postmaster: float(sum(parent.cpu_times()[:2]))}
        for child in parent.children():
            with suppress(psutil.Error):
                times[child.pid] = float(sum(child.cpu_times()[:2]))
        return times
    except psutil.Error:
        return None


def _server_cpu_delta(before: dict[int, float] | None, after: dict[int, float] | None) -> float:
    """CPU the server spent between two samples: processes alive at the end (a backend that exited
    in between is not counted, so this can only undercount)."""
    if before is None or after is None:
        return float("nan")
    return sum(cpu - before.get(pid, 0.0) for pid, cpu in after.items())


async def _read_response(reader: asyncio.StreamReader) -> tuple[int, bytes]:
    head = await reader.readuntil(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    status = int(lines[0].split()[1])
    length, chunked = 0, False
    for line in lines[1:]:
        name, _, value = line.partition(b":")
        name = name.strip().lower()
        if name == b"content-length":
            length = int(value)
        elif name == b"transfer-encoding" and b"chunked" in value.lower():
            chunked = True
    if not chunked:
        return status, await reader.readexactly(length)
    body = bytearray()
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        body += await reader.readexactly(size + 2)
        if size == 0:  # the last chunk's CRLF was read with it (no trailers are sent)
            break
    return status, bytes(body)


async def _load(spec: dict[str, Any]) -> dict[str, Any]:
    host, port = spec["host"], spec["port"]
    requests = [r.encode("latin-1") for r in spec["requests"]]
    connections, duration = spec["connections"], spec["duration"]
    latencies: list[float] = []
    statuses: Counter[int] = Counter()
    samples: list[str] = []
    deadline = 0.0

    async def worker(offset: int) -> None:
        reader, writer = await asyncio.open_connection(host, port)
        index = offset
        try:
            while time.perf_counter() < deadline:
                request = requests[index % len(requests)]
                index += 1
                started = time.perf_counter()
                writer.write(request)
                status, body = await _read_response(reader)
                latencies.append(time.perf_counter() - started)
                statuses[status] += 1
                if status != spec["expect"] and len(samples) < 3:
                    samples.append(f"{status}: {body[:300]!r}")
        finally:
            writer.close()

    service0, db0, own0 = _cpu(spec.get("pid")), _server_cpu(spec.get("postmaster")), time.process_time()
    started = time.perf_counter()
    deadline = started + duration
    step = max(1, len(requests) // connections)
    await asyncio.gather(*(worker(i * step) for i in range(connections)))
    elapsed = time.perf_counter() - started
    service_cpu = _cpu(spec.get("pid")) - service0
    db_cpu = _server_cpu_delta(db0, _server_cpu(spec.get("postmaster")))
    own_cpu = time.process_time() - own0
    count = len(latencies)
    return {
        "requests": count,
        "seconds": round(elapsed, 3),
        "requests_per_second": count / elapsed if elapsed else 0.0,
        "p50_ms": _percentile(latencies, 0.50) * 1000,
        "p99_ms": _percentile(latencies, 0.99) * 1000,
        "statuses": {str(k): v for k, v in statuses.items()},
        "errors": count - statuses.get(spec["expect"], 0),
        "error_samples": samples,
        "service_cpu_ms_per_request": service_cpu / count * 1000 if count else float("nan"),
        "db_cpu_ms_per_request": db_cpu / count * 1000 if count else float("nan"),
        "loadgen_cpu_ms_per_request": own_cpu / count * 1000 if count else float("nan"),
    }


def loadgen_main(spec_path: str) -> int:
    spec = json.loads(Path(spec_path).read_text())
    try:
        import uvloop

        uvloop.install()
    except ImportError:
        pass
    print(json.dumps(asyncio.run(_load(spec))))
    return 0


# ---------------------------------------------------------------- requests, processes, seeding


def http_request(method: str, path: str, port: int, token: str | None, body: Any = None) -> str:
    """A pre-encoded HTTP/1.1 keep-alive request (latin-1 text, so it can travel in JSON)."""
    payload = b"" if body is None else json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
    head = f"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
    if token:
        head += f"Authorization: Bearer {token}\r\n"
    if body is not None:
        head += f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n"
    return (head.encode() + b"\r\n" + payload).decode("latin-1")


@dataclass
class Target:
    """One measured thing: a name, the process answering it, its requests and the status expected."""

    name: str
    port: int
    pid: int | None
    requests: list[str]
    expect: int = 200
    runs: list[dict[str, Any]] = field(default_factory=list)


def _lua_string(text: str) -> str:
    """A Lua string literal of a pre-encoded request (latin-1 text): printable ASCII as it is, the rest as \\ddd."""
    out = []
    for byte in text.encode("latin-1"):
        char = chr(byte)
        out.append(char if 32 <= byte < 127 and char not in '"\\' else f"\\{byte:03d}")
    return '"' + "".join(out) + '"'


#: wrk's script: the target's requests in turn (each connection thread from its own offset), and one
#: JSON line at the end with the counts and the latency percentiles (microseconds).
_WRK_SCRIPT = """
local requests = {%s}
local index = 0
local step = %d
local offsets = 0
setup = function(thread) thread:set("offset", offsets); offsets = offsets + step end
init = function(args) index = offset or 0 end
request = function() index = index + 1; return requests[(index %% #requests) + 1] end
done = function(summary, latency, _)
  local e = summary.errors
  io.write(string.format('{"requests":%%d,"duration_us":%%d,"p50_us":%%d,"p99_us":%%d,"non2xx":%%d,' ..
    '"socket_errors":%%d}\\n', summary.requests, summary.duration, latency:percentile(50), latency:percentile(99),
    e.status, e.connect + e.read + e.write + e.timeout))
end
"""


def run_wrk(
    target: Target, args: argparse.Namespace, duration: float, postmaster: int | None, workdir: Path
) -> dict[str, Any]:
    """One run with wrk (C, two threads): the same requests, connections and duration as the asyncio client.

    wrk counts an answer outside 2xx/3xx as an error; every measured target expects 200. The CPU
    figures are sampled around the wrk process (its start-up is a few milliseconds of the run).
    """
    threads = min(2, args.connections)
    script = workdir / f"wrk-{target.name}.lua"
    step = max(1, len(target.requests) // threads)
    script.write_text(_WRK_SCRIPT % (",".join(_lua_string(r) for r in target.requests), step), encoding="latin-1")
    service0, db0 = _cpu(target.pid), _server_cpu(postmaster)
    command = [
        "wrk", f"-t{threads}", f"-c{args.connections}", f"-d{max(1, round(duration))}s", "--timeout", "10s",
        "-s", str(script), f"http://127.0.0.1:{target.port}/",
    ]  # fmt: skip
    done = subprocess.run(command, capture_output=True, text=True, timeout=duration + 60, check=False)
    service_cpu = _cpu(target.pid) - service0
    db_cpu = _server_cpu_delta(db0, _server_cpu(postmaster))
    lines = [line for line in done.stdout.splitlines() if line.startswith('{"requests"')]
    if done.returncode != 0 or not lines:
        raise RuntimeError(f"wrk failed on {target.name}: {done.stdout[-2000:]} {done.stderr[-2000:]}")
    figures = json.loads(lines[-1])
    count, elapsed = figures["requests"], figures["duration_us"] / 1e6
    errors = figures["non2xx"] + figures["socket_errors"]
    return {
        "requests": count,
        "seconds": round(elapsed, 3),
        "requests_per_second": count / elapsed if elapsed else 0.0,
        "p50_ms": figures["p50_us"] / 1000,
        "p99_ms": figures["p99_us"] / 1000,
        "statuses": {"non-2xx": figures["non2xx"], "socket errors": figures["socket_errors"]},
        "errors": errors,
        "error_samples": [] if not errors else [done.stdout[-500:]],
        "service_cpu_ms_per_request": service_cpu / count * 1000 if count else float("nan"),
        "db_cpu_ms_per_request": db_cpu / count * 1000 if count else float("nan"),
        "loadgen_cpu_ms_per_request": float("nan"),
        "load_average": os.getloadavg()[0],
    }


def run_load(
    target: Target, args: argparse.Namespace, duration: float, postmaster: int | None, workdir: Path
) -> dict[str, Any]:
    if args.load_tool == "wrk":
        return run_wrk(target, args, duration, postmaster, workdir)
    spec = {
        "host": "127.0.0.1",
        "port": target.port,
        "requests": target.requests,
        "connections": args.connections,
        "duration": duration,
        "expect": target.expect,
        "pid": target.pid,
        "postmaster": postmaster,
    }
    spec_path = workdir / f"spec-{target.name}.json"
    spec_path.write_text(json.dumps(spec))
    done = subprocess.run(
        [sys.executable, str(Path(__file__).resolve()), "--loadgen", str(spec_path)],
        capture_output=True,
        text=True,
        timeout=duration + 120,
        check=False,
        cwd=ROOT,
    )
    if done.returncode != 0:
        raise RuntimeError(f"load generator failed on {target.name}: {done.stderr[-3000:]}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    result["load_average"] = os.getloadavg()[0]
    return result


class FloorProcess:
    """bench/floor_app.py under uvicorn (one worker, 127.0.0.1), logging to a file."""

    def __init__(self, database_url: str, log_path: Path) -> None:
        from shared.embedded_pg import free_port

        self.port = free_port()
        self.database_url = database_url
        self.log_path = log_path
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 30) -> None:
        import httpx

        log = self.log_path.open("ab")
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "bench.floor_app:app",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--no-access-log",
                "--log-level",
                "warning",
                "--http",
                "httptools",
            ],
            env={**os.environ, "FLOOR_DATABASE_URL": self.database_url},
            cwd=ROOT,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"floor exited: {self.log_path.read_text(errors='replace')[-3000:]}")
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        raise RuntimeError(f"floor not ready in {timeout}s: {self.log_path.read_text(errors='replace')[-3000:]}")

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(20)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None


def seed(env: dict[str, str], households: int) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "services.cli", "seed", "--households", str(households)],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"fangpin seed failed: {done.stdout[-2000:]}{done.stderr[-3000:]}")
    return done.stdout.strip()


async def _database_facts(url: str) -> tuple[list[tuple[str, str]], str, int | None]:
    """200 household ids (spread over the villages), the server version, the postmaster's pid if local."""
    import asyncpg

    conn = await asyncpg.connect(url)
    try:
        households = [
            (str(r["id"]), str(r["village_code"]))
            for r in await conn.fetch(
                "SELECT id, village_code FROM registry.household WHERE archived_at IS NULL"
                " ORDER BY md5(id::text) LIMIT 200"
            )
        ]
        version = str(await conn.fetchval("SHOW server_version"))
        data_directory = await conn.fetchval("SHOW data_directory")
    finally:
        await conn.close()
    postmaster = None
    with suppress(OSError, ValueError, IndexError):
        postmaster = int((Path(data_directory) / "postmaster.pid").read_text().split()[0])
    return households, version, postmaster


def open_cases(url: str, token_for: Callable[[str], str], households: list[tuple[str, str]]) -> int:
    """Cadre-visit cases (a township officer's), one per household given as (id, village code)."""
    import httpx

    today = date.today().isoformat()
    opened = 0
    with httpx.Client(base_url=url, timeout=30) as client:
        for household_id, village in households:
            response = client.post(
                "/v1/cases",
                json={
                    "source": "cadre_visit",
                    "household_id": household_id,
                    "evidence": {
                        "home_visit_findings": "户主住院，务工收入中断",
                        "visit_date": today,
                        "signed_consent": True,
                    },
                },
                headers={
                    "Idempotency-Key": f"bench-case-{household_id}",
                    "Authorization": f"Bearer {token_for(village[:9])}",
                },
            )
            if response.status_code not in (200, 201):
                raise RuntimeError(f"POST /v1/cases: {response.status_code} {response.text[:500]}")
            opened += 1
    return opened


def open_claims(registry_url: str, claims_url: str, officer: str, service: str, household_ids: list[str]) -> list[str]:
    import httpx

    claim_ids = []
    with httpx.Client(timeout=30) as client:
        for household_id in household_ids:
            household = client.get(
                f"{registry_url}/v1/households/{household_id}", headers={"Authorization": f"Bearer {officer}"}
            )
            household.raise_for_status()
            read = household.json()
            lead = {
                "source": "feed",
                "source_record_id": f"medical_insurance:bench-{uuid.uuid4().hex}",
                "household_id": household_id,
                "member_id": read["members"][0]["id"],
                "county_code": read["county_code"],
                "village_code": read["village_code"],
                "category": "illness",
                "incident_date": "2026-03-05",
                "reported_date": "2026-03-20",
                "expense": {"total_cost": "50000.00", "basic_insurance_paid": "20000.00"},
                "evidence": {"department": "medical_insurance", "kind": "medical_expense"},
            }
            response = client.post(
                f"{claims_url}/v1/claims/leads", json=lead, headers={"Authorization": f"Bearer {service}"}
            )
            if response.status_code not in (200, 201):
                raise RuntimeError(f"POST /v1/claims/leads: {response.status_code} {response.text[:500]}")
            claim_ids.append(str(response.json()["claim_id"]))
    return claim_ids


def preview_bodies(count: int, seed_value: int) -> list[dict[str, Any]]:
    from bench.claims_assess import generate_claims
    from services.claims.domain.assessment import facts_to_dict
    from services.claims.domain.reference import REFERENCE_SCHEME

    return [{"scheme": REFERENCE_SCHEME, "facts": facts_to_dict(f, p)} for f, p in generate_claims(count, seed_value)]


# ---------------------------------------------------------------- the run


def measure(args: argparse.Namespace) -> dict[str, Any]:
    from shared.auth import Role, mint_token
    from tests.support.database import migrated_database, postgres_server
    from tests.support.processes import ServiceProcess, service_processes
    from tests.support.tokens import JWT_SECRET, service_env

    def tok(role: Role, region: str) -> str:
        return mint_token(JWT_SECRET, sub=f"bench:{role.value}", roles=[role], region=region, ttl_seconds=4 * 3600)

    officer, cadre, service = tok(Role.COUNTY_OFFICER, COUNTY), tok(Role.VILLAGE_CADRE, VILLAGE), tok(Role.SERVICE, "")
    report: dict[str, Any] = {}
    with ExitStack() as stack:
        workdir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="fangpin-bench-reads-")))
        server = stack.enter_context(postgres_server())
        url = stack.enter_context(migrated_database(server, "bench_reads"))
        env = {**service_env(url), "FANGPIN_HOST": "127.0.0.1", "FANGPIN_CLAIMS_SCHEDULER_ENABLED": "false"}
        t0 = time.perf_counter()
        report["seeded"] = seed(env, args.households)
        report["seed_seconds"] = round(time.perf_counter() - t0, 1)
        households, report["postgres"], postmaster = asyncio.run(_database_facts(url))
        ids = [household_id for household_id, _ in households]
        if len(ids) < args.cases + args.claims:
            raise RuntimeError(f"only {len(ids)} households seeded; need --cases + --claims")

        processes: dict[str, ServiceProcess] = service_processes(["registry", "screening", "claims"], env, workdir)
        floor = FloorProcess(url, workdir / "floor.log")
        for process in [*processes.values(), floor]:
            stack.callback(process.stop)
            try:
                process.start()
            except RuntimeError as failed:  # the log tail is in the message
                print(f"could not start {getattr(process, 'name', 'floor')}:\n{failed}", file=sys.stderr)
                raise
        registry, screening, claims = processes["registry"], processes["screening"], processes["claims"]

        townships = {township: tok(Role.TOWNSHIP_OFFICER, township) for township in {v[:9] for _, v in households}}
        report["cases_opened"] = open_cases(screening.url, townships.__getitem__, households[: args.cases])
        claim_ids = open_claims(registry.url, claims.url, officer, service, ids[args.cases : args.cases + args.claims])
        report["claims_opened"] = len(claim_ids)

        def pid(process: ServiceProcess) -> int | None:
            return process.proc.pid if process.proc else None

        villages = [code for code in _villages()]
        rng = random.Random(args.seed)
        searches = [{"region": v, "name_prefix": s, "limit": 20} for v in villages for s in SURNAMES]
        rng.shuffle(searches)
        floor_target = Target(
            "floor",
            floor.port,
            floor.proc.pid if floor.proc else None,
            [http_request("GET", f"/households/{i}", floor.port, None) for i in ids],
        )
        rp, sp, cp = registry.port, screening.port, claims.port
        targets = [
            Target(
                "household", rp, pid(registry), [http_request("GET", f"/v1/households/{i}", rp, officer) for i in ids]
            ),
            Target(
                "list",
                rp,
                pid(registry),
                [http_request("GET", f"/v1/households?region={v}&limit=20", rp, officer) for v in villages],
            ),
            Target(
                "search",
                rp,
                pid(registry),
                [http_request("POST", "/v1/households:search", rp, officer, body) for body in searches],
            ),
            Target("cases", sp, pid(screening), [http_request("GET", "/v1/cases?limit=20", sp, officer)]),
            Target("claim", cp, pid(claims), [http_request("GET", f"/v1/claims/{c}", cp, officer) for c in claim_ids]),
            Target(
                "preview",
                cp,
                pid(claims),
                [
                    http_request("POST", "/v1/assessments:preview", cp, cadre, body)
                    for body in preview_bodies(200, args.seed)
                ],
            ),
        ]
        wanted = [name.strip() for name in args.endpoints.split(",") if name.strip()]
        targets = [t for t in targets if t.name in wanted]

        for target in [floor_target, *targets]:  # warm-up: connections, prepared statements, caches
            warm = run_load(target, args, 1.0, postmaster, workdir)
            if warm["errors"]:
                raise RuntimeError(f"{target.name}: {warm['errors']} bad answers in warm-up: {warm['error_samples']}")

        for round_number in range(args.rounds):
            if round_number == 0:
                floor_target.runs.append(run_load(floor_target, args, args.duration, postmaster, workdir))
            for target in targets:
                result = run_load(target, args, args.duration, postmaster, workdir)
                floor_target.runs.append(run_load(floor_target, args, args.duration, postmaster, workdir))
                before, after = floor_target.runs[-2], floor_target.runs[-1]
                result["floor_rps"] = (before["requests_per_second"] + after["requests_per_second"]) / 2
                result["ratio"] = result["requests_per_second"] / result["floor_rps"]
                target.runs.append(result)
                print(
                    f"  round {round_number + 1} {target.name}: {result['requests_per_second']:.0f}/s, "
                    f"floor {result['floor_rps']:.0f}/s, ratio {result['ratio']:.1%}",
                    file=sys.stderr,
                )
        report["targets"] = {t.name: t.runs for t in [floor_target, *targets]}
    return report


def _villages() -> list[str]:
    from services.registry.demo import DEMO_VILLAGES

    return list(DEMO_VILLAGES)


def run_engine(args: argparse.Namespace) -> dict[str, Any]:
    from bench.claims_assess import run_engine as engine

    return engine(argparse.Namespace(claims=args.engine_claims, seed=20260305, freeze_input=True))


def summarise(runs: list[dict[str, Any]]) -> dict[str, Any]:
    def median(key: str) -> float:
        return statistics.median(r[key] for r in runs)

    summary = {
        "requests_per_second": median("requests_per_second"),
        "p50_ms": median("p50_ms"),
        "p99_ms": median("p99_ms"),
        "service_cpu_ms_per_request": median("service_cpu_ms_per_request"),
        "db_cpu_ms_per_request": median("db_cpu_ms_per_request"),
        "loadgen_cpu_ms_per_request": median("loadgen_cpu_ms_per_request"),
        "errors": sum(r["errors"] for r in runs),
        "rps_range": (min(r["requests_per_second"] for r in runs), max(r["requests_per_second"] for r in runs)),
    }
    if "ratio" in runs[0]:
        summary["ratio"] = median("ratio")
        summary["ratio_range"] = (min(r["ratio"] for r in runs), max(r["ratio"] for r in runs))
    return summary


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--households", type=int, default=3000, help="demo households to seed (default 3000)")
    parser.add_argument("--cases", type=int, default=30, help="screening cases to open (default 30)")
    parser.add_argument("--claims", type=int, default=20, help="claims to open from leads (default 20)")
    parser.add_argument("--duration", type=float, default=5.0, help="seconds per measured run (default 5)")
    parser.add_argument("--rounds", type=int, default=2, help="times the A B A B sequence is run (default 2)")
    parser.add_argument("--connections", type=int, default=16, help="keep-alive connections (default 16)")
    parser.add_argument("--engine-claims", type=int, default=100_000, help="claims for the engine (0: skip)")
    parser.add_argument(
        "--endpoints",
        default="household,list,search,cases,claim,preview",
        help="comma-separated endpoints to measure (default: all)",
    )
    parser.add_argument("--seed", type=int, default=20260305, help="RNG seed for the bodies (default 20260305)")
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    parser.add_argument(
        "--load-tool",
        choices=["auto", "wrk", "python"],
        default="auto",
        help="wrk (C) or the asyncio client; auto: wrk when it is installed (default)",
    )
    parser.add_argument("--loadgen", metavar="SPEC", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.load_tool == "auto":
        args.load_tool = "wrk" if shutil.which("wrk") else "python"
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    if args.loadgen:
        return loadgen_main(args.loadgen)
    from bench.registry_import import machine_facts

    started = time.perf_counter()
    load_before = os.getloadavg()
    report = measure(args)
    report["engine"] = run_engine(args) if args.engine_claims > 0 else None
    report["machine"] = machine_facts()
    report["load_average_before"] = load_before[0]
    report["load_average_after"] = os.getloadavg()[0]
    report["wall_seconds"] = round(time.perf_counter() - started, 1)
    report["load_generator"] = (
        "wrk, 2 threads" if args.load_tool == "wrk" else "asyncio streams (uvloop) in a separate process"
    )
    report["summary"] = {name: summarise(runs) for name, runs in report["targets"].items()}
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return 0
    print(f"machine: {report['machine']}, PostgreSQL {report['postgres']}")
    print(
        f"load average {report['load_average_before']:.2f} before, {report['load_average_after']:.2f} after; "
        f"wall {report['wall_seconds']} s; seeded {report['seeded']} in {report['seed_seconds']} s; "
        f"{report['cases_opened']} cases, {report['claims_opened']} claims"
    )
    print(
        f"load: {report['load_generator']}, {args.connections} connections, {args.duration:g} s per run, "
        f"{args.rounds} rounds (floor, endpoint, floor, … alternating)"
    )
    print(
        f"{'endpoint':<10} {'req/s':>8} {'range':>13} {'p50 ms':>7} {'p99 ms':>7} {'of floor':>9} "
        f"{'ratio range':>13} {'svc CPU ms/req':>14} {'db CPU ms/req':>13} {'loadgen ms/req':>14} {'errors':>6}  target"
    )
    for name, s in report["summary"].items():
        ratio = f"{s['ratio']:.1%}" if "ratio" in s else "-"
        spread = f"{s['ratio_range'][0]:.1%}-{s['ratio_range'][1]:.1%}" if "ratio" in s else "-"
        low, high = s["rps_range"]
        print(
            f"{name:<10} {s['requests_per_second']:>8.0f} {f'{low:.0f}-{high:.0f}':>13} {s['p50_ms']:>7.1f} "
            f"{s['p99_ms']:>7.1f} {ratio:>9} {spread:>13} {s['service_cpu_ms_per_request']:>14.2f} "
            f"{s['db_cpu_ms_per_request']:>13.2f} {s['loadgen_cpu_ms_per_request']:>14.2f} {s['errors']:>6}  "
            f"{TARGETS.get(name, '')}"
        )
    engine = report["engine"]
    if engine:
        print(
            f"engine: {engine['assessments_per_second']} assessments/s ({engine['claims']} claims in "
            f"{engine['seconds']} s)  target {TARGETS['engine']}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
