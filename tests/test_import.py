"""Bulk enrollment from CSV (command and upload page), and the staff create command."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
from pathlib import Path

import pytest
from sqlalchemy import func, select, update

from bot.models import Message, Patient, StaffUser, db
from tests.conftest import PASSWORD, csrf_token, hours_excluding_now, post_sms

HEADER = "name,phone,language,routine,reminder_time,timezone\n"
GOOD = (
    "Ana Lopez,(202) 555-0101,es,cat camel; pelvic tilt,09:00,\n"
    "Bob Smith,202-555-0102,,Piriformis strech;knee to chest,18:30,America/Chicago\n"
    "Cy Young,+1 202 555 0103,English,birddog,7:15,\n"
)
BAD = (
    "No Phone,,en,cat camel,09:00,\n"
    "Landline,+44 20 7183 8750,,cat camel,09:00,\n"
    "Bad Exercise,202-555-0104,,moonwalk,09:00,\n"
    "Bad Time,202-555-0105,,cat camel,25:00,\n"
    "Bad Zone,202-555-0106,,cat camel,09:00,Mars/Base\n"
    "Bad Language,202-555-0107,klingon,cat camel,09:00,\n"
    "Ana Again,202.555.0101,,cat camel,09:00,\n"
)


def write(tmp_path, text: str):
    path = tmp_path / "patients.csv"
    path.write_text(text, encoding="utf-8")
    return str(path)


def count_patients(app) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(Patient))


def test_import_enrolls_good_rows_reports_bad_ones(twilio_app, fake_twilio, tmp_path):
    result = twilio_app.test_cli_runner().invoke(
        args=["patients", "import", write(tmp_path, HEADER + GOOD + BAD)]
    )
    assert result.exit_code == 1  # some rows were bad
    output = result.output
    assert "10 rows: 3 enrolled, 0 already enrolled, 7 with errors; 3 invitations sent." in output
    for line, reason in [
        (5, "phone: Enter the patient's mobile number."),
        (6, "is not a mobile number"),
        (7, "'moonwalk' is not one of the clinic's exercises"),
        (8, "'25:00' is not a time of day"),
        (9, "'Mars/Base' is not a time zone"),
        (10, "'klingon' is not a language"),
        (11, "the same number as line 2"),
    ]:
        assert f"line {line}: " in output and reason in output, (line, reason, output)
    with twilio_app.app_context():
        patients = {p.phone: p for p in db.session.scalars(select(Patient))}
    assert patients["+12025550101"].routine == ["cat-camel", "pelvic-tilt"]
    assert patients["+12025550101"].language == "es"
    assert patients["+12025550101"].timezone == "America/New_York"
    assert patients["+12025550102"].routine == ["piriformis-stretch", "knee-to-chest"]
    assert patients["+12025550102"].timezone == "America/Chicago"
    assert patients["+12025550103"].routine == ["bird-dog"]
    assert len(fake_twilio.messages) == 3
    assert "responda YES" in fake_twilio.sent_to("+12025550101")[0].body


def test_import_twice_enrolls_nobody_twice(twilio_app, fake_twilio, tmp_path):
    path = write(tmp_path, HEADER + GOOD)
    runner = twilio_app.test_cli_runner()
    assert runner.invoke(args=["patients", "import", path]).exit_code == 0
    again = runner.invoke(args=["patients", "import", path])
    assert again.exit_code == 0
    assert "0 enrolled, 3 already enrolled" in again.output
    assert count_patients(twilio_app) == 3
    assert len(fake_twilio.messages) == 3  # no second invitation


def test_rerun_invites_those_a_failed_run_could_not(twilio_app, fake_twilio, tmp_path):
    path = write(tmp_path, HEADER + GOOD)
    fake_twilio.fail_share = 1.0  # Twilio is down: enrolled, not invited
    runner = twilio_app.test_cli_runner()
    first = runner.invoke(args=["patients", "import", path])
    assert "3 enrolled" in first.output and "0 invitations sent" in first.output
    assert "enrolled, but no invitation sent" in first.output
    fake_twilio.fail_share = 0.0
    second = runner.invoke(args=["patients", "import", path])
    assert "3 already enrolled" in second.output and "3 invitations sent" in second.output
    assert len(fake_twilio.messages) == 3


def test_missing_header_is_a_clear_error(twilio_app, tmp_path):
    result = twilio_app.test_cli_runner().invoke(
        args=["patients", "import", write(tmp_path, "name,phone\nAna,2025550101\n")]
    )
    assert result.exit_code != 0
    assert "line 1: the header must be name,phone,language,routine,reminder_time,timezone" in (
        result.output
    )
    assert count_patients(twilio_app) == 0


def test_invitations_go_out_concurrently(make_app, fake_twilio, tmp_path):
    from tests.conftest import ACCOUNT_SID, CLINIC_NUMBER

    app = make_app(
        TWILIO_ACCOUNT_SID=ACCOUNT_SID,
        TWILIO_FROM_NUMBER=CLINIC_NUMBER,
        TWILIO_API_BASE_URL=fake_twilio.base_url,
        SEND_CONCURRENCY=8,
        SEND_RATE_PER_SECOND=1000,
    )
    fake_twilio.gather = 8  # no answer until eight are in flight together
    rows = "".join(f"Patient {i},+1202555{i:04d},,cat camel,09:00,\n" for i in range(100, 140))
    result = app.test_cli_runner().invoke(
        args=["patients", "import", write(tmp_path, HEADER + rows)]
    )
    assert "40 enrolled" in result.output and "40 invitations sent" in result.output
    assert fake_twilio.max_in_flight_seen == 8  # as many at once as the setting, no more


def test_upload_page(staff_client, twilio_app, fake_twilio):
    text = upload(staff_client, (HEADER + GOOD + BAD).encode())
    assert "3 enrolled" in text and "7 with errors" in text
    assert "'moonwalk' is not one of the clinic's exercises" in text
    assert count_patients(twilio_app) == 3


def test_staff_create_command(runner, app):
    result = runner.invoke(
        args=["staff", "create", "Desk@Clinic.example"], input=f"{PASSWORD}\n{PASSWORD}\n"
    )
    assert result.exit_code == 0, result.output
    assert "Created staff account desk@clinic.example" in result.output
    result = runner.invoke(
        args=["staff", "create", "boss@clinic.example", "--admin"],
        env={"STAFF_PASSWORD": PASSWORD},
    )
    assert "Created admin account" in result.output
    with app.app_context():
        users = {u.email: u.role for u in db.session.scalars(select(StaffUser))}
    assert users == {"desk@clinic.example": "staff", "boss@clinic.example": "admin"}


def test_staff_create_refuses_duplicates_and_short_passwords(runner):
    runner.invoke(args=["staff", "create", "a@clinic.example"], env={"STAFF_PASSWORD": PASSWORD})
    again = runner.invoke(
        args=["staff", "create", "a@clinic.example"], env={"STAFF_PASSWORD": PASSWORD}
    )
    assert again.exit_code != 0 and "already has an account" in again.output
    short = runner.invoke(
        args=["staff", "create", "b@clinic.example"], env={"STAFF_PASSWORD": "short"}
    )
    assert short.exit_code != 0 and "at least 10 characters" in short.output


def test_invitations_are_held_at_night_and_sent_by_importing_again(
    twilio_app, fake_twilio, tmp_path
):
    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    rows = "Ana Lopez,(202) 555-0101,,cat camel,09:00,\nBob Smith,202-555-0102,,birddog,18:30,\n"
    path = write(tmp_path, HEADER + rows)
    runner = twilio_app.test_cli_runner()
    result = runner.invoke(args=["patients", "import", path])
    assert "2 enrolled" in result.output and "0 invitations sent" in result.output
    assert result.output.count("held: outside sending hours") == 2
    assert "line 2:" in result.output and "line 3:" in result.output
    assert fake_twilio.messages == [] and count_patients(twilio_app) == 2
    # In the morning, the same file again: nobody enrolled twice, each invited once.
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(0), dt.time.max)
    result = runner.invoke(args=["patients", "import", path])
    assert "2 already enrolled" in result.output and "2 invitations sent" in result.output
    assert sorted(m.to for m in fake_twilio.messages) == ["+12025550101", "+12025550102"]
    result = runner.invoke(args=["patients", "import", path])
    assert "0 invitations sent" in result.output and len(fake_twilio.messages) == 2


def test_invite_command_sends_the_held_invitations_once(twilio_app, fake_twilio, tmp_path):
    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    rows = (
        "Ana Lopez,(202) 555-0101,,cat camel,09:00,\n"
        "Bob Smith,202-555-0102,,birddog,18:30,\n"
        "Cy Young,202-555-0103,,birddog,18:30,\n"
    )
    runner = twilio_app.test_cli_runner()
    runner.invoke(args=["patients", "import", write(tmp_path, HEADER + rows)])
    assert fake_twilio.messages == []
    # Before morning, Cy texts STOP and Bob texts YES (he heard of it at the desk).
    texts = twilio_app.test_client()
    post_sms(texts, "STOP", phone="+12025550103")
    post_sms(texts, "YES", phone="+12025550102")
    result = runner.invoke(args=["patients", "invite"])
    assert "1 waiting for an invitation; 0 invitations sent." in result.output
    assert "held: outside sending hours" in result.output
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(0), dt.time.max)
    result = runner.invoke(args=["patients", "invite"])
    assert "1 waiting for an invitation; 1 invitations sent." in result.output, result.output
    assert [m.to for m in fake_twilio.messages if "reply YES" in m.body] == ["+12025550101"]
    result = runner.invoke(args=["patients", "invite"])
    assert "0 waiting for an invitation" in result.output


# --- files as spreadsheets and careless hands make them ------------------------------------


def upload(client, data: bytes, confirm: bool = True):
    """Upload a file on the import page; once it is previewed, confirm it (unless told
    not to). The text of the page it ends on: the report, the preview, or the refusal."""
    response = post_file(client, data)
    if response.status_code == 302 and confirm:
        response = confirm_preview(client, response.location)
    if response.status_code == 302:
        response = client.get(response.location)
    assert response.status_code == 200, response.status_code
    return response.get_data(as_text=True).replace("&#39;", "'").replace("&#34;", '"')


def post_file(client, data: bytes, name: str = "patients.csv"):
    token = csrf_token(client, "/patients/import")
    return client.post(
        "/patients/import",
        data={"csrf_token": token, "file": (io.BytesIO(data), name)},
        content_type="multipart/form-data",
    )


def confirm_preview(client, preview_url: str):
    """Press the preview page's confirm button; the response (a redirect to the job page)."""
    page = client.get(preview_url).get_data(as_text=True)
    action = re.search(r'action="(/patients/import/\d+/confirm)"', page)
    assert action, "no confirm button on the preview"
    return client.post(action.group(1), data={"csrf_token": csrf_token(client, preview_url)})


