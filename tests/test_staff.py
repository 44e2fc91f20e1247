"""Staff pages: sign-in, enrollment, consent, conversation, changes, admin."""

from __future__ import annotations

import datetime as dt
import html
import io
import re

import pytest
from sqlalchemy import func, select, update

from bot.models import ConsentEvent, Message, Patient, StaffUser, db
from bot.sms.phones import mask
from tests.conftest import (
    ADMIN_EMAIL,
    PASSWORD,
    STAFF_EMAIL,
    add_staff,
    csrf_token,
    hours_excluding_now,
    post_sms,
    sign_in,
    subscribe,
)

NEW_PATIENT = "+12025550142"
PUBLIC_ENDPOINTS = {
    "static": "the stylesheet",
    "webhook.inbound_sms": "Twilio's webhook: signed requests only",
    "webhook.status_callback": "Twilio's status callback: signed requests only",
    "auth.signin": "the sign-in page",
    "auth.signout": "signing out needs no sign-in",
    "health.healthz": "the process answers: no data",
    "health.readyz": "ready or not, and why: no patient data",
    "metrics.page": "Prometheus's scraper: its bearer token, not a sign-in (tests/test_metrics.py)",
    "simulator.page": "development only; shows only texts typed on it",
    "simulator.send": "development only",
}


def enroll_form(client, **changes):
    data = {
        "csrf_token": csrf_token(client, "/patients/new"),
        "name": "Ana Lopez",
        "phone": "(202) 555-0142",
        "language": "en",
        "reminder_time": "09:00",
        "timezone": "America/New_York",
        "consent": "y",
        "routine": ["cat-camel", "pelvic-tilt"],
        "order-pelvic-tilt": "1",
        "order-cat-camel": "2",
    }
    data.update(changes)
    return client.post("/patients/new", data=data)


def page(response) -> str:
    return response.get_data(as_text=True)


def patient_row(app, phone=NEW_PATIENT) -> Patient | None:
    with app.app_context():
        return db.session.scalar(select(Patient).where(Patient.phone == phone))


# --- nothing without signing in -----------------------------------------------------------


def test_every_url_needs_sign_in(make_app):
    app = make_app(SIMULATOR="1", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    checked = 0
    for rule in app.url_map.iter_rules():
        if rule.endpoint in PUBLIC_ENDPOINTS:
            continue
        url = rule.rule
        for argument in rule.arguments:
            url = (
                url.replace(f"<int:{argument}>", "1")
                .replace(f"<id:{argument}>", "1")
                .replace(f"<{argument}>", "x")
            )
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            response = client.open(url, method=method)
            assert response.status_code == 302, (method, url, response.status_code)
            assert response.location.startswith("/signin"), (method, url, response.location)
            checked += 1
    assert checked >= 12
    assert set(PUBLIC_ENDPOINTS) <= {r.endpoint for r in app.url_map.iter_rules()}


def test_sign_in_page_and_redirect_back(twilio_app):
    add_staff(twilio_app)
    client = twilio_app.test_client()
    response = client.get("/patients?status=invited")
    assert response.status_code == 302
    assert "/signin?next=" in response.location
    token = csrf_token(client)
    response = client.post(
        "/signin?next=/patients?status%3Dinvited",
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.location == "/patients?status=invited"
    assert client.get("/patients").status_code == 200


def test_next_never_leads_off_site(twilio_app):
    add_staff(twilio_app)
    client = twilio_app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/signin?next=//evil.example/x",
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert response.location == "/patients"


def test_sign_in_form_without_csrf_token_is_refused(twilio_app):
    add_staff(twilio_app)
    client = twilio_app.test_client()
    response = client.post("/signin", data={"email": STAFF_EMAIL, "password": PASSWORD})
    assert client.get("/patients").status_code == 302
    assert response.status_code in (200, 400)


def test_staff_form_without_csrf_token_is_refused(staff_client, twilio_app):
    response = staff_client.post(
        "/patients/new",
        data={"name": "Ana", "phone": "2025550142", "routine": ["cat-camel"], "consent": "y",
              "reminder_time": "09:00", "language": "en", "timezone": "America/New_York"},
    )  # fmt: skip
    assert response.status_code == 400
    assert patient_row(twilio_app) is None


def test_pause_without_csrf_token_is_refused(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    assert staff_client.post(f"/patients/{patient.id}/pause").status_code == 400
    assert patient_row(twilio_app).paused is False


def test_session_cookie_flags(twilio_app):
    add_staff(twilio_app)
    client = twilio_app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/signin",
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token},
        headers={"X-Forwarded-Proto": "https", "Referer": "https://localhost/signin"},
    )
    assert response.status_code == 302
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Secure" in cookie
    plain = twilio_app.test_client()
    response = sign_in(plain)
    [cookie] = [c for c in response.headers.getlist("Set-Cookie") if c.startswith("session=")]
    assert "Secure" not in cookie and "HttpOnly" in cookie


def test_passwords_are_hashed_slowly_and_salted(twilio_app):
    add_staff(twilio_app)
    add_staff(twilio_app, email="second@clinic.example")
    with twilio_app.app_context():
        hashes = db.session.scalars(select(StaffUser.password_hash)).all()
    assert all(h.startswith("scrypt:") and PASSWORD not in h for h in hashes)
    assert hashes[0] != hashes[1]


# --- enrolling -----------------------------------------------------------------------------


def test_enroll_sends_invitation_and_shows_it(staff_client, twilio_app, fake_twilio):
    response = enroll_form(staff_client)
    assert response.status_code == 302
    patient = patient_row(twilio_app)
    assert patient.name == "Ana Lopez"
    assert patient.routine == ["pelvic-tilt", "cat-camel"]  # the order staff numbered
    [sent] = fake_twilio.sent_to(NEW_PATIENT)
    assert sent.body.startswith("Back & Spine Clinic: reply YES to get your daily exercise")
    assert "9:00 AM (1 msg/day)" in sent.body
    for required in ("Msg & data rates may apply", "HELP", "STOP"):
        assert required in sent.body
    detail = page(staff_client.get(response.location))
    assert "is enrolled and was sent the invitation" in detail
    assert "Invited" in detail
    assert "reply YES to get your daily exercise reminder" in detail  # conversation view
    assert "queued" in detail  # delivery status
    assert "Agreed in person" in detail and STAFF_EMAIL in detail


@pytest.mark.parametrize(
    ("phone", "message"),
    [
        ("555-1234", "is not a valid phone number"),
        ("12345", "is not a valid phone number"),
        ("call me", "is not a phone number"),
        ("+44 20 7183 8750", "is not a mobile number"),
        ("1-800-555-0100", "is not a mobile number"),
        # Toll fraud's favourites (issue 21): mobile numbers abroad, refused by country.
        ("+234 803 123 4567", "is a number in Nigeria (NG): this clinic texts only numbers in US"),
        ("+53 5 123 4567", "is a number in Cuba (CU)"),
        ("+960 771 2345", "is a number in Maldives (MV)"),
        ("+1 787 555 0101", "Puerto Rico (PR)"),  # +1, and still another country's
    ],
)
def test_bad_numbers_get_a_clear_message(staff_client, twilio_app, fake_twilio, phone, message):
    response = enroll_form(staff_client, phone=phone)
    assert response.status_code == 200
    assert message in page(response)
    assert "Ana Lopez" in page(response)  # what was typed is kept
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 0
    assert fake_twilio.messages == []


def test_duplicate_number_is_caught(staff_client, twilio_app):
    enroll_form(staff_client)
    response = enroll_form(staff_client, name="Someone Else", phone="202.555.0142")
    assert "+12025550142 is already enrolled (Ana Lopez)" in page(response)
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Patient)) == 1


