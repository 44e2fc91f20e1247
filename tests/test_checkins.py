"""An enrolled patient's commands by text: DONE with a pain score, the streak, one row a day,
the pain pause, and rescheduling (later, a new time, pause, resume), each kept with who
made it."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
import time_machine
from sqlalchemy import func, select

from bot.models import (
    AdherenceDay,
    Message,
    Patient,
    ReminderDelivery,
    ScheduleChange,
    Thread,
    db,
)
from bot.reminders import checkins
from bot.reminders import commands as c
from tests.conftest import (
    PATIENT,
    STAFF_EMAIL,
    csrf_token,
    post_sms,
    reply_of,
    sign_in,
    subscribe,
    sweep,
)
from tests.heldaside import enroll_at

NY = ZoneInfo("America/New_York")
STRANGER = "+12025550177"


def today_ny() -> dt.date:
    return dt.datetime.now(NY).date()


# --- reading --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "pain"),
    [
        ("DONE", None), ("done!", None), ("Done.", None), ("did it", None), ("finished", None),
        ("all done", None), ("Listo", None), ("hecho", None), ("\U0001f44d", None),
        ("\u2705", None), ("\u2714\ufe0f", None), ("done thanks", None), ("DONE 3", 3),
        ("done, pain 6/10", 6), ("Done - pain 2", 2), ("done 0", 0), ("done 10/10", 10),
        ("pain 4, done", 4), ("listo, dolor 5", 5), ("hecho 7 de 10", 7), ("done 8 out of 10", 8),
    ],
)  # fmt: skip
def test_every_done_form(text, pain):
    assert c.read_command(text) == c.Done(pain)


@pytest.mark.parametrize(
    "text",
    ["done 11", "done 45", "are you done today?", "what is the cat camel", "7", "3/10", "ya",
     "stop", "I am done with this clinic, the pain is awful and I fell"],
)  # fmt: skip
def test_not_a_done(text):
    assert not isinstance(c.read_command(text), c.Done)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("later", c.Later()), ("remind me later", c.Later()), ("mas tarde", c.Later()),
        ("7pm", c.NewTime(dt.time(19))), ("7 PM", c.NewTime(dt.time(19))),
        ("remind me at 7:30", c.NewTime(dt.time(19, 30))),
        ("remind me at 7:30am", c.NewTime(dt.time(7, 30))),
        ("change my reminder to 10:15 am", c.NewTime(dt.time(10, 15))),
        ("text me at 6:45 pm please", c.NewTime(dt.time(18, 45))),
        ("12pm", c.NewTime(dt.time(12))), ("12am", c.NewTime(dt.time(0))),
        ("pause", c.Pause(days=7)), ("pause for a week", c.Pause(days=7)),
        ("pause for 3 days", c.Pause(days=3)), ("pause for two weeks", c.Pause(days=14)),
        ("pause until Monday", c.Pause(weekday=0)), ("pausa hasta el lunes", c.Pause(weekday=0)),
        ("pause my reminders", c.Pause(days=7)),
        ("resume", c.Resume()), ("restart reminders", c.Resume()), ("reanudar", c.Resume()),
    ],
)  # fmt: skip
def test_schedule_commands(text, expected):
    assert c.read_command(text) == expected


@pytest.mark.parametrize(
    "text", ["are you open at 7pm?", "13pm", "what time do you close", "pause until someday"]
)
def test_not_a_schedule_command(text):
    assert c.read_command(text) is None


def test_resume_date():
    monday = dt.date(2026, 11, 30)
    assert c.resume_date(c.Pause(days=7), monday) == dt.date(2026, 12, 7)
    assert c.resume_date(c.Pause(weekday=0), monday) == dt.date(2026, 12, 7)  # next Monday
    assert c.resume_date(c.Pause(weekday=2), monday) == dt.date(2026, 12, 2)


# --- DONE through the webhook --------------------------------------------------------------


def days_of(app, patient_id) -> list[AdherenceDay]:
    with app.app_context():
        rows = db.session.scalars(
            select(AdherenceDay)
            .where(AdherenceDay.patient_id == patient_id)
            .order_by(AdherenceDay.local_date)
        ).all()
        db.session.expunge_all()
        return rows


def add_day(app, patient_id, days_ago: int, pain=None) -> None:
    with app.app_context():
        db.session.add(
            AdherenceDay(
                patient_id=patient_id,
                local_date=today_ny() - dt.timedelta(days=days_ago),
                done_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=days_ago),
                pain=pain,
            )
        )
        db.session.commit()


def test_done_records_the_day_once(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    client = twilio_app.test_client()
    assert reply_of(post_sms(client, "DONE")) == "Great work today!"
    [day] = days_of(twilio_app, patient_id)
    assert (day.local_date, day.pain) == (today_ny(), None)
    again = reply_of(post_sms(client, "done, pain 3/10"))
    assert again == "Today is already recorded as done. Thank you!"
    [same] = days_of(twilio_app, patient_id)
    assert same.pain is None and same.id == day.id  # a second DONE changes nothing


@pytest.mark.parametrize(("text", "pain"), [("DONE 3", 3), ("done, pain 6/10", 6), ("👍", None)])
def test_done_with_a_pain_score(twilio_app, text, pain):
    patient_id = subscribe(twilio_app, PATIENT)
    reply = reply_of(post_sms(twilio_app.test_client(), text))
    assert reply.startswith("Great work today!")
    assert (f"Pain {pain}/10 noted." in reply) == (pain is not None)
    [day] = days_of(twilio_app, patient_id)
    assert day.pain == pain


def test_a_sentence_the_reply_logic_reads_as_done_counts_too(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    post_sms(twilio_app.test_client(), "I'm done with my exercises for today!")
    assert len(days_of(twilio_app, patient_id)) == 1


def test_streak_when_worth_saying(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    add_day(twilio_app, patient_id, 1)
    add_day(twilio_app, patient_id, 2)
    add_day(twilio_app, patient_id, 4)  # a gap: not part of the streak
    reply = reply_of(post_sms(twilio_app.test_client(), "done"))
    assert reply == "Great work today! That's 3 days in a row."
    with twilio_app.app_context():
        assert checkins.streak_on(db.session.connection(), patient_id, today_ny()) == 3
        assert (
            checkins.streak_on(
                db.session.connection(), patient_id, today_ny() + dt.timedelta(days=1)
            )
            == 0
        )


def test_spanish_patient_is_answered_in_spanish(twilio_app):
    subscribe(twilio_app, PATIENT, language="es")
    assert reply_of(post_sms(twilio_app.test_client(), "listo")) == "¡Buen trabajo hoy!"


def test_spanish_streak_with_a_pain_score(twilio_app):
    """The answer PostgreSQL's one statement picks (the days in a row filled in there) is
    the one the catalogue writes, as on SQLite."""
    patient_id = subscribe(twilio_app, PATIENT, language="es")
    add_day(twilio_app, patient_id, 1)
    add_day(twilio_app, patient_id, 2)
    reply = reply_of(post_sms(twilio_app.test_client(), "listo, dolor 2"))
    say = twilio_app.extensions["checkin_settings"].say
    parts = [
        say("done_great", "es"),
        say("done_streak", "es", days=3),
        say("done_pain", "es", pain=2),
    ]
    assert reply == " ".join(parts)
    assert [day.pain for day in days_of(twilio_app, patient_id)] == [None, None, 2]


def test_a_done_while_a_thread_is_open_is_answered_and_lands_in_it(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    client = twilio_app.test_client()
    post_sms(client, "can I talk to someone")
    assert reply_of(post_sms(client, "done")) == "Great work today!"
    assert len(days_of(twilio_app, patient_id)) == 1
    with twilio_app.app_context():
        thread = db.session.scalars(select(Thread)).one()
        last = db.session.get(Message, thread.last_message_id)
        assert (thread.status, thread.reason) == ("open", "person")  # its reason stays
        assert (last.body, last.kind) == ("done", "done")


def test_done_without_a_reminder_that_day_counts(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    post_sms(twilio_app.test_client(), "done")
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(ReminderDelivery)) == 0
    assert len(days_of(twilio_app, patient_id)) == 1


def test_done_from_a_number_not_enrolled_is_only_thanked(twilio_app):
    reply = reply_of(post_sms(twilio_app.test_client(), "done", phone=STRANGER))
    assert reply.startswith("Great work today!")
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdherenceDay)) == 0


def test_retried_done_is_recorded_once(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    client = twilio_app.test_client()
    first = reply_of(post_sms(client, "done 2", sid="SM" + "d" * 32))
    second = reply_of(post_sms(client, "done 2", sid="SM" + "d" * 32))
    assert first == second  # Twilio's retry gets the answer stored the first time
    assert len(days_of(twilio_app, patient_id)) == 1


# --- high pain and the pain pause ----------------------------------------------------------


def thread(app) -> Thread | None:
    with app.app_context():
        row = db.session.scalar(select(Thread).where(Thread.phone == PATIENT))
        db.session.expunge_all()
        return row


def patient_row(app, patient_id) -> Patient:
    with app.app_context():
        row = db.session.get(Patient, patient_id)
        db.session.expunge_all()
        return row


def changes(app, patient_id) -> list[tuple[str, str, str, str]]:
    with app.app_context():
        return [
            (r.change, r.detail, r.source, r.actor)
            for r in db.session.scalars(
                select(ScheduleChange)
                .where(ScheduleChange.patient_id == patient_id)
                .order_by(ScheduleChange.id)
            )
        ]


def test_pain_of_7_or_more_is_urgent(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    reply = reply_of(post_sms(twilio_app.test_client(), "done, pain 8/10"))
    assert reply.startswith("Thanks for telling us. Pain of 8/10 is high")
    assert "call us at" in reply and "911" in reply
    row = thread(twilio_app)
    assert (row.reason, row.urgent) == ("pain_score", True)
    assert not patient_row(twilio_app, patient_id).paused  # one score: not paused yet


def test_pain_of_6_is_not(twilio_app):
    subscribe(twilio_app, PATIENT)
    post_sms(twilio_app.test_client(), "done 6")
    assert thread(twilio_app) is None


def test_two_high_scores_in_three_days_pause_until_staff_resume(staff_client, twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    add_day(twilio_app, patient_id, 2, pain=7)
    client = twilio_app.test_client()
    reply = reply_of(post_sms(client, "done 9"))
    assert reply.startswith("Your pain was 7 or more twice in 3 days, so we paused your reminders")
    assert "before you go on with the exercises" in reply
    record = patient_row(twilio_app, patient_id)
    assert record.paused and record.paused_until is None
    assert changes(twilio_app, patient_id) == [
        ("pause", checkins.PAIN_PAUSE_DETAIL, "app", "the app")
    ]
    # The patient cannot lift it by text.
    assert reply_of(post_sms(client, "resume")).startswith("Please call us at")
    assert patient_row(twilio_app, patient_id).paused
    # Staff resume from the patient's page; the change is kept with who made it.
    url = f"/patients/{patient_id}"
    page = staff_client.get(url).get_data(as_text=True)
    assert "two pain scores of 7 or more" in page and "<strong>Paused for pain</strong>" in page
    assert 'name="spoke" value="yes" required' in page
    # Resuming a pain pause asks that someone spoke with the patient first.
    response = staff_client.post(
        url + "/resume", data={"csrf_token": csrf_token(staff_client, url)}
    )
    shown = staff_client.get(response.location).get_data(as_text=True)
    assert "were paused for pain: tick that someone spoke with the patient" in shown
    assert patient_row(twilio_app, patient_id).paused
    staff_client.post(
        url + "/resume", data={"csrf_token": csrf_token(staff_client, url), "spoke": "yes"}
    )
    assert not patient_row(twilio_app, patient_id).paused
    assert changes(twilio_app, patient_id)[-1][:3] == ("resume", "Reminders resumed", "staff")


def test_high_scores_four_days_apart_do_not_pause(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    add_day(twilio_app, patient_id, 3, pain=9)
    post_sms(twilio_app.test_client(), "done 8")
    assert not patient_row(twilio_app, patient_id).paused


# --- rescheduling ----------------------------------------------------------------------------


def test_new_time_by_text(staff_client, twilio_app):
    patient_id = subscribe(twilio_app, PATIENT, time="09:00")
    client = twilio_app.test_client()
    assert reply_of(post_sms(client, "7pm")) == "Done: your daily reminder is now at 7:00 PM."
    assert patient_row(twilio_app, patient_id).reminder_time == dt.time(19)
    assert reply_of(post_sms(client, "remind me at 7:30")).endswith("now at 7:30 PM.")
    assert changes(twilio_app, patient_id) == [
        ("time", "Daily time 7:00 PM (was 9:00 AM)", "text", "the patient"),
        ("time", "Daily time 7:30 PM (was 7:00 PM)", "text", "the patient"),
    ]
    page = staff_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "Daily time 7:30 PM (was 7:00 PM)" in page and "the patient, by text" in page


@pytest.mark.parametrize("text", ["6am", "remind me at 10:30pm", "11 pm"])
def test_time_in_quiet_hours_is_refused_with_the_allowed_hours(reminder_sweep_app, text):
    patient_id = subscribe(reminder_sweep_app, PATIENT, time="09:00")
    reply = reply_of(post_sms(reminder_sweep_app.test_client(), text))
    assert "only between 8:00 AM and 9:00 PM" in reply
    assert patient_row(reminder_sweep_app, patient_id).reminder_time == dt.time(9)
    assert changes(reminder_sweep_app, patient_id) == []


def test_pause_for_a_week_and_resume(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    client = twilio_app.test_client()
    resumes = today_ny() + dt.timedelta(days=7)
    reply = reply_of(post_sms(client, "pause for a week"))
    assert reply == (
        f"Your reminders are paused until {resumes:%A}, {resumes:%b} {resumes.day}. "
        "Text RESUME to start them sooner."
    )
    record = patient_row(twilio_app, patient_id)
    assert record.paused
    assert record.paused_until == dt.datetime.combine(resumes, dt.time(0), tzinfo=NY)
    assert changes(twilio_app, patient_id)[0][:2] == (
        "pause",
        f"Paused until {resumes:%b} {resumes.day}",
    )
    assert reply_of(post_sms(client, "resume")) == "Your reminders are on: every day at 9:00 AM."
    assert not patient_row(twilio_app, patient_id).paused


def test_pause_until_a_weekday(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    reply = reply_of(post_sms(twilio_app.test_client(), "pause until Monday"))
    assert "paused until Monday" in reply
    until = patient_row(twilio_app, patient_id).paused_until.astimezone(NY).date()
    assert until.weekday() == 0 and 1 <= (until - today_ny()).days <= 7


def test_commands_of_a_number_not_enrolled_are_questions(twilio_app):
    reply = reply_of(post_sms(twilio_app.test_client(), "pause", phone=STRANGER))
    assert "paused" not in reply


def test_pause_ends_by_itself(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    post_sms(twilio_app.test_client(), "pause for 3 days")
    until = patient_row(twilio_app, patient_id).paused_until
    with twilio_app.app_context():
        conn = db.session.connection()
        assert checkins.end_pauses(conn, until - dt.timedelta(seconds=1)) == 0
        assert checkins.end_pauses(conn, until) == 1
        db.session.commit()
    assert not patient_row(twilio_app, patient_id).paused
    assert changes(twilio_app, patient_id)[-1][:3] == ("resume", "Pause ended", "app")


# --- "later" ------------------------------------------------------------------------------


def sent_today(app, patient_id, day: dt.date, status="sent") -> None:
    with app.app_context():
        db.session.add(
            ReminderDelivery(
                patient_id=patient_id, local_date=day, phone=PATIENT, body="Your exercises",
                status=status, due_at=dt.datetime(2026, 12, 1, 14, tzinfo=dt.UTC),
            )
        )  # fmt: skip
        db.session.commit()


def later(app, now: dt.datetime) -> checkins.Result:
    with app.app_context():
        conn = db.session.connection()
        result = checkins.carry_out(
            conn, app.extensions["checkin_settings"], PATIENT, c.Later(), "SMx", now
        )
        db.session.commit()
        return result


def test_later_sends_the_reminder_again_in_an_hour_once(reminder_sweep_app, fake_twilio):
    app = reminder_sweep_app
    patient_id = subscribe(app, PATIENT)
    sent_today(app, patient_id, dt.date(2026, 12, 1))
    asked = dt.datetime(2026, 12, 1, 10, 0, tzinfo=NY)
    assert later(app, asked).reply == "OK: we'll text your exercises again at 11:00 AM."
    assert later(app, asked).kind == "later_again"  # once a day
    from tests.conftest import sweep

    sweep(app, asked + dt.timedelta(minutes=59))
    assert fake_twilio.sent_to(PATIENT) == []
    report = sweep(app, asked + dt.timedelta(hours=1))
    assert report.again == 1
    [again] = fake_twilio.sent_to(PATIENT)
    assert again.body == "Your exercises"
    sweep(app, asked + dt.timedelta(hours=2))
    assert len(fake_twilio.sent_to(PATIENT)) == 1


def test_later_is_refused_when_it_would_fall_in_quiet_hours(reminder_sweep_app):
    patient_id = subscribe(reminder_sweep_app, PATIENT)
    sent_today(reminder_sweep_app, patient_id, dt.date(2026, 12, 1))
    result = later(reminder_sweep_app, dt.datetime(2026, 12, 1, 20, 30, tzinfo=NY))
    assert result.kind == "later_refused" and "between 8:00 AM and 9:00 PM" in result.reply


def test_later_before_the_days_reminder(reminder_sweep_app):
    subscribe(reminder_sweep_app, PATIENT)
    result = later(reminder_sweep_app, dt.datetime(2026, 12, 1, 7, 0, tzinfo=NY))
    assert result.reply == "Today's reminder has not gone out yet: it comes at 9:00 AM."


@pytest.fixture
def reminder_sweep_app(make_app, fake_twilio):
    from tests.conftest import twilio_settings

    # The default quiet hours (the suite's other apps send at any hour).
    return make_app(**twilio_settings(fake_twilio, REMINDER_WINDOW="08:00-21:00"))


# --- replies in sentences, then the sweep follows them ---------------------------------------


def test_the_sweep_follows_what_patients_asked_for_in_their_own_words(twilio_app, fake_twilio):
    """A new time, a pause until a date and a stop of a few days, written as sentences on a
    Wednesday; then the clock moves on and each day's sweep does what was asked."""
    numbers = {"time": "+12025550141", "away": "+12025550142", "es": "+12025550143"}
    enroll_at(twilio_app, list(numbers.values()), ["en", "en", "es"], dt.datetime(2026, 3, 1, 12,
              tzinfo=NY))  # fmt: skip
    wednesday = dt.datetime(2026, 3, 11, 10, tzinfo=NY)
    client = twilio_app.test_client()
    with time_machine.travel(wednesday, tick=False):
        moved = post_sms(client, "could you make it 6:30 tonight instead?", numbers["time"])
        away = post_sms(client, "I'm away until the 15th, please hold them", numbers["away"])
        spanish = post_sms(client, "por dos semanas no me manden recordatorios", numbers["es"])
    assert "6:30 PM" in reply_of(moved)
    assert "Sunday, Mar 15" in reply_of(away)
    assert "25 de mar" in reply_of(spanish) and "STOP" in reply_of(spanish)  # asked, not opted out

    def sent_on(day: dt.date, at: dt.time) -> set[str]:
        fake_twilio.messages.clear()
        sweep(twilio_app, dt.datetime.combine(day, at, tzinfo=NY))
        return {m.to for m in fake_twilio.messages}

    wed = wednesday.date()
    assert sent_on(wed, dt.time(9, 1)) == set()  # the time moved; the others paused
    assert sent_on(wed, dt.time(18, 31)) == {numbers["time"]}
    assert sent_on(wed + dt.timedelta(days=1), dt.time(18, 31)) == {numbers["time"]}
    assert sent_on(wed + dt.timedelta(days=4), dt.time(9, 1)) == {numbers["away"]}  # the 15th
    assert sent_on(wed + dt.timedelta(days=13), dt.time(9, 1)) == {numbers["away"]}
    assert sent_on(wed + dt.timedelta(days=14), dt.time(9, 1)) == {numbers["away"], numbers["es"]}


