"""POST /sms through the Flask test client: signature, TwiML, logging, idempotency,
opt-out, rate limit and odd bodies."""

from __future__ import annotations

import threading
import xml.etree.ElementTree as ET

import pytest
from sqlalchemy import func, select
from twilio.request_validator import RequestValidator

from bot.models import ConsentEvent, Message
from bot.sms.segments import count_segments
from tests.conftest import AUTH_TOKEN, PATIENT, new_sid, sign, twilio_params


def messages_of(response) -> list[str]:
    assert response.status_code == 200, response.data
    assert response.mimetype == "text/xml"
    root = ET.fromstring(response.data)
    assert root.tag == "Response"
    return [m.text or "" for m in root.findall("Message")]


def only_message(response) -> str:
    texts = messages_of(response)
    assert len(texts) == 1, texts
    return texts[0]


def count(session, *where) -> int:
    session.rollback()  # read what is committed now, not an earlier snapshot
    result = session.scalar(select(func.count()).select_from(Message).where(*where))
    session.rollback()
    return result


# --- signature ---------------------------------------------------------------------------


def test_signed_text_is_answered_with_twiml(text_bot):
    reply = only_message(text_bot("do you take aetna"))
    assert "Yes, we accept Aetna" in reply


def test_missing_signature_is_refused_and_nothing_stored(client, session):
    response = client.post("/sms", data=twilio_params("hi"))
    assert response.status_code == 403
    assert count(session) == 0


def test_wrong_signature_is_refused_and_nothing_stored(client, session):
    params = twilio_params("hi")
    bad = sign("http://localhost/sms", params, token="not-the-token")
    response = client.post("/sms", data=params, headers={"X-Twilio-Signature": bad})
    assert response.status_code == 403
    assert count(session) == 0


