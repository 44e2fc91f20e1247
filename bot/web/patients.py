"""Staff pages of the patients (on the "staff" blueprint, ``bot.web.staff``): the list,
enrollment, a patient's page with the conversation, edits, pause and resume, removal,
deletion and export of a patient's data, invitations."""

from __future__ import annotations

import json
from zoneinfo import ZoneInfo

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField
from wtforms.fields import SelectChoice

from bot.inbox import saved_replies, threads
from bot.models import Patient, db, local_date, utcnow
from bot.patients import records as pt
from bot.patients import removal, retention
from bot.patients.importer import INVITE_AGAIN_AFTER
from bot.reminders import adherence, checkins
from bot.reminders.schedule import (
    PauseRefused,
    edit_patient,
    set_paused,
    staff_pause,
    staff_pause_days,
)
from bot.sms import undelivered
from bot.sms.phones import staff_facing
from bot.sms.quiet_hours import SendingHours
from bot.web import audit
from bot.web.forms import ActionForm, ReplyForm, earlier_than, submitted
from bot.web.guards import admin_only
from bot.web.imports import start_invitations
from bot.web.staff import bp

TIMEZONES = [
    "America/New_York", "America/Chicago", "America/Denver", "America/Phoenix",
    "America/Los_Angeles", "America/Anchorage", "Pacific/Honolulu", "America/Puerto_Rico",
]  # fmt: skip


class PatientForm(FlaskForm):
    # Checked by bot.patients.records' parsers, each with a message that says what to do.
    name = StringField("Name")
    phone = StringField("Mobile number")
    language = SelectField(
        "Language of the texts", choices=[SelectChoice(k, v) for k, v in pt.LANGUAGES.items()]
    )
    reminder_time = StringField("Daily reminder time", default="09:00")
    timezone = SelectField(
        "Time zone", choices=[SelectChoice(z, z.replace("_", " ")) for z in TIMEZONES]
    )
    state = StringField("State (optional: whose texting hours hold; else the area code's)")
    consent = BooleanField("The patient agreed in person to get these texts")


def _patient(patient_id: int, removed_too: bool = False) -> Patient:
    """The patient, or 404. A removed patient only where asked for, and only for admins
    (whose pages delete what the clinic still holds)."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        abort(404)
    if patient.removed_at is not None and not (removed_too and current_user.is_admin):
        abort(404)
    return patient


def _content():
    return current_app.extensions["content"]


def _routine_from_form() -> list[str]:
    """The checked exercises with the numbers staff gave them (``records.routine_in_order``)."""
    chosen = request.form.getlist("routine")
    numbers = {x: request.form.get(f"order-{x}", "") for x in chosen}
    return pt.routine_in_order(_content(), chosen, numbers)


FIELD_ORDER = (
    "name", "phone", "language", "reminder_time", "timezone", "state", "routine", "consent"
)  # fmt: skip


def _sending_hours() -> SendingHours:
    return SendingHours.from_config(current_app.config)


def _across_fields(values: dict, errors: dict[str, str], phone: str, new: bool) -> int | None:
    """The checks that read more than one field or the database, made on every submit as
    soon as their fields are read (not only once the rest is right): the time within the
    sending hours where the patient is, and, when enrolling, the number not the clinic's own
    nor enrolled already. The enrolled patient of a duplicate number, for a link."""
    duplicate = None
    if new and "phone" in values:
        try:
            own = [current_app.config.get("TWILIO_FROM_NUMBER"), _content().clinic.phone]
            pt.not_the_clinics_own(phone, own)
        except pt.EnrollmentError as exc:
            errors[exc.field] = str(exc)
        existing = pt.enrolled(db.session, phone)
        if existing is not None and "phone" not in errors:
            errors["phone"] = f"{phone} is already enrolled ({existing.name})."
            duplicate = existing.id
    if "reminder_time" in values and "state" in values and phone:
        try:
            pt.time_allowed(values["reminder_time"], phone, values["state"], _sending_hours())
        except pt.EnrollmentError as exc:
            errors[exc.field] = str(exc)
    return duplicate


def _when_it_arrives(patient) -> None:
    """Say when a reminder set before the sending hours open will really arrive."""
    at = pt.arrives_at(patient.reminder_time, patient.phone, patient.state, _sending_hours())
    if at is not None:
        hours = _sending_hours().describe(patient.phone, patient.state)
        chosen = pt.readable_time(patient.reminder_time)
        flash(
            f"Texts to {patient.name} go out {hours}: the reminder set for {chosen} arrives "
            f"at {pt.readable_time(at)}.",
            "info",
        )


def _checked(form: PatientForm, parsers: dict) -> tuple[dict, dict[str, str]]:
    """Every field checked, not only up to the first mistake: (values, errors by field).
    A form without its CSRF token is refused outright (400)."""
    form.validate()
    if "csrf_token" in form.errors:
        abort(400)
    errors = {name: errs[0] for name, errs in form.errors.items()}
    values = {}
    for field, parse in parsers.items():
        if field in errors:
            continue
        try:
            values[field] = parse()
        except pt.EnrollmentError as exc:
            errors[exc.field] = str(exc)
    return values, errors


def _error_attributes(errors: dict[str, str]) -> dict[str, dict]:
    """For each field in error: linked to its message (aria-describedby), marked invalid,
    and the first one in the page's order focused."""
    attributes = {
        field: {"aria-describedby": f"{field}-error", "aria-invalid": "true"} for field in errors
    }
    first = next((f for f in FIELD_ORDER if f in errors), None)
    if first:
        attributes[first]["autofocus"] = True
    return attributes


