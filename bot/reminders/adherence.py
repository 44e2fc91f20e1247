"""Who does the exercises: the figures of the patients list, a patient's last 30 days (an
SVG chart drawn on the server), the dashboard and the CSV export.

Definitions, the same on every page:
- a day done: the patient texted DONE (with or without a reminder that day), one per
  patient per local date (``adherence_days``);
- a reminder sent: Twilio accepted it; delivered: the carrier confirmed it (Twilio's status
  callback, which needs ``PUBLIC_BASE_URL``, kept on the reminder's row);
- adherence: days done / reminders delivered, at most 100%.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from dataclasses import dataclass, field
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from bot.models import (
    AdherenceDay,
    ConsentEvent,
    DailyFigure,
    Patient,
    ReminderDelivery,
    local_date,
)
from bot.patients.records import status_expression
from bot.text import safe_cell

DELIVERED = ("delivered", "read")
RANGES = (7, 30, 90)
QUIET_DAYS = 3  # no DONE in this many days: listed on the dashboard


def ratio(done: int, delivered: int) -> float | None:
    return min(1.0, done / delivered) if delivered else None


# --- the patients list ---------------------------------------------------------------------


@dataclass(frozen=True)
class Summary:
    last_text: dt.datetime | None = None
    last_done: dt.date | None = None
    done_14: int = 0  # days done in the last 14 days


def summaries(session: Session, patients: list[Patient], today: dt.date) -> dict[int, Summary]:
    """For a page of patients: their last text, last DONE and days done of the last 14."""
    if not patients:
        return {}
    ids = [p.id for p in patients]
    since = today - dt.timedelta(days=13)
    days = {
        pid: (last, count)
        for pid, last, count in session.execute(
            select(
                AdherenceDay.patient_id,
                func.max(AdherenceDay.local_date),
                func.count().filter(AdherenceDay.local_date >= since),
            )
            .where(AdherenceDay.patient_id.in_(ids))
            .group_by(AdherenceDay.patient_id)
        )
    }
    result = {}
    for p in patients:
        last, count = days.get(p.id, (None, 0))
        result[p.id] = Summary(p.last_text_at, last, count)
    return result


# --- one patient's 30 days -------------------------------------------------------------------


@dataclass(frozen=True)
class Day:
    date: dt.date
    done: bool
    reminded: bool  # a reminder was sent that day
    pain: int | None

    @property
    def label(self) -> str:
        what = "done" if self.done else "missed" if self.reminded else "no reminder"
        return what + (f", pain {self.pain}/10" if self.pain is not None else "")


def last_days(session: Session, patient: Patient, today: dt.date, count: int = 30) -> list[Day]:
    first = today - dt.timedelta(days=count - 1)
    done = {
        d: pain
        for d, pain in session.execute(
            select(AdherenceDay.local_date, AdherenceDay.pain).where(
                AdherenceDay.patient_id == patient.id, AdherenceDay.local_date >= first
            )
        )
    }
    reminded = set(
        session.scalars(
            select(ReminderDelivery.local_date).where(
                ReminderDelivery.patient_id == patient.id,
                ReminderDelivery.local_date >= first,
                ReminderDelivery.status == "sent",
            )
        )
    )
    return [
        Day(d, d in done, d in reminded, done.get(d))
        for d in (first + dt.timedelta(days=i) for i in range(count))
    ]


@dataclass(frozen=True)
class Stretch:
    """A patient's last ``days`` days, for a therapist: days done, reminders sent, adherence
    (done / sent, at most 100%; None without a reminder), the average pain scored."""

    days: int
    done: int
    reminded: int
    adherence: float | None
    average_pain: float | None


def stretch(days: list[Day], count: int) -> Stretch:
    """The figures of the last ``count`` of ``days`` (oldest first, ending today)."""
    last = days[-count:]
    done = sum(d.done for d in last)
    reminded = sum(d.reminded for d in last)
    pains = [d.pain for d in last if d.pain is not None]
    average = round(sum(pains) / len(pains), 1) if pains else None
    return Stretch(count, done, reminded, ratio(done, reminded), average)


def streak(days: list[Day]) -> int:
    """Days done in a row, ending today, or yesterday while today is not done yet."""
    run = list(reversed(days))
    if run and not run[0].done:
        run = run[1:]
    count = 0
    for day in run:
        if not day.done:
            break
        count += 1
    return count


@dataclass(frozen=True)
class Chart:
    """The 30 days as SVG parts: one square a day, the pain line above."""

    days: list[Day]
    width: int = 0
    height: int = 120
    cells: list[dict] = field(default_factory=list)
    pain_points: str = ""
    pain_dots: list[dict] = field(default_factory=list)
    ticks: list[dict] = field(default_factory=list)  # the date axis: a date a week
    week: Stretch | None = None
    month: Stretch | None = None
    streak: int = 0


CELL, GAP, TOP, PAIN_HEIGHT = 18, 4, 8, 60


def chart(days: list[Day]) -> Chart:
    cells, dots, points = [], [], []
    for i, day in enumerate(days):
        x = i * (CELL + GAP)
        state = "done" if day.done else "missed" if day.reminded else "none"
        cells.append({"x": x, "y": TOP + PAIN_HEIGHT + 12, "state": state, "day": day})
        if day.pain is not None:
            y = TOP + PAIN_HEIGHT - day.pain * PAIN_HEIGHT / 10
            points.append(f"{x + CELL / 2:.0f},{y:.0f}")
            dots.append({"cx": x + CELL / 2, "cy": round(y), "day": day})
    width = len(days) * (CELL + GAP)
    below = TOP + PAIN_HEIGHT + 12 + CELL + 14  # the dates under the squares
    ticks = [  # every seventh day back from today, today included
        {
            "x": cells[i]["x"] + CELL / 2,
            "y": below,
            "label": days[i].date.strftime("%b %d").replace(" 0", " "),
        }
        for i in range(len(days) - 1, -1, -7)
    ]
    return Chart(
        days, width, below + 6, cells, " ".join(points), dots, ticks,
        stretch(days, 7), stretch(days, 30), streak(days),
    )  # fmt: skip


# --- the dashboard ---------------------------------------------------------------------------


# --- the counts of each day ------------------------------------------------------------------

# A local date's counts are final this many days after it: the carriers' delivery receipts
# (Twilio posts them within hours, at most 72) and DONEs texted late where a patient lives
# further west are in. Settled days are added up once into ``daily_figures``.
SETTLED_DAYS = 7


@dataclass(frozen=True)
class Figures:
    sent: int = 0
    delivered: int = 0
    done: int = 0
    pain_total: int = 0
    pain_count: int = 0

    def __add__(self, other: Figures) -> Figures:
        return Figures(*(a + b for a, b in zip(self.astuple(), other.astuple(), strict=True)))

    def astuple(self) -> tuple[int, ...]:
        return (self.sent, self.delivered, self.done, self.pain_total, self.pain_count)


def reminders_sent(by, first: dt.date, last: dt.date):
    """(``by``, reminders sent, of them delivered) for local dates ``first``..``last``."""
    return (
        select(
            by,
            func.count(),
            func.count().filter(ReminderDelivery.delivery_status.in_(DELIVERED)),
        )
        .where(
            ReminderDelivery.status == "sent",
            ReminderDelivery.local_date >= first,
            ReminderDelivery.local_date <= last,
        )
        .group_by(by)
    )


def count_days(session: Session, first: dt.date, last: dt.date) -> dict[dt.date, Figures]:
    """Each local date's counts from the reminders and DONEs themselves (dates with none
    are left out)."""
    reminders = session.execute(reminders_sent(ReminderDelivery.local_date, first, last))
    days = {d: Figures(sent, delivered) for d, sent, delivered in reminders}
    answers = session.execute(
        select(
            AdherenceDay.local_date,
            func.count(),
            func.coalesce(func.sum(AdherenceDay.pain), 0),
            func.count(AdherenceDay.pain),
        )
        .where(AdherenceDay.local_date >= first, AdherenceDay.local_date <= last)
        .group_by(AdherenceDay.local_date)
    )
    for d, done, pain_total, pain_count in answers:
        days[d] = days.get(d, Figures()) + Figures(0, 0, done, int(pain_total), pain_count)
    return days


def roll_up(session: Session, today: dt.date) -> int:
    """Write the counts of every settled local date not written yet, from the first date
    with a reminder or a DONE, one row a date (zeros too) so that the written dates have no
    gap; return how many were written. Safe to run at any time and twice at once (a date
    already written is left as it is). The caller commits."""
    until = today - dt.timedelta(days=SETTLED_DAYS)
    last = session.scalar(select(func.max(DailyFigure.local_date)))
    if last is not None:
        first = last + dt.timedelta(days=1)
    else:
        starts = [
            session.scalar(select(func.min(ReminderDelivery.local_date))),
            session.scalar(select(func.min(AdherenceDay.local_date))),
        ]
        if not any(starts):
            return 0
        first = min(d for d in starts if d)
    if first > until:
        return 0
    counted = count_days(session, first, until)
    now = dt.datetime.now(dt.UTC)
    rows = []
    for i in range((until - first).days + 1):
        date = first + dt.timedelta(days=i)
        figures = counted.get(date, Figures())
        rows.append(
            {"local_date": date, "sent": figures.sent, "delivered": figures.delivered,
             "done": figures.done, "pain_total": figures.pain_total,
             "pain_count": figures.pain_count, "computed_at": now}
        )  # fmt: skip
    dialect = postgresql if session.get_bind().dialect.name == "postgresql" else sqlite
    table = DailyFigure.__table__
    session.execute(
        dialect.insert(table)
        .values(rows)
        .on_conflict_do_nothing(index_elements=[table.c.local_date])
    )
    return len(rows)


def figures_between(session: Session, first: dt.date, last: dt.date) -> Figures:
    """The counts of local dates ``first``..``last``: the written rows of settled dates,
    the rest counted from the reminders and DONEs."""
    written = DailyFigure.local_date.between(first, last)
    until, *sums = session.execute(
        select(
            func.max(DailyFigure.local_date),
            func.coalesce(func.sum(DailyFigure.sent), 0),
            func.coalesce(func.sum(DailyFigure.delivered), 0),
            func.coalesce(func.sum(DailyFigure.done), 0),
            func.coalesce(func.sum(DailyFigure.pain_total), 0),
            func.coalesce(func.sum(DailyFigure.pain_count), 0),
        ).where(written)
    ).one()
    figures = Figures(*(int(n) for n in sums))
    # Written dates have no gap and start at the first date with data: the dates after
    # the last written one are counted.
    live_first = until + dt.timedelta(days=1) if until is not None else first
    for day in count_days(session, live_first, last).values():
        figures += day
    return figures


# --- the dashboard ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Dashboard:
    days: int
    first: dt.date
    last: dt.date
    subscribers: int
    sent: int
    delivered: int
    done: int
    opt_outs: int
    average_pain: float | None
    quiet: list[tuple[Patient, dt.date | None]]
    quiet_total: int

    @property
    def adherence(self) -> float | None:
        return ratio(self.done, self.delivered)


def dashboard(
    session: Session, days: int, now: dt.datetime, zone: str, limit: int = 50
) -> Dashboard:
    """The clinic's figures over the last ``days`` local dates (the clinic's time zone)."""
    today = local_date(now, zone)
    first = today - dt.timedelta(days=days - 1)
    start = dt.datetime.combine(first, dt.time(0), tzinfo=ZoneInfo(zone))
    subscribers = session.scalar(
        select(func.count())
        .select_from(Patient)
        .where(status_expression() == "subscribed", Patient.number_invalid.is_(False))
    )
    figures = figures_between(session, first, today)
    pain = figures.pain_total / figures.pain_count if figures.pain_count else None
    opt_outs = session.scalar(
        select(func.count()).where(
            ConsentEvent.action == "opt_out", ConsentEvent.created_at >= start
        )
    )
    # Subscribers with no DONE since: one pass over the recent days (a hashed NOT IN),
    # then each listed patient's last DONE.
    quiet_since = today - dt.timedelta(days=QUIET_DAYS - 1)
    recent = select(AdherenceDay.patient_id).where(AdherenceDay.local_date >= quiet_since)
    quiet_filter = (
        status_expression() == "subscribed",
        Patient.number_invalid.is_(False),
        Patient.id.not_in(recent),
    )
    last_done = (
        select(func.max(AdherenceDay.local_date))
        .where(AdherenceDay.patient_id == Patient.id)
        .scalar_subquery()
    )
    quiet = session.execute(
        select(Patient, last_done, func.count().over())
        .where(*quiet_filter)
        .order_by(Patient.search_name, Patient.id)
        .limit(limit)
    ).all()
    quiet_total = quiet[0][2] if quiet else 0  # all of them, counted with the first page
    return Dashboard(
        days, first, today, subscribers or 0, figures.sent, figures.delivered, figures.done,
        opt_outs or 0, pain, [(p, d) for p, d, _ in quiet], quiet_total,
    )  # fmt: skip


# --- the export ----------------------------------------------------------------------------

EXPORT_COLUMNS = [
    "name", "phone", "status", "days_done", "reminders_sent", "reminders_delivered",
    "adherence_percent", "average_pain", "last_done",
]  # fmt: skip


def export_csv(session: Session, first: dt.date, last: dt.date) -> str:
    """Adherence per patient for local dates ``first``..``last``, as CSV (UTF-8, with a BOM
    for Excel)."""
    from bot.patients.records import status_from_history

    done = {
        pid: (count, pain, last_done)
        for pid, count, pain, last_done in session.execute(
            select(
                AdherenceDay.patient_id,
                func.count(),
                func.avg(AdherenceDay.pain),
                func.max(AdherenceDay.local_date),
            )
            .where(AdherenceDay.local_date >= first, AdherenceDay.local_date <= last)
            .group_by(AdherenceDay.patient_id)
        )
    }
    reminders = {
        pid: (sent, delivered)
        for pid, sent, delivered in session.execute(
            reminders_sent(ReminderDelivery.patient_id, first, last)
        )
    }
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(EXPORT_COLUMNS)
    rows = session.execute(
        select(Patient, status_from_history())
        .where(Patient.removed_at.is_(None))
        .order_by(Patient.name, Patient.id)
    )
    for patient, status in rows:
        count, pain, last_done = done.get(patient.id, (0, None, None))
        sent, delivered = reminders.get(patient.id, (0, 0))
        share = ratio(count, delivered)
        writer.writerow(
            [
                safe_cell(patient.name), patient.phone, status, count,
                sent, delivered, "" if share is None else round(share * 100),
                "" if pain is None else f"{float(pain):.1f}",
                last_done.isoformat() if last_done else "",
            ]
        )  # fmt: skip
    return "\ufeff" + out.getvalue()
