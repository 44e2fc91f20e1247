"""Log lines: one per event, JSON when LOG_FORMAT=json, each with the request's id,
numbers masked, and no text's words at INFO."""

from __future__ import annotations

import datetime as dt
import io
import json
import logging

import pytest

from bot.config import ConfigError
from bot.sms.phones import mask
from tests.conftest import (
    PATIENT,
    post_sms,
    sign,
    subscribe,
    sweep,
    twilio_params,
    twilio_settings,
)


@pytest.fixture
def captured():
    """What the app's own log handler writes, from the moment an app is configured."""
    streams = []

    def capture(app) -> io.StringIO:
        [handler] = [h for h in logging.getLogger().handlers if getattr(h, "bot_handler", 0)]
        stream = io.StringIO()
        handler.setStream(stream)
        streams.append(stream)
        return stream

    return capture


def lines(stream: io.StringIO) -> list[dict]:
    return [json.loads(line) for line in stream.getvalue().splitlines() if line.strip()]


def test_a_json_line_per_text_with_the_request_id_and_no_words(make_app, captured):
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="DEBUG")  # the line per text is DEBUG
    stream = captured(app)
    response = post_sms(app.test_client(), "my secret back pain story, call me")
    request_id = response.headers["X-Request-Id"]
    logged = lines(stream)
    [text_line] = [line for line in logged if line["message"].startswith("sms in")]
    assert set(text_line) == {"time", "level", "logger", "request_id", "message"}
    assert text_line["level"] == "DEBUG" and text_line["logger"] == "bot.webhook"
    assert text_line["request_id"] == request_id
    assert dt.datetime.fromisoformat(text_line["time"]).tzinfo is not None
    assert f"from={mask(PATIENT)}" in text_line["message"]
    output = stream.getvalue()
    assert PATIENT not in output and "secret" not in output


def test_the_request_id_is_the_proxys_or_twilios_when_sane(make_app, captured):
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="INFO")
    client = app.test_client()
    given = post_with(client, {"X-Request-Id": "edge-1234abcd"})
    assert given.headers["X-Request-Id"] == "edge-1234abcd"
    twilio = post_with(client, {"I-Twilio-Idempotency-Token": "a1b2c3d4-e5f6"})
    assert twilio.headers["X-Request-Id"] == "a1b2c3d4-e5f6"
    for hostile in ("x", "spaces are not ids", "a" * 65, "id;X-Evil: 1"):
        answer = post_with(client, {"X-Request-Id": hostile})
        assert answer.headers["X-Request-Id"] != hostile
        assert len(answer.headers["X-Request-Id"]) == 16


def post_with(client, headers: dict):
    """A signed text ("hours") with these headers too."""
    params = twilio_params("hours")
    signature = sign("http://localhost/sms", params)
    return client.post("/sms", data=params, headers={"X-Twilio-Signature": signature, **headers})


def test_staff_pages_get_a_request_id_too(make_app):
    app = make_app()
    response = app.test_client().get("/signin")
    assert len(response.headers["X-Request-Id"]) == 16


def test_a_traceback_is_one_json_field_with_numbers_masked(make_app, captured):
    app = make_app(LOG_FORMAT="json", LOG_LEVEL="INFO")
    stream = captured(app)
    try:
        raise RuntimeError(f"no route to {PATIENT}")
    except RuntimeError:
        logging.getLogger("bot.test").exception("sending to %s failed", PATIENT)
    [line] = lines(stream)
    assert line["level"] == "ERROR" and line["request_id"] == "-"
    assert "RuntimeError" in line["exception"] and "Traceback" in line["exception"]
    assert PATIENT not in stream.getvalue() and mask(PATIENT) in line["exception"]
    assert len(stream.getvalue().strip().splitlines()) == 1


def test_plain_text_by_default_with_the_request_id(make_app, captured):
    app = make_app(LOG_LEVEL="DEBUG")
    stream = captured(app)
    response = post_sms(app.test_client(), "hours")
    [line] = [x for x in stream.getvalue().splitlines() if "sms in" in x]
    assert f"DEBUG bot.webhook [{response.headers['X-Request-Id']}]: sms in from=" in line


def test_no_words_of_any_text_even_at_debug(make_app, fake_twilio, captured):
    """A day of texts (an answer, DONE with a pain score, a reminder, an opt-out): the log,
    even at DEBUG (INFO says less), says what happened and never what was written."""
    app = make_app(**twilio_settings(fake_twilio, LOG_FORMAT="json", LOG_LEVEL="DEBUG"))
    stream = captured(app)
    subscribe(app, PATIENT, time="00:00")
    client = app.test_client()
    for body in ("how do I do the cat camel", "done 4", "my knee hurts a lot", "STOP"):
        post_sms(client, body)
    sweep(app, dt.datetime.now(dt.UTC))
    output = stream.getvalue()
    assert output.count("sms in") == 4
    for words in ("cat camel", "knee", "Cat and Camel", "Today's exercises", "unsubscribed"):
        assert words.lower() not in output.lower(), words
    assert PATIENT not in output


def test_an_unknown_log_format_stops_the_start(make_app):
    with pytest.raises(ConfigError, match="LOG_FORMAT must be text or json"):
        make_app(LOG_FORMAT="xml")
