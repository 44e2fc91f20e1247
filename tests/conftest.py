"""Fixtures: a fresh database per test (SQLite, or PostgreSQL with TEST_DATABASE_URL), the
app, its test client and CLI runner, a session, and a helper that posts signed Twilio texts.

The schema is made the one way it is made in production, ``flask db upgrade``: once per
run into a template database, then every test gets a copy (SQLite) or emptied tables
(PostgreSQL).
"""

from __future__ import annotations

import datetime as dt
import html
import itertools
import os
import re
import shutil
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from flask_migrate import upgrade
from sqlalchemy import create_engine, text
from twilio.request_validator import RequestValidator

from bot import create_app
from bot.config import RENAMED, SETTINGS
from bot.models import ConsentEvent, db
from bot.patients import records as pt
from bot.reminders.sweep import ReminderSettings, send_due, sweep_session
from tests.fake_twilio import FakeTwilio

AUTH_TOKEN = "test-auth-token-0123456789abcdef"
ACCOUNT_SID = "AC" + "0" * 32
CLINIC_NUMBER = "+12025550199"
PATIENT = "+12025550123"
TEST_DATABASE_URL = os.environ.get("TEST_DATABASE_URL", "")
# The whole run with the clock moved this many days on (CI: a year), so that no test holds
# only on the day it was written. Python's clock moves (time-machine), SQLite's with it;
# PostgreSQL keeps its own, so the shift runs on SQLite.
CLOCK_SHIFT_DAYS = int(os.environ.get("TEST_CLOCK_SHIFT_DAYS") or 0)

_sids = itertools.count(1)


def new_sid() -> str:
    return f"SM{next(_sids):032x}"


def pytest_configure(config):
    if not CLOCK_SHIFT_DAYS:
        return
    if TEST_DATABASE_URL:
        raise pytest.UsageError("TEST_CLOCK_SHIFT_DAYS runs on SQLite: unset TEST_DATABASE_URL")
    moved = dt.datetime.now(dt.UTC) + dt.timedelta(days=CLOCK_SHIFT_DAYS)
    config.stash[_traveller] = time_machine.travel(moved, tick=True)
    config.stash[_traveller].start()


def pytest_unconfigure(config):
    traveller = config.stash.get(_traveller, None)
    if traveller is not None:
        traveller.stop()


def pytest_report_header(config):
    if CLOCK_SHIFT_DAYS:
        now = dt.datetime.now(dt.UTC)
        return f"clock moved {CLOCK_SHIFT_DAYS} days on: now {now:%Y-%m-%d %H:%M} UTC"
    return None


_traveller = pytest.StashKey[time_machine.travel]()


def hours_excluding_now(tz: str = "America/New_York") -> tuple[dt.time, dt.time]:
    """A sending window that does not hold the present hour where the patient is (nor the
    next hour, whatever the hour the suite runs at), and that closes after 7 PM, so that
    the tests' daily times (9:00, 18:30) stay allowed: a daily time must come before the
    window closes."""
    hour = dt.datetime.now(ZoneInfo(tz)).hour
    if hour < 12:
        return dt.time(13), dt.time(23)
    if hour < 20:
        return dt.time(21), dt.time(23)
    return dt.time(1), dt.time(19, 45)


def base_config(database_url: str, **overrides) -> dict:
    config = {
        "TESTING": True,
        "SECRET_KEY": "test-secret-key-not-for-production",
        "DATABASE_URL": database_url,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "LOG_LEVEL": "WARNING",
        "READY_CACHE_SECONDS": 0,  # each test's /readyz sees what it just changed
        # Texts the app starts may go out whatever hour the suite runs at; the tests of
        # quiet hours set the window they test.
        "REMINDER_WINDOW": "00:00-24:00",
    }
    config.update(overrides)
    return config


@pytest.fixture(autouse=True)
def clean_environment(monkeypatch):
    """A developer's own settings never leak into a test."""
    for name in [*SETTINGS, *RENAMED]:
        monkeypatch.delenv(name, raising=False)


