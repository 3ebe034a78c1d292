"""Database engine and per-service schemas."""

from __future__ import annotations

from sqlalchemy import MetaData, text
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.shared.settings import LabSettings


def create_engine(settings: LabSettings, pool_size: int = 10) -> AsyncEngine:
    """An async engine on the lab's database."""
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        pool_pre_ping=True,
    )


async def create_schema(engine: AsyncEngine, metadata: MetaData) -> None:
    """Creates a service's schema and tables when they do not exist yet."""
    schema = metadata.schema
    async with engine.begin() as conn:
        # Two instances starting at once would race on CREATE; serialise them.
        await conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"),
                           {"s": f"schema:{schema}"})
        if schema:
            await conn.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        await conn.run_sync(metadata.create_all)