def _consent_given(form: PatientForm) -> bool:
    if not form.consent.data:
        raise pt.EnrollmentError("consent", "Record that the patient agreed in person.")
    return True


@bp.get("/patients")
def patients():
    search = request.args.get("q", "")
    status = request.args.get("status", "")
    if status not in pt.STATUSES and not (status == "removed" and current_user.is_admin):
        status = ""
    sort = request.args.get("sort", "name")
    sort = sort if sort in pt.SORTS else "name"
    page = request.args.get("page", "1")
    page = int(page) if page.isdigit() and 0 < int(page) < 100_000 else 1
    listing = pt.patient_page(db.session, search, status, sort, page)
    return render_template(
        "patients.html",
        listing=listing,
        summaries=adherence.summaries(
            db.session,
            [row[0] for row in listing.rows],
            local_date(utcnow(), current_app.config["CLINIC_TIMEZONE"]),
        ),
        search=search,
        status=status,
        sort=sort,
        sorts=pt.SORTS,
        statuses=pt.STATUS_LABELS,
        exercises={e.id: e.name for e in _content().exercises},
        action=ActionForm(),
        again=len(pt.invite_again_candidates(db.session, utcnow() - INVITE_AGAIN_AFTER))
        if status == "invited"
        else 0,
    )


@bp.post("/patients/invite-again")
def invite_again():
    """The invitation once more, to every patient who has not answered one sent two days
    ago or more (once: a patient gets two invitations at most), sent in the background as
    the waiting invitations are (hundreds of texts would outlast a request); its page shows
    how it went."""
    submitted()
    return start_invitations(
        "invite_again", "invite_again", " Send the invitation again once they are done."
    )


