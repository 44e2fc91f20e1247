"""The audit trail: a row for every staff action on patients' data (who, when, what, from
where), append-only in the database, and the admins' page and export."""

from __future__ import annotations

import csv
import datetime as dt
import io

import pytest
from sqlalchemy import func, select, text, update
from sqlalchemy.exc import DatabaseError

from bot.accounts import audit
from bot.models import AuditEvent, Patient, db
from tests.conftest import (
    ADMIN_EMAIL,
    PATIENT,
    STAFF_EMAIL,
    TEST_DATABASE_URL,
    add_staff,
    csrf_token,
    post_sms,
    sign_in,
    subscribe,
)
from tests.test_staff import NEW_PATIENT, enroll_form, patient_row

FROM = "198.51.100.7"  # the front desk's address, as the proxy reports it

WHEN_CELL = 'data-label="When"'  # one per row of the trail's table


def events(app, action: str | None = None) -> list[AuditEvent]:
    with app.app_context():
        query = select(AuditEvent).order_by(AuditEvent.id)
        if action:
            query = query.where(AuditEvent.action == action)
        rows = db.session.scalars(query).all()
        db.session.expunge_all()
        return rows


def post_action(client, url: str, page: str, **data):
    token = csrf_token(client, page)
    return client.post(url, data={"csrf_token": token, **data}, headers={"X-Forwarded-For": FROM})


@pytest.fixture
def admin(twilio_app):
    """An admin signed in from the front desk's address."""
    add_staff(twilio_app, ADMIN_EMAIL, "admin")
    client = twilio_app.test_client()
    client.environ_base["HTTP_X_FORWARDED_FOR"] = FROM
    assert sign_in(client, ADMIN_EMAIL).status_code == 302
    return client


def test_every_action_on_a_patients_data_is_recorded(admin, twilio_app, fake_twilio, tmp_path):
    enroll_form(admin)
    pid = patient_row(twilio_app).id
    page = f"/patients/{pid}"
    admin.get(page)
    post_action(admin, f"/patients/{pid}/pause", page)
    post_action(admin, f"/patients/{pid}/resume", page)
    post_action(admin, f"/patients/{pid}/invite", page)
    post_action(admin, f"/patients/{pid}/reply", page, body="See you Tuesday")
    post_action(
        admin, f"/patients/{pid}/edit", f"/patients/{pid}/edit",
        name="Ana Lopez-Diaz", language="es", reminder_time="10:00",
        timezone="America/New_York", routine=["cat-camel"],
    )  # fmt: skip
    post_sms(twilio_app.test_client(), "can I talk to someone", phone=NEW_PATIENT)
    with twilio_app.app_context():
        thread_id = db.session.execute(text("SELECT id FROM threads")).scalar()
    admin.get(f"/inbox/{thread_id}")
    post_action(admin, f"/inbox/{thread_id}/done", f"/inbox/{thread_id}")
    admin.get("/adherence.csv?from=2026-11-01&to=2026-11-30")
    post_action(admin, f"/patients/{pid}/remove", f"/patients/{pid}/remove")
    post_action(admin, f"/patients/{pid}/delete-data", f"/patients/{pid}/delete-data")

    rows = [e for e in events(twilio_app) if e.action != "view_patient"]
    assert [(e.action, e.patient_id) for e in rows] == [
        ("enroll", pid),
        ("pause", pid),
        ("resume", pid),
        ("invite", pid),
        ("reply", pid),
        ("edit", pid),
        ("view_conversation", pid),
        ("view_conversation", pid),  # the page again, for the button's form
        ("close_thread", pid),
        ("export_adherence", None),
        ("remove", pid),
        ("delete_patient_data", pid),
    ]
    for event in events(twilio_app):
        assert (event.actor, event.address) == (ADMIN_EMAIL, FROM), event.action
        assert event.created_at is not None
    edit = events(twilio_app, "edit")[0]
    assert edit.detail == "changed: name, language, reminder_time, routine"
    # The trail names the patient by id only: no name or number in any row.
    for event in events(twilio_app):
        assert "Ana" not in event.detail and "555" not in event.detail
    assert len(events(twilio_app, "view_patient")) >= 1


def test_invitations_and_staff_accounts_are_recorded(admin, twilio_app, fake_twilio):
    enroll_form(admin)  # invited on enrolling
    pid = patient_row(twilio_app).id
    post_action(admin, f"/patients/{pid}/invite", f"/patients/{pid}")  # not answered yet
    assert [e.patient_id for e in events(twilio_app, "invite")] == [pid]
    post_action(
        admin, "/staff", "/staff", email="new.desk@clinic.example",
        password="another long password",
    )  # fmt: skip
    [created] = events(twilio_app, "staff_create")
    assert created.detail == "new.desk@clinic.example (staff)"
    with twilio_app.app_context():
        user_id = db.session.execute(
            text("SELECT id FROM staff_users WHERE email = 'new.desk@clinic.example'")
        ).scalar()
    post_action(admin, f"/staff/{user_id}/active", "/staff")
    post_action(admin, f"/staff/{user_id}/active", "/staff")
    assert [e.action for e in events(twilio_app) if e.action.startswith("staff_")] == [
        "staff_create", "staff_deactivate", "staff_activate",
    ]  # fmt: skip


