"""The daily reminder sweep against the Twilio stand-in: due or not, who gets one, exactly
once under concurrency and crashes, clock changes, quiet hours, Twilio's errors."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
import threading
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from bot.models import ConsentEvent, Message, Patient, ReminderDelivery, db
from bot.ops.clock import make_scheduler, sweep_once
from bot.patients import records as pt
from bot.reminders.sweep import (
    MISSED,
    ReminderSettings,
    claim,
    reminder_text,
)
from bot.sms.segments import count_segments, is_gsm7
from tests.conftest import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CLINIC_NUMBER,
    ENROLLED,
    TEST_DATABASE_URL,
    sign,
    subscribe,
    sweep,
    twilio_settings,
)

NY = ZoneInfo("America/New_York")
ROOT = Path(__file__).resolve().parent.parent


def ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


@pytest.fixture
def reminder_app(make_app, fake_twilio):
    def make(**settings):
        config = twilio_settings(
            fake_twilio,
            SEND_RATE_PER_SECOND=1000,
            REMINDER_WINDOW="08:00-21:00",  # the default quiet hours
        )
        config.update(settings)
        return make_app(**config)

    return make


def say_stop(phone: str, when: dt.datetime) -> None:
    """Within an app context: the number opted out by text at that moment."""
    db.session.add(
        ConsentEvent(phone=phone, action="opt_out", keyword="stop", source="sms", created_at=when)
    )


def hours_from_midnight(at: dt.datetime, zone: str) -> float:
    local = at.astimezone(ZoneInfo(zone))
    hours = local.hour + local.minute / 60
    return min(hours, 24 - hours)


def plan_only(app, at: dt.datetime) -> None:
    """Within an app context: plan the due reminders, as a sweep does first."""
    from bot.reminders.sweep import SweepReport, plan

    settings = ReminderSettings.from_config(app.config)
    plan(db.session, app.extensions["content"], settings, at, SweepReport(), False)


def process_env(database_url: str, fake_twilio, **settings: str) -> dict:
    """The environment of a ``flask reminders send-due`` process on this test's database."""
    return {
        **os.environ,
        "DATABASE_URL": database_url,
        "SECRET_KEY": "s" * 40,
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": CLINIC_NUMBER,
        "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "LOG_LEVEL": "WARNING",
        **settings,
    }


def deliveries(app) -> list[ReminderDelivery]:
    with app.app_context():
        rows = db.session.scalars(select(ReminderDelivery).order_by(ReminderDelivery.id)).all()
        db.session.expunge_all()
        return rows


# --- who, and when -------------------------------------------------------------------------