def test_consent_in_person_is_required(staff_client, twilio_app):
    data = {"consent": ""}
    response = enroll_form(staff_client, **data)
    assert "agreed in person" in page(response)
    assert patient_row(twilio_app) is None


def test_routine_is_required(staff_client, twilio_app):
    response = enroll_form(staff_client, routine=[])
    assert "Choose at least one exercise" in page(response)
    assert patient_row(twilio_app) is None


def test_bad_time_is_refused(staff_client, twilio_app):
    response = enroll_form(staff_client, reminder_time="25:99")
    assert "is not a time of day" in page(response)


def test_spanish_patient_gets_spanish_invitation(staff_client, fake_twilio):
    enroll_form(staff_client, language="es", reminder_time="18:30")
    [sent] = fake_twilio.sent_to(NEW_PATIENT)
    assert "responda YES" in sent.body and "6:30 PM" in sent.body


def test_no_invitation_to_a_number_that_said_stop(staff_client, twilio_app, fake_twilio):
    post_sms(twilio_app.test_client(), "STOP", phone=NEW_PATIENT)
    response = enroll_form(staff_client)
    assert "opted out of texts: no invitation was sent" in page(staff_client.get(response.location))
    assert fake_twilio.messages == []


def test_twilio_refusal_is_reported_and_recorded(staff_client, twilio_app, fake_twilio):
    fake_twilio.errors[NEW_PATIENT] = 21610
    response = enroll_form(staff_client)
    detail = page(staff_client.get(response.location))
    assert "the invitation could not be sent" in detail
    assert "Opted out" in detail  # the carrier says the number unsubscribed


# --- consent by text -----------------------------------------------------------------------


