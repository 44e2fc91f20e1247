"""GET /metrics: guarded by a bearer token, and each metric moving when its event happens
(texts in and out, Twilio's errors, the webhook's latency, the sweep, the inbox)."""

from __future__ import annotations

import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import select

from bot.models import Patient, db
from bot.ops.clock import beat, sweep_once
from tests.conftest import (
    CLINIC_NUMBER,
    PATIENT,
    add_staff,
    csrf_token,
    post_sms,
    sign_in,
    subscribe,
    twilio_settings,
)
from tests.test_staff import NEW_PATIENT, enroll_form

TOKEN = "metrics-token-0123456789"
BEARER = {"Authorization": f"Bearer {TOKEN}"}


@pytest.fixture
def metered(make_app, fake_twilio):
    return make_app(
        **twilio_settings(fake_twilio, METRICS_TOKEN=TOKEN, ALERT_NUMBER="+12025550177")
    )


def scrape(app) -> dict[tuple, float]:
    response = app.test_client().get("/metrics", headers=BEARER)
    assert response.status_code == 200
    assert response.content_type.startswith("text/plain; version=")  # Prometheus text format
    values = {}
    for family in text_string_to_metric_families(response.get_data(as_text=True)):
        for sample in family.samples:
            values[(sample.name, tuple(sorted(sample.labels.items())))] = sample.value
    return values


def moved(before: dict, after: dict, name: str, **labels) -> float:
    key = (name, tuple(sorted(labels.items())))
    return after.get(key, 0) - before.get(key, 0)


def test_off_without_a_token_and_guarded_with_one(make_app, metered):
    assert make_app().test_client().get("/metrics").status_code == 404
    client = metered.test_client()
    refused = client.get("/metrics")
    assert refused.status_code == 401 and refused.headers["WWW-Authenticate"] == "Bearer"
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    assert client.get("/metrics", headers=BEARER).status_code == 200


def test_a_text_in_its_reply_and_the_webhooks_time(metered):
    before = scrape(metered)
    post_sms(metered.test_client(), "what are your hours")
    after = scrape(metered)
    assert moved(before, after, "bot_texts_in_total", kind="hours") == 1
    assert moved(before, after, "bot_texts_out_total", kind="reply", result="answered") == 1
    assert moved(before, after, "bot_webhook_seconds_count") == 1
    assert moved(before, after, "bot_webhook_seconds_bucket", le="10.0") == 1


def test_the_inbox_size_is_read_from_the_database(metered):
    assert scrape(metered)[("bot_inbox_open", ())] == 0
    post_sms(metered.test_client(), "can I talk to someone")
    post_sms(metered.test_client(), "call me please", phone="+12025550131")
    assert scrape(metered)[("bot_inbox_open", ())] == 2


def test_an_urgent_texts_alert_is_counted(metered):
    before = scrape(metered)
    post_sms(metered.test_client(), "I suddenly can't feel my legs").close()  # then the alert
    after = scrape(metered)
    assert moved(before, after, "bot_texts_out_total", kind="alert", result="sent") == 1
    assert moved(before, after, "bot_texts_in_total", kind="emergency") == 1


def test_the_sweep_its_time_and_its_reminders(metered):
    subscribe(metered, PATIENT, time="00:00")  # due now, whatever the hour (any hour open)
    before = scrape(metered)
    sweep_once(metered)  # what the clock runs every minute
    after = scrape(metered)
    assert moved(before, after, "bot_sweep_seconds_count") == 1
    assert moved(before, after, "bot_sweep_reminders_total", outcome="due") == 1
    assert moved(before, after, "bot_sweep_reminders_total", outcome="sent") == 1
    assert moved(before, after, "bot_texts_out_total", kind="reminder", result="sent") == 1
    assert after[("bot_clock_last_sweep_timestamp_seconds", ())] > 0


def test_invitations_staff_replies_and_twilios_errors(metered, fake_twilio):
    add_staff(metered)
    staff = metered.test_client()
    sign_in(staff)
    before = scrape(metered)
    enroll_form(staff)  # invited
    fake_twilio.errors["+12025550143"] = 21211  # not a valid number, says Twilio
    enroll_form(staff, phone="(202) 555-0143")
    after = scrape(metered)
    assert moved(before, after, "bot_texts_out_total", kind="invitation", result="sent") == 1
    assert moved(before, after, "bot_texts_out_total", kind="invitation", result="failed") == 1
    assert moved(before, after, "bot_twilio_errors_total", code="21211") == 1
    with metered.app_context():
        pid = db.session.scalar(select(Patient.id).where(Patient.phone == NEW_PATIENT))
    page = f"/patients/{pid}"
    staff.post(f"{page}/reply", data={"csrf_token": csrf_token(staff, page), "body": "Hi!"})
    final = scrape(metered)
    assert moved(after, final, "bot_texts_out_total", kind="staff_reply", result="sent") == 1
    assert CLINIC_NUMBER not in str(final) and NEW_PATIENT not in str(final)


def test_the_clock_heartbeat_alone_gives_the_last_sweep(metered):
    assert ("bot_clock_last_sweep_timestamp_seconds", ()) not in scrape(metered)
    beat(metered, "due 0")
    assert scrape(metered)[("bot_clock_last_sweep_timestamp_seconds", ())] > 0
