"""In a real browser (Playwright driving Debian's Chromium): sign in, enroll a patient, see
the invitation in the conversation view, pause the patient. Saves a screenshot of the
patients page to test-output/patients.png."""

from __future__ import annotations

import shutil
import threading
from pathlib import Path

import pytest
from werkzeug.serving import make_server

from tests.conftest import PASSWORD, STAFF_EMAIL, add_staff

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
OUTPUT = Path(__file__).resolve().parent.parent / "test-output"
ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
]  # fmt: skip

playwright_api = pytest.importorskip(
    "playwright.sync_api", reason="Playwright is not installed (pip install -e '.[test]')"
)
if not Path(CHROMIUM).exists():
    pytest.skip(
        "no Chromium: the README's test command installs Debian's 'chromium' package; "
        "it could not here",
        allow_module_level=True,
    )


@pytest.fixture
def live_server(twilio_app):
    add_staff(twilio_app)
    server = make_server("127.0.0.1", 0, twilio_app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join()


@pytest.fixture
def browser_page():
    with playwright_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1100, "height": 800})
        yield page
        browser.close()


def test_enroll_and_pause_in_a_browser(live_server, browser_page, fake_twilio):
    page = browser_page
    expect = playwright_api.expect
    page.goto(f"{live_server}/patients")
    expect(page).to_have_url(f"{live_server}/signin?next=%2Fpatients")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page.get_by_role("heading", name="Patients")).to_be_visible()

    page.get_by_role("link", name="Enroll a patient").click()
    page.get_by_label("Name").fill("Ana Lopez")
    page.get_by_label("Mobile number").fill("(202) 555-0142")
    page.get_by_label("Daily reminder time").fill("09:30")
    page.get_by_role("checkbox", name="Cat and Camel").check()
    page.get_by_role("checkbox", name="Pelvic Tilt").check()
    page.get_by_label("The patient agreed in person").check()
    page.get_by_role("button", name="Enroll and send invitation").click()

    expect(page.get_by_text("Ana Lopez is enrolled and was sent the invitation")).to_be_visible()
    conversation = page.locator(".conversation")
    expect(conversation).to_contain_text("reply YES to get your daily exercise reminder at 9:30 AM")
    expect(page.locator("h1 .status")).to_have_text("Invited")
    assert fake_twilio.sent_to("+12025550142")

    page.get_by_role("button", name="Pause reminders").click()
    expect(page.get_by_text("Reminders paused for Ana Lopez")).to_be_visible()
    expect(page.locator("h1 .status")).to_have_text("Paused")

    page.get_by_role("link", name="Patients").first.click()
    expect(page.get_by_role("link", name="Ana Lopez")).to_be_visible()
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / "patients.png"), full_page=True)
    assert (OUTPUT / "patients.png").stat().st_size > 10_000


def test_patients_page_fits_a_phone(live_server, browser_page):
    page = browser_page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}/signin")
    page.get_by_label("Email").fill(STAFF_EMAIL)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    for path in ("/patients/new", "/patients", "/patients/import"):
        page.goto(f"{live_server}{path}")
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, f"{path} scrolls sideways on a phone"