def test_yes_in_a_few_words_confirms_the_invitation(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    post_sms(twilio_app.test_client(), "Yes please!", phone=NEW_PATIENT)
    assert "Subscribed" in page(staff_client.get(f"/patients/{patient.id}"))


def test_consent_history_after_yes_stop_start(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    texts = twilio_app.test_client()
    url = f"/patients/{patient.id}"
    assert "Invited" in page(staff_client.get(url))
    post_sms(texts, "YES", phone=NEW_PATIENT)
    assert "Subscribed" in page(staff_client.get(url))
    post_sms(texts, "STOP", phone=NEW_PATIENT)
    assert ">Opted out<" in page(staff_client.get(url))
    post_sms(texts, "START", phone=NEW_PATIENT)
    detail = page(staff_client.get(url))
    assert ">Subscribed<" in detail
    history = re.findall(r"<td>(Agreed in person|Opted in|Opted out)</td>", detail)
    assert history == ["Agreed in person", "Opted in", "Opted out", "Opted in"]
    for keyword in ('texted "yes"', 'texted "stop"', 'texted "start"'):
        assert keyword in detail
    with twilio_app.app_context():
        events = db.session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert [e.action for e in events] == ["in_person", "opt_in", "opt_out", "opt_in"]


def test_yes_before_enrollment_does_not_subscribe(staff_client, twilio_app):
    post_sms(twilio_app.test_client(), "YES", phone=NEW_PATIENT)
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    assert "Invited" in page(staff_client.get(f"/patients/{patient.id}"))


@pytest.mark.parametrize(
    "evil",
    ["<script>alert('x')</script>", '<img src=x onerror="alert(1)">', "</div><b>bold</b>"],
)
def test_patient_texts_are_shown_as_text(staff_client, twilio_app, evil):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    post_sms(twilio_app.test_client(), evil, phone=NEW_PATIENT)
    detail = page(staff_client.get(f"/patients/{patient.id}"))
    assert evil not in detail
    assert "&lt;" in detail
    assert "<script>alert" not in detail and "<img src=x" not in detail


def test_conversation_newest_last(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    texts = twilio_app.test_client()
    post_sms(texts, "first question hours", phone=NEW_PATIENT)
    post_sms(texts, "second question address", phone=NEW_PATIENT)
    detail = page(staff_client.get(f"/patients/{patient.id}"))
    positions = [detail.index(t) for t in ("reply YES", "first question", "Office hours",
                                           "second question", "44110 Ashburn")]  # fmt: skip
    assert positions == sorted(positions)


# --- list, changes, removal --------------------------------------------------------------


def test_list_search_and_status_filter(staff_client, twilio_app):
    enroll_form(staff_client)
    enroll_form(staff_client, name="Bob Smith", phone="202-555-0143")
    post_sms(twilio_app.test_client(), "YES", phone="+12025550143")
    listing = page(staff_client.get("/patients"))
    assert "Ana Lopez" in listing and "Bob Smith" in listing
    assert "Bob" not in page(staff_client.get("/patients?q=ana"))
    assert "Ana" not in page(staff_client.get("/patients?q=0143"))
    subscribed = page(staff_client.get("/patients?status=subscribed"))
    assert "Bob Smith" in subscribed and "Ana Lopez" not in subscribed
    invited = page(staff_client.get("/patients?status=invited"))
    assert "Ana Lopez" in invited and "Bob Smith" not in invited


def test_edit_routine_time_and_language(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    url = f"/patients/{patient.id}/edit"
    response = staff_client.post(
        url,
        data={"csrf_token": csrf_token(staff_client, url), "name": "Ana M. Lopez",
              "phone": NEW_PATIENT, "language": "es", "reminder_time": "07:45",
              "timezone": "America/Chicago", "routine": ["knee-to-chest"]},
    )  # fmt: skip
    assert response.status_code == 302
    patient = patient_row(twilio_app)
    assert (patient.name, patient.language, patient.routine) == (
        "Ana M. Lopez",
        "es",
        ["knee-to-chest"],
    )
    assert patient.reminder_time.strftime("%H:%M") == "07:45"
    assert patient.timezone == "America/Chicago"
    detail = page(staff_client.get(response.location))
    assert "Saved the changes" in detail
    # The change of time is kept with who made it, beside the patient's own by text.
    assert "Daily time 7:45 AM America/Chicago (was 9:00 AM America/New_York)" in detail
    assert f"<td>{STAFF_EMAIL}</td>" in detail


def test_pause_resume(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    post_sms(twilio_app.test_client(), "YES", phone=NEW_PATIENT)
    url = f"/patients/{patient.id}"
    token = csrf_token(staff_client, url)
    response = staff_client.post(f"{url}/pause", data={"csrf_token": token})
    detail = page(staff_client.get(response.location))
    assert "Reminders paused for Ana Lopez" in detail and ">Paused<" in detail
    assert patient_row(twilio_app).paused is True
    staff_client.post(f"{url}/resume", data={"csrf_token": token})
    resumed = page(staff_client.get(url))
    assert ">Subscribed<" in resumed
    assert resumed.count(f"<td>{STAFF_EMAIL}</td>") == 2  # Paused, Reminders resumed


def test_remove_keeps_history(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    token = csrf_token(staff_client, f"/patients/{patient.id}")
    response = staff_client.post(f"/patients/{patient.id}/remove", data={"csrf_token": token})
    assert "Ana Lopez is removed" in page(staff_client.get(response.location))
    assert "Ana Lopez" not in page(staff_client.get("/patients"))
    assert staff_client.get(f"/patients/{patient.id}").status_code == 404
    with twilio_app.app_context():
        kept = db.session.scalar(
            select(func.count()).select_from(Message).where(Message.phone == NEW_PATIENT)
        )
    assert kept == 1
    # The number can be enrolled again later.
    assert enroll_form(staff_client).status_code == 302


def test_only_admin_deletes_a_patients_data_and_manages_staff(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    token = csrf_token(staff_client, f"/patients/{patient.id}")
    url = f"/patients/{patient.id}/delete-data"
    assert staff_client.post(url, data={"csrf_token": token}).status_code == 403
    assert staff_client.get("/staff").status_code == 403

    add_staff(twilio_app, ADMIN_EMAIL, "admin")
    admin = twilio_app.test_client()
    sign_in(admin, ADMIN_EMAIL)
    token = csrf_token(admin, f"/patients/{patient.id}")
    assert admin.post(url, data={"csrf_token": token}).status_code == 302
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    response = admin.post(
        "/staff",
        data={"csrf_token": csrf_token(admin, "/staff"), "email": "new@clinic.example",
              "password": "a long enough password"},
    )  # fmt: skip
    assert "Created the account new@clinic.example" in page(admin.get(response.location))
    with twilio_app.app_context():
        staff = db.session.scalar(select(StaffUser).where(StaffUser.email == STAFF_EMAIL))
    token = csrf_token(admin, "/staff")
    admin.post(f"/staff/{staff.id}/active", data={"csrf_token": token})
    assert staff_client.get("/patients").status_code == 302  # deactivated: signed out
    assert "do not match" in page(sign_in(twilio_app.test_client()))


def test_console_sender_when_no_twilio_account(make_app, caplog, capsys):
    app = make_app()
    add_staff(app)
    client = app.test_client()
    sign_in(client)
    with caplog.at_level("INFO", logger="bot.sms.sender"):
        response = enroll_form(client)
    # The log says a text went, without its words; the console shows the text itself.
    assert "console sender" in caplog.text and "reply YES" not in caplog.text
    printed = capsys.readouterr().err
    assert "reply YES" in printed and f"--- text to {mask(NEW_PATIENT)} ---" in printed
    assert NEW_PATIENT not in caplog.text and NEW_PATIENT not in printed
    assert "was sent the invitation" in page(client.get(response.location))


def test_enrolling_a_number_that_said_stop_does_not_undo_the_stop(staff_client, twilio_app):
    texts = twilio_app.test_client()
    post_sms(texts, "STOP", phone=NEW_PATIENT)
    enroll_form(staff_client)  # records "agreed in person" after the STOP
    reply = post_sms(texts, "what are your hours", phone=NEW_PATIENT)
    assert b"<Message>" not in reply.data  # still opted out until START
    assert b"<Message>" in post_sms(texts, "START", phone=NEW_PATIENT).data


# --- never at night: invitations wait for sending hours --------------------------------


def test_invitation_is_held_at_night_and_sent_from_the_patient_page(
    staff_client, twilio_app, fake_twilio
):
    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    response = enroll_form(staff_client)
    shown = page(staff_client.get(response.location))
    assert "is enrolled" in shown and "held: outside sending hours" in shown
    assert fake_twilio.messages == []
    assert "Send the invitation</button>" in shown
    invite_url = f"/patients/{patient_row(twilio_app).id}/invite"
    token = csrf_token(staff_client, response.location)
    # Still night: pressing the button sends nothing.
    staff_client.post(invite_url, data={"csrf_token": token})
    assert fake_twilio.messages == []
    # Morning.
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(0), dt.time.max)
    shown = page(staff_client.post(invite_url, data={"csrf_token": token}, follow_redirects=True))
    assert "was sent the invitation" in shown
    [sent] = fake_twilio.messages
    assert sent.to == NEW_PATIENT and "reply YES" in sent.body
    assert "Send the invitation again</button>" in shown
    # Once the patient answers, there is nothing to send.
    assert b"subscribed" in post_sms(twilio_app.test_client(), "YES", phone=NEW_PATIENT).data
    shown = page(staff_client.get(response.location))
    assert "Send the invitation" not in shown
    staff_client.post(invite_url, data={"csrf_token": token})
    assert len(fake_twilio.messages) == 1


def test_invite_needs_the_csrf_token(staff_client, twilio_app, fake_twilio):
    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    enroll_form(staff_client)
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(0), dt.time.max)
    response = staff_client.post(f"/patients/{patient_row(twilio_app).id}/invite")
    assert response.status_code == 400
    assert fake_twilio.messages == []


def test_patient_page_shows_missed_reminders(staff_client, twilio_app):
    from bot.models import ReminderDelivery
    from bot.reminders.sweep import MISSED

    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    with twilio_app.app_context():
        db.session.add(
            ReminderDelivery(
                patient_id=patient.id, local_date=dt.date(2026, 11, 30), phone=patient.phone,
                body="", status="missed", note=MISSED,
                due_at=dt.datetime(2026, 11, 30, 14, tzinfo=dt.UTC),
            )
        )  # fmt: skip
        db.session.commit()
    html = page(staff_client.get(f"/patients/{patient.id}"))
    assert "Mon 2026-11-30" in html and "Missed (not sent that day)" in html
    assert MISSED.replace("'", "&#39;") in html


def test_deleting_a_patients_data(staff_client, twilio_app, fake_twilio):
    """Every text of the number (questions, replies, the invitation, reminders), the name,
    the reminders' texts: gone, in one go, after the patient was removed too. The consent
    history stays, and an audit line says who deleted what, when and from where."""
    from bot.models import AdherenceDay, AuditEvent, ReminderDelivery

    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    post_sms(staff_client, "YES", phone=NEW_PATIENT)
    post_sms(staff_client, "my back hurts after the cat camel", phone=NEW_PATIENT)
    post_sms(staff_client, "done, pain 8", phone=NEW_PATIENT)  # a day done, its pain score
    post_sms(staff_client, "pause until monday", phone=NEW_PATIENT)  # a change, and why
    post_sms(staff_client, "ESPAÑOL", phone=NEW_PATIENT)  # the number's language
    # An import waiting for its confirmation, holding the patient's row.
    upload = io.BytesIO(b"name,phone,language,routine,reminder_time,timezone\n"
                         b"Ana Lopez,(202) 555-0142,,cat camel,09:00,\n")  # fmt: skip
    staff_client.post("/patients/import", data={
        "csrf_token": csrf_token(staff_client, "/patients/import"), "file": (upload, "p.csv"),
    }, content_type="multipart/form-data")  # fmt: skip
    with twilio_app.app_context():
        db.session.add(
            ReminderDelivery(
                patient_id=patient.id, local_date=dt.date(2026, 11, 30), phone=NEW_PATIENT,
                body="Hi Ana! Today's exercises: Cat and Camel", status="sent",
                due_at=dt.datetime(2026, 11, 30, 14, tzinfo=dt.UTC),
            )
        )  # fmt: skip
        db.session.commit()
        consents = db.session.scalar(select(func.count()).select_from(ConsentEvent))
    token = csrf_token(staff_client, f"/patients/{patient.id}")
    staff_client.post(f"/patients/{patient.id}/remove", data={"csrf_token": token})
    assert staff_client.get(f"/patients/{patient.id}").status_code == 404  # staff: gone

    add_staff(twilio_app, ADMIN_EMAIL, "admin")
    admin = twilio_app.test_client()
    admin.environ_base["REMOTE_ADDR"] = "203.0.113.9"
    sign_in(admin, ADMIN_EMAIL)
    assert "Ana Lopez" in page(admin.get("/patients?status=removed"))
    token = csrf_token(admin, f"/patients/{patient.id}")
    response = admin.post(f"/patients/{patient.id}/delete-data", data={"csrf_token": token})
    assert response.status_code == 302
    shown = page(admin.get(response.location))
    assert "deleted 11 texts, 1 days done with their pain scores, the reminders" in shown
    assert "blanked 1 daily reminders; cancelled 1 unconfirmed imports" in shown
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
        assert db.session.scalar(select(func.count()).select_from(AdherenceDay)) == 0
        # Every table searched for the number, the name and the words: the number only in
        # the consent history (the law's proof of consent) and the patient's row that it
        # belongs to; the name and the words nowhere.
        national = NEW_PATIENT[2:]
        for table in db.metadata.sorted_tables:
            for row in db.session.execute(select(table)).mappings().all():
                kept = ("phone",) if table.name in ("consent_events", "patients") else ()
                seen = " ".join(str(v) for k, v in row.items() if v is not None and k not in kept)
                for what in (NEW_PATIENT, national, "Ana Lopez", "back hurts", "pain 8"):
                    assert what not in seen, (table.name, what, seen[:200])
        [reminder] = db.session.scalars(select(ReminderDelivery)).all()
        assert (reminder.body, reminder.phone, reminder.status) == ("", "", "sent")
        assert db.session.scalar(select(func.count()).select_from(ConsentEvent)) == consents
        record = db.session.get(Patient, patient.id)
        assert record.name == "Deleted patient" and record.routine == []
        assert record.removed_at is not None
        [audit] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "delete_patient_data")
        ).all()
        assert (audit.actor, audit.action, audit.patient_id, audit.address) == (
            ADMIN_EMAIL,
            "delete_patient_data",
            patient.id,
            "203.0.113.9",
        )
        assert "consent history kept" in audit.detail
    everything = page(admin.get(f"/patients/{patient.id}"))
    assert "Ana Lopez" not in everything and "cat camel" not in everything.lower()


def test_an_invitation_failure_shows_no_address_or_account(make_app, caplog):
    """Twilio unreachable: staff see that the invitation was not sent and why, without
    Twilio's URL (it names the account) or the account SID; the log masks them too."""
    from tests.conftest import ACCOUNT_SID, CLINIC_NUMBER

    app = make_app(TWILIO_ACCOUNT_SID=ACCOUNT_SID, TWILIO_FROM_NUMBER=CLINIC_NUMBER,
                   TWILIO_API_BASE_URL="http://127.0.0.1:9", SEND_RETRIES=0)  # fmt: skip
    add_staff(app)
    client = app.test_client()
    sign_in(client)
    response = enroll_form(client)
    shown = page(client.get(response.location))
    assert "Ana Lopez is enrolled, but the invitation could not be sent" in shown
    assert ACCOUNT_SID not in shown and "127.0.0.1:9" not in shown and "http" not in shown
    assert all(ACCOUNT_SID not in record.getMessage() for record in caplog.records)


# --- as a front desk reads the pages -------------------------------------------------------


def enroll_many(client, people):
    for name, phone in people:
        response = enroll_form(client, name=name, phone=phone)
        assert response.status_code == 302, page(response)


@pytest.mark.parametrize(
    ("typed", "found"),
    [
        ("garcia", ["María García"]),
        ("GARCÍA", ["María García"]),
        ("maria", ["María García"]),
        ("garcia maria", ["María García"]),
        ("oconnor", ["Seán O'Connor"]),
        ("o'connor", ["Seán O'Connor"]),
        ("O’Connor", ["Seán O'Connor"]),
        ("sean", ["Seán O'Connor"]),
        ("0143", ["María García"]),
        ("(703) 555-0143", ["María García"]),
        ("555", ["María García", "Seán O'Connor", "Zoë Ng"]),
        ("zoe", ["Zoë Ng"]),
        ("nobody", []),
        ("%", []),
        ("_", []),
    ],
)
def test_search_ignores_accents_case_and_apostrophes(staff_client, typed, found):
    people = [("María García", "(703) 555-0143"), ("Seán O'Connor", "(202) 555-0150"),
              ("Zoë Ng", "202-555-0151")]  # fmt: skip
    enroll_many(staff_client, people)
    html = page(staff_client.get("/patients", query_string={"q": typed}))
    listed = re.findall(r'<a href="/patients/\d+">([^<]+)</a>', html)
    assert [n.replace("&#39;", "'") for n in listed] == found, typed


def test_numbers_and_times_read_as_people_read_them(staff_client, twilio_app):
    enroll_many(staff_client, [("Ana Lopez", "+1 703 555 0143")])
    patient = patient_row(twilio_app, "+17035550143")
    post_sms(staff_client, "hours", phone="+17035550143")
    listing = page(staff_client.get("/patients"))
    assert "(703) 555-0143" in listing and "+17035550143" not in listing
    html = page(staff_client.get(f"/patients/{patient.id}"))
    assert "(703) 555-0143" in html
    from zoneinfo import ZoneInfo

    with twilio_app.app_context():
        sent = db.session.scalar(select(Message.created_at).order_by(Message.id.desc()))
    local = sent.astimezone(ZoneInfo("America/New_York"))
    hour = local.hour % 12 or 12
    label = f"{local:%b} {local.day}, {local.year}, {hour}:{local:%M} {local:%p} {local:%Z}"
    assert label in html, label
    assert " UTC" not in html and "(UTC)" not in html


def test_the_enroll_form_shows_every_mistake_at_once_next_to_its_field(staff_client, twilio_app):
    response = enroll_form(
        staff_client, name="", phone="12345", reminder_time="25:00", routine=[], consent=""
    )
    assert response.status_code == 200
    html = page(response)
    for field, message in [
        ("name", "Enter the patient"),
        ("phone", "is not a"),
        ("reminder_time", "is not a time of day"),
        ("routine", "Choose at least one exercise"),
        ("consent", "Record that the patient agreed in person"),
    ]:
        assert re.search(f'<p class="error" id="{field}-error">[^<]*{message}', html), field
        assert f'aria-describedby="{field}-error"' in html, field
    assert "5 things need fixing" in html
    # The first field in error has the focus; only one does.
    assert html.count("autofocus") == 1
    assert re.search(r'<input[^>]*aria-describedby="name-error"[^>]*autofocus', html) or re.search(
        r'<input[^>]*autofocus[^>]*aria-describedby="name-error"', html
    )
    assert patient_row(twilio_app) is None


def test_the_edit_form_shows_every_mistake_at_once(staff_client, twilio_app):
    enroll_form(staff_client)
    patient = patient_row(twilio_app)
    token = csrf_token(staff_client, f"/patients/{patient.id}/edit")
    response = staff_client.post(
        f"/patients/{patient.id}/edit",
        data={"csrf_token": token, "name": " ", "language": "xx", "reminder_time": "9:75",
              "timezone": "America/New_York"},
    )  # fmt: skip
    html = page(response)
    for field in ("name", "language", "reminder_time", "routine"):
        assert f'id="{field}-error"' in html, field
    assert patient_row(twilio_app).name == "Ana Lopez"


def test_remove_and_delete_ask_on_a_page_of_their_own(staff_client, admin_client, twilio_app):
    response = enroll_form(staff_client, name="Ana <i>Lopez</i>")
    url = response.location
    page_html = page(staff_client.get(url))
    assert "data-confirm" not in page_html
    confirm = page(staff_client.get(url + "/remove"))
    assert "<h1>Remove Ana &lt;i&gt;Lopez&lt;/i&gt;?</h1>" in confirm
    assert patient_row(twilio_app).removed_at is None  # asking removes nothing
    assert staff_client.get(url + "/delete-data").status_code == 403  # admins only
    token = csrf_token(staff_client, url + "/remove")
    staff_client.post(url + "/remove", data={"csrf_token": token})
    assert patient_row(twilio_app).removed_at is not None
    asked = page(admin_client.get(url + "/delete-data"))
    assert "Delete the data of Ana &lt;i&gt;Lopez&lt;/i&gt; for good?" in asked
    assert patient_row(twilio_app).name == "Ana <i>Lopez</i>"


def seed_patients(app, count: int, prefix: str = "+1202555") -> None:
    """``count`` enrolled patients named "Patient 000"... (invited: no YES yet)."""
    import bot.patients.records as ptm

    with app.app_context():
        for n in range(count):
            ptm.enroll(
                db.session,
                ptm.Enrollment(f"Patient {n:03d}", f"{prefix}{n:04d}", "en", ["cat-camel"],
                               dt.time(9), "America/New_York"),
                "test", "staff", dt.datetime(2026, 11, 1, tzinfo=dt.UTC),
            )  # fmt: skip
        db.session.commit()


def test_patients_come_in_pages_of_50_with_status_counts(staff_client, twilio_app):
    seed_patients(twilio_app, 120)
    with twilio_app.app_context():
        db.session.add(
            ConsentEvent(phone="+12025550007", action="opt_in", keyword="yes", source="sms",
                         created_at=dt.datetime(2026, 11, 2, tzinfo=dt.UTC))
        )  # fmt: skip
        db.session.commit()
    first = page(staff_client.get("/patients"))
    assert first.count('<tr role="row">') == 51  # the header and 50 patients
    assert "120 patients, page 1 of 3." in first
    assert ">All (120)</a>" in first and ">Invited (119)</a>" in first
    assert ">Subscribed (1)</a>" in first
    third = page(staff_client.get("/patients?page=3"))
    assert third.count('<tr role="row">') == 21 and "Patient 119" in third and "Previous" in third
    assert "Patient 000" not in third
    beyond = page(staff_client.get("/patients?page=99"))  # past the end: the last page
    assert "page 3 of 3" in beyond
    subscribed = page(staff_client.get("/patients?status=subscribed"))
    assert "Patient 007" in subscribed and "1 patient." in subscribed
    searched = page(staff_client.get("/patients?q=patient+11"))
    assert ">All (11)</a>" in searched  # Patient 011 and 110-119


def test_sort_by_last_text(staff_client, twilio_app):
    seed_patients(twilio_app, 3)
    post_sms(twilio_app.test_client(), "hours", phone="+12025550002")
    post_sms(twilio_app.test_client(), "hours", phone="+12025550001")
    listed = page(staff_client.get("/patients?sort=last_text"))
    # The newest text first, then the older one, then who never texted.
    assert listed.index("Patient 001") < listed.index("Patient 002") < listed.index("Patient 000")
    by_name = page(staff_client.get("/patients?sort=name"))
    assert by_name.index("Patient 000") < by_name.index("Patient 001")


def test_bulk_resend_to_who_has_not_answered(staff_client, twilio_app, fake_twilio):
    """Sent in the background (hundreds would outlast a request), one job of invitations
    at a time; its page says how many were sent again, and a patient gets two at most."""
    from bot.models import AuditEvent, ImportJob

    seed_patients(twilio_app, 3)
    old = dt.datetime.now(dt.UTC) - dt.timedelta(days=3)
    with twilio_app.app_context():
        for n, when in [(0, old), (1, old), (2, dt.datetime.now(dt.UTC))]:
            db.session.add(
                Message(phone=f"+1202555{n:04d}", direction="out", body="reply YES",
                        kind="invitation", status="sent", created_at=when,
                        message_sid=f"SMinvite{n:026d}")
            )  # fmt: skip
        db.session.add(  # patient 1 answered
            ConsentEvent(phone="+12025550001", action="opt_in", keyword="yes", source="sms",
                         created_at=dt.datetime.now(dt.UTC))
        )  # fmt: skip
        running = ImportJob(created_by="desk@clinic.example", status="running",
                            stage="inviting", kind="invitations")  # fmt: skip
        db.session.add(running)
        db.session.commit()
        running_id = running.id
    invited = page(staff_client.get("/patients?status=invited"))
    assert "Send the invitation again to 1" in invited and "since " in invited
    token = csrf_token(staff_client, "/patients?status=invited")

    def resend() -> str:
        response = staff_client.post("/patients/invite-again", data={"csrf_token": token})
        assert re.fullmatch(r"/patients/import/\d+", response.location)
        for thread in twilio_app.extensions.get("import_threads", []):
            thread.join(60)
        return response.location

    # The waiting invitations are being sent: this follows them, sends nothing.
    assert resend() == f"/patients/import/{running_id}"
    assert "being sent already" in page(staff_client.get(f"/patients/import/{running_id}"))
    assert fake_twilio.messages == [] and "import_threads" not in twilio_app.extensions
    with twilio_app.app_context():
        db.session.execute(update(ImportJob).values(status="done"))
        db.session.commit()

    report_url = resend()
    report_id = int(report_url.rsplit("/", 1)[1])
    report = page(staff_client.get(report_url))
    assert "Invitations sent again (" in report and "Done." in report
    assert "1 patient had not answered an invitation sent two days ago or more; " in report
    assert "1 invitation sent again." in report
    assert [m.to for m in fake_twilio.messages] == ["+12025550000"]
    with twilio_app.app_context():
        details = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "invite_again")
        ).all()
    assert details == [f"job {report_id} (see its page for the report)"]
    # Never a third invitation.
    with twilio_app.app_context():
        db.session.execute(
            Message.__table__.update().values(created_at=old).where(Message.kind == "invitation")
        )
        db.session.commit()
    again = page(staff_client.get("/patients?status=invited"))
    assert "Send the invitation again to 1" in again  # patient 2 only; patient 0 had two
    resend()
    assert sorted(m.to for m in fake_twilio.messages) == ["+12025550000", "+12025550002"]


def test_what_counts_as_an_invitation_for_a_resend(twilio_app):
    """A re-send counts the invitations Twilio accepted or that are claimed, to this
    patient: one Twilio refused is none (a second may still go), nor is one to the number
    before the patient's record began (a recycled number)."""
    from bot.patients import records as pt

    seed_patients(twilio_app, 4)
    now = dt.datetime.now(dt.UTC)
    old = now - dt.timedelta(days=3)
    with twilio_app.app_context():
        history_from = now - dt.timedelta(days=10)
        db.session.execute(
            update(Patient).where(Patient.phone == "+12025550003").values(history_from=history_from)
        )
        invitations = [  # (patient, sid, status, when)
            (0, "SMa", "sent", old),  # one accepted: a candidate
            (1, "SMb", "sent", old), (1, None, "failed", old),  # refused: still one
            (2, "SMc", "sent", old), (2, "SMd", "delivered", old),  # two: never a third
            (3, "SMe", "sent", old), (3, "SMf", "sent", now - dt.timedelta(days=20)),  # before
        ]  # fmt: skip
        for n, sid, status, when in invitations:
            db.session.add(
                Message(phone=f"+1202555{n:04d}", direction="out", body="reply YES",
                        kind="invitation", status=status, created_at=when,
                        message_sid=sid and f"{sid}{n:030d}")
            )  # fmt: skip
        db.session.commit()
        phones = dict(db.session.execute(select(Patient.id, Patient.phone)).all())
        found = pt.invite_again_candidates(db.session, now - dt.timedelta(days=2))
        assert sorted(phones[pid] for pid in found) == [
            "+12025550000", "+12025550001", "+12025550003"
        ]  # fmt: skip
        assert pt.invite_again_candidates(db.session, old) == []  # none two days old yet


def test_a_resend_claimed_by_another_run_meanwhile_is_not_sent_twice(twilio_app):
    """Each batch of a re-send is read again as it is claimed, with the patients' rows
    locked: a number another run (the button pressed twice) claimed meanwhile is left."""
    from bot.patients import records as pt
    from bot.patients.importer import INVITE_AGAIN_AFTER, _still_to_invite
    from bot.sms import outgoing

    seed_patients(twilio_app, 2)
    now = dt.datetime.now(dt.UTC)
    with twilio_app.app_context():
        for n in range(2):
            db.session.add(
                Message(phone=f"+1202555{n:04d}", direction="out", body="reply YES",
                        kind="invitation", status="sent", created_at=now - dt.timedelta(days=3),
                        message_sid=f"SMinvite{n:026d}")
            )  # fmt: skip
        db.session.commit()
        older_than = now - INVITE_AGAIN_AFTER
        ids = sorted(pt.invite_again_candidates(db.session, older_than))
        assert len(ids) == 2
        phones = dict(db.session.execute(select(Patient.id, Patient.phone)).all())
        batch = [(pid, phones[pid], "invitation") for pid in ids]
        outgoing.claim_texts(db.session, [(phones[ids[0]], "invitation")], "invitation", now)
        still = _still_to_invite(db.session, batch, pt.invite_again_candidates, older_than)
        assert still == [batch[1]]
        db.session.rollback()


def test_a_resend_held_for_the_night_offers_the_same_button(staff_client, twilio_app, fake_twilio):
    """Outside the sending hours the invitation sent again is held; its page offers to
    send it again later, not the never-invited patients' button, which would not."""
    from tests.conftest import hours_excluding_now

    seed_patients(twilio_app, 1)
    with twilio_app.app_context():
        db.session.add(
            Message(phone="+12025550000", direction="out", body="reply YES", kind="invitation",
                    status="sent", created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=3),
                    message_sid="SMinvite0000")
        )  # fmt: skip
        db.session.commit()
    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    token = csrf_token(staff_client, "/patients?status=invited")
    response = staff_client.post("/patients/invite-again", data={"csrf_token": token})
    for thread in twilio_app.extensions["import_threads"]:
        thread.join(60)
    report = page(staff_client.get(response.location))
    assert "0 invitations sent again." in report and "held: outside sending hours" in report
    assert 'action="/patients/invite-again"' in report
    assert "Send the invitation again&#39; on this page" in report  # how, in the reason
    assert "Send the waiting invitations" not in report and "Not sent again" in report
    assert fake_twilio.messages == []