def test_commands_are_recorded_as_the_command_line(twilio_app, tmp_path):
    runner = twilio_app.test_cli_runner()
    env = {"STAFF_PASSWORD": "a long enough password"}
    assert runner.invoke(args=["staff", "create", "desk@clinic.example"], env=env).exit_code == 0
    assert runner.invoke(args=["staff", "password", "desk@clinic.example"], env=env).exit_code == 0
    path = tmp_path / "patients.csv"
    path.write_text(
        "name,phone,language,routine,reminder_time,timezone\n"
        "Ana Lopez,(202) 555-0101,,cat camel,09:00,\n",
        encoding="utf-8",
    )
    runner.invoke(args=["patients", "import", str(path)])
    rows = events(twilio_app)
    assert [(e.action, e.detail) for e in rows] == [
        ("staff_create", "desk@clinic.example"),
        ("staff_password", "desk@clinic.example"),
        ("import", "1 rows: 1 enrolled, 0 with errors, 1 invited"),
    ]
    assert all(e.actor.startswith("command line") and e.address is None for e in rows)


def test_an_import_from_the_page_is_recorded(admin, twilio_app, fake_twilio):
    data = (
        "name,phone,language,routine,reminder_time,timezone\nAna,(202) 555-0101,,cat camel,09:00,\n"
    )
    token = csrf_token(admin, "/patients/import")
    preview = admin.post(
        "/patients/import",
        data={"csrf_token": token, "file": (io.BytesIO(data.encode()), "p.csv")},
        content_type="multipart/form-data",
    )
    job_page = preview.location
    post_action(admin, job_page + "/confirm", job_page)
    [event] = events(twilio_app, "import")
    assert event.actor == ADMIN_EMAIL and "confirmed" in event.detail


# --- append-only ---------------------------------------------------------------------------


def test_the_database_refuses_to_change_or_delete_a_row(twilio_app):
    with twilio_app.app_context():
        audit.record(db.session, "someone@clinic.example", "view_patient", "203.0.113.9", 1)
        db.session.commit()
        for statement in (
            update(AuditEvent).values(actor="someone.else@clinic.example"),
            AuditEvent.__table__.delete(),
        ):
            with pytest.raises(DatabaseError, match="append-only"):
                db.session.execute(statement)
            db.session.rollback()
        assert db.session.scalar(select(AuditEvent.actor)) == "someone@clinic.example"


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="TRUNCATE: PostgreSQL (SQLite has none)")
def test_the_database_refuses_to_truncate_the_trail(twilio_app):
    """Issue 21: TRUNCATE audit_events succeeded (the row triggers do not see it)."""
    with twilio_app.app_context():
        audit.record(db.session, "someone@clinic.example", "view_patient", "203.0.113.9", 1)
        db.session.commit()
        with pytest.raises(DatabaseError, match="append-only"):
            db.session.execute(text("TRUNCATE audit_events"))
        db.session.rollback()
        assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_an_unknown_action_is_refused():
    with pytest.raises(ValueError, match="not an audited action"):
        audit.record(None, "x", "peeked")


# --- the page -------------------------------------------------------------------------------


def test_only_admins_read_the_trail(staff_client, twilio_app):
    assert staff_client.get("/audit").status_code == 403
    assert staff_client.get("/audit.csv").status_code == 403
    signed_out = twilio_app.test_client()
    assert signed_out.get("/audit").status_code == 302
    assert "/signin" in signed_out.get("/audit.csv").location
    assert "/audit" not in staff_client.get("/patients").get_data(as_text=True)


def seed(app) -> None:
    with app.app_context():
        for day, actor, action, patient in [
            (1, STAFF_EMAIL, "view_patient", 7),
            (2, STAFF_EMAIL, "edit", 7),
            (3, ADMIN_EMAIL, "view_patient", 8),
            (4, "=cmd|' /C calc'!A0", "view_patient", 9),
        ]:
            audit.record(
                db.session, actor, action, "203.0.113.9", patient, "",
                dt.datetime(2026, 11, day, 15, tzinfo=dt.UTC),
            )  # fmt: skip
        db.session.commit()


def shown(client, query: str) -> list[str]:
    page = client.get("/audit" + query).get_data(as_text=True)
    return [line for line in page.splitlines() if WHEN_CELL in line]


