"""A therapist's caseload: who needs a look first (pain pauses, then no DONE in 3 days),
the last 7 days' adherence and pain, sortable; only patients getting reminders."""

from __future__ import annotations

import datetime as dt
import re

from sqlalchemy import select, update

from bot.models import AdherenceDay, Patient, ReminderDelivery, db, local_date, utcnow
from bot.reminders import caseload, checkins, schedule
from tests.conftest import subscribe


def today(app) -> dt.date:
    return local_date(utcnow(), app.config["CLINIC_TIMEZONE"])


def add_days(app, patient_id: int, done: dict[int, int | None], sent: list[int]) -> None:
    """DONEs ``days back: pain`` and reminders sent ``days back``, counted from today."""
    now, day0 = utcnow(), today(app)
    with app.app_context():
        for back, pain in done.items():
            day = day0 - dt.timedelta(days=back)
            db.session.add(
                AdherenceDay(patient_id=patient_id, local_date=day, done_at=now, pain=pain)
            )
        for back in sent:
            db.session.add(ReminderDelivery(
                patient_id=patient_id, local_date=day0 - dt.timedelta(days=back),
                phone=f"+1202555{patient_id:04d}", body="Your exercises", status="sent",
                message_sid=f"SMc{patient_id:04d}{back:028d}", due_at=now,
            ))  # fmt: skip
        db.session.commit()


def setup_caseload(app) -> dict[str, int]:
    ids = {
        "steady": subscribe(app, "+12025550151", name="Steady Sam"),
        "quiet": subscribe(app, "+12025550152", name="Quiet Quinn"),
        "hurting": subscribe(app, "+12025550153", name="Hurting Hal"),
        "resting": subscribe(app, "+12025550154", name="Resting Rae"),
        "invited": subscribe(app, "+12025550155", name="Invited Ivy", confirm=False),
        "half": subscribe(app, "+12025550156", name="Half Hana"),
    }
    add_days(app, ids["steady"], {0: 2, 1: 3, 2: None, 3: 2, 4: None, 5: 1, 6: 2}, list(range(7)))
    add_days(app, ids["quiet"], {5: None}, list(range(7)))
    add_days(app, ids["hurting"], {1: 8, 2: 7}, [1, 2, 3])
    add_days(app, ids["resting"], {}, [])
    add_days(app, ids["half"], {0: 5, 2: 6, 4: None}, list(range(6)))
    with app.app_context():
        db.session.execute(
            update(Patient).where(Patient.id.in_([ids["hurting"], ids["resting"]]))
            .values(paused=True)
        )  # fmt: skip
        conn = db.session.connection()
        pain, own = checkins.PAIN_PAUSE_DETAIL, "Paused for 7 days"
        schedule.record_change(conn, ids["hurting"], "pause", pain, ("app", "the app"), utcnow())
        schedule.record_change(
            conn, ids["resting"], "pause", own, ("text", "the patient"), utcnow()
        )
        db.session.commit()
    return ids


def names(load) -> list[str]:
    return [row.patient.name for row in load.rows]


def test_the_caseload_puts_pain_pauses_then_quiet_patients_first(twilio_app):
    ids = setup_caseload(twilio_app)
    with twilio_app.app_context():
        load = caseload.caseload(db.session, today(twilio_app))
    # Pain pause, then no DONE in 3 days, then the lowest adherence first; invited not here.
    assert names(load) == ["Hurting Hal", "Quiet Quinn", "Resting Rae", "Half Hana", "Steady Sam"]
    assert (load.total, load.pain_pauses, load.quiet) == (5, 1, 1)
    rows = {row.patient.id: row for row in load.rows}
    assert rows[ids["hurting"]].pain_pause and not rows[ids["resting"]].pain_pause
    steady, half = rows[ids["steady"]], rows[ids["half"]]
    assert (steady.done_7, steady.reminded_7, steady.adherence) == (7, 7, 1.0)
    assert steady.pain_7 == 2.0 and steady.last_done == today(twilio_app)
    assert (half.done_7, half.reminded_7, half.adherence) == (3, 6, 0.5)
    assert rows[ids["quiet"]].quiet and rows[ids["quiet"]].adherence == 1 / 7
    assert rows[ids["resting"]].adherence is None  # no reminder: no ratio, not 0%