def test_an_allowed_country_is_enrolled(make_app, fake_twilio):
    """ALLOWED_COUNTRIES=US,PR: a Puerto Rico mobile enrolled; Nigeria's still refused."""
    from tests.conftest import add_staff, sign_in, twilio_settings

    app = make_app(**twilio_settings(fake_twilio, ALLOWED_COUNTRIES="US, pr"))
    add_staff(app)
    client = app.test_client()
    sign_in(client)
    assert enroll_form(client, phone="+1 787 555 0101").status_code == 302
    refused = enroll_form(client, phone="+234 803 123 4567", name="Ola Ade")
    assert "this clinic texts only numbers in PR, US" in page(refused)


def test_invitations_stop_at_the_days_cap(make_app, fake_twilio):
    from tests.conftest import add_staff, sign_in, twilio_settings

    app = make_app(**twilio_settings(fake_twilio, INVITATIONS_PER_DAY=1))
    add_staff(app)
    client = app.test_client()
    sign_in(client)
    first = page(client.get(enroll_form(client).location))
    assert "was sent the invitation" in first
    second = enroll_form(client, phone="(202) 555-0143", name="Bo Diaz")
    shown = page(client.get(second.location))
    assert "held: today&#39;s 1 invitations (INVITATIONS_PER_DAY) are sent" in shown
    assert len(fake_twilio.messages) == 1


