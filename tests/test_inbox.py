"""The staff inbox: what lands in it and what does not, reopening, staff replies through the
Twilio stand-in, the bot holding back while staff have a thread, and the on-call alert."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from sqlalchemy import select

from bot.inbox import threads as th
from bot.models import AuditEvent, ConsentEvent, Message, StaffUser, Thread, db
from bot.sms.alerts import alert_text
from tests.conftest import (
    ADMIN_EMAIL,
    PASSWORD,
    PATIENT,
    STAFF_EMAIL,
    add_staff,
    csrf_token,
    post_sms,
    reply_of,
    sign_in,
    subscribe,
)

STRANGER = "+12025550177"  # texts the clinic, not enrolled
ON_CALL = "+12025550198"  # the on-call phone


def threads(app) -> list[Thread]:
    with app.app_context():
        rows = db.session.scalars(select(Thread).order_by(Thread.id)).all()
        db.session.expunge_all()
        return rows


def thread_of(app, phone=PATIENT) -> Thread | None:
    return next((t for t in threads(app) if t.phone == phone), None)


def unread_for(app, email: str) -> int:
    """How many open threads are unread for this staff member."""
    with app.app_context():
        user = db.session.scalar(select(StaffUser).where(StaffUser.email == email))
        return th.news(db.session, user.id)["unread"]


def state_of(app, phone=PATIENT) -> str:
    with app.app_context():
        return th.state_of(
            db.session, db.session.scalar(select(Thread).where(Thread.phone == phone))
        )


@pytest.mark.parametrize(
    ("text", "reason", "urgent"),
    [
        ("can I talk to someone", "person", False),
        ("call me please", "person", False),
        ("can I move my appointment", "person", False),
        ("blorp zizzle frobnicate", "unknown", False),
        ("hi, I have a herniated disc", "pain", False),
        ("the cat camel hurts my back when I do it", "exercise_pain", True),
        ("I suddenly can't feel my legs", "red_flag", True),
        ("is the pelvic tilt safe if I'm pregnant", "question", False),
    ],
)
def test_texts_that_need_a_person_land_in_the_inbox(twilio_app, text, reason, urgent):
    add_staff(twilio_app)
    post_sms(twilio_app.test_client(), text)
    [thread] = threads(twilio_app)
    assert (thread.phone, thread.status, thread.reason, thread.urgent) == (
        PATIENT,
        "open",
        reason,
        urgent,
    )
    assert unread_for(twilio_app, STAFF_EMAIL) == 1
    assert state_of(twilio_app) == "needs_us"


@pytest.mark.parametrize(
    "text", ["what are your hours", "where are you", "thanks!", "cat camel", "do you take aetna"]
)
def test_texts_the_bot_answers_do_not(twilio_app, text):
    post_sms(twilio_app.test_client(), text)
    assert threads(twilio_app) == []


def test_every_text_of_an_open_thread_lands_and_the_bot_still_answers(twilio_app):
    client = twilio_app.test_client()
    post_sms(client, "can I talk to someone")
    hours = post_sms(client, "what are your hours")
    assert "hours" in reply_of(hours).lower()  # no staff reply yet: the bot answers
    [thread] = threads(twilio_app)
    assert thread.reason == "person"  # the reason that brought it stays
    with twilio_app.app_context():
        last = db.session.get(Message, thread.last_message_id)
        assert last.body == "what are your hours"


def test_a_more_serious_text_raises_the_thread_and_a_lesser_one_does_not_lower_it(twilio_app):
    client = twilio_app.test_client()
    post_sms(client, "call me")
    post_sms(client, "I have chest pain and can't breathe")
    post_sms(client, "call me back when you can")
    [thread] = threads(twilio_app)
    assert (thread.reason, thread.urgent) == ("red_flag", True)


def test_done_thread_reopens_on_a_text_that_needs_a_person(staff_client, twilio_app):
    client = twilio_app.test_client()
    post_sms(client, "can I talk to someone")
    thread = thread_of(twilio_app)
    token = csrf_token(staff_client, f"/inbox/{thread.id}")
    response = staff_client.post(f"/inbox/{thread.id}/done", data={"csrf_token": token})
    assert response.status_code == 302
    done = thread_of(twilio_app)
    assert (done.status, done.done_by) == ("done", STAFF_EMAIL)
    assert (unread_for(twilio_app, STAFF_EMAIL), state_of(twilio_app)) == (0, "done")
    post_sms(client, "thanks")  # answered by the bot: stays done
    assert thread_of(twilio_app).status == "done"
    post_sms(client, "call me please")
    reopened = thread_of(twilio_app)
    assert (reopened.status, reopened.done_by) == ("open", None)
    assert (unread_for(twilio_app, STAFF_EMAIL), state_of(twilio_app)) == (1, "needs_us")


def test_inbox_lists_urgent_first_then_newest_with_unread_count_in_navigation(
    staff_client, twilio_app
):
    client = twilio_app.test_client()
    post_sms(client, "can I talk to someone", phone="+12025550111")
    post_sms(client, "I fell and can't feel my legs", phone="+12025550112")
    post_sms(client, "call me", phone=STRANGER)
    subscribe(twilio_app, "+12025550111", name="Ana <b>Lopez</b>")
    page = staff_client.get("/inbox").get_data(as_text=True)
    order = [page.index(x) for x in ("(202) 555-0112", "(202) 555-0177", "Ana &lt;b&gt;Lopez")]
    assert order == sorted(order)  # urgent first, then the newest
    assert "Red-flag symptoms" in page and "Asks for a person" in page
    assert "Not enrolled" in page
    assert re.search(r'<span class="badge" aria-label="3 unread">3</span>', page)
    other = staff_client.get("/patients").get_data(as_text=True)
    assert 'aria-label="3 unread"' in other  # on every staff page
    thread = thread_of(twilio_app, STRANGER)
    staff_client.get(f"/inbox/{thread.id}")  # opening it reads it
    assert 'aria-label="2 unread"' in staff_client.get("/patients").get_data(as_text=True)


def test_inbox_needs_sign_in(twilio_app):
    post_sms(twilio_app.test_client(), "call me")
    thread = thread_of(twilio_app)
    client = twilio_app.test_client()
    for url in ("/inbox", f"/inbox/{thread.id}"):
        response = client.get(url)
        assert response.status_code == 302 and "/signin" in response.location
    assert client.post(f"/inbox/{thread.id}/reply", data={"body": "hi"}).status_code in (302, 400)
    assert client.post(f"/inbox/{thread.id}/done").status_code in (302, 400)
    assert thread_of(twilio_app).status == "open"


def send_reply(staff_client, url_page: str, url_post: str, body: str, **extra):
    token = csrf_token(staff_client, url_page)
    return staff_client.post(url_post, data={"csrf_token": token, "body": body, **extra})


def second_member(app):
    """A colleague at the desk, signed in on a client of their own."""
    add_staff(app, ADMIN_EMAIL, "staff")
    client = app.test_client()
    assert sign_in(client, ADMIN_EMAIL).status_code == 302
    return client


def in_list(staff_client, name: str) -> str:
    return staff_client.get(f"/inbox?list={name}").get_data(as_text=True)


def test_each_member_has_their_own_unread(staff_client, twilio_app):
    colleague = second_member(twilio_app)
    client = twilio_app.test_client()
    post_sms(client, "I fell and can't feel my legs")
    post_sms(client, "call me", phone=STRANGER)
    assert unread_for(twilio_app, STAFF_EMAIL) == unread_for(twilio_app, ADMIN_EMAIL) == 2
    thread = thread_of(twilio_app)
    staff_client.get(f"/inbox/{thread.id}")  # one member opens the red flag...
    assert unread_for(twilio_app, STAFF_EMAIL) == 1
    assert unread_for(twilio_app, ADMIN_EMAIL) == 2  # ...and it is still unread for the other
    assert 'aria-label="2 unread"' in colleague.get("/patients").get_data(as_text=True)
    listed = in_list(colleague, "needs_us")
    assert listed.count('<span class="badge">Unread</span>') == 2
    assert in_list(staff_client, "needs_us").count('<span class="badge">Unread</span>') == 1
    post_sms(client, "are you there??")  # news since: unread again for the one who read it
    assert unread_for(twilio_app, STAFF_EMAIL) == 2


def test_a_desk_reply_waits_on_the_patient_until_they_text(staff_client, twilio_app, fake_twilio):
    colleague = second_member(twilio_app)
    client = twilio_app.test_client()
    post_sms(client, "can I talk to someone")
    thread = thread_of(twilio_app)
    url = f"/inbox/{thread.id}"
    assert "Needs us (1, 1 unread)" in staff_client.get("/inbox").get_data(as_text=True)
    send_reply(staff_client, url, url + "/reply", "Hi, it's Jo. What do you need?")
    assert state_of(twilio_app) == "waiting"
    page = staff_client.get("/inbox").get_data(as_text=True)
    assert "Needs us (0)" in page and "Waiting on the patient (1)" in page
    waiting = in_list(staff_client, "waiting")
    assert url in waiting and "state-waiting" in waiting
    assert 'class="status state-waiting">Waiting on the patient' in staff_client.get(url).get_data(
        as_text=True
    )
    # The one who replied has read it; the colleague has news: the thread and the reply.
    assert (unread_for(twilio_app, STAFF_EMAIL), unread_for(twilio_app, ADMIN_EMAIL)) == (0, 1)
    post_sms(client, "I need to move Tuesday")  # the patient answers: back to the desk
    assert state_of(twilio_app) == "needs_us"
    assert url in in_list(colleague, "needs_us") and url not in in_list(colleague, "waiting")
    assert unread_for(twilio_app, STAFF_EMAIL) == 1


def test_a_reply_that_was_not_sent_leaves_the_thread_with_the_desk(
    staff_client, twilio_app, fake_twilio
):
    post_sms(twilio_app.test_client(), "call me")
    thread = thread_of(twilio_app)
    send_reply(staff_client, "/inbox", f"/inbox/{thread.id}/reply", "   ")  # refused: empty
    assert state_of(twilio_app) == "needs_us"


def assign(client, thread_id: int, owner: str):
    token = csrf_token(client, f"/inbox/{thread_id}")
    return client.post(f"/inbox/{thread_id}/assign", data={"csrf_token": token, "owner": owner})


def test_a_thread_is_given_to_me_to_a_colleague_and_to_nobody(staff_client, twilio_app):
    colleague = second_member(twilio_app)
    post_sms(twilio_app.test_client(), "I fell and can't feel my legs")
    thread = thread_of(twilio_app)
    url = f"/inbox/{thread.id}"
    page = staff_client.get(url).get_data(as_text=True)
    assert "Assign to me" in page and "Mine (0)" in staff_client.get("/inbox").get_data(
        as_text=True
    )
    response = assign(staff_client, thread.id, "me")
    assert response.status_code == 302
    assert "The thread is yours." in staff_client.get(response.location).get_data(as_text=True)
    with twilio_app.app_context():
        me = db.session.scalar(select(StaffUser).where(StaffUser.email == STAFF_EMAIL))
        other = db.session.scalar(select(StaffUser).where(StaffUser.email == ADMIN_EMAIL))
    mine = thread_of(twilio_app)
    assert (mine.owner_id, mine.assigned_at is not None) == (me.id, True)
    assert url in in_list(staff_client, "mine") and url not in in_list(colleague, "mine")
    assert "Mine (1)" in staff_client.get("/inbox").get_data(as_text=True)
    assert "Me" in in_list(staff_client, "needs_us")  # the owner column
    assert STAFF_EMAIL in in_list(colleague, "needs_us")
    # Given to the colleague: theirs now.
    assign(staff_client, thread.id, str(other.id))
    assert thread_of(twilio_app).owner_id == other.id
    assert url in in_list(colleague, "mine") and url not in in_list(staff_client, "mine")
    # To nobody.
    assign(colleague, thread.id, "")
    assert (thread_of(twilio_app).owner_id, thread_of(twilio_app).assigned_at) == (None, None)
    with twilio_app.app_context():
        notes = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "assign_thread")
            .order_by(AuditEvent.id)
        ).all()  # fmt: skip
    assert notes == [f"thread {thread.id} to {STAFF_EMAIL}", f"thread {thread.id} to {ADMIN_EMAIL}",
                     f"thread {thread.id} to nobody"]  # fmt: skip


@pytest.mark.parametrize("owner", ["999999", "abc", "-1", "1" * 30, "\u00b2", "<script>"])
def test_a_thread_is_not_given_to_an_account_that_does_not_exist(staff_client, twilio_app, owner):
    post_sms(twilio_app.test_client(), "call me")
    thread = thread_of(twilio_app)
    response = assign(staff_client, thread.id, owner)
    assert response.status_code == 302
    shown = staff_client.get(response.location).get_data(as_text=True)
    assert "does not exist or is deactivated" in shown and "<script>" not in shown
    assert thread_of(twilio_app).owner_id is None


def test_a_thread_is_not_given_to_a_deactivated_account(staff_client, twilio_app):
    second_member(twilio_app)
    with twilio_app.app_context():
        other = db.session.scalar(select(StaffUser).where(StaffUser.email == ADMIN_EMAIL))
        other.active = False
        db.session.commit()
        other_id = other.id
    post_sms(twilio_app.test_client(), "call me")
    thread = thread_of(twilio_app)
    page = staff_client.get(f"/inbox/{thread.id}").get_data(as_text=True)
    assert ADMIN_EMAIL not in page  # not offered
    assign(staff_client, thread.id, str(other_id))
    assert thread_of(twilio_app).owner_id is None


def test_giving_a_thread_needs_sign_in_and_the_form_token(staff_client, twilio_app):
    post_sms(twilio_app.test_client(), "call me")
    thread = thread_of(twilio_app)
    anonymous = twilio_app.test_client()
    assert anonymous.post(f"/inbox/{thread.id}/assign", data={"owner": "me"}).status_code in (
        302, 400,
    )  # fmt: skip
    assert staff_client.post(f"/inbox/{thread.id}/assign", data={"owner": "me"}).status_code == 400
    assert thread_of(twilio_app).owner_id is None


def test_staff_reply_goes_through_twilio_and_is_logged_with_who_sent_it(
    staff_client, twilio_app, fake_twilio
):
    client = twilio_app.test_client()
    post_sms(client, "can I move my appointment", phone=STRANGER)
    thread = thread_of(twilio_app, STRANGER)
    url = f"/inbox/{thread.id}"
    response = send_reply(staff_client, url, url + "/reply", "Sure, \u2019Tuesday at 3?\u2019")
    assert response.status_code == 302
    [sent] = fake_twilio.sent_to(STRANGER)
    assert sent.body == "Sure, 'Tuesday at 3?'"  # curly quotes made plain: one cheap text
    with twilio_app.app_context():
        row = db.session.scalar(select(Message).where(Message.kind == "staff_reply"))
        assert (row.sent_by, row.message_sid, row.status) == (STAFF_EMAIL, sent.sid, "queued")
    page = staff_client.get(url).get_data(as_text=True)
    assert "Sure, &#39;Tuesday at 3?&#39;" in page and f"sent by {STAFF_EMAIL}" in page
    assert thread_of(twilio_app, STRANGER).with_staff


def test_while_staff_have_the_thread_the_bot_does_not_guess(staff_client, twilio_app):
    client = twilio_app.test_client()
    post_sms(client, "can I talk to someone")
    thread = thread_of(twilio_app)
    send_reply(staff_client, f"/inbox/{thread.id}", f"/inbox/{thread.id}/reply", "Hi, it's Jo.")
    held = reply_of(post_sms(client, "what are your hours"))
    assert held.startswith("Thanks, we got your message. A staff member will reply soon")
    assert reply_of(post_sms(client, "I fell and can't feel my legs")).startswith("Please call 911")
    assert "ayuda" not in reply_of(post_sms(client, "HELP")).lower()
    assert "A staff member" not in reply_of(post_sms(client, "HELP"))
    held_es = reply_of(post_sms(client, "hola, cual es el horario?"))
    assert held_es.startswith("Gracias, recibimos su mensaje")
    # Marked done: the bot answers again.
    token = csrf_token(staff_client, f"/inbox/{thread.id}")
    staff_client.post(f"/inbox/{thread.id}/done", data={"csrf_token": token})
    assert "hours" in reply_of(post_sms(client, "what are your hours")).lower()


def test_stop_is_still_honoured_while_staff_have_the_thread(staff_client, twilio_app):
    client = twilio_app.test_client()
    post_sms(client, "call me")
    thread = thread_of(twilio_app)
    send_reply(staff_client, f"/inbox/{thread.id}", f"/inbox/{thread.id}/reply", "Calling now")
    assert "no more texts" in reply_of(post_sms(client, "STOP"))


def test_reply_to_an_opted_out_number_is_refused_with_the_reason(
    staff_client, twilio_app, fake_twilio
):
    client = twilio_app.test_client()
    post_sms(client, "call me")
    post_sms(client, "STOP")
    thread = thread_of(twilio_app)
    page = staff_client.get(f"/inbox/{thread.id}").get_data(as_text=True)
    assert "opted out of texts" in page and "<textarea" not in page
    response = send_reply(staff_client, "/inbox", f"/inbox/{thread.id}/reply", "Are you ok?")
    assert response.status_code == 302
    shown = staff_client.get(response.location).get_data(as_text=True)
    assert "Not sent: this number opted out of texts" in shown
    assert fake_twilio.sent_to(PATIENT) == []
    with twilio_app.app_context():
        assert db.session.scalar(select(Message).where(Message.kind == "staff_reply")) is None


@pytest.mark.parametrize(("body", "message"), [("   ", "Type a reply first"), ("x" * 1601, "1601")])
def test_empty_or_too_long_reply_is_refused(staff_client, twilio_app, fake_twilio, body, message):
    post_sms(twilio_app.test_client(), "call me")
    thread = thread_of(twilio_app)
    response = send_reply(staff_client, "/inbox", f"/inbox/{thread.id}/reply", body)
    assert message in staff_client.get(response.location).get_data(as_text=True)
    assert fake_twilio.sent_to(PATIENT) == []


def test_reply_from_the_patient_page(staff_client, twilio_app, fake_twilio):
    patient_id = subscribe(twilio_app, PATIENT)
    url = f"/patients/{patient_id}"
    page = staff_client.get(url).get_data(as_text=True)
    assert 'data-gsm7="' in page and 'aria-describedby="body-count"' in page
    response = send_reply(staff_client, url, url + "/reply", "See you Tuesday!")
    assert response.status_code == 302 and response.location.startswith(url)
    [sent] = fake_twilio.sent_to(PATIENT)
    assert sent.body == "See you Tuesday!"
    assert "See you Tuesday!" in staff_client.get(url).get_data(as_text=True)
    thread = thread_of(twilio_app)
    assert (thread.status, thread.reason, thread.with_staff) == ("open", "staff", True)


def test_send_and_mark_done(staff_client, twilio_app, fake_twilio):
    post_sms(twilio_app.test_client(), "call me")
    thread = thread_of(twilio_app)
    url = f"/inbox/{thread.id}"
    response = send_reply(staff_client, url, url + "/reply", "Done, thanks", then="done")
    assert response.location.endswith("/inbox")
    assert thread_of(twilio_app).status == "done"
    assert len(fake_twilio.sent_to(PATIENT)) == 1
    # One confirmation that says both, not "Reply sent." and then another.
    page = staff_client.get("/inbox").get_data(as_text=True)
    assert page.count('class="flash') == 1
    assert "Reply sent. The thread is marked done." in page


def test_send_and_mark_done_while_twilio_is_busy_says_so_once(make_app, fake_twilio):
    from tests.conftest import twilio_settings

    app = make_app(**twilio_settings(fake_twilio, SEND_SINGLE_WITHIN=0))
    add_staff(app)
    staff = app.test_client()
    sign_in(staff)
    post_sms(app.test_client(), "call me")
    thread = thread_of(app)
    url = f"/inbox/{thread.id}"
    fake_twilio.refuse_first = 1  # 429, and no time to wait on the page: the outbox sends it
    send_reply(staff, url, url + "/reply", "Done, thanks", then="done")
    assert thread_of(app).status == "done"
    page = staff.get("/inbox").get_data(as_text=True)
    assert page.count('class="flash') == 1
    assert "the reply waits" in page and "The thread is marked done." in page


# --- the on-call phone ----------------------------------------------------------------------


def texted(client, body, phone=PATIENT):
    """A text, its answer sent (the response closed: the alert goes after it)."""
    response = post_sms(client, body, phone=phone)
    response.close()
    return response


@pytest.fixture
def alerting_app(make_app, fake_twilio):
    from tests.conftest import twilio_settings

    return make_app(**twilio_settings(fake_twilio, ALERT_NUMBER=ON_CALL))


def test_urgent_text_alerts_the_on_call_phone_once_an_hour_without_health_details(
    alerting_app, fake_twilio
):
    subscribe(alerting_app, PATIENT, name="Maria Garcia")
    client = alerting_app.test_client()
    texted(client, "I fell down the stairs and can't feel my legs")
    texted(client, "the pain is getting worse, I can't feel my legs")
    [alert] = fake_twilio.sent_to(ON_CALL)
    assert alert.body == (
        "Clinic text line: urgent text from a patient (M., number ending 23), see the inbox."
    )
    assert alert.body == alert_text("Maria Garcia", PATIENT)
    for detail in ("legs", "fell", "Garcia", "Maria", "555"):
        assert detail not in alert.body
    texted(client, "call me", phone=STRANGER)  # not urgent: no alert
    texted(client, "chest pain and I can't breathe", phone="+12025550113")
    bodies = [m.body for m in fake_twilio.sent_to(ON_CALL)]
    assert bodies[1:] == [alert_text(None, "+12025550113")]  # another number: its own alert
    # An hour later, the same patient again: alerted again.
    with alerting_app.app_context():
        thread = db.session.scalar(select(Thread).where(Thread.phone == PATIENT))
        thread.alerted_at -= dt.timedelta(minutes=61)
        db.session.commit()
    texted(client, "I can't feel my legs at all now")
    assert len(fake_twilio.sent_to(ON_CALL)) == 3


def test_no_alert_without_alert_number(twilio_app, fake_twilio):
    post_sms(twilio_app.test_client(), "I can't feel my legs")
    assert thread_of(twilio_app).urgent
    assert fake_twilio.sent_to(ON_CALL) == []


def test_opted_out_patient_with_a_red_flag_still_reaches_the_inbox(twilio_app):
    client = twilio_app.test_client()
    post_sms(client, "STOP")
    post_sms(client, "I can't feel my legs")
    thread = thread_of(twilio_app)
    assert (thread.reason, thread.urgent) == ("red_flag", True)
    with twilio_app.app_context():
        assert db.session.scalar(select(ConsentEvent.action)) == "opt_out"


def test_plain_staff_do_not_reach_a_removed_patient_through_the_inbox(
    staff_client, twilio_app, fake_twilio
):
    """Issue 21's reproduction: /inbox/<id> showed a removed patient's texts to plain staff
    and let them text the number; the audit row had no patient id."""
    from bot.models import AuditEvent, Patient
    from tests.conftest import ADMIN_EMAIL, add_staff, sign_in

    patient_id = subscribe(twilio_app, PATIENT)
    post_sms(twilio_app.test_client(), "can I talk to someone")
    thread = thread_of(twilio_app)
    url = f"/inbox/{thread.id}"
    assert staff_client.get(url).status_code == 200
    token = csrf_token(staff_client, url)
    with twilio_app.app_context():
        db.session.get(Patient, patient_id).removed_at = dt.datetime.now(dt.UTC)
        db.session.commit()
    assert staff_client.get(url).status_code == 404
    assert (
        staff_client.post(url + "/reply", data={"csrf_token": token, "body": "hi"}).status_code
        == 404
    )
    assert fake_twilio.sent_to(PATIENT) == []
    add_staff(twilio_app, ADMIN_EMAIL, "admin")
    admin = twilio_app.test_client()
    sign_in(admin, ADMIN_EMAIL)
    assert admin.get(url).status_code == 200  # as the removed patient's own page
    with twilio_app.app_context():
        seen = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "view_conversation")
        ).all()
        assert seen[-1].actor == ADMIN_EMAIL and seen[-1].patient_id == patient_id


def test_outsiders_cannot_page_the_on_call_phone_all_night(alerting_app, fake_twilio):
    """Issue 21: each unknown number texting a red flag paged ALERT_NUMBER (one per number
    per hour, no overall cap). Numbers not enrolled page it ALERTS_FROM_STRANGERS_PER_HOUR
    times an hour (5); the rest are held and counted in the inbox; an enrolled patient's
    alert is never held."""
    from tests.conftest import add_staff, sign_in

    client = alerting_app.test_client()
    for i in range(8):
        texted(client, "I can't feel my legs", phone=f"+120255501{40 + i}")
    assert len(fake_twilio.sent_to(ON_CALL)) == 5
    subscribe(alerting_app, PATIENT, name="Maria Garcia")
    texted(client, "chest pain and I can't breathe")
    assert fake_twilio.sent_to(ON_CALL)[-1].body == alert_text("Maria Garcia", PATIENT)
    add_staff(alerting_app)
    staff = alerting_app.test_client()
    sign_in(staff)
    inbox = staff.get("/inbox").get_data(as_text=True)
    assert "3 urgent texts from numbers not enrolled did not page the on-call phone" in inbox


def test_a_thread_opens_at_its_newest_texts_with_earlier_ones_a_link_away(staff_client, twilio_app):
    """Issue 25: under a month of reminders and DONEs, the urgent text and the reply box
    were thousands of pixels down. The newest dozen are shown, "Earlier texts" above."""
    client = twilio_app.test_client()
    for day in range(30):
        post_sms(client, f"old question number {day:02d}")
    post_sms(client, "I can't feel my legs")
    thread = thread_of(twilio_app)
    page = staff_client.get(f"/inbox/{thread.id}").get_data(as_text=True)
    assert "I can&#39;t feel my legs" in page and "Earlier texts" in page
    assert "old question number 00" not in page  # a month back: a link away
    conversation = page[page.index('id="conversation"') :]
    assert conversation.index("I can&#39;t feel my legs") < conversation.index("old question")
    earlier = re.search(r'href="\?before=(\d+)#conversation"', page).group(1)
    back = staff_client.get(f"/inbox/{thread.id}?before={earlier}").get_data(as_text=True)

    def numbers(html):
        return sorted(int(n) for n in re.findall(r"old question number (\d+)", html))

    newest, before = numbers(page), numbers(back)
    assert "Newest texts" in back and before and max(before) < min(newest)
    # Earlier texts only (the page's head still quotes the text that brought it here).
    assert "I can&#39;t feel my legs" not in back[back.index('id="conversation"') :]
    assert "I can&#39;t feel my legs" in back[: back.index('id="conversation"')]


def test_an_urgent_thread_says_what_the_bot_did_and_the_alert_opens_it(make_app, fake_twilio):
    """Issue 25, item 2: the on-call text carries a link to the thread (opened after
    signing in) and tells two patients of the same initial apart without a name; the
    thread says what the bot already told the patient, and when, with the number to call."""
    from tests.conftest import PASSWORD, add_staff, twilio_settings

    app = make_app(
        **twilio_settings(fake_twilio, ALERT_NUMBER=ON_CALL, PUBLIC_BASE_URL="http://localhost")
    )
    subscribe(app, PATIENT, name="Jo Adams")
    subscribe(app, "+12025550145", name="Jim Burke")
    client = app.test_client()
    texted(client, "I can't feel my legs and I can't control my bladder")
    texted(client, "chest pain and I can't breathe", phone="+12025550145")
    with app.app_context():
        thread_id = db.session.scalar(select(Thread.id).where(Thread.phone == PATIENT))
    jo, jim = (m.body for m in fake_twilio.sent_to(ON_CALL))
    assert jo == (
        "Clinic text line: urgent text from a patient (J., number ending 23): "
        f"http://localhost/inbox/{thread_id}"
    )
    assert jim.startswith("Clinic text line: urgent text from a patient (J., number ending 45)")
    assert jo != jim and "Adams" not in jo and "legs" not in jo

    add_staff(app)
    on_call = app.test_client()
    link = jo.rsplit(": ", 1)[1].removeprefix("http://localhost")
    response = on_call.get(link)
    assert response.status_code == 302 and "/signin?next=%2Finbox%2F" in response.location
    token = csrf_token(on_call, "/signin")
    signed_in = on_call.post(
        response.location,
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert signed_in.status_code == 302 and signed_in.location == link
    page = on_call.get(link).get_data(as_text=True)
    assert "What the bot already did" in page and "Told to call 911 now" in page
    assert f'href="tel:{PATIENT}"' in page


def test_the_news_for_the_poll_hold_counts_and_no_patient_data(staff_client, twilio_app):
    anonymous = twilio_app.test_client()
    response = anonymous.get("/inbox/news")
    assert response.status_code == 302 and "/signin" in response.location
    first = staff_client.get("/inbox/news")
    assert first.headers["Cache-Control"] == "no-store"
    assert (first.json["unread"], first.json["urgent_unread"]) == (0, 0)
    subscribe(twilio_app, PATIENT, name="Ana Lopez")
    post_sms(twilio_app.test_client(), "I fell and can't feel my legs")
    post_sms(twilio_app.test_client(), "call me", phone=STRANGER)
    news = staff_client.get("/inbox/news").json
    assert (news["unread"], news["urgent_unread"]) == (2, 1)
    assert news["mark"] != first.json["mark"]
    said = staff_client.get("/inbox/news").get_data(as_text=True)
    for private in ("Ana", "Lopez", "legs", "555", "call me"):
        assert private not in said
    # Each change a list would show moves the mark: a reply, an owner, marked done.
    thread = thread_of(twilio_app)
    marks = [news["mark"]]
    staff_client.get(f"/inbox/{thread.id}")  # read: the unread count, not the lists
    assert staff_client.get("/inbox/news").json["unread"] == 1
    assign(staff_client, thread.id, "me")
    marks.append(staff_client.get("/inbox/news").json["mark"])
    token = csrf_token(staff_client, f"/inbox/{thread.id}")
    staff_client.post(f"/inbox/{thread.id}/done", data={"csrf_token": token})
    marks.append(staff_client.get("/inbox/news").json["mark"])
    assert len(set(marks)) == 3


def test_signing_in_lands_on_the_inbox_when_an_urgent_text_waits(twilio_app):
    add_staff(twilio_app)
    calm = twilio_app.test_client()
    assert sign_in(calm).location == "/patients"
    post_sms(twilio_app.test_client(), "call me")  # not urgent
    assert sign_in(twilio_app.test_client()).location == "/patients"
    post_sms(twilio_app.test_client(), "I fell and can't feel my legs", phone=STRANGER)
    client = twilio_app.test_client()
    assert sign_in(client).location == "/inbox"
    # Once this member has read it, the usual page again; a page asked for is kept.
    client.get(f"/inbox/{thread_of(twilio_app, STRANGER).id}")
    again = twilio_app.test_client()
    assert sign_in(again).location == "/patients"
    later = twilio_app.test_client()
    token = csrf_token(later, "/signin?next=/dashboard")
    response = later.post(
        "/signin?next=/dashboard",
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert response.location == "/dashboard"