def enrolled_names(app) -> list[str]:
    with app.app_context():
        return sorted(db.session.scalars(select(Patient.name)))


def test_a_semicolon_file_is_read(staff_client, twilio_app, fake_twilio):
    text = HEADER.replace(",", ";") + (
        "Ana Lopez;(202) 555-0101;es;cat camel, pelvic tilt;09:00;\n"
        'Bob Smith;202-555-0102;;"Piriformis strech;knee to chest";18:30;America/Chicago\n'
    )
    assert "2 enrolled" in upload(staff_client, text.encode())
    assert enrolled_names(twilio_app) == ["Ana Lopez", "Bob Smith"]
    with twilio_app.app_context():
        routines = dict(db.session.execute(select(Patient.name, Patient.routine)).all())
    assert routines["Ana Lopez"] == ["cat-camel", "pelvic-tilt"]
    assert routines["Bob Smith"] == ["piriformis-stretch", "knee-to-chest"]


def test_utf8_with_a_bom_and_utf16_are_read(staff_client, twilio_app, fake_twilio):
    row = "José Pérez,(202) 555-0101,es,cat camel,09:00,\n"
    assert "1 enrolled" in upload(staff_client, (HEADER + row).encode("utf-8-sig"))
    row = "María García,(202) 555-0102,es,cat camel,09:00,\n"
    assert "1 enrolled" in upload(staff_client, (HEADER + row).encode("utf-16"))
    assert enrolled_names(twilio_app) == ["José Pérez", "María García"]