def test_a_recycled_number_is_a_new_person_on_a_new_record(admin_client, twilio_app, fake_twilio):
    """Issue 21, item 5: a removed patient's number, given by the carrier to someone else
    and enrolled for them, used to take the removed patient's row: the new person's page
    and export showed the former patient's texts and consents. A new person is a new
    record holding only what comes after; the former patient's record keeps theirs, and
    the same person coming back is on their own record again."""
    from bot.models import Thread

    client = admin_client
    enroll_form(client)  # Ana Lopez
    ana = patient_row(twilio_app)
    post_sms(client, "YES", phone=NEW_PATIENT)
    post_sms(client, "can I talk to a person about my knee surgery", phone=NEW_PATIENT)
    token = csrf_token(client, f"/patients/{ana.id}")
    client.post(f"/patients/{ana.id}/remove", data={"csrf_token": token})

    response = enroll_form(client, name="Bo Chen")
    assert response.status_code == 302, page(response)
    with twilio_app.app_context():
        bo = db.session.scalar(
            select(Patient).where(Patient.phone == NEW_PATIENT, Patient.removed_at.is_(None))
        )
        thread_id = db.session.scalar(select(Thread.id).where(Thread.phone == NEW_PATIENT))
    assert bo.id != ana.id and bo.name == "Bo Chen"
    invitations = [m for m in fake_twilio.sent_to(NEW_PATIENT) if "YES" in m.body]
    assert len(invitations) == 2  # Ana's was Ana's: Bo is invited too
    post_sms(client, "YES", phone=NEW_PATIENT)
    post_sms(client, "what time is my reminder", phone=NEW_PATIENT)

    bos_page = page(client.get(f"/patients/{bo.id}"))
    assert "Bo Chen" in bos_page and "what time is my reminder" in bos_page
    assert "knee surgery" not in bos_page and "Ana Lopez" not in bos_page
    assert "Subscribed" in bos_page
    for kind in ("json", "csv"):
        export = page(client.get(f"/patients/{bo.id}/export.{kind}"))
        assert "what time is my reminder" in export and "knee surgery" not in export
        assert "Ana Lopez" not in export
    thread = page(client.get(f"/inbox/{thread_id}"))
    assert "what time is my reminder" in thread and "knee surgery" not in thread

    anas_page = page(client.get(f"/patients/{ana.id}"))
    assert "knee surgery" in anas_page and "what time is my reminder" not in anas_page
    export = page(client.get(f"/patients/{ana.id}/export.json"))
    assert "knee surgery" in export and "what time is my reminder" not in export
    listed = page(client.get("/patients"))
    assert "Bo Chen" in listed and "Ana Lopez" not in listed

    # Ana's data deleted at her request: Bo's texts and thread are Bo's, and stay.
    token = csrf_token(client, f"/patients/{ana.id}")
    client.post(f"/patients/{ana.id}/delete-data", data={"csrf_token": token})
    bos_page = page(client.get(f"/patients/{bo.id}"))
    assert "what time is my reminder" in bos_page
    assert client.get(f"/inbox/{thread_id}").status_code == 200

    # Bo removed and enrolled again by the same name: his own record, history and all.
    token = csrf_token(client, f"/patients/{bo.id}")
    client.post(f"/patients/{bo.id}/remove", data={"csrf_token": token})
    assert enroll_form(client, name="bo chen").status_code == 302
    again = patient_row_enrolled(twilio_app)
    assert again.id == bo.id
    assert "what time is my reminder" in page(client.get(f"/patients/{bo.id}"))


