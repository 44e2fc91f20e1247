"""The webhook and the staff pages when the database is slow or down: the patient is
answered in time, the text is recorded once the database is back, and nobody is answered
twice."""

from __future__ import annotations

import contextlib
import sqlite3
import time

import pytest
from flask_login.utils import _create_identifier
from sqlalchemy import create_engine, func, select, text

from bot.models import ConsentEvent, Message, Thread, db
from tests.conftest import PATIENT, new_sid, post_sms
from tests.test_webhook import messages_of, only_message

TWILIO_GIVES_UP = 15  # seconds


@contextlib.contextmanager
def messages_locked(app, table: str = "messages"):
    """Another session holds a table (PostgreSQL) or the database's write lock (SQLite),
    as a long migration or a stuck transaction would."""
    url = app.config["DATABASE_URL"]
    if url.startswith("sqlite"):
        holder = sqlite3.connect(url.removeprefix("sqlite:///"), isolation_level=None)
        holder.execute("BEGIN IMMEDIATE")
        try:
            yield
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        return
    engine = create_engine(url)
    with engine.connect() as conn:
        conn.execute(text(f"LOCK TABLE {table} IN ACCESS EXCLUSIVE MODE"))
        try:
            yield
        finally:
            conn.rollback()
    engine.dispose()


def stored(app, *where) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Message).where(*where))


def test_a_locked_table_gets_an_answer_in_time_and_the_text_later(make_app):
    app = make_app(WEBHOOK_DB_TIMEOUT="1")
    client = app.test_client()
    phone = app.extensions["replier"].phone
    texts = {"hours": new_sid(), "I fell down the stairs": new_sid(), "STOP": new_sid()}
    answers = {}
    with messages_locked(app):
        for body, sid in texts.items():
            started = time.monotonic()
            response = post_sms(client, body, sid=sid)
            assert time.monotonic() - started < TWILIO_GIVES_UP - 5, body
            answers[body] = only_message(response)
    assert stored(app) == 0  # kept in the spool, not in the database
    assert "could not take your message" in answers["hours"] and phone in answers["hours"]
    assert answers["I fell down the stairs"].startswith("Please call 911")
    assert "no more texts" in answers["STOP"]
    # Twilio again for a text already answered: no second answer.
    assert messages_of(post_sms(client, "hours", sid=texts["hours"])) == []

    # The database is back, and WEBHOOK_BREAKER_SECONDS passed (the process answered
    # without it meanwhile): the next text is taken, and the kept ones recorded after it.
    app.extensions["db_breaker"].open_until = 0
    response = post_sms(client, "address")
    assert "could not take" not in only_message(response)
    response.close()  # the answer has gone to Twilio: the spool is replayed
    for body, sid in texts.items():
        assert stored(app, Message.message_sid == sid, Message.direction == "in") == 1, body
        replies = stored(app, Message.reply_to_sid == sid)
        assert replies == 1, body
    with app.app_context():
        reply = db.session.scalar(
            select(Message.body).where(Message.reply_to_sid == texts["hours"])
        )
        assert reply == answers["hours"]  # what the patient was really answered
        consents = db.session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all()
    assert consents == ["opt_out"]  # the STOP counts
    with app.app_context():  # the red flag answered meanwhile is in the inbox, urgent
        thread = db.session.scalar(select(Thread))
        assert (thread.reason, thread.urgent) == ("red_flag", True)
    assert list((app.extensions["spool"].folder).glob("*.jsonl")) == []
    # Replaying again records nothing twice.
    result = app.test_cli_runner().invoke(args=["spool", "replay"])
    assert "Recorded 0 texts" in result.output
    assert stored(app) == 2 * len(texts) + 2
    # The opted-out number gets nothing more.
    assert messages_of(post_sms(client, "hours")) == []


