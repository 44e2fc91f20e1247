"""The command line, ``flask --app bot ...``: every job of the clock is also a command.

chat (text the bot in the terminal) | doctor | staff create, staff password | patients
import, patients invite, patients export | reminders send-due | retention | roll-up |
outbox | spool replay | scheduler (the clock process, the Procfile's ``clock:``)."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import sys
from zoneinfo import ZoneInfo

import click
from flask import Blueprint, current_app
from flask.cli import AppGroup
from sqlalchemy import select
from sqlalchemy.exc import OperationalError, ProgrammingError

from bot.accounts import audit
from bot.accounts.auth import ROLES, StaffError, create_staff, set_password
from bot.models import DATABASE_UNAVAILABLE, Patient, StaffUser, db, utcnow
from bot.ops import doctor
from bot.ops.clock import make_scheduler, sweep_once
from bot.patients.importer import MAX_FILE_BYTES, ImportFileError, import_csv, invite_pending
from bot.patients.records import patient_status
from bot.patients.retention import blank_old_texts, export_csv, patient_export
from bot.reminders import caseload
from bot.reminders.adherence import SETTLED_DAYS, roll_up
from bot.reminders.sweep import ReminderSettings, send_due, sweep_session
from bot.sms import outbox
from bot.sms.answering import answer, local_sid, replay_spool
from bot.sms.inbound import Inbound
from bot.sms.sender import limits_from_config

bp = Blueprint("cli", __name__, cli_group=None)


@bp.cli.command("chat")
@click.option("--phone", default="+12025550100", show_default=True, help="Number to text from.")
def chat(phone: str) -> None:
    """Chat with the bot in the terminal, through the same code as the webhook."""
    bot_log = logging.getLogger("bot")
    level = bot_log.level
    bot_log.setLevel(logging.WARNING)  # keep the conversation readable
    try:
        _chat(phone)
    finally:
        bot_log.setLevel(level)


def _chat(phone: str) -> None:
    click.echo("Text the clinic as a patient would. An empty line or Ctrl-D ends the chat.")
    while True:
        try:
            body = input("you> ")
        except EOFError:
            break
        if not body.strip():
            break
        try:
            outcome = answer(Inbound(phone=phone, body=body, message_sid=local_sid("SM-chat-")))
        except (OperationalError, ProgrammingError) as exc:
            raise click.ClickException(
                f"the database is not ready ({exc.orig}); run: flask --app bot db upgrade"
            ) from None
        if not outcome.stored:
            raise click.ClickException(
                "the database did not take the text (see the log); if it is new, run: "
                "flask --app bot db upgrade"
            )
        click.echo(f"bot> {outcome.reply}" if outcome.reply else f"bot> (no reply: {outcome.kind})")
        click.echo()


staff_cli = AppGroup("staff", help="Staff accounts.")
patients_cli = AppGroup("patients", help="Patients.")


@staff_cli.command("create")
@click.argument("email")
@click.option("--admin", is_flag=True, help="Admin: manages staff accounts (--role admin).")
@click.option(
    "--role",
    type=click.Choice(list(ROLES)),
    default="staff",
    show_default=True,
    help="staff: the front desk; clinician: lands on the caseload; admin: also staff "
    "accounts, the audit trail and saved replies.",
)
@click.option(
    "--password",
    envvar="STAFF_PASSWORD",
    help="For scripts: the password (or set STAFF_PASSWORD). Asked twice when not given.",
)
def create_staff_user(email: str, admin: bool, role: str, password: str | None) -> None:
    """Create a staff account that can sign in to the staff pages."""
    if not password:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        user = create_staff(db.session, email, password, "admin" if admin else role)
        audit.record(db.session, audit.command_line(), "staff_create", None, None, user.email)
        db.session.commit()
    except StaffError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Created {user.role} account {user.email}.")


@staff_cli.command("password")
@click.argument("email")
@click.option(
    "--password",
    envvar="STAFF_PASSWORD",
    help="For scripts: the new password (or set STAFF_PASSWORD). Asked twice when not given.",
)
def set_staff_password(email: str, password: str | None) -> None:
    """Set a staff account's password; every session of the account ends."""
    user = db.session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None:
        raise click.ClickException(f"no staff account {email}")
    if not password:
        password = click.prompt("New password", hide_input=True, confirmation_prompt=True)
    try:
        set_password(db.session, user, password)
        audit.record(db.session, audit.command_line(), "staff_password", None, None, user.email)
        db.session.commit()
    except StaffError as exc:
        db.session.rollback()
        raise click.ClickException(str(exc)) from None
    click.echo(f"Set the password of {user.email}; its sessions are ended.")