def sign_in_page(page, live_server, email=STAFF_EMAIL):
    page.goto(f"{live_server}/signin")
    page.get_by_label("Email").fill(email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()


def test_a_hostile_name_runs_nothing_on_any_page_or_button(live_server, browser_page, twilio_app):
    """A patient named to break out of a script string (the stored XSS found in review):
    every page and every button, the confirmation pages included, run nothing of it."""
    from tests.conftest import ADMIN_EMAIL

    add_staff(twilio_app, ADMIN_EMAIL, "admin")
    page = browser_page
    dialogs = []

    def answer(dialog):
        dialogs.append((dialog.type, dialog.message))
        dialog.accept()

    page.on("dialog", answer)
    names = [
        "Eve'+alert(document.domain)+'",
        "Max</script><script>alert(1)</script>",
        '"><img src=x onerror=alert(2)>',
    ]
    sign_in_page(page, live_server, ADMIN_EMAIL)
    response = page.goto(f"{live_server}/patients")
    assert "default-src 'self'" in response.headers["content-security-policy"]
    expect = playwright_api.expect
    for number, name in enumerate(names):
        page.goto(f"{live_server}/patients/new")
        page.get_by_label("Name").fill(name)
        page.get_by_label("Mobile number").fill(f"(202) 555-015{number}")
        page.get_by_role("checkbox", name="Cat and Camel").check()
        page.get_by_label("The patient agreed in person").check()
        page.get_by_role("button", name="Enroll and send invitation").click()
        expect(page.locator("h1")).to_contain_text(name.split()[0][:3])
        patient_url = page.url
        page.get_by_role("link", name="Edit").click()
        expect(page.locator("h1")).to_have_text(f"Edit {name}")  # loaded before going back
        page.go_back()
        page.goto(f"{live_server}/patients")
        page.goto(patient_url)
        page.get_by_role("button", name="Pause reminders").click()
        page.get_by_role("button", name="Resume reminders").click()
        expect(page.get_by_role("button", name="Pause reminders")).to_be_visible()
        page.get_by_role("link", name="Remove patient").click()
        expect(page.locator("h1")).to_have_text(f"Remove {name}?")  # the name as text
        page.get_by_role("link", name="Cancel").click()
        page.get_by_role("link", name="Remove patient").click()
        page.get_by_role("button", name="Remove patient").click()
        expect(page.get_by_role("heading", name="Patients")).to_be_visible()
        page.goto(patient_url)  # an admin still sees a removed patient, to delete the data
        page.get_by_role("link", name="Delete this patient's data").click()
        expect(page.locator("h1")).to_have_text(f"Delete the data of {name} for good?")
        page.get_by_role("button", name="Delete this patient's data").click()
        expect(page.get_by_text("consent history kept")).to_be_visible()
        assert page.evaluate("typeof window.pwned") == "undefined"
    assert dialogs == []  # nothing of the names ran, and no page asks by script


def test_the_policy_blocks_an_inline_script(live_server, browser_page):
    """The Content-Security-Policy is the second wall: an inline script that slips into a
    page is not run by the browser."""
    page = browser_page
    page.goto(f"{live_server}/signin")
    page.evaluate(
        "() => { const s = document.createElement('div');"
        " s.innerHTML = '<img src=x onerror=\"window.pwned=1\">';"
        " document.body.appendChild(s); }"
    )
    page.wait_for_load_state("networkidle")
    assert page.evaluate("typeof window.pwned") == "undefined"


def test_a_form_with_mistakes_focuses_the_first_one(live_server, browser_page):
    page = browser_page
    sign_in_page(page, live_server)
    page.goto(f"{live_server}/patients/new")
    page.get_by_label("Mobile number").fill("12345")
    page.get_by_role("button", name="Enroll and send invitation").click()
    playwright_api.expect(page.get_by_role("alert")).to_contain_text("things need fixing")
    first = page.locator("input[name=name]")
    playwright_api.expect(first).to_be_focused()  # autofocus may land a moment after load
    focused = page.evaluate(
        "[document.activeElement.name, document.activeElement.getAttribute('aria-describedby')]"
    )
    assert focused == ["name", "name-error"]
    described = page.locator("#phone-error")
    playwright_api.expect(described).to_contain_text("is not a")


# --- the inbox, at a desk and on a phone ---------------------------------------------------

AXE = Path(__file__).resolve().parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"


def text_clinic(live_server: str, body: str, phone: str) -> str:
    """A patient's text through the signed webhook, as Twilio posts it; the bot's answer."""
    import requests

    from tests.conftest import sign, twilio_params

    params = twilio_params(body, phone)
    url = f"{live_server}/sms"
    response = requests.post(
        url, data=params, headers={"X-Twilio-Signature": sign(url, params)}, timeout=10
    )
    response.raise_for_status()
    return response.text


@pytest.mark.parametrize("width", [1280, 390])
def test_a_patient_asks_for_a_person_and_staff_answer_from_the_inbox(
    live_server, browser_page, fake_twilio, twilio_app, width
):
    from tests.conftest import ADMIN_EMAIL

    page = browser_page
    expect = playwright_api.expect
    page.set_viewport_size({"width": width, "height": 900})
    add_staff(twilio_app, ADMIN_EMAIL, "staff")  # a colleague at the other desk
    colleague = page.context.browser.new_page(viewport={"width": width, "height": 900})
    sign_in_page(colleague, live_server, ADMIN_EMAIL)
    phone = "+12025550160"
    assert "<Message>" in text_clinic(live_server, "can I talk to someone", phone)
    sign_in_page(page, live_server)
    inbox_link = page.get_by_role("link", name="Inbox")
    expect(inbox_link).to_contain_text("1")  # one unread, in the navigation
    inbox_link.click()
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    row = page.locator("table.inbox tbody tr")
    expect(row).to_have_count(1)
    expect(row).to_contain_text("can I talk to someone")
    expect(row).to_contain_text("Asks for a person")
    expect(row).to_contain_text("Unread")
    if width == 1280:
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "inbox.png"), full_page=True)
    expect(row).to_contain_text("Needs us")
    expect(row).to_contain_text("Nobody")
    row.get_by_role("link").click()
    page.get_by_role("button", name="Assign to me").click()
    expect(page.get_by_text("The thread is yours.")).to_be_visible()
    expect(page.get_by_label("Owner")).to_have_value(
        page.get_by_label("Owner").evaluate(
            "s => [...s.options].find(o => o.text.endsWith('(me)')).value"
        )
    )
    box = page.get_by_label("Reply by text")
    box.fill("Hi! This is Jo at the front desk. When is a good time to call?")
    expect(page.locator("#body-count")).to_have_text("62 characters, 1 text.")
    box.press_sequentially(" \U0001f600")
    expect(page.locator("#body-count")).to_contain_text("Costs more")
    # Spanish with accents costs UCS-2: the plain letters offered, with both counts.
    offer = page.get_by_role("button", name="Use plain letters (a, i, o, u)")
    expect(offer).to_be_hidden()
    spanish = "Hola, ¿cuándo le podemos llamar? Mañana por la tarde está bien para usted?"
    box.fill(spanish)
    expect(page.locator("#body-count")).to_contain_text("74 characters, 2 texts")
    expect(offer).to_be_visible()
    expect(page.locator(".plain-offer")).to_contain_text("In plain letters: 74 characters, 1 text.")
    offer.click()
    expect(box).to_have_value(spanish.replace("á", "a"))
    expect(page.locator("#body-count")).to_have_text("74 characters, 1 text.")
    expect(offer).to_be_hidden()
    box.fill("Hi! This is Jo at the front desk. When is a good time to call?")
    box.press("Control+Enter")  # sends, as the Send button (not "Send and mark done")
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    expect(page.locator(".conversation")).to_contain_text("When is a good time to call?")
    expect(page.locator(".conversation")).to_contain_text(f"sent by {STAFF_EMAIL}")
    [sent] = fake_twilio.sent_to(phone)
    assert sent.body == "Hi! This is Jo at the front desk. When is a good time to call?"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    expect(page.locator("h1 .status")).to_have_text("Waiting on the patient")
    page.get_by_role("link", name="Inbox").click()
    expect(page.get_by_role("link", name="Waiting on the patient (1)")).to_be_visible()
    page.get_by_role("link", name="Mine (1)").click()
    expect(page.locator("table.inbox tbody tr")).to_contain_text("Waiting on the patient")
    # The colleague never opened it: still unread for them, and they see who has it.
    colleague.reload()
    expect(colleague.get_by_role("link", name="Inbox")).to_contain_text("1")
    colleague.get_by_role("link", name="Inbox").click()
    colleague.get_by_role("link", name="Waiting on the patient (1)").click()
    theirs = colleague.locator("table.inbox tbody tr")
    expect(theirs).to_contain_text("Unread")
    expect(theirs).to_contain_text(STAFF_EMAIL)
    page.locator("table.inbox tbody tr").get_by_role("link").click()
    page.get_by_role("button", name="Mark done", exact=True).click()
    expect(page.get_by_text("Nothing needs a person right now.")).to_be_visible()
    expect(page.get_by_role("link", name="Inbox")).to_have_text("Inbox")


