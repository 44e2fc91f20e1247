"""The staff blueprint ("staff"): every page under it needs a signed-in staff member
(``require_sign_in`` runs before each, so a new page cannot forget it). Its pages are
split by task: patients (``bot.web.patients``), imports (``bot.web.imports``), staff
accounts (``bot.web.accounts``); the endpoint names stay "staff.*"."""

from __future__ import annotations

from flask import Blueprint, redirect, url_for
from flask_login import current_user

from bot.web.guards import require_sign_in

bp = Blueprint("staff", __name__)
bp.before_request(require_sign_in)


@bp.get("/")
def home():
    return redirect(url_for(current_user.home))
