"""Sending hours by state: the table, where a patient's state is read from, and the sweep,
the invitations, the forms and the patients' own texts following it."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select, update

from bot.models import Patient, ReminderDelivery, db
from bot.sms import quiet_hours as qh
from tests.conftest import post_sms, reply_of, subscribe, sweep, twilio_settings
from tests.test_reminders import deliveries
from tests.test_staff import csrf_token, enroll_form, page, patient_row

ROOT = Path(__file__).resolve().parent.parent
NY = ZoneInfo("America/New_York")
CHICAGO = ZoneInfo("America/Chicago")
# Fictional numbers (555-01xx) in area codes of the states under test.
FLORIDA = "+13055550101"  # Miami
TEXAS = "+12145550102"  # Dallas
MISSISSIPPI = "+16015550103"  # Jackson
DC = "+12025550104"
TOLL_FREE = "+18005550105"


def ny(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=NY)


def chicago(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=CHICAGO)


@pytest.fixture
def hours_app(make_app, fake_twilio):
    def make(**settings):
        config = twilio_settings(fake_twilio, REMINDER_WINDOW="08:00-21:00")
        config.update(settings)
        return make_app(**config)

    return make


# --- the table ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("state", "monday", "sunday"),
    [
        ("FL", "08:00-20:00", "08:00-20:00"),
        ("MD", "08:00-20:00", "08:00-20:00"),
        ("OK", "08:00-20:00", "08:00-20:00"),
        ("MS", "08:00-20:00", None),
        ("CT", "09:00-20:00", "09:00-20:00"),
        ("TX", "09:00-21:00", "12:00-21:00"),
        ("NJ", "08:00-21:00", "08:00-21:00"),  # N.J.S.A. 56:8-128(d): no stricter
        ("VA", "08:00-21:00", "08:00-21:00"),
    ],
)
def test_the_table_holds_each_states_hours(state, monday, sunday):
    hours = qh.SendingHours(rules=qh.table()[0])

    def shown(window):
        return None if window is None else f"{window[0]:%H:%M}-{window[1]:%H:%M}"

    assert shown(hours.on(dt.date(2026, 11, 30), DC, state)) == monday
    assert shown(hours.on(dt.date(2026, 11, 29), DC, state)) == sunday
    rule = qh.table()[0].get(state)
    assert rule is None or re.search(r"§|CFR", rule.source)  # each with its statute


def test_the_clinics_window_holds_where_it_is_narrower():
    hours = qh.SendingHours(window=(dt.time(10), dt.time(18)), rules=qh.table()[0])
    assert hours.on(dt.date(2026, 11, 29), DC, "TX") == (dt.time(12), dt.time(18))
    assert hours.on(dt.date(2026, 11, 30), DC, "FL") == (dt.time(10), dt.time(18))
    assert qh.SendingHours(window=(dt.time(8), dt.time(21))).on(
        dt.date(2026, 11, 29), DC, "MS"
    ) == (dt.time(8), dt.time(21))  # the state table off


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"names": {"FL": "Florida"}, "states": {"FL": {"hours": "8-20", "source": "x"}}},
         "'8-20' is not HH:MM-HH:MM"),
        ({"names": {"FL": "Florida"}, "states": {"FL": {"hours": "20:00-08:00", "source": "x"}}},
         "must end after it starts"),
        ({"names": {"FL": "Florida"}, "states": {"FL": {"hours": "08:00-20:00"}}},
         "a source are needed"),
        ({"names": {"FL": "Florida"}, "states": {"ZZ": {"hours": "08:00-20:00", "source": "x"}}},
         "quiet hours of ZZ"),
        ({"names": {"FL": "Florida"},
          "states": {"FL": {"hours": "08:00-20:00", "source": "x", "days": {"sunday": "none"}}}},
         "'sunday' is not one of mon"),
    ],
)  # fmt: skip
def test_a_malformed_table_says_where(data, message):
    with pytest.raises(qh.QuietHoursError, match=re.escape(message)):
        qh.read_table(data)


@pytest.mark.parametrize(
    ("typed", "code"),
    [("FL", "FL"), (" fl ", "FL"), ("Florida", "FL"), ("new jersey", "NJ"), ("Washington DC", "DC"),
     ("", None), ("  ", None)],
)  # fmt: skip
def test_a_state_is_read_as_staff_type_it(typed, code):
    assert qh.parse_state(typed) == code


@pytest.mark.parametrize("typed", ["Floridaa", "ZZ", "Ontario", "F"])
def test_anything_else_is_not_a_state(typed):
    with pytest.raises(ValueError, match="is not a US state"):
        qh.parse_state(typed)


def test_the_state_is_the_recorded_one_else_the_area_codes_else_the_clinics():
    hours = qh.SendingHours(rules=qh.table()[0], clinic_state="CT")
    assert hours.state_of(FLORIDA, None) == ("FL", "area code")
    assert hours.state_of(TEXAS, None) == ("TX", "area code")
    assert hours.state_of("+12125550106", None) == ("NY", "area code")  # "New York, NY"
    assert hours.state_of(FLORIDA, "TX") == ("TX", "recorded")
    assert hours.state_of(TOLL_FREE, None) == ("CT", "clinic")
    assert qh.clinic_state("44110 Ashburn Shopping Plaza #158, Ashburn, VA 20147") == "VA"
    assert qh.clinic_state("Somewhere without a state") is None


# --- the sweep -----------------------------------------------------------------------------


def test_a_florida_patients_830_pm_reminder_is_held(hours_app, fake_twilio):
    app = hours_app()
    held = subscribe(app, FLORIDA, time="19:00")
    subscribe(app, DC, time="20:30")
    with app.app_context():  # chosen before the state's hours were kept, say
        db.session.execute(
            update(Patient).where(Patient.id == held).values(reminder_time=dt.time(20, 30))
        )
        db.session.commit()
    report = sweep(app, ny(2026, 11, 30, 20, 30))
    assert (report.sent, report.skipped) == (1, 1)
    assert [m.to for m in fake_twilio.messages] == [DC]
    with app.app_context():
        delivery = db.session.scalar(
            select(ReminderDelivery).where(ReminderDelivery.patient_id == held)
        )
        assert delivery.status == "skipped"
        assert "08:00-20:00" in delivery.note and "Florida" in delivery.note
    assert sweep(app, ny(2026, 11, 30, 20, 59)).sent == 0  # and not later that evening
    assert [m.to for m in fake_twilio.messages] == [DC]


def test_a_florida_patients_evening_reminder_goes_before_8_pm(hours_app, fake_twilio):
    app = hours_app()
    subscribe(app, FLORIDA, time="19:45")
    assert sweep(app, ny(2026, 11, 30, 19, 45)).sent == 1


def test_a_texas_patients_sunday_10_am_reminder_waits_for_noon(hours_app, fake_twilio):
    app = hours_app()
    subscribe(app, TEXAS, time="10:00", tz="America/Chicago")
    # Sunday 29 November: not at 10, nor at 11:59; at noon, once.
    assert sweep(app, chicago(2026, 11, 29, 10, 0)).due == 0
    assert sweep(app, chicago(2026, 11, 29, 11, 59)).due == 0
    assert sweep(app, chicago(2026, 11, 29, 12, 0)).sent == 1
    assert sweep(app, chicago(2026, 11, 29, 12, 30)).sent == 0
    # Monday: at 10, as chosen.
    assert sweep(app, chicago(2026, 11, 30, 9, 59)).due == 0
    assert sweep(app, chicago(2026, 11, 30, 10, 0)).sent == 1
    assert len(fake_twilio.messages) == 2


def test_a_mississippi_patient_gets_no_sunday_reminder(hours_app, fake_twilio):
    app = hours_app()
    subscribe(app, MISSISSIPPI, time="09:00", tz="America/Chicago")
    report = sweep(app, chicago(2026, 11, 29, 9, 0))
    assert (report.sent, report.skipped) == (0, 1)
    [delivery] = deliveries(app)
    assert "no texts on this day of the week" in delivery.note and "Mississippi" in delivery.note
    assert sweep(app, chicago(2026, 11, 30, 9, 0)).sent == 1


def test_a_recorded_state_beats_the_area_code(hours_app, fake_twilio):
    app = hours_app()
    pid = subscribe(app, DC, time="20:30")
    with app.app_context():
        db.session.execute(update(Patient).where(Patient.id == pid).values(state="FL"))
        db.session.commit()
    assert sweep(app, ny(2026, 11, 30, 20, 30)).skipped == 1
    assert fake_twilio.messages == []


def test_the_state_table_can_be_turned_off(hours_app, fake_twilio):
    app = hours_app(STATE_QUIET_HOURS="off")
    pid = subscribe(app, FLORIDA, time="19:00")
    with app.app_context():
        db.session.execute(
            update(Patient).where(Patient.id == pid).values(reminder_time=dt.time(20, 30))
        )
        db.session.commit()
    assert sweep(app, ny(2026, 11, 30, 20, 30)).sent == 1


# --- the patient's texts --------------------------------------------------------------------


def test_a_florida_patient_cannot_move_the_reminder_past_8_pm_by_text(hours_app, fake_twilio):
    app = hours_app()
    subscribe(app, FLORIDA, time="09:00")
    client = app.test_client()
    refused = reply_of(post_sms(client, "8:30pm", phone=FLORIDA))
    assert "between 8:00 AM and 8:00 PM" in refused
    assert "7:30 PM" in reply_of(post_sms(client, "7:30pm", phone=FLORIDA))
    with app.app_context():
        assert db.session.scalar(select(Patient.reminder_time)) == dt.time(19, 30)


# --- the staff pages and the import ---------------------------------------------------------


def local_zone_at(hour: int) -> str:
    """A fixed-offset time zone where it is now between ``hour`` and the hour after."""
    offset = (hour - dt.datetime.now(dt.UTC).hour) % 24
    offset = offset - 24 if offset > 14 else offset
    return f"Etc/GMT{-offset:+d}" if offset else "Etc/GMT"


def test_the_enroll_form_refuses_a_time_after_the_states_hours(staff_client, twilio_app):
    response = enroll_form(staff_client, phone="(305) 555-0101", reminder_time="20:30")
    html = page(response)
    assert response.status_code == 200
    assert re.search(r'id="reminder_time-error">[^<]*08:00-20:00, Florida law', html)
    assert "choose a time before 8:00 PM" in html
    assert patient_row(twilio_app, FLORIDA) is None
    # A recorded state too, typed as staff type it; and a state that is none is refused.
    response = enroll_form(staff_client, reminder_time="20:30", state="connecticut")
    assert "Connecticut law" in page(response)
    response = enroll_form(staff_client, state="Floridaa")
    assert re.search(r'id="state-error">[^<]*is not a US state', page(response))
    assert enroll_form(staff_client, state="tx", reminder_time="20:30").status_code == 302
    assert patient_row(twilio_app).state == "TX"


def test_the_patient_page_says_the_hours_and_where_the_state_came_from(staff_client, twilio_app):
    enroll_form(staff_client, phone="(305) 555-0101", reminder_time="19:00")
    record = patient_row(twilio_app, FLORIDA)
    html = page(staff_client.get(f"/patients/{record.id}"))
    assert "08:00-20:00, Florida law: Fla. Stat." in html
    assert "state FL, from the area code" in html
    assert "after these hours close" not in html
    with twilio_app.app_context():
        db.session.execute(
            update(Patient).where(Patient.id == record.id).values(reminder_time=dt.time(20, 30))
        )
        db.session.commit()
    assert "after these hours close" in page(staff_client.get(f"/patients/{record.id}"))
    # Edited to a state: recorded, and the edit form checks the time against it too.
    edit = staff_client.post(
        f"/patients/{record.id}/edit",
        data={
            "csrf_token": csrf_token(staff_client, f"/patients/{record.id}/edit"),
            "name": "Ana Lopez", "language": "en", "reminder_time": "20:30",
            "timezone": "America/New_York", "state": "GA", "routine": ["cat-camel"],
        },
    )  # fmt: skip
    assert edit.status_code == 302
    html = page(staff_client.get(f"/patients/{record.id}"))
    assert "state GA, recorded" in html and "after these hours close" not in html


def test_the_csv_reads_a_state_column_and_checks_the_time_against_it(
    twilio_app, fake_twilio, tmp_path
):
    rows = (
        "name,phone,language,routine,reminder_time,timezone,state\n"
        "Ana Lopez,(202) 555-0101,,cat camel,20:30,,FL\n"
        "Bob Smith,(202) 555-0102,,cat camel,20:30,,\n"
        "Cy Young,(202) 555-0103,,cat camel,09:00,,Narnia\n"
        "Di Prince,(305) 555-0104,,cat camel,09:00,,texas\n"
    )
    path = tmp_path / "patients.csv"
    path.write_text(rows, encoding="utf-8")
    result = twilio_app.test_cli_runner().invoke(args=["patients", "import", str(path)])
    assert "2 enrolled" in result.output
    assert "line 2: reminder_time: Texts to this patient go out only 08:00-20:00" in result.output
    assert "line 4: state: 'Narnia' is not a US state" in result.output
    with twilio_app.app_context():
        states = dict(db.session.execute(select(Patient.phone, Patient.state)).all())
    assert states == {"+12025550102": None, "+13055550104": "TX"}


def test_an_invitation_is_held_outside_the_states_hours(twilio_app, fake_twilio, tmp_path):
    zone = local_zone_at(22)  # 10 PM: past Florida's 8 PM, within the test clinic's hours
    path = tmp_path / "patients.csv"
    path.write_text(
        "name,phone,language,routine,reminder_time,timezone,state\n"
        f"Ana Lopez,(202) 555-0101,,cat camel,09:00,{zone},FL\n"
        f"Bob Smith,(202) 555-0102,,cat camel,09:00,{zone},\n",
        encoding="utf-8",
    )
    result = twilio_app.test_cli_runner().invoke(args=["patients", "import", str(path)])
    assert "2 enrolled" in result.output and "1 invitations sent" in result.output
    assert (
        "line 2: enrolled, but no invitation sent: held: outside sending hours (08:00-20:00, "
        "Florida law" in result.output
    )
    assert [m.to for m in fake_twilio.messages] == ["+12025550102"]


# --- the area codes -------------------------------------------------------------------------


def test_the_area_code_table_is_the_geocoders():
    """bot/area_codes.yaml holds what phonenumbers' geocoder says of every US area code
    (python -c 'from bot.sms.quiet_hours import write_area_codes; write_area_codes()')."""
    assert qh.area_codes() == qh.geocoded_area_codes()
    assert qh.area_codes()["305"] == "FL" and qh.area_codes()["212"] == "NY"
    assert "787" not in qh.area_codes()  # Puerto Rico: not a state under the table


def test_the_app_does_not_load_the_geocoder():
    """Its place names cost about 100 MB in every process; the app reads the table."""
    script = (
        "import sys; from bot import create_app; "
        "app = create_app({'TESTING': True, 'SECRET_KEY': 'x' * 20}); "
        "from bot.sms.quiet_hours import area_code_state; area_code_state('+13055550123'); "
        "print('phonenumbers.geocoder' in sys.modules)"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, cwd=ROOT
    )
    assert result.stdout.strip() == "False", result.stderr[-2000:]