def patient_row_enrolled(app, phone=NEW_PATIENT) -> Patient | None:
    with app.app_context():
        return db.session.scalar(
            select(Patient).where(Patient.phone == phone, Patient.removed_at.is_(None))
        )


def errors_shown(response) -> dict[str, str]:
    """The form's errors, by field: each <p class="error" id="<field>-error">."""
    page = response.get_data(as_text=True)
    return {
        field: html.unescape(text)
        for field, text in re.findall(r'<p class="error" id="([a-z_]+)-error">([^<]*)</p>', page)
    }


def test_every_mistake_of_the_enroll_form_is_said_at_once(staff_client, twilio_app):
    """A time outside the sending hours and a number already enrolled were said only once
    the rest was right; now every field is checked on every submit."""
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(8), dt.time(21))  # the default hours
    subscribe(twilio_app, NEW_PATIENT, name="Bea Already")
    response = enroll_form(
        staff_client, name="", reminder_time="22:30", consent="",
        **{"order-cat-camel": "7"},
    )  # fmt: skip
    shown = errors_shown(response)
    assert set(shown) == {"name", "phone", "reminder_time", "routine", "consent"}, shown
    assert shown["phone"] == "+12025550142 is already enrolled (Bea Already)."
    assert "choose a time before 9:00 PM" in shown["reminder_time"]
    assert "is not a place in the routine" in shown["routine"]
    page = response.get_data(as_text=True)
    with twilio_app.app_context():
        bea = db.session.scalar(select(Patient.id).where(Patient.name == "Bea Already"))
    assert f'href="/patients/{bea}">Open the enrolled patient\'s page</a>' in page


