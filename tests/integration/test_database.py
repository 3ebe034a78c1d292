"""PostgreSQL through SQLAlchemy's async engine, with bound parameters."""

from __future__ import annotations

from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncEngine


async def test_a_table_in_a_fresh_schema_stores_and_returns_bound_values(
        engine: AsyncEngine, schema: str) -> None:
    # A value that would break naive string formatting proves binding.
    tricky = "O'Brien; DROP TABLE x; --"
    async with engine.begin() as conn:
        await conn.execute(text(f'CREATE SCHEMA "{schema}"'))
        await conn.execute(text(
            f'CREATE TABLE "{schema}".people (id int PRIMARY KEY, name text)'))
        await conn.execute(
            text(f'INSERT INTO "{schema}".people VALUES (:id, :name)'),
            [{"id": 1, "name": tricky}, {"id": 2, "name": "Ada"}])
    async with engine.connect() as conn:
        rows = (await conn.execute(
            text(f'SELECT id, name FROM "{schema}".people WHERE id >= :low '
                 "ORDER BY id"), {"low": 1})).all()
        assert [tuple(r) for r in rows] == [(1, tricky), (2, "Ada")]
    async with engine.begin() as conn:
        await conn.execute(text(f'DROP TABLE "{schema}".people'))
        gone = (await conn.execute(
            text("SELECT to_regclass(:name)"),
            {"name": f'"{schema}".people'})).scalar()
        assert gone is None