@pytest.mark.parametrize(
    "url",
    ["postgresql+psycopg://postgres@127.0.0.1:1/none", "sqlite:////nonexistent/dir/x.sqlite3"],
)
def test_an_unreachable_database(make_app, url):
    app = make_app(DATABASE_URL=url, WEBHOOK_DB_TIMEOUT="2", WTF_CSRF_ENABLED=False)
    client = app.test_client()
    started = time.monotonic()
    answer = only_message(post_sms(client, "do you take aetna"))
    assert "could not take your message" in answer
    answer = only_message(post_sms(client, "my legs are numb and I can't control my bladder"))
    assert "911" in answer
    assert time.monotonic() - started < TWILIO_GIVES_UP
    response = client.post("/signin", data={"email": "a@b.example", "password": "x" * 12})
    assert response.status_code == 503
    assert "The database is not reachable" in response.get_data(as_text=True)
    # Someone signed in before it went down (the session as this client would carry it).
    with app.test_request_context(environ_base=client.environ_base):
        identifier = _create_identifier()
    with client.session_transaction() as session:
        session.update({"_user_id": "a-session-token", "_id": identifier, "_fresh": True})
    response = client.get("/patients")
    assert response.status_code == 503 and response.headers["Retry-After"] == "30"
    assert "The database is not reachable" in response.get_data(as_text=True)
    result = app.test_cli_runner().invoke(args=["spool", "replay"])
    assert result.exit_code != 0 and "still unavailable" in result.output
    assert len(list(app.extensions["spool"].folder.glob("*.jsonl"))) == 1