# --- a command carried out once (issue 21, item 14) ------------------------------------------


def test_the_same_text_sent_ten_times_at_once_is_carried_out_once(twilio_app):
    """Issue 21's reproduction: 10 concurrent posts of one MessageSid with "pause for a
    week" stored one text but two schedule changes (check-then-act)."""
    import threading

    patient_id = subscribe(twilio_app, PATIENT)
    start, codes = threading.Barrier(10), []

    def post():
        client = twilio_app.test_client()
        start.wait()
        codes.append(post_sms(client, "pause for a week", sid="SM" + "7" * 32).status_code)

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(code < 500 for code in codes), codes
    with twilio_app.app_context():
        changes = db.session.scalars(
            select(ScheduleChange).where(ScheduleChange.patient_id == patient_id)
        ).all()
        assert [c.change for c in changes] == ["pause"]
        assert db.session.get(Patient, patient_id).paused is True


def test_the_same_done_sent_ten_times_at_once_is_one_day_and_one_answer(twilio_app):
    """A DONE takes no lock and does not look for its text first (the webhook's cost): the
    adherence day's and the MessageSid's uniqueness keep it once. Ten posts of one DONE at
    once: one day, one text stored, one reply, each post answered that same reply."""
    import threading

    patient_id = subscribe(twilio_app, PATIENT)
    start, answers = threading.Barrier(10), []

    def post():
        client = twilio_app.test_client()
        start.wait()
        answers.append(post_sms(client, "DONE", sid="SM" + "8" * 32))

    threads = [threading.Thread(target=post) for _ in range(10)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert all(answer.status_code < 500 for answer in answers), [a.status_code for a in answers]
    replies = {reply_of(answer) for answer in answers if answer.status_code == 200}
    assert replies == {"Great work today!"}, replies
    with twilio_app.app_context():
        days = db.session.scalars(
            select(AdherenceDay).where(AdherenceDay.patient_id == patient_id)
        ).all()
        assert len(days) == 1
        stored = db.session.scalars(select(Message).where(Message.phone == PATIENT)).all()
        assert sorted(m.direction for m in stored) == ["in", "out"]


def test_a_command_that_fails_midway_leaves_nothing_and_the_next_text_is_answered(
    twilio_app, monkeypatch
):
    """The command's transaction (BEGIN and COMMIT as statements on PostgreSQL) is rolled
    back when it fails after its first writes: no adherence day, no text stored, and the
    webhook's connection serves the next text. (A DONE with a high pain score writes the
    day, then checks the pain; a plain DONE is one statement on PostgreSQL.)"""
    patient_id = subscribe(twilio_app, PATIENT)
    client = twilio_app.test_client()

    def failing(*args, **kwargs):
        raise RuntimeError("after the day was written")

    monkeypatch.setattr(checkins, "_high_pain", failing)
    twilio_app.testing = False  # the 500 page, as in production
    assert post_sms(client, "done, pain 8").status_code == 500
    monkeypatch.undo()
    with twilio_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AdherenceDay)) == 0
        assert db.session.scalar(select(func.count()).select_from(Message)) == 0
    assert reply_of(post_sms(client, "DONE")) == "Great work today!"
    with twilio_app.app_context():
        days = db.session.scalars(select(AdherenceDay.patient_id)).all()
        assert days == [patient_id]