def _progress_bars():
    """A progress callback (stage, done, total) drawing one bar per stage."""
    bars: dict[str, object] = {}

    def progress(stage: str, done: int, total: int) -> None:
        bar = bars.get(stage)
        if bar is None:
            bar = bars[stage] = click.progressbar(length=total, label=stage.capitalize())
            bar.__enter__()
        bar.update(done - bar.pos)
        if done >= total:
            bar.__exit__(None, None, None)

    return progress


@patients_cli.command("import")
@click.argument("csv_file", type=click.File("rb"))
def import_patients(csv_file) -> None:
    """Enroll patients from a CSV file (name,phone,language,routine,reminder_time,timezone)
    and send each one the invitation."""
    app = current_app._get_current_object()
    try:
        data = csv_file.read(MAX_FILE_BYTES + 1)
        report = import_csv(app, data, "import", _progress_bars())
    except ImportFileError as exc:
        raise click.ClickException(str(exc)) from None
    audit.record(db.session, audit.command_line(), "import", None, None, _imported(report))
    db.session.commit()
    for line, reason in report.errors:
        click.echo(f"line {line}: {reason}", err=True)
    for line, reason, *_ in report.invite_failures:
        click.echo(f"line {line}: enrolled, but no invitation sent: {reason}", err=True)
    click.echo(
        f"{report.rows} rows: {report.enrolled} enrolled, {report.duplicates} already enrolled, "
        f"{len(report.errors)} with errors; {report.invited} invitations sent."
    )
    if report.errors:
        raise SystemExit(1)


def _imported(report) -> str:
    return (
        f"{report.rows} rows: {report.enrolled} enrolled, {len(report.errors)} with errors, "
        f"{report.invited} invited"
    )


@patients_cli.command("invite")
def invite_patients() -> None:
    """Send the invitation to every enrolled patient who never got one: held at night (an
    import after hours), or not sent because Twilio could not be reached."""
    report = invite_pending(current_app._get_current_object(), _progress_bars())
    for _, reason, patient_id in report.invite_failures:
        click.echo(f"patient {patient_id}: no invitation sent: {reason}", err=True)
    click.echo(f"{report.rows} waiting for an invitation; {report.invited} invitations sent.")


reminders_cli = AppGroup("reminders", help="Daily exercise reminders.")


@reminders_cli.command("send-due")
@click.option(
    "--at",
    "at_text",
    metavar="ISO-TIME",
    help="Act as if it were this moment (e.g. 2026-11-30T14:05:00+00:00); default: now.",
)
@click.option("--dry-run", is_flag=True, help="Count what is due; send and record nothing.")
def send_due_command(at_text: str | None, dry_run: bool) -> None:
    """Send every reminder due by now (or --at) and not sent yet. Safe to run any time,
    also while the clock runs: nothing is ever sent twice."""
    at = utcnow()
    if at_text:
        try:
            at = dt.datetime.fromisoformat(at_text)
        except ValueError:
            raise click.BadParameter(f"{at_text!r} is not an ISO time", param_hint="--at") from None
        if at.tzinfo is None:
            raise click.BadParameter("give a time zone, e.g. +00:00 or Z", param_hint="--at")
        at = at.astimezone(dt.UTC)
    bar = None

    def progress(done: int, total: int) -> None:
        nonlocal bar
        if not sys.stdout.isatty():
            return
        if bar is None:
            bar = click.progressbar(length=total, label="Sending")
            bar.__enter__()
        bar.update(done - bar.pos)

    with sweep_session(db.engine) as session:
        report = send_due(
            session,
            current_app.extensions["sender"],
            current_app.extensions["content"],
            ReminderSettings.from_config(current_app.config),
            at,
            dry_run=dry_run,
            progress=progress,
        )
    if bar is not None:
        bar.__exit__(None, None, None)
    prefix = "dry run: " if dry_run else ""
    click.echo(f"{prefix}{report.line()}")


