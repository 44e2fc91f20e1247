"""The benchmarks' databases: created when missing, emptied between runs."""

from __future__ import annotations

from sqlalchemy import Connection, create_engine, text
from sqlalchemy.engine import make_url


def create_database(url: str) -> None:
    """Create the PostgreSQL database ``url`` names, unless it exists (SQLite: nothing)."""
    parsed = make_url(url)
    if parsed.get_backend_name() != "postgresql":
        return
    admin = create_engine(parsed.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.scalar(
            text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": parsed.database}
        )
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{parsed.database}"'))
    admin.dispose()


def empty_all(conn: Connection) -> None:
    """Empty every table but the schema's version, on PostgreSQL: TRUNCATE, not DELETE, as
    the dead rows of earlier runs would slow every later one."""
    tables = conn.execute(
        text(
            "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
            "AND tablename <> 'alembic_version'"
        )
    ).scalars()
    truncate(conn, f"{', '.join(tables)} RESTART IDENTITY")


def truncate(conn: Connection, tables: str) -> None:
    """TRUNCATE ... CASCADE on a benchmark's own database, the audit trail's triggers set
    aside for it (the trail refuses TRUNCATE: migration 0020)."""
    # For the session, not SET LOCAL: on a connection in autocommit (staff_pages.py's) a SET
    # LOCAL ends with its own statement and the TRUNCATE met the trigger.
    conn.execute(text("SET session_replication_role = replica"))
    try:
        conn.execute(text(f"TRUNCATE {tables} CASCADE"))
    finally:
        conn.execute(text("RESET session_replication_role"))
