"""Staff pages of the saved replies (admins manage them; every member picks them in a reply
box): the list, add, change, delete."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from bot.inbox import saved_replies as saved
from bot.models import SavedReply, db
from bot.web import audit
from bot.web.forms import ActionForm, submitted
from bot.web.guards import admin_only
from bot.web.inbox import bp


@bp.route("/replies", methods=["GET", "POST"])
@bp.route("/replies/<id:reply_id>", methods=["GET", "POST"])
@admin_only
def saved_replies(reply_id: int | None = None):
    """The saved replies, and the form to add one (or to change ``reply_id``)."""
    reply = None
    if reply_id is not None:
        reply = db.session.get(SavedReply, reply_id) or abort(404)
    form = {"title": "", "body_en": "", "body_es": ""}
    if reply is not None:
        form = {"title": reply.title, "body_en": reply.body_en, "body_es": reply.body_es or ""}
    error = None
    if request.method == "POST":
        submitted()
        form = {name: request.form.get(name, "") for name in form}
        try:
            kept = saved.save(db.session, reply, form["title"], form["body_en"],
                              form["body_es"], current_user.email)  # fmt: skip
        except saved.SavedReplyError as refused:
            db.session.rollback()
            error = str(refused)
        else:
            action = "saved_reply_change" if reply is not None else "saved_reply_add"
            audit.note(action, detail=kept.title)
            db.session.commit()
            flash(f"Saved the reply {kept.title!r}.", "success")
            return redirect(url_for("inbox.saved_replies"))
    return render_template(
        "saved_replies.html",
        replies=saved.all_replies(db.session),
        reply=reply,
        form=form,
        error=error,
        fields=saved.FIELDS,
        action=ActionForm(),
    )


@bp.post("/replies/<id:reply_id>/delete")
@admin_only
def delete_saved_reply(reply_id: int):
    submitted()
    reply = db.session.get(SavedReply, reply_id) or abort(404)
    title = reply.title
    db.session.delete(reply)
    audit.note("saved_reply_delete", detail=title)
    db.session.commit()
    flash(f"Deleted the reply {title!r}.", "success")
    return redirect(url_for("inbox.saved_replies"))
