"""``flask --app bot doctor``: every check an IT person would make, one line each, with
what to do when it fails; the command exits non-zero when any check fails.

Checks: the settings (read and checked at start-up, as the app does; then what start-up
allows but production should not have), the database (reachable, schema at the latest
migration; on PostgreSQL the webhook's timeouts, autovacuum on and the busy tables' dead
rows), the content file, Twilio (the credentials are valid and the account active, the
number belongs to the account, its messaging webhook is ``PUBLIC_BASE_URL/sms`` by POST,
and the app answers at the status callback's address), and the clock's heartbeat. Twilio
is only read, never changed, and no text is sent.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass

import requests
from flask import Flask
from sqlalchemy import text
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.rest import Client

from bot.models import DATABASE_UNAVAILABLE, db, utcnow
from bot.ops.health import behind, read_database
from bot.sms.sender import QuickHttpClient, page_error, timeouts_from_config
from bot.sms.spool import QUARANTINE

OK, WARN, FAIL = "ok", "warn", "FAIL"
HTTP_TIMEOUT = 10


@dataclass(frozen=True)
class Check:
    name: str
    status: str  # OK, WARN or FAIL
    detail: str

    def line(self) -> str:
        return f"{self.status:<4}  {self.name}: {self.detail}"


Checks = Iterator[Check]


def run(app: Flask, http: requests.Session | None = None) -> list[Check]:
    """Every check, in order; a section whose ground is missing says so and stops."""
    http = http or requests.Session()
    results: list[Check] = []
    for section in (settings, database, content, twilio, clock, spool):
        try:
            results.extend(section(app, http))
        except Exception as exc:  # noqa: BLE001 - a check that breaks is a failed check
            results.append(Check(section.__name__, FAIL, f"the check itself failed: {exc!r}"))
    return results


# --- the settings ---------------------------------------------------------------------------


def settings(app: Flask, http) -> Checks:
    config = app.config
    yield Check("settings", OK, "every setting read and checked (a bad one stops start-up)")
    if config.get("TWILIO_ACCOUNT_SID"):
        yield Check("twilio settings", OK, f"texts go out from {config['TWILIO_FROM_NUMBER']}")
    else:
        yield Check(
            "twilio settings", WARN,
            "TWILIO_ACCOUNT_SID is not set: texts are printed (console sender), not sent",
        )  # fmt: skip
    public = config.get("PUBLIC_BASE_URL")
    if not public:
        status = FAIL if config.get("TWILIO_ACCOUNT_SID") else WARN
        yield Check(
            "PUBLIC_BASE_URL", status,
            "not set: Twilio's delivery reports have nowhere to go; set it to the address "
            "patients' texts reach this app at (https://...)",
        )  # fmt: skip
    elif not public.startswith("https://"):
        yield Check("PUBLIC_BASE_URL", WARN, f"{public} is not https: Twilio should post over TLS")
    else:
        yield Check("PUBLIC_BASE_URL", OK, public)
    if config["DATABASE_URL"].startswith("sqlite"):
        yield Check(
            "DATABASE_URL", WARN,
            "SQLite, the embedded default: use PostgreSQL for more than one web worker",
        )  # fmt: skip
    else:
        yield Check("DATABASE_URL", OK, "PostgreSQL")
    if app.config.get("SECRET_KEY_FROM_FILE"):
        yield Check(
            "SECRET_KEY", WARN,
            "made once in the instance folder: set SECRET_KEY when the app runs on more than "
            "one machine",
        )  # fmt: skip


# --- the database ---------------------------------------------------------------------------


def database(app: Flask, http) -> Checks:
    with app.app_context():
        try:
            current, _ = read_database(db.engine)
        except DATABASE_UNAVAILABLE as exc:
            yield Check(
                "database", FAIL,
                f"not reachable ({type(exc.orig).__name__}): check DATABASE_URL and that the "
                "server is up",
            )  # fmt: skip
            return
        if current is None:
            yield Check("database", OK, "reachable")
            yield Check("migrations", FAIL, "never applied: run flask --app bot db upgrade")
            return
        yield Check("database", OK, f"reachable ({db.engine.dialect.name})")
        problem = behind(current, app.extensions["migrate"].directory)
        if problem:
            yield Check("migrations", FAIL, problem)
        else:
            yield Check("migrations", OK, f"at the latest ({current})")
        if db.engine.dialect.name == "postgresql":
            yield from _webhook_timeouts(app)
            with db.engine.connect() as conn:
                yield from vacuum(*_vacuum_facts(conn))


def _webhook_timeouts(app: Flask) -> Checks:
    """The webhook's own pool waits WEBHOOK_DB_TIMEOUT at most for a lock or a statement
    (a pooler in transaction mode, say, would drop these per-connection settings)."""
    wanted = f"{int(app.config['WEBHOOK_DB_TIMEOUT'] * 1000)}ms"
    with app.extensions["webhook_engine"].connect() as conn:
        found = {
            name: conn.execute(text(f"SHOW {name}")).scalar()
            for name in ("statement_timeout", "lock_timeout")
        }
    normalised = {k: _milliseconds(v) for k, v in found.items()}
    if all(v == _milliseconds(wanted) for v in normalised.values()):
        yield Check("database timeouts", OK, f"the webhook waits at most {wanted}")
    else:
        shown = ", ".join(f"{k} {v}" for k, v in found.items())
        yield Check(
            "database timeouts", FAIL,
            f"the webhook's connections have {shown}, not {wanted}: does a pooler between the "
            "app and PostgreSQL drop connection options?",
        )  # fmt: skip


# The tables written on every text (a text, its answer, its thread, an enrolled patient's
# last text), every day (a DONE, a reminder) or every minute (the clock's heartbeat):
# PostgreSQL keeps each row they update or delete until VACUUM clears it.
BUSY_TABLES = (
    "messages", "threads", "patients", "consent_events", "adherence_days",
    "reminder_deliveries", "clock_beats",
)  # fmt: skip
DEAD_ROWS = 10_000  # dead rows of a busy table worth a look, when also a fifth of its live
FALSE = {"false", "off", "no", "0", "f", "n"}  # how PostgreSQL may spell a boolean option off


def _vacuum_facts(conn) -> tuple[str, list[str], dict[str, tuple[int, int]]]:
    """The server's autovacuum setting, the app's tables where it is turned off, and the
    busy tables' live and dead rows (PostgreSQL's statistics)."""
    server = conn.execute(text("SHOW autovacuum")).scalar()
    options = conn.execute(
        text(
            "SELECT relname, reloptions FROM pg_class WHERE relkind = 'r' "
            "AND relnamespace = to_regnamespace(current_schema()) AND reloptions IS NOT NULL"
        )
    ).all()
    off = sorted(name for name, found in options if any(map(_turned_off, found)))
    rows = conn.execute(
        text(
            "SELECT relname, n_live_tup, n_dead_tup FROM pg_stat_user_tables "
            "WHERE schemaname = current_schema() AND relname = ANY(:busy)"
        ),
        {"busy": list(BUSY_TABLES)},
    ).all()
    return server, off, {name: (live, dead) for name, live, dead in rows}


def _turned_off(option: str) -> bool:
    name, _, value = option.partition("=")
    return name == "autovacuum_enabled" and value.lower() in FALSE


def vacuum(server: str, off: list[str], rows: dict[str, tuple[int, int]]) -> Checks:
    """Autovacuum on (the server's setting and every table's), and the busy tables not
    holding many dead rows: without it they grow by every text, each costs more, the disk
    fills. A warning: the app works, slower by the month."""
    if server.lower() in FALSE:
        yield Check(
            "autovacuum", WARN,
            "off on the server: the tables written on every text keep their dead rows, "
            "and each text costs more as they grow; set autovacuum = on in postgresql.conf",
        )  # fmt: skip
    elif off:
        yield Check(
            "autovacuum", WARN,
            f"off for {', '.join(off)}: ALTER TABLE <table> RESET (autovacuum_enabled)",
        )  # fmt: skip
    else:
        yield Check("autovacuum", OK, "on")
    heavy = [
        f"{name} {dead:,} dead rows against {live:,} live"
        for name, (live, dead) in sorted(rows.items())
        if dead >= DEAD_ROWS and dead >= live / 5
    ]
    if heavy:
        yield Check(
            "dead rows", WARN,
            f"{'; '.join(heavy)}: run VACUUM (ANALYZE) on them; if they come back, is "
            "autovacuum on, or a transaction left open?",
        )  # fmt: skip
    else:
        yield Check("dead rows", OK, "the busiest tables hold few")


def _milliseconds(value: str) -> int | None:
    units = {"ms": 1, "s": 1000, "min": 60_000, "h": 3_600_000}
    for unit in sorted(units, key=len, reverse=True):
        if value.endswith(unit) and value[: -len(unit)].isdigit():
            return int(value[: -len(unit)]) * units[unit]
    return int(value) if value.isdigit() else None


# --- the content file -----------------------------------------------------------------------


def content(app: Flask, http) -> Checks:
    loaded = app.extensions.get("content")
    if loaded is None:
        yield Check("content", FAIL, "not loaded: see CONTENT_FILE")
        return
    yield Check(
        "content", OK,
        f"{len(loaded.exercises)} exercises, {len(loaded.insurance)} plans accepted, "
        f"{len(loaded.texts)} texts, for {loaded.clinic.name}",
    )  # fmt: skip


# --- Twilio ---------------------------------------------------------------------------------


def twilio(app: Flask, http: requests.Session) -> Checks:
    config = app.config
    sid = config.get("TWILIO_ACCOUNT_SID")
    if not sid:
        yield Check("twilio", WARN, "not checked: no Twilio account is set")
        return
    http_client = QuickHttpClient(timeouts_from_config(config))
    client = Client(sid, config["TWILIO_AUTH_TOKEN"], http_client=http_client)
    client.api.base_url = config["TWILIO_API_BASE_URL"]
    try:
        account = client.api.v2010.accounts(sid).fetch()
    except TwilioRestException as exc:
        what = "wrong" if exc.status in (401, 403, 404) else f"refused ({exc.status})"
        yield Check(
            "twilio account", FAIL,
            f"the credentials are {what}: check TWILIO_ACCOUNT_SID and TWILIO_AUTH_TOKEN "
            f"(Twilio error {exc.code})",
        )  # fmt: skip
        return
    except (TwilioException, requests.RequestException) as exc:
        yield Check("twilio account", FAIL, f"Twilio cannot be reached ({type(exc).__name__})")
        return
    if account.status != "active":
        yield Check("twilio account", FAIL, f"the account is {account.status}, not active")
        return
    yield Check("twilio account", OK, "the credentials are valid; the account is active")
    number = config["TWILIO_FROM_NUMBER"]
    try:
        found = client.api.v2010.accounts(sid).incoming_phone_numbers.list(
            phone_number=number, limit=1
        )
    except TwilioRestException as exc:
        found = _lookup_failed(f"Twilio refused the lookup ({exc.status}, error {exc.code})")
    except TwilioException as exc:  # a list page's error
        status, code = page_error(exc)
        found = _lookup_failed(f"Twilio refused the lookup ({status}, error {code})")
    except requests.RequestException as exc:
        found = _lookup_failed(f"Twilio cannot be reached ({type(exc).__name__})")
    if isinstance(found, Check):
        yield found
    elif not found or found[0].phone_number != number:
        yield Check(
            "twilio number", FAIL,
            f"{number} is not a number of this account: check TWILIO_FROM_NUMBER",
        )  # fmt: skip
    else:
        yield from _the_number(found[0], number)
        yield from _webhook_address(config, found[0], http)
        return
    # Without the number, what can still be told: the status callback's address.
    public = config.get("PUBLIC_BASE_URL")
    if public:
        yield from _reachable(f"{public}/sms/status", "status callback", http)


def _lookup_failed(why: str) -> Check:
    return Check("twilio number", FAIL, f"cannot check TWILIO_FROM_NUMBER: {why}; run again")


def _the_number(found, number: str) -> Checks:
    """The number is the account's and can send texts (``capabilities.sms``)."""
    capabilities = found.capabilities or {}
    if capabilities.get("sms") is False:
        yield Check(
            "twilio number", FAIL,
            f"{number} belongs to the account but cannot send texts (no SMS capability): "
            "choose an SMS-capable number for TWILIO_FROM_NUMBER",
        )  # fmt: skip
    else:
        yield Check("twilio number", OK, f"{number} belongs to the account and can send texts")


