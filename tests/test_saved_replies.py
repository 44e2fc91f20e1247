"""Saved replies: admins write them (English, Spanish, merge fields), every member picks one
in a reply box, filled in for the patient in their language."""

from __future__ import annotations

import html
import re

import pytest
from sqlalchemy import select

from bot.inbox import saved_replies as saved
from bot.models import AuditEvent, Patient, SavedReply, db
from tests.conftest import PATIENT, csrf_token, post_sms, subscribe
from tests.test_inbox import STRANGER, thread_of


def add(client, title: str, body_en: str, body_es: str = "", url: str = "/replies"):
    token = csrf_token(client, url)
    return client.post(
        url, data={"csrf_token": token, "title": title, "body_en": body_en, "body_es": body_es}
    )


def offered_in(page: str) -> dict[str, str | None]:
    """The saved replies a page's reply box offers: title -> filled text (None: disabled)."""
    found = {}
    for attrs, label in re.findall(r"<option value=\"\d+\"([^>]*)>([^<]*)</option>", page):
        text = re.search(r'data-text="([^"]*)"', attrs)
        found[html.unescape(label)] = html.unescape(text.group(1)) if text else None
    return found


def clinic_phone(app) -> str:
    return app.extensions["content"].clinic.phone


def test_an_admin_adds_a_reply_and_every_member_picks_it_filled_in(
    admin_client, staff_client, twilio_app
):
    response = add(
        admin_client,
        "Running late",
        "Hi {first_name}, we are running 15 minutes late today. Questions: {clinic_phone}.",
        "Hola {first_name}, vamos 15 minutos tarde hoy. Preguntas: {clinic_phone}.",
    )
    assert response.status_code == 302
    assert "Saved the reply" in admin_client.get(response.location).get_data(as_text=True)
    add(admin_client, "Reminder time", "Your reminder comes at {reminder_time} each day.")
    ana = subscribe(twilio_app, PATIENT, name="Ana María López")
    with twilio_app.app_context():
        db.session.get(Patient, ana).language = "es"
        db.session.commit()
    page = staff_client.get(f"/patients/{ana}").get_data(as_text=True)
    offers = offered_in(page)
    phone = clinic_phone(twilio_app)
    assert offers["Running late (español), 1 text"] == (
        f"Hola Ana, vamos 15 minutos tarde hoy. Preguntas: {phone}."
    )
    # No Spanish text: the English one, said plainly in the label.
    assert offers["Reminder time, 1 text"].startswith("Your reminder comes at ")
    assert re.search(r"at \d{1,2}:\d\d [AP]M each day", offers["Reminder time, 1 text"])
    # A number not enrolled: no first name or reminder time, so those are not offered.
    post_sms(twilio_app.test_client(), "call me", phone=STRANGER)
    thread = thread_of(twilio_app, STRANGER)
    stranger = offered_in(staff_client.get(f"/inbox/{thread.id}").get_data(as_text=True))
    assert set(stranger.values()) == {None}
    assert any("needs the patient's first name" in label for label in stranger)
    with twilio_app.app_context():
        actions = db.session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)).all()
    assert actions.count("saved_reply_add") == 2


def test_only_admins_manage_saved_replies(staff_client, twilio_app):
    assert staff_client.get("/replies").status_code == 403
    token = csrf_token(staff_client, "/patients")
    response = staff_client.post(
        "/replies", data={"csrf_token": token, "title": "x", "body_en": "y"}
    )
    assert response.status_code == 403
    assert 'href="/replies"' not in staff_client.get("/patients").get_data(as_text=True)
    anonymous = twilio_app.test_client()
    assert anonymous.get("/replies").status_code == 302


@pytest.mark.parametrize(
    ("title", "body_en", "body_es", "said"),
    [
        ("", "Hello", "", "Title: give the reply a short name."),
        ("x" * 81, "Hello", "", "Title: 81 characters; at most 80."),
        ("Hi", "", "", "English: write the reply."),
        ("Hi", "Hi {name}!", "", "English: {name} is not a field"),
        ("Hi", "Hi {first_name!", "", "English: a brace without its pair"),
        ("Hi", "Hi {}", "", "English: {} is not a field"),
        ("Hi", "Hello", "Hola {nombre}", "Spanish: {nombre} is not a field"),
        ("Hi", "x" * 1601, "", "English: 1601 characters; a text holds 1600."),
        ("Hi", "Hello\x00there", "", "English: it holds a control character"),
    ],
)
def test_a_reply_that_cannot_be_kept_says_why_and_keeps_what_was_typed(
    admin_client, twilio_app, title, body_en, body_es, said
):
    response = add(admin_client, title, body_en, body_es)
    page = response.get_data(as_text=True)
    assert response.status_code == 200 and said in html.unescape(page)
    assert 'role="alert"' in page
    if body_en and "\x00" not in body_en:
        assert html.escape(body_en[:40], quote=False) in page  # nothing typed is lost
    with twilio_app.app_context():
        assert db.session.scalars(select(SavedReply)).all() == []


def test_two_replies_cannot_share_a_title_and_one_is_changed_and_deleted(admin_client, twilio_app):
    add(admin_client, "Closed Friday", "We are closed this Friday.")
    response = add(admin_client, "Closed  Friday ", "Another text")
    assert "a saved reply is called 'Closed Friday' already" in html.unescape(
        response.get_data(as_text=True)
    )
    with twilio_app.app_context():
        reply_id = db.session.scalar(select(SavedReply.id))
    url = f"/replies/{reply_id}"
    assert "We are closed this Friday." in admin_client.get(url).get_data(as_text=True)
    add(
        admin_client,
        "Closed Friday",
        "We are closed this Friday, Dec 25.",
        "Cerramos el viernes.",
        url=url,
    )
    with twilio_app.app_context():
        reply = db.session.get(SavedReply, reply_id)
        assert (reply.body_en, reply.body_es) == (
            "We are closed this Friday, Dec 25.",
            "Cerramos el viernes.",
        )
    token = csrf_token(admin_client, "/replies")
    admin_client.post(f"{url}/delete", data={"csrf_token": token})
    with twilio_app.app_context():
        assert db.session.scalars(select(SavedReply)).all() == []
        actions = db.session.scalars(select(AuditEvent.action)).all()
    assert {"saved_reply_add", "saved_reply_change", "saved_reply_delete"} <= set(actions)
    assert admin_client.get("/replies/999999").status_code == 404


def test_a_hostile_title_and_text_stay_text(admin_client, staff_client, twilio_app):
    hostile = '"><script>alert(1)</script><img src=x onerror=alert(2)>'
    add(admin_client, hostile[:80], f"Hi {{first_name}} {hostile}")
    patient = subscribe(twilio_app, PATIENT, name='Bob "><b>')
    for page in (
        admin_client.get("/replies").get_data(as_text=True),
        staff_client.get(f"/patients/{patient}").get_data(as_text=True),
    ):
        assert "<script>alert(1)" not in page and "<img src=x" not in page
    offers = offered_in(staff_client.get(f"/patients/{patient}").get_data(as_text=True))
    [(label, text)] = offers.items()
    assert text == f"Hi Bob {hostile}"


def test_fill_and_check_alone():
    assert saved.fill("Hi {first_name}", {"first_name": "Ana"}) == "Hi Ana"
    assert saved.fill("Hi {first_name}", {"first_name": None}) is None
    assert saved.fill("No fields", {}) == "No fields"
    assert saved.check("  Hello\r\nthere  ", "English") == "Hello\nthere"