# Stands in for the browser's notifications: records each one the page shows (its title and
# text) and says the member allowed them. Injected before the page's own scripts run.
RECORD_NOTIFICATIONS = """
window.__shown = [];
window.Notification = function (title, options) { window.__shown.push([title, options.body]); };
window.Notification.permission = "granted";
window.Notification.requestPermission = function () { return Promise.resolve("granted"); };
"""


@pytest.mark.parametrize("width", [1280, 390])
def test_a_new_text_appears_in_the_open_inbox_without_reloading(
    live_server, browser_page, twilio_app, width
):
    page = browser_page
    expect = playwright_api.expect
    twilio_app.config["INBOX_POLL_SECONDS"] = 1
    page.set_viewport_size({"width": width, "height": 900})
    page.add_init_script(RECORD_NOTIFICATIONS)
    text_clinic(live_server, "can I talk to someone", "+12025550163")
    sign_in_page(page, live_server)
    page.get_by_role("link", name="Inbox").click()
    rows = page.locator("table.inbox tbody tr")
    expect(rows).to_have_count(1)
    page.evaluate("window.__same_page = true")  # gone if the page were loaded again
    # A patient not enrolled texts a red flag while the page is open.
    text_clinic(live_server, "I fell and can't feel my legs", "+12025550164")
    expect(rows).to_have_count(2, timeout=10_000)
    expect(rows.first).to_contain_text("Urgent")
    expect(rows.first).to_contain_text("Unread")
    expect(page.get_by_role("link", name="Inbox")).to_contain_text("2")
    expect(page.locator("#inbox-update")).to_have_text("The inbox was updated.")
    assert page.evaluate("window.__same_page") is True
    shown = page.evaluate("window.__shown")
    assert shown == [
        ["Urgent text in the inbox", "A patient's text needs a person now. Open the inbox."]
    ]
    # On another page, the badge alone follows.
    page.get_by_role("link", name="Patients").click()
    text_clinic(live_server, "call me please", "+12025550165")
    expect(page.get_by_role("link", name="Inbox")).to_contain_text("3", timeout=10_000)
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def test_signing_in_with_an_urgent_text_waiting_opens_the_inbox(live_server, browser_page):
    text_clinic(live_server, "I have chest pain and can't breathe", "+12025550166")
    sign_in_page(browser_page, live_server)
    playwright_api.expect(browser_page.get_by_role("heading", name="Inbox")).to_be_visible()
    playwright_api.expect(browser_page.locator("table.inbox tbody tr")).to_contain_text("Urgent")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_saved_reply_in_spanish_with_the_first_name_filled(
    live_server, browser_page, twilio_app, fake_twilio, width
):
    from bot.inbox import saved_replies
    from bot.models import Patient, db
    from tests.conftest import subscribe

    expect = playwright_api.expect
    phone = "+12025550167"
    patient_id = subscribe(twilio_app, phone, name="Lucía Fernández")
    with twilio_app.app_context():
        db.session.get(Patient, patient_id).language = "es"
        saved_replies.save(
            db.session, None, "Running late",
            "Hi {first_name}, we are running 15 minutes late today.",
            "Hola {first_name}, hoy vamos 15 minutos tarde. Gracias por su paciencia.",
            "manager@clinic.example",
        )  # fmt: skip
        db.session.commit()
    text_clinic(live_server, "necesito hablar con alguien", phone)
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    sign_in_page(page, live_server)
    page.get_by_role("link", name="Inbox").click()
    page.locator("table.inbox tbody tr").get_by_role("link").click()
    page.get_by_label("Saved reply").select_option(label="Running late (español), 1 text")
    box = page.get_by_label("Reply by text")
    wanted = "Hola Lucía, hoy vamos 15 minutos tarde. Gracias por su paciencia."
    expect(box).to_have_value(wanted)
    expect(box).to_be_focused()
    # The counter shows its cost as it will be sent (with "í": 70 characters a text).
    expect(page.locator("#body-count")).to_contain_text(f"{len(wanted)} characters, 1 text")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    [sent] = fake_twilio.sent_to(phone)
    assert sent.body == wanted
    assert page.evaluate("document.documentElement.scrollWidth") <= width


