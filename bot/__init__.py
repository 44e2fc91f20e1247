"""The clinic's text-message assistant: ``create_app`` builds the Flask app."""

from __future__ import annotations

import gc
import logging
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from flask import Flask
from flask_migrate import Migrate
from sqlalchemy import create_engine, event
from twilio.request_validator import RequestValidator
from werkzeug.middleware.proxy_fix import ProxyFix

from bot import config as settings
from bot.content import ContentError, load_content
from bot.models import db
from bot.ops import logs
from bot.reminders import checkins
from bot.replies import Replier
from bot.sms import quiet_hours
from bot.sms.answering import Breaker
from bot.sms.quiet_hours import SendingHours
from bot.sms.sender import make_sender
from bot.sms.spool import Spool

CONNECT_TIMEOUT = 3  # seconds to reach PostgreSQL before the database counts as down


def _shipped(inside: str, top_level: str) -> Path:
    """A folder of the project's: in the package where a wheel installed it (pyproject.toml
    maps it there), else the checkout's top-level folder."""
    package = Path(__file__).resolve().parent
    installed = package / inside
    return installed if installed.is_dir() else package.parent / top_level


TEMPLATES = _shipped("templates", "templates")
MIGRATIONS = _shipped("migrations", "db")
log = logging.getLogger("bot")


def create_app(test_config: dict[str, Any] | None = None) -> Flask:
    app = Flask(__name__, instance_relative_config=True, template_folder=str(TEMPLATES))
    config = settings.from_environment()
    config.update(test_config or {})
    settings.check(config, app.instance_path, app.debug, bool(config.get("TESTING")))
    app.config.update(config)
    logs.configure(app)  # one line per event, plain or JSON, numbers masked, request ids

    try:
        content = load_content(app.config["CONTENT_FILE"], app.config["SPANISH_ACCENTS"])
    except ContentError as exc:
        raise settings.ConfigError(str(exc)) from None
    app.extensions["content"] = content
    app.context_processor(lambda: {"clinic_name": content.clinic.name})
    app.extensions["replier"] = Replier(content, ZoneInfo(app.config["CLINIC_TIMEZONE"]))
    if not app.config.get("CLINIC_STATE"):
        app.config["CLINIC_STATE"] = quiet_hours.clinic_state(content.clinic.address)
    app.extensions["checkin_settings"] = checkins.Settings(
        say=content.say, hours=SendingHours.from_config(app.config), calendar=content.calendar
    )

    token = app.config.get("TWILIO_AUTH_TOKEN")
    app.extensions["twilio_validator"] = RequestValidator(token) if token else None
    shared_key = app.config.get("TWILIO_SHARED_KEY_SECRET")
    app.extensions["twilio_shared_key_validator"] = (
        RequestValidator(shared_key) if shared_key else None
    )
    for renamed in app.config.get("RENAMED_SETTINGS", ()):
        log.warning("%s", renamed)
    if not token:
        log.warning(
            "TWILIO_AUTH_TOKEN is not set: POST /sms refuses every request (403) until it is. "
            "Try the bot with 'flask --app bot chat' or the simulator page meanwhile."
        )

    options = app.config.setdefault("SQLALCHEMY_ENGINE_OPTIONS", {})
    # An SQL error's message leaves out its parameters: patients' names and numbers.
    options.setdefault("hide_parameters", True)
    wait = app.config["WEBHOOK_DB_TIMEOUT"]
    if app.config["DATABASE_URL"].startswith("postgresql"):
        # Short queries only: PostgreSQL's JIT compiler spent 0.27 s compiling a 30 ms
        # query of the reminder sweep whenever its cost was misestimated. A database that
        # does not answer a connection in a few seconds is reported, not waited for, and
        # a lock held elsewhere is waited for twice the webhook's time at most: a staff
        # page then says the database is not reachable instead of hanging.
        options.setdefault("connect_args", _pg_connect_args(CONNECT_TIMEOUT, lock_timeout=2 * wait))
    db.init_app(app)
    with app.app_context():
        if db.engine.dialect.name == "sqlite":
            _tune_sqlite(db.engine, wait)
            app.extensions["webhook_engine"] = db.engine
        else:
            # The webhook's own pool, in autocommit: its write is one atomic statement,
            # and a BEGIN would cost a round trip on every text (bot/inbound.py). It
            # waits at most WEBHOOK_DB_TIMEOUT for a lock, a statement or a connection,
            # so the patient is answered well inside Twilio's 15 seconds.
            connect = max(1, min(CONNECT_TIMEOUT, int(wait)))
            webhook_options = {
                **options,
                "pool_timeout": wait,
                "connect_args": _pg_connect_args(
                    connect, lock_timeout=wait, statement_timeout=wait
                ),
            }
            # No rollback when a connection goes back to the pool: in autocommit there is
            # nothing to roll back (a command's own transaction ends in COMMIT or ROLLBACK,
            # or its connection is dropped: bot.sms.inbound._transaction, models.straight).
            app.extensions["webhook_engine"] = create_engine(
                db.engine.url, isolation_level="AUTOCOMMIT", pool_reset_on_return=None,
                **webhook_options,
            )  # fmt: skip
    app.extensions["spool"] = Spool(app.config["SPOOL_DIR"])
    Migrate(app, db, directory=str(MIGRATIONS), render_as_batch=True)
    # No request body larger than an import file (patients.importer.MAX_FILE_BYTES), its form.
    app.config.setdefault("MAX_CONTENT_LENGTH", 6 * 1024 * 1024)
    app.extensions["sender"] = make_sender(app.config)

    hops = app.config["PROXY_HOPS"]
    if hops:
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_port=hops)

    from bot import web
    from bot.ops import cli

    web.register(app)
    app.extensions["db_breaker"] = Breaker()  # per process, as the spool's sids
    app.register_blueprint(cli.bp)
    app.cli.add_command(cli.staff_cli)
    app.cli.add_command(cli.patients_cli)
    app.cli.add_command(cli.reminders_cli)
    app.cli.add_command(cli.scheduler_command)
    app.cli.add_command(cli.spool_cli)
    if not app.testing:
        _settle_heap()
    return app


