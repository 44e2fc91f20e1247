"""Staff pages of the staff accounts (admins only): create an account, deactivate one."""

from __future__ import annotations

from flask import abort, flash, redirect, render_template, url_for
from flask_login import current_user
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, EmailField, PasswordField
from wtforms.validators import DataRequired, Email, Length

from bot.accounts.auth import StaffError, create_staff, set_active
from bot.models import StaffUser, db
from bot.web import audit
from bot.web.forms import ActionForm, submitted
from bot.web.guards import admin_only
from bot.web.staff import bp


class StaffForm(FlaskForm):
    email = EmailField("Email", validators=[DataRequired(), Email(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=10, max=200)])
    admin = BooleanField("Admin (manages staff accounts)")


@bp.route("/staff", methods=["GET", "POST"])
@admin_only
def staff_users():
    form = StaffForm()
    if form.validate_on_submit():
        try:
            role = "admin" if form.admin.data else "staff"
            user = create_staff(db.session, form.email.data, form.password.data, role)
            audit.note("staff_create", detail=f"{user.email} ({role})")
            db.session.commit()
            flash(f"Created the account {user.email}.", "success")
            return redirect(url_for("staff.staff_users"))
        except StaffError as exc:
            db.session.rollback()
            flash(str(exc), "error")
    users = db.session.scalars(select(StaffUser).order_by(StaffUser.email)).all()
    return render_template("staff_users.html", form=form, users=users, action=ActionForm())


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
