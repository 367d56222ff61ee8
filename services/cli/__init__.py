"""`fangpin`: the composition root, one entry point for developers, operators and containers.

It is the one package that may import every service (import-linter keeps the services
independent of each other and `shared/` free of them; see `[tool.importlinter]` in
pyproject.toml). One module per command group; each command imports what it needs when it
runs, so `fangpin token` does not load three applications.

    processes.py   serve, up                      (uvicorn, the embedded database, child processes)
    database.py    migrate, seed, verify-audit, rotate-pii-key
    tokens.py      token
    registry.py    import                         (through the registry's HTTP API), report (in this process)
    screening.py   screen, case-step              (in this process, the paths of POST /v1/runs and a case step)
    claims.py      advance-notices
"""

from __future__ import annotations

from collections.abc import Callable

import typer

from services.cli import claims, database, processes, registry, screening, tokens
from services.cli.processes import uvicorn_options

__all__ = ["app", "main", "uvicorn_options"]

app = typer.Typer(help="Fangpin (防贫) command line", no_args_is_help=True, add_completion=False)

# Every command's --help ends with an example (the epilog).
EXAMPLES = {
    "serve": "fangpin serve registry --port 8001",
    "migrate": "FANGPIN_DATABASE_URL=postgresql://fangpin@db:5432/fangpin fangpin migrate",
    "token": "fangpin token --role village_cadre --region 410602100201",
    "verify-audit": "fangpin verify-audit",
    "seed": "fangpin seed --households 500",
    "import": "fangpin import my-village.csv --mode valid_rows",
    "report": "fangpin report --county 410602 --year 2026 --out report-2026.xlsx",
    "advance-notices": "fangpin advance-notices --today 2026-12-13",
    "screen": "fangpin screen --county 410602 --period 2026-11",
    "case-step": (
        "fangpin case-step $CASE township_review --today 2026-12-07 --role township_officer "
        "--region 410602100 --evidence '{\"objection_count\": 0}'"
    ),
    "up": "fangpin up --households 50",
    "rotate-pii-key": "FANGPIN_PII_KEY=$NEW FANGPIN_PII_OLD_KEYS=$OLD fangpin rotate-pii-key",
}


def _command(name: str, function: Callable[..., None]) -> None:
    app.command(name, epilog=f"Example: {EXAMPLES[name]}")(function)


_command("serve", processes.serve)
_command("migrate", database.migrate)
_command("token", tokens.token)
_command("verify-audit", database.verify_audit)
_command("seed", database.seed)
_command("import", registry.import_file)
_command("report", registry.report)
_command("advance-notices", claims.advance_notices)
_command("screen", screening.screen)
_command("case-step", screening.case_step)
_command("up", processes.up)
_command("rotate-pii-key", database.rotate_pii_key)


def main() -> None:
    app()