def test_the_caseload_sorts(twilio_app):
    setup_caseload(twilio_app)
    with twilio_app.app_context():
        load = lambda sort: names(caseload.caseload(db.session, today(twilio_app), sort))  # noqa: E731
        assert load("pain") == ["Hurting Hal", "Half Hana", "Steady Sam", "Quiet Quinn",
                                "Resting Rae"]  # fmt: skip
        assert load("adherence")[-1] == "Steady Sam"
        assert load("last_done")[:2] == ["Resting Rae", "Quiet Quinn"]  # never, then longest ago
        assert load("name") == sorted(load("name"), key=str.lower)
        assert load("no-such-sort") == load("attention")


def test_the_caseload_page(staff_client, twilio_app):
    setup_caseload(twilio_app)
    page = staff_client.get("/caseload").get_data(as_text=True)
    assert 'href="/caseload"' in page  # in the navigation
    assert "1 paused for pain, 1 with no DONE in 3 days" in page
    assert '<span class="status urgent">Paused for pain</span>' in page
    assert "No DONE in 3 days" in page and "Invited Ivy" not in page
    assert re.search(r"100% \(7 of 7\)", page) and "50% (3 of 6)" in page
    assert "- (0 done, no reminder)" in page
    by_pain = staff_client.get("/caseload?sort=pain").get_data(as_text=True)
    assert by_pain.index("Hurting Hal") < by_pain.index("Half Hana") < by_pain.index("Steady Sam")
    for hostile in ("?sort=%00", "?page=-1", "?page=99999999999999999999", "?page=%C2%B2"):
        assert staff_client.get("/caseload" + hostile).status_code == 200
    anonymous = twilio_app.test_client()
    assert anonymous.get("/caseload").status_code == 302


def test_the_counts_written_by_the_clock_give_the_same_caseload(twilio_app):
    """The week's settled days written per patient (the clock's hourly job, once a day)
    and the last two counted live give, for every sort, the caseload counted live: the
    same rows, order, figures and counts. A DONE of today after the roll-up counts; the
    written counts of another day are not used."""
    from bot.models import CaseloadFigure

    setup_caseload(twilio_app)
    day0 = today(twilio_app)

    def every_sort():
        found = {}
        with twilio_app.app_context():
            for sort in caseload.SORTS:
                load = caseload.caseload(db.session, day0, sort)
                found[sort] = [
                    (r.patient.name, r.done_7, r.reminded_7, r.pain_7, r.quiet, r.last_done)
                    for r in load.rows
                ] + [(load.total, load.pain_pauses, load.quiet)]
        return found

    live = every_sort()
    with twilio_app.app_context():
        assert caseload.roll_up(db.session, day0) == 6  # every patient, the invited too
        db.session.commit()
        assert caseload.roll_up(db.session, day0) == 0  # once a day
        assert caseload.rolled_through(db.session) == day0 - dt.timedelta(days=2)
        # What was written is what the settled days hold, not the live days' rows.
        written = db.session.scalars(select(CaseloadFigure)).all()
        assert sum(w.done for w in written) == 9 and sum(w.sent for w in written) == 16
    assert every_sort() == live
    with twilio_app.app_context():  # ... and spoiled, the written counts show: they are read
        db.session.execute(update(CaseloadFigure).values(done=CaseloadFigure.done + 7))
        db.session.commit()
    assert every_sort() != live
    with twilio_app.app_context():  # written for another day: not used
        db.session.execute(update(CaseloadFigure).values(through=day0 - dt.timedelta(days=3)))
        db.session.commit()
    assert every_sort() == live
