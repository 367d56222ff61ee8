"""Benchmark of the claims assessment engine (issue 5, acceptance 6).

    .venv/bin/python bench/claims_assess.py [--claims 100000] [--seed 20260305] [--json]
        [--parts engine,http] [--requests 5000] [--concurrency 32]

Part ``engine``: assessments per second of the pure engine (``assess``) over generated claims
of all six categories under the reference scheme, with a seeded RNG so runs are comparable.
Generation is not timed; only the loop of ``assess`` calls is, in wall time and in the process's CPU
time (``time.process_time``: on a shared machine the steadier figure), with the load average.

Part ``http``: ``POST /v1/assessments:preview`` requests per second against the claims service
started as a real process (``fangpin serve claims``, one uvicorn worker) on a fresh migrated
database (embedded PostgreSQL, or a new database on TEST_DATABASE_URL's server). The bodies are
the same generated claims; ``--concurrency`` requests are kept in flight by a client in
this process (a bare keep-alive HTTP/1.1 client, so the load generator costs little CPU). The
service's own CPU time per request is reported too: on a shared or small machine it is the
steadier figure. Two variants: the scheme inline in every body, and by ``scheme_code`` (one stored
scheme read per request). Each answer is checked against the engine's own figure.

``main`` runs every part listed in ``PARTS``; a part is a function taking the parsed arguments
and returning a dict of figures.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import platform
import random
import sys
import time
from collections import Counter
from collections.abc import Callable
from datetime import date, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from services.claims.domain.assessment import (
    ClaimFacts,
    HouseholdFacts,
    YearToDate,
    assess,
)
from services.claims.domain.reference import REFERENCE_SCHEME
from services.claims.domain.scheme import Category, HouseholdStatus, parse_scheme

LEVELS = ("senior_high", "secondary_vocational", "junior_college", "undergraduate")


def _yuan(rng: random.Random, low: int, high: int) -> Decimal:
    """A random amount in yuan with fen, between ``low`` and ``high`` yuan."""
    return Decimal(rng.randint(low * 100, high * 100)).scaleb(-2)


def _expense(rng: random.Random, category: Category) -> dict[str, Decimal | str]:
    if category is Category.ILLNESS:
        total = _yuan(rng, 1_000, 300_000)
        return {
            "total_cost": total,
            "non_compliant_cost": _yuan(rng, 0, 10_000),
            "basic_insurance_paid": (total * Decimal(rng.randint(30, 60)) / 100).quantize(Decimal("0.01")),
            "critical_illness_paid": _yuan(rng, 0, 30_000),
            "medical_assistance_paid": _yuan(rng, 0, 10_000),
        }
    if category is Category.DISASTER_ACCIDENT:
        return {"assessed_loss": _yuan(rng, 500, 300_000), "compensation_received": _yuan(rng, 0, 20_000)}
    if category is Category.IN_SCHOOL:
        return {"education_cost": _yuan(rng, 1_000, 40_000), "aid_received": _yuan(rng, 0, 10_000)}
    if category is Category.INDUSTRY_LOSS:
        return {
            "assessed_loss": _yuan(rng, 1_000, 100_000),
            "insurance_compensation": _yuan(rng, 0, 20_000),
            "subsidies_received": _yuan(rng, 0, 5_000),
        }
    if category is Category.SCHOOL_ENTRY:
        return {"level": rng.choice(LEVELS)}
    return {}


def generate_claims(count: int, seed: int, year: int = 2026) -> list[tuple[ClaimFacts, YearToDate]]:
    """``count`` claims with their year-to-date figures, mostly passing the gates (as in real use)."""
    rng = random.Random(seed)
    categories = list(Category)
    statuses = list(HouseholdStatus)
    start = date(year, 1, 1)
    claims = []
    for _ in range(count):
        category = rng.choice(categories)
        members = rng.randint(1, 8)
        income = _yuan(rng, -5_000, 12_000 * members)
        incident = start + timedelta(days=rng.randint(-10, 364))
        household = HouseholdFacts(
            status=rng.choice(statuses),
            members=members,
            annual_net_income=income,
            previous_annual_net_income=_yuan(rng, 0, 15_000 * members) if rng.random() < 0.9 else None,
            insured=rng.random() < 0.97,
            negative_list=rng.random() < 0.02,
        )
        facts = ClaimFacts(
            category=category,
            household=household,
            incident_date=incident,
            reported_date=incident + timedelta(days=rng.randint(0, 200)),
            expense=_expense(rng, category),
        )
        paid = _yuan(rng, 0, 20_000) if rng.random() < 0.3 else Decimal("0.00")
        prior = YearToDate(
            category_base=_yuan(rng, 0, 50_000) if rng.random() < 0.3 else Decimal("0.00"),
            category_paid=paid,
            household_paid=paid + (_yuan(rng, 0, 100_000) if rng.random() < 0.2 else Decimal("0.00")),
            same_student_level_paid=rng.random() < 0.05,
        )
        claims.append((facts, prior))
    return claims


def machine_facts() -> dict[str, Any]:
    return {
        "processor": platform.processor() or "(not reported)",
        "cpu_count": os.cpu_count(),
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "platform": platform.platform(),
    }


def run_engine(args: argparse.Namespace) -> dict[str, Any]:
    """Part ``engine``: the pure ``assess`` over ``args.claims`` generated claims."""
    scheme = parse_scheme(REFERENCE_SCHEME)
    claims = generate_claims(args.claims, args.seed)
    outcomes: Counter[str] = Counter()
    total_paid = Decimal(0)
    # The generated input (every claim alive at once, a bench's scaffolding: a service assesses
    # claims as they come from the database) is moved out of the cyclic collector's reach, as a
    # served process's start-up heap is (shared/app.py freeze_startup_heap); the engine's own
    # allocations are collected as usual. --no-freeze-input measures with them walked.
    if args.freeze_input:
        gc.collect()
        gc.freeze()
    started = time.perf_counter()
    cpu_started = time.process_time()
    for facts, prior in claims:
        result = assess(scheme, facts, prior)
        outcomes[result.rejection_code.value if result.rejection_code else "paid"] += 1
        total_paid += result.payout
    elapsed = time.perf_counter() - started
    cpu = time.process_time() - cpu_started
    return {
        "part": "engine",
        "claims": len(claims),
        "seed": args.seed,
        "seconds": round(elapsed, 3),
        "assessments_per_second": round(len(claims) / elapsed),
        "cpu_us_per_assessment": round(cpu / len(claims) * 1e6, 2),
        "assessments_per_cpu_second": round(len(claims) / cpu) if cpu else None,
        "input_frozen": bool(args.freeze_input),
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "total_payout": str(total_paid),
        "outcomes": dict(outcomes.most_common()),
    }


def _percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


async def _drive(
    url: str, token: str, bodies: list[dict[str, Any]], expected: list[str], concurrency: int
) -> dict[str, Any]:
    """Keep `concurrency` keep-alive connections busy with pre-encoded requests.

    A bare HTTP/1.1 client on asyncio streams: the load generator shares the machine with the
    service, and httpx costs more CPU per request than the service does, so it would measure itself.
    """
    import asyncio
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    requests = []
    for body in bodies:
        payload = json.dumps(body, separators=(",", ":")).encode()
        head = (
            f"POST /v1/assessments:preview HTTP/1.1\r\nHost: {host}:{port}\r\nAuthorization: Bearer {token}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        ).encode()
        requests.append(head + payload)
    latencies: list[float] = []
    failures: list[str] = []
    queue = iter(range(len(bodies)))

    async def worker() -> None:
        reader, writer = await asyncio.open_connection(host, port)
        try:
            for index in queue:
                started = time.perf_counter()
                writer.write(requests[index])
                status_line = await reader.readline()
                length = 0
                while (line := await reader.readline()) not in (b"\r\n", b""):
                    name, _, value = line.partition(b":")
                    if name.strip().lower() == b"content-length":
                        length = int(value)
                content = await reader.readexactly(length)
                latencies.append(time.perf_counter() - started)
                status = int(status_line.split()[1])
                if status != 200:
                    failures.append(f"{status}: {content[:200]!r}")
                    continue
                answer = json.loads(content)
                got = answer["payout"] if answer["eligible"] else answer["rejection_code"]
                if got != expected[index]:
                    failures.append(f"claim {index}: service said {got}, engine said {expected[index]}")
        finally:
            writer.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(bodies),
        "seconds": round(elapsed, 3),
        "requests_per_second": round(len(bodies) / elapsed),
        "latency_ms_p50": round(_percentile(latencies, 0.50) * 1000, 1),
        "latency_ms_p95": round(_percentile(latencies, 0.95) * 1000, 1),
        "failures": len(failures),
        "first_failures": failures[:3],
    }


def run_http(args: argparse.Namespace) -> dict[str, Any]:
    """Part ``http``: preview requests per second against the claims service as a real process."""
    import asyncio
    import tempfile

    import httpx
    import psutil

    from services.claims.domain.assessment import facts_to_dict
    from shared.auth import Role, mint_token
    from tests.support.database import migrated_database, postgres_server
    from tests.support.processes import service_processes
    from tests.support.tokens import JWT_SECRET, service_env

    scheme = parse_scheme(REFERENCE_SCHEME)
    claims = generate_claims(args.requests, args.seed + 1)
    expected = []
    for facts, prior in claims:
        result = assess(scheme, facts, prior)
        expected.append(f"{result.payout:.2f}" if result.eligible else str(result.rejection_code))
    facts_bodies = [facts_to_dict(facts, prior) for facts, prior in claims]
    inline = [{"scheme": REFERENCE_SCHEME, "facts": f} for f in facts_bodies]
    stored = [{"scheme_code": REFERENCE_SCHEME["code"], "facts": f} for f in facts_bodies]
    officer = mint_token(JWT_SECRET, sub="bench:county", roles=[Role.COUNTY_OFFICER], region="410602")
    cadre = mint_token(JWT_SECRET, sub="bench:cadre", roles=[Role.VILLAGE_CADRE], region="410602100201")
    variants: dict[str, Any] = {}
    with (
        postgres_server() as server,
        migrated_database(server, "bench_claims") as database_url,
        tempfile.TemporaryDirectory(prefix="fangpin-bench-") as logs,
    ):
        env = {**service_env(database_url), "FANGPIN_CLAIMS_SCHEDULER_ENABLED": "false"}
        claims_process = service_processes(["claims"], env, Path(logs))["claims"]
        claims_process.start()
        try:
            created = httpx.post(
                f"{claims_process.url}/v1/schemes",
                json=REFERENCE_SCHEME,
                headers={"Authorization": f"Bearer {officer}"},
                timeout=30,
            )
            created.raise_for_status()
            warm = min(200, len(inline))
            asyncio.run(_drive(claims_process.url, cadre, inline[:warm], expected[:warm], args.concurrency))
            server = psutil.Process(claims_process.proc.pid) if claims_process.proc else None
            for name, bodies in (("inline_scheme", inline), ("stored_scheme", stored)):
                before = sum(server.cpu_times()[:2]) if server else 0.0
                variants[name] = asyncio.run(_drive(claims_process.url, cadre, bodies, expected, args.concurrency))
                if server is not None:
                    cpu = sum(server.cpu_times()[:2]) - before
                    variants[name]["server_cpu_ms_per_request"] = round(cpu / len(bodies) * 1000, 2)
                    variants[name]["requests_per_server_cpu_second"] = round(len(bodies) / cpu) if cpu else None
        finally:
            claims_process.stop()
    return {"part": "http", "concurrency": args.concurrency, "workers": 1, "variants": variants}


# Each part: (name, function).
PARTS: list[tuple[str, Callable[[argparse.Namespace], dict[str, Any]]]] = [
    ("engine", run_engine),
    ("http", run_http),
]


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--claims", type=int, default=100_000, help="claims to generate (default 100000)")
    parser.add_argument("--seed", type=int, default=20260305, help="RNG seed (default 20260305)")
    parser.add_argument("--requests", type=int, default=5000, help="preview requests per HTTP variant (default 5000)")
    parser.add_argument("--concurrency", type=int, default=32, help="HTTP requests in flight (default 32)")
    parser.add_argument(
        "--parts", default=",".join(name for name, _ in PARTS), help="comma-separated parts to run (default: all)"
    )
    parser.add_argument(
        "--freeze-input",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="freeze the generated claims out of the cyclic collector before timing the engine (default: on)",
    )
    parser.add_argument("--json", action="store_true", help="print one JSON document instead of text")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    wanted = [name.strip() for name in args.parts.split(",") if name.strip()]
    known = dict(PARTS)
    unknown = [name for name in wanted if name not in known]
    if unknown:
        print(f"unknown part(s): {', '.join(unknown)}; known: {', '.join(known)}", file=sys.stderr)
        return 2
    report: dict[str, Any] = {"machine": machine_facts(), "results": []}
    for name in wanted:
        report["results"].append(known[name](args))
    if args.json:
        print(json.dumps(report, ensure_ascii=False, indent=2))
        return 0
    machine = report["machine"]
    print(
        f"machine: processor={machine['processor']} cpus={machine['cpu_count']} "
        f"python={machine['python']} ({machine['implementation']}) platform={machine['platform']}"
    )
    for result in report["results"]:
        if result["part"] == "engine":
            print(
                f"engine: {result['assessments_per_second']} assessments/second "
                f"({result['claims']} claims in {result['seconds']} s, seed {result['seed']}); "
                f"CPU {result['cpu_us_per_assessment']} us an assessment = "
                f"{result['assessments_per_cpu_second']} per CPU-second; load {result['load_average']}"
            )
            print(f"  outcomes: {result['outcomes']}")
            print(f"  total payout: {result['total_payout']}")
        elif result["part"] == "http":
            for name, variant in result["variants"].items():
                print(
                    f"http {name}: {variant['requests_per_second']} preview requests/second "
                    f"({variant['requests']} requests in {variant['seconds']} s, {result['concurrency']} in flight, "
                    f"p50 {variant['latency_ms_p50']} ms, p95 {variant['latency_ms_p95']} ms, "
                    f"{variant['failures']} failures; service CPU "
                    f"{variant.get('server_cpu_ms_per_request')} ms/request = "
                    f"{variant.get('requests_per_server_cpu_second')} requests per CPU-second)"
                )
                for failure in variant["first_failures"]:
                    print(f"  {failure}")
        else:
            print(f"{result['part']}: {json.dumps(result, ensure_ascii=False)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
