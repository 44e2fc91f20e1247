"""The copies on the patient row that the staff pages count and sort from, kept by database
triggers: each number's last opt-in or opt-out (migration 0012), which follows every way a
consent event is written and gives the status the history gives; and the time of the
number's last text (migration 0013)."""

from __future__ import annotations

import datetime as dt
import random

from sqlalchemy import and_, select

from bot.models import ConsentEvent, Message, Patient, db
from bot.patients import records as pt
from bot.sms import outgoing
from tests.conftest import ENROLLED, post_sms, subscribe

NUMBERS = [f"+120255501{n:02d}" for n in range(40, 46)]


def copies(app) -> dict[str, tuple[str | None, int | None]]:
    with app.app_context():
        return {
            p.phone: (p.sms_consent, p.sms_consent_id) for p in db.session.scalars(select(Patient))
        }


def latest_by_id(app, phone: str) -> tuple[str | None, int | None]:
    with app.app_context():
        row = db.session.execute(
            select(ConsentEvent.action, ConsentEvent.id)
            .where(ConsentEvent.phone == phone, ConsentEvent.action.in_(pt.SMS_CONSENT_ACTIONS))
            .order_by(ConsentEvent.id.desc())
            .limit(1)
        ).first()
        return (row.action, row.id) if row else (None, None)


def statuses_agree(app) -> None:
    """For every patient: the status the pages count (the copy) is the status the
    history gives (``status_from_history``), and there is a patient to compare."""
    with app.app_context():
        rows = db.session.execute(
            select(Patient.phone, pt.status_expression(), pt.status_from_history())
        ).all()
        assert rows
        for phone, counted, from_history in rows:
            assert counted == from_history, phone
        # What the sweep sends to, spelled as plain conditions for the planner: the same
        # rule's "subscribed", the number valid.
        sent_to = db.session.execute(
            select(
                Patient.phone,
                pt.subscribed_filter(),
                and_(pt.status_from_history() == "subscribed", Patient.number_invalid.is_(False)),
            )
        ).all()
        for phone, swept, subscribed in sent_to:
            assert bool(swept) == bool(subscribed), phone


def test_texts_through_the_webhook_move_the_copy(app):
    subscribe(app, NUMBERS[0], confirm=False)
    client = app.test_client()
    assert copies(app)[NUMBERS[0]] == (None, None)
    for text, action in [("YES", "opt_in"), ("STOP", "opt_out"), ("START", "opt_in"),
                         ("hours", "opt_in"), ("stop texting me", "opt_out")]:  # fmt: skip
        post_sms(client, text, phone=NUMBERS[0])
        assert copies(app)[NUMBERS[0]] == latest_by_id(app, NUMBERS[0])
        assert copies(app)[NUMBERS[0]][0] == action
    statuses_agree(app)


def test_a_number_that_said_stop_before_enrolling_is_opted_out_from_the_start(app):
    post_sms(app.test_client(), "STOP", phone=NUMBERS[1])
    subscribe(app, NUMBERS[1], confirm=False)
    assert copies(app)[NUMBERS[1]][0] == "opt_out"
    with app.app_context():
        listed = pt.patient_page(db.session, status="opted_out")
        assert [row[0].phone for row in listed.rows] == [NUMBERS[1]]
    statuses_agree(app)


def test_staff_agreement_in_person_and_carrier_refusals(app):
    subscribe(app, NUMBERS[2])  # agreed in person, then YES
    assert copies(app)[NUMBERS[2]][0] == "opt_in"
    with app.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.phone == NUMBERS[2]))
        outgoing.record_refusals(db.session, [(patient.id, NUMBERS[2], 21610)], ENROLLED)
        db.session.commit()
    assert copies(app)[NUMBERS[2]] == latest_by_id(app, NUMBERS[2])
    assert copies(app)[NUMBERS[2]][0] == "opt_out"
    statuses_agree(app)


