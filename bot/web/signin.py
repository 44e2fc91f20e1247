"""Signing in and out (the "auth" blueprint), and Flask-Login's view of who is signed in:
the session's token, checked against its row on every request (``bot.accounts.auth``)."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from werkzeug.exceptions import HTTPException
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from bot.accounts.auth import REFUSED, authenticate, end_session, session_user, start_session
from bot.inbox import threads as th
from bot.models import StaffUser, db, utcnow

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.signin"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"


def _lifetime() -> dt.timedelta:
    return dt.timedelta(hours=current_app.config["STAFF_SESSION_HOURS"])


# Requests a page makes by itself (the inbox's poll): no sign that a person is at the desk,
# so they do not keep a session from ending after STAFF_IDLE_MINUTES.
NOT_ACTIVITY = frozenset({"inbox.news"})


@login_manager.user_loader
def load_user(token: str) -> StaffUser | None:
    idle = dt.timedelta(minutes=current_app.config["STAFF_IDLE_MINUTES"])
    touch = request.endpoint not in NOT_ACTIVITY
    return session_user(db.session, token, utcnow(), idle, _lifetime(), touch)


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if current_user.is_authenticated:
        return redirect(url_for(current_user.home))
    form = SignInForm()
    if form.validate_on_submit():
        now = utcnow()
        user, _why = authenticate(
            db.session, form.email.data, form.password.data, request.remote_addr or "", now
        )
        if user is not None:
            start_session(db.session, user, now, _lifetime())
            db.session.commit()
            login_user(user)
            target = request.args.get("next")
            if not target and th.news(db.session, user.id)["urgent_unread"]:
                return redirect(url_for("inbox.inbox"))  # an urgent text waits: there first
            return redirect(_safe_next(target, user.home))
        db.session.commit()
        flash(REFUSED, "error")
    return render_template("signin.html", form=form)


@bp.post("/signout")
def signout():
    if current_user.is_authenticated:
        end_session(db.session, current_user.session_token)
        db.session.commit()
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.signin"))


def _safe_next(target: str | None, home: str = "staff.patients") -> str:
    """Where to go after signing in: only a page of this app, never another host.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    ``/\\t/evil.example`` would become ``//evil.example``, another site: a target with a
    control character or a backslash is refused outright; the rest must be a path (no
    scheme, no host) that one of this app's pages answers with GET."""
    default = url_for(home)
    if not target or len(target) > 2000:
        return default
    if any(ord(c) < 0x21 or ord(c) == 0x7F or c == "\\" for c in target):
        return default
    parts = urlsplit(target)
    if parts.scheme or parts.netloc or not parts.path.startswith("/"):
        return default
    if parts.path.startswith("//"):
        return default
    try:
        endpoint, _ = current_app.url_map.bind("localhost").match(parts.path, method="GET")
    except HTTPException:  # not a page of this app, or one that would redirect elsewhere
        return default
    if endpoint in ("static", "auth.signin"):
        return default
    return urlunsplit(("", "", parts.path, parts.query, ""))