def staff_pages(twilio_app, live_server) -> list[str]:
    """Every staff page, with data on it: a patient with texts, a chart and an open thread."""
    import datetime as dt
    from zoneinfo import ZoneInfo

    from bot.inbox import saved_replies
    from bot.models import AdherenceDay, Message, ReminderDelivery, Thread, db
    from tests.conftest import subscribe

    phone = "+12025550161"
    patient_id = subscribe(twilio_app, phone, name="María García")
    subscribe(twilio_app, "+12025550162", name="Sean O'Connor")  # no DONE yet
    text_clinic(live_server, "call me please", phone)
    today = dt.datetime.now(ZoneInfo("America/New_York")).date()
    pains = [6, 6, 5, None, 5, 4, 4, None, 3, 3, 4, 2, 3, None, 2, 2, 2, 1, 2, 1, 1, 1]
    with twilio_app.app_context():
        for n in range(26):  # reminders for 26 days; done on most, with the pain easing
            day = today - dt.timedelta(days=n)
            sid = f"SMreminder{n:024d}"
            db.session.add(
                ReminderDelivery(patient_id=patient_id, local_date=day, phone=phone,
                                 body="Your exercises", status="sent", message_sid=sid,
                                 due_at=dt.datetime.now(dt.UTC), delivery_status="delivered")
            )  # fmt: skip
            db.session.add(
                Message(phone=phone, direction="out", body="Your exercises", kind="reminder",
                        message_sid=sid, status="delivered",
                        created_at=dt.datetime.now(dt.UTC) - dt.timedelta(days=n))
            )  # fmt: skip
            if n % 6 != 5:
                pain = pains[len(pains) - 1 - n] if n < len(pains) else 6
                db.session.add(
                    AdherenceDay(patient_id=patient_id, done_at=dt.datetime.now(dt.UTC),
                                 local_date=day, pain=pain)
                )  # fmt: skip
        db.session.commit()
        thread_id = db.session.scalar(db.select(Thread.id))
        previewed, reported = _import_pages(twilio_app, patient_id)
        reply = saved_replies.save(
            db.session, None, "Running late", "Hi {first_name}, we run 10 minutes late.",
            "Hola {first_name}, vamos 10 minutos tarde.", "admin@clinic.example",
        )  # fmt: skip
        db.session.commit()
        reply_id = reply.id
    return [
        "/signin", "/patients", "/patients/new", "/patients/import", "/inbox",
        f"/inbox/{thread_id}", f"/patients/{patient_id}", f"/patients/{patient_id}/edit",
        f"/patients/{patient_id}/remove", f"/patients/{patient_id}/delete-data",
        "/dashboard", "/caseload", "/staff", "/audit", "/account/password", "/replies",
        f"/replies/{reply_id}", previewed, reported, "/no-such-page",
    ]  # fmt: skip


