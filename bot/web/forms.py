"""What the staff pages share to read a request: the button form (only its CSRF token),
the reply box, the conversation's paging."""

from __future__ import annotations

from flask import abort, request
from flask_wtf import FlaskForm
from wtforms import TextAreaField


class ActionForm(FlaskForm):
    """Buttons that change something: only the CSRF token."""


class ReplyForm(FlaskForm):
    body = TextAreaField("Reply by text")


def submitted(form_class: type[FlaskForm] = ActionForm) -> FlaskForm:
    """The posted form, its CSRF token checked: a form without it is refused (400)."""
    form = form_class()
    if not form.validate_on_submit():
        abort(400)
    return form


def earlier_than() -> int | None:
    """The conversation's "earlier" link: the texts before this message id."""
    before = request.args.get("before", "")
    return int(before) if before.isdigit() and len(before) < 19 else None