def test_after_stop_a_command_changes_nothing_and_is_not_answered(twilio_app):
    patient_id = subscribe(twilio_app, PATIENT, time="09:00")
    client = twilio_app.test_client()
    post_sms(client, "STOP")
    for text in ("7pm", "pause for a week", "done, pain 3"):
        assert reply_of(post_sms(client, text)) == ""  # opted out: nothing said
    with twilio_app.app_context():
        patient = db.session.get(Patient, patient_id)
        assert (patient.reminder_time, patient.paused) == (dt.time(9), False)
        assert db.session.scalar(select(func.count()).select_from(ScheduleChange)) == 0
        assert db.session.scalar(select(func.count()).select_from(AdherenceDay)) == 0
    post_sms(client, "START")
    assert "7:00 PM" in reply_of(post_sms(client, "7pm"))  # opted back in: carried out


def test_a_pause_says_who_made_it_and_asks_nothing_more_to_resume(staff_client, twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    assert "paused until" in reply_of(post_sms(twilio_app.test_client(), "pause 3 days"))
    url = f"/patients/{patient_id}"
    page = staff_client.get(url).get_data(as_text=True)
    assert "by the patient, by text" in page and "Paused for pain" not in page
    assert 'name="spoke"' not in page
    staff_client.post(url + "/resume", data={"csrf_token": csrf_token(staff_client, url)})
    assert not patient_row(twilio_app, patient_id).paused
    # Paused by staff: their email.
    staff_client.post(url + "/pause", data={"csrf_token": csrf_token(staff_client, url)})
    assert f"by {STAFF_EMAIL}" in staff_client.get(url).get_data(as_text=True)


def test_staff_pause_until_a_day_with_a_reason(staff_client, twilio_app):
    """Issue 25, item 7: staff pause from the patient's page until a day, with a reason;
    the page says until when, by whom and why; the reminders start again that day at
    midnight where the patient is (the sweep's end of pauses)."""
    patient_id = subscribe(twilio_app, PATIENT, tz="America/Chicago")
    url = f"/patients/{patient_id}"
    monday = dt.datetime(2027, 3, 1, 15, 0, tzinfo=ZoneInfo("America/Chicago"))
    with time_machine.travel(monday, tick=False):
        sign_in(staff_client)  # that day (a session from today would have lapsed)
        page = staff_client.get(url).get_data(as_text=True)
        assert 'min="2027-03-02"' in page and 'max="2028-02-29"' in page  # tomorrow, a year on
        response = staff_client.post(
            url + "/pause",
            data={"csrf_token": csrf_token(staff_client, url), "resume_on": "2027-03-15",
                  "reason": "  Back surgery\non the 8th  "},
        )  # fmt: skip
        page = staff_client.get(response.location).get_data(as_text=True)
    assert "Reminders paused for" in page and "until Mar 15 (they start again that day)" in page
    assert "Reason: Back surgery on the 8th." in page and f"by {STAFF_EMAIL}" in page
    row = patient_row(twilio_app, patient_id)
    # Midnight in Chicago, on summer time since Mar 14: 5:00 UTC.
    assert row.paused and row.paused_until == dt.datetime(2027, 3, 15, 5, 0, tzinfo=dt.UTC)
    assert changes(twilio_app, patient_id)[-1] == (
        "pause",
        "Paused until Mar 15, 2027",
        "staff",
        STAFF_EMAIL,
    )
    with twilio_app.app_context():
        conn = db.session.connection()
        assert checkins.end_pauses(conn, row.paused_until - dt.timedelta(seconds=1)) == 0
        assert checkins.end_pauses(conn, row.paused_until) == 1
        db.session.commit()
    assert not patient_row(twilio_app, patient_id).paused


@pytest.mark.parametrize(
    ("resume_on", "reason", "said"),
    [
        ("2027-03-01", "", "after today and at most a year on (Mar 2, 2027 to Feb 29, 2028"),
        ("2028-03-01", "", "must be after today and at most a year on"),
        ("next tuesday", "", "is not a date"),
        ("", "x" * 121, "The reason is 121 characters; at most 120."),
        ("2026-01-01", "y" * 200, "must be after today"),
    ],
)
def test_a_staff_pause_that_cannot_be_is_refused_with_why(
    staff_client, twilio_app, resume_on, reason, said
):
    patient_id = subscribe(twilio_app, PATIENT)
    url = f"/patients/{patient_id}"
    with time_machine.travel(dt.datetime(2027, 3, 1, 15, 0, tzinfo=dt.UTC), tick=False):
        sign_in(staff_client)
        token = csrf_token(staff_client, url)
        response = staff_client.post(
            url + "/pause", data={"csrf_token": token, "resume_on": resume_on, "reason": reason}
        )
        page = staff_client.get(response.location).get_data(as_text=True)
    assert "Not paused:" in page and said in page
    if len(reason) > 120:  # every problem said at once
        assert "The reason is" in page
    assert not patient_row(twilio_app, patient_id).paused
    assert not [c for c in changes(twilio_app, patient_id) if c[0] == "pause"]


def test_a_staff_pause_without_a_day_lasts_until_someone_resumes(staff_client, twilio_app):
    patient_id = subscribe(twilio_app, PATIENT)
    url = f"/patients/{patient_id}"
    hostile = "<script>alert(1)</script>"
    staff_client.post(
        url + "/pause",
        data={"csrf_token": csrf_token(staff_client, url), "resume_on": "", "reason": hostile},
    )
    page = staff_client.get(url).get_data(as_text=True)
    assert "until someone resumes them" in page
    assert "Reason: &lt;script&gt;alert(1)&lt;/script&gt;." in page and hostile not in page
    row = patient_row(twilio_app, patient_id)
    assert row.paused and row.paused_until is None


def test_a_staff_pause_keeps_its_reason_in_the_changes_after_the_resume(staff_client, twilio_app):
    """The status line says why while the pause lasts; the list of changes keeps it after."""
    patient_id = subscribe(twilio_app, PATIENT)
    url = f"/patients/{patient_id}"
    staff_client.post(
        url + "/pause",
        data={"csrf_token": csrf_token(staff_client, url), "reason": "Flare-up <after> MRI"},
    )
    staff_client.post(url + "/resume", data={"csrf_token": csrf_token(staff_client, url)})
    assert not patient_row(twilio_app, patient_id).paused
    page = staff_client.get(url).get_data(as_text=True)
    changes_card = page[page.index("Changes to the reminders") :]
    assert "Reason: Flare-up &lt;after&gt; MRI</span>" in changes_card
    assert "<after>" not in page
    assert changes_card.count("Reason:") == 1  # the pause's; the resume gave none
