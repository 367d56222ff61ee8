"""One layout for every service (design/style.md, issue 11): learn one service, know all three.

    services/<name>/
      __init__.py
      app.py          create_app(settings) + lifespan
      config.py       <Name>Settings(ServiceSettings)
      jobs.py         the service's background jobs and schedules, on the kernel's job runner
      api/            __init__.py, schemas.py (wire models), deps.py (Annotated aliases),
                      and at least one routes module (one per resource); nothing else, no subpackages
      service/        __init__.py and at least one use-case module (one per aggregate); no subpackages
      domain/         __init__.py and pure modules; no subpackages
      db/             __init__.py, tables.py, and one <aggregate>_repository.py per aggregate (at
                      least one); nothing else, no subpackages
      clients/        __init__.py and typed HTTP clients of the other services; no subpackages

Allowed besides, at the service root and nowhere else:
      demo.py         demo data, loaded by `fangpin seed` / `fangpin up` (services/cli/)
      metrics.py      the service's Prometheus instruments, when it has its own

Nothing else at the service root: no `schemas.py` (it is `api/schemas.py`), no `cli.py` (the CLI
is `services/cli/`), no `workers.py`/`scheduler.py` (that is `jobs.py`), no `regions.py` (a
rule goes to `domain/`, a query to `db/`). `__pycache__` is ignored. `services/cli/` is the
composition root, not a service, and is not checked here.

Each service is marked xfail(strict=True) until its step-2 refactor makes it conform; the helper
who does it removes that service's mark (strict: a conforming service with the mark fails).
"""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
SERVICES = ("registry", "screening", "claims")

REQUIRED_FILES = ("__init__.py", "app.py", "config.py", "jobs.py")
OPTIONAL_FILES = ("demo.py", "metrics.py")
PACKAGES = ("api", "service", "domain", "db", "clients")


def _entries(directory: Path) -> list[Path]:
    return sorted(p for p in directory.iterdir() if p.name != "__pycache__")


def departures(service_dir: Path) -> list[str]:
    """Every way `service_dir` departs from the one layout; empty when it conforms."""
    problems: list[str] = []
    name = service_dir.name
    for required in REQUIRED_FILES:
        if not (service_dir / required).is_file():
            problems.append(f"{name}/{required} is missing")
    for package in PACKAGES:
        if not (service_dir / package / "__init__.py").is_file():
            problems.append(f"{name}/{package}/ is missing (a package with __init__.py)")
    allowed = {*REQUIRED_FILES, *OPTIONAL_FILES, *PACKAGES}
    for entry in _entries(service_dir):
        if entry.name not in allowed:
            problems.append(f"{name}/{entry.name}{'/' if entry.is_dir() else ''} is not part of the layout")

    def modules(package: str) -> list[Path]:
        directory = service_dir / package
        if not directory.is_dir():
            return []
        found = []
        for entry in _entries(directory):
            if entry.is_dir():
                problems.append(f"{name}/{package}/{entry.name}/: no subpackages in {package}/")
            elif entry.suffix != ".py":
                problems.append(f"{name}/{package}/{entry.name}: only Python modules in {package}/")
            elif entry.name != "__init__.py":
                found.append(entry)
        return found

    api = modules("api")
    for required in ("schemas.py", "deps.py"):
        if (service_dir / "api").is_dir() and not (service_dir / "api" / required).is_file():
            problems.append(f"{name}/api/{required} is missing")
    if (service_dir / "api").is_dir() and not [m for m in api if m.name not in ("schemas.py", "deps.py")]:
        problems.append(f"{name}/api/ has no routes module")
    if (service_dir / "service").is_dir() and not modules("service"):
        problems.append(f"{name}/service/ has no use-case module")
    modules("domain")
    modules("clients")
    db = modules("db")
    if (service_dir / "db").is_dir():
        if not (service_dir / "db" / "tables.py").is_file():
            problems.append(f"{name}/db/tables.py is missing")
        repositories = [m for m in db if m.name.endswith("_repository.py")]
        if not repositories:
            problems.append(f"{name}/db/ has no <aggregate>_repository.py")
        for module in db:
            if module.name != "tables.py" and not module.name.endswith("_repository.py"):
                problems.append(f"{name}/db/{module.name}: db/ holds tables.py and *_repository.py only")
    return problems


STEP_2 = pytest.mark.xfail(strict=True, reason="issue 11 step 2")


@pytest.mark.parametrize(
    "service",
    [
        "registry",
        "screening",
        pytest.param("claims"),
    ],
)
def test_the_service_has_the_one_layout(service: str) -> None:
    problems = departures(ROOT / "services" / service)
    assert not problems, "\n".join(problems)


def test_the_three_services_are_the_ones_checked() -> None:
    """A fourth service (a package under services/ other than cli) must join SERVICES, and the layout."""
    packages = {p.name for p in (ROOT / "services").iterdir() if (p / "__init__.py").is_file()}
    assert packages - {"cli"} == set(SERVICES)


def _tree(base: Path, files: list[str]) -> Path:
    service = base / "sample"
    for file in files:
        path = service / file
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text("")
    return service


CONFORMING = [
    "__init__.py", "app.py", "config.py", "jobs.py", "demo.py", "metrics.py",
    "api/__init__.py", "api/schemas.py", "api/deps.py", "api/claims.py",
    "service/__init__.py", "service/claims.py",
    "domain/__init__.py", "domain/assessment.py",
    "db/__init__.py", "db/tables.py", "db/claim_repository.py",
    "clients/__init__.py", "clients/registry.py",
]  # fmt: skip


def test_the_checker_accepts_the_layout(tmp_path: Path) -> None:
    assert departures(_tree(tmp_path, CONFORMING)) == []


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        (("remove", "jobs.py"), "sample/jobs.py is missing"),
        (("add", "schemas.py"), "sample/schemas.py is not part of the layout"),
        (("add", "services/__init__.py"), "sample/services/ is not part of the layout"),
        (("remove", "api/schemas.py"), "sample/api/schemas.py is missing"),
        (("remove", "api/claims.py"), "sample/api/ has no routes module"),
        (("add", "db/claims.py"), "sample/db/claims.py: db/ holds tables.py and *_repository.py only"),
        (("remove", "db/claim_repository.py"), "sample/db/ has no <aggregate>_repository.py"),
        (("add", "domain/rules/__init__.py"), "sample/domain/rules/: no subpackages in domain/"),
        (("remove", "clients/__init__.py"), "sample/clients/ is missing (a package with __init__.py)"),
    ],
)
def test_the_checker_names_each_departure(tmp_path: Path, change: tuple[str, str], problem: str) -> None:
    action, file = change
    files = [f for f in CONFORMING if not (action == "remove" and f == file)]
    if action == "add":
        files.append(file)
    assert problem in departures(_tree(tmp_path, files))