def test_a_latin1_file_is_refused_with_the_reason_and_enrolls_nobody(
    staff_client, twilio_app, tmp_path
):
    data = (HEADER + "José Pérez,(202) 555-0101,es,cat camel,09:00,\n").encode("latin-1")
    page = upload(staff_client, data)
    assert "The file was not imported: line 2: the file is not UTF-8" in page
    assert "Latin-1" in page and "CSV UTF-8" in page
    path = tmp_path / "latin1.csv"
    path.write_bytes(data)
    result = twilio_app.test_cli_runner().invoke(args=["patients", "import", str(path)])
    assert result.exit_code == 1 and "not UTF-8" in result.output
    assert count_patients(twilio_app) == 0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (b"", "the file is empty"),
        (b"\n\n  \n", "the file is empty"),
        (b"name,phone\nAna,2025550101\n", "missing: language, routine, reminder_time"),
        (b"nombre;telefono\n", "found: nombre, telefono"),
        ("name,phone\n".encode("utf-16-le"), "UTF-16 without a byte-order mark"),
        (b"\xff\xfe\x00", "not UTF-16"),
    ],
)
def test_files_that_cannot_be_read_say_why(staff_client, twilio_app, data, message):
    assert message in upload(staff_client, data)
    assert count_patients(twilio_app) == 0


def test_bad_cells_fail_their_own_row_only(staff_client, twilio_app, fake_twilio):
    text = (
        HEADER
        + "Ana Lopez,(202) 555-0101,es,cat camel,09:00,\n"
        + "Nul\x00Name,(202) 555-0102,,cat camel,09:00,\n"
        + "Bob Smith,(202) 555-0103,,cat camel,09:00,\n"
        + "Long,"
        + "9" * 200_000
        + ",,cat camel,09:00,\n"
        + 'Open "Quote,(202) 555-0104,,"cat camel,09:00,\n'
        + "Cy Young,(202) 555-0105,,cat camel,09:00,\n"
        + "Too,(202) 555-0106,,cat camel,09:00,,extra,cells\n"
        + "Dee Dee,(202) 555-0107,,cat camel,09:00,\n"
    )
    page = upload(staff_client, text.encode())
    assert "4 enrolled" in page and "4 with errors" in page
    assert enrolled_names(twilio_app) == ["Ana Lopez", "Bob Smith", "Cy Young", "Dee Dee"]
    for line, reason in [
        (3, "NUL character"),
        (5, "a cell is longer than 300 characters"),
        (6, 'a quote (") opened on this line is not closed'),
        (8, "8 cells, but the header has 6 columns"),
    ]:
        assert re.search(f"<td>{line}</td><td>[^<]*{re.escape(reason)}", page), (line, reason)


def test_too_many_rows_or_bytes_are_refused_whole(staff_client, twilio_app, monkeypatch):
    import bot.patients.importer

    monkeypatch.setattr(bot.patients.importer, "MAX_ROWS", 3)
    rows = "".join(f"P {i},(202) 555-01{i:02d},,cat camel,09:00,\n" for i in range(4))
    assert "more than 3 rows" in upload(staff_client, (HEADER + rows).encode())
    monkeypatch.setattr(bot.patients.importer, "MAX_FILE_BYTES", 100)
    assert "larger than the 0.0001 MB" in upload(staff_client, (HEADER + rows).encode())
    assert count_patients(twilio_app) == 0


def test_a_name_with_a_control_character_is_refused(staff_client, twilio_app):
    text = HEADER + "Ana\x07Lopez,(202) 555-0101,es,cat camel,09:00,\n"
    assert "control character" in upload(staff_client, text.encode())
    assert count_patients(twilio_app) == 0


# --- invitations exactly once ---------------------------------------------------------------


