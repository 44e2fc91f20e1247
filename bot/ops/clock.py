"""The clock process: ``flask --app bot scheduler`` runs the reminder sweep every minute,
sends the outbox (alerts and staff replies Twilio was too busy for) every minute, adds up
the dashboard's settled days and drops unconfirmed uploads every hour, and blanks texts
past MESSAGE_RETENTION_DAYS every night.

Run exactly one, beside any number of web workers (APScheduler's job stores are not
shared between processes, and a scheduler inside web workers would run once per worker).
A second clock by mistake sends nothing twice: the sweep claims each reminder in the
database before sending it.
"""

from __future__ import annotations

import datetime as dt
import logging
import time

from apscheduler.schedulers.blocking import BlockingScheduler
from apscheduler.triggers.cron import CronTrigger
from flask import Flask

from bot.models import db, local_date, utcnow
from bot.ops import metrics
from bot.ops.health import record_beat
from bot.patients.importer import forget_stale_previews
from bot.patients.retention import blank_old_texts
from bot.reminders import caseload
from bot.reminders.adherence import roll_up
from bot.reminders.sweep import ReminderSettings, send_due, sweep_session
from bot.sms import outbox
from bot.sms.answering import replay_spool
from bot.sms.sender import limits_from_config

log = logging.getLogger(__name__)


def sweep_once(app: Flask) -> None:
    started = time.perf_counter()
    with app.app_context(), sweep_session(db.engine) as session:
        try:
            report = send_due(
                session,
                app.extensions["sender"],
                app.extensions["content"],
                ReminderSettings.from_config(app.config),
                utcnow(),
            )
        except Exception:
            session.rollback()
            log.exception("reminder sweep failed; the next minute's sweep tries again")
            beat(app, "failed (see the clock's log)")
            return
        metrics.sweep(report, time.perf_counter() - started)
        if report.due or report.skipped or report.reconciled:
            log.info("reminder sweep: %s", report.line())
    beat(app, report.line())
    _replay_spool(app)


def beat(app: Flask, result: str) -> None:
    """The clock's heartbeat: when it last swept and how it went (read by /readyz)."""
    with app.app_context():
        try:
            record_beat(db.session, result, utcnow())
            db.session.commit()
        except Exception:
            db.session.rollback()
            log.exception("clock heartbeat not written")
        finally:
            db.session.remove()


def _replay_spool(app: Flask) -> None:
    """Texts this machine kept while the database was away (any process of it): recorded
    once it is back. Looking costs a listing of the spool folder, nothing more."""
    with app.app_context():
        try:
            replay_spool(app)
        except Exception:
            log.exception("spool not replayed; the next minute tries again")


def outbox_once(app: Flask) -> None:
    """Lost answers asked of Twilio, and the alerts and staff replies Twilio was too busy
    for sent again (``bot.sms.outbox``)."""
    report = _job(
        app,
        lambda: outbox.run(
            db.session, app.extensions["sender"], limits_from_config(app.config), utcnow(),
            dt.timedelta(seconds=app.config["CLAIM_TIMEOUT"]),
            dt.timedelta(hours=app.config["OUTBOX_GIVE_UP_HOURS"]),
        ),
        "outbox not sent; the next minute tries again",
    )  # fmt: skip
    if report and (report.found or report.sent or report.waiting or report.given_up):
        log.info("%s", report.line())


def previews_once(app: Flask) -> None:
    """Uploads never confirmed (whole CSVs of patients) dropped after PREVIEW_KEPT."""
    dropped = _job(
        app,
        lambda: forget_stale_previews(db.session, utcnow()),
        "unconfirmed imports not dropped; the next hour tries again",
    )
    if dropped:
        log.info("unconfirmed imports dropped: %d", dropped)


def roll_up_once(app: Flask) -> None:
    """The dashboard's counts of the days that can no longer change, written once; the
    caseload's counts of the week's settled days, per patient, once a day."""
    today = local_date(utcnow(), app.config["CLINIC_TIMEZONE"])
    written = _job(
        app,
        lambda: roll_up(db.session, today),
        "daily figures not written; the next hour tries again",
    )
    if written:
        log.info("daily figures: %d days written", written)
    patients = _job(
        app,
        lambda: caseload.roll_up(db.session, today),
        "the caseload's counts not written (it counts the whole week meanwhile); the next "
        "hour tries again",
    )
    if patients:
        log.info("caseload counts: %d patients written", patients)


def retention_once(app: Flask) -> None:
    """The words of texts older than MESSAGE_RETENTION_DAYS blanked (nothing when unset)."""
    days = app.config.get("MESSAGE_RETENTION_DAYS")
    if not days:
        return
    blanked = _job(
        app,
        lambda: blank_old_texts(db.session, utcnow(), days),
        "old texts not blanked; tomorrow night's run tries again",
    )
    if blanked is not None:
        log.info("retention (%d days): %s", days, blanked.line())


def _job(app: Flask, work, failed: str):
    """A clock job's work in its own transaction, committed; on any error rolled back and
    logged with ``failed`` (the next run tries again): None."""
    with app.app_context():
        try:
            result = work()
            db.session.commit()
            return result
        except Exception:
            db.session.rollback()
            log.exception(failed)
            return None
        finally:
            db.session.remove()


def make_scheduler(app: Flask) -> BlockingScheduler:
    scheduler = BlockingScheduler(timezone="UTC")

    def every(job, trigger: CronTrigger, name: str, grace: int) -> None:
        # coalesce: after a pause, one run catches up, not one per missed time; one run
        # at a time: a long run is not overlapped by the next.
        scheduler.add_job(
            job, trigger, args=[app], id=name, coalesce=True, misfire_grace_time=grace,
            max_instances=1, replace_existing=True,
        )  # fmt: skip

    # every minute, a little after it starts
    every(sweep_once, CronTrigger(second=5, timezone="UTC"), "reminder-sweep", 50)
    # every minute, between the sweeps
    every(outbox_once, CronTrigger(second=35, timezone="UTC"), "outbox", 50)
    # every hour, off the sweep's beat
    every(roll_up_once, CronTrigger(minute=17, second=35, timezone="UTC"), "daily-figures", 600)
    every(previews_once, CronTrigger(minute=47, second=20, timezone="UTC"), "previews", 600)
    night = CronTrigger(hour=3, minute=23, timezone=app.config["CLINIC_TIMEZONE"])
    every(retention_once, night, "retention", 6 * 3600)  # at night
    return scheduler
