"""Adherence on the staff pages: the dashboard's figures from a database with known answers,
the CSV export, a patient's 30-day chart and the patients list's columns."""

from __future__ import annotations

import csv
import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest

from bot.models import (
    AdherenceDay,
    ConsentEvent,
    DailyFigure,
    Message,
    Patient,
    ReminderDelivery,
    db,
)
from bot.reminders import adherence
from tests.conftest import ENROLLED, subscribe

NY = ZoneInfo("America/New_York")
# The pages count from the real day: the fixture's days are counted back from it.
NOW = dt.datetime.now(dt.UTC)
TODAY = NOW.astimezone(NY).date()
A, B, C, D = "+12025550131", "+12025550132", "+12025550133", "+12025550134"


def day(n: int) -> dt.date:
    return TODAY - dt.timedelta(days=n)


def remind(patient_id: int, phone: str, days_ago: int, delivered: bool) -> None:
    sid = f"SM{patient_id:04d}{days_ago:04d}" + "0" * 24
    db.session.add(
        ReminderDelivery(
            patient_id=patient_id, local_date=day(days_ago), phone=phone, body="Your exercises",
            status="sent", message_sid=sid, due_at=NOW - dt.timedelta(days=days_ago),
            delivery_status="delivered" if delivered else "sent",
        )
    )  # fmt: skip
    db.session.add(
        Message(
            phone=phone, direction="out", body="Your exercises", message_sid=sid,
            kind="reminder", status="delivered" if delivered else "sent",
            created_at=NOW - dt.timedelta(days=days_ago),
        )
    )  # fmt: skip


def done(patient_id: int, days_ago: int, pain: int | None = None) -> None:
    db.session.add(
        AdherenceDay(
            patient_id=patient_id, local_date=day(days_ago), pain=pain,
            done_at=NOW - dt.timedelta(days=days_ago),
        )
    )  # fmt: skip


@pytest.fixture
def clinic(twilio_app):
    """Four patients over the last ten days, with answers worked out by hand:
    A: reminded days 0-6, all delivered, done days 0-4 with pains 2,4,6 (days 0-2);
    B: reminded days 0-6, delivered days 0-2 only, done day 5 (quiet for the last 3 days);
    C: reminded day 20 (outside 7 and 30? inside 30), done day 20, opted out 2 days ago;
    D: enrolled, never answered YES: not a subscriber, no reminders, no DONE."""
    ids = {phone: subscribe(twilio_app, phone, name=name) for phone, name in
           [(A, "Ana Able"), (B, "=HYPERLINK(\"x\")"), (C, "Cy Crane")]}  # fmt: skip
    subscribe(twilio_app, D, name="Dee Dunn", confirm=False)
    with twilio_app.app_context():
        for n in range(7):
            remind(ids[A], A, n, delivered=True)
            remind(ids[B], B, n, delivered=n <= 2)
        for n, pain in [(0, 2), (1, 4), (2, 6), (3, None), (4, None)]:
            done(ids[A], n, pain)
        done(ids[B], 5)
        remind(ids[C], C, 20, delivered=True)
        done(ids[C], 20, 8)
        db.session.add(
            ConsentEvent(phone=C, action="opt_out", keyword="stop", source="sms",
                         created_at=NOW - dt.timedelta(days=2))
        )  # fmt: skip
        db.session.commit()
    return ids


def figures(app, days: int) -> adherence.Dashboard:
    with app.app_context():
        return adherence.dashboard(db.session, days, NOW, "America/New_York")


def test_dashboard_seven_days(twilio_app, clinic):
    f = figures(twilio_app, 7)
    assert (f.first, f.last) == (day(6), TODAY)
    assert f.subscribers == 2  # A and B; C opted out, D never said YES
    assert (f.sent, f.delivered, f.done) == (14, 10, 6)  # A 7+7... B 7 sent, 3 delivered
    assert f.adherence == pytest.approx(6 / 10)
    assert f.opt_outs == 1
    assert f.average_pain == pytest.approx(4.0)  # 2, 4, 6
    assert [p.name for p, _ in f.quiet] == ['=HYPERLINK("x")']  # B: last DONE 5 days ago
    assert f.quiet[0][1] == day(5) and f.quiet_total == 1


def test_dashboard_thirty_days_takes_in_older_days(twilio_app, clinic):
    f = figures(twilio_app, 30)
    assert (f.sent, f.delivered, f.done) == (15, 11, 7)
    assert f.average_pain == pytest.approx((2 + 4 + 6 + 8) / 4)


def roll_up(app, today: dt.date = TODAY) -> int:
    with app.app_context():
        written = adherence.roll_up(db.session, today)
        db.session.commit()
        return written


def written_days(app) -> list[tuple]:
    with app.app_context():
        return [
            (f.local_date, f.sent, f.delivered, f.done, f.pain_total, f.pain_count)
            for f in db.session.scalars(db.select(DailyFigure).order_by(DailyFigure.local_date))
        ]


