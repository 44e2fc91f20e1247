"""A patient's own program by text (issue 20, first step): the reminder, the routine and
one exercise of it by its place, the week; from the patient's record, in their language,
and nothing about anyone's record to a number not enrolled."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import update

from bot.models import AdherenceDay, Patient, db
from bot.reminders import checkins, schedule
from bot.sms.segments import count_segments
from tests.conftest import post_sms, reply_of, subscribe

ANA, BEA, STRANGER = "+12025550151", "+12025550152", "+12025550153"
FIVE = ["cat-camel", "pelvic-tilt", "prayer-stretch", "knee-to-chest", "bird-dog"]


def test_the_reminder_as_it_stands(twilio_app):
    ana = subscribe(twilio_app, ANA, time="18:30")
    bea = subscribe(twilio_app, BEA, language="es")
    client = twilio_app.test_client()
    assert "every day at 6:30 PM" in reply_of(post_sms(client, "what time is my reminder?", ANA))
    assert "6:30 PM" not in reply_of(post_sms(client, "what time is my reminder?", STRANGER))
    until = dt.datetime.now(dt.UTC) + dt.timedelta(days=3)
    with twilio_app.app_context():
        db.session.execute(
            update(Patient).where(Patient.id == ana).values(paused=True, paused_until=until)
        )
        db.session.execute(update(Patient).where(Patient.id == bea).values(paused=True))
        schedule.record_change(
            db.session.connection(), bea, "pause", checkins.PAIN_PAUSE_DETAIL,
            ("app", "the app"), dt.datetime.now(dt.UTC),
        )  # fmt: skip
        db.session.commit()
    paused = reply_of(post_sms(client, "are my reminders paused?", ANA))
    assert paused.startswith("Your reminders are paused until") and "RESUME" in paused
    pain = reply_of(post_sms(client, "sigue pausado mi recordatorio?", BEA))
    assert "dolor" in pain and "REANUDAR" not in pain and "RESUME" not in pain  # staff lift it


def test_the_routine_and_an_exercise_by_its_place(twilio_app):
    subscribe(twilio_app, ANA, routine=FIVE)
    subscribe(twilio_app, BEA, routine=["bird-dog"], language="es")
    client = twilio_app.test_client()
    listed = reply_of(post_sms(client, "what are my exercises", ANA))
    assert listed.startswith("Your routine: Cat and Camel, Pelvic Tilt, Prayer Stretch")
    firsts = reply_of(post_sms(client, "the first two?", ANA))
    assert firsts.startswith("From your exercises: 1 Cat and Camel, 2 Pelvic Tilt.")
    second = reply_of(post_sms(client, "what was exercise 2 again", ANA))
    assert second.startswith("Pelvic Tilt")
    assert reply_of(post_sms(client, "the last one?", ANA)).startswith("Hip Outside Leg Stretch")
    assert "Perro de caza" in reply_of(post_sms(client, "cuales son mis ejercicios", BEA))
    # A number not enrolled: the clinic's list, nothing of anyone's routine.
    assert reply_of(post_sms(client, "what was exercise 2 again", STRANGER)).startswith(
        "Our home exercises"
    )


def test_the_week(twilio_app):
    ana = subscribe(twilio_app, ANA)
    today = dt.datetime.now(checkins.ZoneInfo("America/New_York")).date()
    with twilio_app.app_context():
        for days_ago, pain in ((1, 5), (2, 3)):
            db.session.add(
                AdherenceDay(
                    patient_id=ana, local_date=today - dt.timedelta(days=days_ago), pain=pain,
                    done_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago),
                )
            )  # fmt: skip
        db.session.commit()
    client = twilio_app.test_client()
    week = reply_of(post_sms(client, "whats my streak", ANA))
    assert week == (
        "You've done your exercises 2 of the last 7 days. 2 days in a row. Last pain score: 5/10."
    )
    assert "of the last 7" not in reply_of(post_sms(client, "whats my streak", STRANGER))


def test_an_exercise_by_its_place_comes_in_parts_and_more_gives_the_rest(twilio_app):
    """Every answer about the own program within two segments: an exercise's steps (3 to 6
    segments whole) come in parts, each ending "Text MORE for the rest"; MORE sends the
    next, the last part ends the steps; MORE with nothing to continue is no part."""
    subscribe(twilio_app, ANA, routine=FIVE)
    subscribe(twilio_app, BEA, routine=FIVE, language="es")
    client = twilio_app.test_client()
    whole = twilio_app.extensions["replier"].exercise_text(
        twilio_app.extensions["content"].exercise("knee-to-chest"), "en"
    )
    parts = [reply_of(post_sms(client, "how do i do exercise 4?", ANA))]
    while parts[-1].endswith("Text MORE for the rest."):
        parts.append(reply_of(post_sms(client, "more", ANA)))
    assert len(parts) > 1
    assert all(count_segments(part).segments <= 2 for part in parts)
    assert parts[0].startswith("Knee-to-Chest Raise") and "Stop if it hurts" in parts[0]
    told = "\n".join(p.removesuffix("\nText MORE for the rest.") for p in parts).split("\n")
    assert sorted(told) == sorted(whole.split("\n"))  # every line, none twice, none lost
    assert "Knee-to-Chest" not in reply_of(post_sms(client, "more", ANA))  # nothing left
    first = reply_of(post_sms(client, "como hago el ultimo?", BEA))
    assert first.endswith("Escriba MAS para ver el resto.")
    assert "Perro" in first or "Bird" in first
    parts = twilio_app.extensions["replier"].exercise_parts("bird-dog", "es")
    assert first == parts[0] and reply_of(post_sms(client, "mas", BEA)) == parts[1]
    assert "MORE" not in reply_of(post_sms(client, "more", STRANGER))


def test_anyone_asking_for_an_exercise_gets_its_steps_in_parts(twilio_app):
    """A number not enrolled asking for an exercise by name gets the same parts (within two
    segments, "Text MORE for the rest"), and MORE the next, in the language asked; asked
    for two, the first one's steps and the other's name to text."""
    client = twilio_app.test_client()
    replier = twilio_app.extensions["replier"]
    for text, more, exercise, language in [
        ("how do i do the cat camel", "MORE", "cat-camel", "en"),
        ("como hago la rodilla al pecho", "mas", "knee-to-chest", "es"),
    ]:
        parts = [reply_of(post_sms(client, text, STRANGER))]
        while parts[-1].endswith(replier.say("more_hint", language)):
            parts.append(reply_of(post_sms(client, more, STRANGER)))
        assert list(parts) == list(replier.exercise_parts(exercise, language))
        assert len(parts) > 1 and all(count_segments(p).segments <= 2 for p in parts)
        whole = replier.exercise_text(twilio_app.extensions["content"].exercise(exercise), language)
        hint = "\n" + replier.say("more_hint", language)
        told = "\n".join(p.removesuffix(hint) for p in parts).split("\n")
        assert sorted(told) == sorted(whole.split("\n"))  # every line once
    both = reply_of(post_sms(client, "cat camel and pelvic tilt", STRANGER))
    assert both.startswith("Cat and Camel") and "Text PELVIC TILT for its steps." in both
    assert count_segments(both).segments <= 3
    following = reply_of(post_sms(client, "more", STRANGER))
    assert following == replier.exercise_parts("cat-camel", "en")[1]


def test_a_prebuilt_lookup_reads_what_sqlalchemy_reads(twilio_app):
    """``first`` runs the own program's lookup straight on PostgreSQL (compiled once): the
    row is the one SQLAlchemy gives, every type the same (the routine's JSON, the time, the
    pause's moment with its zone); a value left out is refused, not read as NULL."""
    from bot.models import first
    from bot.sms.inbound import _PROGRAM

    ana = subscribe(twilio_app, ANA, routine=FIVE, time="18:30")
    until = dt.datetime(2030, 5, 6, 7, 8, tzinfo=dt.UTC)
    with twilio_app.app_context():
        db.session.execute(
            update(Patient).where(Patient.id == ana).values(paused=True, paused_until=until)
        )
        db.session.commit()
        with twilio_app.extensions["webhook_engine"].connect() as conn:
            row = first(conn, _PROGRAM, phone=ANA)
            assert tuple(row) == tuple(conn.execute(_PROGRAM, {"phone": ANA}).one())
            assert tuple(row) == (ana, FIVE, "en", "America/New_York", dt.time(18, 30), True, until)
            assert first(conn, _PROGRAM, phone=STRANGER) is None
            with pytest.raises(Exception, match="phone"):
                first(conn, _PROGRAM)
