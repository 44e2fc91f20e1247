"""No input gives a 500: every route tried with what an attacker or a careless user sends."""

from __future__ import annotations

import io
import logging

import pytest

from tests.conftest import csrf_token, post_sms

HOSTILE_VALUES = [
    "\x00", "a\x00b", "%", "\ud800".encode("utf-8", "surrogatepass").decode("latin-1"),
    "x" * 5000, "'; DROP TABLE patients; --", "<script>", "9" * 30, "-1", "\r\nSet-Cookie: x=1",
    "9999-12-31", "0001-01-01", "2026-02-30",
]  # fmt: skip
ALONE_VALUES = ["\x00", "9999-12-31", "0001-01-01", "9" * 30]
# Every query argument a page reads (its filters, sorting, paging), each given each value.
QUERY_NAMES = ["q", "status", "next", "phone", "who", "action", "patient", "first", "last",
               "before", "days", "from", "to", "page", "sort"]  # fmt: skip
HOSTILE_IDS = ["0", "99999999999999999999", "9223372036854775808", "9223372036854775807"]


def urls(app):
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        paths = [rule.rule]
        for argument in rule.arguments:
            paths = [p.replace(f"<{c}:{argument}>", i) for p in paths for c in ("int", "id")
                     for i in HOSTILE_IDS]  # fmt: skip
            paths = [p for p in paths if "<" not in p]
        for path in dict.fromkeys(paths):
            yield rule, path


def test_no_route_answers_500_to_hostile_ids_and_queries(admin_client, twilio_app):
    from bot.ops.clock import beat

    beat(twilio_app, "due 0")  # the clock is running: /readyz answers 200, not 503
    tried = 0
    admin = admin_client
    token = csrf_token(admin, "/patients")
    for rule, path in urls(twilio_app):
        if rule.endpoint == "auth.signout":
            continue
        for method in sorted(rule.methods - {"HEAD", "OPTIONS"}):
            for value in HOSTILE_VALUES:
                query = dict.fromkeys(QUERY_NAMES, value)
                data = {"csrf_token": token, "name": value, "phone": value, "email": value,
                        "password": value, "body": value}  # fmt: skip
                response = admin.open(path, method=method, query_string=query, data=data)
                assert response.status_code < 500, (method, path, value, response.status_code)
                tried += 1
            if method != "GET":
                continue
            for name in QUERY_NAMES:  # each filter alone, the others valid or absent
                for value in ALONE_VALUES:
                    response = admin.get(path, query_string={name: value})
                    assert response.status_code < 500, (path, name, value, response.status_code)
    assert tried > 100


def test_an_upload_of_garbage_is_not_a_500(admin_client):
    admin = admin_client
    for payload in [b"\x00\x00", b"\xff\xfe\x00", b"name,phone\n\x00,\x00", b""]:
        response = admin.post(
            "/patients/import",
            data={"csrf_token": csrf_token(admin, "/patients/import"),
                  "file": (io.BytesIO(payload), "p.csv")},
            content_type="multipart/form-data",
        )  # fmt: skip
        assert response.status_code < 500, payload


@pytest.mark.parametrize(
    "field", [{"From": "+1202555\x000123"}, {"MessageSid": "SM\x00x"}, {"Body": "hi\x00"},
              {"From": "x" * 500}, {"OptOutType": "\x00"}]
)  # fmt: skip
def test_the_webhook_takes_hostile_fields_without_a_500(client, field):
    response = post_sms(client, "hours", **field)
    assert response.status_code < 500


@pytest.mark.parametrize(
    "field", [{"MessageSid": "SM\x00x"}, {"MessageSid": "x" * 500}, {"ErrorCode": "\x00"},
              {"ErrorCode": "9" * 40}, {"MessageStatus": "sent\x00"}]
)  # fmt: skip
def test_the_status_callback_takes_hostile_fields_without_a_500(client, field):
    from tests.conftest import sign

    params = {"MessageSid": "SM" + "0" * 32, "MessageStatus": "delivered"} | field
    headers = {"X-Twilio-Signature": sign("http://localhost/sms/status", params)}
    response = client.post("/sms/status", data=params, headers=headers)
    assert response.status_code < 500, field


def test_log_lines_mask_numbers_and_hide_sql_parameters(make_app, caplog):
    """An SQL error's log line names no patient (parameters hidden), and any number that
    reaches a log line is masked."""
    app = make_app()
    from bot.models import db

    caplog.set_level(logging.INFO)
    with app.app_context():
        try:
            db.session.execute(
                db.text("INSERT INTO no_such_table VALUES (:name, :phone)"),
                {"name": "Maria Garcia", "phone": "+12025550123"},
            )
        except Exception as exc:  # noqa: BLE001
            logging.getLogger("bot").exception("failed: %s", exc)
            db.session.rollback()
    logging.getLogger("bot").warning("text to +12025550123 and (202) 555-0187 failed")
    handler_output = "\n".join(logging.Formatter().format(r) for r in caplog.records)
    assert "Maria Garcia" not in handler_output
    assert "+12025550123" not in handler_output and "555-0187" not in handler_output
    assert "+1********23" in handler_output
