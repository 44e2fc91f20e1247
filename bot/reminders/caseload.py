"""A therapist's caseload: every patient getting reminders (subscribed or paused), with the
last 7 days' adherence and pain and the last DONE, those who need a look first: reminders
paused for pain (only staff lift that pause), then no DONE in 3 days.

The days are the clinic's (``today`` in its time zone): a patient far west may be a day
behind at night, which moves no one across the 3-day line for long.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, delete, func, insert, literal, null, or_, select, union_all
from sqlalchemy.orm import Session

from bot.models import AdherenceDay, CaseloadFigure, Patient, ReminderDelivery, ScheduleChange
from bot.patients.records import status_expression
from bot.reminders.checkins import PAIN_PAUSE_DETAIL

PAGE = 50
QUIET_DAYS = 3  # no DONE in this many days: on top, after the pain pauses
# The last days counted live on every page; the week's days before them are written per
# patient by the clock (``roll_up``: settled, a reminder's status and a DONE's day no
# longer change), when it has run since the day began; else the whole week is live.
LIVE_DAYS = 2
SORTS = {
    "attention": "Needs a look first",
    "adherence": "Adherence, lowest first",
    "last_done": "Last DONE, longest ago first",
    "pain": "Pain, highest first",
    "name": "Name",
}


@dataclass(frozen=True)
class Row:
    patient: Patient
    status: str  # "subscribed" or "paused"
    pain_pause: bool
    quiet: bool  # no DONE in QUIET_DAYS days (and not paused)
    done_7: int
    reminded_7: int
    pain_7: float | None
    last_done: dt.date | None

    @property
    def adherence(self) -> float | None:
        return min(1.0, self.done_7 / self.reminded_7) if self.reminded_7 else None


@dataclass(frozen=True)
class Caseload:
    rows: list[Row]
    total: int
    pain_pauses: int
    quiet: int
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE))


def caseload(session: Session, today: dt.date, sort: str = "attention", page: int = 1) -> Caseload:
    """A page of the caseload. One pass over the last 7 days' rows (the counts as window
    aggregates of the same statement), then the last DONE of the page's 50 by the index:
    at 10,000 patients a pass over 30 days of DONEs cost 170 ms a page
    (benchmarks/staff_pages.py). Sorting by last DONE orders those with none in 7 days
    first, by name among them."""
    week = today - dt.timedelta(days=6)
    rolled = rolled_through(session) == today - dt.timedelta(days=LIVE_DAYS)
    first = today - dt.timedelta(days=LIVE_DAYS - 1) if rolled else week
    counts_of = _counts(first, today, settled=rolled)
    done_7 = func.coalesce(counts_of.c.done, 0)
    reminded_7 = func.coalesce(counts_of.c.sent, 0)
    pain_total = func.coalesce(counts_of.c.pain_total, 0)
    pain_count = func.coalesce(counts_of.c.pain_count, 0)
    last_7 = counts_of.c.last
    # In floating point: avg() of integers is numeric, slower to add up.
    pain_7 = case((pain_count > 0, pain_total * literal(1.0) / pain_count), else_=None)
    status = status_expression()
    last_pause = (
        select(ScheduleChange.detail)
        .where(
            ScheduleChange.patient_id == Patient.id, ScheduleChange.change.in_(("pause", "resume"))
        )  # fmt: skip
        .order_by(ScheduleChange.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    pain_pause = case((Patient.paused.is_(True), last_pause == PAIN_PAUSE_DETAIL), else_=False)
    quiet = and_(
        Patient.paused.is_(False),
        or_(last_7.is_(None), last_7 <= today - dt.timedelta(days=QUIET_DAYS)),
    )
    adherence = case((reminded_7 > 0, done_7 * literal(1.0) / reminded_7), else_=None)
    rank = case((pain_pause, 0), (quiet, 1), else_=2)
    order = {
        "attention": [rank, adherence.asc().nulls_first(), Patient.search_name],
        "adherence": [adherence.asc().nulls_first(), Patient.search_name],
        "last_done": [last_7.asc().nulls_first(), Patient.search_name],
        "pain": [pain_7.desc().nulls_last(), Patient.search_name],
        "name": [Patient.search_name],
    }[sort if sort in SORTS else "attention"]
    counts = (
        func.count().over(),
        func.sum(case((pain_pause, 1), else_=0)).over(),
        func.sum(case((quiet, 1), else_=0)).over(),
    )
    # Ranked on narrow rows (the id and the figures), then the page's 50 patients loaded:
    # carrying every column of 10,000 patients through the joins, the window and the sort
    # cost a third of the page (benchmarks/staff_pages.py).
    base = (
        select(Patient.id, status, pain_pause, quiet, done_7, reminded_7, pain_7, *counts)
        .outerjoin(counts_of, counts_of.c.patient_id == Patient.id)
        .where(status.in_(("subscribed", "paused")))
    )
    page = max(page, 1)
    found = session.execute(
        base.order_by(*order, Patient.id).offset((page - 1) * PAGE).limit(PAGE)
    ).all()
    total, pauses, quiet_count = found[0][-3:] if found else (0, 0, 0)
    if not found and page > 1:  # past the last page: the counts from the first
        return replace(caseload(session, today, sort, 1), rows=[], page=page)
    ids = [row[0] for row in found]
    patients = {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(ids)))}
    last_done = dict(
        session.execute(
            select(AdherenceDay.patient_id, func.max(AdherenceDay.local_date))
            .where(AdherenceDay.patient_id.in_(ids), AdherenceDay.local_date <= today)
            .group_by(AdherenceDay.patient_id)
        ).all()
    ) if ids else {}  # fmt: skip
    return Caseload(
        [Row(patients[pid], st, bool(pp), bool(q), d, r,
             None if pain is None else round(float(pain), 1), last_done.get(pid))
         for pid, st, pp, q, d, r, pain, *_ in found],
        int(total), int(pauses or 0), int(quiet_count or 0), page,
    )  # fmt: skip


def rolled_through(session: Session) -> dt.date | None:
    """The last day the written counts hold (one for every row), or None."""
    return session.scalar(select(CaseloadFigure.through).limit(1))


def roll_up(session: Session, today: dt.date) -> int:
    """Write each patient's counts of the week's settled days (the 7-day window's days
    before the last LIVE_DAYS), once a day: the clock's hourly job asks, and only the first
    run of a day writes (every patient's row at once, the old ones dropped in the same
    transaction). How many rows were written; the caller commits."""
    through = today - dt.timedelta(days=LIVE_DAYS)
    if rolled_through(session) == through:
        return 0
    counts_of = _counts(today - dt.timedelta(days=6), through)
    rows = (
        select(
            Patient.id,
            literal(through),
            func.coalesce(counts_of.c.done, 0),
            func.coalesce(counts_of.c.sent, 0),
            func.coalesce(counts_of.c.pain_total, 0),
            func.coalesce(counts_of.c.pain_count, 0),
            counts_of.c.last,
        )  # fmt: skip
        .outerjoin(counts_of, counts_of.c.patient_id == Patient.id)
        .where(Patient.removed_at.is_(None))
    )
    session.execute(delete(CaseloadFigure))
    columns = ["patient_id", "through", "done", "sent", "pain_total", "pain_count", "last_done"]
    session.execute(insert(CaseloadFigure).from_select(columns, rows))
    return session.scalar(select(func.count()).select_from(CaseloadFigure))


def _counts(first: dt.date, last: dt.date, settled: bool = False):
    """Each patient's days done (with their pain scores' sum and how many, and the last
    day) and reminders sent, from ``first`` to ``last``, and with ``settled`` the counts
    the clock wrote for the days before: one subquery, one row a patient, summed over one
    list of narrow rows (a DONE's day, a reminder sent, a patient's written counts), each
    part read from an index alone or a small table whole. Two subqueries joined to the
    patients, and the written counts joined as a third, cost a quarter more at 10,000
    patients (benchmarks/staff_pages.py)."""
    parts = [
        select(
            AdherenceDay.patient_id.label("patient_id"),
            literal(1).label("done"),
            literal(0).label("sent"),
            AdherenceDay.pain.label("pain_total"),
            case((AdherenceDay.pain.is_not(None), 1), else_=0).label("pain_count"),
            AdherenceDay.local_date.label("last"),
        ).where(AdherenceDay.local_date >= first, AdherenceDay.local_date <= last),
        select(
            ReminderDelivery.patient_id, literal(0), literal(1), null(), literal(0), null()
        ).where(
            ReminderDelivery.local_date >= first,
            ReminderDelivery.local_date <= last,
            ReminderDelivery.status == "sent",
        ),
    ]
    if settled:
        figures = CaseloadFigure
        parts.append(
            select(figures.patient_id, figures.done, figures.sent, figures.pain_total,
                   figures.pain_count, figures.last_done)
        )  # fmt: skip
    rows = union_all(*parts).subquery()
    return (
        select(
            rows.c.patient_id,
            func.sum(rows.c.done).label("done"),
            func.sum(rows.c.sent).label("sent"),
            func.coalesce(func.sum(rows.c.pain_total), 0).label("pain_total"),
            func.sum(rows.c.pain_count).label("pain_count"),
            func.max(rows.c.last).label("last"),
        )
        .group_by(rows.c.patient_id)
        .subquery()
    )
