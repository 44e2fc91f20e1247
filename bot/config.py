"""Settings: read from the environment in one place and checked at start-up.

Every setting has one name, the same in the environment, the README and the code. A
missing or malformed one stops the app with a message that names it (``ConfigError``).
In development, ``flask`` commands also read a ``.env`` file in the working folder.
"""

from __future__ import annotations

import datetime as dt
import ipaddress
import os
import re
import secrets
from collections.abc import Mapping
from pathlib import Path
from typing import Any
from urllib.parse import urlparse
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers

from bot.sms.quiet_hours import parse_state

TWILIO_API_BASE_URL = "https://api.twilio.com"

# name -> default (None: no default)
SETTINGS: dict[str, Any] = {
    "SECRET_KEY": None,
    "DATABASE_URL": None,  # default: a SQLite file in the instance folder
    "TWILIO_ACCOUNT_SID": None,
    "TWILIO_AUTH_TOKEN": None,
    "TWILIO_SHARED_KEY_SECRET": None,  # for webhooks Twilio signs with a SharedKey
    "TWILIO_FROM_NUMBER": None,
    "TWILIO_API_BASE_URL": TWILIO_API_BASE_URL,
    "PUBLIC_BASE_URL": None,
    "PROXY_HOPS": 1,
    "CLINIC_TIMEZONE": "America/New_York",
    "CONTENT_FILE": None,  # default: bot/content/clinic.yaml
    # Spanish with every accent (á, í, ó, ú cost UCS-2: 70 characters a segment instead of
    # 160) or in plain letters (a, i, o, u; ñ, é, ü, ¿ and ¡ are plain SMS text and stay).
    "SPANISH_ACCENTS": False,
    "RATE_LIMIT_PER_HOUR": 20,
    # Seconds the webhook waits for the database (a lock, a statement, a free connection)
    # before it answers the patient without it; Twilio gives up after 15.
    "WEBHOOK_DB_TIMEOUT": 5,
    # After the database fails a text, each web process answers without it for this many
    # seconds (kept in the spool), then tries it again; 0: asks it for every text.
    "WEBHOOK_BREAKER_SECONDS": 5,
    "SPOOL_DIR": None,  # default: instance/spool; texts kept while the database is away
    "SEND_CONCURRENCY": 20,  # texts sent to Twilio at once (bulk invitations, reminders)
    "SEND_RATE_PER_SECOND": 200,  # texts started per second at most
    "SEND_RETRIES": 4,  # retries of a text Twilio answered 429 or 5xx
    "SEND_RETRY_BACKOFF": 0.5,  # seconds before the first retry; doubles, with jitter
    # Every request to Twilio: seconds to connect, and to wait for its answer; a text whose
    # answer did not come is reconciled with Twilio's list, never sent twice.
    "TWILIO_CONNECT_TIMEOUT": 5,
    "TWILIO_READ_TIMEOUT": 10,
    # A single text (a staff reply, the on-call alert, an invitation from the patient page)
    # Twilio answered 429 or 5xx is tried again within this many seconds, no longer.
    "SEND_SINGLE_WITHIN": 8,
    # An alert or staff reply still unsent (Twilio busy or away) is sent again every minute
    # for this many hours, then marked failed.
    "OUTBOX_GIVE_UP_HOURS": 24,
    # A number whose last this many reminders the carrier did not deliver (30007 filtered,
    # 30003, 30005, 30006) has its reminders paused, for staff to look at; 0: never.
    "UNDELIVERED_PAUSE_AFTER": 3,
    # The countries whose numbers may be enrolled and texted (ISO codes, comma-separated):
    # texts abroad cost more and are how toll fraud and SMS pumping pay.
    "ALLOWED_COUNTRIES": "US",
    # Invitations sent at most per day (the clinic's day); the rest wait for the next day.
    "INVITATIONS_PER_DAY": 500,
    # /readyz answers from its last result for this many seconds (0: asks every time).
    "READY_CACHE_SECONDS": 2,
    # Urgent texts from numbers not enrolled page ALERT_NUMBER at most this often an hour;
    # enrolled patients' are never capped.
    "ALERTS_FROM_STRANGERS_PER_HOUR": 5,
    "REMINDER_WINDOW": "08:00-21:00",  # local hours reminders and invitations go out in
    # Hold reminders and invitations to the stricter hours of the patient's state (Florida,
    # Texas...: bot/quiet_hours.yaml); off: the REMINDER_WINDOW alone.
    "STATE_QUIET_HOURS": True,
    "CLINIC_STATE": None,  # default: read from the clinic's address in the content file
    # Seconds before an unfinished claim of a text (a reminder, an invitation, an alert or
    # a staff reply) counts as abandoned and is reconciled with Twilio.
    "CLAIM_TIMEOUT": 300,
    "REMINDER_BATCH": 1000,  # reminders claimed and sent together
    "STAFF_IDLE_MINUTES": 30,  # a staff session ends after this long without a request
    "STAFF_SESSION_HOURS": 12,  # ...and this long after signing in, whatever happens
    # How often an open staff page asks for news (the inbox badge, the inbox's lists); 0: never.
    "INBOX_POLL_SECONDS": 20,
    "ALERT_NUMBER": None,  # the on-call phone, texted of urgent texts (no health details)
    "CLOCK_SILENT_MINUTES": 5,
    # Days a text's words are kept; the clock blanks older ones daily (metadata and the
    # consent history stay). Unset: kept until a patient's data is deleted.
    "MESSAGE_RETENTION_DAYS": None,  # /readyz fails when the clock has not swept for this long
    "SIMULATOR": None,  # default: on with --debug, off otherwise
    "LOG_LEVEL": "INFO",
    "LOG_FORMAT": "text",  # "json": one JSON object per line, for a log collector
    "METRICS_TOKEN": None,  # GET /metrics needs "Authorization: Bearer <this>"; unset: off
}


