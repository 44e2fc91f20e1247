"""Signing in and staying signed in: server-side sessions and throttled guessing."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from sqlalchemy import select

import bot.accounts.auth
import bot.web.signin
from bot.accounts.auth import REFUSED, authenticate
from bot.models import AuditEvent, SignInThrottle, StaffSession, db, utcnow
from tests.conftest import ADMIN_EMAIL, PASSWORD, STAFF_EMAIL, add_staff, csrf_token, sign_in

WRONG = "wrong password!"


def refused(response) -> bool:
    return response.status_code == 200 and REFUSED in response.get_data(as_text=True).replace(
        "&#39;", "'"
    )


def client_at(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


@pytest.fixture
def staff_app(twilio_app):
    add_staff(twilio_app)
    return twilio_app


def signed_in(client) -> bool:
    return client.get("/patients").status_code == 200


# --- guessing ------------------------------------------------------------------------------


def test_five_wrong_passwords_hold_that_address_for_that_account_only(staff_app):
    guesser = client_at(staff_app, "198.51.100.7")
    for _ in range(5):
        assert refused(sign_in(guesser, password=WRONG))
    # The right password from the guesser's address: refused, in the same words.
    assert refused(sign_in(guesser))
    assert not signed_in(guesser)
    # The staff member at the front desk is not locked out by someone else's guesses.
    desk = client_at(staff_app, "203.0.113.20")
    assert sign_in(desk).status_code == 302
    assert signed_in(desk)


def test_one_address_guessing_many_accounts_is_held(staff_app):
    guesser = client_at(staff_app, "198.51.100.8")
    for number in range(bot.accounts.auth.ADDRESS_LIMIT):
        assert refused(sign_in(guesser, email=f"guess{number}@clinic.example", password=WRONG))
    assert refused(sign_in(guesser))  # a real account, the right password: held
    assert sign_in(client_at(staff_app, "203.0.113.21")).status_code == 302


def test_guesses_from_many_addresses_hold_the_account(staff_app):
    for number in range(bot.accounts.auth.ACCOUNT_LIMIT):
        assert refused(sign_in(client_at(staff_app, f"198.51.100.{number + 1}"), password=WRONG))
    assert refused(sign_in(client_at(staff_app, "203.0.113.22")))


def test_a_right_password_takes_its_count_back(staff_app):
    desk = client_at(staff_app, "203.0.113.23")
    for _ in range(4):
        assert refused(sign_in(desk, password=WRONG))
    assert sign_in(desk).status_code == 302
    with staff_app.app_context():
        rows = {r.key: r.failures for r in db.session.scalars(select(SignInThrottle))}
    assert rows == {"address:203.0.113.23": 4}


def test_every_refusal_reads_the_same_and_costs_one_hash(staff_app, monkeypatch):
    add_staff(staff_app, "gone@clinic.example")
    with staff_app.app_context():
        from bot.models import StaffUser

        user = db.session.scalar(select(StaffUser).where(StaffUser.email == "gone@clinic.example"))
        user.active = False
        db.session.commit()
    hashes = []
    real = bot.accounts.auth.check_password_hash
    monkeypatch.setattr(
        bot.accounts.auth, "check_password_hash", lambda *a: hashes.append(1) or real(*a)
    )
    held = client_at(staff_app, "198.51.100.9")
    for _ in range(5):
        sign_in(held, password=WRONG)
    hashes.clear()
    pages = {
        "wrong password": sign_in(client_at(staff_app, "203.0.113.1"), password=WRONG),
        "unknown email": sign_in(client_at(staff_app, "203.0.113.2"), "nobody@clinic.example"),
        "deactivated": sign_in(client_at(staff_app, "203.0.113.3"), "gone@clinic.example"),
        "throttled": sign_in(held),
    }
    assert hashes == [1, 1, 1, 1]
    texts = set()
    for why, response in pages.items():
        assert refused(response), why
        html = response.get_data(as_text=True)
        texts.add(html[html.index("<main>") :].split('name="csrf_token"')[0])
    assert len(texts) == 1


def test_guesses_sent_at_once_are_all_counted(staff_app):
    """40 wrong passwords at the same moment: each counted (no lost update), and only the
    first five are checked at all."""
    outcomes = []
    start = threading.Barrier(40)

    def guess():
        with staff_app.app_context():
            start.wait()
            _, why = authenticate(db.session, STAFF_EMAIL, WRONG, "198.51.100.10", utcnow())
            outcomes.append(why)
            db.session.remove()

    threads = [threading.Thread(target=guess) for _ in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["throttled"] * 35 + ["wrong"] * 5
    with staff_app.app_context():
        pair = db.session.get(SignInThrottle, f"pair:{STAFF_EMAIL} 198.51.100.10")
        assert pair.failures == 40


def test_the_window_passes(staff_app, monkeypatch):
    guesser = client_at(staff_app, "198.51.100.11")
    for _ in range(6):
        sign_in(guesser, password=WRONG)
    later = utcnow() + dt.timedelta(minutes=16)
    monkeypatch.setattr(bot.web.signin, "utcnow", lambda: later)
    assert sign_in(guesser).status_code == 302


# --- sessions ------------------------------------------------------------------------------


def session_cookie(client) -> str:
    return client.get_cookie("session").value


def test_a_cookie_copied_before_sign_out_opens_nothing(staff_app):
    client = staff_app.test_client()
    assert sign_in(client).status_code == 302
    stolen = session_cookie(client)
    token = csrf_token(client, "/patients")
    assert client.post("/signout", data={"csrf_token": token}).status_code == 302
    assert not signed_in(client)
    replay = staff_app.test_client()
    replay.set_cookie("session", stolen)
    response = replay.get("/patients")
    assert response.status_code == 302 and response.location.startswith("/signin")
    with staff_app.app_context():
        assert db.session.scalars(select(StaffSession)).all() == []


def test_sessions_end_after_idle_time_and_lifetime(staff_app, monkeypatch):
    client = staff_app.test_client()
    assert sign_in(client).status_code == 302
    start = utcnow()
    clock = {"now": start}
    monkeypatch.setattr(bot.web.signin, "utcnow", lambda: clock["now"])
    # Busy all day, a request every 20 minutes: signed in for 12 hours, not more.
    while clock["now"] + dt.timedelta(minutes=20) < start + dt.timedelta(hours=12):
        clock["now"] += dt.timedelta(minutes=20)
        assert signed_in(client), clock["now"] - start
    clock["now"] = start + dt.timedelta(hours=12, minutes=1)
    assert not signed_in(client)
    # Idle: 31 minutes without a request.
    assert sign_in(client).status_code == 302
    clock["now"] += dt.timedelta(minutes=29)
    assert signed_in(client)
    clock["now"] += dt.timedelta(minutes=31)
    assert not signed_in(client)


def test_idle_timeout_is_a_setting(make_app, fake_twilio, monkeypatch):
    app = make_app(STAFF_IDLE_MINUTES="5")
    add_staff(app)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    later = utcnow() + dt.timedelta(minutes=6)
    monkeypatch.setattr(bot.web.signin, "utcnow", lambda: later)
    assert not signed_in(client)


def test_deactivating_an_account_ends_its_sessions(staff_app):
    staff = staff_app.test_client()
    assert sign_in(staff).status_code == 302
    add_staff(staff_app, ADMIN_EMAIL, "admin")
    admin = staff_app.test_client()
    assert sign_in(admin, ADMIN_EMAIL).status_code == 302
    with staff_app.app_context():
        from bot.models import StaffUser

        user_id = db.session.scalar(select(StaffUser.id).where(StaffUser.email == STAFF_EMAIL))
    token = csrf_token(admin, "/staff")
    admin.post(f"/staff/{user_id}/active", data={"csrf_token": token})
    assert not signed_in(staff)
    admin.post(f"/staff/{user_id}/active", data={"csrf_token": token})  # active again
    assert not signed_in(staff)  # the old session stays ended
    assert sign_in(staff).status_code == 302


def test_a_password_change_ends_every_session(staff_app):
    desk, phone = staff_app.test_client(), staff_app.test_client()
    assert sign_in(desk).status_code == 302 and sign_in(phone).status_code == 302
    result = staff_app.test_cli_runner().invoke(
        args=["staff", "password", STAFF_EMAIL, "--password", "a new long password"]
    )
    assert result.exit_code == 0, result.output
    assert not signed_in(desk) and not signed_in(phone)
    assert refused(sign_in(desk))
    assert sign_in(desk, password="a new long password").status_code == 302


def test_a_forged_or_empty_session_id_opens_nothing(staff_app):
    client = staff_app.test_client()
    with client.session_transaction() as session:
        session["_user_id"] = "1"  # the old form: a user's id
    assert not signed_in(client)
    with client.session_transaction() as session:
        session["_user_id"] = "x" * 5000
    assert not signed_in(client)


def test_an_outsider_at_one_address_cannot_lock_the_front_desk_out(staff_app):
    """Issue 21's reproduction: 51 wrong passwords for a known staff address from one
    address in 15 minutes locked that account for everyone."""
    outsider = client_at(staff_app, "198.51.100.66")
    for _ in range(bot.accounts.auth.ACCOUNT_LIMIT + 1):
        assert refused(sign_in(outsider, password=WRONG))
    assert refused(sign_in(outsider))  # the outsider's own address: still held
    desk = client_at(staff_app, "203.0.113.66")
    assert sign_in(desk).status_code == 302 and signed_in(desk)
    with staff_app.app_context():
        account = db.session.get(SignInThrottle, f"account:{STAFF_EMAIL}")
        assert account is None  # the desk's sign-in took the account's count back


def test_the_account_limit_still_holds_guessing_spread_over_addresses(staff_app):
    """Guesses at the pair limit from each of ACCOUNT_LIMIT / PAIR_LIMIT addresses: the
    account is held, for an address that never guessed too."""
    addresses = bot.accounts.auth.ACCOUNT_LIMIT // bot.accounts.auth.PAIR_LIMIT + 1
    for number in range(addresses):
        guesser = client_at(staff_app, f"198.51.100.{100 + number}")
        for _ in range(bot.accounts.auth.PAIR_LIMIT + 3):  # three more each, over their own limit
            assert refused(sign_in(guesser, password=WRONG))
    with staff_app.app_context():
        account = db.session.get(SignInThrottle, f"account:{STAFF_EMAIL}")
        assert account.failures == addresses * bot.accounts.auth.PAIR_LIMIT  # only what was allowed
    assert refused(sign_in(client_at(staff_app, "203.0.113.67")))


def test_the_inbox_poll_does_not_keep_a_session_alive(staff_app, monkeypatch):
    """An open tab asks for news every INBOX_POLL_SECONDS: that is no person at the desk,
    so the session still ends STAFF_IDLE_MINUTES after the last page a person asked for."""
    client = staff_app.test_client()
    assert sign_in(client).status_code == 302
    start = utcnow()
    clock = {"now": start}
    monkeypatch.setattr(bot.web.signin, "utcnow", lambda: clock["now"])
    for _ in range(29):  # a poll a minute for 29 minutes: each answered
        clock["now"] += dt.timedelta(minutes=1)
        response = client.get("/inbox/news")
        assert response.status_code == 200 and response.is_json
    clock["now"] = start + dt.timedelta(minutes=31)
    assert client.get("/inbox/news").status_code == 302  # ended: the poll gets no news
    assert not signed_in(client)


def test_a_person_at_the_desk_keeps_it_alive_as_before(staff_app, monkeypatch):
    client = staff_app.test_client()
    assert sign_in(client).status_code == 302
    clock = {"now": utcnow()}
    monkeypatch.setattr(bot.web.signin, "utcnow", lambda: clock["now"])
    for _ in range(3):
        clock["now"] += dt.timedelta(minutes=20)
        assert client.get("/inbox/news").status_code == 200
        assert signed_in(client)  # a page: activity


def change_password(client, current: str, new: str, again: str | None = None):
    token = csrf_token(client, "/account/password")
    return client.post(
        "/account/password",
        data={"csrf_token": token, "current": current, "new": new,
              "again": new if again is None else again},
    )  # fmt: skip


def test_a_member_sets_their_own_password_and_other_browsers_are_signed_out(staff_app):
    here, elsewhere = staff_app.test_client(), staff_app.test_client()
    assert sign_in(here).status_code == 302 and sign_in(elsewhere).status_code == 302
    assert "Password" in here.get("/patients").get_data(as_text=True)  # in the navigation
    response = change_password(here, PASSWORD, "a new long passphrase")
    assert response.status_code == 302
    assert "Your password is changed" in here.get(response.location).get_data(as_text=True)
    assert signed_in(here)  # this browser stays signed in, on a new session
    assert not signed_in(elsewhere)  # the other was signed out
    fresh = staff_app.test_client()
    assert sign_in(fresh).status_code == 200  # the old password: refused, the form again
    assert sign_in(fresh, password="a new long passphrase").status_code == 302
    assert signed_in(fresh)
    with staff_app.app_context():
        [entry] = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == "own_password")
        ).all()
        assert entry.actor == STAFF_EMAIL


@pytest.mark.parametrize(
    ("current", "new", "again", "said"),
    [
        ("wrong password!", "a new long passphrase", None, "That is not your current password."),
        (PASSWORD, "short", None, "At least 10 characters."),
        (
            PASSWORD,
            "a new long passphrase",
            "a new long passphrasf",
            "The two new passwords differ.",
        ),
        (PASSWORD, "", None, "This field is required."),
    ],
)
def test_a_wrong_current_password_or_a_weak_new_one_changes_nothing(
    staff_app, current, new, again, said
):
    client = staff_app.test_client()
    assert sign_in(client).status_code == 302
    response = change_password(client, current, new, again)
    assert response.status_code == 200 and said in response.get_data(as_text=True)
    assert 'aria-invalid="true"' in response.get_data(as_text=True)
    fresh = staff_app.test_client()
    assert sign_in(fresh).status_code == 302  # the password is as it was
    assert signed_in(client)


def test_the_password_page_needs_sign_in_and_the_form_token(staff_app):
    anonymous = staff_app.test_client()
    response = anonymous.get("/account/password")
    assert response.status_code == 302 and "/signin" in response.location
    client = staff_app.test_client()
    assert sign_in(client).status_code == 302
    response = client.post(
        "/account/password",
        data={
            "current": PASSWORD,
            "new": "a new long passphrase",
            "again": "a new long passphrase",
        },
    )
    assert response.status_code == 400  # refused: no form token
    assert sign_in(staff_app.test_client()).status_code == 302  # unchanged
