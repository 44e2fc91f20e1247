"""Twilio's bad moments, from the stand-in taught to misbehave (tests/fake_twilio.py): a
stall, 429 with Retry-After, 5xx, 401 and 404 on a list, a second page, a number lookup
that fails, a number that cannot send texts (issue 22)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from prometheus_client import REGISTRY
from sqlalchemy import select

from bot.inbox.threads import state_of, thread_of
from bot.models import Message, Patient, db, utcnow
from bot.ops import doctor
from bot.patients import records as pt
from bot.sms import outbox, outgoing, undelivered
from bot.sms.alerts import alert_text, send_alert
from bot.sms.sender import Limits
from tests.conftest import (
    ACCOUNT_SID,
    CLINIC_NUMBER,
    PATIENT,
    csrf_token,
    post_sms,
    sign,
    subscribe,
    sweep,
    twilio_settings,
)
from tests.test_doctor import checks, served  # noqa: F401 - the served app, as the doctor's

ON_CALL = "+12025550198"
STRANGER = "+12025550177"


def twilio_errors(code: str) -> float:
    return REGISTRY.get_sample_value("bot_twilio_errors_total", {"code": code}) or 0.0


def requests_to(fake, method: str, number: str) -> int:
    return sum(1 for m, _, params in fake.requests if m == method and params.get("To") == number)


@pytest.fixture
def desk(make_app, fake_twilio):
    """A signed-in front desk on an app whose Twilio answers within half a second or not
    at all."""
    from tests.conftest import add_staff, sign_in

    app = make_app(**twilio_settings(fake_twilio, TWILIO_READ_TIMEOUT=0.5))
    add_staff(app)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    return app, client


def test_a_stalled_twilio_holds_no_reply_past_its_timeout_and_the_text_is_never_sent_twice(
    desk, fake_twilio
):
    app, staff = desk
    post_sms(app.test_client(), "can I move my appointment", phone=STRANGER)
    fake_twilio.stalls[STRANGER] = 5.0  # accepted at once, its answer 5 s late
    with app.app_context():
        thread_id = thread_of(db.session, STRANGER).id
    url = f"/inbox/{thread_id}"
    started = time.monotonic()
    answer = staff.post(url + "/reply", data={"csrf_token": csrf_token(staff, url),
                                              "body": "Tuesday at 3?"})  # fmt: skip
    held = time.monotonic() - started
    assert answer.status_code == 302
    assert held < 4.0, f"the page waited {held:.1f} s for a stalled Twilio"  # 0.5 s timeout
    page = staff.get(url).get_data(as_text=True)
    assert "Twilio did not answer in time" in page and "sending..." in page
    with app.app_context():
        row = db.session.scalar(select(Message).where(Message.kind == "staff_reply"))
        assert row.status == outgoing.CLAIMED and row.message_sid is None  # not "failed"
        # The clock's reconciliation asks Twilio's list: found, recorded as sent; not resent.
        found, not_sent = outgoing.reconcile_claims(
            db.session, app.extensions["sender"], Limits(), utcnow(), dt.timedelta(0)
        )
        assert (found, not_sent) == (1, 0)
        db.session.refresh(row)
        [sent] = fake_twilio.sent_to(STRANGER)
        assert (row.status, row.message_sid) == ("sent", sent.sid)
    assert requests_to(fake_twilio, "POST", STRANGER) == 1


def test_the_on_call_alert_survives_429s_honouring_retry_after_and_is_sent_once(
    make_app, fake_twilio
):
    app = make_app(**twilio_settings(fake_twilio, ALERT_NUMBER=ON_CALL))
    fake_twilio.refuse_first, fake_twilio.retry_after = 2, 0.05
    before = twilio_errors("20429")
    send_alert(app, PATIENT)
    assert [m.body for m in fake_twilio.sent_to(ON_CALL)] == [alert_text(None, PATIENT)]
    assert requests_to(fake_twilio, "POST", ON_CALL) == 3  # two 429s, then sent
    assert twilio_errors("20429") == before + 2


def test_a_single_text_is_not_retried_beyond_what_a_page_can_wait(make_app, fake_twilio):
    app = make_app(**twilio_settings(fake_twilio, SEND_SINGLE_WITHIN=1))
    fake_twilio.refuse_first, fake_twilio.retry_after = 5, 30  # "come back in 30 s"
    started = time.monotonic()
    result = app.extensions["sender"].send(STRANGER, "hello")
    assert time.monotonic() - started < 1.0  # 30 s is past the bound: not waited for
    assert (result.ok, result.http_status, result.attempts) == (False, 429, 1)


@pytest.mark.parametrize(("status", "asked"), [(401, 1), (404, 1), (500, 5), (429, 5)])
def test_a_list_refused_for_good_is_asked_once_and_counted(twilio_app, fake_twilio, status, asked):
    """Reconciling a claimed text: 401 and 404 say the same every time (asked once), 429
    and 5xx are asked again (SEND_RETRIES, 4); every refusal is counted by its code."""
    code = {401: "20003", 404: "20404", 429: "20429", 500: "20500"}[status]
    before = twilio_errors(code)
    fake_twilio.list_errors[STRANGER] = status
    with twilio_app.app_context():
        outgoing.claim_texts(db.session, [(STRANGER, "your invitation")], "invitation", utcnow())
        db.session.commit()
        found = outgoing.reconcile_claims(
            db.session, twilio_app.extensions["sender"], Limits(backoff=0.001), utcnow(),
            dt.timedelta(0),
        )  # fmt: skip
        assert found == (0, 0)  # no answer: left claimed, asked again later
    assert requests_to(fake_twilio, "GET", STRANGER) == asked
    assert twilio_errors(code) == before + asked


def test_a_text_found_on_the_second_page_of_twilios_list(twilio_app, fake_twilio):
    fake_twilio.max_page_size = 2
    sender = twilio_app.extensions["sender"]
    with twilio_app.app_context():
        [claim] = outgoing.claim_texts(db.session, [(STRANGER, "the one")], "invitation", utcnow())
        db.session.commit()
        assert sender.send(STRANGER, "the one").ok  # sent, its answer "lost"
        for i in range(4):  # newer texts to the number push it to a later page
            assert sender.send(STRANGER, f"later {i}").ok
        found = outgoing.reconcile_claims(db.session, sender, Limits(), utcnow(), dt.timedelta(0))
        assert found == (1, 0)
        row = db.session.get(Message, claim)
        assert row.message_sid == fake_twilio.sent_to(STRANGER)[0].sid
    pages = [p for m, _, p in fake_twilio.requests if m == "GET" and p.get("To") == STRANGER]
    assert len(pages) >= 3 and pages[-1].get("Page") == "2"


def test_the_doctor_reports_each_check_when_the_number_lookup_fails(served, fake_twilio):  # noqa: F811
    app = served()
    fake_twilio.lookup_errors["numbers"] = 500
    found = checks(app)
    assert found["twilio account"].status == doctor.OK
    assert found["twilio number"].status == doctor.FAIL
    assert "cannot check TWILIO_FROM_NUMBER" in found["twilio number"].detail
    assert "500" in found["twilio number"].detail and "{" not in found["twilio number"].detail
    assert found["status callback"].status == doctor.OK  # still checked
    assert found["clock"].status == doctor.OK


def test_the_doctor_fails_a_number_that_cannot_send_texts(served, fake_twilio):  # noqa: F811
    app = served()
    fake_twilio.numbers[CLINIC_NUMBER]["sms"] = False
    found = checks(app)
    assert found["twilio number"].status == doctor.FAIL
    assert "cannot send texts" in found["twilio number"].detail


def run_outbox(app, at=None):
    with app.app_context():
        return outbox.run(
            db.session, app.extensions["sender"], Limits(backoff=0.001), at or utcnow(),
            dt.timedelta(0), dt.timedelta(hours=app.config["OUTBOX_GIVE_UP_HOURS"]),
        )  # fmt: skip


def test_an_alert_survives_a_five_minute_outage_and_is_sent_once(make_app, fake_twilio):
    app = make_app(**twilio_settings(fake_twilio, ALERT_NUMBER=ON_CALL, SEND_SINGLE_WITHIN=0))
    fake_twilio.fail_share = 1.0  # every create answered 500: Twilio is away
    send_alert(app, PATIENT)
    assert fake_twilio.sent_to(ON_CALL) == []
    with app.app_context():
        row = db.session.scalar(select(Message).where(Message.kind == "alert"))
        assert (row.phone, row.status, row.body) == (
            ON_CALL,
            outgoing.OUTBOX,
            alert_text(None, PATIENT),
        )
    assert run_outbox(app).waiting == 1  # still away a minute later
    fake_twilio.fail_share = 0.0  # back, five minutes on
    report = run_outbox(app, utcnow() + dt.timedelta(minutes=5))
    assert (report.sent, report.waiting) == (1, 0)
    assert [m.body for m in fake_twilio.sent_to(ON_CALL)] == [alert_text(None, PATIENT)]
    assert run_outbox(app).sent == 0  # sent once, never again
    assert len(fake_twilio.sent_to(ON_CALL)) == 1


def test_a_staff_reply_twilio_was_too_busy_for_waits_then_goes(make_app, fake_twilio):
    from tests.conftest import add_staff, sign_in

    app = make_app(**twilio_settings(fake_twilio, SEND_SINGLE_WITHIN=0))
    add_staff(app)
    staff = app.test_client()
    sign_in(staff)
    post_sms(app.test_client(), "can I move my appointment", phone=STRANGER)
    with app.app_context():
        url = f"/inbox/{thread_of(db.session, STRANGER).id}"
    fake_twilio.refuse_first = 1  # 429, and no time to wait on the page
    staff.post(url + "/reply", data={"csrf_token": csrf_token(staff, url), "body": "Tue 3pm?"})
    page = staff.get(url).get_data(as_text=True)
    assert "Twilio is busy or out of reach" in page and "waiting: Twilio was busy" in page
    assert fake_twilio.sent_to(STRANGER) == []
    assert run_outbox(app).sent == 1
    [sent] = fake_twilio.sent_to(STRANGER)
    assert sent.body == "Tue 3pm?"
    assert "waiting: Twilio was busy" not in staff.get(url).get_data(as_text=True)


def test_what_waits_too_long_is_given_up_and_shown_failed(make_app, fake_twilio):
    app = make_app(**twilio_settings(fake_twilio, ALERT_NUMBER=ON_CALL, SEND_SINGLE_WITHIN=0,
                                     OUTBOX_GIVE_UP_HOURS=1))  # fmt: skip
    fake_twilio.fail_share = 1.0
    send_alert(app, PATIENT)
    report = run_outbox(app, utcnow() + dt.timedelta(hours=2))
    assert (report.given_up, report.sent) == (1, 0)
    with app.app_context():
        assert db.session.scalar(select(Message.status).where(Message.kind == "alert")) == "failed"


def test_a_lost_staff_reply_not_found_at_twilio_joins_the_outbox(twilio_app, fake_twilio):
    """A claim whose answer was lost and that Twilio does not have: sent by the outbox,
    once (a reminder's or an invitation's claim is marked not sent instead)."""
    with twilio_app.app_context():
        outgoing.claim_texts(db.session, [(STRANGER, "see you at 3")], "staff_reply", utcnow())
        outgoing.claim_texts(db.session, [(STRANGER, "your invitation")], "invitation", utcnow())
    report = run_outbox(twilio_app)
    assert report.sent == 1
    assert [m.body for m in fake_twilio.sent_to(STRANGER)] == ["see you at 3"]
    with twilio_app.app_context():
        statuses = dict(db.session.execute(select(Message.kind, Message.status)).all())
        assert statuses == {"staff_reply": "queued", "invitation": "not sent"}


def test_the_outbox_is_a_command(make_app, fake_twilio):
    app = make_app(**twilio_settings(fake_twilio))
    result = app.test_cli_runner().invoke(args=["outbox"])
    assert result.exit_code == 0 and "outbox: found sent 0, sent again 0" in result.output


# --- carrier filtering (30007 and the like, from the status callback) -----------------------


def report_status(client, sid: str, status: str, code: int | None = None):
    params = {"MessageSid": sid, "MessageStatus": status, "AccountSid": ACCOUNT_SID}
    if code:
        params["ErrorCode"] = str(code)
    headers = {"X-Twilio-Signature": sign("http://localhost/sms/status", params)}
    assert client.post("/sms/status", data=params, headers=headers).status_code == 204


def test_reminders_the_carrier_filters_are_shown_counted_and_stop_after_three(
    make_app, fake_twilio
):
    from tests.conftest import add_staff, sign_in
    from tests.test_reminders import ny

    app = make_app(**twilio_settings(fake_twilio, SEND_RATE_PER_SECOND=1000))
    patient_id = subscribe(app, PATIENT)
    add_staff(app)
    staff, client = app.test_client(), app.test_client()
    sign_in(staff)
    before = REGISTRY.get_sample_value("bot_undelivered_texts_total", {"code": "30007"}) or 0
    for day in (1, 2, 3):
        sweep(app, ny(2026, 12, day, 9, 0))
        report_status(client, fake_twilio.messages[-1].sid, "undelivered", 30007)
        with app.app_context():
            paused = db.session.get(Patient, patient_id).paused
        assert paused is (day == 3), day  # the third refused reminder in a row pauses
    after = REGISTRY.get_sample_value("bot_undelivered_texts_total", {"code": "30007"})
    assert after == before + 3
    assert sweep(app, ny(2026, 12, 4, 9, 0)).due == 0  # no more texts into the filter
    assert len(fake_twilio.messages) == 3
    with app.app_context():
        thread = thread_of(db.session, PATIENT)
        assert (thread.status, thread.reason) == ("open", "undelivered")
        assert state_of(db.session, thread) == "needs_us"
        [change] = pt.schedule_history(db.session, patient_id)[:1]
        assert "carrier did not deliver" in change.detail
    page = staff.get(f"/patients/{patient_id}").get_data(as_text=True)
    assert "The carrier has not delivered our texts to this number since" in page
    assert "Dec 1" in page  # the first refused one
    inbox = staff.get("/inbox").get_data(as_text=True)
    assert "The carrier did not deliver our texts" in inbox
    thread_page = staff.get(f"/inbox/{thread.id}").get_data(as_text=True)
    assert "The carrier has not delivered our texts" in thread_page


def test_one_delivered_reminder_ends_the_run(make_app, fake_twilio):
    from tests.test_reminders import ny

    app = make_app(**twilio_settings(fake_twilio, SEND_RATE_PER_SECOND=1000))
    patient_id = subscribe(app, PATIENT)
    client = app.test_client()
    for day, (status, code) in enumerate(
        [("undelivered", 30007), ("delivered", None), ("failed", 30003), ("undelivered", 30007)],
        start=1,
    ):
        sweep(app, ny(2026, 12, day, 9, 0))
        report_status(client, fake_twilio.messages[-1].sid, status, code)
    with app.app_context():
        assert db.session.get(Patient, patient_id).paused is False
        assert undelivered.since(db.session, PATIENT) is not None  # the last two refused
        row = db.session.scalar(select(Message).where(Message.status == "failed"))
        assert row.error_code == 30003
