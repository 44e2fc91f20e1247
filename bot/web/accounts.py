"""Staff pages of the staff accounts: create an account, deactivate one (admins only);
each member's own password."""

from __future__ import annotations

import datetime as dt

from flask import abort, current_app, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import EmailField, PasswordField, RadioField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Email, EqualTo, Length

from bot.accounts.auth import (
    MIN_PASSWORD,
    ROLES,
    StaffError,
    create_staff,
    password_matches,
    set_active,
    set_password,
    set_role,
    start_session,
)
from bot.models import StaffUser, db, utcnow
from bot.web import audit
from bot.web.forms import ActionForm, submitted
from bot.web.guards import admin_only
from bot.web.staff import bp


class StaffForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=200)])
    # Checked by create_staff (an unknown role is said, not a 500); none sent: the front desk.
    role = RadioField(
        "Role",
        choices=[SelectChoice(value, label) for value, label in ROLES.items()],
        default="staff",
        validate_choice=False,
    )


@bp.route("/staff", methods=["GET", "POST"])
@admin_only
def staff_users():
    form = StaffForm()
    if form.validate_on_submit():
        try:
            role = form.role.data or "staff"
            user = create_staff(db.session, form.email.data, form.password.data, role)
            audit.note("staff_create", detail=f"{user.email} ({role})")
            db.session.commit()
            flash(f"Created the account {user.email}.", "success")
            return redirect(url_for("staff.staff_users"))
        except StaffError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template(
        "staff_users.html", form=form, users=users, action=ActionForm(), roles=ROLES
    )


@bp.post("/staff/<id:user_id>/role")
@admin_only
def change_role(user_id: int):
    """Another member's role (an admin cannot change their own: no clinic is left without
    an admin by a slip)."""
    submitted()
    user = db.session.get(StaffUser, user_id) or abort(404)
    if user.id == current_user.id:
        flash("You cannot change your own role.", "error")
        return redirect(url_for("staff.staff_users"))
    try:
        set_role(user, request.form.get("role", ""))
    except StaffError as exc:
        flash(str(exc), "error")
        return redirect(url_for("staff.staff_users"))
    audit.note("staff_role", detail=f"{user.email} ({user.role})")
    db.session.commit()
    flash(f"{user.email} is now {ROLES[user.role].split(' (')[0].lower()}.", "success")
    return redirect(url_for("staff.staff_users"))


@bp.post("/staff/<id:user_id>/active")
@admin_only
def toggle_active(user_id: int):
    submitted()
    user = db.session.get(StaffUser, user_id) or abort(404)
    if user.id == current_user.id:
        flash("You cannot deactivate your own account.", "error")
    else:
        set_active(db.session, user, not user.active)  # deactivating ends its sessions
        audit.note("staff_activate" if user.active else "staff_deactivate", detail=user.email)
        db.session.commit()
        flash(f"{user.email} is {'active' if user.active else 'deactivated'}.", "success")
    return redirect(url_for("staff.staff_users"))


class OwnPasswordForm(FlaskForm):
    current = PasswordField("Current password", validators=[DataRequired(), Length(max=200)])
    new = PasswordField(
        "New password",
        validators=[
            DataRequired(),
            Length(min=MIN_PASSWORD, max=200, message=f"At least {MIN_PASSWORD} characters."),
        ],
    )
    again = PasswordField(
        "New password again",
        validators=[DataRequired(), EqualTo("new", message="The two new passwords differ.")],
    )


@bp.route("/account/password", methods=["GET", "POST"])
def own_password():
    """A member sets their own password. Every session of the account ends (another
    browser signed in with the old one is signed out); this browser gets a new one."""
    form = OwnPasswordForm()
    if form.validate_on_submit():
        user = db.session.get(StaffUser, current_user.id)
        if not password_matches(user, form.current.data):
            form.current.errors = ["That is not your current password."]
        else:
            set_password(db.session, user, form.new.data)
            hours = dt.timedelta(hours=current_app.config["STAFF_SESSION_HOURS"])
            start_session(db.session, user, utcnow(), hours)
            audit.note("own_password")
            db.session.commit()
            login_user(user)
            flash("Your password is changed; any other browser signed in as you is signed out.",
                  "success")  # fmt: skip
            return redirect(url_for(current_user.home))
    return render_template("own_password.html", form=form)
