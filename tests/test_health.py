"""/healthz and /readyz: open without signing in, no patient data, and /readyz failing with
what is wrong: the database unreachable, migrations behind, the clock silent."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text

from bot.models import db, utcnow
from bot.ops.clock import beat
from bot.ops.health import record_beat


def ready(app):
    response = app.test_client().get("/readyz")
    return response.status_code, response.get_json()


def test_healthz_needs_nothing(make_app):
    app = make_app(DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:1/none")
    response = app.test_client().get("/healthz")
    assert response.status_code == 200 and response.get_json() == {"status": "ok"}


def test_ready_when_everything_is(app):
    status, body = ready(app)
    assert status == 503 and body["checks"]["clock"].startswith("has never swept")
    beat(app, "due 3, sent 3, skipped 0, failed 0")  # what the clock writes after a sweep
    status, body = ready(app)
    assert status == 200 and body["status"] == "ok"
    assert set(body["checks"].values()) == {"ok"}
    assert set(body["checks"]) == {"content", "database", "migrations", "clock"}
    assert body["clock"]["result"] == "due 3, sent 3, skipped 0, failed 0"
    assert dt.datetime.fromisoformat(body["clock"]["last_sweep_at"]) <= utcnow()


def test_not_ready_when_the_clock_is_silent(make_app):
    app = make_app(CLOCK_SILENT_MINUTES="5")
    with app.app_context():
        record_beat(db.session, "due 0", utcnow() - dt.timedelta(minutes=6))
        db.session.commit()
    status, body = ready(app)
    assert status == 503 and body["checks"]["clock"] == "silent for 6 minutes"
    assert body["checks"]["database"] == "ok"


def test_not_ready_when_migrations_are_behind(app):
    beat(app, "due 0")
    with app.app_context():
        latest = db.session.execute(text("SELECT version_num FROM alembic_version")).scalar()
        db.session.execute(text("UPDATE alembic_version SET version_num = '0014'"))
        db.session.commit()
    try:
        status, body = ready(app)
    finally:  # the database may be shared by the next test (PostgreSQL)
        with app.app_context():
            db.session.execute(text(f"UPDATE alembic_version SET version_num = '{latest}'"))
            db.session.commit()
    assert status == 503
    assert body["checks"]["migrations"] == (
        f"at 0014, latest {latest}: run flask --app bot db upgrade"
    )


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/none", "sqlite:////nonexistent/dir/x.sqlite3"],
)
def test_not_ready_when_the_database_is_unreachable(make_app, url):
    status, body = ready(make_app(DATABASE_URL=url))
    assert status == 503 and body["checks"]["database"].startswith("not reachable")
    assert body["checks"]["content"] == "ok"


def test_no_patient_data_and_no_sign_in(twilio_app):
    from tests.conftest import post_sms, subscribe

    subscribe(twilio_app, "+12025550171", name="Zelda Quartz")
    post_sms(twilio_app.test_client(), "hours", phone="+12025550171")
    beat(twilio_app, "due 1, sent 1")
    for url in ("/healthz", "/readyz"):
        response = twilio_app.test_client().get(url)
        page = response.get_data(as_text=True)
        assert response.status_code == 200, url
        assert "Zelda" not in page and "2025550171" not in page and "0171" not in page


def test_the_clocks_sweep_is_its_heartbeat(app):
    from bot.ops.clock import sweep_once

    sweep_once(app)  # what the clock runs each minute
    status, body = ready(app)
    assert status == 200 and body["clock"]["result"].startswith("due 0")


def test_readyz_asks_the_database_once_a_second_however_often_it_is_asked(make_app):
    """Issue 21: /readyz cost a database round trip on every call (50 clients on it had
    slowed the webhook's median from 7 to 91 ms). Within READY_CACHE_SECONDS it answers from
    its last result; after it, it asks again."""
    from sqlalchemy import event

    app = make_app(READY_CACHE_SECONDS=60)
    beat(app, "due 0")
    client = app.test_client()
    asked = []
    with app.app_context():
        event.listen(db.engine, "before_cursor_execute", lambda *a: asked.append(1))
    first = client.get("/readyz")
    statements = len(asked)
    assert first.status_code == 200 and statements > 0
    for _ in range(50):
        assert client.get("/readyz").get_json() == first.get_json()
    assert len(asked) == statements  # no more round trips
    app.extensions["ready_cache"]["at"] -= 61  # the cache's time passed
    client.get("/readyz")
    assert len(asked) > statements
