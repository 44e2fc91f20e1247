"""Staff pages as an attacker tries them: script in patients' names, headers, redirects."""

from __future__ import annotations

import io
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from bot.models import ImportJob, Patient, Thread, db
from tests.conftest import (
    PASSWORD,
    STAFF_EMAIL,
    add_staff,
    csrf_token,
    post_sms,
)
from tests.test_staff import enroll_form, page

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"
HOSTILE_NAMES = [
    "Eve'+alert(document.domain)+'",
    "</title><script>window.pwned=1</script>",
    '"><img src=x onerror="window.pwned=1">',
    "Eve&#39;);window.pwned=1;//",
    "Tex</textarea><script>window.pwned=1</script>",
]
IMPORT_HEADER = "name,phone,language,routine,reminder_time,timezone\n"
INLINE_HANDLER = re.compile(r"<[^>]*\son[a-z]+\s*=", re.I)
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\ssrc=)[^>]*>", re.I)


class ScriptFinder(HTMLParser):
    """What a browser would run in a page: event-handler attributes, inline scripts,
    javascript: URLs, and any element a hostile name managed to add."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self.tags: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        for name, value in attrs:
            if name.startswith("on"):
                self.found.append(f"<{tag} {name}=...>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith(
                "javascript:"
            ):
                self.found.append(f"<{tag} {name}=javascript:...>")
        if tag == "script" and not dict(attrs).get("src"):
            self.found.append("inline <script>")


def scripts_in(html: str) -> tuple[list[str], list[str]]:
    finder = ScriptFinder()
    finder.feed(html)
    return finder.found, finder.tags


def test_templates_hold_no_inline_script_or_handler():
    for template in TEMPLATES.glob("*.html"):
        text = template.read_text()
        assert not INLINE_HANDLER.search(text), template.name
        assert not INLINE_SCRIPT.search(text), template.name
        assert "<style" not in text, f"{template.name}: styles belong in bot/static"
        assert "javascript:" not in text.lower(), template.name


def every_page(app, client):
    """The GET pages of the app, with each row's id where the URL takes one (a patient, an
    inbox thread, an import)."""
    with app.app_context():
        ids = {
            "patient_id": db.session.scalars(db.select(Patient.id)).all(),
            "thread_id": db.session.scalars(db.select(Thread.id)).all(),
            "job_id": db.session.scalars(db.select(ImportJob.id)).all(),
        }
    for rule in app.url_map.iter_rules():
        if "GET" not in rule.methods or rule.endpoint == "static":
            continue
        [argument] = (rule.arguments - set(rule.defaults or {})) or [None]
        if argument in ids:
            for row_id in ids[argument]:
                yield rule.rule.replace(f"<id:{argument}>", str(row_id))
        elif argument is None:
            yield rule.rule


def test_hostile_names_run_nothing_on_any_page(admin_client, twilio_app):
    for number, name in enumerate(HOSTILE_NAMES):
        response = enroll_form(admin_client, name=name, phone=f"(202) 555-014{number}")
        assert response.status_code == 302, page(response)
        # ...and a text the patient sends, shown in the conversation and the inbox
        post_sms(admin_client, f"call me {name}", phone=f"+1202555014{number}")
    # ...and an import whose preview names its bad rows
    rows = "".join(
        f'"{n.replace(chr(34), chr(34) * 2)}",12345,,cat camel,09:00,\n' for n in HOSTILE_NAMES
    )
    token = csrf_token(admin_client, "/patients/import")
    upload = admin_client.post(
        "/patients/import",
        data={"csrf_token": token, "file": (io.BytesIO((IMPORT_HEADER + rows).encode()), "x.csv")},
        content_type="multipart/form-data",
    )
    assert upload.status_code == 302
    from bot.ops.clock import beat

    beat(twilio_app, "due 0")  # the clock is running: /readyz answers 200
    seen = 0
    for url in every_page(twilio_app, admin_client):
        response = admin_client.get(url)
        if url == "/metrics":  # off without METRICS_TOKEN; counts only (tests/test_metrics.py)
            assert response.status_code == 404
            continue
        assert response.status_code in (200, 302), url
        download = response.headers.get("Content-Disposition", "").startswith("attachment")
        if response.mimetype == "application/json" and not download:  # /healthz, /readyz
            assert not any(name in page(response) for name in HOSTILE_NAMES), url
            continue
        if response.mimetype != "text/html":  # a download (CSV, JSON): never shown as a page
            assert response.mimetype in ("text/csv", "text/plain", "application/json"), url
            assert response.headers["Content-Disposition"].startswith("attachment"), url
            assert response.headers["X-Content-Type-Options"] == "nosniff", url
            continue
        html = page(response)
        found, tags = scripts_in(html)
        assert not found, (url, found)
        assert "img" not in tags, url
        for name in HOSTILE_NAMES:
            assert name not in html or not re.search(r"[<>\"']", name), (url, name)
        seen += 1
    assert seen >= 8


def test_security_headers_on_every_response(admin_client, twilio_app):
    responses = {url: admin_client.get(url) for url in every_page(twilio_app, admin_client)}
    responses["/sms"] = post_sms(admin_client, "hours")
    responses["/static/style.css"] = admin_client.get("/static/style.css")
    responses["/no-such-page"] = admin_client.get("/no-such-page")
    for url, response in responses.items():
        headers = response.headers
        csp = headers.get("Content-Security-Policy", "")
        assert "default-src 'self'" in csp, url
        assert "script-src 'self'" in csp and "unsafe-inline" not in csp, url
        assert "frame-ancestors 'none'" in csp, url
        assert headers["X-Content-Type-Options"] == "nosniff", url
        assert headers["X-Frame-Options"] == "DENY", url
        assert headers["Referrer-Policy"] == "same-origin", url
        if url != "/static/style.css":
            assert headers["Cache-Control"] == "no-store", url
        response.close()


@pytest.mark.parametrize(
    "target",
    [
        "/%09/evil.example",
        "/%0a/x",
        "/%0d%0a/x",
        "//evil.example/x",
        "/%2F%2Fevil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "https://evil.example/patients",
        "javascript:alert(1)",
        "/ /evil.example",
        "/no-such-page",
        "/signin",
        "/static/style.css",
        "/patients%00",
        "evil.example",
    ],
)
def test_next_is_only_a_page_of_this_app(twilio_app, target):
    add_staff(twilio_app)
    client = twilio_app.test_client()
    token = csrf_token(client)
    response = client.post(
        f"/signin?next={target}",
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token},
    )
    assert response.status_code == 302
    assert response.location == "/patients"


@pytest.mark.parametrize("target", ["/patients?status=invited", "/patients/new", "/patients/3"])
def test_next_to_a_page_of_this_app_is_kept(twilio_app, target):
    add_staff(twilio_app)
    client = twilio_app.test_client()
    token = csrf_token(client)
    response = client.post(
        "/signin", query_string={"next": target},
        data={"email": STAFF_EMAIL, "password": PASSWORD, "csrf_token": token},
    )  # fmt: skip
    assert response.location == target
