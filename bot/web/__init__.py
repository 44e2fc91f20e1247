"""The web layer: every blueprint (the staff pages, the inbox, reports, the audit trail,
sign-in, Twilio's webhook, health, metrics, the simulator) and what they share (guards,
forms, template filters, security headers). Only the app factory imports it
(``register``); the rules the pages apply live in the domain modules of ``bot``."""

from __future__ import annotations

import logging

from flask import Flask, current_app, render_template, request
from flask.sessions import SecureCookieSessionInterface
from flask_wtf.csrf import CSRFProtect

from bot.models import DATABASE_UNAVAILABLE
from bot.web import (
    accounts,
    audit,
    filters,
    health,
    imports,
    inbox,
    metrics,
    patients,
    reports,
    saved_replies,
    security,
    signin,
    simulator,
    staff,
    webhook,
)

log = logging.getLogger("bot")

# The staff blueprint's pages are split by task; importing them attaches their routes.
STAFF_PAGES = (patients, imports, accounts)
INBOX_PAGES = (saved_replies,)  # on the inbox's blueprint


def register(app: Flask) -> None:
    CSRFProtect(app)
    security.init_app(app)
    signin.login_manager.init_app(app)
    filters.init_app(app)
    app.session_interface = SecureWhenHttps()
    app.config.update(SESSION_COOKIE_HTTPONLY=True, SESSION_COOKIE_SAMESITE="Lax")
    app.extensions["csrf"].exempt(webhook.bp)  # Twilio signs its requests instead
    app.register_blueprint(webhook.bp)
    app.register_blueprint(health.bp)
    app.register_blueprint(signin.bp)
    app.register_blueprint(staff.bp)
    app.register_blueprint(inbox.bp)
    app.register_blueprint(reports.bp)
    app.register_blueprint(audit.bp)
    app.register_blueprint(metrics.bp)
    if app.config["SIMULATOR"]:
        app.register_blueprint(simulator.bp)
    for error in DATABASE_UNAVAILABLE:
        app.register_error_handler(error, database_unavailable)
    app.register_error_handler(404, not_found)


def not_found(error: Exception):
    """The app's own 404 page, with its navigation (a page that was removed, a typo)."""
    return render_template("not_found.html"), 404


def database_unavailable(error: Exception):
    """A page says the database cannot be reached, at once, instead of hanging or a 500.
    It reads nothing from the database (not even who is signed in)."""
    log.error("database unavailable on %s: %s", request.path, type(error).__name__)
    # Straight from the template, without the context processors: Flask-Login's would ask
    # the database who is signed in.
    page = current_app.jinja_env.get_template("unavailable.html").render(
        clinic_name=current_app.extensions["content"].clinic.name
    )
    return page, 503, {"Retry-After": "30"}


class SecureWhenHttps(SecureCookieSessionInterface):
    """The session cookie is marked Secure whenever the request came over HTTPS (directly,
    or through a proxy's X-Forwarded-Proto), so it is never sent back in clear text."""

    def get_cookie_secure(self, app) -> bool:
        return request.is_secure or super().get_cookie_secure(app)

    def open_session(self, app, request):
        # No cookie (Twilio's requests never carry one): an empty session, without building
        # Flask's cookie signer for nothing on every text.
        if app.secret_key and "HTTP_COOKIE" not in request.environ:
            return self.session_class()
        if app.secret_key and not request.cookies.get(self.get_cookie_name(app)):
            return self.session_class()
        return super().open_session(app, request)

    def save_session(self, app, session, response) -> None:
        # An empty session nobody wrote to (every text Twilio posts): no cookie to set or
        # delete; Flask's own would still work out the cookie's settings and add "Vary:
        # Cookie", which no cache needs here: every page but the static files is no-store.
        if not session and not session.modified:
            return
        super().save_session(app, session, response)