def _import_pages(app, patient_id: int) -> tuple[str, str]:
    """An import's preview (a file read: a bad row, the rows as read) and a report with
    invitations held for the night, as pages."""
    from bot.models import ImportJob, db
    from bot.patients.importer import keep_for_confirmation, preview_csv

    data = (
        "name,phone,language,routine,reminder_time,timezone\n"
        "Zoë Ødegaard,(202) 555-0167,es,cat camel,7pm,\n"
        "No Number,,en,cat camel,09:00,\n"
    ).encode()
    preview_id = keep_for_confirmation(app, data, preview_csv(app, data), STAFF_EMAIL)
    held = "held: outside sending hours (8:00 AM-9:00 PM, where the patient is)"
    done = ImportJob(created_by=STAFF_EMAIL, status="done", stage="inviting", report={
        "kind": "import", "rows": 2, "enrolled": 2, "duplicates": 0, "invited": 0,
        "errors": [[3, "phone: Enter the patient's mobile number."]],
        "invite_failures": [[2, held, patient_id]],
    })  # fmt: skip
    db.session.add(done)
    db.session.commit()
    return f"/patients/import/{preview_id}", f"/patients/import/{done.id}"


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_nothing_on_any_staff_page(live_server, browser_page, twilio_app, width):
    if not AXE.exists():
        pytest.skip("axe-core is not installed: the README's test command installs it with npm")
    from tests.conftest import ADMIN_EMAIL

    add_staff(twilio_app, ADMIN_EMAIL, "admin")
    page = browser_page
    page.set_viewport_size({"width": width, "height": 900})
    paths = staff_pages(twilio_app, live_server)
    source = AXE.read_text()
    found = {}
    for path in paths:
        if path == "/signin":
            page.goto(f"{live_server}/signin")
        else:
            if "signin" in page.url or path == paths[1]:
                sign_in_page(page, live_server, ADMIN_EMAIL)
            response = page.goto(f"{live_server}{path}")
            assert response.status == (404 if path == "/no-such-page" else 200), path
        violations = axe_violations(page, source)
        if violations:
            found[path] = violations
        if width == 1280 and path.startswith("/patients/") and path[10:].isdigit():
            OUTPUT.mkdir(exist_ok=True)
            page.screenshot(path=str(OUTPUT / "patient-chart.png"), full_page=True)
        if width == 1280 and path in ("/dashboard", "/audit"):
            page.screenshot(path=str(OUTPUT / f"{path[1:]}.png"), full_page=True)
    assert not found, found


def axe_violations(page, source: str) -> list:
    page.evaluate(source)  # run from the test, not the page: the CSP stays as it is
    result = page.evaluate("axe.run(document, {resultTypes: ['violations']})")
    return [
        (v["id"], v["impact"], [n["target"] for n in v["nodes"]][:3]) for v in result["violations"]
    ]


@pytest.mark.parametrize("width", [1280, 390])
def test_axe_finds_nothing_on_the_simulator(make_app, browser_page, width):
    """The development simulator (SIMULATOR=1), with a conversation on it."""
    if not AXE.exists():
        pytest.skip("axe-core is not installed: the README's test command installs it with npm")
    app = make_app(SIMULATOR="1")
    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        page = browser_page
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"http://127.0.0.1:{server.server_port}/simulator/")
        page.get_by_label("Your text").fill("cat camel")
        page.get_by_role("button", name="Send").click()
        playwright_api.expect(page.locator(".msg.out")).to_contain_text("Cat")
        assert axe_violations(page, AXE.read_text()) == []
    finally:
        server.shutdown()


