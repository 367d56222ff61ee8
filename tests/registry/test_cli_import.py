"""`fangpin import FILE` against a running registry: progress, summary, the same file imports once."""

from __future__ import annotations

import asyncio
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import create_async_engine

from services.registry.demo import generate_households, households_csv
from shared.settings import async_database_url
from tests.registry.test_personal_data import _seed_regions
from tests.support.database import migrated_database
from tests.support.processes import ROOT, service_processes
from tests.support.tokens import service_env, token


async def _members(url: str) -> int:
    engine = create_async_engine(async_database_url(url))
    try:
        async with engine.connect() as conn:
            return int(await conn.scalar(text("SELECT count(*) FROM registry.member")) or 0)
    finally:
        await engine.dispose()


@pytest.mark.e2e
def test_fangpin_import_twice_imports_once(pg_server: str, tmp_path: Path) -> None:
    households = list(generate_households(25, seed=99, start=990_000))
    members = sum(len(h.members) for h in households)
    file = tmp_path / "鹤山区花名册.csv"
    file.write_bytes(households_csv(households))
    with migrated_database(pg_server, "registry_cli") as url:
        asyncio.run(_seed_regions(url))
        registry = service_processes(["registry"], service_env(url), tmp_path)["registry"]
        registry.start()
        try:
            command = [
                sys.executable,
                "-m",
                "services.cli",
                "import",
                str(file),
                "--mode",
                "valid_rows",
                "--url",
                registry.url,
            ]
            env = {"FANGPIN_TOKEN": token("county_officer", "410602"), "PATH": "/usr/bin:/bin"}
            first = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            assert first.returncode == 0, first.stdout + first.stderr
            assert f"{len(households)} households and {members} members imported" in first.stdout
            assert "upload 鹤山区花名册.csv" in first.stdout
            second = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
            assert second.returncode == 0, second.stdout + second.stderr
            assert "already submitted" in second.stdout
            assert asyncio.run(_members(url)) == members
            bad = tmp_path / "bad.csv"
            bad.write_bytes("户编号,姓名\n1,张三\n".encode())
            failed = subprocess.run(
                [*command[:4], str(bad), "--url", registry.url],
                cwd=ROOT,
                env=env,
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert failed.returncode == 1
            assert "missing column" in failed.stdout
        finally:
            registry.stop()
