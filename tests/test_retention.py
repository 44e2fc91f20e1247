"""Retention (the words of old texts blanked, nothing else) and a patient's own data:
export as JSON and CSV, and deletion, each audited."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json

import pytest
from sqlalchemy import func, select

from bot.config import ConfigError
from bot.models import AuditEvent, ConsentEvent, Message, ReminderDelivery, db, utcnow
from bot.ops.clock import retention_once
from bot.patients.retention import blank_old_texts
from tests.conftest import ADMIN_EMAIL, PATIENT, csrf_token, post_sms, subscribe, sweep

NOW = dt.datetime(2026, 11, 30, 15, tzinfo=dt.UTC)


def add_texts(app, ages_in_days: list[int], phone: str = PATIENT, now=NOW) -> None:
    """Texts this many days older than ``now`` (the real time for what runs on the clock)."""
    with app.app_context():
        for i, age in enumerate(ages_in_days):
            db.session.add(
                Message(
                    phone=phone, direction="in" if i % 2 == 0 else "out",
                    body=f"text {age} days old", kind="question", status="delivered",
                    created_at=now - dt.timedelta(days=age, minutes=1),
                )
            )  # fmt: skip
        db.session.commit()


def texts(app) -> list[Message]:
    with app.app_context():
        rows = db.session.scalars(select(Message).order_by(Message.id)).all()
        db.session.expunge_all()
        return rows


def test_only_texts_older_than_the_setting_lose_their_words(twilio_app):
    add_texts(twilio_app, [400, 91, 90, 89, 1, 0])
    with twilio_app.app_context():
        blanked = blank_old_texts(db.session, NOW, 90, batch=2)  # several batches
    assert blanked.texts == 3
    rows = texts(twilio_app)
    assert [m.body for m in rows] == ["", "", "", "text 89 days old", "text 1 days old",
                                      "text 0 days old"]  # fmt: skip
    assert [m.body_removed_at is not None for m in rows] == [True] * 3 + [False] * 3
    # The metadata stays: which way, what kind, delivery status, when.
    assert [(m.direction, m.kind, m.status) for m in rows[:3]] == [
        ("in", "question", "delivered"), ("out", "question", "delivered"),
        ("in", "question", "delivered"),
    ]  # fmt: skip
    assert rows[0].created_at == NOW - dt.timedelta(days=400, minutes=1)
    with twilio_app.app_context():  # a second run finds nothing more
        assert blank_old_texts(db.session, NOW, 90).texts == 0


def test_daily_reminders_lose_their_words_and_the_consent_history_stays(twilio_app):
    subscribe(twilio_app, PATIENT, time="09:00")
    sweep(twilio_app, dt.datetime(2026, 8, 1, 13, tzinfo=dt.UTC))  # 9:00 in New York
    sweep(twilio_app, dt.datetime(2026, 11, 29, 14, tzinfo=dt.UTC))
    with twilio_app.app_context():
        consent_before = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        consent_before = [(c.action, c.keyword, c.created_at) for c in consent_before]
        blanked = blank_old_texts(db.session, NOW, 90)
        days = db.session.scalars(
            select(ReminderDelivery).order_by(ReminderDelivery.local_date)
        ).all()
        assert [(d.local_date.isoformat(), d.status, bool(d.body)) for d in days] == [
            ("2026-08-01", "sent", False), ("2026-11-29", "sent", True),
        ]  # fmt: skip
        consent_after = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
        assert [(c.action, c.keyword, c.created_at) for c in consent_after] == consent_before
    assert blanked.reminders == 1 and blanked.texts == 1  # and the reminder's own text


def test_the_clock_blanks_nightly_only_when_the_setting_is_set(make_app, twilio_app):
    add_texts(twilio_app, [1000, 1], now=utcnow())
    retention_once(twilio_app)  # unset: kept
    assert [bool(m.body) for m in texts(twilio_app)] == [True, True]
    twilio_app.config["MESSAGE_RETENTION_DAYS"] = 365
    retention_once(twilio_app)
    assert [bool(m.body) for m in texts(twilio_app)] == [False, True]


def test_the_command(twilio_app):
    add_texts(twilio_app, [1000, 1], now=utcnow())
    runner = twilio_app.test_cli_runner()
    result = runner.invoke(args=["retention"])
    assert result.exit_code != 0 and "MESSAGE_RETENTION_DAYS is not set" in result.output
    result = runner.invoke(args=["retention", "--days", "30"])
    assert "Texts older than 30 days: blanked 1 texts and 0 daily reminders." in result.output


@pytest.mark.parametrize("value", ["0", "-5", "ninety", "1.5"])
def test_a_bad_retention_setting_stops_the_start(make_app, value):
    with pytest.raises(ConfigError, match="MESSAGE_RETENTION_DAYS"):
        make_app(MESSAGE_RETENTION_DAYS=value)


def test_the_conversation_says_the_words_were_removed(staff_client, twilio_app):
    pid = subscribe(twilio_app, PATIENT)
    add_texts(twilio_app, [400, 1])
    with twilio_app.app_context():
        blank_old_texts(db.session, NOW, 90)
    page = staff_client.get(f"/patients/{pid}").get_data(as_text=True)
    assert "the words were removed after the retention period" in page
    assert "text 1 days old" in page and "text 400 days old" not in page


# --- a patient's data ------------------------------------------------------------------------


@pytest.fixture
def known_patient(twilio_app):
    """A patient with a little of everything: texts both ways, a reminder, DONE with pain."""
    pid = subscribe(twilio_app, PATIENT, name='=HYPERLINK("http://evil.example")', time="00:00")
    client = twilio_app.test_client()
    post_sms(client, "cat camel")
    sweep(twilio_app, utcnow())
    post_sms(client, "done 3")
    return pid


def test_an_admin_exports_a_patients_data_as_json(admin_client, twilio_app, known_patient):
    response = admin_client.get(f"/patients/{known_patient}/export.json")
    assert response.status_code == 200
    assert response.headers["Content-Disposition"] == (
        f'attachment; filename="patient-{known_patient}.json"'
    )
    data = json.loads(response.get_data(as_text=True))
    assert data["patient"]["phone"] == PATIENT and data["patient"]["status"] == "subscribed"
    assert data["patient"]["routine"] == ["cat-camel", "pelvic-tilt"]
    bodies = [t["text"] for t in data["texts"]]
    assert "cat camel" in bodies and "done 3" in bodies
    assert any(t["direction"] == "out" and "Cat and Camel" in t["text"] for t in data["texts"])
    assert [c["action"] for c in data["consent_history"]] == ["in_person", "opt_in"]
    assert data["days_done"][0]["pain"] == 3
    with twilio_app.app_context():
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_patient")
        ).all()
        assert (event.actor, event.patient_id, event.detail) == (ADMIN_EMAIL, known_patient, "json")


def test_an_admin_exports_a_patients_data_as_csv(admin_client, twilio_app, known_patient):
    response = admin_client.get(f"/patients/{known_patient}/export.csv")
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == ["section", "time", "what", "text", "status", "by"]
    sections = {row[0] for row in rows[1:]}
    assert {"patient", "text in", "text out", "daily reminder", "consent", "done"} <= sections
    name = next(row for row in rows if row[:3] == ["patient", "", "name"])
    assert name[3].startswith("'=HYPERLINK")  # shown as text, never run as a formula


def test_front_desk_staff_cannot_export(staff_client, twilio_app, known_patient):
    for kind in ("json", "csv"):
        assert staff_client.get(f"/patients/{known_patient}/export.{kind}").status_code == 403
    assert staff_client.get(f"/patients/{known_patient}/export.xml").status_code == 404
    page = staff_client.get(f"/patients/{known_patient}").get_data(as_text=True)
    assert "export.json" not in page


def test_the_export_command(twilio_app, known_patient):
    result = twilio_app.test_cli_runner().invoke(args=["patients", "export", str(known_patient)])
    assert json.loads(result.output)["patient"]["id"] == known_patient
    result = twilio_app.test_cli_runner().invoke(args=["patients", "export", "999"])
    assert result.exit_code != 0 and "no patient 999" in result.output
    with twilio_app.app_context():
        [event] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "export_patient")
        ).all()
        assert event.actor.startswith("command line")


def test_after_deletion_the_export_holds_only_what_the_law_keeps(
    admin_client, twilio_app, known_patient
):
    page = f"/patients/{known_patient}/delete-data"
    admin_client.post(page, data={"csrf_token": csrf_token(admin_client, page)})
    data = admin_client.get(f"/patients/{known_patient}/export.json").get_json()
    assert data["patient"]["name"] == "Deleted patient" and data["patient"]["routine"] == []
    assert data["texts"] == []
    assert all(r["text"] == "" for r in data["daily_reminders"])
    assert [c["action"] for c in data["consent_history"]] == ["in_person", "opt_in"]
    with twilio_app.app_context():
        actions = db.session.scalars(
            select(AuditEvent.action).where(AuditEvent.patient_id == known_patient)
        ).all()
        assert "delete_patient_data" in actions and actions.count("export_patient") == 1
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