class ConfigError(RuntimeError):
    """A setting is missing or malformed; the message names it."""


# Settings that were renamed: the old name is still read where the new one is not set,
# and the app says at start-up to rename it.
RENAMED = {"REMINDER_CLAIM_TIMEOUT": "CLAIM_TIMEOUT"}


def from_environment(environ: Mapping[str, str] | None = None) -> dict[str, Any]:
    environ = os.environ if environ is None else environ
    config = {}
    for name, default in SETTINGS.items():
        value = environ.get(name)
        config[name] = value if value not in (None, "") else default
    for old, new in RENAMED.items():
        if environ.get(old) not in (None, "") and environ.get(new) in (None, ""):
            config[new] = environ[old]
            config.setdefault("RENAMED_SETTINGS", []).append(f"{old} is now {new}: rename it")
    return config


def check(config: dict[str, Any], instance_path: str, debug: bool, testing: bool) -> None:
    """Validate and normalise ``config`` in place; raise ConfigError naming the setting."""
    if not config.get("SECRET_KEY"):
        config["SECRET_KEY"] = instance_secret(Path(instance_path))
        config["SECRET_KEY_FROM_FILE"] = True  # one machine's: flask --app bot doctor says
    elif len(str(config["SECRET_KEY"])) < 16 and not (debug or testing):
        raise ConfigError("SECRET_KEY is too short: use at least 32 random characters")

    url = config.get("DATABASE_URL")
    if not url:
        Path(instance_path).mkdir(parents=True, exist_ok=True)
        url = "sqlite:///" + str(Path(instance_path) / "bot.sqlite3")
    config["DATABASE_URL"] = url = database_url(url)
    config["SQLALCHEMY_DATABASE_URI"] = url

    sid = config.get("TWILIO_ACCOUNT_SID")
    if sid and not re.fullmatch(r"AC[0-9a-fA-F]{32}", sid):
        raise ConfigError("TWILIO_ACCOUNT_SID must be 'AC' followed by 32 hex digits")
    token = config.get("TWILIO_AUTH_TOKEN")
    if sid and not token:
        raise ConfigError("TWILIO_ACCOUNT_SID is set but TWILIO_AUTH_TOKEN is not")
    from_number = config.get("TWILIO_FROM_NUMBER")
    if from_number:
        config["TWILIO_FROM_NUMBER"] = e164(from_number, "TWILIO_FROM_NUMBER")
    if sid and not from_number:
        raise ConfigError("TWILIO_ACCOUNT_SID is set but TWILIO_FROM_NUMBER is not")
    if config.get("ALERT_NUMBER"):
        config["ALERT_NUMBER"] = e164(config["ALERT_NUMBER"], "ALERT_NUMBER")
    for name in ("TWILIO_API_BASE_URL", "PUBLIC_BASE_URL"):
        value = config.get(name)
        if value:
            config[name] = base_url(name, value)

    try:
        ZoneInfo(str(config["CLINIC_TIMEZONE"]))
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(
            f"CLINIC_TIMEZONE {config['CLINIC_TIMEZONE']!r} is not a time zone name such as "
            "America/New_York"
        ) from None
    config["RATE_LIMIT_PER_HOUR"] = integer(config, "RATE_LIMIT_PER_HOUR", minimum=1)
    config["WEBHOOK_DB_TIMEOUT"] = number(config, "WEBHOOK_DB_TIMEOUT", minimum=0.1)
    config["CLOCK_SILENT_MINUTES"] = number(config, "CLOCK_SILENT_MINUTES", minimum=1)
    if config.get("MESSAGE_RETENTION_DAYS") is not None:
        config["MESSAGE_RETENTION_DAYS"] = integer(config, "MESSAGE_RETENTION_DAYS", minimum=1)
    if config["WEBHOOK_DB_TIMEOUT"] > 10:
        raise ConfigError(
            "WEBHOOK_DB_TIMEOUT must be at most 10 seconds: Twilio gives up on an answer "
            f"after 15, got {config['WEBHOOK_DB_TIMEOUT']}"
        )
    config["SPOOL_DIR"] = config.get("SPOOL_DIR") or str(Path(instance_path) / "spool")
    config["PROXY_HOPS"] = integer(config, "PROXY_HOPS", minimum=0)
    config["SEND_CONCURRENCY"] = integer(config, "SEND_CONCURRENCY", minimum=1)
    config["SEND_RATE_PER_SECOND"] = number(config, "SEND_RATE_PER_SECOND", minimum=0.1)
    config["SEND_RETRIES"] = integer(config, "SEND_RETRIES", minimum=0)
    config["SEND_RETRY_BACKOFF"] = number(config, "SEND_RETRY_BACKOFF", minimum=0)
    config["TWILIO_CONNECT_TIMEOUT"] = number(config, "TWILIO_CONNECT_TIMEOUT", minimum=0.1)
    config["TWILIO_READ_TIMEOUT"] = number(config, "TWILIO_READ_TIMEOUT", minimum=0.1)
    config["SEND_SINGLE_WITHIN"] = number(config, "SEND_SINGLE_WITHIN", minimum=0)
    config["OUTBOX_GIVE_UP_HOURS"] = number(config, "OUTBOX_GIVE_UP_HOURS", minimum=0.1)
    config["UNDELIVERED_PAUSE_AFTER"] = integer(config, "UNDELIVERED_PAUSE_AFTER", minimum=0)
    config["ALLOWED_COUNTRIES"] = countries(config, "ALLOWED_COUNTRIES")
    config["INVITATIONS_PER_DAY"] = integer(config, "INVITATIONS_PER_DAY", minimum=0)
    config["READY_CACHE_SECONDS"] = number(config, "READY_CACHE_SECONDS", minimum=0)
    config["WEBHOOK_BREAKER_SECONDS"] = number(config, "WEBHOOK_BREAKER_SECONDS", minimum=0)
    config["ALERTS_FROM_STRANGERS_PER_HOUR"] = integer(
        config, "ALERTS_FROM_STRANGERS_PER_HOUR", minimum=0
    )
    config["CLAIM_TIMEOUT"] = integer(config, "CLAIM_TIMEOUT", minimum=0)
    config["REMINDER_BATCH"] = integer(config, "REMINDER_BATCH", minimum=1)
    config["REMINDER_WINDOW"] = window(config, "REMINDER_WINDOW")
    config["STAFF_IDLE_MINUTES"] = integer(config, "STAFF_IDLE_MINUTES", minimum=1)
    config["STAFF_SESSION_HOURS"] = integer(config, "STAFF_SESSION_HOURS", minimum=1)
    config["INBOX_POLL_SECONDS"] = integer(config, "INBOX_POLL_SECONDS", minimum=0)
    config["SPANISH_ACCENTS"] = flag(config, "SPANISH_ACCENTS")
    config["LOG_FORMAT"] = str(config["LOG_FORMAT"]).strip().lower()
    if config["LOG_FORMAT"] not in ("text", "json"):
        raise ConfigError(f"LOG_FORMAT must be text or json, got {config['LOG_FORMAT']!r}")
    config["STATE_QUIET_HOURS"] = flag(config, "STATE_QUIET_HOURS")
    if config.get("CLINIC_STATE"):
        try:
            config["CLINIC_STATE"] = parse_state(config["CLINIC_STATE"])
        except ValueError as exc:
            raise ConfigError(f"CLINIC_STATE: {exc}") from None
    simulator = config.get("SIMULATOR")
    config["SIMULATOR"] = debug if simulator is None else flag(config, "SIMULATOR")