@pytest.mark.parametrize(
    ("query", "count"),
    [
        ("", 4),
        (f"?who={STAFF_EMAIL}", 2),
        ("?action=edit", 1),
        ("?patient=7", 2),
        ("?first=2026-11-02&last=2026-11-03", 2),
        (f"?who={STAFF_EMAIL}&action=view_patient&patient=7&first=2026-11-01", 1),
    ],
)
def test_the_page_filters(admin, twilio_app, query, count):
    seed(twilio_app)
    page = admin.get("/audit" + query).get_data(as_text=True)
    assert page.count(WHEN_CELL) == count


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("?action=peeked", "Choose an action from the list."),
        ("?patient=" + "9" * 19, "A patient id is at most 18 digits"),
        ("?first=30/11/2026", "From must be a date"),
    ],
)
def test_bad_filters_say_what_is_wrong(admin, twilio_app, query, message):
    response = admin.get("/audit" + query)
    assert response.status_code == 200 and message in response.get_data(as_text=True)
    assert admin.get("/audit.csv" + query).status_code == 400


def test_reading_and_exporting_the_trail_are_recorded_too(admin, twilio_app):
    seed(twilio_app)
    admin.get("/audit?action=edit")
    response = admin.get(f"/audit.csv?who={STAFF_EMAIL}")
    assert response.headers["Content-Disposition"].startswith('attachment; filename="audit-')
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"))))
    assert rows[0] == audit.CSV_COLUMNS
    assert [(r[2], r[3], r[4]) for r in rows[1:]] == [
        (STAFF_EMAIL, "view_patient", "7"), (STAFF_EMAIL, "edit", "7"),
    ]  # fmt: skip
    assert [(e.action, e.detail) for e in events(twilio_app) if e.actor == ADMIN_EMAIL][-2:] == [
        ("view_audit", "action=edit"),
        ("export_audit", f"who={STAFF_EMAIL}"),
    ]


def test_the_export_cannot_run_a_formula(admin, twilio_app):
    seed(twilio_app)
    body = admin.get("/audit.csv").get_data(as_text=True)
    assert "'=cmd|" in body and ",=cmd" not in body


def test_the_page_pages_by_a_hundred(admin, twilio_app):
    with twilio_app.app_context():
        for i in range(audit.PAGE + 5):
            audit.record(db.session, STAFF_EMAIL, "view_patient", None, i)
        db.session.commit()
    first = admin.get("/audit?action=view_patient").get_data(as_text=True)
    assert first.count(WHEN_CELL) == audit.PAGE
    older = first.split('class="pages"><a href="')[1].split('"')[0].replace("&amp;", "&")
    second = admin.get(older).get_data(as_text=True)
    assert second.count(WHEN_CELL) == 5


def test_a_second_admin_sees_the_first_ones_actions(admin, twilio_app):
    subscribe(twilio_app, PATIENT)
    with twilio_app.app_context():
        pid = db.session.scalar(select(Patient.id))
    admin.get(f"/patients/{pid}")
    add_staff(twilio_app, "second.admin@clinic.example", "admin")
    other = twilio_app.test_client()
    assert sign_in(other, "second.admin@clinic.example").status_code == 302
    page = other.get(f"/audit?patient={pid}").get_data(as_text=True)
    assert ADMIN_EMAIL in page and "Viewed a patient&#39;s page and texts" in page


def test_an_admin_sees_the_patients_name_and_filters_by_it(admin, twilio_app):
    """Each line names its patient beside the id; the Patient filter takes a name (accents
    and case aside) or an id; a patient whose data was deleted keeps the lines, by id."""
    from tests.conftest import subscribe

    maria = subscribe(twilio_app, "+12025550171", name="María García")
    sean = subscribe(twilio_app, "+12025550172", name="Sean O'Connor <b>")
    with twilio_app.app_context():
        for patient in (maria, sean, maria):
            audit.record(db.session, STAFF_EMAIL, "view_patient", "203.0.113.9", patient)
        audit.record(db.session, STAFF_EMAIL, "view_patient", "203.0.113.9", 424242)  # gone
        db.session.commit()
    page = admin.get("/audit?action=view_patient").get_data(as_text=True)
    assert f'>María García</a> <span class="muted">#{maria}</span>' in page
    assert "Sean O&#39;Connor &lt;b&gt;" in page and "<b>" not in page.split("<main>")[1]
    assert "#424242 (data deleted)" in page
    for typed in ("garcia", "GARCÍA", "maria garcia", "555-0171"):  # digits alone: an id
        lines = shown(admin, f"?action=view_patient&patient={typed}")
        assert len(lines) == 2, typed
    assert len(shown(admin, f"?action=view_patient&patient={sean}")) == 1
    assert shown(admin, "?action=view_patient&patient=nobody+by+that+name") == []
    kept = admin.get("/audit?patient=garcia").get_data(as_text=True)
    assert 'name="patient" value="garcia"' in kept  # the filter stays as typed
    assert "patient=garcia" in kept  # ...and in the export's link
    # Every filter's label is in the same group as its field (they wrap together).
    for name in ("who", "action", "patient", "first", "last"):
        assert f'<span class="field"><label for="{name}">' in kept
