"""Patients enrolled for reminders: enrolling, inviting, consent and status.

Functions take a session; the caller owns the transaction. A patient's status is read from
the consent events of the patient's number, so a STOP texted to the webhook and a pause
made by staff can never disagree with a stored status:

- opted out: the number's last opt-out/opt-in by text is an opt-out;
- paused: staff paused the reminders;
- subscribed: the number replied YES (or START) after being invited;
- invited: enrolled, and no YES yet.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

import phonenumbers
from sqlalchemy import and_, case, delete, func, null, or_, select, true, update
from sqlalchemy.orm import Session

from bot.accounts import audit
from bot.content import Content
from bot.models import (
    SMS_CONSENT_ACTIONS,
    AdherenceDay,
    ConsentEvent,
    ImportJob,
    Message,
    Patient,
    PhoneLanguage,
    ReminderDelivery,
    ScheduleChange,
    Thread,
)
from bot.patients.search import search_condition
from bot.replies import PhraseIndex
from bot.sms import quiet_hours
from bot.sms.outgoing import CLAIMED, send_one
from bot.sms.quiet_hours import SendingHours
from bot.sms.sender import Sender, SendResult
from bot.text import normalize

STATUSES = ("invited", "subscribed", "paused", "opted_out")
STATUS_LABELS = {
    "invited": "Invited",
    "subscribed": "Subscribed",
    "paused": "Paused",
    "opted_out": "Opted out",
    "removed": "Removed",
}
LANGUAGES = {"en": "English", "es": "Spanish"}
MOBILE_TYPES = {
    phonenumbers.PhoneNumberType.MOBILE,
    phonenumbers.PhoneNumberType.FIXED_LINE_OR_MOBILE,
}
_TIME = re.compile(r"^\s*(\d{1,2})(?::(\d{2}))?\s*([ap]\.?m\.?)?\s*$", re.I)


class EnrollmentError(ValueError):
    """A field of an enrollment is wrong; ``field`` names it, the message says why."""

    def __init__(self, field: str, message: str):
        super().__init__(message)
        self.field = field


# --- checking what staff type -----------------------------------------------------------


def parse_phone(raw: str, region: str = "US", allowed: frozenset[str] = frozenset({"US"})) -> str:
    """A mobile number in E.164, from any way people write it, in one of the ``allowed``
    countries (``ALLOWED_COUNTRIES``: texts to other countries cost more, and are how toll
    fraud and SMS pumping pay)."""
    text = (raw or "").strip()
    if not text:
        raise EnrollmentError("phone", "Enter the patient's mobile number.")
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException:
        raise EnrollmentError("phone", f"{text!r} is not a phone number.") from None
    if not phonenumbers.is_valid_number(number):
        raise EnrollmentError("phone", f"{text!r} is not a valid phone number.")
    if phonenumbers.number_type(number) not in MOBILE_TYPES:
        raise EnrollmentError(
            "phone",
            f"{text} is not a mobile number (a landline or toll-free number cannot get texts).",
        )
    country = phonenumbers.region_code_for_number(number)
    if country not in allowed:
        # Loaded only here: the geocoder's tables are large, and most numbers never need it.
        from phonenumbers import geocoder

        name = geocoder.country_name_for_number(number, "en") or country
        raise EnrollmentError(
            "phone",
            f"{text} is a number in {name} ({country}): this clinic texts only numbers in "
            f"{', '.join(sorted(allowed))}. An administrator can add the country to "
            "ALLOWED_COUNTRIES.",
        )
    return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)


def invitations_left(session: Session, now: dt.datetime, per_day: int, zone: str) -> int:
    """How many more invitations may go today (the clinic's day): ``INVITATIONS_PER_DAY``
    less those already sent or being sent since midnight."""
    local = now.astimezone(ZoneInfo(zone))
    midnight = local.replace(hour=0, minute=0, second=0, microsecond=0).astimezone(dt.UTC)
    sent = session.scalar(
        select(func.count()).select_from(Message).where(
            Message.kind == "invitation", Message.created_at >= midnight,
            Message.status.not_in(("failed", "not sent")),
        )
    )  # fmt: skip
    return max(0, per_day - (sent or 0))


INVITE_BY_HAND = "the patient's page or 'flask --app bot patients invite'"


def held_for_the_day(per_day: int, how: str = INVITE_BY_HAND) -> str:
    """Why an invitation was not sent today, and how to send it (``how``)."""
    return (
        f"held: today's {per_day} invitations (INVITATIONS_PER_DAY) are sent; send it "
        f"tomorrow from {how}"
    )


def parse_time(raw: str) -> dt.time:
    """ "9:00", "09:00", "9 am", "9:30 PM", "21:30"."""
    match = _TIME.match(raw or "")
    if not match:
        raise EnrollmentError("reminder_time", f"{raw!r} is not a time of day (use HH:MM).")
    hour, minute = int(match.group(1)), int(match.group(2) or 0)
    suffix = (match.group(3) or "").lower().replace(".", "")
    if suffix:
        if not 1 <= hour <= 12:
            raise EnrollmentError("reminder_time", f"{raw!r} is not a time of day.")
        hour = hour % 12 + (12 if suffix == "pm" else 0)
    if hour > 23 or minute > 59:
        raise EnrollmentError("reminder_time", f"{raw!r} is not a time of day.")
    return dt.time(hour, minute)


def parse_timezone(raw: str, default: str) -> str:
    name = (raw or "").strip() or default
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise EnrollmentError(
            "timezone", f"{name!r} is not a time zone such as America/New_York."
        ) from None
    return name


def parse_state(raw: str) -> str | None:
    """An optional US state ("FL", "Florida"): whose sending hours hold for the patient."""
    try:
        return quiet_hours.parse_state(raw)
    except ValueError as exc:
        raise EnrollmentError("state", str(exc)) from None


def parse_language(raw: str) -> str:
    text = normalize(raw or "")
    if text in ("", "en", "english", "ingles"):
        return "en"
    if text in ("es", "spanish", "espanol", "sp"):
        return "es"
    raise EnrollmentError(
        "language", f"{raw!r} is not a language the texts are in (English or Spanish)."
    )


class RoutineMatcher:
    """Exercise names as staff write them (forgiving as patients' texts are) to their ids."""

    def __init__(self, content: Content):
        self.index = PhraseIndex(
            [(a, e.id) for e in content.exercises for a in (*e.aliases, normalize(e.name))]
        )
        self.ids = {e.id for e in content.exercises}

    def match(self, names: list[str]) -> list[str]:
        routine: list[str] = []
        for name in names:
            text = normalize(name)
            if not text:
                continue
            if name.strip() in self.ids:
                found = name.strip()
            else:
                tokens = text.split()
                hits = [h for h in self.index.find(tokens) if h.size == len(tokens)]
                hits = hits or [h for h in self.index.find(tokens)]
                if len({h.key for h in hits}) != 1:
                    raise EnrollmentError(
                        "routine", f"{name.strip()!r} is not one of the clinic's exercises."
                    )
                found = hits[0].key
            if found in routine:
                raise EnrollmentError(
                    "routine", f"{name.strip()!r} is listed twice: list each once."
                )
            routine.append(found)
        if not routine:
            raise EnrollmentError("routine", "Choose at least one exercise for the routine.")
        return routine


@dataclass
class Enrollment:
    name: str
    phone: str
    language: str
    routine: list[str]
    reminder_time: dt.time
    timezone: str
    state: str | None = None  # None: the area code's, else the clinic's (quiet_hours)


def routine_in_order(content: Content, chosen: list[str], numbers: dict[str, str]) -> list[str]:
    """The chosen exercises (ids), in the order of the numbers staff gave them ("1", "2"...),
    unnumbered ones after, ties in the clinic's order. Raises EnrollmentError for none, or
    for one the clinic does not have."""
    order = {e.id: i for i, e in enumerate(content.exercises)}
    names = {e.id: e.name for e in content.exercises}
    if len(set(chosen)) != len(chosen):
        raise EnrollmentError("routine", "An exercise is chosen twice: choose each once.")
    ranks, given = {}, {}
    for exercise_id in chosen:
        if exercise_id not in order:
            raise EnrollmentError("routine", "Choose exercises from the list.")
        raw = (numbers.get(exercise_id) or "").strip()
        if raw and not (raw.isascii() and raw.isdigit() and 1 <= int(raw) <= len(chosen)):
            raise EnrollmentError(
                "routine",
                f"The number of {names[exercise_id]} ({raw!r}) is not a place in the routine: "
                f"number the {len(chosen)} chosen exercises 1 to {len(chosen)}, or leave it empty.",
            )
        if raw and int(raw) in given:
            raise EnrollmentError(
                "routine",
                f"{names[given[int(raw)]]} and {names[exercise_id]} are both number {int(raw)}: "
                "give each its own place.",
            )
        if raw:
            given[int(raw)] = exercise_id
        ranks[exercise_id] = (int(raw) if raw else 99, order[exercise_id])
    routine = sorted(ranks, key=ranks.__getitem__)
    if not routine:
        raise EnrollmentError("routine", "Choose at least one exercise for the routine.")
    return routine


def check_name(raw: str) -> str:
    name = " ".join((raw or "").split())
    if not name:
        raise EnrollmentError("name", "Enter the patient's name.")
    if len(name) > 120:
        raise EnrollmentError("name", "The name is longer than 120 characters.")
    if any(ord(ch) < 0x20 or 0x7F <= ord(ch) < 0xA0 or 0xD800 <= ord(ch) < 0xE000 for ch in name):
        raise EnrollmentError("name", "The name holds a control character: type it again.")
    return name


# --- enrolling ---------------------------------------------------------------------------


def enroll(
    session: Session, enrollment: Enrollment, recorded_by: str, source: str, now: dt.datetime
) -> Patient:
    """Add the patient and record the in-person agreement. Raises EnrollmentError for a
    number already enrolled. On a number a removed patient had: the same person (the same
    name, as searched) comes back on their own record, history and all; anyone else is a
    new person on a new record (a recycled number), which holds only what comes after."""
    records = session.scalars(
        select(Patient).where(Patient.phone == enrollment.phone).order_by(Patient.id.desc())
    ).all()
    existing = next((p for p in records if p.removed_at is None), None)
    if existing is not None:
        raise EnrollmentError("phone", f"{enrollment.phone} is already enrolled ({existing.name}).")
    former = records[0] if records else None
    returning = former is not None and former.search_name == normalize(enrollment.name)[:120]
    patient = former if returning else Patient(phone=enrollment.phone)
    if former is not None and not returning:
        patient.history_from = now
    patient.name = enrollment.name
    patient.language = enrollment.language
    patient.routine = list(enrollment.routine)
    patient.reminder_time = enrollment.reminder_time
    patient.timezone = enrollment.timezone
    patient.state = enrollment.state
    patient.paused = False
    patient.number_invalid = False
    patient.removed_at = None
    patient.enrolled_at = now
    patient.enrolled_by = recorded_by
    session.add(patient)
    session.add(
        ConsentEvent(
            phone=enrollment.phone,
            action="in_person",
            keyword="agreed in person",
            source=source,
            recorded_by=recorded_by,
            created_at=now,
        )
    )
    session.flush()
    if patient.history_from is not None:
        # The insert's trigger copied the number's last text, the former patient's.
        session.execute(update(Patient).where(Patient.id == patient.id).values(last_text_at=None))
    return patient


@dataclass(frozen=True)
class History:
    """What of a number's texts and consents is one patient's record: those from
    ``since`` (the record began on a recycled number; None: from the first) and before
    ``until`` (another person was enrolled on the number since; None: to this day)."""

    phone: str
    since: dt.datetime | None = None
    until: dt.datetime | None = None

    def holds(self, created_at):
        """SQL condition: a row of the number (by its creation time) is of this record."""
        bounds = [created_at >= self.since] if self.since else []
        bounds += [created_at < self.until] if self.until else []
        return and_(*bounds) if bounds else true()

    @property
    def number_still_theirs(self) -> bool:
        return self.until is None


def history(session: Session, patient: Patient) -> History:
    until = session.scalar(
        select(func.min(Patient.history_from)).where(
            Patient.phone == patient.phone, Patient.id > patient.id
        )
    )
    return History(patient.phone, patient.history_from, until)


def number_history(phone: str, patient: Patient | None) -> History:
    """The number's texts as an inbox thread shows them: those of ``patient``, enrolled on
    it now (a new person on a recycled number sees none of the former patient's)."""
    return History(phone, patient.history_from if patient else None)


def invitation_text(content: Content, patient: Patient) -> str:
    return content.say("invitation", patient.language, time=readable_time(patient.reminder_time))


def readable_phone(number: str | None) -> str:
    """A number as people read it: (703) 555-0143 in the US, +44 20 7183 8750 elsewhere."""
    try:
        parsed = phonenumbers.parse(number or "")
    except phonenumbers.NumberParseException:
        return number or ""
    style = (
        phonenumbers.PhoneNumberFormat.NATIONAL
        if parsed.country_code == 1
        else phonenumbers.PhoneNumberFormat.INTERNATIONAL
    )
    return phonenumbers.format_number(parsed, style)


def readable_time(t: dt.time) -> str:
    hour = t.hour % 12 or 12
    return f"{hour}:{t.minute:02d} {'AM' if t.hour < 12 else 'PM'}"


def opted_out_numbers(session: Session, phones: list[str], chunk: int = 500) -> set[str]:
    """Of these numbers, those whose last opt-in/opt-out by text is an opt-out."""
    result: set[str] = set()
    for start in range(0, len(phones), chunk):
        rows = session.execute(
            select(ConsentEvent.phone, ConsentEvent.action)
            .where(
                ConsentEvent.phone.in_(phones[start : start + chunk]),
                ConsentEvent.action.in_(SMS_CONSENT_ACTIONS),
            )
            .order_by(ConsentEvent.id)
        ).all()
        last = dict(rows)  # in id order: the last action of each number wins
        result |= {phone for phone, action in last.items() if action == "opt_out"}
    return result


def within_sending_hours(now: dt.datetime, patient, hours: SendingHours) -> bool:
    """Whether it is within the sending hours where the patient is (the clinic's
    REMINDER_WINDOW, and the patient's state's law where stricter): no text the app starts
    itself, reminder or invitation, goes out at night."""
    return hours.open_at(now, patient.timezone, patient.phone, patient.state)


def names_of(session: Session, ids: list[int]) -> dict[int, str]:
    """The names of these patients, by id (a removed one's too; a deleted one's is
    DELETED_NAME)."""
    found: dict[int, str] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        found.update(
            session.execute(select(Patient.id, Patient.name).where(Patient.id.in_(chunk))).all()
        )
    return found


def held_for_the_night(
    hours: SendingHours | None = None, patient=None, how: str = "the patient's page"
) -> str:
    """Why an invitation was not sent, and how to send it (``how``: the patient's page, or
    the import's button)."""
    where = "where the patient is"
    if hours is not None and patient is not None:
        where = f"{hours.describe(patient.phone, patient.state)}, where the patient is"
    return f"held: outside sending hours ({where}); send it during the day with {how}"


def not_the_clinics_own(phone: str, own: list[str | None]) -> str:
    """The number, unless it is one of the clinic's own (its texting number, the number on
    its page, as written anywhere: E.164 or not): texting the clinic from itself would
    loop, and no patient has it."""
    for number in own:
        try:
            same = number and phonenumbers.parse(number, "US") == phonenumbers.parse(phone, "US")
        except phonenumbers.NumberParseException:
            same = False
        if same:
            raise EnrollmentError(
                "phone", "That is the clinic's own number: enter the patient's mobile."
            )
    return phone


def arrives_at(at: dt.time, phone: str, state: str | None, hours: SendingHours) -> dt.time | None:
    """When a daily time before the sending hours open will really arrive (their opening);
    None: it goes at the time chosen."""
    start, _ = hours.usual(phone, state)
    return start if at < start else None


def time_allowed(at: dt.time, phone: str, state: str | None, hours: SendingHours) -> None:
    """The daily time is before the sending hours close where the patient is, on most
    days: a time after would never be sent. Raises EnrollmentError saying the hours."""
    _, end = hours.usual(phone, state)
    if end != dt.time.max and at >= end:
        raise EnrollmentError(
            "reminder_time",
            f"Texts to this patient go out only {hours.describe(phone, state)}: choose a "
            f"time before {readable_time(end)}.",
        )


def _invitations_of_record():
    """SQL condition on Message: an invitation to the patient's number since the record
    began (one to a former patient of a recycled number is not this patient's)."""
    return and_(
        Message.phone == Patient.phone,
        Message.kind == "invitation",
        or_(Patient.history_from.is_(None), Message.created_at >= Patient.history_from),
    )


def never_invited_filter():
    """SQL condition: no invitation to the patient was accepted by Twilio, nor is one
    claimed (being sent, or sent by a process that died before recording Twilio's
    answer: reconciled with Twilio before the number is invited again)."""
    return ~select(Message.id).where(_invitations_of_record(), _invitation_counted()).exists()


def _invitation_counted():
    """SQL condition on an invitation's Message: accepted by Twilio, or claimed."""
    return or_(Message.message_sid.is_not(None), Message.status == CLAIMED)


def never_invited(session: Session, patient: Patient) -> bool:
    """No invitation to this number was ever accepted by Twilio (nor is one claimed)."""
    return bool(session.scalar(select(never_invited_filter()).where(Patient.id == patient.id)))


def send_to_patient(
    session: Session, sender: Sender, patient: Patient, body: str, kind: str, now: dt.datetime
) -> SendResult | None:
    """Send one text, claimed before it is sent (this commits the claim) and recorded with
    Twilio's answer; None when the number must not be texted (opted out, invalid, removed).
    The caller commits the answer."""
    if patient.removed_at or patient.number_invalid:
        return None
    if opted_out_numbers(session, [patient.phone]):
        return None
    return send_one(session, sender, patient.phone, body, kind, now, patient.id)


DELETED_NAME = "Deleted patient"


def delete_patient_data(
    session: Session, patient: Patient, actor: str, address: str | None, now: dt.datetime
) -> str:
    """Delete what the clinic holds of a patient, on the patient's request; the caller
    commits, so it is all or nothing. Gone: every text to or from the number (questions,
    replies, invitations, reminders, staff's), the text and number of every daily reminder,
    the days done with their pain scores, the changes to the reminders, the inbox thread,
    the number's language, any import waiting for a confirmation, the name and routine; on
    a recycled number, of the texts only those of this patient's record (``history``), and
    the thread and the language only while the number is still theirs.
    Kept, as the law requires: the consent history (when the number
    agreed, opted out or back in: proof that it is not texted without consent; the
    patient's row keeps the number, which links the patient to that proof), the row of
    each day's reminder without its text (so nothing is sent twice that day), and the
    audit line this writes (who deleted, when, from where). The patient is removed: no
    more reminders. What was done is returned, as written in the audit line."""
    phone, record = patient.phone, history(session, patient)
    texts = session.execute(
        delete(Message).where(Message.phone == phone, record.holds(Message.created_at))
    ).rowcount
    reminders = session.execute(
        update(ReminderDelivery)
        .where(ReminderDelivery.patient_id == patient.id)
        .values(body="", phone="", note=None)
    ).rowcount
    # Health data: the days done with their pain scores, the changes to the reminders
    # (a pain pause says why), the inbox thread, the number's language.
    days = session.execute(delete(AdherenceDay).where(AdherenceDay.patient_id == patient.id))
    session.execute(delete(ScheduleChange).where(ScheduleChange.patient_id == patient.id))
    if record.number_still_theirs:  # else the thread and the language are the new person's
        session.execute(delete(Thread).where(Thread.phone == phone))
        session.execute(delete(PhoneLanguage).where(PhoneLanguage.phone == phone))
    # Uploads waiting for a confirmation may hold the patient's row: dropped (staff upload
    # the file again); the dashboard's daily figures are counts without anyone in them.
    previews = session.execute(
        update(ImportJob).where(ImportJob.status == "preview").values(
            status="cancelled", upload=None, report=None
        )
    ).rowcount  # fmt: skip
    patient.name = DELETED_NAME
    patient.routine = []
    patient.last_text_at = None
    patient.removed_at = patient.removed_at or now
    detail = (
        f"deleted {texts} texts, {days.rowcount} days done with their pain scores, the "
        f"reminders' changes, the thread and the name; blanked {reminders} "
        f"daily reminders; cancelled {previews} unconfirmed imports; consent history kept"
    )
    audit.record(session, actor, "delete_patient_data", address, patient.id, detail, now)
    return detail


# --- status --------------------------------------------------------------------------------


def _last_sms_consent(column):
    return (
        select(column)
        .where(ConsentEvent.phone == Patient.phone, ConsentEvent.action.in_(SMS_CONSENT_ACTIONS))
        .order_by(ConsentEvent.id.desc())
        .limit(1)
        .scalar_subquery()
    )


def subscribed_filter():
    """SQL condition for patients who get reminders: subscribed as the consent history says
    (``status_from_history`` == "subscribed", spelled as conditions the database can plan
    with), and the number valid."""
    return and_(
        Patient.removed_at.is_(None),
        Patient.paused.is_(False),
        Patient.number_invalid.is_(False),
        _last_sms_consent(ConsentEvent.action) == "opt_in",
        _last_sms_consent(ConsentEvent.created_at) >= Patient.enrolled_at,
    )


def status_expression(last_action=None, last_at=None):
    """The patient's status as SQL (removed, opted_out, paused, subscribed, invited): the one
    rule. By default it reads the copy of the number's last opt-in or opt-out on the patient
    row (kept by triggers, migration 0012), so that pages filter and count thousands of
    patients from one table; ``status_from_history`` reads the same rule from the consent
    events themselves."""
    last_action = Patient.sms_consent if last_action is None else last_action
    last_at = Patient.sms_consent_at if last_at is None else last_at
    return case(
        (Patient.removed_at.is_not(None), "removed"),
        (last_action == "opt_out", "opted_out"),
        (Patient.paused.is_(True), "paused"),
        (and_(last_action == "opt_in", last_at >= Patient.enrolled_at), "subscribed"),
        else_="invited",
    )


def status_from_history():
    """The status as the consent history says it (what the copy must always agree with)."""
    return status_expression(
        _last_sms_consent(ConsentEvent.action), _last_sms_consent(ConsentEvent.created_at)
    )


def last_invitation():
    return select(func.max(Message.created_at)).where(_invitations_of_record()).scalar_subquery()


PAGE = 50
SORTS = {"name": "Name", "last_text": "Last text"}


@dataclass(frozen=True)
class PatientPage:
    rows: list  # (Patient, status, last invitation)
    total: int  # matching the search and the status
    counts: dict[str, int]  # matching the search, per status
    page: int

    @property
    def pages(self) -> int:
        return max(1, -(-self.total // PAGE))


def patient_page(
    session: Session, search: str = "", status: str = "", sort: str = "name", page: int = 1
) -> PatientPage:
    """One page of enrolled patients matching the search (and the status, when given),
    with the count of each status; removed ones only when ``status`` is "removed"."""
    matching = search_condition(search)
    if matching is False:
        return PatientPage([], 0, {}, 1)
    state = status_expression()
    where = [matching] if matching is not None else []
    counts = dict(
        session.execute(
            select(state, func.count()).select_from(Patient).where(*where).group_by(state)
        ).all()
    )
    if status:
        where.append(state == status)
    else:
        where.append(Patient.removed_at.is_(None))
    total = counts.get(status, 0) if status else sum(
        n for key, n in counts.items() if key != "removed"
    )  # fmt: skip
    order = (
        (Patient.last_text_at.desc().nulls_last(), Patient.id.desc())
        if sort == "last_text"
        else (Patient.search_name, Patient.id)
    )
    page = min(max(page, 1), max(1, -(-total // PAGE)))
    invited = last_invitation() if status == "invited" else null()
    rows = session.execute(
        select(Patient, state, invited)
        .where(*where)
        .order_by(*order)
        .offset((page - 1) * PAGE)
        .limit(PAGE)
    ).all()
    return PatientPage([tuple(r) for r in rows], total, counts, page)


def invite_again_candidates(
    session: Session, older_than: dt.datetime, ids: list[int] | None = None
) -> list[int]:
    """Invited patients (of ``ids``, if given) who have not answered and whose last
    invitation went out before ``older_than``, with one invitation only (a second is the
    last). An invitation counts as never_invited_filter counts it: accepted by Twilio, or
    claimed (settled with Twilio before anyone is invited again); one Twilio refused, or
    one to a former patient of a recycled number, does not. The invited are found first,
    then their invitations by number (the index on messages' phone)."""
    of = [Patient.id.in_(ids)] if ids is not None else []
    return list(
        session.scalars(
            select(Patient.id)
            .join(Message, and_(_invitations_of_record(), _invitation_counted()))
            .where(
                *of,
                Patient.removed_at.is_(None),
                Patient.number_invalid.is_(False),
                status_expression() == "invited",
            )
            .group_by(Patient.id)
            .having(func.max(Message.created_at) < older_than, func.count() < 2)
        )
    )


def patient_status(session: Session, patient: Patient) -> str:
    return session.scalar(select(status_from_history()).where(Patient.id == patient.id))


def consent_history(session: Session, history: History) -> list[ConsentEvent]:
    """The record's consent events, oldest first; on a recycled number, the number's last
    opt-in or opt-out before the record began comes first: it still holds (a number that
    texted STOP is not texted until it texts START, whoever has it now)."""
    of_number = select(ConsentEvent).where(ConsentEvent.phone == history.phone)
    before: list[ConsentEvent] = []
    if history.since is not None:
        last = session.scalar(
            of_number.where(
                ConsentEvent.created_at < history.since,
                ConsentEvent.action.in_(SMS_CONSENT_ACTIONS),
            ).order_by(ConsentEvent.id.desc())
        )
        before = [last] if last is not None else []
    events = session.scalars(
        of_number.where(history.holds(ConsentEvent.created_at)).order_by(ConsentEvent.id)
    )
    return before + list(events)


REMINDER_LABELS = {
    "pending": "Due",
    "claimed": "Sending",
    "sent": "Sent",
    "failed": "Not sent (Twilio refused it)",
    "skipped": "Skipped",
    "missed": "Missed (not sent that day)",
}


def reminder_history(session: Session, patient_id: int, limit: int = 14) -> list:
    """The patient's latest daily reminders, newest first: one row per local date."""
    return list(
        session.scalars(
            select(ReminderDelivery)
            .where(ReminderDelivery.patient_id == patient_id)
            .order_by(ReminderDelivery.local_date.desc())
            .limit(limit)
        )
    )


def enrolled(session: Session, phone: str) -> Patient | None:
    """The enrolled (not removed) patient of a number, if any."""
    return session.scalar(
        select(Patient).where(Patient.phone == phone, Patient.removed_at.is_(None))
    )


def schedule_history(session: Session, patient_id: int, limit: int = 20) -> list[ScheduleChange]:
    """The latest changes to the patient's reminders, newest first."""
    return list(
        session.scalars(
            select(ScheduleChange)
            .where(ScheduleChange.patient_id == patient_id)
            .order_by(ScheduleChange.id.desc())
            .limit(limit)
        )
    )


CONVERSATION_PAGE = 12  # texts shown at once: the newest, "earlier" above them


@dataclass(frozen=True)
class Conversation:
    """A number's texts, oldest first: the newest ``CONVERSATION_PAGE`` (or those before
    ``before``), and the id to ask for the ones before them, when there are any."""

    messages: list[Message]
    earlier: int | None


def conversation(session: Session, history: History, before: int | None = None) -> Conversation:
    query = select(Message).where(Message.phone == history.phone, history.holds(Message.created_at))
    if before is not None:
        query = query.where(Message.id < before)
    newest = session.scalars(query.order_by(Message.id.desc()).limit(CONVERSATION_PAGE + 1)).all()
    shown = list(reversed(newest[:CONVERSATION_PAGE]))
    return Conversation(shown, shown[0].id if len(newest) > CONVERSATION_PAGE else None)