def base_url(name: str, value: str) -> str:
    """An http(s) address that paths are added to: no query, fragment or credentials (a
    status callback of ``https://x.example/?a=b/sms/status`` reaches nobody), and a host
    name Twilio accepts (letters, digits, hyphens and dots: no underscore)."""
    text = str(value).strip()
    try:
        parsed = urlparse(text)
        port = parsed.port
    except ValueError:
        raise ConfigError(f"{name} is not a URL: {value!r}") from None
    if parsed.scheme not in ("http", "https") or not parsed.hostname:
        raise ConfigError(f"{name} must be an http(s) URL such as https://texts.example.org, got "
                          f"{value!r}")  # fmt: skip
    if parsed.query or parsed.fragment or "?" in text or "#" in text or parsed.params:
        raise ConfigError(f"{name} must not have a query (?...) or fragment (#...): {value!r}")
    if parsed.username is not None or parsed.password is not None:
        raise ConfigError(f"{name} must not hold a user name or password: {value!r}")
    host = parsed.hostname
    if not re.fullmatch(
        r"[a-z0-9]([a-z0-9-]*[a-z0-9])?(\.[a-z0-9]([a-z0-9-]*[a-z0-9])?)*", host
    ) and not (_is_ip(host)):
        raise ConfigError(
            f"{name} has a host name Twilio refuses ({host!r}): use letters, digits, hyphens "
            "and dots only (no underscore)"
        )
    if port == 0:
        raise ConfigError(f"{name} has port 0: {value!r}")
    return text.rstrip("/")


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def instance_secret(instance_path: Path) -> str:
    """A random key kept in the instance folder, made on first start, when SECRET_KEY is unset.

    Every process on this machine shares it; set SECRET_KEY when the app runs on several.
    """
    path = instance_path / "secret_key"
    try:
        return path.read_text().strip()
    except FileNotFoundError:
        pass
    instance_path.mkdir(parents=True, exist_ok=True)
    draft = instance_path / f".secret_key.{os.getpid()}"
    draft.write_text(secrets.token_hex(32))
    draft.chmod(0o600)
    try:
        os.link(draft, path)  # atomic: a process that starts at the same moment reads ours
    except FileExistsError:
        pass
    finally:
        draft.unlink()
    return path.read_text().strip()


