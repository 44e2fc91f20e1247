"""A therapist's caseload: every patient getting reminders (subscribed or paused), with the
last 7 days' adherence and pain and the last DONE, those who need a look first: reminders
paused for pain (only staff lift that pause), then no DONE in 3 days.

The days are the clinic's (``today`` in its time zone): a patient far west may be a day
behind at night, which moves no one across the 3-day line for long.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, replace

from sqlalchemy import and_, case, func, literal, or_, select
from sqlalchemy.orm import Session

from bot.models import AdherenceDay, Patient, ReminderDelivery, ScheduleChange
from bot.patients.records import status_expression
from bot.reminders.checkins import PAIN_PAUSE_DETAIL

PAGE = 50
QUIET_DAYS = 3  # no DONE in this many days: on top, after the pain pauses
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
    days = (
        select(
            AdherenceDay.patient_id.label("patient_id"),
            func.count().label("done_7"),
            func.avg(AdherenceDay.pain).label("pain_7"),
            func.max(AdherenceDay.local_date).label("last_7"),
        )
        .where(AdherenceDay.local_date >= week, AdherenceDay.local_date <= today)
        .group_by(AdherenceDay.patient_id)
        .subquery()
    )
    sent = (
        select(ReminderDelivery.patient_id.label("patient_id"), func.count().label("reminded_7"))
        .where(
            ReminderDelivery.local_date >= week,
            ReminderDelivery.local_date <= today,
            ReminderDelivery.status == "sent",
        )  # fmt: skip
        .group_by(ReminderDelivery.patient_id)
        .subquery()
    )
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
    last_7 = days.c.last_7
    quiet = and_(
        Patient.paused.is_(False),
        or_(last_7.is_(None), last_7 <= today - dt.timedelta(days=QUIET_DAYS)),
    )
    done_7 = func.coalesce(days.c.done_7, 0)
    reminded_7 = func.coalesce(sent.c.reminded_7, 0)
    adherence = case((reminded_7 > 0, done_7 * literal(1.0) / reminded_7), else_=None)
    rank = case((pain_pause, 0), (quiet, 1), else_=2)
    order = {
        "attention": [rank, adherence.asc().nulls_first(), Patient.search_name],
        "adherence": [adherence.asc().nulls_first(), Patient.search_name],
        "last_done": [last_7.asc().nulls_first(), Patient.search_name],
        "pain": [days.c.pain_7.desc().nulls_last(), Patient.search_name],
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
        select(Patient.id, status, pain_pause, quiet, done_7, reminded_7, days.c.pain_7, *counts)
        .outerjoin(days, days.c.patient_id == Patient.id)
        .outerjoin(sent, sent.c.patient_id == Patient.id)
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
