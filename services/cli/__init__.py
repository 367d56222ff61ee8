"""`fangpin`: the composition root, one entry point for developers, operators and containers.

It is the one package that may import every service (import-linter keeps the services
independent of each other and `shared/` free of them; see `[tool.importlinter]` in
pyproject.toml). One module per command group; each command imports what it needs when it
runs, so `fangpin token` does not load three applications.

    processes.py   serve, up                      (uvicorn, the embedded database, child processes)
    database.py    migrate, seed, verify-audit, rotate-pii-key
    tokens.py      token
    registry.py    import                         (through the registry's HTTP API)
    screening.py   screen                         (in this process, the same path as POST /v1/runs)
    claims.py      advance-notices
"""

from __future__ import annotations

import typer

from services.cli import claims, database, processes, registry, screening, tokens
from services.cli.processes import uvicorn_options

__all__ = ["app", "main", "uvicorn_options"]

app = typer.Typer(help="Fangpin (防贫) command line", no_args_is_help=True, add_completion=False)

app.command()(processes.serve)
app.command()(database.migrate)
app.command()(tokens.token)
app.command("verify-audit")(database.verify_audit)
app.command()(database.seed)
app.command("import")(registry.import_file)
app.command("advance-notices")(claims.advance_notices)
app.command()(screening.screen)
app.command()(processes.up)
app.command("rotate-pii-key")(database.rotate_pii_key)


def main() -> None:
    app()