def worker_database(url: str) -> str:
    """The PostgreSQL database of this pytest-xdist worker ("test_gw0"...), created when
    missing; the database named by TEST_DATABASE_URL when the tests run in one process."""
    worker = os.environ.get("PYTEST_XDIST_WORKER")
    if not worker:
        return url
    server = create_engine(_psycopg(url), isolation_level="AUTOCOMMIT")
    name = f"{server.url.database}_{worker}"
    with server.connect() as conn:
        if not conn.scalar(text("SELECT 1 FROM pg_database WHERE datname = :n"), {"n": name}):
            conn.execute(text(f'CREATE DATABASE "{name}"'))
    own = server.url.set(database=name).render_as_string(hide_password=False)
    server.dispose()
    return (
        own.replace("postgresql+psycopg://", "postgresql://", 1)
        if url.startswith("postgresql://")
        else own
    )


@pytest.fixture(scope="session")
def template_database(tmp_path_factory):
    """Migrate once (per worker); return how to give each test a fresh database."""
    if TEST_DATABASE_URL:
        url = worker_database(TEST_DATABASE_URL)
        engine = create_engine(_psycopg(url))
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
        _migrate(url, tmp_path_factory.mktemp("instance"))
        yield ("postgresql", url)
    else:
        path = tmp_path_factory.mktemp("template") / "template.sqlite3"
        _migrate(f"sqlite:///{path}", path.parent)
        yield ("sqlite", path)


def _psycopg(url: str) -> str:
    return url.replace("postgresql://", "postgresql+psycopg://", 1)


def _migrate(url: str, instance: Path) -> None:
    app = create_app(base_config(url))
    with app.app_context():
        upgrade()
        db.engine.dispose()


@pytest.fixture
def database_url(template_database, tmp_path):
    kind, where = template_database
    if kind == "sqlite":
        target = tmp_path / "test.sqlite3"
        shutil.copyfile(where, target)
        return f"sqlite:///{target}"
    engine = create_engine(_psycopg(where))
    with engine.begin() as conn:
        tables = conn.execute(
            text(
                "SELECT tablename FROM pg_tables WHERE schemaname = 'public' "
                "AND tablename <> 'alembic_version'"
            )
        ).scalars()
        names = ", ".join(f'"{t}"' for t in tables)
        if names:
            # The audit trail refuses TRUNCATE by trigger (migration 0020); a fresh database
            # per test is the one place it is emptied, with the triggers set aside.
            conn.execute(text("SET LOCAL session_replication_role = replica"))
            conn.execute(text(f"TRUNCATE {names} RESTART IDENTITY CASCADE"))
    engine.dispose()
    return where


@pytest.fixture
def make_app(database_url, tmp_path):
    """Build an app on this test's database with extra settings; its spool (texts kept
    while the database is away) in the test's own folder."""
    apps = []

    def make(**overrides):
        overrides.setdefault("SPOOL_DIR", str(tmp_path / "spool"))
        app = create_app(base_config(database_url, **overrides))
        apps.append(app)
        return app

    yield make
    for app in apps:
        with app.app_context():
            db.session.remove()
            app.extensions["webhook_engine"].dispose()
            db.engine.dispose()


@pytest.fixture
def app(make_app):
    return make_app()


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def runner(app):
    return app.test_cli_runner()


@pytest.fixture
def session(app):
    with app.app_context():
        yield db.session


def sign(url: str, params: dict, token: str = AUTH_TOKEN) -> str:
    return RequestValidator(token).compute_signature(url, params)


def twilio_params(body: str, phone: str = PATIENT, sid: str | None = None, **extra) -> dict:
    params = {
        "MessageSid": sid or new_sid(),
        "SmsMessageSid": sid or "",
        "AccountSid": ACCOUNT_SID,
        "From": phone,
        "To": CLINIC_NUMBER,
        "Body": body,
        "NumMedia": "0",
        "NumSegments": "1",
        "ApiVersion": "2010-04-01",
    }
    params.update(extra)
    return params


@pytest.fixture
def fake_twilio():
    """A local stand-in for Twilio's Messages API (tests/fake_twilio.py)."""
    fake = FakeTwilio(account_sid=ACCOUNT_SID, auth_token=AUTH_TOKEN).start()
    yield fake
    fake.stop()