@pytest.mark.parametrize(
    "number",
    ["(703) 723-6800", "+1 703 723 6800", "703.723.6800"],  # the clinic page's, as written
)
def test_the_clinics_own_number_is_refused(staff_client, twilio_app, number):
    shown = errors_shown(enroll_form(staff_client, phone=number))
    assert shown == {"phone": "That is the clinic's own number: enter the patient's mobile."}


def test_the_texting_number_is_refused_too(staff_client, twilio_app):
    own = twilio_app.config["TWILIO_FROM_NUMBER"]
    shown = errors_shown(enroll_form(staff_client, phone=own))
    assert shown == {"phone": "That is the clinic's own number: enter the patient's mobile."}


@pytest.mark.parametrize(
    ("orders", "said"),
    [
        ({"order-cat-camel": "1", "order-pelvic-tilt": "1"}, "are both number 1"),
        ({"order-cat-camel": "3"}, "not a place in the routine: number the 2 chosen"),
        ({"order-cat-camel": "0"}, "not a place in the routine"),
        ({"order-cat-camel": "-1"}, "not a place in the routine"),
        ({"order-cat-camel": "\u00b2"}, "not a place in the routine"),
        ({"order-cat-camel": "1" * 30}, "not a place in the routine"),
    ],
)
def test_a_routine_with_a_place_that_does_not_exist_or_twice_is_refused(
    staff_client, twilio_app, orders, said
):
    response = enroll_form(staff_client, **{"order-pelvic-tilt": "", **orders})
    shown = errors_shown(response)
    assert set(shown) == {"routine"} and said in shown["routine"], shown
    with twilio_app.app_context():
        assert db.session.scalar(select(Patient).where(Patient.phone == NEW_PATIENT)) is None


def test_a_routine_with_an_exercise_twice_is_refused(staff_client, twilio_app):
    response = enroll_form(staff_client, routine=["cat-camel", "cat-camel"])
    assert errors_shown(response) == {"routine": "An exercise is chosen twice: choose each once."}