def test_roll_up_writes_each_settled_day_once(twilio_app, clinic):
    # From the first date with data (C's day 20) to the last settled one (day 7), one row
    # a date, zeros where nothing happened; the last 7 days are still counted live.
    assert roll_up(twilio_app) == 14
    rows = written_days(twilio_app)
    assert [r[0] for r in rows] == [day(n) for n in range(20, 6, -1)]
    assert rows[0] == (day(20), 1, 1, 1, 8, 1)
    assert all(r[1:] == (0, 0, 0, 0, 0) for r in rows[1:])
    assert roll_up(twilio_app) == 0  # nothing new settled
    # A day later, one more date has settled: A's and B's day 6 (2 sent, 1 delivered).
    assert roll_up(twilio_app, TODAY + dt.timedelta(days=1)) == 1
    assert written_days(twilio_app)[-1] == (day(6), 2, 1, 0, 0, 0)
    # The command the clock runs hourly, by hand: safe to run again.
    result = twilio_app.test_cli_runner().invoke(args=["roll-up"])
    assert result.exit_code == 0 and "Wrote the counts of 0 days" in result.output


def test_roll_up_of_nothing(twilio_app):
    assert roll_up(twilio_app) == 0
    assert written_days(twilio_app) == []


@pytest.mark.parametrize("days", adherence.RANGES)
def test_dashboard_the_same_from_written_days(twilio_app, clinic, days):
    counted = figures(twilio_app, days)
    roll_up(twilio_app, TODAY + dt.timedelta(days=3))  # settles days 4-6 too
    written = figures(twilio_app, days)

    def plain(f: adherence.Dashboard) -> tuple:
        return (f.subscribers, f.sent, f.delivered, f.done, f.opt_outs, f.average_pain,
                [(p.id, d) for p, d in f.quiet], f.quiet_total)  # fmt: skip

    assert plain(written) == plain(counted)
    # Written, the rows are what the dashboard adds: changing one shows on the page.
    with twilio_app.app_context():
        db.session.execute(
            db.update(DailyFigure).where(DailyFigure.local_date == day(6)).values(sent=100)
        )
        db.session.commit()
    assert figures(twilio_app, days).sent == counted.sent - 2 + 100


def test_dashboard_page(staff_client, twilio_app, clinic):
    page = staff_client.get("/dashboard?days=7").get_data(as_text=True)
    assert "<dt>Adherence</dt><dd>60%</dd>" in page
    assert 'aria-current="page">Last 7 days' in page
    bad = staff_client.get("/dashboard?days=13").get_data(as_text=True)
    assert 'aria-current="page">Last 30 days' in bad  # an unknown range: the default
    # One way to export: the form, its dates those of the range shown.
    assert page.count('href="/adherence.csv') + page.count('action="/adherence.csv"') == 1
    assert f'name="from" value="{day(6).isoformat()}"' in page


def test_export_per_patient(staff_client, twilio_app, clinic):
    url = f"/adherence.csv?from={day(6).isoformat()}&to={TODAY.isoformat()}"
    response = staff_client.get(url)
    assert response.status_code == 200 and response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    text = response.get_data(as_text=True)
    assert text.startswith("\ufeff")
    rows = list(csv.DictReader(io.StringIO(text.lstrip("\ufeff"))))
    by_phone = {r["phone"]: r for r in rows}
    assert set(by_phone) == {A, B, C, D}
    a, b = by_phone[A], by_phone[B]
    assert (a["days_done"], a["reminders_sent"], a["reminders_delivered"]) == ("5", "7", "7")
    assert (a["adherence_percent"], a["average_pain"], a["last_done"]) == (
        "71",
        "4.0",
        TODAY.isoformat(),
    )
    assert (b["days_done"], b["reminders_delivered"], b["adherence_percent"]) == ("1", "3", "33")
    assert b["name"] == '\'=HYPERLINK("x")'  # never a formula in a spreadsheet
    assert by_phone[D]["adherence_percent"] == "" and by_phone[D]["status"] == "invited"


@pytest.mark.parametrize(
    "query", ["from=yesterday", "from=2026-12-10&to=2026-12-01", "from=2024-01-01&to=2026-01-02"]
)
def test_export_refuses_bad_ranges(staff_client, query):
    response = staff_client.get(f"/adherence.csv?{query}")
    assert response.status_code == 400 and b"from" in response.data


def test_export_and_dashboard_need_sign_in(twilio_app):
    client = twilio_app.test_client()
    for url in ("/dashboard", "/adherence.csv"):
        assert "/signin" in client.get(url).location