def _webhook_address(config, number, http: requests.Session) -> Checks:
    public = config.get("PUBLIC_BASE_URL")
    if not public:
        yield Check("twilio webhook", FAIL, "PUBLIC_BASE_URL is not set: cannot compare")
        return
    wanted = f"{public}/sms"
    if number.sms_url != wanted or (number.sms_method or "POST").upper() != "POST":
        yield Check(
            "twilio webhook", FAIL,
            f"the number's messaging webhook is {number.sms_method} {number.sms_url or '(none)'}:"
            f" set it to POST {wanted} in Twilio's console (Phone Numbers, Messaging)",
        )  # fmt: skip
    else:
        yield Check("twilio webhook", OK, f"texts to the number reach POST {wanted}")
    yield from _reachable(f"{public}/sms/status", "status callback", http)


def _reachable(url: str, name: str, http: requests.Session) -> Checks:
    """The app answers at ``url``: an unsigned post is refused (403), as Twilio's own
    would be taken."""
    try:
        answer = http.post(url, data={}, timeout=HTTP_TIMEOUT, allow_redirects=False)
    except requests.RequestException as exc:
        yield Check(
            name, FAIL,
            f"{url} cannot be reached ({type(exc).__name__}): Twilio's delivery reports "
            "will not arrive; check the proxy and DNS",
        )  # fmt: skip
        return
    if answer.status_code == 403:
        yield Check(name, OK, f"{url} answers (unsigned posts refused, as they should be)")
    else:
        yield Check(
            name, FAIL,
            f"{url} answered {answer.status_code}, not this app's 403 for an unsigned post: "
            "is PUBLIC_BASE_URL this app's address?",
        )  # fmt: skip


