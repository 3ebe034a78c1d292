"""Database engine and per-service schemas."""

from __future__ import annotations

import asyncpg
import orjson
from sqlalchemy import MetaData, text
from sqlalchemy.exc import DBAPIError, InterfaceError, OperationalError
from sqlalchemy.ext.asyncio import AsyncEngine, create_async_engine

from services.shared.settings import LabSettings


def create_engine(settings: LabSettings, pool_size: int = 10) -> AsyncEngine:
    """An async engine on the lab's database."""
    return create_async_engine(
        settings.database_url,
        pool_size=pool_size,
        max_overflow=pool_size,
        # No ping per checkout: a connection lost to a database restart
        # fails once, SQLAlchemy then discards the whole pool, and callers
        # treat that failure as transient (a retry, or a 503).
        pool_pre_ping=False,
        json_deserializer=orjson.loads,
    )


# asyncpg's own errors for a server that is stopping, starting or gone.
_LOST = (
    asyncpg.PostgresConnectionError,
    asyncpg.exceptions.CannotConnectNowError,
    asyncpg.exceptions.AdminShutdownError,
    asyncpg.exceptions.ConnectionDoesNotExistError,
    asyncpg.exceptions.InterfaceError,
)


def is_transient(error: BaseException | None) -> bool:
    """True for a lost or refused database connection, which waiting fixes."""
    seen = 0
    while error is not None and seen < 5:
        if isinstance(error, (OperationalError, InterfaceError, OSError,
                              ConnectionError, *_LOST)):
            return True
        if isinstance(error, DBAPIError) and error.connection_invalidated:
            return True
        # SQLAlchemy wraps the driver's error; look underneath.
        error = getattr(error, "orig", None) or error.__cause__
        seen += 1
    return False


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