@bp.cli.command("retention")
@click.option(
    "--days",
    type=click.IntRange(min=1),
    help="Blank texts older than this many days (default: MESSAGE_RETENTION_DAYS).",
)
def retention_command(days: int | None) -> None:
    """Blank the words of texts and daily reminders older than MESSAGE_RETENTION_DAYS (the
    clock does it every night); the metadata and the consent history stay."""
    days = days or current_app.config.get("MESSAGE_RETENTION_DAYS")
    if not days:
        raise click.ClickException(
            "MESSAGE_RETENTION_DAYS is not set (texts are kept): set it, or give --days"
        )
    blanked = blank_old_texts(db.session, utcnow(), days)
    click.echo(f"Texts older than {days} days: {blanked.line()}.")


@patients_cli.command("export")
@click.argument("patient_id", type=int)
@click.option("--format", "kind", type=click.Choice(["json", "csv"]), default="json")
def export_patient_command(patient_id: int, kind: str) -> None:
    """Print everything held on one patient (record, texts, reminders, consent history),
    as JSON or CSV, for a patient who asks for their data; recorded in the audit trail."""
    patient = db.session.get(Patient, patient_id)
    if patient is None:
        raise click.ClickException(f"no patient {patient_id}")
    data = patient_export(db.session, patient, patient_status(db.session, patient))
    audit.record(db.session, audit.command_line(), "export_patient", None, patient.id, kind)
    db.session.commit()
    click.echo(
        json.dumps(data, indent=2, ensure_ascii=False) if kind == "json" else export_csv(data),
        nl=False,
    )


@bp.cli.command("doctor")
def doctor_command() -> None:
    """Check the settings, the database, the content file, Twilio (read only: no text is
    sent) and the clock, one line each with what to do; exits 1 when any check fails."""
    results = doctor.run(current_app._get_current_object())
    for check in results:
        click.echo(check.line())
    failed = [c for c in results if c.status == doctor.FAIL]
    click.echo(
        f"{len(failed)} of {len(results)} checks failed." if failed else "All checks passed."
    )
    if failed:
        raise SystemExit(1)


@bp.cli.command("roll-up")
def roll_up_command() -> None:
    """Add up the dashboard's counts of every day settled (older than a week) and not added
    up yet, and the caseload's per patient for today (the clock does both every hour; safe
    to run any time)."""
    zone = ZoneInfo(current_app.config["CLINIC_TIMEZONE"])
    today = utcnow().astimezone(zone).date()
    written = roll_up(db.session, today)
    patients = caseload.roll_up(db.session, today)
    db.session.commit()
    click.echo(f"Wrote the counts of {written} days (days settle after {SETTLED_DAYS}).")
    click.echo(f"Wrote the caseload's counts of {patients} patients (0: today's are written).")


@bp.cli.command("outbox")
def outbox_command() -> None:
    """Ask Twilio about texts whose answer was lost, and send again the alerts and staff
    replies it was too busy for (the clock does it every minute; safe to run any time)."""
    config = current_app.config
    report = outbox.run(
        db.session, current_app.extensions["sender"], limits_from_config(config), utcnow(),
        dt.timedelta(seconds=config["CLAIM_TIMEOUT"]),
        dt.timedelta(hours=config["OUTBOX_GIVE_UP_HOURS"]),
    )  # fmt: skip
    click.echo(report.line())


@click.command("scheduler")
def scheduler_command() -> None:
    """Run the clock: the reminder sweep every minute (one such process per deployment)."""
    app = current_app._get_current_object()
    scheduler = make_scheduler(app)
    sweep_once(app)  # at once, not up to a minute after a (re)start
    click.echo(
        "Clock started: swept once; sweeping for due reminders every minute. Ctrl-C stops it."
    )
    with contextlib.suppress(KeyboardInterrupt, SystemExit):
        scheduler.start()


spool_cli = AppGroup("spool", help="Texts kept while the database was unavailable.")


@spool_cli.command("replay")
def replay_spool_command() -> None:
    """Record the texts kept while the database was unavailable (the web processes and the
    clock do it themselves once it is back; this does it now, on this machine)."""
    try:
        count = replay_spool(current_app._get_current_object())
    except DATABASE_UNAVAILABLE as exc:
        raise click.ClickException(f"the database is still unavailable ({exc.orig})") from None
    click.echo(f"Recorded {count} texts kept while the database was unavailable.")