def test_a_spool_that_cannot_be_written_still_answers(make_app, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")
    app = make_app(DATABASE_URL="sqlite:////nonexistent/dir/x.sqlite3", SPOOL_DIR=str(blocker))
    answer = only_message(post_sms(app.test_client(), "hours", phone=PATIENT))
    assert "could not take your message" in answer


def test_a_staff_page_behind_a_lock_says_so_instead_of_hanging(make_app, fake_twilio):
    from tests.conftest import add_staff, sign_in

    app = make_app(WEBHOOK_DB_TIMEOUT="1")
    add_staff(app)
    client = app.test_client()
    assert sign_in(client).status_code == 302
    started = time.monotonic()
    with messages_locked(app, "patients"):
        response = client.get("/patients")
    if app.config["DATABASE_URL"].startswith("sqlite"):
        assert response.status_code == 200  # SQLite: readers are not held by a writer
    else:
        assert response.status_code == 503
        assert "The database is not reachable" in response.get_data(as_text=True)
    assert time.monotonic() - started < TWILIO_GIVES_UP


def test_the_clock_records_what_a_web_process_kept(make_app, fake_twilio):
    """A web process kept a text while the database was locked and got no text since; the
    clock on the same machine records it at its next minute."""
    from bot.ops.clock import sweep_once

    web = make_app(WEBHOOK_DB_TIMEOUT="1")
    clock = make_app()  # another process, started before the text: nothing waiting then
    assert not clock.extensions["spool"].waiting
    sid = new_sid()
    with messages_locked(web):
        assert "could not take" in only_message(post_sms(web.test_client(), "hours", sid=sid))
    sweep_once(clock)
    assert stored(clock, Message.message_sid == sid) == 1
    assert list(clock.extensions["spool"].folder.glob("*.jsonl")) == []


def test_one_bad_spool_line_blocks_nothing_after_it(make_app):
    """Issue 21's reproduction: a valid JSON line with a bad time or a null body stopped
    every replay at it (the clock, the worker and 'spool replay'), a STOP among what stayed
    unrecorded. Each text is recorded on its own; what cannot be is quarantined, with why,
    and the doctor and /readyz say so."""
    import json

    from bot.ops import doctor
    from bot.sms.answering import replay_spool
    from bot.sms.spool import QUARANTINE

    app = make_app()
    folder = app.extensions["spool"].folder
    folder.mkdir(parents=True, exist_ok=True)
    good = {"phone": PATIENT, "reply": "ok", "kind": "hours", "received_at":
            "2026-12-03T15:00:00+00:00"}  # fmt: skip
    lines = [
        good | {"body": "hours", "message_sid": new_sid()},
        good | {"body": "hours", "message_sid": new_sid(), "received_at": "yesterday-ish"},
        good | {"body": None, "message_sid": new_sid()},
        b"{cut short",
        good | {"body": "STOP", "message_sid": (stop := new_sid()), "kind": "opt_out",
                "consent": "opt_out", "keyword": "stop"},
    ]  # fmt: skip
    (folder / "inbound-4242.jsonl").write_bytes(
        b"\n".join(line if isinstance(line, bytes) else json.dumps(line).encode() for line in lines)
    )
    assert replay_spool(app) == 2
    assert stored(app, Message.message_sid == stop) == 1
    with app.app_context():
        assert db.session.scalar(select(ConsentEvent.action)) == "opt_out"  # the STOP held
    assert list(folder.glob("inbound-*.jsonl")) == []
    kept = [json.loads(line) for line in (folder / QUARANTINE).read_text().splitlines()]
    assert [k["reason"] for k in kept] == [
        "received_at is not a time",
        "body is not text",
        "unreadable: JSONDecodeError",
    ]
    ready = app.test_client().get("/readyz").get_json()
    assert ready["spool"] == {"waiting": False, "quarantined": 3}
    [check] = [c for c in doctor.run(app) if c.name == "spool"]
    assert check.status == doctor.WARN and "3 texts" in check.detail
    assert replay_spool(app) == 0  # nothing left to block or replay


def test_a_burst_under_a_hung_database_waits_for_it_once(make_app):
    """Issue 21's reproduction: with messages locked and 10 texts at once, each waited
    WEBHOOK_DB_TIMEOUT in turn (answers at 5, 10, 15, 20, 25 s on two workers). After one
    timeout the process answers without the database for WEBHOOK_BREAKER_SECONDS, then
    tries it again; every text is recorded later, once."""
    app = make_app(WEBHOOK_DB_TIMEOUT="1", WEBHOOK_BREAKER_SECONDS="60")
    client = app.test_client()
    sids = [new_sid() for _ in range(10)]
    took = []
    with messages_locked(app):
        for sid in sids:
            started = time.monotonic()
            assert "could not take" in only_message(post_sms(client, "hours", sid=sid))
            took.append(time.monotonic() - started)
    assert took[0] >= 1  # the first waited for the database...
    assert sum(took[1:]) < 4.5  # ...the other nine did not (without the breaker: 9 s more)
    app.extensions["db_breaker"].open_until = 0  # a minute on: the database is asked again
    response = post_sms(client, "address")
    assert "could not take" not in only_message(response)
    response.close()  # the spool is replayed after the answer
    for sid in sids:
        assert stored(app, Message.message_sid == sid) == 1


def test_a_connection_postgresql_closed_is_dropped_and_the_next_text_recorded(make_app):
    """The webhook's statements go straight to psycopg, past SQLAlchemy's disconnect
    handling: a connection the server closed (a restart, an idle timeout) is dropped from
    the pool by ``models.straight``, so after the breaker's pause the next text is
    recorded on a new connection, not failed on the dead one again."""
    app = make_app()
    if not app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("PostgreSQL's connections")
    client = app.test_client()
    post_sms(client, "hours").close()  # the webhook's pool holds one connection now
    engine = create_engine(app.config["DATABASE_URL"])
    with engine.connect() as conn:  # the server closes every other connection to it
        conn.execute(
            text(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            )
        )
    engine.dispose()
    first = new_sid()
    assert "could not take" in only_message(post_sms(client, "hours", sid=first))
    app.extensions["db_breaker"].open_until = 0  # the breaker's pause is over
    second = new_sid()
    response = post_sms(client, "address", sid=second)
    assert "could not take" not in only_message(response)
    response.close()  # the spool is replayed after the answer
    assert stored(app, Message.message_sid == second) == 1
    assert stored(app, Message.message_sid == first) == 1  # the spool, replayed