def test_due_and_not_due(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101", time="09:00")
    assert sweep(app, ny(2026, 11, 30, 8, 59)).due == 0
    assert fake_twilio.messages == []
    report = sweep(app, ny(2026, 11, 30, 9, 0))
    assert (report.due, report.sent) == (1, 1)
    [sent] = fake_twilio.messages
    assert sent.to == "+12025550101" and sent.from_ == CLINIC_NUMBER
    assert sent.body.startswith("Hi Ana! Today's exercises: Cat and Camel, Pelvic Tilt.")
    # Later the same day: nothing more. The next day: the next one.
    assert sweep(app, ny(2026, 11, 30, 9, 1)).due == 0
    assert sweep(app, ny(2026, 11, 30, 20, 0)).due == 0
    assert len(fake_twilio.messages) == 1
    assert sweep(app, ny(2026, 12, 1, 9, 5)).sent == 1
    assert len(fake_twilio.messages) == 2


def test_reminder_is_logged_in_the_conversation(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101")
    sweep(app, ny(2026, 11, 30, 9, 0))
    [delivery] = deliveries(app)
    assert delivery.status == "sent" and delivery.message_sid == fake_twilio.messages[0].sid
    with app.app_context():
        message = db.session.scalar(select(Message).where(Message.kind == "reminder"))
    assert message.message_sid == delivery.message_sid and message.phone == "+12025550101"


def test_only_subscribed_patients(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101", name="Sub Scribed")
    subscribe(app, "+12025550102", name="In Vited", confirm=False)
    paused = subscribe(app, "+12025550103", name="Pau Sed")
    subscribe(app, "+12025550104", name="Opted Out")
    removed = subscribe(app, "+12025550105", name="Re Moved")
    invalid = subscribe(app, "+12025550106", name="In Valid")
    with app.app_context():
        db.session.get(Patient, paused).paused = True
        db.session.get(Patient, removed).removed_at = ENROLLED
        db.session.get(Patient, invalid).number_invalid = True
        say_stop("+12025550104", ENROLLED + dt.timedelta(hours=1))
        db.session.commit()
    report = sweep(app, ny(2026, 11, 30, 10, 0))
    assert report.sent == 1
    assert [m.to for m in fake_twilio.messages] == ["+12025550101"]


def test_stop_after_planning_wins(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101")
    with app.app_context():
        plan_only(app, ny(2026, 11, 30, 9, 0).astimezone(dt.UTC))
        say_stop("+12025550101", ENROLLED + dt.timedelta(days=20))
        db.session.commit()
    report = sweep(app, ny(2026, 11, 30, 9, 1))
    assert report.skipped == 1 and report.sent == 0
    assert fake_twilio.messages == []


def test_patients_own_time_zone(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101", time="09:00", tz="America/Los_Angeles")
    assert sweep(app, ny(2026, 11, 30, 11, 59)).sent == 0  # 8:59 in Los Angeles
    assert sweep(app, ny(2026, 11, 30, 12, 0)).sent == 1


# --- quiet hours and catching up -----------------------------------------------------------


def test_early_reminder_waits_for_the_window(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101", time="06:30")
    assert sweep(app, ny(2026, 11, 30, 7, 59)).due == 0
    assert sweep(app, ny(2026, 11, 30, 8, 0)).sent == 1


def test_late_reminder_is_skipped_and_recorded(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101", time="22:15")
    report = sweep(app, ny(2026, 11, 30, 22, 20))
    assert report.skipped == 1 and report.sent == 0
    [delivery] = deliveries(app)
    assert delivery.status == "skipped" and "sending hours 08:00-21:00" in delivery.note
    assert sweep(app, ny(2026, 11, 30, 23, 0)).skipped == 0  # recorded once
    assert fake_twilio.messages == []


def test_clock_down_catches_up_the_same_day_once(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101", time="09:00")
    # The clock was down from 8:00 to 15:00: the 9:00 reminder goes out late, once.
    assert sweep(app, ny(2026, 11, 30, 15, 0)).sent == 1
    assert sweep(app, ny(2026, 11, 30, 15, 1)).sent == 0
    # Down again from 20:00 to the next day 10:00: that day's reminder once, not two.
    assert sweep(app, ny(2026, 12, 1, 10, 0)).sent == 1
    assert len(fake_twilio.messages) == 2


def test_configurable_window(reminder_app, fake_twilio):
    app = reminder_app(REMINDER_WINDOW="10:00-18:00")
    subscribe(app, "+12025550101", time="09:00")
    assert sweep(app, ny(2026, 11, 30, 9, 30)).due == 0
    assert sweep(app, ny(2026, 11, 30, 10, 0)).sent == 1


@pytest.mark.parametrize(
    ("day", "time"),
    [
        ((2026, 3, 8), "02:30"),  # spring forward: 2:30 AM does not exist
        ((2026, 11, 1), "01:30"),  # fall back: 1:30 AM happens twice
        ((2026, 3, 8), "09:00"),
        ((2026, 11, 1), "09:00"),
    ],
)
def test_clock_change_days_send_once(reminder_app, fake_twilio, day, time):
    app = reminder_app(REMINDER_WINDOW="00:00-23:59")
    subscribe(app, "+12025550101", time=time)
    start = dt.datetime(*day, 0, 0, tzinfo=NY).astimezone(dt.UTC)
    end = (dt.datetime(*day, tzinfo=NY) + dt.timedelta(days=1)).astimezone(dt.UTC)
    sent_at = []
    at = start
    while at < end:  # every 10 minutes over the whole local day (23, 24 or 25 hours)
        if sweep(app, at).sent:
            sent_at.append(at.astimezone(NY))
        at += dt.timedelta(minutes=10)
    assert len(sent_at) == 1, sent_at
    assert len(fake_twilio.messages) == 1
    local = sent_at[0]
    assert local.date() == dt.date(*day)
    expected = {"02:30": (3, 30), "01:30": (1, 30), "09:00": (9, 0)}[time]
    assert (local.hour, local.minute) == expected
    if time == "01:30":
        assert local.fold == 0 and local.utcoffset() == dt.timedelta(hours=-4)  # the first


# --- exactly once --------------------------------------------------------------------------


def test_two_sweeps_at_once_send_each_reminder_once(reminder_app, fake_twilio):
    app = reminder_app(REMINDER_BATCH=5, SEND_CONCURRENCY=4)
    fake_twilio.latency = 0.02
    phones = [f"+120255501{i:02d}" for i in range(40)]
    for phone in phones:
        subscribe(app, phone)
    at = ny(2026, 11, 30, 9, 0)
    reports = []
    barrier = threading.Barrier(2)

    def run():
        barrier.wait()
        reports.append(sweep(app, at))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(m.to for m in fake_twilio.messages) == sorted(phones)
    assert sum(r.sent for r in reports) == 40


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="processes sharing a database: PostgreSQL only")
def test_two_sweep_processes_share_the_work(reminder_app, fake_twilio, database_url):
    app = reminder_app(REMINDER_BATCH=10)
    # Twilio answers nothing until more texts are in flight than one process sends at once
    # (5): the first process to claim a batch waits for the other's, however long either
    # takes to start (0.25 s a batch was once taken for "longer than a start" and was not).
    fake_twilio.gather = 6
    phones = [f"+120255501{i:02d}" for i in range(60)]
    for phone in phones:
        subscribe(app, phone)
    env = process_env(database_url, fake_twilio, REMINDER_BATCH="10", SEND_CONCURRENCY="5")
    # Tomorrow's 9 AM: the processes judge a day's window on the real clock (never closed).
    tomorrow = dt.datetime.now(NY).date() + dt.timedelta(days=1)
    at = dt.datetime.combine(tomorrow, dt.time(9), tzinfo=NY).isoformat()
    command = [sys.executable, "-m", "flask", "--app", "bot", "reminders", "send-due", "--at", at]
    runs = [
        subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
        for _ in range(2)
    ]
    outputs = [run.communicate(timeout=120)[0] for run in runs]
    assert all(run.returncode == 0 for run in runs), outputs
    assert sorted(m.to for m in fake_twilio.messages) == sorted(phones)
    sent = [int(out.split("sent ")[1].split(",")[0]) for out in outputs]
    assert sum(sent) == 60
    assert all(s > 0 for s in sent), f"one process did all the work: {outputs}"


def test_claim_without_send_is_sent_after_the_timeout(reminder_app, fake_twilio):
    app = reminder_app(CLAIM_TIMEOUT=300)
    subscribe(app, "+12025550101")
    at = ny(2026, 11, 30, 9, 0).astimezone(dt.UTC)
    with app.app_context():  # a sweep that claims, then dies before sending
        plan_only(app, at)
        assert len(claim(db.session, 10, at)) == 1
        db.session.commit()
    # Within the timeout nobody touches the claim: it may still be in flight.
    assert sweep(app, at + dt.timedelta(minutes=2)).sent == 0
    report = sweep(app, at + dt.timedelta(minutes=6))
    assert report.sent == 1 and report.reconciled == 0
    assert len(fake_twilio.messages) == 1
    # Twilio was asked what it had accepted for that number, from the clinic's number; not
    # by DateSent, which misses texts still queued at Twilio.
    lists = [r for r in fake_twilio.requests if r[0] == "GET"]
    assert lists and lists[0][2]["To"] == "+12025550101"
    assert lists[0][2]["From"] == CLINIC_NUMBER and "DateSent>" not in lists[0][2]


def test_interrupted_claims_are_checked_with_twilio_all_at_once(reminder_app, fake_twilio):
    # Real time here: Twilio's list is filtered by when the text was really sent.
    app = reminder_app(CLAIM_TIMEOUT=60, REMINDER_WINDOW="00:00-24:00")
    phones = [f"+120255501{i:02d}" for i in range(10)]
    at = dt.datetime.now(dt.UTC)
    # Where the patients are, the sweep five minutes later is still the same day (in New
    # York near midnight, it would be the next day's reminders too): of two zones 14 hours
    # apart, the one further from midnight.
    zone = max(("America/New_York", "Asia/Tokyo"), key=lambda z: hours_from_midnight(at, z))
    for phone in phones:
        subscribe(app, phone, time="00:00", tz=zone)
    with app.app_context():  # claims, sends, dies before recording Twilio's answers
        plan_only(app, at)
        for row in claim(db.session, 10, at):
            assert app.extensions["sender"].send(row.phone, row.body).ok
        db.session.commit()
    assert fake_twilio.max_in_flight_seen == 1
    fake_twilio.gather = 10  # no answer until ten questions are in flight together
    report = sweep(app, at + dt.timedelta(minutes=5))
    assert report.reconciled == 10 and report.sent == 0
    assert fake_twilio.max_in_flight_seen == 10  # ten questions to Twilio at once
    assert sorted(m.to for m in fake_twilio.messages) == phones


def test_claims_twilio_cannot_be_asked_about_stay_claimed(reminder_app, fake_twilio):
    app = reminder_app(CLAIM_TIMEOUT=300, SEND_RETRIES=1)
    for phone in ("+12025550101", "+12025550102", "+12025550103"):
        subscribe(app, phone)
    at = ny(2026, 11, 30, 9, 0).astimezone(dt.UTC)
    with app.app_context():  # a sweep that claims all three, then dies before sending
        plan_only(app, at)
        assert len(claim(db.session, 10, at)) == 3
        db.session.commit()
    fake_twilio.list_failing.add("+12025550102")
    report = sweep(app, at + dt.timedelta(minutes=6))
    assert report.unknown == 1 and report.sent == 2
    assert sorted(m.to for m in fake_twilio.messages) == ["+12025550101", "+12025550103"]
    assert [d.status for d in deliveries(app)] == ["sent", "claimed", "sent"]
    # Twilio answers again: the next sweep settles it, once.
    fake_twilio.list_failing.clear()
    assert sweep(app, at + dt.timedelta(minutes=7)).sent == 1
    assert len(fake_twilio.messages) == 3 and len({m.to for m in fake_twilio.messages}) == 3


def test_a_late_claim_of_a_long_sweep_is_not_taken_for_abandoned(reminder_app, fake_twilio):
    """A claim made 10 minutes into a sweep that began at 9:00 counts from 9:10, not 9:00,
    so a second sweep at 9:06 leaves it to its sweep."""
    app = reminder_app(CLAIM_TIMEOUT=300)
    subscribe(app, "+12025550101")
    at = ny(2026, 11, 30, 9, 0).astimezone(dt.UTC)
    with app.app_context():
        plan_only(app, at)
        assert len(claim(db.session, 10, at, claimed_at=at + dt.timedelta(minutes=10))) == 1
        db.session.commit()
    assert sweep(app, at + dt.timedelta(minutes=6)).sent == 0
    assert fake_twilio.requests == []  # not even asked: the claim is young
    assert sweep(app, at + dt.timedelta(minutes=16)).sent == 1


def test_claims_carry_the_real_clock_whatever_at_says(reminder_app, fake_twilio):
    """A catch-up run (``send-due --at`` three hours ago) claims with the real time, so a
    sweep running beside it never takes its fresh claims for abandoned."""
    app = reminder_app(REMINDER_BATCH=2)
    for i in range(5):
        subscribe(app, f"+120255501{i:02d}")
    now = ny(2026, 11, 30, 12, 0).astimezone(dt.UTC)
    assert sweep(app, now - dt.timedelta(hours=3), now=now).sent == 5
    claimed = [d.claimed_at for d in deliveries(app)]
    assert {c if c.tzinfo else c.replace(tzinfo=dt.UTC) for c in claimed} == {now}


def patients_due_now(app, count: int, prefix: str = "+1202555") -> list[str]:
    """Patients whose zone makes it about noon there now (so three hours ago was the same
    day), due from 8:00: a catch-up run three hours back and a run now both find them."""
    utc_hour = dt.datetime.now(dt.UTC).hour
    offset = 12 - utc_hour
    if offset < -12:
        offset += 24
    zone = f"Etc/GMT{-offset:+d}" if offset else "Etc/UTC"
    phones = [f"{prefix}{i + 1000:04d}" for i in range(count)]
    for phone in phones:
        subscribe(app, phone, time="00:00", tz=zone)
    return phones


def test_a_catch_up_run_beside_the_clock_sends_each_once(reminder_app, fake_twilio):
    """Two sweeps at once, one of them catching up three hours back: each patient exactly
    one reminder (the catch-up's claims looked abandoned to the other sweep, which sent
    the texts still in flight again)."""
    app = reminder_app(REMINDER_BATCH=5, SEND_CONCURRENCY=5, CLAIM_TIMEOUT=60)
    fake_twilio.latency = 0.05
    phones = patients_due_now(app, 40)
    now = dt.datetime.now(dt.UTC)
    barrier = threading.Barrier(2)
    reports = []

    def run(at):
        barrier.wait()
        reports.append(sweep(app, at, now=dt.datetime.now(dt.UTC) + dt.timedelta(minutes=2)))

    threads = [
        threading.Thread(target=run, args=(at,)) for at in (now - dt.timedelta(hours=3), now)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(m.to for m in fake_twilio.messages) == phones
    assert sum(r.sent + r.reconciled for r in reports) == 40


@pytest.mark.skipif(not TEST_DATABASE_URL, reason="processes sharing a database: PostgreSQL only")
def test_catch_up_process_beside_a_sweep_process_sends_each_once(
    reminder_app, fake_twilio, database_url
):
    """The review's reproduction: ``send-due --at <3 hours ago>`` running, and another
    sweep starting while its texts are in flight, on PostgreSQL: every patient exactly one
    reminder (the second sweep took the catch-up's claims for abandoned)."""
    app = reminder_app(REMINDER_BATCH=10)
    fake_twilio.latency = 0.3
    phones = patients_due_now(app, 120)
    env = process_env(database_url, fake_twilio, REMINDER_BATCH="10", CLAIM_TIMEOUT="60")
    past = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=3)).isoformat()
    command = [sys.executable, "-m", "flask", "--app", "bot", "reminders", "send-due"]
    catch_up = subprocess.Popen(
        command + ["--at", past], env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True
    )
    with fake_twilio.wait_for_messages(10, timeout=60):  # the catch-up is under way
        second = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    outputs = [run.communicate(timeout=120)[0] for run in (catch_up, second)]
    assert catch_up.returncode == 0 and second.returncode == 0, outputs
    assert sorted(m.to for m in fake_twilio.messages) == phones, outputs


def test_a_killed_sweep_is_never_sent_the_next_day(reminder_app, fake_twilio):
    """A sweep killed mid-run, no sweep again that day: the next day each patient gets that
    day's one reminder; what was sent is found at Twilio, the rest recorded as missed."""
    app = reminder_app(REMINDER_BATCH=10)
    phones = [f"+120255501{i:02d}" for i in range(30)]
    for phone in phones:
        subscribe(app, phone)
    clock = {"now": ny(2026, 11, 30, 9, 0).astimezone(dt.UTC)}
    fake_twilio.clock = lambda: clock["now"]
    with app.app_context():  # claims ten, sends five, dies before recording
        plan_only(app, clock["now"])
        rows = claim(db.session, 10, clock["now"])
        db.session.commit()
        for row in rows[:5]:
            assert app.extensions["sender"].send(row.phone, row.body).ok
    day_one = {m.to for m in fake_twilio.messages}
    clock["now"] = ny(2026, 12, 1, 9, 0).astimezone(dt.UTC)
    report = sweep(app, clock["now"])
    assert report.reconciled == 5 and report.missed == 25 and report.sent == 30
    next_day = [m.to for m in fake_twilio.messages if m.date_created == clock["now"]]
    assert sorted(next_day) == phones  # one each, today's
    assert len(fake_twilio.messages) == 35
    by_date = {}
    for d in deliveries(app):
        by_date.setdefault(d.local_date.isoformat(), []).append(d.status)
    assert sorted(by_date["2026-11-30"]) == ["missed"] * 25 + ["sent"] * 5
    assert by_date["2026-12-01"] == ["sent"] * 30
    assert {d.phone for d in deliveries(app) if d.status == "sent" and d.local_date.day == 30} == (
        day_one
    )
    # Nothing more to do: a later sweep sends nothing.
    clock["now"] += dt.timedelta(minutes=30)
    assert sweep(app, clock["now"]).sent == 0 and len(fake_twilio.messages) == 35
    # The missed day shows on the patient's page.
    missed_phone = sorted(set(phones) - day_one)[0]
    with app.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.phone == missed_phone))
        history = pt.reminder_history(db.session, patient.id)
    assert [(h.local_date.isoformat(), h.status) for h in history] == [
        ("2026-12-01", "sent"),
        ("2026-11-30", "missed"),
    ]


def test_a_claim_whose_window_closed_meanwhile_is_missed(reminder_app, fake_twilio):
    app = reminder_app(CLAIM_TIMEOUT=300)
    subscribe(app, "+12025550101", time="20:58")
    at = ny(2026, 11, 30, 20, 58).astimezone(dt.UTC)
    with app.app_context():  # claimed at 8:58 PM, then the process died
        plan_only(app, at)
        assert len(claim(db.session, 10, at)) == 1
        db.session.commit()
    report = sweep(app, ny(2026, 11, 30, 21, 1))
    assert report.sent == 0 and report.missed == 0  # young: it may still be in flight
    report = sweep(app, ny(2026, 11, 30, 21, 4))
    assert report.missed == 1 and report.sent == 0
    assert fake_twilio.messages == []
    assert [(d.status, d.note) for d in deliveries(app)] == [("missed", MISSED)]


def test_a_catch_up_run_after_the_window_sends_nothing(reminder_app, fake_twilio):
    """``send-due --at 9:00`` run by hand at 10 PM: due then, but the window has closed
    where the patient is: nothing goes out at night."""
    app = reminder_app()
    subscribe(app, "+12025550101")
    report = sweep(app, ny(2026, 11, 30, 9, 0), now=ny(2026, 11, 30, 22, 0))
    assert report.sent == 0 and report.missed == 1 and fake_twilio.messages == []


def test_a_text_still_queued_at_twilio_is_found(reminder_app, fake_twilio):
    """Twilio accepted the reminder but has not sent it yet (no date_sent; the DateSent
    filter does not see it): reconciliation finds it and sends nothing again."""
    app = reminder_app(CLAIM_TIMEOUT=300)
    fake_twilio.queue_seconds = 3600
    subscribe(app, "+12025550101")
    clock = {"now": ny(2026, 11, 30, 9, 0).astimezone(dt.UTC)}
    fake_twilio.clock = lambda: clock["now"]
    with app.app_context():
        plan_only(app, clock["now"])
        [row] = claim(db.session, 10, clock["now"])
        db.session.commit()
        assert app.extensions["sender"].send(row.phone, row.body).ok
    clock["now"] += dt.timedelta(minutes=6)
    report = sweep(app, clock["now"])
    assert report.reconciled == 1 and report.sent == 0
    assert len(fake_twilio.messages) == 1


def test_the_stand_in_queues_as_twilio_does(fake_twilio):
    """What the reconciliation is built against: a queued message has no date_sent and is
    not found by the DateSent filter (by day), but is by To."""
    from twilio.rest import Client

    fake_twilio.queue_seconds = 60
    client = Client(fake_twilio.account_sid, fake_twilio.auth_token)
    client.api.base_url = fake_twilio.base_url
    created = client.messages.create(to="+12025550101", from_=CLINIC_NUMBER, body="hi")
    assert created.status == "queued" and created.date_sent is None
    today = dt.datetime.now(dt.UTC)
    assert client.messages.list(to="+12025550101", date_sent_after=today) == []
    [listed] = client.messages.list(to="+12025550101")
    assert listed.sid == created.sid and listed.date_sent is None and listed.status == "queued"
    fake_twilio.clock = lambda: today + dt.timedelta(minutes=2)
    [listed] = client.messages.list(to="+12025550101", date_sent_after=today)
    assert listed.status == "sent" and listed.date_sent is not None


def test_sent_but_not_recorded_is_found_at_twilio_not_sent_again(reminder_app, fake_twilio):
    # Real time here: Twilio's list is filtered by when the text was really sent.
    app = reminder_app(CLAIM_TIMEOUT=60, REMINDER_WINDOW="00:00-24:00")
    at = dt.datetime.now(dt.UTC)
    # The sweep five minutes later must still be the patient's same day (run in New York's
    # last minutes, it planned and sent the next day's reminder too: seen in CI at 23:55).
    zone = max(("America/New_York", "Asia/Tokyo"), key=lambda z: hours_from_midnight(at, z))
    subscribe(app, "+12025550101", time="00:00", tz=zone)
    with app.app_context():  # claims, sends, dies before recording Twilio's answer
        plan_only(app, at)
        [row] = claim(db.session, 10, at)
        db.session.commit()
        assert app.extensions["sender"].send(row.phone, row.body).ok
    report = sweep(app, at + dt.timedelta(minutes=5))
    assert report.reconciled == 1 and report.sent == 0
    assert len(fake_twilio.messages) == 1
    [delivery] = deliveries(app)
    assert delivery.status == "sent" and delivery.message_sid == fake_twilio.messages[0].sid


def test_killed_sweep_then_rerun_sends_each_once(reminder_app, fake_twilio, database_url):
    """A real crash: the send-due process is killed with SIGKILL mid-run, then run again."""
    app = reminder_app(REMINDER_WINDOW="00:00-23:59")
    fake_twilio.latency = 0.05
    count = 120
    with app.app_context():
        for i in range(count):
            phone = f"+1202555{i + 1000:04d}"
            db.session.add(
                Patient(
                    name=f"P {i}",
                    phone=phone,
                    language="en",
                    routine=["cat-camel"],
                    reminder_time=dt.time(0),
                    paused=False,
                    number_invalid=False,
                    timezone="America/New_York",
                    enrolled_at=ENROLLED,
                    enrolled_by="test",
                )
            )
            db.session.add(
                ConsentEvent(
                    phone=phone, action="opt_in", keyword="yes", source="sms", created_at=ENROLLED
                )
            )
        db.session.commit()
    env = process_env(
        database_url,
        fake_twilio,
        REMINDER_BATCH="20",
        SEND_CONCURRENCY="5",
        CLAIM_TIMEOUT="0",
        REMINDER_WINDOW="00:00-23:59",
    )
    # Real time: the rerun asks Twilio what was really sent since the claims.
    command = [sys.executable, "-m", "flask", "--app", "bot", "reminders", "send-due"]
    first = subprocess.Popen(command, env=env, cwd=ROOT, stdout=subprocess.DEVNULL)
    # Kill it once some, not all, reminders have reached the stand-in.
    with fake_twilio.wait_for_messages(count // 3, timeout=60):
        first.kill()
    first.wait(30)
    before = len(fake_twilio.messages)
    assert 0 < before < count
    rerun = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    recipients = [m.to for m in fake_twilio.messages]
    assert len(recipients) == count == len(set(recipients))
    with app.app_context():
        statuses = db.session.execute(
            select(ReminderDelivery.status, func.count()).group_by(ReminderDelivery.status)
        ).all()
    assert dict(statuses) == {"sent": count}


def test_next_batch_fills_the_places_the_last_one_frees(reminder_app, fake_twilio):
    """Batches overlap at the sender: the limit of requests in flight stays full across
    batch boundaries instead of draining at the end of each batch."""
    app = reminder_app(REMINDER_BATCH=5, SEND_CONCURRENCY=8)
    fake_twilio.gather = 8  # answers only once a second batch has joined the first
    phones = [f"+120255501{i:02d}" for i in range(20)]
    for phone in phones:
        subscribe(app, phone)
    report = sweep(app, ny(2026, 11, 30, 9, 0))
    assert report.sent == 20
    assert fake_twilio.max_in_flight_seen == 8  # more than one batch of 5, never above 8
    assert sorted(m.to for m in fake_twilio.messages) == sorted(phones)
    with app.app_context():
        assert {d.status for d in deliveries(app)} == {"sent"}


# --- Twilio's errors -----------------------------------------------------------------------


def test_more_than_a_hundred_requests_in_flight_when_the_account_allows(fake_twilio):
    from bot.sms.sender import Limits, TwilioSender

    fake_twilio.gather = 150  # no answer until 150 requests are in flight together
    sender = TwilioSender(ACCOUNT_SID, AUTH_TOKEN, CLINIC_NUMBER, fake_twilio.base_url)
    texts = [(f"+1202555{i:04d}", "hello") for i in range(200)]
    results = sender.send_many(texts, Limits(in_flight=150, per_second=100_000))
    assert all(r.ok for r in results) and len(fake_twilio.messages) == 200
    assert fake_twilio.max_in_flight_seen == 150


def test_429_from_the_concurrency_cap_is_retried(reminder_app, fake_twilio):
    app = reminder_app(SEND_CONCURRENCY=8, SEND_RETRIES=30)
    fake_twilio.max_in_flight = 2
    fake_twilio.latency = 0.02
    for i in range(12):
        subscribe(app, f"+120255501{i:02d}")
    report = sweep(app, ny(2026, 11, 30, 9, 0))
    assert fake_twilio.refused > 0  # Twilio said 429 at least once
    assert report.sent == 12 and report.failed == 0
    assert len({m.to for m in fake_twilio.messages}) == len(fake_twilio.messages) == 12


def test_5xx_is_retried_then_recorded_as_failed(reminder_app, fake_twilio):
    app = reminder_app(SEND_RETRIES=3)
    fake_twilio.fail_first = 2  # each number's first two tries get a 500
    for i in range(10):
        subscribe(app, f"+120255501{i:02d}")
    report = sweep(app, ny(2026, 11, 30, 9, 0))
    assert report.sent == 10  # every one got through on its third try
    assert len(fake_twilio.messages) == 10
    failing = reminder_app(SEND_RETRIES=2)
    fake_twilio.fail_first, fake_twilio.fail_share = 0, 1.0
    subscribe(failing, "+12025550150")
    report = sweep(failing, ny(2026, 12, 1, 9, 0))
    assert report.failed == 11 and report.sent == 0
    creates = [r for r in fake_twilio.requests if r[0] == "POST" and r[2]["To"] == "+12025550150"]
    assert len(creates) == 3  # the first try and two retries
    failed = [d for d in deliveries(failing) if d.status == "failed"]
    assert len(failed) == 11 and all("Internal Server Error" in d.note for d in failed)


def test_21610_marks_the_patient_opted_out(reminder_app, fake_twilio):
    app = reminder_app()
    patient_id = subscribe(app, "+12025550101")
    fake_twilio.errors["+12025550101"] = 21610
    report = sweep(app, ny(2026, 11, 30, 9, 0))
    assert report.failed == 1
    with app.app_context():
        patient = db.session.get(Patient, patient_id)
        assert pt.patient_status(db.session, patient) == "opted_out"
    assert sweep(app, ny(2026, 12, 1, 9, 0)).due == 0  # never texted again


@pytest.mark.parametrize("code", [21211, 21614])
def test_bad_number_stops_sending(reminder_app, fake_twilio, code):
    app = reminder_app()
    patient_id = subscribe(app, "+12025550101")
    fake_twilio.errors["+12025550101"] = code
    sweep(app, ny(2026, 11, 30, 9, 0))
    with app.app_context():
        assert db.session.get(Patient, patient_id).number_invalid is True
    del fake_twilio.errors["+12025550101"]
    assert sweep(app, ny(2026, 12, 1, 9, 0)).due == 0
    assert fake_twilio.messages == []


# --- status callbacks, the command, the clock ---------------------------------------------


def test_status_callback_updates_the_message(reminder_app, fake_twilio):
    app = reminder_app()
    subscribe(app, "+12025550101")
    sweep(app, ny(2026, 11, 30, 9, 0))
    sid = fake_twilio.messages[0].sid
    client = app.test_client()
    for status in ("sent", "delivered"):
        params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
        headers = {"X-Twilio-Signature": sign("http://localhost/sms/status", params)}
        assert client.post("/sms/status", data=params, headers=headers).status_code == 204
    with app.app_context():
        assert db.session.scalar(select(Message.status).where(Message.message_sid == sid)) == (
            "delivered"
        )
        delivery = db.session.scalar(select(ReminderDelivery))
        assert delivery.delivery_status == "delivered"  # the dashboard counts it delivered
    params = {"MessageSid": sid, "MessageStatus": "failed"}
    assert client.post("/sms/status", data=params).status_code == 403  # unsigned
    bad = {"MessageSid": sid, "MessageStatus": "exploded"}
    headers = {"X-Twilio-Signature": sign("http://localhost/sms/status", bad)}
    assert client.post("/sms/status", data=bad, headers=headers).status_code == 400


def test_send_due_command(reminder_app, fake_twilio):
    """--at acts as if it were that moment for what is due; whether a day's window has
    closed is judged on the real clock, so the day used is tomorrow's (never closed yet)."""
    app = reminder_app()
    subscribe(app, "+12025550101")
    subscribe(app, "+12025550102", time="22:30")
    runner = app.test_cli_runner()
    tomorrow = dt.datetime.now(dt.UTC).date() + dt.timedelta(days=1)
    morning = f"{tomorrow}T14:00:00Z"  # 9 or 10 AM in New York
    night = f"{tomorrow + dt.timedelta(days=1)}T03:40:00+00:00"  # 10:40 or 11:40 PM there
    dry = runner.invoke(args=["reminders", "send-due", "--at", morning, "--dry-run"])
    assert dry.exit_code == 0 and "dry run: due 1, sent 0" in dry.output
    assert fake_twilio.messages == [] and deliveries(app) == []
    result = runner.invoke(args=["reminders", "send-due", "--at", morning])
    assert result.exit_code == 0, result.output
    assert "due 1, sent 1, skipped 0, failed 0" in result.output
    late = runner.invoke(args=["reminders", "send-due", "--at", night])
    assert "due 0, sent 0, skipped 1, failed 0" in late.output
    bad = runner.invoke(args=["reminders", "send-due", "--at", "tomorrow"])
    assert bad.exit_code != 0 and "is not an ISO time" in bad.output
    naive = runner.invoke(args=["reminders", "send-due", "--at", f"{tomorrow}T14:00:00"])
    assert naive.exit_code != 0 and "give a time zone" in naive.output


def test_clock_job_settings_and_one_tick(reminder_app, fake_twilio):
    app = reminder_app(REMINDER_WINDOW="00:00-23:59")
    subscribe(app, "+12025550101", time="00:00")
    scheduler = make_scheduler(app)
    job = scheduler.get_job("reminder-sweep")
    assert job.coalesce is True and job.max_instances == 1 and job.misfire_grace_time == 50
    assert {j.id for j in scheduler.get_jobs()} == {
        "reminder-sweep", "outbox", "daily-figures", "previews", "retention",
    }  # fmt: skip
    assert scheduler.get_job("outbox").max_instances == 1
    retention = scheduler.get_job("retention").trigger
    assert str(retention.timezone) == app.config["CLINIC_TIMEZONE"]
    assert {f.name: str(f) for f in retention.fields if f.name in ("hour", "minute")} == {
        "hour": "3",
        "minute": "23",
    }
    assert str(scheduler.timezone) == "UTC"
    sweep_once(app)  # what the clock runs each minute, at the real time
    assert [m.to for m in fake_twilio.messages] == ["+12025550101"]
    sweep_once(app)
    assert len(fake_twilio.messages) == 1


# --- the text ------------------------------------------------------------------------------


def test_reminder_text(app):
    content = app.extensions["content"]
    every = [e.id for e in content.exercises]
    for language in ("en", "es"):
        for routine in (["cat-camel"], every):
            text = reminder_text(content, "Zoë Ana Pérez", language, routine)
            assert text.startswith("Hi Zoe!" if language == "en" else "¡Hola, Zoe!")
            assert is_gsm7(text) and count_segments(text).segments <= 2
            assert "DONE" in text and "STOP" in text
    assert "Envie el nombre de un ejercicio" in reminder_text(content, "Ana", "es", ["cat-camel"])
    assert "(+" in reminder_text(content, "Ana", "en", every)  # shortened to fit


def test_requests_are_ones_twilio_accepts(reminder_app, fake_twilio):
    """Every request the app made, checked against Twilio's own OpenAPI description of the
    Messages resource (tests/twilio_messages_api.json, trimmed from twilio_api_v2010.json)."""
    api = json.loads((Path(__file__).parent / "twilio_messages_api.json").read_text())
    app = reminder_app(
        CLAIM_TIMEOUT=0,
        REMINDER_WINDOW="00:00-23:59",
        PUBLIC_BASE_URL="https://texts.clinic.example",
    )
    now = dt.datetime.now(dt.UTC)
    # A reminder due now and the sweep a minute later on the same day, in the window (it
    # ends at 23:59): of two zones 14 hours apart, the one further from midnight.
    zone = max(("America/New_York", "Asia/Tokyo"), key=lambda z: hours_from_midnight(now, z))
    subscribe(app, "+12025550101", time="00:00", tz=zone)
    with app.app_context():  # a claim left behind, so the sweep also lists messages
        plan_only(app, now)
        claim(db.session, 10, now)
        db.session.commit()
    sweep(app, now + dt.timedelta(minutes=1))
    with app.app_context():
        sender = app.extensions["sender"]
        sender.send("+12025550102", "one text")  # the single-send path (invitations)
    path = api["path"].replace("{AccountSid}", ACCOUNT_SID)
    creates = [r for r in fake_twilio.requests if r[0] == "POST"]
    lists = [r for r in fake_twilio.requests if r[0] == "GET"]
    assert creates and lists
    for _, request_path, params in creates:
        assert request_path == path
        assert set(api["post"]["required"]) <= set(params)
        assert set(params) <= set(api["post"]["properties"]), set(params)
        assert params["StatusCallback"] == "https://texts.clinic.example/sms/status"
    for _, request_path, params in lists:
        assert request_path == path
        assert set(params) <= set(api["get"]["query"]), set(params)
