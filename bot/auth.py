"""Staff sign-in: accounts, passwords, sessions and lockout.

Passwords are hashed with werkzeug's scrypt (slow and salted). After ``MAX_FAILURES``
wrong passwords in a row an account is locked for ``LOCKOUT``; the sign-in page says the
same thing for a wrong email as for a wrong password.
"""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlsplit, urlunsplit

from flask import Blueprint, current_app, flash, redirect, render_template, request, url_for
from flask_login import LoginManager, current_user, login_user, logout_user
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from sqlalchemy.orm import Session
from werkzeug.exceptions import HTTPException
from werkzeug.security import check_password_hash, generate_password_hash
from wtforms import EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from bot.models import StaffUser, db, utcnow

bp = Blueprint("auth", __name__)
login_manager = LoginManager()
login_manager.login_view = "auth.signin"
login_manager.login_message = "Please sign in to see that page."
login_manager.login_message_category = "info"
login_manager.session_protection = "strong"

MAX_FAILURES = 5
LOCKOUT = dt.timedelta(minutes=15)
MIN_PASSWORD = 10
# Checked against when the email is unknown, so both cases take as long.
_DUMMY_HASH = generate_password_hash("not a real password")


class StaffError(ValueError):
    pass


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    return db.session.get(StaffUser, int(user_id)) if user_id.isdigit() else None


def hash_password(password: str) -> str:
    if len(password) < MIN_PASSWORD:
        raise StaffError(f"The password must be at least {MIN_PASSWORD} characters.")
    return generate_password_hash(password)


def create_staff(session: Session, email: str, password: str, role: str = "staff") -> StaffUser:
    email = email.strip().lower()
    if "@" not in email or len(email) > 254:
        raise StaffError(f"{email!r} is not an email address.")
    if role not in ("staff", "admin"):
        raise StaffError("The role is staff or admin.")
    if session.scalar(select(func.count()).where(StaffUser.email == email)):
        raise StaffError(f"{email} already has an account.")
    user = StaffUser(email=email, password_hash=hash_password(password), role=role, active=True,
                     failed_sign_ins=0)  # fmt: skip
    session.add(user)
    session.flush()
    return user


def authenticate(session: Session, email: str, password: str, now: dt.datetime):
    """The user, or None and why not ("wrong" or "locked")."""
    user = session.scalar(select(StaffUser).where(StaffUser.email == email.strip().lower()))
    if user is None or not user.active:
        check_password_hash(_DUMMY_HASH, password)
        return None, "wrong"
    locked_until = user.locked_until
    if locked_until is not None and locked_until.tzinfo is None:
        locked_until = locked_until.replace(tzinfo=dt.UTC)
    if locked_until is not None and locked_until > now:
        return None, "locked"
    if not check_password_hash(user.password_hash, password):
        user.failed_sign_ins += 1
        if user.failed_sign_ins >= MAX_FAILURES:
            user.locked_until = now + LOCKOUT
            user.failed_sign_ins = 0
            return None, "locked"
        return None, "wrong"
    user.failed_sign_ins = 0
    user.locked_until = None
    return user, "ok"


class SignInForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(max=200)])


@bp.route("/signin", methods=["GET", "POST"])
def signin():
    if current_user.is_authenticated:
        return redirect(url_for("staff.patients"))
    form = SignInForm()
    if form.validate_on_submit():
        user, outcome = authenticate(db.session, form.email.data, form.password.data, utcnow())
        db.session.commit()
        if user is not None:
            login_user(user)
            return redirect(_safe_next(request.args.get("next")))
        if outcome == "locked":
            flash("Too many wrong passwords: this account is locked for 15 minutes.", "error")
        else:
            flash("That email and password do not match an account.", "error")
    return render_template("signin.html", form=form)


@bp.post("/signout")
def signout():
    logout_user()
    flash("You are signed out.", "info")
    return redirect(url_for("auth.signin"))


def _safe_next(target: str | None) -> str:
    """Where to go after signing in: only a page of this app, never another host.

    Browsers drop tabs and newlines from a URL and read a backslash as a slash, so
    ``/\t/evil.example`` would become ``//evil.example``, another site: a target with a
    control character or a backslash is refused outright; the rest must be a path (no
    scheme, no host) that one of this app's pages answers with GET."""
    default = url_for("staff.patients")
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
