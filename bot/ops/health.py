"""Health: whether the app is ready (the database answers within a short timeout, its
schema is at the latest migration, the content file is loaded, the clock swept recently),
for ``/readyz`` (``bot.web.health``) and the doctor; the clock's beat."""

from __future__ import annotations

import datetime as dt
import functools

from alembic.script import ScriptDirectory
from sqlalchemy import select, text
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import DATABASE_UNAVAILABLE, ClockBeat, db, utcnow

READY_TIMEOUT_MS = 2000  # a ready check waits this long for the database at most


def record_beat(session: Session, result: str, now: dt.datetime) -> None:
    """The clock swept at ``now`` with ``result``; the caller commits."""
    table = ClockBeat.__table__
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    values = {"name": "clock", "beat_at": now, "sweep_result": result[:200]}
    session.execute(
        dialect.insert(table)
        .values(**values)
        .on_conflict_do_update(index_elements=[table.c.name], set_=values)
    )


def ready_checks(app) -> tuple[dict[str, str], dict[str, str | None]]:
    """Each check's verdict ("ok" or what is wrong), and the clock's last sweep."""
    checks: dict[str, str] = {}
    clock: dict[str, str | None] = {"last_sweep_at": None, "result": None}
    checks["content"] = "ok" if "content" in app.extensions else "not loaded"
    try:
        current, last = read_database(db.engine, READY_TIMEOUT_MS)
    except DATABASE_UNAVAILABLE as exc:
        checks["database"] = f"not reachable ({type(exc.orig).__name__})"
        return checks, clock
    if current is None:
        checks["database"] = "reachable"
        checks["migrations"] = "not applied: run flask --app bot db upgrade"
        return checks, clock
    checks["database"] = "ok"
    checks["migrations"] = behind(current, app.extensions["migrate"].directory) or "ok"
    silent = dt.timedelta(minutes=app.config["CLOCK_SILENT_MINUTES"])
    if last is None:
        checks["clock"] = "has never swept: is the clock process running?"
    else:
        clock = {"last_sweep_at": last.beat_at.isoformat(), "result": last.sweep_result}
        age = utcnow() - last.beat_at
        checks["clock"] = (
            "ok" if age <= silent else f"silent for {int(age.total_seconds() // 60)} minutes"
        )
    return checks, clock


def read_database(engine, timeout_ms: int | None = None) -> tuple[str | None, object]:
    """(the schema's migration, None when it was never migrated; the clock's last beat row)
    for /readyz and the doctor. Raises DATABASE_UNAVAILABLE when it cannot be reached."""
    with engine.connect() as conn:
        if timeout_ms and conn.dialect.name == "postgresql":
            conn.execute(text(f"SET statement_timeout = {timeout_ms}"))
        conn.execute(text("SELECT 1"))  # reachable, before anything else is asked
        try:
            current = conn.execute(text("SELECT version_num FROM alembic_version")).scalar()
        except Exception:  # noqa: BLE001 - no alembic_version table: never migrated
            conn.rollback()
            return None, None
        last = conn.execute(select(ClockBeat).where(ClockBeat.name == "clock")).first()
        conn.rollback()
    return current, last


def behind(current: str, directory: str) -> str | None:
    """What to do when the schema is not at the newest migration; None when it is."""
    latest = latest_migration(directory)
    if current == latest:
        return None
    return f"at {current}, latest {latest}: run flask --app bot db upgrade"


@functools.cache
def latest_migration(directory: str) -> str | None:
    """The newest migration in the app's folder, read once (load balancers ask often)."""
    return ScriptDirectory(directory).get_current_head()