def test_tampered_body_is_refused(client, session):
    params = twilio_params("hi")
    signature = sign("http://localhost/sms", params)
    params["Body"] = "STOP"
    response = client.post("/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 403
    assert count(session) == 0


def test_without_auth_token_every_request_is_refused(make_app, caplog):
    with caplog.at_level("WARNING"):
        app = make_app(TWILIO_AUTH_TOKEN=None)
    assert "TWILIO_AUTH_TOKEN is not set" in caplog.text
    params = twilio_params("hi")
    signature = sign("http://localhost/sms", params)
    response = app.test_client().post(
        "/sms", data=params, headers={"X-Twilio-Signature": signature}
    )
    assert response.status_code == 403


def test_signature_behind_tls_proxy_uses_forwarded_proto(client):
    params = twilio_params("hours")
    signature = sign("https://clinic.example.org/sms", params)
    headers = {
        "X-Twilio-Signature": signature,
        "X-Forwarded-Proto": "https",
        "X-Forwarded-Host": "clinic.example.org",
    }
    response = client.post("/sms", data=params, headers=headers)
    assert "Office hours" in only_message(response)
    # The same signature without the proxy's headers is for another URL.
    del headers["X-Forwarded-Proto"], headers["X-Forwarded-Host"]
    assert client.post("/sms", data=params, headers=headers).status_code == 403


def test_signature_checked_against_public_base_url(make_app):
    client = make_app(PUBLIC_BASE_URL="https://texts.clinic.example.org/").test_client()
    params = twilio_params("hours")
    good = sign("https://texts.clinic.example.org/sms", params)
    response = client.post("/sms", data=params, headers={"X-Twilio-Signature": good})
    assert "Office hours" in only_message(response)
    local = sign("http://localhost/sms", params)
    assert (
        client.post("/sms", data=params, headers={"X-Twilio-Signature": local}).status_code == 403
    )


def test_signature_over_a_query_string_kept_percent_encoded(client):
    # Twilio signs the webhook URL as configured: "%2F" stays "%2F", "%20" stays "%20".
    params = twilio_params("hours")
    path = "/sms?clinic=back%2Fspine&note=a%20b"
    signature = sign("http://localhost" + path, params)
    response = client.post(path, data=params, headers={"X-Twilio-Signature": signature})
    assert "Office hours" in only_message(response)
    decoded = sign("http://localhost/sms?clinic=back/spine&note=a b", params)
    response = client.post(path, data=params, headers={"X-Twilio-Signature": decoded})
    assert response.status_code == 403


def test_signature_with_or_without_the_default_port(client):
    # Twilio's own check accepts the URL signed with its port or without it.
    for url in ("http://localhost:80/sms", "http://localhost/sms"):
        params = twilio_params("hours")
        headers = {"X-Twilio-Signature": sign(url, params)}
        assert "Office hours" in only_message(client.post("/sms", data=params, headers=headers))
    params = twilio_params("hours")
    headers = {"X-Twilio-Signature": sign("http://localhost:8080/sms", params)}
    assert client.post("/sms", data=params, headers=headers).status_code == 403


SHARED_KEY = "shared-key-secret-0123456789abcdef"
SHARED_SETTINGS = "key=KS00000000000000000000000000000000,algorithm=HMAC_SHA256"


def test_webhook_signed_with_a_shared_key(make_app):
    # A Twilio Webhook Setting may sign with a SharedKey instead of the auth token; the
    # request then says so, and which algorithm, in X-Twilio-Webhooks-Signature-Settings.
    client = make_app(TWILIO_SHARED_KEY_SECRET=SHARED_KEY).test_client()
    params = twilio_params("hours")
    url = "http://localhost/sms"
    good = RequestValidator(SHARED_KEY).compute_signature(url, params, "HMAC_SHA256")
    headers = {"X-Twilio-Signature": good, "X-Twilio-Webhooks-Signature-Settings": SHARED_SETTINGS}
    assert "Office hours" in only_message(client.post("/sms", data=params, headers=headers))
    # The auth token's signature does not stand in for the shared key's, nor SHA-1 for
    # SHA-256, nor an algorithm the library does not know.
    for signature, settings in [
        (sign(url, params), SHARED_SETTINGS),
        (RequestValidator(SHARED_KEY).compute_signature(url, params), SHARED_SETTINGS),
        (good, "key=KS0,algorithm=HMAC_MD5"),
    ]:
        headers = {
            "X-Twilio-Signature": signature,
            "X-Twilio-Webhooks-Signature-Settings": settings,
        }
        params = twilio_params("hours")
        assert client.post("/sms", data=params, headers=headers).status_code == 403
    # Without the header, the auth token signs as before.
    params = twilio_params("hours")
    headers = {"X-Twilio-Signature": sign(url, params)}
    assert "Office hours" in only_message(client.post("/sms", data=params, headers=headers))


def test_shared_key_signature_without_the_secret_is_refused(client, session, caplog):
    params = twilio_params("hours")
    signature = RequestValidator(SHARED_KEY).compute_signature(
        "http://localhost/sms", params, "HMAC_SHA256"
    )
    headers = {
        "X-Twilio-Signature": signature,
        "X-Twilio-Webhooks-Signature-Settings": SHARED_SETTINGS,
    }
    with caplog.at_level("WARNING"):
        assert client.post("/sms", data=params, headers=headers).status_code == 403
    assert "TWILIO_SHARED_KEY_SECRET is not set" in caplog.text
    assert count(session) == 0


def test_request_without_from_is_a_clear_400(client):
    params = {"MessageSid": new_sid(), "Body": "hi"}
    signature = sign("http://localhost/sms", params)
    response = client.post("/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert response.status_code == 400
    assert b"From and MessageSid are required" in response.data


def test_a_text_with_many_questions_is_answered_and_logged(text_bot, session):
    body = (
        "hours address aetna cat camel appointment price video reminders referral christmas "
        "reps pregnant sign up why did i get"
    )
    reply = only_message(text_bot(body))
    assert "Office hours" in reply and len(reply) <= 1600
    assert count(session, Message.direction == "in") == 1
    assert count(session, Message.direction == "out") == 1


def test_get_is_not_allowed(client):
    assert client.get("/sms").status_code == 405


# --- logging -----------------------------------------------------------------------------


def test_inbound_and_reply_are_logged(text_bot, session):
    sid = new_sid()
    reply = only_message(text_bot("where is the office", sid=sid))
    rows = session.scalars(select(Message).order_by(Message.id)).all()
    assert [(m.direction, m.phone) for m in rows] == [("in", PATIENT), ("out", PATIENT)]
    assert rows[0].body == "where is the office"
    assert rows[0].message_sid == sid
    assert rows[1].body == reply
    assert rows[1].reply_to_sid == sid
    assert rows[0].created_at is not None
    assert rows[1].kind == "location"


def test_phone_numbers_are_masked_in_logs(make_app, caplog):
    app = make_app(LOG_LEVEL="DEBUG")
    params = twilio_params("hi")
    signature = sign("http://localhost/sms", params)
    with caplog.at_level("DEBUG", logger="bot"):
        app.test_client().post("/sms", data=params, headers={"X-Twilio-Signature": signature})
    assert "sms in" in caplog.text
    assert PATIENT not in caplog.text
    assert "+1********23" in caplog.text


# --- idempotency -------------------------------------------------------------------------


def test_retry_with_same_sid_gets_same_answer_and_no_second_row(text_bot, session):
    sid = new_sid()
    first = only_message(text_bot("cat camel", sid=sid))
    again = only_message(text_bot("cat camel", sid=sid))
    assert first == again
    assert count(session, Message.message_sid == sid) == 1
    assert count(session, Message.reply_to_sid == sid) == 1


def test_retry_of_a_stop_records_one_consent_event(text_bot, session):
    sid = new_sid()
    text_bot("STOP", sid=sid)
    text_bot("STOP", sid=sid)
    assert session.scalar(select(func.count()).select_from(ConsentEvent)) == 1


def test_two_retries_at_once_are_settled_by_the_database(app, session):
    sid = new_sid()
    params = twilio_params("do you take cigna", sid=sid)
    headers = {"X-Twilio-Signature": sign("http://localhost/sms", params)}
    barrier = threading.Barrier(4)
    replies: list = []

    def post():
        client = app.test_client()
        barrier.wait()
        replies.append(client.post("/sms", data=params, headers=headers))

    threads = [threading.Thread(target=post) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    texts = [only_message(r) for r in replies]
    assert len(texts) == 4
    assert len(set(texts)) == 1 and "Cigna" in texts[0]
    assert count(session, Message.message_sid == sid) == 1
    assert count(session, Message.reply_to_sid == sid) == 1


# --- compliance --------------------------------------------------------------------------


@pytest.mark.parametrize(
    "keyword", ["STOP", "stop", "Stop.", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT",
                "REVOKE", "OPTOUT", "opt out", "stop please"]
)  # fmt: skip
def test_opt_out_keywords_record_and_confirm(text_bot, session, keyword):
    reply = only_message(text_bot(keyword))
    assert "Back & Spine Clinic" in reply
    assert "no more texts" in reply
    event = session.scalars(select(ConsentEvent)).one()
    assert (event.phone, event.action, event.source) == (PATIENT, "opt_out", "sms")
    assert event.keyword


@pytest.mark.parametrize("body", ["no thanks, STOP", "no gracias, STOP", "No gracias. ALTO"])
def test_an_opt_out_inside_a_sentence_is_recorded(text_bot, session, body):
    reply = only_message(text_bot(body))
    assert "no more texts" in reply or "no recibira mas mensajes" in reply
    event = session.scalars(select(ConsentEvent)).one()
    assert (event.phone, event.action) == (PATIENT, "opt_out")
    assert messages_of(text_bot("hours")) == []  # and nothing more is sent


def test_spanish_opt_out_and_in_are_confirmed_in_spanish(text_bot, session):
    assert "no recibira mas mensajes" in only_message(text_bot("ALTO"))
    assert messages_of(text_bot("horario")) == []
    assert "recibira nuestros mensajes" in only_message(text_bot("Si"))
    assert session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all() == [
        "opt_out",
        "opt_in",
    ]
    help_es = only_message(text_bot("AYUDA"))
    assert "Pueden aplicar tarifas" in help_es and "STOP" in help_es
    assert count_segments(help_es).segments <= 2


def test_opt_out_type_field_is_honoured(text_bot, session):
    reply = only_message(text_bot("please dont text me anymore", OptOutType="STOP"))
    assert "no more texts" in reply
    assert session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all() == [
        "opt_out"
    ]


def test_opt_out_with_a_red_flag_says_911_first_and_opts_out(text_bot, session):
    reply = only_message(text_bot("stop texting me, I fell down the stairs"))
    assert reply.startswith("Please call 911")
    assert "no more texts" in reply
    assert session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all() == [
        "opt_out"
    ]
    assert messages_of(text_bot("hours")) == []


def test_opted_out_number_gets_nothing_until_start(text_bot, session):
    only_message(text_bot("STOP"))
    assert messages_of(text_bot("what are your hours")) == []
    assert messages_of(text_bot("HELP")) == []
    assert messages_of(text_bot("i cant feel my legs")) == []
    # The texts are still logged for the clinic's records.
    assert count(session, Message.direction == "in") == 4
    assert count(session, Message.direction == "out") == 1
    reply = only_message(text_bot("START"))
    assert "subscribed" in reply
    assert "Office hours" in only_message(text_bot("what are your hours"))


@pytest.mark.parametrize("keyword", ["START", "UNSTOP", "YES", "start"])
def test_opt_in_keywords(text_bot, session, keyword):
    text_bot("STOP")
    reply = only_message(text_bot(keyword))
    assert "STOP to opt out" in reply
    actions = session.scalars(select(ConsentEvent.action).order_by(ConsentEvent.id)).all()
    assert actions == ["opt_out", "opt_in"]


def test_consent_history_is_kept_not_overwritten(text_bot, session):
    for body in ["STOP", "START", "UNSUBSCRIBE", "UNSTOP"]:
        text_bot(body)
    events = session.scalars(select(ConsentEvent).order_by(ConsentEvent.id)).all()
    assert [(e.action, e.keyword) for e in events] == [
        ("opt_out", "stop"),
        ("opt_in", "start"),
        ("opt_out", "unsubscribe"),
        ("opt_in", "unstop"),
    ]
    assert all(e.created_at is not None for e in events)


@pytest.mark.parametrize("keyword", ["HELP", "help", "INFO", "Help!"])
def test_help_names_clinic_rates_phone_and_stop(text_bot, keyword):
    reply = only_message(text_bot(keyword))
    for must in ["Back & Spine Clinic", "Msg & data rates may apply", "703-723-6800",
                 "Reply STOP to opt out", "1 msg/day"]:  # fmt: skip
        assert must in reply
    assert count_segments(reply).segments <= 2


def test_opt_out_of_one_number_does_not_silence_another(text_bot):
    text_bot("STOP", phone="+12025550111")
    assert "Office hours" in only_message(text_bot("hours", phone="+12025550112"))


# --- rate limit --------------------------------------------------------------------------


def test_rate_limit_stops_replies_for_the_hour(make_app, session):
    app = make_app(RATE_LIMIT_PER_HOUR=3)
    client = app.test_client()

    def post(body, phone=PATIENT):
        params = twilio_params(body, phone)
        signature = sign("http://localhost/sms", params)
        return client.post("/sms", data=params, headers={"X-Twilio-Signature": signature})

    for _ in range(3):
        assert len(messages_of(post("hours"))) == 1
    assert messages_of(post("hours")) == []
    assert messages_of(post("hours")) == []
    # STOP is still honoured and confirmed once.
    assert "no more texts" in only_message(post("STOP"))
    # Another number is not affected.
    assert len(messages_of(post("hours", phone="+12025550124"))) == 1
    with app.app_context():
        from bot.models import db

        kinds = db.session.scalars(
            select(Message.kind).where(Message.phone == PATIENT, Message.direction == "in")
        ).all()
    assert kinds.count("rate_limited") == 2


# --- bodies ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "body",
    [
        "",
        "   ",
        "\U0001f600\U0001f44d",
        "x" * 1600,
        "cat camel " * 160,
        "<Response><Message>hacked</Message></Response>",
        "]]><!-- & <script>alert(1)</script>",
        "'; DROP TABLE messages; --",
        "Robert'); DELETE FROM consent_events;--",
        "nul\x00byte",
        "\u202eright to left",
    ],
)
def test_odd_bodies_get_a_well_formed_answer(text_bot, session, body):
    reply = only_message(text_bot(body))
    assert reply
    assert "hacked" not in reply
    assert count(session, Message.direction == "in") == 1


def test_xml_in_body_is_escaped_in_twiml(text_bot):
    response = text_bot("<Message>x</Message> do you take aetna")
    assert len(messages_of(response)) == 1
    assert b"<Message>x</Message>" not in response.data


def test_spanish_accents_are_read(text_bot):
    assert "se habla español" in only_message(text_bot("¿Hablan español?")).lower()


def test_auth_token_is_never_in_a_reply(text_bot):
    assert AUTH_TOKEN not in only_message(text_bot("HELP"))


# --- the patient's own routine ------------------------------------------------------------


def test_enrolled_patient_asking_for_their_routine_gets_it(app, text_bot):
    import datetime as dt

    from bot.models import db
    from bot.patients import records as pt

    with app.app_context():
        pt.enroll(
            db.session,
            pt.Enrollment(
                "Ana Lopez", PATIENT, "en", ["pelvic-tilt", "bird-dog"], dt.time(9), "UTC"
            ),
            "frontdesk@clinic.example",
            "staff",
            dt.datetime.now(dt.UTC),
        )
        db.session.commit()
    reply = only_message(text_bot("which exercises am i supposed to do"))
    assert reply.startswith("Your routine: Pelvic Tilt, Hip Outside Leg Stretch (Bird Dog).")
    assert "Cat and Camel" not in reply
    # A number that is not enrolled gets the whole list; other questions read no record.
    assert "1 Cat and Camel" in only_message(text_bot("my routine?", phone="+12025550177"))
    assert "Office hours" in only_message(text_bot("hours"))
    # Opted out: nothing, as for any other text.
    text_bot("STOP")
    assert messages_of(text_bot("my routine?")) == []


def test_the_webhooks_own_statements_are_parsed_once_by_psycopg():
    """psycopg keeps its parsing of a statement of at most MAX_CACHED_STATEMENT_LENGTH
    characters and parses a longer one again on every execution: a comment added to the
    record's statement once cost 0.9 million instructions a text (webhook_instructions.py)."""
    from psycopg._queries import MAX_CACHED_STATEMENT_LENGTH

    from bot.sms import inbound

    for statement in (inbound._PG_RECORD, inbound._PG_RECORD_DONE, inbound._PG_LOCK):
        assert len(statement) <= MAX_CACHED_STATEMENT_LENGTH, statement[:60]
    assert "INSERT INTO adherence_days" in inbound._PG_RECORD_DONE


def _relations_read(plan: dict) -> dict[str, int]:
    """How many times a plan reads each table (its scans; the writes' own nodes aside)."""
    read: dict[str, int] = {}
    nodes = [plan["Plan"]]
    while nodes:
        node = nodes.pop()
        if "Relation Name" in node and node["Node Type"] != "ModifyTable":
            read[node["Relation Name"]] = read.get(node["Relation Name"], 0) + 1
        nodes.extend(node.get("Plans", []))
    return read


def test_the_webhooks_statements_read_the_numbers_state_once(app):
    """PostgreSQL folds a CTE read once into its reader, and would then run a lookup once
    for each use of its column: the record's statement read the number's consent and its
    texts this hour twice, its language three times, until "state" was MATERIALIZED."""
    if not app.config["DATABASE_URL"].startswith("postgresql"):
        pytest.skip("PostgreSQL's plans")
    from bot.models import straight, utcnow
    from bot.sms import inbound

    now = utcnow()
    common = {"phone": PATIENT, "sid": new_sid(), "body": "hours", "now": now,
              "since": now - inbound.HOUR, "rate_limit": 20}  # fmt: skip
    record = {
        **common, "always": False, "candidate_kind": "hours", "reply_en": "Hours", "reply_es": None,
        "text_language": "en", "action": None, "keyword": "", "keeps": False, "held_en": "Held",
        "held_es": "Espera", "reason": None, "urgent": False,
    }  # fmt: skip
    answers = {f"{say}_{lang}": "%s" for say in ("again", "one", "many") for lang in ("en", "es")}
    done = {**common, "pain": None, **answers}
    with app.extensions["webhook_engine"].connect() as conn:
        plans = {
            name: straight(conn, "EXPLAIN (FORMAT JSON) " + statement, values).fetchone()[0][0]
            for name, statement, values in (
                ("record", inbound._PG_RECORD, record),
                ("done", inbound._PG_RECORD_DONE, done),
            )
        }
    assert _relations_read(plans["record"]) == {
        "consent_events": 1, "messages": 1, "threads": 1, "patients": 1, "phone_languages": 1
    }  # fmt: skip
    # The DONE's: the patient, then its day written today and the days before (two reads),
    # and the thread read for the gate, then again by its UPDATE.
    assert _relations_read(plans["done"]) == {
        "patients": 1, "consent_events": 1, "messages": 1, "threads": 2, "adherence_days": 2
    }  # fmt: skip