@bp.route("/patients/new", methods=["GET", "POST"])
def enroll():
    form = PatientForm()
    if request.method == "GET":
        form.timezone.data = current_app.config["CLINIC_TIMEZONE"]
    errors: dict[str, str] = {}
    duplicate = None
    if request.method == "POST":
        zone = current_app.config["CLINIC_TIMEZONE"]
        values, errors = _checked(form, {
            "name": lambda: pt.check_name(form.name.data),
            "phone": lambda: pt.parse_phone(
                form.phone.data, allowed=current_app.config["ALLOWED_COUNTRIES"]
            ),
            "language": lambda: pt.parse_language(form.language.data),
            "reminder_time": lambda: pt.parse_time(form.reminder_time.data),
            "timezone": lambda: pt.parse_timezone(form.timezone.data, zone),
            "state": lambda: pt.parse_state(form.state.data),
            "routine": _routine_from_form,
            "consent": lambda: _consent_given(form),
        })  # fmt: skip
        duplicate = _across_fields(values, errors, values.get("phone", ""), new=True)
        if not errors:
            values.pop("consent")
            try:
                enrollment = pt.Enrollment(**values)
                patient = pt.enroll(db.session, enrollment, current_user.email, "staff", utcnow())
                audit.note("enroll", patient.id)
                db.session.commit()
            except pt.EnrollmentError as exc:
                db.session.rollback()
                errors[exc.field] = str(exc)
            else:
                _send_invitation(patient)
                _when_it_arrives(patient)
                return redirect(url_for("staff.patient", patient_id=patient.id))
    return render_template(
        "patient_form.html",
        form=form,
        errors=errors,
        duplicate=duplicate,
        exercises=_content().exercises,
        invalid=_error_attributes(errors),
        chosen=request.form.getlist("routine") if request.method == "POST" else [],
        order={k[6:]: v for k, v in request.form.items() if k.startswith("order-")},
        title="Enroll a patient",
    )


def _send_invitation(patient: Patient) -> None:
    hours, now = _sending_hours(), utcnow()
    if not pt.within_sending_hours(now, patient, hours):
        local = now.astimezone(ZoneInfo(patient.timezone))
        flash(
            f"{patient.name} is enrolled. It is {pt.readable_time(local.time())} where the patient "
            f"is: the invitation is {pt.held_for_the_night(hours, patient)}.",
            "warning",
        )
        return
    per_day, zone = current_app.config["INVITATIONS_PER_DAY"], current_app.config["CLINIC_TIMEZONE"]
    if pt.invitations_left(db.session, now, per_day, zone) < 1:
        flash(
            f"{patient.name} is enrolled; the invitation is {pt.held_for_the_day(per_day)}.",
            "warning",
        )
        return
    text = pt.invitation_text(_content(), patient)
    result = pt.send_to_patient(
        db.session, current_app.extensions["sender"], patient, text, "invitation", utcnow()
    )
    db.session.commit()
    if result is None:
        flash(
            f"{patient.name} is enrolled, but this number has opted out of texts: no "
            "invitation was sent. The patient can text START to opt back in.",
            "warning",
        )
    elif result.ok:
        flash(f"{patient.name} is enrolled and was sent the invitation.", "success")
    else:
        flash(
            f"{patient.name} is enrolled, but the invitation could not be sent "
            f"({staff_facing(result.error or result.status)}).",
            "error",
        )


@bp.post("/patients/<id:patient_id>/invite")
def invite(patient_id: int):
    """Send (again) the invitation to reply YES: held at night, or never answered."""
    submitted()
    record = _patient(patient_id)
    if pt.patient_status(db.session, record) != "invited":
        flash(f"{record.name} has answered the invitation already.", "warning")
    else:
        _send_invitation(record)
        audit.note("invite", record.id)
        db.session.commit()
    return redirect(url_for("staff.patient", patient_id=record.id))


@bp.get("/patients/<id:patient_id>")
def patient(patient_id: int):
    record = _patient(patient_id, removed_too=True)
    record_history = pt.history(db.session, record)
    content = _content()
    audit.note("view_patient", record.id)
    db.session.commit()
    return render_template(
        "patient.html",
        patient=record,
        status=pt.patient_status(db.session, record),
        statuses=pt.STATUS_LABELS,
        languages=pt.LANGUAGES,
        routine=[
            content.exercise(x) for x in record.routine if x in {e.id for e in content.exercises}
        ],
        history=pt.consent_history(db.session, record_history),
        never_invited=pt.never_invited(db.session, record),
        conversation=pt.conversation(db.session, record_history, earlier_than()),
        reminders=pt.reminder_history(db.session, record.id),
        reminder_labels=pt.REMINDER_LABELS,
        action=ActionForm(),
        reply=ReplyForm(),
        thread=threads.thread_of(db.session, record.phone),
        changes=pt.schedule_history(db.session, record.id),
        chart=adherence.chart(
            adherence.last_days(db.session, record, local_date(utcnow(), record.timezone))
        ),
        texting_hours=_texting_hours(record),
        undelivered_since=undelivered.since(db.session, record.phone),
        saved_replies=saved_replies.offered(db.session, content.clinic.phone, record.phone, record),
        pause=record.paused and checkins.last_pause(db.session.connection(), record.id),
        pain_pause_detail=checkins.PAIN_PAUSE_DETAIL,
        pause_days=staff_pause_days(record, utcnow()),
    )


