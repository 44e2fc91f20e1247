"""The language a number is answered in: an enrolled patient's record, else what the
number asked for (ESPAÑOL, ENGLISH, remembered), else the text's own; through the webhook,
on both databases."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from bot.models import Patient, PhoneLanguage, db
from bot.reminders.commands import read_language
from tests.conftest import post_sms, reply_of, subscribe

SPANISH_PATIENT, ENGLISH_PATIENT, STRANGER = "+12025550161", "+12025550162", "+12025550163"


def said(app, text: str, phone: str) -> str:
    return reply_of(post_sms(app.test_client(), text, phone=phone))


def in_spanish(reply: str) -> bool:
    return reply.startswith(("Horario", "¡Hola", "Listo", "Sí", "Si,", "Aceptamos", "Llame"))


def patient_language(app, phone: str) -> str:
    with app.app_context():
        return db.session.scalar(select(Patient.language).where(Patient.phone == phone))


@pytest.mark.parametrize(
    ("text", "language"),
    [("ESPAÑOL", "es"), ("espanol", "es"), ("en español por favor", "es"), ("Spanish", "es"),
     ("ENGLISH", "en"), ("english please", "en"), ("en inglés", "en"), ("inglés", "en"),
     ("hola", None), ("do you speak spanish", None), ("¿hablan español?", None),
     ("english is hard for me, can you help", None)],
)  # fmt: skip
def test_reading_the_switch(text, language):
    assert read_language(text) == language


def test_the_record_wins_for_enrolled_numbers(twilio_app):
    subscribe(twilio_app, SPANISH_PATIENT, language="es")
    subscribe(twilio_app, ENGLISH_PATIENT, language="en")
    assert said(twilio_app, "what are your hours", SPANISH_PATIENT).startswith("Horario:\nLun")
    assert said(twilio_app, "do you take aetna", SPANISH_PATIENT).startswith("Si, aceptamos")
    assert said(twilio_app, "cual es su horario", ENGLISH_PATIENT).startswith("Office hours:")
    # Safety answers too: the same answer, in the patient's language.
    assert said(twilio_app, "chest pain", SPANISH_PATIENT).startswith("Llame al 911")
    assert said(twilio_app, "dolor de pecho", ENGLISH_PATIENT).startswith("Please call 911")


def test_the_reply_stored_is_the_one_sent_in_the_records_language(twilio_app):
    """The other language's answer is written only when the number's language calls for
    it (the webhook's cost), after the text is recorded: the stored reply is corrected to
    it, so the thread and the export show what the patient got."""
    from bot.models import Message

    subscribe(twilio_app, SPANISH_PATIENT, language="es")
    sent = {said(twilio_app, "what are your hours", SPANISH_PATIENT),
            said(twilio_app, "cual es su horario", STRANGER)}  # fmt: skip
    with twilio_app.app_context():
        stored = set(db.session.scalars(select(Message.body).where(Message.direction == "out")))
    assert stored == sent and all(body.startswith("Horario:") for body in stored)


def test_without_a_record_the_text_says(twilio_app):
    assert said(twilio_app, "cual es su horario", STRANGER).startswith("Horario:")
    assert said(twilio_app, "what are your hours", STRANGER).startswith("Office hours:")
    assert said(twilio_app, "¿hours?", STRANGER).startswith("Horario:")  # a Spanish question


def test_a_number_switches_and_is_remembered(twilio_app):
    reply = said(twilio_app, "ESPAÑOL", STRANGER)
    assert reply == "Listo, desde ahora le escribimos en español. Escriba ENGLISH para inglés."
    assert said(twilio_app, "what are your hours", STRANGER).startswith("Horario:")
    assert said(twilio_app, "thanks", STRANGER).startswith("¡De nada!")
    with twilio_app.app_context():
        assert db.session.get(PhoneLanguage, STRANGER).language == "es"
    assert said(twilio_app, "english", STRANGER).startswith("OK, we will text you in English")
    assert said(twilio_app, "cual es su horario", STRANGER).startswith("Office hours:")


def test_an_enrolled_patient_switches_their_record(twilio_app):
    subscribe(twilio_app, ENGLISH_PATIENT, language="en")
    assert said(twilio_app, "Español por favor", ENGLISH_PATIENT).startswith("Listo")
    assert patient_language(twilio_app, ENGLISH_PATIENT) == "es"  # the reminders follow it
    assert said(twilio_app, "hours", ENGLISH_PATIENT).startswith("Horario:")
    with twilio_app.app_context():
        assert db.session.get(PhoneLanguage, ENGLISH_PATIENT) is None  # the record holds it


def test_a_retried_switch_is_answered_as_stored(twilio_app):
    client = twilio_app.test_client()
    first = reply_of(post_sms(client, "ESPAÑOL", phone=STRANGER, sid="SM" + "7" * 32))
    again = reply_of(post_sms(client, "ESPAÑOL", phone=STRANGER, sid="SM" + "7" * 32))
    assert first == again and first.startswith("Listo")


def test_stop_and_help_in_the_numbers_language(twilio_app):
    subscribe(twilio_app, SPANISH_PATIENT, language="es")
    subscribe(twilio_app, ENGLISH_PATIENT, language="en")
    assert "Llame al" in said(twilio_app, "HELP", SPANISH_PATIENT)
    assert "answers about exercises" in said(twilio_app, "HELP", ENGLISH_PATIENT)
    # A Spanish keyword is answered in Spanish whatever the record says.
    assert "Llame al" in said(twilio_app, "AYUDA", ENGLISH_PATIENT)
    assert "no recibira mas mensajes" in said(twilio_app, "STOP", SPANISH_PATIENT)
    assert "you are unsubscribed" in said(twilio_app, "STOP", ENGLISH_PATIENT)
    assert "recibira nuestros mensajes" in said(twilio_app, "START", SPANISH_PATIENT)
    assert "you are subscribed" in said(twilio_app, "START", ENGLISH_PATIENT)


def test_a_switch_from_an_opted_out_number_is_not_answered(twilio_app):
    said(twilio_app, "STOP", STRANGER)
    assert said(twilio_app, "ESPAÑOL", STRANGER) == ""  # never text a number after STOP


def test_the_held_answer_in_the_patients_language(staff_client, twilio_app):
    from tests.test_inbox import send_reply, thread_of

    subscribe(twilio_app, SPANISH_PATIENT, language="es")
    said(twilio_app, "can I talk to someone", SPANISH_PATIENT)
    thread = thread_of(twilio_app, SPANISH_PATIENT)
    url = f"/inbox/{thread.id}"
    send_reply(staff_client, url, url + "/reply", "Hola, soy Jo.")
    held = said(twilio_app, "what are your hours", SPANISH_PATIENT)
    assert held.startswith("Gracias, recibimos su mensaje")


def test_a_spanish_patient_gets_spanish_steps_and_reminders(twilio_app):
    from bot.reminders.sweep import reminder_text

    subscribe(twilio_app, SPANISH_PATIENT, language="es")
    assert said(twilio_app, "cat camel", SPANISH_PATIENT).startswith("Gato y camello (Cat and")
    content = twilio_app.extensions["content"]
    text = reminder_text(content, "Ana Lopez", "es", ["cat-camel", "pelvic-tilt"])
    assert "Gato y camello, Inclinacion pélvica" in text