def test_chart_of_thirty_days(twilio_app, clinic):
    with twilio_app.app_context():
        patient = db.session.get(Patient, clinic[A])
        days = adherence.last_days(db.session, patient, TODAY)
    assert len(days) == 30 and days[-1].date == TODAY
    assert [d.label for d in days[-7:]] == [
        "missed",
        "missed",
        "done",
        "done",
        "done, pain 6/10",
        "done, pain 4/10",
        "done, pain 2/10",
    ]
    assert days[0].label == "no reminder"
    drawn = adherence.chart(days)
    assert [c["state"] for c in drawn.cells].count("done") == 5
    assert len(drawn.pain_dots) == 3 and drawn.pain_points.count(",") == 3
    # Pain 6 is drawn higher than pain 2 (SVG's y grows downwards).
    assert drawn.pain_dots[0]["cy"] < drawn.pain_dots[2]["cy"]


def test_patient_page_shows_the_chart_with_text_alternatives(staff_client, twilio_app):
    patient_id = subscribe(twilio_app, A)
    with twilio_app.app_context():
        db.session.add(
            AdherenceDay(patient_id=patient_id, local_date=dt.datetime.now(NY).date(),
                         done_at=dt.datetime.now(dt.UTC), pain=3)
        )  # fmt: skip
        db.session.commit()
    page = staff_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert '<svg viewBox="0 0 660 118"' in page and 'role="img"' in page
    assert '<title id="chart-title">Last 30 days: 1 done</title>' in page
    assert "done, pain 3/10" in page and "The 30 days as a table" in page


def test_patients_list_gains_last_text_last_done_and_14_days(staff_client, twilio_app):
    patient_id = subscribe(twilio_app, A)
    today = dt.datetime.now(NY).date()
    with twilio_app.app_context():
        for n in (0, 1, 13, 14):  # 14 days ago is outside the last 14
            db.session.add(
                AdherenceDay(patient_id=patient_id, local_date=today - dt.timedelta(days=n),
                             done_at=ENROLLED)
            )  # fmt: skip
        db.session.add(
            Message(phone=A, direction="in", body="hi", kind="menu",
                    created_at=dt.datetime(2026, 11, 20, 21, 51, tzinfo=dt.UTC))
        )  # fmt: skip
        db.session.commit()
    page = staff_client.get("/patients").get_data(as_text=True)
    assert "3 of 14 days" in page
    assert "Nov 20, 2026, 4:51 PM EST" in page
    assert today.strftime("%b %d") in page


def _days(pattern: str, pains: dict[int, int] | None = None) -> list:
    """Days ending on a fixed date, oldest first: "D" done with a reminder, "d" done
    without one, "m" missed (a reminder, no DONE), "." no reminder."""
    from bot.reminders.adherence import Day

    end = dt.date(2026, 3, 31)
    pains = pains or {}
    count = len(pattern)
    return [
        Day(end - dt.timedelta(days=count - 1 - i), c in "Dd", c in "Dm", pains.get(i))
        for i, c in enumerate(pattern)
    ]


def test_a_therapists_figures_over_7_and_30_days():
    from bot.reminders.adherence import streak, stretch

    days = _days("." * 16 + "DDmDDmD" + "DDmDDDd", {20: 7, 23: 6, 27: 4, 29: 3})
    week, month = stretch(days, 7), stretch(days, 30)
    assert (week.done, week.reminded, week.average_pain) == (6, 6, 4.3)
    assert week.adherence == 1.0  # 6 of 6, the DONE without a reminder not above 100%
    assert (month.done, month.reminded) == (11, 13)
    assert month.adherence == pytest.approx(11 / 13)
    assert month.average_pain == 5.0
    assert streak(days) == 4  # DDDd at the end
    assert streak(days[:-1]) == 3  # today not done yet: counted to yesterday
    assert streak(_days("DDm")) == 2  # today (m) may still come
    assert streak(_days("DDm.")) == 0 and streak(_days("")) == 0
    # More DONEs than reminders never reads above 100%.
    assert stretch(_days("ddddddD"), 7).adherence == 1.0


def test_the_patient_page_shows_the_figures_and_dated_axis(staff_client, twilio_app):
    from bot.models import AdherenceDay, local_date, utcnow

    patient_id = subscribe(twilio_app, "+12025550168", name="Dee Figures")
    with twilio_app.app_context():
        today = local_date(utcnow(), "America/New_York")
        for back, pain in ((0, 4), (1, 6), (2, None)):
            day = today - dt.timedelta(days=back)
            db.session.add(
                AdherenceDay(patient_id=patient_id, local_date=day, done_at=utcnow(), pain=pain)
            )
        db.session.commit()
    page = staff_client.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "<strong>3 days in a row</strong> with a DONE." in page
    cells = r'<td data-label="Last 7 days">{}</td><td data-label="Last 30 days">{}</td>'
    assert re.search(r'<th scope="row">Days done</th>' + cells.format(3, 3), page)
    assert re.search(r'<th scope="row">Average pain</th>' + cells.format("5.0/10", "5.0/10"), page)
    assert re.search(r'<th scope="row">Adherence</th>' + cells.format("-", "-"), page)  # none sent
    label = today.strftime("%b %d").replace(" 0", " ")
    assert f'text-anchor="middle" fill="#52606d">{label}</text>' in page  # today on the axis
