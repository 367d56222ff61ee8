"""`fangpin migrate`, `seed`, `verify-audit`, `rotate-pii-key`: commands on the one database."""

from __future__ import annotations

import asyncio
from typing import TYPE_CHECKING, Annotated, Any

import typer

from services.cli.common import database_url, engine, local_env

if TYPE_CHECKING:
    from shared.pii_rotation import EncryptedColumn


def migrate(revision: Annotated[str, typer.Argument()] = "head") -> None:
    """Apply database migrations (Alembic `upgrade head`)."""
    from shared.migrate import upgrade

    upgrade(database_url(), revision)
    typer.echo(f"migrated to {revision}")


async def _verify_audit(url: str) -> Any:
    from shared.audit import verify_chain

    async with engine(url) as created, created.connect() as conn:
        return await verify_chain(conn)


def verify_audit() -> None:
    """Check the audit log's hash chain; exit 1 naming the first broken row."""
    report = asyncio.run(_verify_audit(database_url()))
    if report.ok:
        typer.echo(f"audit chain intact: {report.rows_checked} rows")
        return
    typer.echo(f"audit chain BROKEN at row {report.first_broken_id}: {report.reason}", err=True)
    raise typer.Exit(1)


async def seed_demo(url: str, households: int) -> dict[str, int]:
    """Demo regions, the reference insurance scheme (rules.md §2.1) and, if asked, demo households."""
    from sqlalchemy.ext.asyncio import async_sessionmaker

    from services.claims.demo import seed_schemes
    from services.registry import demo

    result: dict[str, int] = {}
    async with engine(url) as created:
        sessionmaker = async_sessionmaker(created, expire_on_commit=False)
        async with sessionmaker() as session:
            result["regions"] = await demo.seed_regions(session)
        async with sessionmaker() as session:
            result["schemes"] = await seed_schemes(session)
        if households:
            async with sessionmaker() as session:
                result["households"] = await demo.seed_households(session, households)
    return result


def seed(households: Annotated[int, typer.Option(help="demo households to generate")] = 0) -> None:
    """Load demo regions (and households) into the demo county 鹤山区 (410602)."""
    local_env()
    typer.echo(f"seeded {asyncio.run(seed_demo(database_url(), households))}")


def encrypted_columns() -> list[EncryptedColumn]:
    """Every service's declared encrypted columns (each service's `db/tables.py` ENCRYPTED_COLUMNS)."""
    from services.claims.db import tables as claims_tables
    from services.registry.db import tables as registry_tables
    from services.screening.db import tables as screening_tables

    columns: list[EncryptedColumn] = []
    for tables in (registry_tables, screening_tables, claims_tables):
        columns += list(getattr(tables, "ENCRYPTED_COLUMNS", []))
    return columns


async def _rotate_pii(reindex: bool | None) -> dict[str, int]:
    from shared.pii_rotation import RotationError, rotate
    from shared.settings import ServiceSettings

    cipher = ServiceSettings().pii_cipher()
    if cipher is None:
        typer.echo("FANGPIN_PII_KEY and FANGPIN_PII_INDEX_KEY must be set", err=True)
        raise typer.Exit(2)
    typer.echo(f"rotating to {cipher.algorithm} (blind index {cipher.index_algorithm})")
    async with engine(database_url()) as created:
        try:
            done = await rotate(
                created,
                cipher,
                encrypted_columns(),
                reindex=reindex,
                progress=lambda col, n: typer.echo(f"  {col.schema}.{col.table}.{col.column}: {n}"),
            )
        except RotationError as exc:
            typer.echo(str(exc), err=True)
            raise typer.Exit(1) from exc
        done["registry.person_claim.national_id_index"] = await rewrite_person_claims(created)
        return done


async def rewrite_person_claims(created: Any) -> int:
    """The person claims follow their members' blind indexes (issue 15): after a change of the index
    key, each claim is rewritten to its member's new index (claimed_at kept). Re-runnable: a claim
    already under its member's index is left alone."""
    from sqlalchemy import text

    async with created.begin() as conn:
        result = await conn.execute(
            text(
                "UPDATE registry.person_claim pc SET national_id_index = m.national_id_index "
                "FROM registry.member m WHERE m.id = pc.member_id AND m.national_id_index <> pc.national_id_index"
            )
        )
    return int(result.rowcount or 0)


def rotate_pii_key(
    reindex: bool | None = typer.Option(
        None,
        "--reindex/--no-reindex",
        help="recompute every blind index (default: when a sample shows the index key or algorithm changed)",
    ),
) -> None:
    """Re-encrypt every stored personal-data column under FANGPIN_PII_KEY and FANGPIN_PII_ALGORITHM (re-runnable).

    Blind indexes are recomputed with FANGPIN_PII_INDEX_KEY and the index algorithm where they differ;
    a change of the index is an offline step (docs/operations.md).
    """
    local_env()
    result = asyncio.run(_rotate_pii(reindex))
    typer.echo(f"re-encrypted: {result}")