def test_an_import_killed_mid_run_then_invite_sends_each_once(
    twilio_app, fake_twilio, database_url, tmp_path
):
    """The review's case: invitations Twilio accepted but the import never recorded (here,
    the import process is killed with SIGKILL mid-run). ``patients invite`` afterwards
    finds them at Twilio: every patient exactly one invitation."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    from tests.conftest import ACCOUNT_SID, AUTH_TOKEN, CLINIC_NUMBER

    count = 120
    rows = "".join(f"P {i},+1202555{i + 1000:04d},,cat camel,09:00,\n" for i in range(count))
    path = tmp_path / "many.csv"
    path.write_text(HEADER + rows)
    fake_twilio.latency = 0.05
    env = {
        **os.environ,
        "DATABASE_URL": database_url, "SECRET_KEY": "s" * 40, "LOG_LEVEL": "WARNING",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID, "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_FROM_NUMBER": CLINIC_NUMBER, "TWILIO_API_BASE_URL": fake_twilio.base_url,
        "SEND_CONCURRENCY": "5", "REMINDER_WINDOW": "00:00-24:00",
        "CLAIM_TIMEOUT": "0", "SPOOL_DIR": str(tmp_path / "spool"),
    }  # fmt: skip
    root = Path(__file__).resolve().parent.parent
    command = [sys.executable, "-m", "flask", "--app", "bot", "patients"]
    first = subprocess.Popen(
        [*command, "import", str(path)], env=env, cwd=root, stdout=subprocess.DEVNULL
    )
    with fake_twilio.wait_for_messages(count // 3, timeout=60):
        first.kill()
    first.wait(30)
    assert 0 < len(fake_twilio.messages) < count
    rerun = subprocess.run(
        [*command, "invite"], env=env, cwd=root, capture_output=True, text=True, timeout=120
    )
    assert rerun.returncode == 0, rerun.stderr
    recipients = [m.to for m in fake_twilio.messages]
    assert len(recipients) == len(set(recipients)), "a patient was invited twice"
    with twilio_app.app_context():
        enrolled = db.session.scalar(select(func.count()).select_from(Patient))
        unsettled = db.session.scalar(
            select(func.count()).select_from(Message).where(Message.status == "claimed")
        )
    assert len(recipients) == enrolled  # everyone the import enrolled, invited once
    assert unsettled == 0


def test_an_accepted_invitation_whose_answer_was_lost_is_not_sent_again(
    twilio_app, fake_twilio, tmp_path
):
    from bot.patients import records as pt
    from bot.patients.importer import invite_pending
    from bot.sms import outgoing

    path = write(tmp_path, HEADER + GOOD)
    app = twilio_app
    app.config["CLAIM_TIMEOUT"] = 0
    with app.app_context():
        # Enrolled, claimed and sent, then the process died before recording the answers.
        from bot.patients.importer import read_file

        rows, _ = read_file(Path(path).read_bytes())
        matcher = pt.RoutineMatcher(app.extensions["content"])
        for _, row in rows:
            enrollment = pt.Enrollment(
                row["name"], pt.parse_phone(row["phone"]), pt.parse_language(row["language"]),
                matcher.match(row["routine"].split(";")), pt.parse_time(row["reminder_time"]),
                pt.parse_timezone(row["timezone"], "America/New_York"),
            )  # fmt: skip
            pt.enroll(db.session, enrollment, "test", "import", dt.datetime.now(dt.UTC))
        db.session.commit()
        patients = db.session.scalars(select(Patient).order_by(Patient.id)).all()
        texts = [(p.phone, pt.invitation_text(app.extensions["content"], p)) for p in patients]
        outgoing.claim_texts(db.session, texts, "invitation", dt.datetime.now(dt.UTC))
        for phone, body in texts[:2]:  # two reached Twilio; the third never left
            assert app.extensions["sender"].send(phone, body).ok
        report = invite_pending(app)
    assert report.invited == 1
    recipients = sorted(m.to for m in fake_twilio.messages)
    assert recipients == sorted(phone for phone, _ in texts)  # one each
    with app.app_context():
        statuses = sorted(db.session.scalars(select(Message.status)))
    assert statuses == ["not sent", "queued", "sent", "sent"]


def test_a_large_file_is_imported_in_the_background(staff_client, twilio_app, fake_twilio):
    """More than INLINE_ROWS rows: the page answers at once with a page that follows the
    import (reloading itself, no script), which ends with the same report."""
    import bot.patients.importer

    rows = "".join(f"P {i},+1202555{i + 1000:04d},,cat camel,09:00,\n" for i in range(150))
    preview = post_file(staff_client, (HEADER + rows).encode())
    response = confirm_preview(staff_client, preview.location)
    assert response.status_code == 302
    job_url = response.location
    assert re.fullmatch(r"/patients/import/\d+", job_url)
    for thread in twilio_app.extensions["import_threads"]:
        thread.join(60)
    page = staff_client.get(job_url).get_data(as_text=True)
    assert "Done." in page and "150 enrolled" in page and "150 invitations sent" in page
    assert 'http-equiv="refresh"' not in page
    assert len(fake_twilio.messages) == 150 and bot.patients.importer.INLINE_ROWS < 150


def test_an_import_job_page_follows_and_says_when_it_was_cut_short(staff_client, twilio_app):
    from bot.models import ImportJob

    with twilio_app.app_context():
        now = dt.datetime.now(dt.UTC)
        running = ImportJob(created_by="desk@clinic.example", stage="inviting", done=40,
                            total=200, updated_at=now)  # fmt: skip
        stale = ImportJob(created_by="desk@clinic.example", stage="inviting", done=40,
                          total=200, updated_at=now - dt.timedelta(minutes=10))  # fmt: skip
        failed = ImportJob(created_by="desk@clinic.example", status="failed",
                           error="line 2: the file is not UTF-8")  # fmt: skip
        again = ImportJob(created_by="desk@clinic.example", stage="inviting", done=3,
                          total=9, kind="invite_again",
                          updated_at=now - dt.timedelta(minutes=10))  # fmt: skip
        db.session.add_all([running, stale, failed, again])
        db.session.commit()
        ids = running.id, stale.id, failed.id, again.id
    page = staff_client.get(f"/patients/import/{ids[0]}").get_data(as_text=True)
    assert 'http-equiv="refresh"' in page and "Sending invitations: 40 of 200" in page
    page = staff_client.get(f"/patients/import/{ids[1]}").get_data(as_text=True)
    assert "stopped before it finished" in page and "Send the waiting invitations" in page
    assert 'http-equiv="refresh"' not in page
    page = staff_client.get(f"/patients/import/{ids[2]}").get_data(as_text=True)
    assert "The file was not imported: line 2: the file is not UTF-8" in page
    # A re-send cut short is finished by the re-send's button (the waiting invitations'
    # would not send these); the page's title says what it was.
    page = staff_client.get(f"/patients/import/{ids[3]}").get_data(as_text=True)
    assert "Sending the invitations again stopped before it finished" in page
    assert 'action="/patients/invite-again"' in page and "Send the waiting" not in page
    assert "Invitations sent again (" in page and "after 3 of 9" in page
    with twilio_app.app_context():  # cut short before its first count; failed
        db.session.execute(update(ImportJob).where(ImportJob.id == ids[3]).values(done=0, total=0))
        db.session.commit()
    page = staff_client.get(f"/patients/import/{ids[3]}").get_data(as_text=True)
    assert "stopped before it finished (the server restarted). Nobody" in page
    with twilio_app.app_context():
        db.session.execute(
            update(ImportJob).where(ImportJob.id == ids[3]).values(status="failed", error="x")
        )
        db.session.commit()
    page = staff_client.get(f"/patients/import/{ids[3]}").get_data(as_text=True)
    assert "The invitations were not sent: x." in page and "not imported" not in page
    assert staff_client.get("/patients/import/999999").status_code == 404


def test_the_template_imports_as_it_is(staff_client, twilio_app, fake_twilio):
    assert "Download a template" in staff_client.get("/patients/import").get_data(as_text=True)
    response = staff_client.get("/patients/import/template.csv")
    assert response.mimetype == "text/csv"
    assert "attachment" in response.headers["Content-Disposition"]
    assert response.data.startswith(b"\xef\xbb\xbf" + HEADER.strip().encode())
    assert "2 enrolled" in upload(staff_client, response.data)
    assert enrolled_names(twilio_app) == ["Ana Lopez", "Bob Smith"]


# --- the preview before anything is sent -----------------------------------------------------


def test_preview_says_what_will_happen_and_sends_nothing(staff_client, twilio_app, fake_twilio):
    from tests.conftest import subscribe

    subscribe(twilio_app, "+12025550101", name="Already Here")
    post_sms(twilio_app.test_client(), "STOP", phone="+12025550104")
    rows = (
        "Ana Lopez,(202) 555-0102,,cat camel,09:00,\n"
        "Bob Smith,(202) 555-0103,,pelvic tilt,09:00,\n"
        "Stopped Sam,(202) 555-0104,,pelvic tilt,09:00,\n"
        "Already Here,(202) 555-0101,,cat camel,09:00,\n"
        "Bad <b>Number</b>,12345,,cat camel,09:00,\n"
        "Moon Walker,(202) 555-0105,,moonwalk,09:00,\n"
    )
    page = upload(staff_client, (HEADER + rows).encode(), confirm=False)
    assert "Check the import before it runs" in page
    assert "<strong>3</strong> patients enrolled" in page  # Ana, Bob, Sam
    assert "<strong>2</strong> invitations sent now" in page
    assert "<strong>1</strong> not invited: the number opted out" in page
    assert "<strong>1</strong> already enrolled" in page
    assert "<strong>2</strong> rows with errors" in page
    assert "<td>6</td><td>Bad &lt;b&gt;Number&lt;/b&gt;</td><td>phone:" in page
    assert "<td>7</td><td>Moon Walker</td><td>routine:" in page and "moonwalk" in page
    assert count_patients(twilio_app) == 1 and fake_twilio.messages == []
    [job_url] = re.findall(r'action="(/patients/import/\d+)/confirm"', page)
    response = confirm_preview(staff_client, job_url)
    report = staff_client.get(response.location).get_data(as_text=True)
    assert "3 enrolled" in report and "2 invitations sent" in report
    assert count_patients(twilio_app) == 4
    # Confirmed once: a second press does nothing more.
    again = staff_client.post(
        job_url + "/confirm", data={"csrf_token": csrf_token(staff_client, job_url)}
    )
    assert "confirmed or cancelled already" in staff_client.get(again.location).get_data(
        as_text=True
    )
    assert len(fake_twilio.messages) == 2
    with twilio_app.app_context():
        from bot.models import ImportJob

        assert db.session.scalar(select(ImportJob.upload)) is None  # the file is not kept


def test_cancelled_preview_imports_nothing(staff_client, twilio_app, fake_twilio):
    page = upload(staff_client, (HEADER + GOOD).encode(), confirm=False)
    [job_url] = re.findall(r'action="(/patients/import/\d+)/confirm"', page)
    token = csrf_token(staff_client, job_url)
    staff_client.post(job_url + "/cancel", data={"csrf_token": token})
    response = staff_client.post(job_url + "/confirm", data={"csrf_token": token})
    assert count_patients(twilio_app) == 0 and fake_twilio.messages == []
    assert "confirmed or cancelled already" in staff_client.get(response.location).get_data(
        as_text=True
    )


def test_an_import_holds_numbers_abroad_and_invitations_past_the_days_cap(
    make_app, fake_twilio, tmp_path
):
    from tests.conftest import twilio_settings

    app = make_app(**twilio_settings(fake_twilio, INVITATIONS_PER_DAY=2))
    rows = (
        "Ana Lopez,(202) 555-0101,,cat camel,09:00,\n"
        "Bob Smith,202-555-0102,,birddog,09:00,\n"
        "Cy Young,202-555-0103,,birddog,09:00,\n"
        "Ola Ade,+234 803 123 4567,,birddog,09:00,\n"
    )
    result = app.test_cli_runner().invoke(
        args=["patients", "import", write(tmp_path, HEADER + rows)]
    )
    assert "line 5: phone: +234 803 123 4567 is a number in Nigeria (NG)" in result.output
    assert "3 enrolled" in result.output and "2 invitations sent" in result.output
    assert (
        "line 4: enrolled, but no invitation sent: held: today's 2 invitations "
        "(INVITATIONS_PER_DAY) are sent"
    ) in result.output
    assert len(fake_twilio.messages) == 2


def test_two_confirms_at_once_run_the_import_once(staff_client, twilio_app, fake_twilio):
    """Issue 21's reproduction: two confirms at once gave a 500 (a unique violation) and
    two audit rows. The job is claimed by one UPDATE ... WHERE status = 'preview'."""
    import threading

    from sqlalchemy import select

    from bot.models import AuditEvent, db
    from tests.conftest import STAFF_EMAIL, sign_in

    page = upload(staff_client, (HEADER + GOOD).encode(), confirm=False)
    [job_url] = re.findall(r'action="(/patients/import/\d+)/confirm"', page)
    other = twilio_app.test_client()
    sign_in(other, STAFF_EMAIL)
    desks = [staff_client, other]
    tokens = [csrf_token(desk, job_url) for desk in desks]
    start, answers = threading.Barrier(2), []

    def confirm(desk, token):
        start.wait()
        answers.append(desk.post(job_url + "/confirm", data={"csrf_token": token}))

    pairs = zip(desks, tokens, strict=True)
    threads = [threading.Thread(target=confirm, args=pair) for pair in pairs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    # PostgreSQL: both redirected, one told it ran already; SQLite (one writer at a time)
    # may tell the second the database is busy (503): never a 500, never twice.
    assert all(a.status_code in (302, 503) for a in answers), [a.status_code for a in answers]
    assert 302 in [a.status_code for a in answers]
    assert count_patients(twilio_app) == GOOD.count("\n")
    assert len(fake_twilio.messages) == GOOD.count("\n")  # each invited once
    with twilio_app.app_context():
        confirmed = db.session.scalars(
            select(AuditEvent.detail).where(AuditEvent.action == "import")
        ).all()
    assert len([d for d in confirmed if "confirmed" in d]) == 1


def test_the_clock_drops_an_upload_never_confirmed_after_an_hour(staff_client, twilio_app):
    """Issue 21: an unconfirmed preview kept the whole uploaded CSV until someone uploaded
    again. The clock drops it after PREVIEW_KEPT (an hour)."""
    from bot.models import ImportJob, db
    from bot.ops.clock import previews_once
    from bot.patients.importer import PREVIEW_KEPT

    upload(staff_client, (HEADER + GOOD).encode(), confirm=False)
    previews_once(twilio_app)  # fresh: kept for its confirmation
    with twilio_app.app_context():
        job = db.session.scalar(select(ImportJob))
        assert job.status == "preview" and job.upload
        job.created_at -= PREVIEW_KEPT
        db.session.commit()
    previews_once(twilio_app)
    with twilio_app.app_context():
        job = db.session.scalar(select(ImportJob))
        assert (job.status, job.upload) == ("cancelled", None)


@pytest.mark.skipif(
    not os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("sqlite"),
    reason="SQLite's snapshots: PostgreSQL waits for the row lock instead",
)
def test_an_import_is_whole_when_another_connection_writes_meanwhile(
    twilio_app, fake_twilio, tmp_path
):
    """On SQLite a transaction that read and then writes fails at once ('database is
    locked', busy_timeout or not) when another connection wrote in between: a page saving
    its session while a background import enrolls (seen in CI). Here another connection
    writes after every read of the import: each of its transactions that writes began as
    a writer (the other connection is refused meanwhile) or wrote first."""
    import sqlite3

    from sqlalchemy import event

    runner = twilio_app.test_cli_runner()
    someone = HEADER + "Someone Else,+1 202 555 0199,,cat camel,09:00,\n"
    assert runner.invoke(args=["patients", "import", write(tmp_path, someone)]).exit_code == 0
    with twilio_app.app_context():
        engine, path = db.engine, db.engine.url.database
    other_writes = []

    def write_meanwhile(conn, cursor, statement, *_):
        if not statement.startswith("SELECT"):
            return
        other = sqlite3.connect(path, timeout=0)
        try:
            other.execute(
                "UPDATE patients SET name = ? WHERE phone = '+12025550199'",
                (f"Renamed {len(other_writes)}",),
            )
            other.commit()
            other_writes.append("written")
        except sqlite3.OperationalError as exc:
            other_writes.append(str(exc))  # the import holds the write lock: it waits
        finally:
            other.close()

    event.listen(engine, "after_cursor_execute", write_meanwhile)
    try:
        result = runner.invoke(args=["patients", "import", write(tmp_path, HEADER + GOOD)])
    finally:
        event.remove(engine, "after_cursor_execute", write_meanwhile)
    assert "written" in other_writes, "no write between the import's statements"
    assert result.exit_code == 0, result.output
    assert "3 enrolled" in result.output and len(fake_twilio.messages) == 4


def test_an_import_enrolls_a_new_person_on_a_removed_patients_number_anew(
    twilio_app, fake_twilio, tmp_path
):
    """A recycled number in a file: a new record for the new person, invited, the former
    patient's record untouched; the same name again is the same person back."""
    runner = twilio_app.test_cli_runner()
    ana = HEADER + "Ana Lopez,(202) 555-0101,,cat camel,09:00,\n"
    assert runner.invoke(args=["patients", "import", write(tmp_path, ana)]).exit_code == 0
    with twilio_app.app_context():
        former = db.session.scalar(select(Patient))
        former.removed_at = dt.datetime.now(dt.UTC)
        db.session.commit()
    bo = HEADER + "Bo Chen,(202) 555-0101,,birddog,09:00,\n"
    result = runner.invoke(args=["patients", "import", write(tmp_path, bo)])
    assert "1 enrolled" in result.output and "1 invitations sent" in result.output
    with twilio_app.app_context():
        records = db.session.scalars(select(Patient).order_by(Patient.id)).all()
        assert [(p.name, p.removed_at is None) for p in records] == [
            ("Ana Lopez", False), ("Bo Chen", True)
        ]  # fmt: skip
        assert records[0].routine == ["cat-camel"] and records[1].history_from is not None
    result = runner.invoke(args=["patients", "import", write(tmp_path, bo)])
    assert "1 already enrolled" in result.output  # not a third record


def test_a_row_listing_an_exercise_twice_is_refused_and_the_rest_enrolled(
    twilio_app, fake_twilio, tmp_path
):
    rows = (
        "Twice,202-555-0108,,cat camel;Cat-Camel,09:00,\n"  # the same exercise, written twice
        "Once,202-555-0109,,cat camel;pelvic tilt,09:00,\n"
    )
    result = twilio_app.test_cli_runner().invoke(
        args=["patients", "import", write(tmp_path, HEADER + rows)]
    )
    assert "2 rows: 1 enrolled, 0 already enrolled, 1 with errors" in result.output
    assert "'Cat-Camel' is listed twice: list each once." in result.output
    assert count_patients(twilio_app) == 1


def test_the_page_says_each_kind_of_held_invitation_once(staff_client, twilio_app, fake_twilio):
    """Fourteen invitations held for the night are one line (how many, why, who: each
    patient's name with their line of the file), not fourteen identical ones; the button
    beside them sends them once the hours allow (in the background, as an import), and
    its page says how it went."""
    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    rows = "".join(f"Patient {i},+1202555{i:04d},,cat camel,09:00,\n" for i in range(110, 124))
    text = upload(staff_client, (HEADER + rows).encode())
    assert "14 enrolled" in text
    table = text[text.index('<table class="list invitations">') :]
    table = table[: table.index("</table>")]
    assert table.count('<tr><td data-label="Patients">') == 1
    assert '>14</td><td data-label="Why">held: outside sending hours' in table
    assert "send it during the day with 'Send the waiting invitations' on the import" in table
    assert "<summary>Patient 110 and 13 more</summary>" in table
    assert ">Patient 110</a> (line 2), " in table and ">Patient 123</a> (line 15)" in table
    assert fake_twilio.messages == []
    # Still night where they are: the button sends nothing and says so again.
    job_page = send_waiting(staff_client, twilio_app)
    assert "14 patients waiting for an invitation; 0 invitations sent" in job_page
    assert fake_twilio.messages == []
    # Morning: the button sends the fourteen, once.
    twilio_app.config["REMINDER_WINDOW"] = (dt.time(0), dt.time(23, 59))
    job_page = send_waiting(staff_client, twilio_app)
    assert "14 patients waiting for an invitation; 14 invitations sent" in job_page
    assert len(fake_twilio.messages) == 14
    assert "0 patients waiting" in send_waiting(staff_client, twilio_app)
    assert len(fake_twilio.messages) == 14


def send_waiting(client, app) -> str:
    """Press "Send the waiting invitations" on the patients' import page; its job's page
    once the job is over."""
    token = csrf_token(client, "/patients/import")
    response = client.post("/patients/invitations/send", data={"csrf_token": token})
    assert re.fullmatch(r"/patients/import/\d+", response.location)
    for thread in app.extensions["import_threads"]:
        thread.join(60)
    page = client.get(response.location).get_data(as_text=True)
    assert "Done." in page
    return page.replace("&#39;", "'")


def test_the_preview_shows_how_each_value_was_read(staff_client, twilio_app, fake_twilio):
    """Issue 25, item 9: before anything is sent the preview shows each row's time and
    zone as read beside what was written (7pm, an empty zone: the clinic's), the hours
    texts go out where the patient is, the language and the exercises by their names."""
    rows = (
        "Ana Lopez,(202) 555-0102,es,cat camel; pelvic tilt,7pm,\n"
        "Bob Smith,202-555-0103,,Piriformis strech,18:30,America/Chicago\n"
    )
    page = upload(staff_client, (HEADER + rows).encode(), confirm=False)
    assert "How the file was read" in page
    read = page[page.index('class="list read"') :]
    ana = read[read.index(">Ana Lopez<") : read.index(">Bob Smith<")]
    assert "7:00 PM" in ana and "(written 7pm)" in ana
    assert "America/New_York (the clinic" in ana and "Spanish" in ana
    assert "Cat and Camel, Pelvic Tilt" in ana and 'Texts only">00:00-24:00<' in ana
    bob = read[read.index(">Bob Smith<") :]
    assert "6:30 PM" in bob and "(written 18:30)" in bob and "America/Chicago<" in bob
    assert "English" in bob and "Piriformis Stretch" in bob and "(202) 555-0103" in bob
    assert fake_twilio.messages == [] and count_patients(twilio_app) == 0


def test_the_waiting_invitations_run_once_at_a_time(staff_client, twilio_app, fake_twilio):
    """The button pressed while a run goes on follows that run; a batch about to be claimed
    is read again in the claiming transaction, so a number another run claimed meanwhile
    (the command beside the button) is not invited twice."""
    from bot.models import ImportJob
    from bot.patients.importer import _still_never_invited
    from bot.sms import outgoing

    with twilio_app.app_context():
        running = ImportJob(created_by="desk@clinic.example", status="running",
                            stage="inviting", kind="invitations")  # fmt: skip
        db.session.add(running)
        db.session.commit()
        running_id = running.id
    token = csrf_token(staff_client, "/patients/import")
    response = staff_client.post("/patients/invitations/send", data={"csrf_token": token})
    assert response.location == f"/patients/import/{running_id}"
    assert "being sent already" in staff_client.get(response.location).get_data(as_text=True)
    assert "import_threads" not in twilio_app.extensions  # nothing started

    twilio_app.config["REMINDER_WINDOW"] = hours_excluding_now()
    rows = "Ann One,+12025550131,,cat camel,09:00,\nBo Two,+12025550132,,cat camel,09:00,\n"
    assert "2 enrolled" in upload(staff_client, (HEADER + rows).encode())
    with twilio_app.app_context():
        ids = dict(db.session.execute(select(Patient.phone, Patient.id)).all())
        batch = [(ids[p], p, "invitation") for p in ("+12025550131", "+12025550132")]
        outgoing.claim_texts(db.session, [("+12025550131", "invitation")], "invitation",
                             dt.datetime.now(dt.UTC))  # fmt: skip  # another run's claim
        assert _still_never_invited(db.session, batch) == [batch[1]]
        db.session.rollback()


@pytest.mark.skipif(
    os.environ.get("TEST_DATABASE_URL", "sqlite").startswith("sqlite"),
    reason="PostgreSQL's advisory lock; SQLite has one writer at a time already",
)
def test_two_invitation_buttons_pressed_at_once_start_one_job(twilio_app):
    """The look for a running invitation job and the new job's row are one request's at a
    time: the second button, pressed while the first request has not committed, waits for
    it and then follows its job instead of starting another beside it."""
    import threading
    import time

    from sqlalchemy import text
    from sqlalchemy.orm import Session

    from bot.patients.importer import new_invite_job

    with twilio_app.app_context():
        engine = db.engine
        first = Session(engine)
        first_id, new = new_invite_job(first, "a@clinic.example", "invitations")
        assert new
        found = {}

        def second() -> None:
            with Session(engine) as session:
                found["job"] = new_invite_job(session, "b@clinic.example", "invite_again")
                session.commit()

        thread = threading.Thread(target=second)
        thread.start()
        waiting = text(
            "SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
            "AND query LIKE '%invitation jobs%' AND pid <> pg_backend_pid()"
        )
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            deadline = time.monotonic() + 20
            while not conn.execute(waiting).scalar():  # the second waits for the first
                assert time.monotonic() < deadline, "the second request did not wait"
        first.commit()
        first.close()
        thread.join(30)
    assert found["job"] == (first_id, False)


def test_a_job_held_up_for_minutes_is_still_running_not_interrupted(app, monkeypatch):
    """A job was "interrupted" (and a second run could start beside it) once nothing was
    written of it for STALE_JOB; it wrote only its progress, after each batch Twilio
    answered. Its heartbeat now says it is alive, however long Twilio takes: with the clock
    past STALE_JOB while the job waits, its row is touched, its page says running and the
    button follows it instead of starting another."""
    import queue
    import threading

    import time_machine

    from bot.models import ImportJob, utcnow
    from bot.patients import importer

    monkeypatch.setattr(importer, "HEARTBEAT", dt.timedelta(milliseconds=20))
    beats, release = queue.Queue(), threading.Event()
    beat = importer._beat

    def beat_and_tell(job_id: int) -> None:  # each beat written, and the time it began
        began = utcnow()
        beat(job_id)
        beats.put(began)

    monkeypatch.setattr(importer, "_beat", beat_and_tell)

    def held_up(progress):  # Twilio answering a batch slowly: no progress meanwhile
        assert release.wait(30)
        return importer.ImportReport(kind="invitations")

    with app.app_context():
        job_id, new = importer.new_invite_job(db.session, "desk@example.com")
        db.session.commit()
    assert new
    importer._in_background(app, job_id, held_up)
    try:
        later = utcnow() + importer.STALE_JOB + dt.timedelta(minutes=1)
        with time_machine.travel(later):
            while beats.get(timeout=10) < later:  # queue.Empty: no heartbeat
                pass  # a beat begun before the clock moved
            with app.app_context():
                job = db.session.get(ImportJob, job_id)
                assert importer.job_state(job, utcnow()) == "running"
                assert importer.new_invite_job(db.session, "desk@example.com") == (job_id, False)
                db.session.rollback()
    finally:
        release.set()
        for thread in app.extensions["import_threads"]:
            thread.join(30)
    with app.app_context():
        job = db.session.get(ImportJob, job_id)
        assert job.status == "done"