def test_hostile_names_and_texts_on_a_phone(live_server, browser_page, twilio_app):
    """At 390 px, a name and texts made to break out of the page (a textarea, a string, an
    attribute) run nothing, scroll nothing sideways, and a reply of the same goes out."""
    from bot.models import ImportJob, Thread, db
    from tests.conftest import subscribe

    name = "Tex</textarea><script>window.pwned=1</script>'+x+'"
    patient_id = subscribe(twilio_app, "+12025550170", name=name)
    text_clinic(live_server, f"call me {name} {'a' * 120}", "+12025550170")
    text_clinic(
        live_server, 'can I talk to someone "><img src=x onerror=window.pwned=1>', "+12025550171"
    )
    with twilio_app.app_context():
        threads = db.session.scalars(db.select(Thread.id).order_by(Thread.id)).all()
        held = f'held: {name}"><img src=x onerror=window.pwned=1>'  # a report's reason
        summary = {"kind": "invite_again", "rows": 1, "invited": 0,
                   "invite_failures": [[None, held, patient_id]]}  # fmt: skip
        report = ImportJob(created_by="desk@clinic.example", status="done", stage="inviting",
                           kind="invite_again", report=summary)  # fmt: skip
        db.session.add(report)
        db.session.commit()
        report_id = report.id
    page = browser_page
    dialogs = []
    page.on("dialog", lambda dialog: (dialogs.append(dialog.message), dialog.dismiss()))
    page.set_viewport_size({"width": 390, "height": 844})
    sign_in_page(page, live_server)
    paths = ["/inbox", *(f"/inbox/{t}" for t in threads), "/patients", "/dashboard",
             "/patients?status=invited", f"/patients/{patient_id}",
             f"/patients/{patient_id}/edit", f"/patients/{patient_id}/remove",
             f"/patients/import/{report_id}"]  # fmt: skip
    for path in paths:
        page.goto(f"{live_server}{path}")
        assert page.evaluate("document.documentElement.scrollWidth") <= 390, path
        assert page.evaluate("typeof window.pwned") == "undefined", path
    page.goto(f"{live_server}/inbox/{threads[0]}")
    page.get_by_label("Reply by text").fill("</textarea><script>window.pwned=1</script>'+x+'")
    page.get_by_role("button", name="Send", exact=True).click()
    playwright_api.expect(page.get_by_text("Reply sent.")).to_be_visible()
    playwright_api.expect(page.locator(".conversation")).to_contain_text("</textarea><script>")
    assert page.evaluate("typeof window.pwned") == "undefined"
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    assert dialogs == []


LABELS_JS = """table => [...table.querySelectorAll('tbody td')].map(td => [
    td.dataset.label || '',
    getComputedStyle(td, '::before').content,
    td.getBoundingClientRect().width,
])"""


def test_lists_label_every_value_and_a_patient_shows_facts_first_on_a_phone(
    live_server, browser_page, twilio_app
):
    """Issue 25, item 6: at 390 px the lists (patients, audit, dashboard) show each value
    with its column's label, and keep their headings for screen readers; a patient's page
    puts the facts first, then the conversation, newest first, under the reply box."""
    page = browser_page
    [_, patients, *_] = paths = staff_pages(twilio_app, live_server)
    patient = next(p for p in paths if p.startswith("/patients/") and p[10:].isdigit())
    add_staff(twilio_app, "admin@clinic.example", "admin")
    sign_in_page(page, live_server, email="admin@clinic.example")
    page.goto(f"{live_server}{patient}")  # a line in the audit trail
    for path, width in [(p, w) for p in (patients, "/audit", "/dashboard") for w in (390, 1280)]:
        page.set_viewport_size({"width": width, "height": 900})
        page.goto(f"{live_server}{path}")
        table = page.locator("table.list").first
        cells = table.evaluate(LABELS_JS)
        assert cells, path
        for label, before, _ in cells:
            assert label, (path, "a value without its label")
            if width == 390:
                assert before == f'"{label}: "', (path, before)
            else:
                assert before in ("none", "normal"), (path, before)  # a table: headings
        assert table.get_by_role("columnheader").count() >= 3, path  # for screen readers

    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live_server}{patient}")

    def top(selector: str) -> float:
        return page.locator(selector).first.evaluate("e => e.getBoundingClientRect().top")

    assert top(".facts-card") < top(".conversation-card") < top(".chart")
    texts = page.locator(".conversation .msg")
    assert texts.count() >= 2
    first, second = (texts.nth(i).evaluate("e => e.getBoundingClientRect().top") for i in (0, 1))
    assert second < first  # in the page's order oldest first; on a phone the newest on top
    assert top("#reply") < min(first, second)  # the reply box above the newest text


