"""Staff pages of a bulk import: upload a CSV file, its preview, confirm or cancel, the
background job's progress and report, the template to fill in."""

from __future__ import annotations

from flask import Response, abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.models import ImportJob, db, utcnow
from bot.patients import records as pt
from bot.patients.importer import (
    FINAL,
    MAX_FILE_BYTES,
    WAITING_BUTTON,
    ImportFileError,
    cancel_preview,
    job_state,
    keep_for_confirmation,
    new_invite_job,
    preview_csv,
    start_invite_job,
    template_csv,
)
from bot.patients.importer import confirm_import as importer_confirm
from bot.web import audit
from bot.web.forms import ActionForm, submitted
from bot.web.staff import bp


@bp.route("/patients/import", methods=["GET", "POST"])
def upload():
    """A CSV file: read and previewed (how many enrolled, invited, held, which rows are
    bad and why); nothing is written or sent until a staff member confirms."""
    form = ActionForm()
    if request.method == "POST":
        if not form.validate_on_submit():
            abort(400)
        upload_file = request.files.get("file")
        if upload_file is None or not upload_file.filename:
            flash("Choose a CSV file to import.", "error")
        else:
            data = upload_file.stream.read(MAX_FILE_BYTES + 1)
            app = current_app._get_current_object()
            try:
                preview = preview_csv(app, data)
            except ImportFileError as exc:
                flash(f"The file was not imported: {exc}.", "error")
            else:
                job_id = keep_for_confirmation(app, data, preview, current_user.email)
                return redirect(url_for("staff.import_job", job_id=job_id))
    return render_template("import.html", form=form)


@bp.post("/patients/import/<id:job_id>/confirm")
def confirm_import(job_id: int):
    submitted()
    job = db.session.get(ImportJob, job_id) or abort(404)
    if not importer_confirm(current_app._get_current_object(), job.id, current_user.email):
        flash("This import was confirmed or cancelled already.", "warning")
        return redirect(url_for("staff.import_job", job_id=job_id))
    audit.note("import", detail=f"import {job_id} confirmed (see its page for the report)")
    db.session.commit()
    return redirect(url_for("staff.import_job", job_id=job_id))


@bp.post("/patients/import/<id:job_id>/cancel")
def cancel_import(job_id: int):
    submitted()
    job = db.session.get(ImportJob, job_id) or abort(404)
    if cancel_preview(db.session, job.id):
        db.session.commit()
        flash("Import cancelled: nobody was enrolled or texted.", "success")
    return redirect(url_for("staff.upload"))


@bp.post("/patients/invitations/send")
def send_waiting_invitations():
    """Every invitation still waiting (held for the night or the day's cap, Twilio out of
    reach), sent in the background as an import is; its page shows how it went."""
    submitted()
    return start_invitations("invitations", "invite_waiting")


def start_invitations(kind: str, action: str, busy: str = ""):
    """Start the invitation job ``kind`` (importer.INVITATION_JOBS), audited as ``action``,
    and go to its page; or, while one is running, to that one's page, saying so."""
    job_id, new = new_invite_job(db.session, current_user.email, kind)
    if not new:
        flash(f"Invitations are being sent already: this page follows them.{busy}", "warning")
        return redirect(url_for("staff.import_job", job_id=job_id))
    audit.note(action, detail=f"job {job_id} (see its page for the report)")
    db.session.commit()  # the job and its audit line, before the job's thread writes
    start_invite_job(current_app._get_current_object(), job_id, kind)
    return redirect(url_for("staff.import_job", job_id=job_id))


@bp.get("/patients/import/template.csv")
def import_template():
    """The file to fill in, with the header and two example rows (UTF-8 with a BOM, so
    Excel opens accents right)."""
    body = "\ufeff" + template_csv(current_app.extensions["content"])
    return Response(
        body,
        mimetype="text/csv",
        headers={"Content-Disposition": 'attachment; filename="patients-template.csv"'},
    )


@bp.get("/patients/import/<id:job_id>")
def import_job(job_id: int):
    """A background import's progress (the page reloads itself while it runs), then its
    report."""
    job = db.session.get(ImportJob, job_id) or abort(404)
    preview = (job.report or {}).get("preview") if job.status == "preview" else None
    return render_template(
        "import_job.html",
        job=job,
        state=job_state(job, utcnow()),
        report=None if preview else job.report,
        preview=preview,
        action=ActionForm(),
        held_note=pt.held_for_the_night(how=WAITING_BUTTON),
        final_reasons=FINAL,
        names=pt.names_of(
            db.session, [f[2] for f in (job.report or {}).get("invite_failures", []) if len(f) > 2]
        ),
    )