def _settle_heap() -> None:
    """The app's own objects (the content, the reader's indexes, the language models: some
    150,000) live as long as the process: moved out of the garbage collector's way. Its
    full passes walked all of them, one every two thousand texts or so, 100 ms of a
    worker's CPU each (about 55 us a text, 1.2% of its instructions). Not under tests,
    which build an app for each test: theirs would never be freed. Once a process: a
    second app of the same process (a command's) leaves the first's as they are."""
    if gc.get_freeze_count():
        return
    gc.collect()  # the garbage of the start-up first: what is frozen is never collected
    gc.freeze()


def _pg_connect_args(connect_timeout: int, **timeouts: float) -> dict:
    """psycopg's connection arguments: JIT off, and the given timeouts (in seconds)."""
    settings = ["-c jit=off"] + [f"-c {name}={int(s * 1000)}ms" for name, s in timeouts.items()]
    return {"options": " ".join(settings), "connect_timeout": connect_timeout}


def _tune_sqlite(engine, wait: float) -> None:
    """SQLite: wait for locks instead of failing, and WAL so readers never block writers.

    A connection with the execution option ``sqlite_immediate`` begins with
    ``BEGIN IMMEDIATE``, taking the write lock at once: the webhook's transaction reads
    then writes, and two of them must not both read "not seen" and then race to write.
    """

    @event.listens_for(engine, "connect")
    def on_connect(dbapi_connection, _record):
        dbapi_connection.isolation_level = None  # let SQLAlchemy's BEGIN below decide
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {int(wait * 1000)}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def on_begin(conn):
        immediate = conn.get_execution_options().get("sqlite_immediate")
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")