# In the window and not covered (the reply box is kept in view over the page): the element
# is what the window shows at its centre and near its top and bottom edges.
IN_VIEW_JS = """e => { const r = e.getBoundingClientRect();
    if (!(r.height > 0 && r.top >= 0 && r.bottom <= window.innerHeight)) return false;
    const x = r.left + r.width / 2;
    return [r.top + 2, (r.top + r.bottom) / 2, r.bottom - 2].every(
        y => e.contains(document.elementFromPoint(x, y))); }"""


@pytest.mark.parametrize(("width", "height"), [(1280, 800), (390, 844)])
def test_an_urgent_thread_under_a_month_of_texts_opens_where_the_news_is(
    live_server, browser_page, twilio_app, width, height
):
    """Issue 25, items 1 and 2: under a month of reminders and DONEs, a red-flag text's
    thread opens showing, without scrolling, the call link, what the bot already did, the
    red-flag text itself and the reply box; the reply box stays at hand scrolled anywhere;
    a reply sent from it moves the thread to waiting on the patient."""
    import datetime as dt

    from bot.models import Message, db
    from tests.conftest import subscribe

    page = browser_page
    expect = playwright_api.expect
    phone = "+12025550163"
    subscribe(twilio_app, phone, name="Jordan Alvarez")
    now = dt.datetime.now(dt.UTC)
    with twilio_app.app_context():
        for n in range(30, 0, -1):  # a month: each day a reminder and a DONE with its answer
            at = now - dt.timedelta(days=n)
            for offset, direction, body, kind in [
                (0, "out", "Good morning! Your exercises: 1. Cat camel 2. Pelvic tilt", "reminder"),
                (30, "in", "DONE", "done"),
                (31, "out", f"Nice work! {n} days in a row.", "done"),
            ]:
                db.session.add(
                    Message(phone=phone, direction=direction, body=body, kind=kind,
                            status="delivered" if direction == "out" else None,
                            created_at=at + dt.timedelta(minutes=offset))
                )  # fmt: skip
        db.session.commit()
    red_flag = "I fell on the stairs and can't feel my legs"
    assert "911" in text_clinic(live_server, red_flag, phone)

    page.set_viewport_size({"width": width, "height": height})
    sign_in_page(page, live_server)
    page.get_by_role("link", name="Inbox").first.click()
    page.locator("table.inbox tbody tr").get_by_role("link").click()
    expect(page.locator("h1")).to_contain_text("Jordan Alvarez")
    assert page.evaluate("window.scrollY") == 0
    call = page.get_by_role("link", name="Call (202) 555-0163")
    action = page.locator(".bot-actions li").filter(has_text="Told to call 911")
    news = page.locator(".news")  # why, quoting the text that brought the thread here
    newest = page.locator(".conversation .msg").first  # the bot's answer to it
    box = page.get_by_label("Reply by text")
    expect(news.locator("q")).to_have_text(red_flag)
    expect(newest).to_contain_text("call 911")
    expect(page.locator(".conversation .msg").nth(1)).to_contain_text(red_flag)
    OUTPUT.mkdir(exist_ok=True)
    page.screenshot(path=str(OUTPUT / ("thread.png" if width == 1280 else "thread-phone.png")))
    for what, element in [("call link", call), ("bot's action", action),
                          ("red-flag text", news), ("newest text's foot", newest.locator(".meta")),
                          ("reply box", box)]:  # fmt: skip
        assert element.evaluate(IN_VIEW_JS), f"the {what} is not in view at {width} px"
    assert call.get_attribute("href") == f"tel:{phone}"
    assert page.locator(".conversation .msg").count() == 12  # the last dozen, then "earlier"
    expect(page.get_by_role("link", name="Earlier texts")).to_be_attached()
    page.evaluate("window.scrollTo(0, document.body.scrollHeight)")  # the page's foot
    assert page.evaluate("window.scrollY") > 0
    assert box.evaluate(IN_VIEW_JS), f"the reply box went out of view at {width} px"
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    box.fill("We are calling you now. If you have not called 911, please do.")
    page.get_by_role("button", name="Send", exact=True).click()
    expect(page.get_by_text("Reply sent.")).to_be_visible()
    expect(page.locator("h1 .status.state-waiting")).to_have_text("Waiting on the patient")
    expect(page.locator(".conversation .msg").first).to_contain_text("We are calling you now")