def test_any_order_of_events_ends_with_the_last_by_id(app):
    """Random histories, written as every path writes them, with times out of order: each
    copy is the event with the highest id, and every status agrees."""
    rng = random.Random(7)
    for phone in NUMBERS:
        if rng.random() < 0.8:  # some enrolled before their texts, some after
            subscribe(app, phone, confirm=False)
    actions = ["opt_in", "opt_out", "in_person"]
    with app.app_context():
        for _ in range(200):
            phone = rng.choice(NUMBERS)
            when = ENROLLED + dt.timedelta(minutes=rng.randrange(-600, 600))
            db.session.add(
                ConsentEvent(phone=phone, action=rng.choice(actions), keyword="x",
                             source=rng.choice(["sms", "staff", "twilio"]), created_at=when)
            )  # fmt: skip
            if rng.random() < 0.3:
                db.session.commit()
        db.session.commit()
    for phone in NUMBERS:
        if rng.random() < 0.5 and phone not in copies(app):
            subscribe(app, phone, confirm=False)
    for phone, copy in copies(app).items():
        assert copy == latest_by_id(app, phone), phone
    statuses_agree(app)


def test_every_reading_of_the_status_agrees_on_every_kind_of_patient(app):
    """The copy, the consent history and what the sweep sends to, on 32 patients: no SMS
    consent, an opt-in after enrollment, one before it, an opt-out; each paused or not,
    number valid or not, removed or not."""
    import itertools

    kinds = itertools.product(
        [None, "opt_in_after", "opt_in_before", "opt_out"], [False, True], [False, True],
        [False, True],
    )  # fmt: skip
    with app.app_context():
        for n, (consent, paused, invalid, removed) in enumerate(kinds):
            phone = f"+120255501{50 + n:02d}"
            if consent:
                when = ENROLLED + dt.timedelta(hours=-1 if consent == "opt_in_before" else 1)
                db.session.add(
                    ConsentEvent(phone=phone, action=consent[:7].rstrip("_"), keyword="x",
                                 source="sms", created_at=when)
                )  # fmt: skip
            db.session.add(
                Patient(name=f"P {n}", phone=phone, language="en", routine=["cat-camel"],
                        reminder_time=dt.time(9), timezone="America/New_York",
                        enrolled_at=ENROLLED, enrolled_by="test", paused=paused,
                        number_invalid=invalid, removed_at=ENROLLED if removed else None)
            )  # fmt: skip
        db.session.commit()
        statuses = set(db.session.scalars(select(pt.status_expression())))
    assert statuses == {"removed", "opted_out", "paused", "subscribed", "invited"}
    statuses_agree(app)


# --- the last text -------------------------------------------------------------------------


def last_texts(app) -> dict[str, tuple]:
    """Per patient: the copy, and the newest inbound text in the messages table."""
    with app.app_context():
        return {
            p.phone: (
                p.last_text_at,
                db.session.scalar(
                    select(db.func.max(Message.created_at)).where(
                        Message.phone == p.phone, Message.direction == "in"
                    )
                ),
            )
            for p in db.session.scalars(select(Patient))
        }


def test_last_text_follows_texts_in_and_not_out(app):
    post_sms(app.test_client(), "hours", phone=NUMBERS[0])  # before enrolling: taken
    subscribe(app, NUMBERS[0], confirm=False)  # the invitation goes out: not a text in
    subscribe(app, NUMBERS[1], confirm=False)
    copy = last_texts(app)
    assert copy[NUMBERS[0]][0] is not None and copy[NUMBERS[0]][0] == copy[NUMBERS[0]][1]
    assert copy[NUMBERS[1]] == (None, None)
    post_sms(app.test_client(), "YES", phone=NUMBERS[1])
    copy = last_texts(app)
    assert copy[NUMBERS[1]][0] is not None and copy[NUMBERS[1]][0] == copy[NUMBERS[1]][1]
    # A text written with an older time (a replayed spool) does not move it back.
    newest = copy[NUMBERS[1]][0]
    with app.app_context():
        db.session.add(
            Message(phone=NUMBERS[1], direction="in", body="late", kind="unknown",
                    created_at=newest - dt.timedelta(hours=1))
        )  # fmt: skip
        db.session.commit()
    assert last_texts(app)[NUMBERS[1]][0] == newest


def test_deleting_a_patients_data_forgets_the_last_text(app):
    subscribe(app, NUMBERS[2], confirm=False)
    post_sms(app.test_client(), "YES", phone=NUMBERS[2])
    assert last_texts(app)[NUMBERS[2]][0] is not None
    with app.app_context():
        patient = db.session.scalar(select(Patient).where(Patient.phone == NUMBERS[2]))
        pt.delete_patient_data(db.session, patient, "admin@clinic.example", None, ENROLLED)
        db.session.commit()
    assert last_texts(app)[NUMBERS[2]] == (None, None)