def twilio_settings(fake_twilio, **extra) -> dict:
    """Settings of an app that sends real REST requests, to the stand-in."""
    return {
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_FROM_NUMBER": CLINIC_NUMBER,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "SEND_RETRY_BACKOFF": 0.01,
        **extra,
    }


@pytest.fixture
def twilio_app(make_app, fake_twilio):
    """The app sending real REST requests, to the stand-in."""
    return make_app(**twilio_settings(fake_twilio, SEND_RATE_PER_SECOND=1000))


STAFF_EMAIL = "frontdesk@clinic.example"
ADMIN_EMAIL = "manager@clinic.example"
PASSWORD = "correct horse battery"


def add_staff(app, email=STAFF_EMAIL, role="staff"):
    from bot.accounts.auth import create_staff

    with app.app_context():
        create_staff(db.session, email, PASSWORD, role)
        db.session.commit()


def csrf_token(client, url="/signin") -> str:
    page = client.get(url).get_data(as_text=True)
    match = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page) or re.search(
        r'name="csrf_token" value="([^"]+)"', page
    )
    assert match, f"no CSRF token on {url}"
    return match.group(1)


def sign_in(client, email=STAFF_EMAIL, password=PASSWORD):
    token = csrf_token(client, "/signin")
    return client.post("/signin", data={"email": email, "password": password, "csrf_token": token})


@pytest.fixture
def staff_client(twilio_app):
    """A test client signed in as front-desk staff, on the app that texts the stand-in."""
    add_staff(twilio_app)
    client = twilio_app.test_client()
    assert sign_in(client).status_code == 302
    return client


@pytest.fixture
def admin_client(twilio_app):
    """A test client signed in as an admin, on the app that texts the stand-in."""
    add_staff(twilio_app, ADMIN_EMAIL, "admin")
    client = twilio_app.test_client()
    assert sign_in(client, ADMIN_EMAIL).status_code == 302
    return client


def post_sms(client, body: str, phone: str = PATIENT, sid: str | None = None, **extra):
    """Post a correctly signed Twilio text to /sms; returns the response."""
    params = twilio_params(body, phone, sid, **extra)
    signature = sign("http://localhost/sms", params)
    return client.post("/sms", data=params, headers={"X-Twilio-Signature": signature})


def reply_of(response) -> str:
    """The text of the webhook's TwiML answer ("" when it answers nothing)."""
    found = re.findall(r"<Message>(.*?)</Message>", response.get_data(as_text=True), re.S)
    return html.unescape(found[0]) if found else ""


@pytest.fixture
def text_bot(client):
    """post_sms bound to the test client."""
    return lambda body, phone=PATIENT, sid=None, **extra: post_sms(
        client, body, phone, sid, **extra
    )


ENROLLED = dt.datetime(2026, 11, 1, 12, 0, tzinfo=dt.UTC)


def subscribe(
    app,
    phone,
    name="Ana Lopez",
    time="09:00",
    tz="America/New_York",
    routine=("cat-camel", "pelvic-tilt"),
    language="en",
    confirm=True,
) -> int:
    with app.app_context():
        patient = pt.enroll(
            db.session,
            pt.Enrollment(name, phone, language, list(routine), pt.parse_time(time), tz),
            "test",
            "staff",
            ENROLLED,
        )
        if confirm:
            db.session.add(
                ConsentEvent(
                    phone=phone,
                    action="opt_in",
                    keyword="yes",
                    source="sms",
                    created_at=ENROLLED + dt.timedelta(minutes=5),
                )
            )
        db.session.commit()
        return patient.id


def sweep(app, at: dt.datetime, now: dt.datetime | None = None, **kwargs):
    """A sweep for the moment ``at``, with the real clock at ``now`` (default: ``at``; a
    catch-up run by hand has ``at`` in the past)."""
    real = (now or at).astimezone(dt.UTC)
    with app.app_context(), sweep_session(db.engine) as session:
        return send_due(
            session,
            app.extensions["sender"],
            app.extensions["content"],
            ReminderSettings.from_config(app.config),
            at.astimezone(dt.UTC),
            real_time=lambda: real,
            **kwargs,
        )