def _texting_hours(record: Patient) -> dict:
    """The hours texts go out to the patient, the state they come from and how it was
    known, and whether the daily time is past them (never sent)."""
    hours = _sending_hours()
    state, source = hours.state_of(record.phone, record.state)
    late = False
    try:
        pt.time_allowed(record.reminder_time, record.phone, record.state, hours)
    except pt.EnrollmentError:
        late = True
    sources = {"recorded": "recorded", "area code": "from the area code", "clinic": "the clinic's"}
    return {
        "text": hours.describe(record.phone, record.state),
        "state": state,
        "source": sources[source],
        "late": late,
    }


@bp.route("/patients/<id:patient_id>/edit", methods=["GET", "POST"])
def edit(patient_id: int):
    record = _patient(patient_id)
    form = PatientForm(obj=record)
    errors: dict[str, str] = {}
    if request.method == "GET":
        form.reminder_time.data = record.reminder_time.strftime("%H:%M")
    if request.method == "POST":
        values, errors = _checked(form, {
            "name": lambda: pt.check_name(form.name.data),
            "language": lambda: pt.parse_language(form.language.data),
            "reminder_time": lambda: pt.parse_time(form.reminder_time.data),
            "timezone": lambda: pt.parse_timezone(form.timezone.data, record.timezone),
            "state": lambda: pt.parse_state(form.state.data),
            "routine": _routine_from_form,
        })  # fmt: skip
        errors.pop("phone", None)  # not on this form: the number stays
        _across_fields(values, errors, record.phone, new=False)
        if not errors:
            by = ("staff", current_user.email)
            changed = edit_patient(db.session, record, values, by, utcnow())
            audit.note("edit", record.id, "changed: " + (", ".join(changed) or "nothing"))
            db.session.commit()
            flash(f"Saved the changes for {record.name}.", "success")
            _when_it_arrives(record)
            return redirect(url_for("staff.patient", patient_id=record.id))
    chosen = request.form.getlist("routine") if request.method == "POST" else record.routine
    order = (
        {k[6:]: v for k, v in request.form.items() if k.startswith("order-")}
        if request.method == "POST"
        else {x: str(i) for i, x in enumerate(record.routine, start=1)}
    )
    return render_template(
        "patient_form.html",
        form=form,
        errors=errors,
        exercises=_content().exercises,
        invalid=_error_attributes(errors),
        chosen=chosen,
        order=order,
        patient=record,
        title=f"Edit {record.name}",
    )


@bp.post("/patients/<id:patient_id>/pause")
def pause(patient_id: int):
    """Pause from the patient's page: until a day or until someone resumes, with a reason."""
    submitted()
    record = _patient(patient_id)
    if record.paused:
        flash(f"{record.name}'s reminders are already paused.", "success")
        return redirect(url_for("staff.patient", patient_id=record.id))
    try:
        day = staff_pause(
            db.session.connection(), record, request.form.get("resume_on", ""),
            request.form.get("reason", ""), ("staff", current_user.email), utcnow(),
        )  # fmt: skip
    except PauseRefused as refused:
        db.session.rollback()
        flash(f"Not paused: {refused}", "error")
        return redirect(url_for("staff.patient", patient_id=record.id, _anchor="pause"))
    audit.note("pause", record.id, f"until {day.isoformat()}" if day else "")
    db.session.commit()
    until = f" until {day:%b} {day.day} (they start again that day)" if day else ""
    flash(f"Reminders paused for {record.name}{until}.", "success")
    return redirect(url_for("staff.patient", patient_id=record.id))