def database_url(url: str) -> str:
    """Accept the URL forms hosting providers give and use the psycopg 3 driver."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix) :]
    if not re.match(r"^(sqlite|postgresql\+psycopg)://", url):
        raise ConfigError(
            f"DATABASE_URL {url!r} is not a PostgreSQL (postgresql://...) or SQLite "
            "(sqlite:///...) database URL"
        )
    return url


def e164(number: str, name: str) -> str:
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        parsed = None
    if parsed is None or not phonenumbers.is_valid_number(parsed):
        raise ConfigError(f"{name} {number!r} is not a valid phone number")
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164)


def integer(config: dict[str, Any], name: str, minimum: int) -> int:
    return number(config, name, minimum, int)


def number(config: dict[str, Any], name: str, minimum: float, kind: type = float):
    try:
        value = kind(config[name])
    except (TypeError, ValueError):
        what = "a whole number" if kind is int else "a number"
        raise ConfigError(f"{name} must be {what}, got {config[name]!r}") from None
    if value < minimum:
        raise ConfigError(f"{name} must be at least {minimum}, got {value}")
    return value


def countries(config: dict[str, Any], name: str) -> frozenset[str]:
    """ "US", "US,PR,CA": ISO 3166 codes of regions whose numbers phonenumbers knows."""
    value = config[name]
    codes = value if isinstance(value, (set, frozenset, list, tuple)) else str(value).split(",")
    found = frozenset(str(c).strip().upper() for c in codes if str(c).strip())
    unknown = sorted(found - phonenumbers.SUPPORTED_REGIONS)
    if not found or unknown:
        raise ConfigError(
            f"{name} must list countries by their two-letter codes, like US or US,PR,CA; "
            f"got {value!r}" + (f" ({', '.join(unknown)} unknown)" if unknown else "")
        )
    return found


def window(config: dict[str, Any], name: str) -> tuple[dt.time, dt.time]:
    value = config[name]
    if isinstance(value, tuple):
        return value
    match = re.fullmatch(r"\s*(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})\s*", str(value))
    try:
        start = dt.time(int(match.group(1)), int(match.group(2)))
        if (match.group(3), match.group(4)) == ("24", "00"):
            end = dt.time.max  # to the end of the day: "00:00-24:00" is any hour
        else:
            end = dt.time(int(match.group(3)), int(match.group(4)))
    except (AttributeError, ValueError):
        raise ConfigError(f"{name} must be HH:MM-HH:MM, got {value!r}") from None
    if end <= start:
        raise ConfigError(f"{name} must end after it starts, got {value!r}")
    return start, end


def flag(config: dict[str, Any], name: str) -> bool:
    value = config[name]
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise ConfigError(f"{name} must be on or off (1/0, true/false), got {value!r}")
