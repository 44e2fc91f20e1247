"""A therapist's caseload: every patient getting reminders (subscribed or paused), with the
last 7 days' adherence and pain and the last DONE, those who need a look first: reminders
paused for pain (only staff lift that pause), then no DONE in 3 days.

The days are the clinic's (``today`` in its time zone): a patient far west may be a day
behind at night, which moves no one across the 3-day line for long.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, delete, func, insert, literal, or_, select
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
    days, sent = _counts(first, today)
    done_7 = func.coalesce(days.c.done, 0)
    reminded_7 = func.coalesce(sent.c.sent, 0)
    pain_total = func.coalesce(days.c.pain_total, 0)
    pain_count = func.coalesce(days.c.pain_count, 0)
    last_7 = days.c.last
    if rolled:  # the settled days' counts, written by the clock, and the live days'
        figures = CaseloadFigure
        done_7 = done_7 + func.coalesce(figures.done, 0)
        reminded_7 = reminded_7 + func.coalesce(figures.sent, 0)
        pain_total = pain_total + func.coalesce(figures.pain_total, 0)
        pain_count = pain_count + func.coalesce(figures.pain_count, 0)
        last_7 = func.coalesce(last_7, figures.last_done)  # a live day is the later
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
        .outerjoin(days, days.c.patient_id == Patient.id)
        .outerjoin(sent, sent.c.patient_id == Patient.id)
        .where(status.in_(("subscribed", "paused")))
    )
    if rolled:
        base = base.outerjoin(CaseloadFigure, CaseloadFigure.patient_id == Patient.id)
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
    days, sent = _counts(today - dt.timedelta(days=6), through)
    rows = (
        select(
            Patient.id,
            literal(through),
            func.coalesce(days.c.done, 0),
            func.coalesce(sent.c.sent, 0),
            func.coalesce(days.c.pain_total, 0),
            func.coalesce(days.c.pain_count, 0),
            days.c.last,
        )  # fmt: skip
        .outerjoin(days, days.c.patient_id == Patient.id)
        .outerjoin(sent, sent.c.patient_id == Patient.id)
        .where(Patient.removed_at.is_(None))
    )
    session.execute(delete(CaseloadFigure))
    columns = ["patient_id", "through", "done", "sent", "pain_total", "pain_count", "last_done"]
    session.execute(insert(CaseloadFigure).from_select(columns, rows))
    return session.scalar(select(func.count()).select_from(CaseloadFigure))


def _counts(first: dt.date, last: dt.date):
    """Each patient's days done (with their pain scores' sum and how many, and the last
    day) and reminders sent, from ``first`` to ``last``: two subqueries, each read from an
    index alone."""
    days = (
        select(
            AdherenceDay.patient_id.label("patient_id"),
            func.count().label("done"),
            func.coalesce(func.sum(AdherenceDay.pain), 0).label("pain_total"),
            func.count(AdherenceDay.pain).label("pain_count"),
            func.max(AdherenceDay.local_date).label("last"),
        )
        .where(AdherenceDay.local_date >= first, AdherenceDay.local_date <= last)
        .group_by(AdherenceDay.patient_id)
        .subquery()
    )
    sent = (
        select(ReminderDelivery.patient_id.label("patient_id"), func.count().label("sent"))
        .where(
            ReminderDelivery.local_date >= first,
            ReminderDelivery.local_date <= last,
            ReminderDelivery.status == "sent",
        )  # fmt: skip
        .group_by(ReminderDelivery.patient_id)
        .subquery()
    )
    return days, sent
