"""Settings are checked at start-up, with a message naming the setting."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from bot import create_app
from bot.config import RENAMED, SETTINGS, ConfigError, instance_secret


@pytest.mark.parametrize(
    ("setting", "value", "message"),
    [
        ("TWILIO_ACCOUNT_SID", "nope", "TWILIO_ACCOUNT_SID must be 'AC'"),
        ("ALLOWED_COUNTRIES", "USA", "ALLOWED_COUNTRIES must list countries by their two-letter"),
        ("ALLOWED_COUNTRIES", "US,ZZ", "(ZZ unknown)"),
        ("INVITATIONS_PER_DAY", "-1", "INVITATIONS_PER_DAY must be at least 0"),
        ("TWILIO_READ_TIMEOUT", "0", "TWILIO_READ_TIMEOUT must be at least 0.1"),
        ("TWILIO_FROM_NUMBER", "12345", "TWILIO_FROM_NUMBER '12345' is not a valid"),
        ("TWILIO_API_BASE_URL", "ftp://x", "TWILIO_API_BASE_URL must be an http"),
        ("PUBLIC_BASE_URL", "clinic.example.org", "PUBLIC_BASE_URL must be an http"),
        ("PUBLIC_BASE_URL", "https://x.example/?a=b", "PUBLIC_BASE_URL must not have a query"),
        ("PUBLIC_BASE_URL", "https://x.example/#top", "PUBLIC_BASE_URL must not have a query"),
        ("PUBLIC_BASE_URL", "https://x.example?", "PUBLIC_BASE_URL must not have a query"),
        ("PUBLIC_BASE_URL", "https://my_clinic.example", "PUBLIC_BASE_URL has a host name"),
        ("PUBLIC_BASE_URL", "https://bot:pw@x.example", "PUBLIC_BASE_URL must not hold a user"),
        ("PUBLIC_BASE_URL", "https://x.example:99999", "PUBLIC_BASE_URL is not a URL"),
        ("PUBLIC_BASE_URL", "https://", "PUBLIC_BASE_URL must be an http"),
        ("TWILIO_API_BASE_URL", "https://api.twilio.com/?x=1", "TWILIO_API_BASE_URL must not"),
        ("CLINIC_TIMEZONE", "Mars/Olympus", "CLINIC_TIMEZONE 'Mars/Olympus'"),
        ("RATE_LIMIT_PER_HOUR", "lots", "RATE_LIMIT_PER_HOUR must be a whole number"),
        ("RATE_LIMIT_PER_HOUR", "0", "RATE_LIMIT_PER_HOUR must be at least 1"),
        ("PROXY_HOPS", "-1", "PROXY_HOPS must be at least 0"),
        ("SIMULATOR", "maybe", "SIMULATOR must be on or off"),
        ("DATABASE_URL", "not a url", "DATABASE_URL 'not a url'"),
        ("CONTENT_FILE", "/nonexistent/clinic.yaml", "content file not found"),
        ("REMINDER_WINDOW", "8am-9pm", "REMINDER_WINDOW must be HH:MM-HH:MM"),
        ("REMINDER_WINDOW", "21:00-08:00", "REMINDER_WINDOW must end after it starts"),
        ("REMINDER_WINDOW", "08:00-25:00", "REMINDER_WINDOW must be HH:MM-HH:MM"),
    ],
)
def test_bad_setting_stops_start_up(monkeypatch, tmp_path, setting, value, message):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv(setting, value)
    with pytest.raises(ConfigError, match=message):
        create_app()


@pytest.mark.parametrize(
    "value",
    ["https://texts.clinic.example", "https://texts.clinic.example/", "http://127.0.0.1:8000",
     "https://clinic.example/bot", "https://Texts.Clinic.Example", "http://[::1]:8000"],
)  # fmt: skip
def test_good_public_base_urls_are_kept(monkeypatch, tmp_path, value):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv("PUBLIC_BASE_URL", value)
    assert create_app().config["PUBLIC_BASE_URL"] == value.rstrip("/")


def test_account_sid_needs_token_and_number(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv("TWILIO_ACCOUNT_SID", "AC" + "a" * 32)
    with pytest.raises(ConfigError, match="TWILIO_AUTH_TOKEN is not"):
        create_app()
    monkeypatch.setenv("TWILIO_AUTH_TOKEN", "token")
    with pytest.raises(ConfigError, match="TWILIO_FROM_NUMBER is not"):
        create_app()
    monkeypatch.setenv("TWILIO_FROM_NUMBER", "(202) 555-0199")
    app = create_app()
    assert app.config["TWILIO_FROM_NUMBER"] == "+12025550199"


def test_settings_come_from_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", "postgres://u@db.example.org/clinic")
    monkeypatch.setenv("RATE_LIMIT_PER_HOUR", "7")
    monkeypatch.setenv("SECRET_KEY", "s" * 40)
    app = create_app()
    assert app.config["SQLALCHEMY_DATABASE_URI"] == "postgresql+psycopg://u@db.example.org/clinic"
    assert app.config["RATE_LIMIT_PER_HOUR"] == 7
    assert app.config["SECRET_KEY"] == "s" * 40


def test_sending_window_may_last_the_whole_day(monkeypatch, tmp_path):
    import datetime as dt

    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv("REMINDER_WINDOW", "00:00-24:00")
    assert create_app().config["REMINDER_WINDOW"] == (dt.time(0), dt.time.max)


def test_no_secret_key_makes_one_per_instance_and_keeps_it(tmp_path):
    key = instance_secret(tmp_path / "instance")
    assert len(key) >= 32
    assert instance_secret(tmp_path / "instance") == key
    assert (tmp_path / "instance" / "secret_key").stat().st_mode & 0o077 == 0
    assert instance_secret(tmp_path / "other") != key


def test_short_secret_key_is_refused(monkeypatch, tmp_path):
    monkeypatch.setenv("DATABASE_URL", f"sqlite:///{tmp_path}/x.sqlite3")
    monkeypatch.setenv("SECRET_KEY", "abc")
    with pytest.raises(ConfigError, match="SECRET_KEY is too short"):
        create_app()


def test_simulator_only_when_asked(make_app):
    assert make_app().test_client().get("/simulator/").status_code == 404
    assert make_app(SIMULATOR="1").test_client().get("/simulator/").status_code == 200


def test_a_renamed_setting_is_still_read_with_a_warning(monkeypatch, tmp_path, caplog):
    monkeypatch.setenv("REMINDER_CLAIM_TIMEOUT", "120")
    app = create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"})
    assert app.config["CLAIM_TIMEOUT"] == 120
    assert "REMINDER_CLAIM_TIMEOUT is now CLAIM_TIMEOUT: rename it" in caplog.text
    monkeypatch.setenv("CLAIM_TIMEOUT", "90")  # the new name wins
    assert (
        create_app({"DATABASE_URL": f"sqlite:///{tmp_path}/bot.db"}).config["CLAIM_TIMEOUT"] == 90
    )


@pytest.mark.parametrize("testing, frozen", [(False, True), (True, False)])
def test_a_running_app_moves_its_objects_out_of_the_collectors_way(tmp_path, testing, frozen):
    """A worker's app lives as long as the process: its objects are frozen, out of the
    garbage collector's full passes; not a test's app, which would never be freed. In a
    process of its own: what one test freezes stays frozen for the rest."""
    config = {
        "TESTING": testing, "SECRET_KEY": "s" * 40, "SPOOL_DIR": str(tmp_path / "spool"),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'bot.db'}", "LOG_LEVEL": "WARNING",
    }  # fmt: skip
    program = (
        "import gc, sys; from bot import create_app; "
        f"app = create_app({config!r}); print(gc.get_freeze_count())"
    )
    done = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, timeout=120,
        env={k: v for k, v in os.environ.items() if k not in {*SETTINGS, *RENAMED}},
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    count = int(done.stdout.split()[-1])
    assert count > 10_000 if frozen else count == 0  # the content, the indexes...