def test_unnumbered_exercises_follow_the_numbered_ones(staff_client, twilio_app):
    response = enroll_form(
        staff_client, routine=["cat-camel", "pelvic-tilt", "knee-to-chest"],
        **{"order-cat-camel": "", "order-pelvic-tilt": "", "order-knee-to-chest": "1"},
    )  # fmt: skip
    assert response.status_code == 302
    with twilio_app.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.phone == NEW_PATIENT))
        assert patient.routine[0] == "knee-to-chest"


def test_a_time_before_the_sending_hours_says_when_it_will_arrive(staff_client, twilio_app):
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(8), dt.time(21))  # the default hours
    response = enroll_form(staff_client, reminder_time="06:30")
    assert response.status_code == 302
    page = staff_client.get(response.location).get_data(as_text=True)
    assert "the reminder set for 6:30 AM arrives at 8:00 AM" in html.unescape(page)
    # At a time inside the hours, nothing is said.
    other = enroll_form(staff_client, phone="(202) 555-0143", reminder_time="09:00")
    assert "arrives at" not in staff_client.get(other.location).get_data(as_text=True)


def test_a_clinician_sees_the_caseload_and_inbox_but_not_accounts_or_the_audit(
    admin_client, twilio_app
):
    """Issue 25, item 7: an admin creates a clinician (the Staff page, or the command
    line); a clinician lands on the caseload (the inbox first when an urgent text waits),
    reaches the inbox, patients and dashboard, and neither the staff accounts nor the
    audit trail (no links to them either)."""
    response = admin_client.post(
        "/staff",
        data={"csrf_token": csrf_token(admin_client, "/staff"), "email": "pt@clinic.example",
              "password": "a long enough password", "role": "clinician"},
    )  # fmt: skip
    listed = page(admin_client.get(response.location))
    assert "Created the account pt@clinic.example" in listed
    assert "Clinician (lands on the caseload)" in listed
    refused = admin_client.post(
        "/staff",
        data={"csrf_token": csrf_token(admin_client, "/staff"), "email": "x@clinic.example",
              "password": "a long enough password", "role": "owner"},
    )  # fmt: skip
    assert "The role is one of staff, clinician, admin." in page(refused)
    result = twilio_app.test_cli_runner().invoke(
        args=["staff", "create", "pt2@clinic.example", "--role", "clinician"],
        env={"STAFF_PASSWORD": "another long password"},
    )
    assert result.exit_code == 0 and "Created clinician account pt2@clinic.example" in result.output

    clinician = twilio_app.test_client()
    signed_in = sign_in(clinician, "pt@clinic.example", "a long enough password")
    assert signed_in.location.endswith("/caseload")
    assert clinician.get("/").location.endswith("/caseload")
    home = page(clinician.get("/caseload"))
    assert "Caseload" in home and 'href="/staff"' not in home and 'href="/audit"' not in home
    for path in ("/caseload", "/inbox", "/patients", "/dashboard"):
        assert clinician.get(path).status_code == 200, path
    for path in ("/staff", "/audit", "/replies"):
        assert clinician.get(path).status_code == 403, path
    # An urgent text waiting: the inbox first.
    post_sms(twilio_app.test_client(), "I can't feel my legs", phone="+12025550177")
    again = twilio_app.test_client()
    assert sign_in(again, "pt2@clinic.example", "another long password").location.endswith("/inbox")


def test_an_admin_changes_a_members_role_but_not_their_own(admin_client, twilio_app):
    add_staff(twilio_app)  # the front desk
    with twilio_app.app_context():
        desk, me = (
            db.session.scalar(select(StaffUser.id).where(StaffUser.email == email))
            for email in (STAFF_EMAIL, ADMIN_EMAIL)
        )
    token = csrf_token(admin_client, "/staff")
    response = admin_client.post(
        f"/staff/{desk}/role", data={"csrf_token": token, "role": "clinician"}
    )
    assert f"{STAFF_EMAIL} is now clinician." in page(admin_client.get(response.location))
    with twilio_app.app_context():
        assert db.session.get(StaffUser, desk).role == "clinician"
    refused = admin_client.post(f"/staff/{desk}/role", data={"csrf_token": token, "role": "owner"})
    assert "The role is one of staff, clinician, admin." in page(admin_client.get(refused.location))
    own = admin_client.post(f"/staff/{me}/role", data={"csrf_token": token, "role": "staff"})
    assert "You cannot change your own role." in page(admin_client.get(own.location))
    with twilio_app.app_context():
        assert db.session.get(StaffUser, me).role == "admin"
        assert db.session.get(StaffUser, desk).role == "clinician"
    desk_client = twilio_app.test_client()
    assert sign_in(desk_client).location.endswith("/caseload")  # a clinician now
    theirs = csrf_token(desk_client, "/patients")
    assert desk_client.post(f"/staff/{me}/role", data={"csrf_token": theirs}).status_code == 403


def test_a_patient_another_run_invited_meanwhile_is_in_the_report(twilio_app, fake_twilio):
    """A batch's second reading (another run claimed a patient meanwhile) leaves that
    patient out of this run's texts, and the report says so: its counts add up."""
    from bot.patients.importer import MEANWHILE, ImportReport, _invite_all

    seed_patients(twilio_app, 2)
    with twilio_app.app_context():
        ids = sorted(db.session.scalars(select(Patient.id)))
        report = ImportReport(rows=2)

        def still(session, batch):  # as if another run had claimed the first meanwhile
            return [job for job in batch if job[0] != ids[0]]

        _invite_all(twilio_app, [(None, pid) for pid in ids], report, None, still)
    assert report.invited == 1 and report.invite_failures == [(None, MEANWHILE, ids[0])]
    assert [m.to for m in fake_twilio.messages] == ["+12025550001"]


def test_a_report_offers_no_button_where_none_would_send(staff_client, twilio_app):
    """Opted out, or invited by another run meanwhile: no button sends those, so the
    report offers none; one held for the night gets the button of its kind."""
    from bot.models import ImportJob
    from bot.patients.importer import MEANWHILE, OPTED_OUT

    seed_patients(twilio_app, 1)
    with twilio_app.app_context():
        pid = db.session.scalar(select(Patient.id))
        jobs = [
            ImportJob(created_by="desk@clinic.example", status="done", stage="inviting",
                      kind=kind, report={"kind": kind, "rows": 2, "invited": 0,
                                         "invite_failures": failures})
            for kind, failures in [
                ("invitations", [[None, OPTED_OUT, pid], [None, MEANWHILE, pid]]),
                ("invite_again", [[None, MEANWHILE, pid]]),
                ("invite_again", [[None, "held: outside sending hours", pid]]),
            ]
        ]  # fmt: skip
        db.session.add_all(jobs)
        db.session.commit()
        urls = [f"/patients/import/{job.id}" for job in jobs]
    for url in urls[:2]:
        shown = page(staff_client.get(url))
        assert "Patient 000" in shown and "another run at the same moment" in shown
        assert "invitations/send" not in shown and "invite-again" not in shown
    assert 'action="/patients/invite-again"' in page(staff_client.get(urls[2]))