@bp.post("/patients/<id:patient_id>/resume")
def resume(patient_id: int):
    record = _patient(patient_id)
    pain = record.paused and checkins.paused_for_pain(db.session.connection(), record.id)
    if pain and request.form.get("spoke") != "yes":
        submitted()
        flash(
            f"{record.name}'s reminders were paused for pain: tick that someone spoke with "
            "the patient and they may go on, then resume.",
            "error",
        )
        return redirect(url_for("staff.patient", patient_id=record.id))
    submitted()
    if record.paused:
        set_paused(
            db.session.connection(), record.id, False, "Reminders resumed",
            ("staff", current_user.email), utcnow(),
        )  # fmt: skip
        audit.note("resume", record.id)
    db.session.commit()
    flash(f"Reminders resumed for {record.name}.", "success")
    return redirect(url_for("staff.patient", patient_id=record.id))


@bp.get("/patients/<id:patient_id>/remove")
def confirm_remove(patient_id: int):
    """Removing asks on a page of its own, away from the everyday buttons."""
    record = _patient(patient_id)
    explanation = (
        "Reminders stop and the patient leaves the lists; the texts and the consent history "
        "stay on record."
    )
    return _confirm(record, f"Remove {record.name}?", explanation, "Remove patient", "staff.remove")


@bp.post("/patients/<id:patient_id>/remove")
def remove(patient_id: int):
    submitted()
    record = _patient(patient_id)
    removal.remove(db.session, record, current_user.email, utcnow())
    audit.note("remove", record.id)
    db.session.commit()
    flash(f"{record.name} is removed: no more reminders. The texts stay on record.", "success")
    return redirect(url_for("staff.patients"))


@bp.get("/patients/<id:patient_id>/delete-data")
@admin_only
def confirm_delete_data(patient_id: int):
    record = _patient(patient_id, removed_too=True)
    explanation = (
        "Every text to or from the number, the name and routine, the text of each daily "
        "reminder, the days done with their pain scores, the changes to the reminders and "
        "the inbox thread are deleted, and cannot be brought back (imports waiting for a "
        "confirmation are cancelled too). The consent history is kept, as the law requires, "
        "with a line saying who deleted the data and when."
    )
    heading = f"Delete the data of {record.name} for good?"
    return _confirm(record, heading, explanation, "Delete this patient's data", "staff.delete_data")


def _confirm(record: Patient, heading: str, explanation: str, button: str, endpoint: str):
    """A change that cannot be undone asks on a page of its own, with a way back."""
    return render_template(
        "confirm.html",
        heading=heading,
        explanation=explanation,
        button=button,
        action_url=url_for(endpoint, patient_id=record.id),
        back_url=url_for("staff.patient", patient_id=record.id),
        action=ActionForm(),
    )


@bp.post("/patients/<id:patient_id>/delete-data")
@admin_only
def delete_data(patient_id: int):
    """Delete the patient's data, on request (``bot.patients.records.delete_patient_data``), in one
    transaction, with an audit line."""
    submitted()
    record = _patient(patient_id, removed_too=True)
    detail = pt.delete_patient_data(
        db.session, record, current_user.email, request.remote_addr, utcnow()
    )
    db.session.commit()
    flash(f"Patient {record.id}: {detail}.", "success")
    return redirect(url_for("staff.patient", patient_id=record.id))


@bp.get("/patients/<id:patient_id>/export.json", defaults={"kind": "json"})
@bp.get("/patients/<id:patient_id>/export.csv", defaults={"kind": "csv"})
@admin_only
def export_patient(patient_id: int, kind: str):
    """Everything held on the patient, for a patient who asks for a copy; audited."""
    record = _patient(patient_id, removed_too=True)
    data = retention.patient_export(db.session, record, pt.patient_status(db.session, record))
    audit.note("export_patient", record.id, kind)
    db.session.commit()
    if kind == "json":
        body, mimetype = json.dumps(data, indent=2, ensure_ascii=False), "application/json"
    else:
        body, mimetype = retention.export_csv(data), "text/csv"
    return Response(
        body,
        mimetype=mimetype,
        headers={"Content-Disposition": f'attachment; filename="patient-{record.id}.{kind}"'},
    )