@pytest.mark.parametrize("width", [1280, 390])
def test_a_clinician_lands_on_the_caseload_and_pauses_a_patient_until_a_day(
    live_server, browser_page, twilio_app, width
):
    """Issue 25, item 7: a clinician signs in to the caseload (no staff accounts or audit
    in the navigation), opens a patient from it and pauses their reminders until a day with
    a reason; the page then says until when, by whom and why."""
    import datetime as dt

    from tests.conftest import subscribe

    page = browser_page
    expect = playwright_api.expect
    page.set_viewport_size({"width": width, "height": 900})
    add_staff(twilio_app, "pt@clinic.example", "clinician")
    subscribe(twilio_app, "+12025550164", name="Renée O'Brien-Núñez")
    sign_in_page(page, live_server, "pt@clinic.example")
    expect(page.get_by_role("heading", name="Caseload")).to_be_visible()
    nav = page.locator("header nav")
    expect(nav.get_by_role("link", name="Inbox")).to_be_visible()
    expect(nav.get_by_role("link", name="Staff")).to_have_count(0)
    expect(nav.get_by_role("link", name="Audit")).to_have_count(0)
    page.get_by_role("link", name="Renée O'Brien-Núñez").click()
    resume_on = page.get_by_label("Start again on")
    first = dt.date.fromisoformat(resume_on.get_attribute("min"))
    day = first + dt.timedelta(days=13)
    resume_on.fill(day.isoformat())
    page.get_by_label("Reason").fill("Knee surgery; seen again in two weeks")
    page.get_by_role("button", name="Pause reminders").click()
    expect(page.locator(".flash.success")).to_contain_text(
        f"until {day:%b} {day.day} (they start again that day)"
    )
    said = page.locator(".paused-by")
    expect(said).to_contain_text("by pt@clinic.example")
    expect(said).to_contain_text("Reason: Knee surgery; seen again in two weeks.")
    assert page.evaluate("document.documentElement.scrollWidth") <= width
    if width == 1280:
        OUTPUT.mkdir(exist_ok=True)
        page.screenshot(path=str(OUTPUT / "patient.png"), full_page=True)


@pytest.mark.parametrize("width", [1280, 390])
def test_an_import_shows_how_it_read_the_file_and_sends_the_held_invitations(
    live_server, browser_page, twilio_app, fake_twilio, width
):
    """Issue 25, item 9: the preview shows each row's time and zone as read beside what
    was written (each value labelled on a phone); after the import, the invitations held
    for the night are one line with the patients' names, and a button sends them."""
    import datetime as dt

    from tests.conftest import hours_excluding_now

    page = browser_page
    expect = playwright_api.expect
    page.set_viewport_size({"width": width, "height": 900})
    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    sign_in_page(page, live_server)
    page.get_by_role("link", name="Import").click()
    csv = (
        "name,phone,language,routine,reminder_time,timezone\n"
        "Zoë Ødegaard,(202) 555-0165,es,cat camel,7pm,\n"
        "Li Wei,202-555-0166,,pelvic tilt,18:30,America/Chicago\n"
    )
    page.get_by_label("CSV file").set_input_files(
        files=[{"name": "patients.csv", "mimeType": "text/csv", "buffer": csv.encode()}]
    )
    page.get_by_role("button", name="Import").click()
    expect(page.get_by_role("heading", name="How the file was read")).to_be_visible()
    zoe = page.locator("table.read tbody tr").filter(has_text="Zoë Ødegaard")
    expect(zoe.locator('td[data-label="Daily time"]')).to_have_text("7:00 PM (written 7pm)")
    expect(zoe.locator('td[data-label="Time zone"]')).to_contain_text("(the clinic's)")
    if width == 390:  # each value with its label, as the other lists
        label = zoe.locator('td[data-label="Daily time"]').evaluate(
            "td => getComputedStyle(td, '::before').content"
        )
        assert label == '"Daily time: "'
    page.get_by_role("button", name="Import 2 and send 0 invitations").click()
    held = page.locator("table.invitations tbody tr")
    expect(held).to_have_count(1)
    expect(held).to_contain_text("held: outside sending hours")
    expect(held).to_contain_text("Zoë Ødegaard (line 2), Li Wei (line 3)")
    assert fake_twilio.messages == []
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(0), dt.time(23, 59))  # morning came
    page.get_by_role("button", name="Send the waiting invitations").click()
    expect(
        page.get_by_text("2 patients waiting for an invitation; 2 invitations sent")
    ).to_be_visible(timeout=20_000)
    assert len(fake_twilio.messages) == 2
    assert page.evaluate("document.documentElement.scrollWidth") <= width
