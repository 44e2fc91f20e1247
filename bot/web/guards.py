"""What stands before the staff pages: a signed-in staff member (``require_sign_in``, run
before every route of the staff blueprints), and the admin role where a page needs it."""

from __future__ import annotations

from functools import wraps

from flask import abort, current_app
from flask_login import current_user


def require_sign_in():
    if not current_user.is_authenticated:
        return current_app.login_manager.unauthorized()
    return None


def admin_only(view):
    @wraps(view)
    def checked(*args, **kwargs):
        if not current_user.is_admin:
            abort(403)
        return view(*args, **kwargs)

    return checked