# --- the clock ------------------------------------------------------------------------------


def clock(app: Flask, http) -> Checks:
    with app.app_context():
        try:
            _, last = read_database(db.engine)
        except DATABASE_UNAVAILABLE:  # the database check above said why
            yield Check("clock", FAIL, "not checked: the database cannot be read")
            return
    if last is None:
        yield Check(
            "clock", FAIL,
            "has never swept: start one clock process (flask --app bot scheduler)",
        )  # fmt: skip
        return
    age = utcnow() - last.beat_at
    silent = dt.timedelta(minutes=app.config["CLOCK_SILENT_MINUTES"])
    when = f"last swept {int(age.total_seconds())} s ago ({last.sweep_result})"
    if age <= silent:
        yield Check("clock", OK, when)
    else:
        yield Check("clock", FAIL, f"{when}: is the clock process running?")


# --- the spool ------------------------------------------------------------------------------


def spool(app: Flask, http) -> Checks:
    """Texts kept while the database was away: waiting to be recorded, or in quarantine
    (they could not be recorded for what they hold: a person reads them)."""
    kept = app.extensions["spool"]
    held = kept.quarantined()
    if held:
        yield Check(
            "spool", WARN,
            f"{held} texts kept while the database was away could not be recorded: read "
            f"{kept.folder / QUARANTINE} (each with why), act on any STOP in it by hand, "
            "then delete the file",
        )  # fmt: skip
    elif kept.waiting:
        yield Check("spool", WARN, "texts kept while the database was away wait to be recorded")
    else:
        yield Check("spool", OK, "no text waits to be recorded")
